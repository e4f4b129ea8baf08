/*
 * bench_paged.c — the paged group's chunk geometry, its CPU rows, and the paged table and JSON
 * (see bench_paged.h). The GPU rows are bench_paged_gpu.c.
 *
 * CPU rows: fsd_gather and fsd_scatter on the calling thread ("cpu-1t", against memcpy on one
 * thread) and on the context's threads ("cpu", against the faster of memcpy on one thread and
 * on the context's threads), each also against the loop of one fsd_pack (fsd_unpack) per
 * (K or V, layer, block) on the calling thread. Operations and baselines are interleaved round
 * by round; when the chunk and its cache fit in twice the last-level cache, rounds rotate over
 * several copies of them so that nothing is timed on data still in the cache.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "bench_paged.h"

#define MAX_SETS 4

fsdb_paged_row *fsdb_paged_add(fsdb_paged_results *rs, const char *device,
                               const fsdb_paged_shape *s, const char *op, const char *engine,
                               double sec, const char *roof, double roof_s)
{
    if (rs->n == rs->cap) {
        int cap = rs->cap ? 2 * rs->cap : 32;
        fsdb_paged_row *r = realloc(rs->r, sizeof *r * (size_t)cap);
        if (r == NULL) {
            fprintf(stderr, "fastserde-bench: out of memory\n");
            exit(1);
        }
        rs->r = r;
        rs->cap = cap;
    }
    fsdb_paged_row *r = &rs->r[rs->n++];
    memset(r, 0, sizeof *r);
    const double n = (double)s->packed_bytes;
    r->device = device;
    r->model = s->m;
    r->block_size = (int)s->bs;
    r->op = op;
    r->engine = engine;
    r->bytes = s->packed_bytes;
    r->median_s = sec;
    r->gbps = n / sec / 1e9;
    r->roof_name = roof;
    r->roof_gbps = n / roof_s / 1e9;
    return r;
}

void fsdb_paged_shape_init(fsdb_paged_shape *s, const fsdb_model *m, int bs)
{
    memset(s, 0, sizeof *s);
    s->m = m;
    s->layers = m->layers;
    s->tokens = m->tokens;
    s->heads = m->heads;
    s->head_dim = m->head_dim;
    s->bs = bs;
    const int64_t chunk_blocks = (s->tokens + bs - 1) / bs;
    s->blocks = 2 * chunk_blocks;
    s->esize = 2;
    s->token_bytes = (size_t)(s->heads * s->head_dim) * s->esize;
    s->layer_bytes = 2 * (size_t)(s->blocks * bs) * s->token_bytes;
    s->packed_bytes = 2 * (size_t)(s->layers * s->tokens) * s->token_bytes;
    int64_t shape[5] = {2, s->blocks, bs, s->heads, s->head_dim};
    memcpy(s->layer_shape, shape, sizeof shape);
    /* The chunk's blocks: a shuffled draw (seeded by the geometry: every run the same). */
    int64_t *perm = malloc(sizeof *perm * (size_t)s->blocks);
    uint64_t x = 0x9e3779b97f4a7c15ull ^ (uint64_t)(s->layers * 131 + bs);
    for (int64_t i = 0; i < s->blocks; i++)
        perm[i] = i;
    for (int64_t i = s->blocks - 1; i > 0; i--) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t j = (int64_t)(x % (uint64_t)(i + 1)), t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
    s->slots = malloc(sizeof *s->slots * (size_t)s->tokens);
    for (int64_t t = 0; t < s->tokens; t++)
        s->slots[t] = perm[t / bs] * bs + t % bs;
    free(perm);
}

void fsdb_paged_shape_free(fsdb_paged_shape *s)
{
    free(s->slots);
    s->slots = NULL;
}

DLTensor fsdb_paged_layer(const fsdb_paged_shape *s, void *data, DLDevice dev)
{
    DLTensor t = {data, dev, 5, {kDLBfloat, 16, 1}, (int64_t *)s->layer_shape, NULL, 0};
    return t;
}

void fsdb_paged_naive(const fsdb_paged_shape *s, char *const *bases, unsigned char *packed, int scatter)
{
    const size_t tb = s->token_bytes, half = (size_t)(s->blocks * s->bs) * tb;
    for (int kv = 0; kv < 2; kv++)
        for (int64_t l = 0; l < s->layers; l++)
            for (int64_t t = 0; t < s->tokens; t++) {
                char *cache = bases[l] + (size_t)kv * half + (size_t)s->slots[t] * tb;
                unsigned char *p = packed + ((size_t)(kv * s->layers + l) * (size_t)s->tokens + (size_t)t) * tb;
                if (scatter)
                    memcpy(cache, p, tb);
                else
                    memcpy(p, cache, tb);
            }
}

