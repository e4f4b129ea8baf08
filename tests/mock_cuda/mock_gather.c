/*
 * mock_gather.c — the paged gather on the stand-in runtime: a launch of the paged-gather
 * kernel (mk_launch_gather: from the mock's fsdk_launch_gather, mock_fsdk_launch.c, or from
 * cudaLaunchKernel of the real kernels/gather_launch.cu, mock_kernel_api.c) is queued as an op
 * that runs on the emulated grid after the checks a GPU would fault on; and
 * cudaMemcpyBatchAsync, the copy-engine path's call, with the rules CUDA documents for it.
 */
#include <stdlib.h>
#include <string.h>

#include "emulated_gather.h"
#include "mock_internal.h"

/* At execution: every layer the table names lies in memory of the device (the table is read
 * in stream order, as the kernel reads it), then the kernel runs on the emulated grid: k, the
 * instantiation launched, or (the mock's fsdk_launch_gather) the one the plan dispatches to,
 * with the index width drawn. */
typedef struct gather_op {
    fsd_gather_plan plan;
    int device;
    const mk_kernel *k;
} gather_op;

static void run_gather(void *arg)
{
    const gather_op *g = arg;
    const fsd_gather_plan *p = &g->plan;
    mk_check_ready(p->packed, "gather kernel");
    mk_check_ready(p->slots, "gather kernel");
    if (p->layer_table != NULL)
        mk_check_ready(p->layer_table, "gather kernel");
    /* With no slot inside the cache (an empty layer), no layer is touched. */
    const uint64_t layers = p->slot_limit == 0 ? 0 : p->layer_table ? p->shape[p->layer_dim] : 1;
    for (uint64_t l = 0; l < layers; l++) {
        const char *base = p->layer_table ? (const char *)(uintptr_t)(p->layer_table[l] + p->layer_offset)
                                          : p->layer0;
        if (!mk_reachable(base, -(int64_t)p->layer_below, (int64_t)p->layer_end, g->device, "layer"))
            return; /* the GPU would fault: nothing is copied */
    }
    if (g->k != NULL)
        g->k->run(p, p->grid, p->block);
    else
        fsdt_emulate_gather(p, (int)(mk_rand() & 1));
    mk.kernels++;
}

cudaError_t mk_launch_gather(const fsd_gather_plan *plan, cudaStream_t stream, const mk_kernel *k)
{
    cudaError_t e;
    mk_stream *s = mk_launch_stream(stream, &e);
    if (s == NULL)
        return e;
    if ((e = mk_check_launch(s, plan->grid, plan->block)) != cudaSuccess)
        return e;
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
        return cudaErrorIllegalAddress;
    gather_op *g = malloc(sizeof *g);
    if (g == NULL)
        abort();
    g->plan = *plan;
    g->device = s->device;
    g->k = k;
    mk_enqueue_call(s, run_gather, g, sizeof *g, 1, MOCKCUDA_SPAN_KERNEL, (size_t)bytes);
    return cudaSuccess;
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
    for (size_t i = 0; i < b->n; i++) {
        mk_check_ready(b->copy[i].dst, "cudaMemcpyBatchAsync");
        mk_check_ready(b->copy[i].src, "cudaMemcpyBatchAsync");
        memcpy(b->copy[i].dst, b->copy[i].src, b->copy[i].n);
    }
}

cudaError_t cudaMemcpyBatchAsync(void *const *dsts, const void *const *srcs, const size_t *sizes,
                                 size_t count, struct cudaMemcpyAttributes *attrs, size_t *attrsIdxs,
                                 size_t numAttrs, cudaStream_t stream)
{
    cudaError_t e = mk_enter(MOCKCUDA_MEMCPY_BATCH_ASYNC);
    mk_stream *s = e == cudaSuccess ? mk_launch_stream(stream, &e) : NULL;
    if (s == NULL)
        return mk_leave(e);
    /* A batch has no graph node: on a capturing stream the call fails and captures nothing
     * (cudaErrorStreamCaptureUnsupported), in every capture mode, and — as CUDA 13 does (see
     * the README) — leaves the capture valid, so that a caller who ignores the error gets a
     * graph without the copies. */
    if (s->cap != NULL) {
        mk_trace("cudaMemcpyBatchAsync on a capturing stream: refused");
        return mk_leave(cudaErrorStreamCaptureUnsupported);
    }
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
        const size_t size = sizeof(batch_op) + count * sizeof(((batch_op *)0)->copy[0]);
        batch_op *b = malloc(size);
        if (b == NULL)
            abort();
        b->n = count;
        size_t total = 0;
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
            total += sizes[i];
        }
        mk_enqueue_call(s, run_batch, b, size, 1, MOCKCUDA_SPAN_COPY, total);
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
