/*
 * bench_gpu.c — the GPU rows of fastserde-bench (see bench.h), C11 over the CUDA runtime API;
 * the baseline kernels are in bench_kernels.cu and bench_cub.cu.
 *
 * Device pack / unpack (CUDA tensor <-> packed bytes in device memory), against, on the same
 * bytes: the 16-byte copy kernel (its grid tuned for each size) and cudaMemcpyAsync D2D (the
 * faster of the two is the roof), the naive one-element-per-thread kernel, and CUB's batched
 * memcpy over the view's runs. Timed with CUDA events around batches of back-to-back
 * launches; storage and packed buffers rotate over enough copies that their total is at least
 * four times the L2 cache.
 *
 * Round trip (CUDA tensor <-> host bytes, through the context), against cudaMemcpyAsync of
 * the same bytes between device memory and pinned host memory (the roof) and pageable host
 * memory. The asynchronous calls (pinned host buffers) are timed with CUDA events, the
 * blocking ones (pageable buffers, to_bytes, from_bytes) with the host clock.
 *
 * Every operation and every baseline kernel is first checked against the naive host
 * reference (bench_views.c): packed bytes equal, and after an unpack the whole storage equal
 * (the view's elements written, every other byte untouched).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "bench.h"
#include "bench_cuda.h"
#include "bench_kernels.h"

#define MAX_SETS 16


int fsdb_gpu_probe(int dev, fsdb_meta *meta)
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        snprintf(meta->gpu_note, sizeof meta->gpu_note,
                 "GPU rows need an NVIDIA GPU: none is usable here (%s)",
                 e != cudaSuccess ? cudaGetErrorString(e) : "no CUDA device");
        (void)cudaGetLastError();
        return 0;
    }
    if (dev < 0 || dev >= count) {
        snprintf(meta->gpu_note, sizeof meta->gpu_note, "GPU %d asked for, but there are %d", dev, count);
        return 0;
    }
    if ((e = cudaSetDevice(dev)) != cudaSuccess || (e = cudaFree(NULL)) != cudaSuccess) {
        snprintf(meta->gpu_note, sizeof meta->gpu_note, "GPU %d is not usable: %s", dev,
                 cudaGetErrorString(e));
        (void)cudaGetLastError();
        return 0;
    }
    struct cudaDeviceProp p;
    CU(cudaGetDeviceProperties(&p, dev));
    snprintf(meta->gpu_name, sizeof meta->gpu_name, "%s", p.name);
    meta->gpu_mem = p.totalGlobalMem;
    meta->gpu_sms = p.multiProcessorCount;
    meta->cc_major = p.major;
    meta->cc_minor = p.minor;
    meta->gpu_l2 = (size_t)p.l2CacheSize;
    cudaDeviceGetAttribute(&meta->gpu_clock_khz, cudaDevAttrClockRate, dev);
    cudaDeviceGetAttribute(&meta->mem_clock_khz, cudaDevAttrMemoryClockRate, dev);
    cudaDeviceGetAttribute(&meta->bus_bits, cudaDevAttrGlobalMemoryBusWidth, dev);
    cudaDriverGetVersion(&meta->driver);
    cudaRuntimeGetVersion(&meta->runtime);
    (void)cudaGetLastError();
    meta->gpu = 1;
    return 1;
}

typedef enum gpu_op {
    G_COPY16,
    G_D2D,
    G_PACK,
    G_UNPACK,
    G_NAIVE_PACK,
    G_NAIVE_UNPACK,
    G_CUB_PACK,
    G_CUB_UNPACK,
    G_D2H_PINNED,
    G_D2H_PAGEABLE,
    G_H2D_PINNED,
    G_H2D_PAGEABLE,
    G_TO_HOST_PINNED,
    G_TO_HOST_PAGEABLE,
    G_FROM_HOST_PINNED,
    G_FROM_HOST_PAGEABLE,
    G_TO_BYTES,
    G_FROM_BYTES,
    G_OP_COUNT
} gpu_op;

typedef struct gpu_view {
    fsdb_view v;
    fsdb_runs runs;
    DLDataType dt;
    int device;
    int sets;
    char *storage[MAX_SETS], *packed[MAX_SETS];
    DLTensor t[MAX_SETS];
    void *cub_temp;
    size_t cub_bytes;
    int cub_ok;
    unsigned copy_blocks;
    cudaStream_t s;
    fsd_context *ctx;
    unsigned char *pinned, *pageable;
    int failed;
} gpu_view;

/* Enqueues (or, for the blocking calls, runs) one operation on set k. */
static void run_op(gpu_view *g, gpu_op op, int k)
{
    const size_t n = g->v.packed_bytes;
    char *strided = g->storage[k] + g->v.byte_offset;
    cudaStream_t s = g->s;
    switch (op) {
    case G_COPY16: CU(fsdb_copy16(g->packed[k], g->storage[k], n, g->copy_blocks, s)); break;
    case G_D2D: CU(cudaMemcpyAsync(g->packed[k], g->storage[k], n, cudaMemcpyDeviceToDevice, s)); break;
    case G_PACK: g->failed |= fsdb_check_status(fsd_pack(&g->t[k], g->packed[k], n, s), "fsd_pack"); break;
    case G_UNPACK: g->failed |= fsdb_check_status(fsd_unpack(g->packed[k], n, &g->t[k], s), "fsd_unpack"); break;
    case G_NAIVE_PACK: CU(fsdb_naive(&g->v, strided, g->packed[k], 0, s)); break;
    case G_NAIVE_UNPACK: CU(fsdb_naive(&g->v, strided, g->packed[k], 1, s)); break;
    case G_CUB_PACK: CU(fsdb_cub_copy(&g->runs, strided, g->packed[k], 0, g->cub_temp, g->cub_bytes, s)); break;
    case G_CUB_UNPACK: CU(fsdb_cub_copy(&g->runs, strided, g->packed[k], 1, g->cub_temp, g->cub_bytes, s)); break;
    case G_D2H_PINNED: CU(cudaMemcpyAsync(g->pinned, g->packed[k], n, cudaMemcpyDeviceToHost, s)); break;
    case G_D2H_PAGEABLE: CU(cudaMemcpyAsync(g->pageable, g->packed[k], n, cudaMemcpyDeviceToHost, s)); break;
    case G_H2D_PINNED: CU(cudaMemcpyAsync(g->packed[k], g->pinned, n, cudaMemcpyHostToDevice, s)); break;
    case G_H2D_PAGEABLE: CU(cudaMemcpyAsync(g->packed[k], g->pageable, n, cudaMemcpyHostToDevice, s)); break;
    case G_TO_HOST_PINNED:
        g->failed |= fsdb_check_status(fsd_pack_to_host(g->ctx, &g->t[k], g->pinned, n, s), "fsd_pack_to_host");
        break;
    case G_TO_HOST_PAGEABLE:
        g->failed |= fsdb_check_status(fsd_pack_to_host(g->ctx, &g->t[k], g->pageable, n, s), "fsd_pack_to_host");
        break;
    case G_FROM_HOST_PINNED:
        g->failed |= fsdb_check_status(fsd_unpack_from_host(g->ctx, g->pinned, n, &g->t[k], s),
                                       "fsd_unpack_from_host");
        break;
    case G_FROM_HOST_PAGEABLE:
        g->failed |= fsdb_check_status(fsd_unpack_from_host(g->ctx, g->pageable, n, &g->t[k], s),
                                       "fsd_unpack_from_host");
        break;
    case G_TO_BYTES: {
        void *b = NULL;
        size_t sz = 0;
        g->failed |= fsdb_check_status(fsd_to_bytes(g->ctx, &g->t[k], &b, &sz), "fsd_to_bytes");
        fsd_bytes_free(b);
        break;
    }
    case G_FROM_BYTES: {
        DLManagedTensor *out = NULL;
        DLDevice d = {kDLCUDA, g->device};
        g->failed |= fsdb_check_status(fsd_from_bytes(g->ctx, g->pageable, n, g->dt, d, &out), "fsd_from_bytes");
        if (out)
            out->deleter(out);
        break;
    }
    default: break;
    }
}

