/*
 * bench_cpu.c — the CPU rows of fastserde-bench (see bench.h).
 *
 * Baselines: memcpy of the same bytes on one thread (for fsd_pack / fsd_unpack, which run on
 * the calling thread); for the operations on the context's threads, the faster of that and
 * the same memcpy split over the context's threads (bench_util.h). When storage and packed
 * bytes of one view fit in twice the last-level cache, every measurement rotates over several
 * copies of them, so that no operation (nor its baseline) is timed on data still in the cache.
 *
 * Before timing, every operation's result is checked against the naive element-by-element
 * reference of bench_views.c, independent of the library.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define MAX_SETS 8

typedef struct cpu_view {
    fsdb_view v;
    DLDataType dt;
    int sets;
    unsigned char *storage[MAX_SETS], *packed[MAX_SETS];
    DLTensor t[MAX_SETS];
} cpu_view;

typedef enum cpu_op {
    OP_MEMCPY1,
    OP_MEMCPYN,
    OP_PACK,
    OP_UNPACK,
    OP_TO_HOST,
    OP_FROM_HOST,
    OP_TO_BYTES,
    OP_FROM_BYTES
} cpu_op;

typedef struct op_env {
    cpu_view *cv;
    fsd_context *ctx;
    fsdb_mtcopy *mt;
    int failed;
} op_env;

static void run_op(op_env *e, cpu_op op, int k)
{
    cpu_view *cv = e->cv;
    const size_t n = cv->v.packed_bytes;
    switch (op) {
    case OP_MEMCPY1: memcpy(cv->packed[k], cv->storage[k], n); break;
    case OP_MEMCPYN: fsdb_mtcopy_run(e->mt, cv->packed[k], cv->storage[k], n); break;
    case OP_PACK: e->failed |= fsdb_check_status(fsd_pack(&cv->t[k], cv->packed[k], n, NULL), "fsd_pack"); break;
    case OP_UNPACK: e->failed |= fsdb_check_status(fsd_unpack(cv->packed[k], n, &cv->t[k], NULL), "fsd_unpack"); break;
    case OP_TO_HOST:
        e->failed |= fsdb_check_status(fsd_pack_to_host(e->ctx, &cv->t[k], cv->packed[k], n, NULL),
                                       "fsd_pack_to_host");
        break;
    case OP_FROM_HOST:
        e->failed |= fsdb_check_status(fsd_unpack_from_host(e->ctx, cv->packed[k], n, &cv->t[k], NULL),
                                       "fsd_unpack_from_host");
        break;
    case OP_TO_BYTES: {
        void *b = NULL;
        size_t sz = 0;
        e->failed |= fsdb_check_status(fsd_to_bytes(e->ctx, &cv->t[k], &b, &sz), "fsd_to_bytes");
        fsd_bytes_free(b);
        break;
    }
    case OP_FROM_BYTES: {
        DLManagedTensor *out = NULL;
        DLDevice cpu = {kDLCPU, 0};
        e->failed |= fsdb_check_status(fsd_from_bytes(e->ctx, cv->packed[k], n, cv->dt, cpu, &out),
                                       "fsd_from_bytes");
        if (out)
            out->deleter(out);
        break;
    }
    }
}

/*
 * Median seconds of `iters` runs of each of ops[0..n), after one warm-up run on each set. The
 * runs are interleaved (round i runs every operation once), so that a change in the machine's
 * load during the measurement (other processes) weighs on every operation and its baseline alike.
 */
static void time_ops(op_env *e, const cpu_op *ops, int n, int iters, double *median)
{
    double *t = malloc(sizeof(double) * (size_t)iters * (size_t)n);
    for (int j = 0; j < n; j++)
        for (int k = 0; k < e->cv->sets; k++)
            run_op(e, ops[j], k);
    for (int i = 0; i < iters; i++) {
        for (int j = 0; j < n; j++) {
            double t0 = fsdb_now();
            run_op(e, ops[j], (i * n + j) % e->cv->sets); /* each call on the next set */
            t[(size_t)j * (size_t)iters + (size_t)i] = fsdb_now() - t0;
        }
    }
    for (int j = 0; j < n; j++)
        median[j] = fsdb_median(t + (size_t)j * (size_t)iters, iters);
    free(t);
}

