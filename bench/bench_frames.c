/*
 * bench_frames.c — fastserde-bench's frames group (issue 16), its CPU rows and what its CPU and
 * GPU rows share (bench_frames.h; the GPU rows are in bench_frames_gpu.c).
 *
 * One frame per view of the views group (bench_views.h), a single tensor named "kv", written by
 * fsd_frame_write with the checksum ("xxh3-1k") on and off (FSD_FRAME_CHECKSUM_NONE: "nocs")
 * and read back by fsd_frame_read with and without verification, each next to the plain pack
 * or unpack of the same view measured in the same run (base[0], the row's printed ratio: frame
 * vs plain pack). GB/s counts the packed bytes (the frame's header, a few hundred bytes, not).
 *
 * CPU rows, through the context (its threads): frame_write, frame_write_nocs against
 * fsd_pack_to_host; frame_read_verify, frame_read against fsd_unpack_from_host; the checksummed
 * rows also against their nocs row (base[1]: the checksum's own cost). The runs are interleaved
 * as bench_cpu.c times them (round i runs every operation once, each call on the next copy of
 * the buffers, the copies together at least twice the last-level cache), so that a change of
 * the machine's load weighs on a frame and its plain pack alike. Host clock.
 *
 * Every row is checked before it is timed: the frame's data equals the naive reference pack
 * (bench_views.c), fsd_frame_open and fsd_frame_verify succeed on it, it carries a checksum
 * exactly when asked, and a copy with one byte flipped fails fsd_frame_verify; a read leaves the
 * whole storage as the naive unpack does. A wrong plain baseline marks its rows "ok (baseline
 * wrong: ...)"; a wrong row "MISMATCH: what".
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "bench_frames.h"

#define CPU_SETS 8

void fsdb_frame_options_pair(fsd_frame_options *cs, fsd_frame_options *nocs)
{
    const fsd_frame_options init = FSD_FRAME_OPTIONS_INIT;
    *cs = init;
    *nocs = init;
    nocs->checksum = FSD_FRAME_CHECKSUM_NONE;
}

void *fsdb_frame_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "fastserde-bench: out of host memory\n");
        exit(1);
    }
    return p;
}

double fsdb_frame_gbps(size_t n, double t)
{
    return t > 0 ? (double)n / t / 1e9 : 0.0;
}

int fsdb_frame_check(const unsigned char *frame, size_t size, const unsigned char *ref, size_t n, int cs,
                     unsigned char *scratch, char *why, size_t why_len)
{
    fsd_frame *f = NULL;
    fsd_frame_summary sum;
    fsd_frame_info info;
    fsd_status st;
    why[0] = 0;
    if (size < n || memcmp(frame + size - n, ref, n) != 0) {
        snprintf(why, why_len, "frame data");
        return 0;
    }
    if ((st = fsd_frame_open(frame, size, &f)) != FSD_SUCCESS) {
        snprintf(why, why_len, "fsd_frame_open: %s", fsd_status_string(st));
        return 0;
    }
    if (fsd_frame_describe(f, &sum) != FSD_SUCCESS || sum.tensors != 1 || sum.checksums != cs ||
        fsd_frame_tensor_info(f, 0, &info) != FSD_SUCCESS || info.nbytes != n ||
        info.offset != size - n || strcmp(info.name, FSDB_FRAME_TENSOR) != 0)
        snprintf(why, why_len, "frame header");
    else if ((st = fsd_frame_verify(NULL, f, 0)) != FSD_SUCCESS)
        snprintf(why, why_len, "fsd_frame_verify: %s", fsd_status_string(st));
    fsd_frame_close(f);
    if (why[0] || !cs || scratch == NULL || n == 0)
        return why[0] == 0;
    memcpy(scratch, frame, size);
    scratch[size - n + n / 2] ^= 0x40;
    f = NULL;
    st = fsd_frame_open(scratch, size, &f);
    if (st == FSD_SUCCESS)
        st = fsd_frame_verify(NULL, f, 0);
    fsd_frame_close(f);
    if (st != FSD_ERROR_CORRUPT)
        snprintf(why, why_len, "a flipped byte: %s", fsd_status_string(st));
    return why[0] == 0;
}

void fsdb_frame_set_check(fsdb_result *r, const char *why, int untimed, const char *bad_base)
{
    if (why && why[0])
        snprintf(r->check, sizeof r->check, "MISMATCH: %s", why);
    else if (untimed)
        snprintf(r->check, sizeof r->check, "not timed: a call failed (stderr)");
    else if (bad_base)
        snprintf(r->check, sizeof r->check, "ok (baseline wrong: %s)", bad_base);
    else
        snprintf(r->check, sizeof r->check, "ok");
}

fsdb_result *fsdb_frame_row(fsdb_results *rs, const char *device, const fsdb_model *m, fsdb_layout l,
                            const fsdb_dtype *dt, const fsdb_view *v, const char *op, const char *host_mem,
                            const char *timing, int threads, double t)
{
    fsdb_result *r = fsdb_results_add(rs);
    r->device = device;
    r->model = m;
    r->dtype = *dt;
    r->layout = l;
    snprintf(r->view, sizeof r->view, "%s", v->desc);
    r->op = op;
    r->host_mem = host_mem;
    r->timing = timing;
    r->threads = threads;
    r->bytes = v->packed_bytes;
    r->median_s = t;
    return r;
}

void fsdb_frame_time(fsdb_frame_op_fn run, void *arg, const int *ops, int n, int sets, int iters,
                     double *median)
{
    double *t = fsdb_frame_xmalloc(sizeof(double) * (size_t)iters * (size_t)n);
    for (int j = 0; j < n; j++)
        for (int k = 0; k < sets; k++)
            run(arg, ops[j], k);
    for (int i = 0; i < iters; i++) {
        for (int j = 0; j < n; j++) {
            const double t0 = fsdb_now();
            run(arg, ops[j], (i * n + j) % sets);
            t[(size_t)j * (size_t)iters + (size_t)i] = fsdb_now() - t0;
        }
    }
    for (int j = 0; j < n; j++)
        median[j] = fsdb_median(t + (size_t)j * (size_t)iters, iters);
    free(t);
}

/* ---- CPU --------------------------------------------------------------------------------- */