/* One operation on set k, as fsdb_time_events runs it. */
typedef struct timed_op {
    gpu_view *g;
    gpu_op op;
} timed_op;

static void enqueue_op(void *arg, int k)
{
    const timed_op *t = arg;
    run_op(t->g, t->op, k);
}

static double time_events(gpu_view *g, gpu_op op, int samples)
{
    timed_op t = {g, op};
    return fsdb_time_events(g->s, enqueue_op, &t, g->sets, samples);
}

/* Host-clock time of a blocking operation (the stream synchronised after it): median. */
static double time_wall(gpu_view *g, gpu_op op, int samples)
{
    for (int k = 0; k < 2; k++)
        run_op(g, op, k % g->sets);
    CU(cudaStreamSynchronize(g->s));
    double *t = malloc(sizeof(double) * (size_t)samples);
    for (int i = 0; i < samples; i++) {
        double t0 = fsdb_now();
        run_op(g, op, i % g->sets);
        CU(cudaStreamSynchronize(g->s));
        t[i] = fsdb_now() - t0;
    }
    double m = fsdb_median(t, samples);
    free(t);
    return m;
}

/* The copy kernel's grid for this size: the fastest of a few (a tuned baseline). */
static void tune_copy16(gpu_view *g, int sms)
{
    static const unsigned per_sm[] = {2, 4, 8, 16, 32};
    double best = 0;
    unsigned best_blocks = (unsigned)sms * 8;
    for (size_t i = 0; i < sizeof per_sm / sizeof per_sm[0]; i++) {
        g->copy_blocks = (unsigned)sms * per_sm[i];
        double t = time_events(g, G_COPY16, 5);
        if (best == 0 || t < best) {
            best = t;
            best_blocks = g->copy_blocks;
        }
    }
    g->copy_blocks = best_blocks;
}