#define BIT(op) (1u << (op))

/* Checks every operation once against the naive reference, on set 0. Returns the operations
 * whose result differs, as BIT(op). */
static unsigned check_ops(op_env *e, const fsdb_layout l)
{
    unsigned bad = 0;
    cpu_view *cv = e->cv;
    const fsdb_view *v = &cv->v;
    const size_t n = v->packed_bytes, sb = v->storage_bytes;
    unsigned char *ref = malloc(n), *out = malloc(n), *expect = malloc(sb), *scratch = malloc(sb);
    fsdb_view_naive_copy(v, cv->storage[0], ref, 0);
    /* What an unpack of ref into storage filled with 0xA5 must leave. */
    memset(expect, 0xA5, sb);
    fsdb_view_naive_copy(v, expect, ref, 1);
    DLTensor ts = fsdb_view_tensor(v, scratch, (DLDevice){kDLCPU, 0}, cv->dt);

    memset(out, 0, n);
    e->failed |= fsdb_check_status(fsd_pack(&cv->t[0], out, n, NULL), "fsd_pack");
    if (memcmp(out, ref, n))
        bad |= BIT(OP_PACK);
    memset(out, 0, n);
    e->failed |= fsdb_check_status(fsd_pack_to_host(e->ctx, &cv->t[0], out, n, NULL), "fsd_pack_to_host");
    if (memcmp(out, ref, n))
        bad |= BIT(OP_TO_HOST);
    void *b = NULL;
    size_t bn = 0;
    e->failed |= fsdb_check_status(fsd_to_bytes(e->ctx, &cv->t[0], &b, &bn), "fsd_to_bytes");
    if (bn != n || b == NULL || memcmp(b, ref, n))
        bad |= BIT(OP_TO_BYTES);
    fsd_bytes_free(b);

    memset(scratch, 0xA5, sb);
    e->failed |= fsdb_check_status(fsd_unpack(ref, n, &ts, NULL), "fsd_unpack");
    if (memcmp(scratch, expect, sb))
        bad |= BIT(OP_UNPACK);
    memset(scratch, 0xA5, sb);
    e->failed |= fsdb_check_status(fsd_unpack_from_host(e->ctx, ref, n, &ts, NULL), "fsd_unpack_from_host");
    if (memcmp(scratch, expect, sb))
        bad |= BIT(OP_FROM_HOST);
    if (l == FSDB_CONTIG) {
        DLManagedTensor *mt = NULL;
        e->failed |= fsdb_check_status(fsd_from_bytes(e->ctx, ref, n, cv->dt, (DLDevice){kDLCPU, 0}, &mt),
                                       "fsd_from_bytes");
        if (mt == NULL || memcmp(mt->dl_tensor.data, ref, n))
            bad |= BIT(OP_FROM_BYTES);
        if (mt)
            mt->deleter(mt);
    }
    free(ref);
    free(out);
    free(expect);
    free(scratch);
    return bad;
}

/* A row; its roof (base[0]) is the faster of the memcpy baselines it is given (n of them). */
static fsdb_result *add_row(fsdb_results *rs, const fsdb_model *m, fsdb_layout l,
                            const fsdb_dtype *dt, const cpu_view *cv, const char *op, int threads,
                            double t, int n, const char *const *base, const double *base_t, int ok)
{
    fsdb_result *r = fsdb_results_add(rs);
    r->device = "cpu";
    r->model = m;
    r->dtype = *dt;
    r->layout = l;
    snprintf(r->view, sizeof r->view, "%s", cv->v.desc);
    r->op = op;
    r->host_mem = "";
    r->timing = "wall";
    r->threads = threads;
    r->bytes = cv->v.packed_bytes;
    r->median_s = t;
    const int first = n > 1 && base_t[1] < base_t[0];
    for (int i = 0; i < n; i++) {
        const int b = i == 0 ? first : i == first ? 0 : i;
        fsdb_result_base(r, base[b], (double)cv->v.packed_bytes / base_t[b] / 1e9);
    }
    snprintf(r->check, sizeof r->check, "%s", ok ? "ok" : "MISMATCH");
    return r;
}

