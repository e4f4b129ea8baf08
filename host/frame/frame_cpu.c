/*
 * frame_cpu.c — a tensor's checksum computed in the pass that packs or unpacks it, on the CPU
 * (see frame.h; the measurements behind the choices are in docs/frames.md).
 *
 * The packed bytes are cut into pieces of FSD_FRAME_PIECE bytes (whole 1 KiB leaves). Where the
 * CPU has AVX2, the bytes are hashed in the loop that moves them (frame_leaf.h: each 32-byte
 * vector is loaded once, stored, and its XXH3 terms added), so the hash's arithmetic overlaps
 * the memory traffic:
 *  - contiguous tensors: the fused copy between the tensor and the packed bytes;
 *  - runs that are whole leaves (a token slice's rows): the fused copy, run by run;
 *  - runs that are whole 64-byte stripes (a head subset's 256-byte rows, a permute's): each
 *    leaf's 16 stripes are found by walking the runs, and move in the fused gather or scatter,
 *    with the source's stripes FSD_FRAME_STRIPE_PREFETCH bytes ahead prefetched as it goes
 *    (a scatter into stripes off a line streams the lines across them: the shifted scatter,
 *    the runs' partial first and last lines prefetched); with streaming stores, a gather
 *    only into a packed side on a line (see stripes_land_on_lines);
 *  - anything else, pack of large tensors (the CPU path streams from FSD_CPU_STREAM_MIN_BYTES):
 *    the piece is packed into a scratch buffer in L1 by the CPU engine with ordinary stores,
 *    then streamed out to dst by the fused copy, so dst gets streaming stores as by fsd_pack;
 *  - anything else, pack of smaller tensors: the piece is packed into dst with ordinary stores
 *    and hashed there (libxxhash);
 *  - anything else, unpack: a piece of FSD_FRAME_UNPACK_PIECE packed bytes is hashed
 *    (libxxhash; this brings it into the caches), then unpacked from there by the CPU engine
 *    with the stores fsd_unpack would use, while the next piece is prefetched into L2.
 * Without AVX2 the fused copy is a copy followed by libxxhash's hash of the piece in L1, and
 * runs of stripes take the scratch path. Every byte is read from memory once. Each piece is
 * one range of the tensor's plan; the CPU engine (cpu_copy.c, cpu_transpose.c) reads only
 * `begin`, `end` and `packed` of a plan's range fields, so one plan per share serves all its
 * pieces (test_frame_cpu checks the bytes against fsd_pack on random layouts and on each of the
 * paths above). On a pool, the tensor is cut into shares at leaf boundaries; each share
 * returns the sum of its leaves' terms, and the sums are added (in any order).
 */
#include <string.h>

#include "cpu_parallel.h"
#include "cpu_simd.h"
#include "cpu_transpose.h"
#include "frame.h"
#include "frame_leaf.h"
#include "nvtx.h"
#include "plan_build.h"
#include "xxh3_leaf.cuh"

/* Bytes per piece: a multiple of the leaf, and with the scratch buffer well inside L1. */
#ifndef FSD_FRAME_PIECE
#define FSD_FRAME_PIECE 8192
#endif
/* Shares of one tensor at most (fsd_cpu_shares: up to 8 per thread, 64 threads). */
#define FSD_FRAME_MAX_SHARES 512

/* Bytes per piece where the CPU engine unpacks from the hashed piece (transposes, short or odd
 * runs): larger, as the engine's tiles move a piece at a time (a transpose's piece of 8 KiB is
 * 16 of its rows), and the next piece is prefetched into L2 meanwhile. The transpose's read
 * against fsd_unpack, A/B builds in one process (--cputime): 0.65 x with 4 KiB, 0.90 with
 * 8 KiB, 1.12-1.17 with 16 KiB, 1.19 with 32 KiB, 1.22 with 64 KiB; the writes keep 8 KiB (16
 * KiB made the transpose's write 0.78 x instead of 1.5: its scratch buffer leaves L1). */
#ifndef FSD_FRAME_UNPACK_PIECE
#define FSD_FRAME_UNPACK_PIECE 32768
#endif

_Static_assert(FSD_FRAME_PIECE % FSD_XXH3_LEAF_BYTES == 0, "pieces are whole leaves");
_Static_assert(FSD_FRAME_UNPACK_PIECE % FSD_XXH3_LEAF_BYTES == 0, "pieces are whole leaves");