long fsdb_paged_loop(const fsdb_paged_shape *s, char *const *layers, char *packed, DLDevice dev,
                     cudaStream_t stream, int unpack, int *failed)
{
    int64_t shape[3] = {s->bs, s->heads, s->head_dim};
    const size_t block_bytes = (size_t)s->bs * s->token_bytes;
    const size_t half = (size_t)(s->blocks * s->bs) * s->token_bytes;
    long calls = 0;
    for (int kv = 0; kv < 2; kv++)
        for (int64_t l = 0; l < s->layers; l++)
            for (int64_t t = 0; t < s->tokens; t += s->bs, calls++) {
                const int64_t block = s->slots[t] / s->bs;
                DLTensor b = {layers[l] + (size_t)kv * half + (size_t)block * block_bytes, dev, 3,
                              {kDLBfloat, 16, 1}, shape, NULL, 0};
                char *p = packed + ((size_t)(kv * s->layers + l) * (size_t)s->tokens + (size_t)t) * s->token_bytes;
                fsd_status st = unpack ? fsd_unpack(p, block_bytes, &b, stream)
                                       : fsd_pack(&b, p, block_bytes, stream);
                *failed |= fsdb_check_status(st, unpack ? "fsd_unpack (loop)" : "fsd_pack (loop)");
            }
    return calls;
}

/* ---- CPU rows ------------------------------------------------------------------------------ */

typedef struct cpu_set {
    char *layer[1024];
    uint64_t table[1024];
    unsigned char *packed, *contig; /* contig: the memcpy baseline's source */
} cpu_set;

typedef struct cpu_paged {
    fsdb_paged_shape s;
    int sets;
    cpu_set set[MAX_SETS];
    DLTensor layer, slots, ptrs[MAX_SETS];
    int64_t ptrs_shape, slots_shape;
    fsd_kv_layout kv[MAX_SETS];
    fsd_context *ctx;
    fsdb_mtcopy *mt;
    int failed;
} cpu_paged;

typedef enum paged_op {
    P_MEMCPY1,
    P_MEMCPYN,
    P_GATHER1,
    P_GATHER,
    P_SCATTER1,
    P_SCATTER,
    P_LOOP_PACK,
    P_LOOP_UNPACK,
    P_OP_COUNT
} paged_op;

static const int KV_2LTD[5] = {1, 0, 2, 3, 4};

static void run_op(cpu_paged *c, paged_op op, int k)
{
    const size_t n = c->s.packed_bytes;
    fsd_gather_options o = FSD_GATHER_OPTIONS_INIT;
    o.context = c->ctx;
    const fsd_gather_options *opts = op == P_GATHER || op == P_SCATTER ? &o : NULL;
    fsd_status st = FSD_SUCCESS;
    switch (op) {
    case P_MEMCPY1: memcpy(c->set[k].packed, c->set[k].contig, n); break;
    case P_MEMCPYN: fsdb_mtcopy_run(c->mt, c->set[k].packed, c->set[k].contig, n); break;
    case P_GATHER1:
    case P_GATHER: st = fsd_gather(&c->kv[k], &c->slots, KV_2LTD, c->set[k].packed, n, opts, NULL); break;
    case P_SCATTER1:
    case P_SCATTER: st = fsd_scatter(c->set[k].packed, n, &c->kv[k], &c->slots, KV_2LTD, opts, NULL); break;
    case P_LOOP_PACK:
    case P_LOOP_UNPACK:
        fsdb_paged_loop(&c->s, c->set[k].layer, (char *)c->set[k].packed, (DLDevice){kDLCPU, 0}, NULL,
                        op == P_LOOP_UNPACK, &c->failed);
        break;
    default: break;
    }
    c->failed |= fsdb_check_status(st, op == P_GATHER || op == P_GATHER1 ? "fsd_gather" : "fsd_scatter");
}