/* ---- checks ------------------------------------------------------------------------------ */

typedef struct host_ref {
    unsigned char *storage; /* the pattern uploaded to every set                      */
    unsigned char *ref;     /* naive pack of storage                                  */
    unsigned char *expect;  /* storage of 0xA5 after a naive unpack of ref             */
    unsigned char *out;     /* storage_bytes of scratch                               */
} host_ref;

static void restore_set0(gpu_view *g, const host_ref *h)
{
    CU(cudaMemcpy(g->storage[0], h->storage, g->v.storage_bytes, cudaMemcpyHostToDevice));
}

/* Pack by `op` from set 0 into dst (device or host), compare with ref. */
static int check_pack(gpu_view *g, const host_ref *h, gpu_op op)
{
    const size_t n = g->v.packed_bytes;
    CU(cudaMemset(g->packed[0], 0, n));
    memset(g->pinned, 0, n);
    memset(g->pageable, 0, n);
    CU(cudaDeviceSynchronize());
    const unsigned char *got = h->out;
    if (op == G_TO_BYTES) {
        void *b = NULL;
        size_t sz = 0;
        g->failed |= fsdb_check_status(fsd_to_bytes(g->ctx, &g->t[0], &b, &sz), "fsd_to_bytes");
        int ok = b != NULL && sz == n && memcmp(b, h->ref, n) == 0;
        fsd_bytes_free(b);
        return ok;
    }
    run_op(g, op, 0);
    CU(cudaStreamSynchronize(g->s));
    if (op == G_TO_HOST_PINNED)
        got = g->pinned;
    else if (op == G_TO_HOST_PAGEABLE)
        got = g->pageable;
    else
        CU(cudaMemcpy(h->out, g->packed[0], n, cudaMemcpyDeviceToHost));
    return memcmp(got, op == G_COPY16 ? h->storage : h->ref, n) == 0;
}