typedef struct cpu_frames {
    fsdb_view v;
    fsd_context *ctx;
    int sets;
    unsigned char *storage[CPU_SETS], *packed[CPU_SETS], *frame[CPU_SETS], *frame_nocs[CPU_SETS];
    DLTensor t[CPU_SETS];
    fsd_frame *open[CPU_SETS]; /* frame[k], opened: what the reads read */
    fsd_frame_options cs, nocs;
    size_t size, size_nocs;
    int failed;
} cpu_frames;

enum { C_PACK, C_WRITE, C_WRITE_NOCS, C_UNPACK, C_READ_VERIFY, C_READ, C_COUNT };

static void cpu_op(void *arg, int op, int k)
{
    cpu_frames *c = arg;
    const size_t n = c->v.packed_bytes;
    const fsd_frame_tensor ft = {FSDB_FRAME_TENSOR, &c->t[k]};
    switch (op) {
    case C_PACK:
        c->failed |= fsdb_check_status(fsd_pack_to_host(c->ctx, &c->t[k], c->packed[k], n, NULL),
                                       "fsd_pack_to_host");
        break;
    case C_WRITE:
        c->failed |= fsdb_check_status(fsd_frame_write(c->ctx, &ft, 1, &c->cs, c->frame[k], c->size, NULL),
                                       "fsd_frame_write");
        break;
    case C_WRITE_NOCS:
        c->failed |= fsdb_check_status(
            fsd_frame_write(c->ctx, &ft, 1, &c->nocs, c->frame_nocs[k], c->size_nocs, NULL),
            "fsd_frame_write (no checksum)");
        break;
    case C_UNPACK:
        c->failed |= fsdb_check_status(fsd_unpack_from_host(c->ctx, c->packed[k], n, &c->t[k], NULL),
                                       "fsd_unpack_from_host");
        break;
    default: /* C_READ_VERIFY, C_READ */
        c->failed |= fsdb_check_status(
            fsd_frame_read(c->ctx, c->open[k], 0, &c->t[k], op == C_READ_VERIFY, NULL), "fsd_frame_read");
        break;
    }
}