/* Checks gather (both thread settings) and scatter against the naive copy, and the loop. */
static const char *check(cpu_paged *c)
{
    const fsdb_paged_shape *s = &c->s;
    const size_t n = s->packed_bytes;
    unsigned char *want = malloc(n), *got = malloc(n);
    const char *bad = NULL;
    fsdb_paged_naive(s, c->set[0].layer, want, 0);
    static const paged_op gathers[3] = {P_GATHER1, P_GATHER, P_LOOP_PACK};
    for (int i = 0; i < 3 && !bad; i++) {
        memset(c->set[0].packed, 0xA5, n);
        run_op(c, gathers[i], 0);
        if (memcmp(c->set[0].packed, want, n) != 0)
            bad = i == 2 ? "per-block fsd_pack loop differs" : "gather differs from the naive copy";
    }
    /* Scatter a new pattern, then read it back token by token. */
    static const paged_op scatters[3] = {P_SCATTER1, P_SCATTER, P_LOOP_UNPACK};
    for (int i = 0; i < 3 && !bad; i++) {
        fsdb_fill_pattern(c->set[0].packed, n, 77u + (uint32_t)i);
        run_op(c, scatters[i], 0);
        fsdb_paged_naive(s, c->set[0].layer, got, 0);
        if (memcmp(c->set[0].packed, got, n) != 0)
            bad = i == 2 ? "per-block fsd_unpack loop differs" : "scatter differs from the naive copy";
    }
    free(want);
    free(got);
    return bad ? bad : c->failed ? "a call failed" : "ok";
}

static void time_ops(cpu_paged *c, const paged_op *ops, int n, int iters, double *median)
{
    double *t = malloc(sizeof(double) * (size_t)iters * (size_t)n);
    for (int j = 0; j < n; j++)
        for (int k = 0; k < c->sets; k++)
            run_op(c, ops[j], k);
    for (int i = 0; i < iters; i++)
        for (int j = 0; j < n; j++) {
            double t0 = fsdb_now();
            run_op(c, ops[j], (i * n + j) % c->sets);
            t[(size_t)j * (size_t)iters + (size_t)i] = fsdb_now() - t0;
        }
    for (int j = 0; j < n; j++)
        median[j] = fsdb_median(t + (size_t)j * (size_t)iters, iters);
    free(t);
}

static void add_row(fsdb_paged_results *rs, const cpu_paged *c, const char *op, const char *engine,
                    double sec, const char *roof, double roof_s, double loop_s, long calls,
                    size_t runs, const char *checked)
{
    fsdb_paged_row *r = fsdb_paged_add(rs, "cpu", &c->s, op, engine, sec, roof, roof_s);
    r->loop_gbps = (double)c->s.packed_bytes / loop_s / 1e9;
    r->loop_calls = calls;
    r->runs = runs;
    snprintf(r->check, sizeof r->check, "%s", checked);
}

int fsdb_run_paged_cpu(const fsdb_cfg *cfg, fsd_context *ctx, fsdb_mtcopy *mt, const fsdb_model *m,
                       int bs, fsdb_paged_results *rs)
{
    cpu_paged *c = calloc(1, sizeof *c);
    fsdb_paged_shape_init(&c->s, m, bs);
    const fsdb_paged_shape *s = &c->s;
    c->ctx = ctx;
    c->mt = mt;
    const size_t footprint = s->packed_bytes * 3 + (size_t)s->layers * s->layer_bytes;
    c->sets = (int)(2 * fsdb_llc_bytes() / footprint) + 1;
    c->sets = c->sets > MAX_SETS ? MAX_SETS : c->sets;
    for (int k = 0; k < c->sets; k++) {
        cpu_set *st = &c->set[k];
        for (int64_t l = 0; l < s->layers; l++) {
            st->layer[l] = malloc(s->layer_bytes);
            fsdb_fill_pattern(st->layer[l], s->layer_bytes, (uint32_t)(k * 1000 + l));
            st->table[l] = (uint64_t)(uintptr_t)st->layer[l];
        }
        st->packed = malloc(s->packed_bytes);
        st->contig = malloc(s->packed_bytes);
        fsdb_fill_pattern(st->packed, s->packed_bytes, 5);
        fsdb_fill_pattern(st->contig, s->packed_bytes, 6);
        c->ptrs[k] = (DLTensor){st->table, {kDLCPU, 0}, 1, {kDLUInt, 64, 1}, &c->ptrs_shape, NULL, 0};
        c->kv[k].layer = fsdb_paged_layer(s, NULL, (DLDevice){kDLCPU, 0});
        c->kv[k].block_dim = 1;
        c->kv[k].offset_dim = 2;
        c->kv[k].layer_ptrs = &c->ptrs[k];
    }
    c->ptrs_shape = s->layers;
    c->slots_shape = s->tokens;
    c->slots = (DLTensor){s->slots, {kDLCPU, 0}, 1, {kDLInt, 64, 1}, &c->slots_shape, NULL, 0};

    const char *checked = check(c);
    size_t runs = 0;
    fsd_gather_runs(&c->kv[0], &c->slots, KV_2LTD, FSD_KV_GATHER, NULL, NULL, 0, &runs);
    const long calls = 2 * s->layers * ((s->tokens + s->bs - 1) / s->bs);
    static const paged_op ops[P_OP_COUNT] = {P_MEMCPY1, P_MEMCPYN, P_GATHER1, P_GATHER,
                                             P_SCATTER1, P_SCATTER, P_LOOP_PACK, P_LOOP_UNPACK};
    double t[P_OP_COUNT];
    time_ops(c, ops, P_OP_COUNT, cfg->cpu_iters, t);
    const int mt_wins = t[P_MEMCPYN] < t[P_MEMCPY1];
    const double roof = mt_wins ? t[P_MEMCPYN] : t[P_MEMCPY1];
    const char *roof_name = mt_wins ? "memcpy-mt" : "memcpy";
    add_row(rs, c, "gather", "cpu-1t", t[P_GATHER1], "memcpy", t[P_MEMCPY1], t[P_LOOP_PACK], calls, runs, checked);
    add_row(rs, c, "gather", "cpu", t[P_GATHER], roof_name, roof, t[P_LOOP_PACK], calls, runs, checked);
    add_row(rs, c, "scatter", "cpu-1t", t[P_SCATTER1], "memcpy", t[P_MEMCPY1], t[P_LOOP_UNPACK], calls, runs, checked);
    add_row(rs, c, "scatter", "cpu", t[P_SCATTER], roof_name, roof, t[P_LOOP_UNPACK], calls, runs, checked);

    for (int k = 0; k < c->sets; k++) {
        for (int64_t l = 0; l < s->layers; l++)
            free(c->set[k].layer[l]);
        free(c->set[k].packed);
        free(c->set[k].contig);
    }
    fsdb_paged_shape_free(&c->s);
    const int bad = strcmp(checked, "ok") != 0;
    free(c);
    return bad;
}

