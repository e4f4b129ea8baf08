/*
 * bench_paged_gpu.c — the paged group's GPU rows (see bench_paged.h): fsd_gather / fsd_scatter
 * with the kernel (slots and layer table in device memory), the copy engines (slots and table
 * in host memory) and the kernel gathering straight into mapped pinned host memory, against the
 * 16-byte copy kernel or cudaMemcpyAsync of the same bytes (the faster is the roof; pinned D2H
 * for the gather into host memory) and the loop of one fsd_pack / fsd_unpack per (K/V, layer,
 * block). Timed with CUDA events around batches of back-to-back calls; the caches rotate over
 * enough copies to total at least four times the L2 cache. Every operation is first checked
 * against the naive token-by-token copy on the host.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "bench_cuda.h"
#include "bench_kernels.h"
#include "bench_paged.h"

#define MAX_SETS 4


typedef enum gop {
    G_COPY16,
    G_D2D,
    G_D2H_PINNED,
    G_GATHER_K,
    G_SCATTER_K,
    G_GATHER_CE,
    G_SCATTER_CE,
    G_GATHER_PINNED,
    G_LOOP_PACK,
    G_LOOP_UNPACK,
    G_OP_COUNT
} gop;

typedef struct gpu_paged {
    fsdb_paged_shape s;
    int sets;
    char *layer[MAX_SETS][1024];
    uint64_t host_table[MAX_SETS][1024];
    uint64_t *dev_table[MAX_SETS];
    char *packed[MAX_SETS], *contig;
    unsigned char *pinned;
    int64_t *dev_slots;
    DLTensor dslots, hslots, dptrs[MAX_SETS], hptrs[MAX_SETS];
    int64_t slots_shape, ptrs_shape;
    fsd_kv_layout dkv[MAX_SETS], hkv[MAX_SETS];
    cudaStream_t st;
    int failed;
} gpu_paged;

static const int KV_2LTD[5] = {1, 0, 2, 3, 4};

static void run_op(gpu_paged *g, gop op, int k)
{
    const size_t n = g->s.packed_bytes;
    fsd_gather_options o = FSD_GATHER_OPTIONS_INIT;
    fsd_status st = FSD_SUCCESS;
    switch (op) {
    case G_COPY16: CU(fsdb_copy16(g->packed[k], g->contig, n, 0, g->st)); break;
    case G_D2D: CU(cudaMemcpyAsync(g->packed[k], g->contig, n, cudaMemcpyDeviceToDevice, g->st)); break;
    case G_D2H_PINNED: CU(cudaMemcpyAsync(g->pinned, g->packed[k], n, cudaMemcpyDeviceToHost, g->st)); break;
    case G_GATHER_K:
        o.engine = FSD_ENGINE_KERNEL;
        st = fsd_gather(&g->dkv[k], &g->dslots, KV_2LTD, g->packed[k], n, &o, g->st);
        break;
    case G_SCATTER_K:
        o.engine = FSD_ENGINE_KERNEL;
        st = fsd_scatter(g->packed[k], n, &g->dkv[k], &g->dslots, KV_2LTD, &o, g->st);
        break;
    case G_GATHER_CE:
        o.engine = FSD_ENGINE_COPY;
        st = fsd_gather(&g->hkv[k], &g->hslots, KV_2LTD, g->packed[k], n, &o, g->st);
        break;
    case G_SCATTER_CE:
        o.engine = FSD_ENGINE_COPY;
        st = fsd_scatter(g->packed[k], n, &g->hkv[k], &g->hslots, KV_2LTD, &o, g->st);
        break;
    case G_GATHER_PINNED:
        o.engine = FSD_ENGINE_KERNEL;
        st = fsd_gather(&g->dkv[k], &g->dslots, KV_2LTD, g->pinned, n, &o, g->st);
        break;
    case G_LOOP_PACK:
    case G_LOOP_UNPACK:
        fsdb_paged_loop(&g->s, g->layer[k], g->packed[k], (DLDevice){kDLCUDA, 0}, g->st,
                        op == G_LOOP_UNPACK, &g->failed);
        break;
    default: break;
    }
    g->failed |= fsdb_check_status(st, "fsd_gather / fsd_scatter");
}

/* One operation on set k, as fsdb_time_events runs it. */
typedef struct timed_op {
    gpu_paged *g;
    gop op;
} timed_op;

static void enqueue_op(void *arg, int k)
{
    const timed_op *t = arg;
    run_op(t->g, t->op, k);
}