typedef enum job_kind { JOB_PACK, JOB_UNPACK, JOB_SUM, JOB_COPY } job_kind;

typedef struct frame_job {
    job_kind kind;
    const fsd_layout *layout; /* JOB_PACK, JOB_UNPACK */
    char *packed;             /* packed byte 0 of the tensor (JOB_COPY: of the source) */
    char *to;                 /* JOB_COPY: the destination's byte 0 */
    uint64_t first;           /* JOB_COPY, JOB_SUM: the leaf index of byte 0 */
    int stream;               /* JOB_COPY: streaming stores */
    uint64_t total;
    uint64_t per_share;
    uint64_t sums[FSD_FRAME_MAX_SHARES];
} frame_job;

/* The part of a plan the CPU engine reads as the range: see the file's comment. */
static void set_range(fsd_plan *p, char *packed, uint64_t begin, uint64_t end)
{
    p->packed = packed;
    p->begin = begin;
    p->end = end;
}

/* Plans whose runs are whole leaves (RUNS / GENERIC, not tiled, runs a multiple of 1 KiB):
 * each piece moves run by run between the strided side and the packed side through the fused
 * copy, with no scratch buffer and no second pass. */
static int runs_of_leaves(const fsd_plan *p)
{
    return (p->path == FSD_PATH_RUNS || p->path == FSD_PATH_GENERIC) &&
           p->run_bytes % FSD_XXH3_LEAF_BYTES == 0 && fsd_cpu_transpose_dim(p) < 0;
}

/* The strided address of run r's first byte. */
static char *run_address(const fsd_plan *p, uint64_t r)
{
    int64_t off = 0;
    for (int d = p->ndim - 1; d >= 0; d--) {
        uint64_t q = fsd_div64(&p->div[d], r);
        off += (int64_t)(r - q * p->shape[d]) * p->stride[d];
        r = q;
    }
    return p->strided + off;
}

/* Packed bytes [b, e) of such a plan, run by run; `packed` is the tensor's packed byte 0. */
static uint64_t move_runs_of_leaves(const fsd_plan *p, char *packed, uint64_t b, uint64_t e,
                                    int stream)
{
    uint64_t sum = 0;
    while (b < e) {
        uint64_t r = b / p->run_bytes, y = (r + 1) * p->run_bytes;
        y = y < e ? y : e;
        char *s = run_address(p, r) + (b - r * p->run_bytes);
        uint64_t k = b / FSD_XXH3_LEAF_BYTES;
        if (p->dir == FSD_DIR_PACK)
            sum += fsd_frame_copy_leaves(packed + b, s, y - b, k, stream);
        else
            sum += fsd_frame_copy_leaves(s, packed + b, y - b, k, stream);
        b = y;
    }
    return sum;
}

/* Plans whose runs are whole 64-byte stripes but not whole leaves: each leaf's 16 stripes are
 * found by walking the runs, and move in one pass with their hash (fsd_frame_stripes). Only
 * with AVX2: the portable form copies and then hashes, which the scratch path does better. */
static int runs_of_stripes(const fsd_plan *p)
{
    return (p->path == FSD_PATH_RUNS || p->path == FSD_PATH_GENERIC) && p->ndim > 0 &&
           p->run_bytes % 64 == 0 && fsd_cpu_transpose_dim(p) < 0 && fsd_frame_have_avx2();
}

/* With streaming stores (large tensors), the stripes path only where its stores can stream:
 * a pack's packed side on a line (else fsd_frame_stripes stores ordinarily, reading each line
 * of the cold destination first, and the scratch path, whose fused copy streams shifted, is
 * faster); an unpack's strided side with strides of whole lines, so that every stripe sits as
 * far past a line (the base anywhere: the shifted scatter of frame_leaf_avx2.c streams the
 * lines across stripes). fastserde-bench's head subset (256-byte runs), buffers from malloc
 * (16 bytes past a line), 2 threads: write with checksum 0.71-0.83 x fsd_pack_to_host through
 * the stripes, 0.83-0.97 x by the scratch path; read with verification 0.49-0.56 x through
 * ordinary stores, 0.75-0.91 x through the shifted scatter (the permute's 1.12-1.39 x). */
static int stripes_land_on_lines(const fsd_plan *p, const char *packed)
{
    if (p->dir == FSD_DIR_PACK)
        return ((uintptr_t)packed & 63) == 0;
    uintptr_t bits = 0;
    for (int d = 0; d < p->ndim; d++)
        bits |= (uintptr_t)p->stride[d];
    return (bits & 63) == 0;
}

