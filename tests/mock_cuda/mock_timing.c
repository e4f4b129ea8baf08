/*
 * mock_timing.c — simulated time for the stand-in runtime (mockcuda_set_timing, mock_cuda.h):
 * a duration per op kind, one engine per kind, the host's clock, and the library's host copies
 * learned from its NVTX ranges (the mock is an NVTX tool, statically injected: the library's
 * "fastserde" domain pushes "chunk host copy" with the chunk's bytes as payload). A timeline of
 * what ran when is kept for the tests to look at, and the ranges ended, by name
 * (mockcuda_range_bytes).
 */
#include <stdlib.h>
#include <string.h>

#define NVTX_NO_IMPL
#include <nvtx3/nvToolsExt.h>

#include "mock_internal.h"

static mockcuda_timing params;
static double engine_free[MOCKCUDA_SPAN_KINDS];
static double last_end; /* of every op run */
static mockcuda_span *spans;
static size_t nspans, cap_spans;

static void add_span(mockcuda_span_kind kind, size_t bytes, double start, double end)
{
    if (nspans == cap_spans) {
        size_t cap = cap_spans ? 2 * cap_spans : 256;
        mockcuda_span *n = realloc(spans, cap * sizeof *n);
        if (n == NULL)
            return;
        spans = n;
        cap_spans = cap;
    }
    spans[nspans++] = (mockcuda_span){kind, bytes, start, end};
}

void mockcuda_set_timing(const mockcuda_timing *t)
{
    mk_lock();
    mk.timing = t != NULL;
    if (t != NULL)
        params = *t;
    memset(engine_free, 0, sizeof engine_free);
    last_end = 0;
    mk.host_now = 0;
    nspans = 0;
    for (int i = 0; i < mk.nstreams; i++) { /* what ran before happened before time 0 */
        mk.streams[i]->t_last = 0;
        memset(mk.streams[i]->t_hist, 0, sizeof mk.streams[i]->t_hist);
    }
    mk_unlock();
}

size_t mockcuda_timeline(mockcuda_span *out, size_t max)
{
    mk_lock();
    size_t n = nspans;
    if (out != NULL)
        memcpy(out, spans, (n < max ? n : max) * sizeof *out);
    mk_unlock();
    return n;
}

double mockcuda_host_now(void)
{
    mk_lock();
    double t = mk.host_now;
    mk_unlock();
    return t;
}

void mk_time_call(void)
{
    if (mk.timing)
        mk.host_now += params.api_ns;
}

void mk_time_enqueue(mk_op *op)
{
    op->t_enq = mk.host_now;
}

/* The kind and byte count of an op that takes time; 0 for records, waits and the rest. */
static int span_of(const mk_op *op, mockcuda_span_kind *kind, size_t *bytes)
{
    if (op->kind == MK_OP_KERNEL) {
        *kind = MOCKCUDA_SPAN_KERNEL;
        *bytes = (size_t)(op->plan->end - op->plan->begin);
        return 1;
    }
    if (op->kind == MK_OP_CALL && op->timed) {
        *kind = op->span;
        *bytes = op->span_bytes;
        return 1;
    }
    if (op->kind != MK_OP_COPY)
        return 0;
    const mk_alloc *d = mk_find_start(op->dst), *s = mk_find_start(op->src);
    int dev_dst = d != NULL && d->kind == MK_MEM_DEVICE, dev_src = s != NULL && s->kind == MK_MEM_DEVICE;
    *kind = dev_src && !dev_dst   ? MOCKCUDA_SPAN_D2H
            : !dev_src && dev_dst ? MOCKCUDA_SPAN_H2D
                                  : MOCKCUDA_SPAN_COPY;
    *bytes = op->n;
    return 1;
}

static double dep_end(mk_dep d)
{
    const mk_stream *s = mk_stream_by_id(d.stream_id);
    if (s == NULL || d.seq == 0 || s->completed < d.seq || s->completed - d.seq >= 256)
        return 0; /* retired long ago (or not run: not asked) */
    return s->t_hist[d.seq % 256];
}

double mk_time_of(mk_dep d)
{
    return dep_end(d);
}

double mk_time_start(const mk_stream *s, const mk_op *op)
{
    double t = op->t_enq > s->t_last ? op->t_enq : s->t_last;
    for (int i = 0; i < op->ndeps; i++) {
        double e = dep_end(op->deps[i]);
        if (e > t)
            t = e;
    }
    mockcuda_span_kind kind;
    size_t bytes;
    if (span_of(op, &kind, &bytes) && engine_free[kind] > t)
        t = engine_free[kind];
    return t;
}