/* Checks every operation once against the naive reference (on copies of set 0's buffers).
 * why[op]: what is wrong ("" when right). */
static void cpu_check(cpu_frames *c, char why[C_COUNT][64])
{
    const fsdb_view *v = &c->v;
    const size_t n = v->packed_bytes, sb = v->storage_bytes;
    const size_t fmax = c->size > sb ? c->size : sb;
    unsigned char *ref = fsdb_frame_xmalloc(n), *expect = fsdb_frame_xmalloc(sb);
    unsigned char *out = fsdb_frame_xmalloc(fmax), *scratch = fsdb_frame_xmalloc(fmax);
    fsdb_view_naive_copy(v, c->storage[0], ref, 0);
    memset(expect, 0xA5, sb);
    fsdb_view_naive_copy(v, expect, ref, 1);
    for (int op = 0; op < C_COUNT; op++)
        why[op][0] = 0;

    memset(out, 0, n);
    fsd_status st = fsd_pack_to_host(c->ctx, &c->t[0], out, n, NULL);
    c->failed |= fsdb_check_status(st, "fsd_pack_to_host");
    if (st != FSD_SUCCESS || memcmp(out, ref, n) != 0)
        snprintf(why[C_PACK], 64, "pack_to_host");
    for (int nocs = 0; nocs < 2; nocs++) {
        const fsd_frame_tensor ft = {FSDB_FRAME_TENSOR, &c->t[0]};
        const size_t size = nocs ? c->size_nocs : c->size;
        char *w = why[nocs ? C_WRITE_NOCS : C_WRITE];
        memset(out, 0, size);
        st = fsd_frame_write(c->ctx, &ft, 1, nocs ? &c->nocs : &c->cs, out, size, NULL);
        c->failed |= fsdb_check_status(st, "fsd_frame_write");
        if (st != FSD_SUCCESS)
            snprintf(w, 64, "fsd_frame_write: %s", fsd_status_string(st));
        else
            fsdb_frame_check(out, size, ref, n, !nocs, scratch, w, 64);
    }

    /* Reads: set 0's checksummed frame (its data: ref) into a storage of 0xA5. */
    const fsd_frame_tensor ft = {FSDB_FRAME_TENSOR, &c->t[0]};
    c->failed |=
        fsdb_check_status(fsd_frame_write(c->ctx, &ft, 1, &c->cs, out, c->size, NULL), "fsd_frame_write");
    fsd_frame *f = NULL;
    c->failed |= fsdb_check_status(fsd_frame_open(out, c->size, &f), "fsd_frame_open");
    DLTensor ts = fsdb_view_tensor(v, scratch, (DLDevice){kDLCPU, 0}, c->t[0].dtype);
    for (int op = C_UNPACK; op < C_COUNT; op++) {
        memset(scratch, 0xA5, sb);
        if (op == C_UNPACK)
            st = fsd_unpack_from_host(c->ctx, ref, n, &ts, NULL);
        else
            st = f ? fsd_frame_read(c->ctx, f, 0, &ts, op == C_READ_VERIFY, NULL) : FSD_ERROR_INVALID_ARGUMENT;
        c->failed |= fsdb_check_status(st, op == C_UNPACK ? "fsd_unpack_from_host" : "fsd_frame_read");
        if (st != FSD_SUCCESS)
            snprintf(why[op], 64, "%s: %s", op == C_UNPACK ? "unpack_from_host" : "fsd_frame_read",
                     fsd_status_string(st));
        else if (memcmp(scratch, expect, sb) != 0)
            snprintf(why[op], 64, "%s", op == C_UNPACK ? "unpack_from_host" : "read-back");
    }
    fsd_frame_close(f);
    free(ref);
    free(expect);
    free(out);
    free(scratch);
}