/* Bytes ahead of the stripes being moved whose first lines are prefetched (0: none). */
#ifndef FSD_FRAME_STRIPE_PREFETCH
#define FSD_FRAME_STRIPE_PREFETCH 2048
#endif
_Static_assert(FSD_FRAME_STRIPE_PREFETCH % 64 == 0, "the prefetch walk moves by stripes");

/* A walk over a plan's runs, 64 bytes at a time: the odometer of cpu_copy.c's copy_runs. */
typedef struct stripe_walk {
    uint64_t coord[FSD_PLAN_MAX_DIMS];
    int64_t soff; /* strided offset of the current run */
    uint64_t in;  /* bytes into it                     */
} stripe_walk;

static void walk_init(stripe_walk *w, const fsd_plan *p, uint64_t off)
{
    uint64_t r = off / p->run_bytes;
    w->in = off - r * p->run_bytes;
    w->soff = 0;
    for (int d = p->ndim - 1; d >= 0; d--) {
        uint64_t q = fsd_div64(&p->div[d], r);
        w->coord[d] = r - q * p->shape[d];
        w->soff += (int64_t)w->coord[d] * p->stride[d];
        r = q;
    }
}

/* Moves the walk `bytes` on (at most to the end of the current run); past the last run it
 * wraps to the first (only the prefetching walk goes there). */
static void walk_advance(stripe_walk *w, const fsd_plan *p, uint64_t bytes)
{
    w->in += bytes;
    if (w->in < p->run_bytes)
        return;
    w->in = 0;
    for (int d = p->ndim - 1; d >= 0; d--) {
        if (++w->coord[d] < p->shape[d]) {
            w->soff += p->stride[d];
            return;
        }
        w->soff -= (int64_t)(p->shape[d] - 1) * p->stride[d];
        w->coord[d] = 0;
    }
}

/* The addresses of the walk's next n stripes. */
static void walk_stripes(stripe_walk *w, const fsd_plan *p, char **out, uint64_t n)
{
    for (uint64_t i = 0; i < n;) {
        char *a = p->strided + w->soff + w->in;
        uint64_t m = (p->run_bytes - w->in) / 64;
        m = m < n - i ? m : n - i;
        for (uint64_t j = 0; j < m; j++)
            out[i + j] = a + 64 * j;
        i += m;
        walk_advance(w, p, 64 * m);
    }
}

/* Packed bytes [b, e) (whole leaves) of a plan of stripes; `w` is at b, `ahead` at b plus the
 * prefetch distance (pack: the source's lines are prefetched into L1 as the stripes move). */
static uint64_t move_stripes(const fsd_plan *p, stripe_walk *w, stripe_walk *ahead, char *packed,
                             uint64_t b, uint64_t e, int stream)
{
    char *stripes[FSD_FRAME_PIECE / 64], *pf[FSD_FRAME_PIECE / 64];
    const uint64_t ns = (e - b) / 64;
    /* pack: the strided sources ahead; unpack into stripes off a line (the shifted scatter of
     * frame_leaf_avx2.c): the runs' first and last lines ahead, which take ordinary stores */
    const int prefetch = FSD_FRAME_STRIPE_PREFETCH > 0 &&
                         (p->dir == FSD_DIR_PACK || (stream && ((uintptr_t)p->strided & 63) != 0));
    walk_stripes(w, p, stripes, ns);
    if (prefetch)
        walk_stripes(ahead, p, pf, ns);
    return fsd_frame_stripes(packed + b, stripes, prefetch ? pf : NULL, ns / 16,
                             b / FSD_XXH3_LEAF_BYTES, p->dir == FSD_DIR_PACK, stream);
}

static void walks_init(stripe_walk *w, stripe_walk *ahead, const fsd_plan *p, uint64_t begin)
{
    walk_init(w, p, begin);
    walk_init(ahead, p, begin + FSD_FRAME_STRIPE_PREFETCH < p->total_bytes
                            ? begin + FSD_FRAME_STRIPE_PREFETCH : 0);
}

/* A range's plan and the path it takes (the file's comment): what pack_range and unpack_range
 * decide alike. */
typedef struct range_paths {
    fsd_plan plan;
    int stream;  /* streaming stores (large tensors) */
    int direct;  /* runs of whole leaves */
    int striped; /* runs of whole stripes, through the fused gather or scatter */
    stripe_walk w, ahead;
} range_paths;