/* Unpack by `op` from ref (in packed[0], pinned or pageable) into set 0's storage filled with
 * 0xA5; compare the whole storage with expect. */
static int check_unpack(gpu_view *g, const host_ref *h, gpu_op op)
{
    const size_t n = g->v.packed_bytes, sb = g->v.storage_bytes;
    CU(cudaMemcpy(g->packed[0], h->ref, n, cudaMemcpyHostToDevice));
    memcpy(g->pinned, h->ref, n);
    memcpy(g->pageable, h->ref, n);
    int ok;
    if (op == G_FROM_BYTES) {
        DLManagedTensor *out = NULL;
        DLDevice d = {kDLCUDA, g->device};
        g->failed |= fsdb_check_status(fsd_from_bytes(g->ctx, g->pageable, n, g->dt, d, &out), "fsd_from_bytes");
        ok = out != NULL;
        if (out) {
            CU(cudaMemcpy(h->out, out->dl_tensor.data, n, cudaMemcpyDeviceToHost));
            ok = memcmp(h->out, h->ref, n) == 0;
            out->deleter(out);
        }
        return ok;
    }
    CU(cudaMemset(g->storage[0], 0xA5, sb));
    CU(cudaDeviceSynchronize());
    run_op(g, op, 0);
    CU(cudaStreamSynchronize(g->s));
    CU(cudaMemcpy(h->out, g->storage[0], sb, cudaMemcpyDeviceToHost));
    ok = memcmp(h->out, h->expect, sb) == 0;
    restore_set0(g, h);
    return ok;
}

/* ---- rows -------------------------------------------------------------------------------- */

static fsdb_result *add_row(fsdb_results *rs, const gpu_view *g, const fsdb_model *m, fsdb_layout l,
                            const fsdb_dtype *dt, const char *op, const char *host_mem,
                            const char *timing, double t, int ok, const char *bad_bases)
{
    fsdb_result *r = fsdb_results_add(rs);
    r->device = "gpu";
    r->model = m;
    r->dtype = *dt;
    r->layout = l;
    snprintf(r->view, sizeof r->view, "%s", g->v.desc);
    r->op = op;
    r->host_mem = host_mem;
    r->timing = timing;
    fsd_context_usage use;
    r->threads = host_mem[0] && fsd_context_memory(g->ctx, &use) == FSD_SUCCESS ? use.cpu_threads : 0;
    r->bytes = g->v.packed_bytes;
    r->median_s = t;
    if (!ok)
        snprintf(r->check, sizeof r->check, "MISMATCH");
    else if (bad_bases && bad_bases[0])
        snprintf(r->check, sizeof r->check, "ok (baseline wrong: %s)", bad_bases);
    else
        snprintf(r->check, sizeof r->check, "ok");
    return r;
}

static double gbps(const gpu_view *g, double t)
{
    return t > 0 ? (double)g->v.packed_bytes / t / 1e9 : 0.0;
}