int fsdb_run_frames_cpu(const fsdb_cfg *cfg, fsd_context *ctx, const fsdb_model *m, fsdb_layout l,
                        const fsdb_dtype *dt, fsdb_results *rs)
{
    cpu_frames c;
    memset(&c, 0, sizeof c);
    fsdb_view_kv(m, l, dt->size, &c.v);
    c.ctx = ctx;
    fsdb_frame_options_pair(&c.cs, &c.nocs);
    const size_t n = c.v.packed_bytes, sb = c.v.storage_bytes;
    DLTensor t0 = fsdb_view_tensor(&c.v, NULL, (DLDevice){kDLCPU, 0}, dt->dl);
    const fsd_frame_tensor ft0 = {FSDB_FRAME_TENSOR, &t0};
    if (fsdb_check_status(fsd_frame_size(&ft0, 1, &c.cs, &c.size), "fsd_frame_size") ||
        fsdb_check_status(fsd_frame_size(&ft0, 1, &c.nocs, &c.size_nocs), "fsd_frame_size"))
        return 1;
    const size_t set_bytes = sb + n + c.size + c.size_nocs;
    const size_t want = 2 * fsdb_llc_bytes();
    c.sets = (int)((want + set_bytes - 1) / set_bytes);
    c.sets = c.sets < 1 ? 1 : c.sets > CPU_SETS ? CPU_SETS : c.sets;
    for (int k = 0; k < c.sets; k++) {
        c.storage[k] = fsdb_frame_xmalloc(sb);
        c.packed[k] = fsdb_frame_xmalloc(n);
        c.frame[k] = fsdb_frame_xmalloc(c.size);
        c.frame_nocs[k] = fsdb_frame_xmalloc(c.size_nocs);
        fsdb_fill_pattern(c.storage[k], sb, 41u + (uint32_t)k);
        memset(c.packed[k], 0, n);
        memset(c.frame_nocs[k], 0, c.size_nocs);
        c.t[k] = fsdb_view_tensor(&c.v, c.storage[k], (DLDevice){kDLCPU, 0}, dt->dl);
    }
    char why[C_COUNT][64];
    cpu_check(&c, why);
    /* Every set's checksummed frame, written and opened for the reads (the timed writes write
     * the same bytes again). */
    for (int k = 0; k < c.sets; k++) {
        cpu_op(&c, C_WRITE, k);
        if (fsdb_check_status(fsd_frame_open(c.frame[k], c.size, &c.open[k]), "fsd_frame_open"))
            c.failed = 1;
    }
    fsd_context_usage use;
    fsd_context_memory(ctx, &use);

    double t[C_COUNT] = {0};
    if (!c.failed) {
        static const int ops[C_COUNT] = {C_PACK, C_WRITE, C_WRITE_NOCS, C_UNPACK, C_READ_VERIFY, C_READ};
        fsdb_frame_time(cpu_op, &c, ops, C_COUNT, c.sets, cfg->cpu_iters, t);
    }
    const double g_pack = fsdb_frame_gbps(n, t[C_PACK]), g_unpack = fsdb_frame_gbps(n, t[C_UNPACK]);
    const char *bad_pack = why[C_PACK][0] ? "pack_to_host" : NULL;
    const char *bad_unpack = why[C_UNPACK][0] ? "unpack_from_host" : NULL;
    static const struct {
        int op;
        const char *name;
    } rows[] = {{C_WRITE, "frame_write"}, {C_WRITE_NOCS, "frame_write_nocs"},
                {C_READ_VERIFY, "frame_read_verify"}, {C_READ, "frame_read"}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const int op = rows[i].op, read = op >= C_UNPACK;
        fsdb_result *r =
            fsdb_frame_row(rs, "cpu", m, l, dt, &c.v, rows[i].name, "", "wall", use.cpu_threads, t[op]);
        fsdb_result_base(r, read ? "unpack_from_host" : "pack_to_host", read ? g_unpack : g_pack);
        if (op == C_WRITE)
            fsdb_result_base(r, "frame_write_nocs", fsdb_frame_gbps(n, t[C_WRITE_NOCS]));
        if (op == C_READ_VERIFY)
            fsdb_result_base(r, "frame_read", fsdb_frame_gbps(n, t[C_READ]));
        fsdb_frame_set_check(r, why[op], c.failed, read ? bad_unpack : bad_pack);
    }

    int bad = c.failed;
    for (int op = 0; op < C_COUNT; op++)
        bad |= why[op][0] != 0;
    for (int k = 0; k < c.sets; k++) {
        fsd_frame_close(c.open[k]);
        free(c.storage[k]);
        free(c.packed[k]);
        free(c.frame[k]);
        free(c.frame_nocs[k]);
    }
    return bad;
}