static void range_paths_init(range_paths *r, const fsd_layout *l, char *packed, uint64_t begin,
                             uint64_t end, fsd_direction dir)
{
    fsd_plan_build_range(l, packed + begin, begin, end, dir, 0, &r->plan);
    r->stream = fsd_cpu_streams(NULL, l->total_bytes);
    r->direct = runs_of_leaves(&r->plan);
    r->striped = !r->direct && runs_of_stripes(&r->plan) &&
                 (!r->stream || stripes_land_on_lines(&r->plan, packed));
    if (r->striped)
        walks_init(&r->w, &r->ahead, &r->plan, begin);
}

static uint64_t pack_range(const fsd_layout *l, char *packed, uint64_t begin, uint64_t end)
{
    range_paths r;
    range_paths_init(&r, l, packed, begin, end, FSD_DIR_PACK);
    fsd_plan *const plan = &r.plan;
    const int stream = r.stream;
    const fsd_cpu_opts cached = {FSD_CPU_STORE_CACHED, 1};
    _Alignas(64) char scratch[FSD_FRAME_PIECE];
    uint64_t sum = 0;
    for (uint64_t b = begin; b < end; b += FSD_FRAME_PIECE) {
        uint64_t e = end - b < FSD_FRAME_PIECE ? end : b + FSD_FRAME_PIECE;
        uint64_t n = e - b;
        uint64_t k = b / FSD_XXH3_LEAF_BYTES;
        if (plan->path == FSD_PATH_CONTIG) {
            sum += fsd_frame_copy_leaves(packed + b, plan->strided + b, n, k, stream);
        } else if (r.direct) {
            sum += move_runs_of_leaves(plan, packed, b, e, stream);
        } else if (r.striped && n % FSD_XXH3_LEAF_BYTES == 0) {
            sum += move_stripes(plan, &r.w, &r.ahead, packed, b, e, stream);
        } else if (stream) {
            set_range(plan, scratch, b, e);
            fsd_cpu_execute_opts(plan, &cached);
            sum += fsd_frame_copy_leaves(packed + b, scratch, n, k, 1);
        } else {
            set_range(plan, packed + b, b, e);
            fsd_cpu_execute_opts(plan, &cached);
            sum += fsd_frame_copy_leaves(NULL, packed + b, n, k, 0);
        }
    }
    if (stream)
        fsd_cpu_stream_fence();
    return sum;
}

static uint64_t unpack_range(const fsd_layout *l, char *packed, uint64_t begin, uint64_t end)
{
    range_paths r;
    range_paths_init(&r, l, packed, begin, end, FSD_DIR_UNPACK);
    fsd_plan *const plan = &r.plan;
    const int stream = r.stream;
    uint64_t sum = 0;
    const uint64_t piece = plan->path == FSD_PATH_CONTIG || r.direct || r.striped
                               ? FSD_FRAME_PIECE : FSD_FRAME_UNPACK_PIECE;
    for (uint64_t b = begin; b < end; b += piece) {
        uint64_t e = end - b < piece ? end : b + piece;
        uint64_t n = e - b;
        uint64_t k = b / FSD_XXH3_LEAF_BYTES;
        if (plan->path == FSD_PATH_CONTIG) {
            sum += fsd_frame_copy_leaves(plan->strided + b, packed + b, n, k, stream);
        } else if (r.direct) {
            sum += move_runs_of_leaves(plan, packed, b, e, stream);
        } else if (r.striped && n % FSD_XXH3_LEAF_BYTES == 0) {
            sum += move_stripes(plan, &r.w, &r.ahead, packed, b, e, stream);
        } else {
            sum += fsd_frame_copy_leaves(NULL, packed + b, n, k, 0);
            /* the next piece into L2 while the CPU engine stores this one: its hash then
             * reads from L2 (the transpose's read, 0.81 -> 0.92 x fsd_unpack) */
            if (e < end)
                fsd_cpu_prefetch_l2(packed + e, 0, end - e < piece ? end - e : piece);
            set_range(plan, packed + b, b, e);
            fsd_cpu_execute_opts(plan, NULL);
        }
    }
    if (stream)
        fsd_cpu_stream_fence();
    return sum;
}

static uint64_t copy_range(const frame_job *j, uint64_t begin, uint64_t end)
{
    uint64_t sum = fsd_frame_copy_leaves(j->to + begin, j->packed + begin, end - begin,
                                         j->first + begin / FSD_XXH3_LEAF_BYTES, j->stream);
    if (j->stream)
        fsd_cpu_stream_fence();
    return sum;
}

