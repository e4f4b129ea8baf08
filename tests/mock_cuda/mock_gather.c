/*
 * mock_gather.c — the paged gather on the stand-in runtime: fsdk_launch_gather (host/
 * gather_launch.h) queues the plan as a kernel op that runs on the emulated grid
 * (tests/kernels/emulated_gather.h), after the checks a GPU would fault on; and
 * cudaMemcpyBatchAsync, the copy-engine path's call, with the rules CUDA documents for it.
 */
#include <stdlib.h>
#include <string.h>

#include "emulated_gather.h"
#include "gather_launch.h"
#include "mock_internal.h"

/* At execution: every layer the table names lies in memory of the device (the table is read
 * in stream order, as the kernel reads it), then the kernel runs on the emulated grid. */
typedef struct gather_op {
    fsd_gather_plan plan;
    int device;
} gather_op;

static void run_gather(void *arg)
{
    const gather_op *g = arg;
    const fsd_gather_plan *p = &g->plan;
    /* With no slot inside the cache (an empty layer), no layer is touched. */
    const uint64_t layers = p->slot_limit == 0 ? 0 : p->layer_table ? p->shape[p->layer_dim] : 1;
    for (uint64_t l = 0; l < layers; l++) {
        const char *base = p->layer_table ? (const char *)(uintptr_t)(p->layer_table[l] + p->layer_offset)
                                          : p->layer0;
        if (!mk_reachable(base, -(int64_t)p->layer_below, (int64_t)p->layer_end, g->device, "layer"))
            return; /* the GPU would fault: nothing is copied */
    }
    fsdt_emulate_gather(p, (int)(mk_rand() & 1));
    mk.kernels++;
}

cudaError_t fsdk_launch_gather(const fsd_gather_plan *plan, cudaStream_t stream)
{
    cudaError_t e = mk_enter(MOCKCUDA_LAUNCH);
    mk_stream *s = e == cudaSuccess ? mk_stream_get(stream, &e) : NULL;
    if (s == NULL)
        return mk_leave(e);
    if ((e = mk_check_launch(s, plan->grid, plan->block)) != cudaSuccess)
        return mk_leave(e);
    /* What the kernel reads before any layer: the slots, the table, and the packed side. */
    const uint64_t tokens = plan->shape[plan->token_dim];
    const int64_t span = tokens ? (int64_t)(tokens - 1) * plan->slot_stride : 0;
    const int64_t lo = span < 0 ? span : 0, hi = (span > 0 ? span : 0) + (int64_t)plan->slot_size;
    const uint64_t bytes = plan->num_runs * plan->run_bytes;
    if (!mk_reachable(plan->slots, lo, hi, s->device, "slots") ||
        (plan->layer_table != NULL &&
         !mk_reachable((const char *)plan->layer_table, 0,
                       (int64_t)(plan->shape[plan->layer_dim] * 8), s->device, "layer table")) ||
        !mk_reachable(plan->packed, 0, (int64_t)bytes, s->device, "packed"))
        return mk_leave(cudaErrorIllegalAddress);
    gather_op *g = malloc(sizeof *g);
    g->plan = *plan;
    g->device = s->device;
    mk_op *op = calloc(1, sizeof *op);
    op->kind = MK_OP_CALL;
    op->call = run_gather;
    op->arg = g;
    mk_enqueue(s, op, NULL, 0);
    return mk_leave(cudaSuccess);
}

/* A batch of device-to-device copies, run as one op. */
typedef struct batch_op {
    size_t n;
    struct {
        void *dst;
        const void *src;
        size_t n;
    } copy[];
} batch_op;

static void run_batch(void *arg)
{
    const batch_op *b = arg;
    for (size_t i = 0; i < b->n; i++)
        memcpy(b->copy[i].dst, b->copy[i].src, b->copy[i].n);
}

cudaError_t cudaMemcpyBatchAsync(void *const *dsts, const void *const *srcs, const size_t *sizes,
                                 size_t count, struct cudaMemcpyAttributes *attrs, size_t *attrsIdxs,
                                 size_t numAttrs, cudaStream_t stream)
{
    cudaError_t e = mk_enter(MOCKCUDA_MEMCPY_BATCH_ASYNC);
    mk_stream *s = e == cudaSuccess ? mk_stream_get(stream, &e) : NULL;
    if (s == NULL)
        return mk_leave(e);
    /* "Must not be legacy NULL stream"; every copy needs attributes with an access order. */
    if (s->legacy) {
        mk_violation("cudaMemcpyBatchAsync on the legacy default stream");
        return mk_leave(cudaErrorInvalidValue);
    }
    if (count == 0 || dsts == NULL || srcs == NULL || sizes == NULL || attrs == NULL ||
        attrsIdxs == NULL || numAttrs == 0 || numAttrs > count || attrsIdxs[0] != 0) {
        mk_violation("cudaMemcpyBatchAsync: count %zu, numAttrs %zu", count, numAttrs);
        return mk_leave(cudaErrorInvalidValue);
    }
    for (size_t a = 0; a < numAttrs; a++) {
        if (attrs[a].srcAccessOrder == cudaMemcpySrcAccessOrderInvalid ||
            (a > 0 && attrsIdxs[a] <= attrsIdxs[a - 1]) || attrsIdxs[a] >= count) {
            mk_violation("cudaMemcpyBatchAsync: attributes %zu are invalid", a);
            return mk_leave(cudaErrorInvalidValue);
        }
    }
    /* Device-to-device batches (the copy engines between a CUDA cache and device memory) run
     * as one op: the batch executes in stream order as a whole. Anything with pageable memory
     * takes cudaMemcpyAsync's rules copy by copy. */
    int whole = 1;
    for (size_t i = 0; i < count && whole; i++) {
        const mk_alloc *d = mk_find(dsts[i], sizes[i] ? sizes[i] : 1);
        const mk_alloc *c = mk_find(srcs[i], sizes[i] ? sizes[i] : 1);
        whole = d != NULL && c != NULL && d->kind == MK_MEM_DEVICE && c->kind == MK_MEM_DEVICE;
    }
    if (whole) {
        batch_op *b = malloc(sizeof *b + count * sizeof b->copy[0]);
        b->n = count;
        for (size_t i = 0; i < count; i++) {
            const char *d = dsts[i], *c = srcs[i];
            if (d < c + sizes[i] && c < d + sizes[i]) {
                free(b);
                mk_violation("cudaMemcpyBatchAsync: copy %zu between overlapping ranges", i);
                return mk_leave(cudaErrorInvalidValue);
            }
            b->copy[i].dst = dsts[i];
            b->copy[i].src = srcs[i];
            b->copy[i].n = sizes[i];
        }
        mk_op *op = calloc(1, sizeof *op);
        op->kind = MK_OP_CALL;
        op->call = run_batch;
        op->arg = b;
        mk_enqueue(s, op, NULL, 0);
        return mk_leave(cudaSuccess);
    }
    int sync_any = 0;
    for (size_t i = 0; i < count && e == cudaSuccess; i++) {
        int sync = 0;
        if (sizes[i] > 0)
            e = mk_queue_copy(dsts[i], srcs[i], sizes[i], cudaMemcpyDefault, s, &sync);
        sync_any |= sync;
    }
    if (e == cudaSuccess && sync_any)
        mk_wait_stream(s);
    return mk_leave(e);
}