int fsdb_run_cpu(const fsdb_cfg *cfg, fsd_context *ctx, fsdb_mtcopy *mt, const fsdb_model *m,
                 fsdb_layout l, const fsdb_dtype *dt, fsdb_results *rs)
{
    cpu_view cv;
    memset(&cv, 0, sizeof cv);
    fsdb_view_kv(m, l, dt->size, &cv.v);
    cv.dt = dt->dl;
    const size_t set_bytes = cv.v.storage_bytes + cv.v.packed_bytes;
    const size_t want = 2 * fsdb_llc_bytes();
    cv.sets = (int)((want + set_bytes - 1) / set_bytes);
    cv.sets = cv.sets < 1 ? 1 : cv.sets > MAX_SETS ? MAX_SETS : cv.sets;
    for (int k = 0; k < cv.sets; k++) {
        cv.storage[k] = malloc(cv.v.storage_bytes);
        cv.packed[k] = malloc(cv.v.packed_bytes);
        if (cv.storage[k] == NULL || cv.packed[k] == NULL) {
            fprintf(stderr, "fastserde-bench: out of host memory\n");
            exit(1);
        }
        fsdb_fill_pattern(cv.storage[k], cv.v.storage_bytes, 17u + (uint32_t)k);
        memset(cv.packed[k], 0, cv.v.packed_bytes);
        cv.t[k] = fsdb_view_tensor(&cv.v, cv.storage[k], (DLDevice){kDLCPU, 0}, cv.dt);
    }
    fsd_context_usage use;
    fsd_context_memory(ctx, &use);

    op_env e = {&cv, ctx, mt, 0};
    const unsigned bad = check_ops(&e, l);

    const int it = cfg->cpu_iters;
    static const cpu_op ops[] = {OP_MEMCPY1, OP_MEMCPYN, OP_PACK, OP_UNPACK, OP_TO_HOST,
                                 OP_FROM_HOST, OP_TO_BYTES, OP_FROM_BYTES};
    double t[8] = {0};
    time_ops(&e, ops, l == FSDB_CONTIG ? 8 : 7, it, t); /* from_bytes: contiguous rows only */
    const double t_mem1 = t[0], t_memn = t[1], t_pack = t[2], t_unpack = t[3];
    const double t_to_host = t[4], t_from_host = t[5], t_to_bytes = t[6], t_from_bytes = t[7];

    char mem_n[24];
    snprintf(mem_n, sizeof mem_n, "memcpy-%dt", use.cpu_threads);
    const int nt = use.cpu_threads;
    /* pack/unpack run on the calling thread: memcpy on one thread. The context's operations:
     * the faster of memcpy on one thread and memcpy split over the context's threads. */
    const char *names[2] = {"memcpy", mem_n};
    const double bt[2] = {t_mem1, t_memn};
    add_row(rs, m, l, dt, &cv, "pack", 1, t_pack, 1, names, bt, !(bad & BIT(OP_PACK)));
    add_row(rs, m, l, dt, &cv, "unpack", 1, t_unpack, 1, names, bt, !(bad & BIT(OP_UNPACK)));
    add_row(rs, m, l, dt, &cv, "pack_to_host", nt, t_to_host, 2, names, bt, !(bad & BIT(OP_TO_HOST)));
    add_row(rs, m, l, dt, &cv, "unpack_from_host", nt, t_from_host, 2, names, bt,
            !(bad & BIT(OP_FROM_HOST)));
    add_row(rs, m, l, dt, &cv, "to_bytes", nt, t_to_bytes, 2, names, bt, !(bad & BIT(OP_TO_BYTES)));
    if (l == FSDB_CONTIG)
        add_row(rs, m, l, dt, &cv, "from_bytes", nt, t_from_bytes, 2, names, bt,
                !(bad & BIT(OP_FROM_BYTES)));

    for (int k = 0; k < cv.sets; k++) {
        free(cv.storage[k]);
        free(cv.packed[k]);
    }
    return e.failed || bad != 0;
}