static uint64_t run_range(const frame_job *j, uint64_t begin, uint64_t end)
{
    switch (j->kind) {
    case JOB_PACK: return pack_range(j->layout, j->packed, begin, end);
    case JOB_UNPACK: return unpack_range(j->layout, j->packed, begin, end);
    case JOB_COPY: return copy_range(j, begin, end);
    default: return fsd_frame_leaves(j->packed + begin, end - begin,
                                     j->first + begin / FSD_XXH3_LEAF_BYTES);
    }
}

static void run_share(void *arg, int i)
{
    frame_job *j = arg;
    uint64_t begin = (uint64_t)i * j->per_share;
    uint64_t end = begin + j->per_share < j->total ? begin + j->per_share : j->total;
    j->sums[i] = begin < end ? run_range(j, begin, end) : 0;
}

/* Runs the job over [0, total) on the pool (shares at leaf boundaries) or the calling thread. */
static uint64_t run(fsd_pool *pool, frame_job *j, uint64_t min_bytes_per_thread)
{
    if (j->total == 0)
        return 0;
    int shares = 1;
    if (pool != NULL)
        shares = fsd_cpu_shares(pool, j->total, FSD_XXH3_LEAF_BYTES, min_bytes_per_thread,
                                &j->per_share);
    if (shares <= 1)
        return run_range(j, 0, j->total);
    if (shares > FSD_FRAME_MAX_SHARES) { /* more threads than a context makes: fewer shares */
        uint64_t per = (j->total + FSD_FRAME_MAX_SHARES - 1) / FSD_FRAME_MAX_SHARES;
        j->per_share = (per + FSD_XXH3_LEAF_BYTES - 1) / FSD_XXH3_LEAF_BYTES * FSD_XXH3_LEAF_BYTES;
        shares = (int)((j->total + j->per_share - 1) / j->per_share);
    }
    fsd_pool_run(pool, run_share, j, shares);
    uint64_t sum = 0;
    for (int i = 0; i < shares; i++)
        sum += j->sums[i];
    return sum;
}

static uint64_t min_bytes_of(const fsd_layout *l, fsd_direction dir)
{
    fsd_plan plan;
    fsd_plan_build(l, NULL, dir, 0, &plan);
    return fsd_cpu_transpose_dim(&plan) >= 0 ? FSD_CPU_MIN_BYTES_PER_THREAD_TILES
                                              : FSD_CPU_MIN_BYTES_PER_THREAD;
}

uint64_t fsd_frame_pack_sum(fsd_pool *pool, const fsd_layout *l, char *dst)
{
    frame_job j;
    j.kind = JOB_PACK;
    j.layout = l;
    j.packed = dst;
    j.total = l->total_bytes;
    j.per_share = j.total;
    return run(pool, &j, pool && j.total > 0 ? min_bytes_of(l, FSD_DIR_PACK) : 0);
}

uint64_t fsd_frame_unpack_sum(fsd_pool *pool, const fsd_layout *l, const char *src)
{
    frame_job j;
    j.kind = JOB_UNPACK;
    j.layout = l;
    j.packed = (char *)src;
    j.total = l->total_bytes;
    j.per_share = j.total;
    return run(pool, &j, pool && j.total > 0 ? min_bytes_of(l, FSD_DIR_UNPACK) : 0);
}

uint64_t fsd_frame_sum(fsd_pool *pool, const char *src, uint64_t n)
{
    frame_job j;
    j.kind = JOB_SUM;
    j.layout = NULL;
    j.packed = (char *)src;
    j.first = 0;
    j.total = n;
    j.per_share = n;
    FSD_RANGE_PUSH(FSD_NVTX_FRAME_HASH, n);
    uint64_t sum = run(pool, &j, FSD_CPU_MIN_BYTES_PER_THREAD);
    FSD_RANGE_POP();
    return sum;
}

uint64_t fsd_frame_copy_sum(fsd_pool *pool, char *dst, const char *src, uint64_t n,
                            uint64_t offset, uint64_t min_bytes_per_thread)
{
    frame_job j;
    j.kind = JOB_COPY;
    j.layout = NULL;
    j.packed = (char *)src;
    j.to = dst;
    j.first = offset / FSD_XXH3_LEAF_BYTES;
    j.stream = fsd_cpu_streams(NULL, n);
    j.total = n;
    j.per_share = n;
    return run(pool, &j, min_bytes_per_thread);
}