int fsdb_run_gpu(const fsdb_cfg *cfg, fsd_context *ctx, const fsdb_model *m, fsdb_layout l,
                 const fsdb_dtype *dt, fsdb_results *rs)
{
    gpu_view g;
    memset(&g, 0, sizeof g);
    fsdb_view_kv(m, l, dt->size, &g.v);
    fsdb_view_runs(&g.v, &g.runs);
    g.dt = dt->dl;
    g.ctx = ctx;
    CU(cudaGetDevice(&g.device));
    int sms = 0;
    CU(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, g.device));
    CU(cudaStreamCreate(&g.s));
    const size_t n = g.v.packed_bytes, sb = g.v.storage_bytes;
    g.sets = fsdb_gpu_sets(g.device, n + sb, MAX_SETS);

    host_ref h;
    h.storage = malloc(sb);
    h.ref = malloc(n);
    h.expect = malloc(sb);
    h.out = malloc(sb > n ? sb : n);
    if (!h.storage || !h.ref || !h.expect || !h.out) {
        fprintf(stderr, "fastserde-bench: out of host memory\n");
        exit(1);
    }
    fsdb_view_references(&g.v, 29u, h.storage, h.ref, h.expect);

    for (int k = 0; k < g.sets; k++) {
        CU(cudaMalloc((void **)&g.storage[k], sb));
        CU(cudaMalloc((void **)&g.packed[k], n));
        CU(cudaMemcpy(g.storage[k], h.storage, sb, cudaMemcpyHostToDevice));
        g.t[k] = fsdb_view_tensor(&g.v, g.storage[k], (DLDevice){kDLCUDA, g.device}, g.dt);
    }
    CU(cudaHostAlloc((void **)&g.pinned, n, cudaHostAllocDefault));
    g.pageable = malloc(n);
    if (g.pageable == NULL) {
        fprintf(stderr, "fastserde-bench: out of host memory\n");
        exit(1);
    }
    memset(g.pageable, 0, n);
    g.cub_ok = fsdb_cub_temp_bytes(&g.runs, &g.cub_bytes) == cudaSuccess &&
               cudaMalloc(&g.cub_temp, g.cub_bytes ? g.cub_bytes : 16) == cudaSuccess;
    (void)cudaGetLastError();
    g.copy_blocks = (unsigned)sms * 8;

    /* Checks, on set 0. */
    char bad_pack[48] = "", bad_unpack[48] = "";
    const int ok_copy = check_pack(&g, &h, G_COPY16);
    const int ok_pack = check_pack(&g, &h, G_PACK);
    const int ok_naive_pack = check_pack(&g, &h, G_NAIVE_PACK);
    const int ok_cub_pack = !g.cub_ok || check_pack(&g, &h, G_CUB_PACK);
    const int ok_unpack = check_unpack(&g, &h, G_UNPACK);
    const int ok_naive_unpack = check_unpack(&g, &h, G_NAIVE_UNPACK);
    const int ok_cub_unpack = !g.cub_ok || check_unpack(&g, &h, G_CUB_UNPACK);
    const int ok_to_pinned = check_pack(&g, &h, G_TO_HOST_PINNED);
    const int ok_to_pageable = check_pack(&g, &h, G_TO_HOST_PAGEABLE);
    const int ok_to_bytes = check_pack(&g, &h, G_TO_BYTES);
    const int ok_from_pinned = check_unpack(&g, &h, G_FROM_HOST_PINNED);
    const int ok_from_pageable = check_unpack(&g, &h, G_FROM_HOST_PAGEABLE);
    const int ok_from_bytes = l != FSDB_CONTIG || check_unpack(&g, &h, G_FROM_BYTES);
    snprintf(bad_pack, sizeof bad_pack, "%s%s%s", ok_copy ? "" : "copy16 ",
             ok_naive_pack ? "" : "naive ", ok_cub_pack ? "" : "cub");
    snprintf(bad_unpack, sizeof bad_unpack, "%s%s%s", ok_copy ? "" : "copy16 ",
             ok_naive_unpack ? "" : "naive ", ok_cub_unpack ? "" : "cub");

    /* Device pack / unpack and their baselines. */
    const int it = cfg->gpu_iters;
    tune_copy16(&g, sms);
    const double t_copy = time_events(&g, G_COPY16, it);
    const double t_d2d = time_events(&g, G_D2D, it);
    const double t_pack = time_events(&g, G_PACK, it);
    const double t_naive_pack = time_events(&g, G_NAIVE_PACK, it);
    const double t_cub_pack = g.cub_ok ? time_events(&g, G_CUB_PACK, it) : 0.0;
    const double t_unpack = time_events(&g, G_UNPACK, it);
    const double t_naive_unpack = time_events(&g, G_NAIVE_UNPACK, it);
    const double t_cub_unpack = g.cub_ok ? time_events(&g, G_CUB_UNPACK, it) : 0.0;
    const int copy_roof = t_copy <= t_d2d;
    for (int u = 0; u < 2; u++) {
        fsdb_result *r = add_row(rs, &g, m, l, dt, u ? "unpack" : "pack", "", "cuda-events",
                                 u ? t_unpack : t_pack, u ? ok_unpack : ok_pack, u ? bad_unpack : bad_pack);
        fsdb_result_base(r, copy_roof ? "copy16" : "memcpy-d2d", gbps(&g, copy_roof ? t_copy : t_d2d));
        fsdb_result_base(r, copy_roof ? "memcpy-d2d" : "copy16", gbps(&g, copy_roof ? t_d2d : t_copy));
        fsdb_result_base(r, "naive", gbps(&g, u ? t_naive_unpack : t_naive_pack));
        fsdb_result_base(r, "cub", gbps(&g, u ? t_cub_unpack : t_cub_pack));
    }

    /* The round trip. */
    const double t_d2h_pin = time_events(&g, G_D2H_PINNED, it);
    const double t_d2h_page = time_wall(&g, G_D2H_PAGEABLE, it);
    const double t_h2d_pin = time_events(&g, G_H2D_PINNED, it);
    const double t_h2d_page = time_wall(&g, G_H2D_PAGEABLE, it);
    struct {
        gpu_op op;
        const char *name, *mem;
        int events, ok;
    } rt[] = {
        {G_TO_HOST_PINNED, "pack_to_host", "pinned", 1, ok_to_pinned},
        {G_TO_HOST_PAGEABLE, "pack_to_host", "pageable", 0, ok_to_pageable},
        {G_TO_BYTES, "to_bytes", "pageable", 0, ok_to_bytes},
        {G_FROM_HOST_PINNED, "unpack_from_host", "pinned", 1, ok_from_pinned},
        {G_FROM_HOST_PAGEABLE, "unpack_from_host", "pageable", 0, ok_from_pageable},
        {G_FROM_BYTES, "from_bytes", "pageable", 0, ok_from_bytes},
    };
    for (size_t i = 0; i < sizeof rt / sizeof rt[0]; i++) {
        if (rt[i].op == G_FROM_BYTES && l != FSDB_CONTIG)
            continue; /* a new 1-D tensor: the layout does not apply */
        const double t = rt[i].events ? time_events(&g, rt[i].op, it) : time_wall(&g, rt[i].op, it);
        const int to_host = rt[i].op == G_TO_HOST_PINNED || rt[i].op == G_TO_HOST_PAGEABLE ||
                            rt[i].op == G_TO_BYTES;
        fsdb_result *r = add_row(rs, &g, m, l, dt, rt[i].name, rt[i].mem,
                                 rt[i].events ? "cuda-events" : "wall", t, rt[i].ok, "");
        fsdb_result_base(r, to_host ? "d2h-pinned" : "h2d-pinned", gbps(&g, to_host ? t_d2h_pin : t_h2d_pin));
        fsdb_result_base(r, to_host ? "d2h-pageable" : "h2d-pageable",
                         gbps(&g, to_host ? t_d2h_page : t_h2d_page));
    }

    for (int k = 0; k < g.sets; k++) {
        CU(cudaFree(g.storage[k]));
        CU(cudaFree(g.packed[k]));
    }
    if (g.cub_temp)
        CU(cudaFree(g.cub_temp));
    CU(cudaFreeHost(g.pinned));
    free(g.pageable);
    CU(cudaStreamDestroy(g.s));
    free(h.storage);
    free(h.ref);
    free(h.expect);
    free(h.out);
    const int all_ok = ok_pack && ok_unpack && ok_to_pinned && ok_to_pageable && ok_to_bytes &&
                       ok_from_pinned && ok_from_pageable && ok_from_bytes;
    return g.failed || !all_ok;
}