/* ---- report -------------------------------------------------------------------------------- */

void fsdb_print_paged(FILE *f, const fsdb_paged_results *rs, int gpu, const char *gpu_note)
{
    if (rs->n == 0)
        return;
    fprintf(f, "\nPaged KV chunks: 256 tokens from every layer of a vLLM flash-attention cache "
               "[2, blocks, block_size, heads, head_dim] (bf16, whole blocks in shuffled order) "
               "into LMCache's KV_2LTD, one call each; x roof: against memcpy of the same bytes "
               "(CPU) or the 16-byte copy kernel (GPU); x loop: against one fsd_pack/fsd_unpack "
               "per (K/V, layer, block).\n");
    fprintf(f, "%-4s %-14s %5s %-8s %-17s %8s %8s %8s %-10s %8s %9s %7s  %s\n", "dev", "model", "block",
            "op", "engine", "MiB", "GB/s", "x roof", "roof", "x loop", "loop calls", "runs", "check");
    for (int i = 0; i < rs->n; i++) {
        const fsdb_paged_row *r = &rs->r[i];
        fprintf(f, "%-4s %-14s %5d %-8s %-17s %8.1f %8.2f %7.2fx %-10s %7.2fx %9ld %7zu  %s\n", r->device,
                r->model->name, r->block_size, r->op, r->engine, (double)r->bytes / (1 << 20), r->gbps,
                r->roof_gbps > 0 ? r->gbps / r->roof_gbps : 0.0, r->roof_name,
                r->loop_gbps > 0 ? r->gbps / r->loop_gbps : 0.0, r->loop_calls, r->runs, r->check);
    }
    if (!gpu)
        fprintf(f, "GPU rows (kernel, copy engines, gather into pinned host memory): %s.\n", gpu_note);
}

void fsdb_write_paged_json(FILE *f, const fsdb_paged_results *rs)
{
    fprintf(f, "[");
    for (int i = 0; i < rs->n; i++) {
        const fsdb_paged_row *r = &rs->r[i];
        fprintf(f, "%s\n    {\"device\": \"%s\", \"model\": \"%s\", \"layers\": %lld, \"heads\": %lld, "
                   "\"head_dim\": %lld, \"block_size\": %d, \"op\": \"%s\", \"engine\": \"%s\", "
                   "\"bytes\": %zu, \"median_s\": %.9g, \"gbps\": %.6g, \"roof\": \"%s\", "
                   "\"roof_gbps\": %.6g, \"loop_gbps\": %.6g, \"loop_calls\": %ld, \"runs\": %zu, "
                   "\"check\": \"%s\"}",
                i ? "," : "", r->device, r->model->name, (long long)r->model->layers,
                (long long)r->model->heads, (long long)r->model->head_dim, r->block_size, r->op,
                r->engine, r->bytes, r->median_s, r->gbps, r->roof_name, r->roof_gbps, r->loop_gbps,
                r->loop_calls, r->runs, r->check);
    }
    fprintf(f, "%s]", rs->n ? "\n  " : "");
}