static double time_events(gpu_paged *g, gop op, int samples)
{
    timed_op t = {g, op};
    return fsdb_time_events(g->st, enqueue_op, &t, g->sets, samples);
}

/* The host mirror of set 0's layers, the naive result, and the checks of every operation. */
static const char *check(gpu_paged *g)
{
    const fsdb_paged_shape *s = &g->s;
    const size_t n = s->packed_bytes;
    char *host[1024];
    for (int64_t l = 0; l < s->layers; l++) {
        host[l] = malloc(s->layer_bytes);
        CU(cudaMemcpy(host[l], g->layer[0][l], s->layer_bytes, cudaMemcpyDeviceToHost));
    }
    unsigned char *want = malloc(n), *got = malloc(n);
    const char *bad = NULL;
    fsdb_paged_naive(s, host, want, 0);
    static const gop gathers[4] = {G_GATHER_K, G_GATHER_CE, G_GATHER_PINNED, G_LOOP_PACK};
    for (int i = 0; i < 4 && !bad; i++) {
        CU(cudaMemset(g->packed[0], 0, n));
        memset(g->pinned, 0, n);
        CU(cudaDeviceSynchronize());
        run_op(g, gathers[i], 0);
        CU(cudaStreamSynchronize(g->st));
        if (gathers[i] == G_GATHER_PINNED)
            memcpy(got, g->pinned, n);
        else
            CU(cudaMemcpy(got, g->packed[0], n, cudaMemcpyDeviceToHost));
        if (memcmp(got, want, n) != 0)
            bad = gathers[i] == G_LOOP_PACK ? "per-block fsd_pack loop differs" : "a gather differs";
    }
    static const gop scatters[3] = {G_SCATTER_K, G_SCATTER_CE, G_LOOP_UNPACK};
    for (int i = 0; i < 3 && !bad; i++) {
        fsdb_fill_pattern(want, n, 91u + (uint32_t)i);
        CU(cudaMemcpy(g->packed[0], want, n, cudaMemcpyHostToDevice));
        run_op(g, scatters[i], 0);
        CU(cudaStreamSynchronize(g->st));
        for (int64_t l = 0; l < s->layers; l++)
            CU(cudaMemcpy(host[l], g->layer[0][l], s->layer_bytes, cudaMemcpyDeviceToHost));
        fsdb_paged_naive(s, host, got, 0);
        if (memcmp(got, want, n) != 0)
            bad = scatters[i] == G_LOOP_UNPACK ? "per-block fsd_unpack loop differs" : "a scatter differs";
    }
    for (int64_t l = 0; l < s->layers; l++)
        free(host[l]);
    free(want);
    free(got);
    return bad ? bad : g->failed ? "a call failed" : "ok";
}

static void add_row(fsdb_paged_results *rs, const gpu_paged *g, const char *op, const char *engine,
                    double sec, const char *roof, double roof_s, double loop_s, size_t runs,
                    const char *checked)
{
    fsdb_paged_row *r = fsdb_paged_add(rs, "gpu", &g->s, op, engine, sec, roof, roof_s);
    r->loop_gbps = loop_s > 0 ? (double)g->s.packed_bytes / loop_s / 1e9 : 0;
    r->loop_calls = loop_s > 0 ? 2 * g->s.layers * ((g->s.tokens + g->s.bs - 1) / g->s.bs) : 0;
    r->runs = runs;
    snprintf(r->check, sizeof r->check, "%s", checked);
}