void mk_time_execute(mk_stream *s, mk_op *op)
{
    if (!mk.timing)
        return;
    double start = mk_time_start(s, op), end = start;
    mockcuda_span_kind kind;
    size_t bytes;
    if (span_of(op, &kind, &bytes)) {
        end = start + params.ns[kind] + params.ns_per_byte[kind] * (double)bytes;
        engine_free[kind] = end;
        add_span(kind, bytes, start, end);
    }
    s->t_last = end;
    s->t_hist[op->seq % 256] = end;
    if (end > last_end)
        last_end = end;
}

void mk_time_waited(mk_dep d)
{
    if (!mk.timing)
        return;
    double e = dep_end(d);
    if (e > mk.host_now)
        mk.host_now = e;
}

void mk_time_waited_all(void)
{
    if (mk.timing && last_end > mk.host_now)
        mk.host_now = last_end;
}

/* ------------------------------------------------------------------------------------------ */
/* The NVTX tool: registered strings are their own handles; a popped "chunk host copy" range
 * is a host copy of its payload's bytes.                                                       */

#define MAX_DEPTH 16
static _Thread_local struct {
    const char *name;
    uint64_t bytes;
} stack[MAX_DEPTH];
static _Thread_local int depth;

/* Per name (a registered string: the library's names are literals), the ranges ended. */
#define MAX_NAMES 32
static struct {
    const char *name;
    uint64_t count, bytes;
} ended[MAX_NAMES];
static int nended;

static void count_ended(const char *name, uint64_t bytes)
{
    int i = 0;
    while (i < nended && strcmp(ended[i].name, name) != 0)
        i++;
    if (i == nended && nended < MAX_NAMES)
        ended[nended++].name = name;
    if (i < nended) {
        ended[i].count++;
        ended[i].bytes += bytes;
    }
}

uint64_t mockcuda_range_bytes(const char *name, uint64_t *count)
{
    uint64_t c = 0, b = 0;
    mk_lock();
    for (int i = 0; i < nended; i++)
        if (strcmp(ended[i].name, name) == 0) {
            c = ended[i].count;
            b = ended[i].bytes;
        }
    mk_unlock();
    if (count != NULL)
        *count = c;
    return b;
}

static nvtxDomainHandle_t NVTX_API domain_create(const char *name)
{
    (void)name;
    static int domain;
    return (nvtxDomainHandle_t)&domain;
}

static nvtxStringHandle_t NVTX_API register_string(nvtxDomainHandle_t domain, const char *s)
{
    (void)domain;
    return (nvtxStringHandle_t)s; /* the library's names are string literals */
}

static int NVTX_API range_push(nvtxDomainHandle_t domain, const nvtxEventAttributes_t *a)
{
    (void)domain;
    if (depth < MAX_DEPTH) {
        stack[depth].name = a != NULL && a->messageType == NVTX_MESSAGE_TYPE_REGISTERED
                                ? (const char *)a->message.registered
                                : "";
        stack[depth].bytes = a != NULL && a->payloadType == NVTX_PAYLOAD_TYPE_UNSIGNED_INT64
                                 ? a->payload.ullValue
                                 : 0;
    }
    return depth++;
}

static int NVTX_API range_pop(nvtxDomainHandle_t domain)
{
    (void)domain;
    if (depth == 0)
        return -1;
    depth--;
    if (depth >= MAX_DEPTH)
        return depth;
    mk_lock();
    count_ended(stack[depth].name, stack[depth].bytes);
    if (mk.timing && strcmp(stack[depth].name, "chunk host copy") == 0) {
        double start = mk.host_now;
        mk.host_now += params.ns[MOCKCUDA_SPAN_HOST] +
                       params.ns_per_byte[MOCKCUDA_SPAN_HOST] * (double)stack[depth].bytes;
        add_span(MOCKCUDA_SPAN_HOST, (size_t)stack[depth].bytes, start, mk.host_now);
    }
    mk_unlock();
    return depth;
}

static int NVTX_API inject(NvtxGetExportTableFunc_t get)
{
    const NvtxExportTableCallbacks *cb = get(NVTX_ETID_CALLBACKS);
    NvtxFunctionTable table = NULL;
    unsigned size = 0;
    if (cb == NULL || !cb->GetModuleFunctionTable(NVTX_CB_MODULE_CORE2, &table, &size) ||
        size <= NVTX_CBID_CORE2_DomainCreateA)
        return 0;
    *table[NVTX_CBID_CORE2_DomainCreateA] = (NvtxFunctionPointer)domain_create;
    *table[NVTX_CBID_CORE2_DomainRegisterStringA] = (NvtxFunctionPointer)register_string;
    *table[NVTX_CBID_CORE2_DomainRangePushEx] = (NvtxFunctionPointer)range_push;
    *table[NVTX_CBID_CORE2_DomainRangePop] = (NvtxFunctionPointer)range_pop;
    return 1;
}

/* NVTX's static injection: the library's NVTX calls find this (nvtxDetail/nvtxInit.h). */
NvtxInitializeInjectionNvtxFunc_t InitializeInjectionNvtx2_fnptr = inject;