int fsdb_run_paged_gpu(const fsdb_cfg *cfg, const fsdb_model *m, int bs, fsdb_paged_results *rs)
{
    gpu_paged *g = calloc(1, sizeof *g);
    fsdb_paged_shape_init(&g->s, m, bs);
    const fsdb_paged_shape *s = &g->s;
    int dev = 0, l2 = 0;
    CU(cudaGetDevice(&dev));
    CU(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev));
    const size_t footprint = s->packed_bytes + (size_t)s->layers * s->layer_bytes;
    g->sets = (int)(4 * (size_t)l2 / footprint) + 1;
    g->sets = g->sets > MAX_SETS ? MAX_SETS : g->sets;
    CU(cudaStreamCreateWithFlags(&g->st, cudaStreamNonBlocking));
    g->slots_shape = s->tokens;
    g->ptrs_shape = s->layers;
    CU(cudaMalloc((void **)&g->dev_slots, sizeof(int64_t) * (size_t)s->tokens));
    CU(cudaMemcpy(g->dev_slots, s->slots, sizeof(int64_t) * (size_t)s->tokens, cudaMemcpyHostToDevice));
    g->dslots = (DLTensor){g->dev_slots, {kDLCUDA, dev}, 1, {kDLInt, 64, 1}, &g->slots_shape, NULL, 0};
    g->hslots = (DLTensor){s->slots, {kDLCPU, 0}, 1, {kDLInt, 64, 1}, &g->slots_shape, NULL, 0};
    unsigned char *pattern = malloc(s->layer_bytes);
    for (int k = 0; k < g->sets; k++) {
        for (int64_t l = 0; l < s->layers; l++) {
            CU(cudaMalloc((void **)&g->layer[k][l], s->layer_bytes));
            fsdb_fill_pattern(pattern, s->layer_bytes, (uint32_t)(k * 1000 + l));
            CU(cudaMemcpy(g->layer[k][l], pattern, s->layer_bytes, cudaMemcpyHostToDevice));
            g->host_table[k][l] = (uint64_t)(uintptr_t)g->layer[k][l];
        }
        CU(cudaMalloc((void **)&g->dev_table[k], 8 * (size_t)s->layers));
        CU(cudaMemcpy(g->dev_table[k], g->host_table[k], 8 * (size_t)s->layers, cudaMemcpyHostToDevice));
        CU(cudaMalloc((void **)&g->packed[k], s->packed_bytes));
        g->dptrs[k] = (DLTensor){g->dev_table[k], {kDLCUDA, dev}, 1, {kDLUInt, 64, 1}, &g->ptrs_shape, NULL, 0};
        g->hptrs[k] = (DLTensor){g->host_table[k], {kDLCPU, 0}, 1, {kDLUInt, 64, 1}, &g->ptrs_shape, NULL, 0};
        DLTensor layer = fsdb_paged_layer(s, NULL, (DLDevice){kDLCUDA, dev});
        g->dkv[k] = (fsd_kv_layout){layer, 1, 2, &g->dptrs[k]};
        g->hkv[k] = (fsd_kv_layout){layer, 1, 2, &g->hptrs[k]};
    }
    free(pattern);
    CU(cudaMalloc((void **)&g->contig, s->packed_bytes));
    CU(cudaMemset(g->contig, 0x3C, s->packed_bytes));
    CU(cudaHostAlloc((void **)&g->pinned, s->packed_bytes, cudaHostAllocMapped | cudaHostAllocPortable));

    const char *checked = check(g);
    size_t runs = 0;
    fsd_gather_runs(&g->hkv[0], &g->hslots, KV_2LTD, FSD_KV_GATHER, NULL, NULL, 0, &runs);
    double t[G_OP_COUNT];
    for (int op = 0; op < G_OP_COUNT; op++)
        t[op] = time_events(g, (gop)op, cfg->gpu_iters);
    const int d2d = t[G_D2D] < t[G_COPY16];
    const char *roof = d2d ? "memcpy-d2d" : "copy16";
    const double troof = d2d ? t[G_D2D] : t[G_COPY16];
    add_row(rs, g, "gather", "kernel", t[G_GATHER_K], roof, troof, t[G_LOOP_PACK], runs, checked);
    add_row(rs, g, "scatter", "kernel", t[G_SCATTER_K], roof, troof, t[G_LOOP_UNPACK], runs, checked);
    add_row(rs, g, "gather", "copy", t[G_GATHER_CE], roof, troof, t[G_LOOP_PACK], runs, checked);
    add_row(rs, g, "scatter", "copy", t[G_SCATTER_CE], roof, troof, t[G_LOOP_UNPACK], runs, checked);
    add_row(rs, g, "gather", "kernel-to-pinned", t[G_GATHER_PINNED], "d2h-pinned", t[G_D2H_PINNED], 0,
            runs, checked);

    for (int k = 0; k < g->sets; k++) {
        for (int64_t l = 0; l < s->layers; l++)
            CU(cudaFree(g->layer[k][l]));
        CU(cudaFree(g->dev_table[k]));
        CU(cudaFree(g->packed[k]));
    }
    CU(cudaFree(g->contig));
    CU(cudaFree(g->dev_slots));
    CU(cudaFreeHost(g->pinned));
    CU(cudaStreamDestroy(g->st));
    fsdb_paged_shape_free(&g->s);
    const int bad = strcmp(checked, "ok") != 0;
    free(g);
    return bad;
}
