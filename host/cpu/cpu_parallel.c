/* cpu_parallel.c — the CPU path split over a thread pool (see cpu_parallel.h). */
#include <string.h>

#include "cpu_parallel.h"
#include "cpu_transpose.h"
#include "plan_build.h"

/* Shares per thread: a worker that wakes late takes what is left rather than holding up the
 * caller with a whole thread's share; each at least FSD_CPU_MIN_SHARE_BYTES. */
#ifndef FSD_CPU_SHARES_PER_THREAD
#define FSD_CPU_SHARES_PER_THREAD 8
#endif
#define FSD_CPU_MIN_SHARE_BYTES ((uint64_t)64 << 10)

typedef struct share_job {
    const fsd_layout *layout;
    char *packed;
    fsd_direction dir;
    const fsd_cpu_opts *opts;
    uint64_t per_share; /* bytes per share, a multiple of the granule */
    uint64_t total;
} share_job;

static void run_share(void *arg, int i)
{
    const share_job *j = arg;
    uint64_t begin = (uint64_t)i * j->per_share;
    uint64_t end = begin + j->per_share < j->total ? begin + j->per_share : j->total;
    if (begin >= end)
        return;
    fsd_plan plan;
    fsd_plan_build_range(j->layout, j->packed + begin, begin, end, j->dir, 0, &plan);
    fsd_cpu_execute_opts(&plan, j->opts);
}

static uint64_t gcd_u64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Threads worth using for `total` bytes: at least min_bytes each, at most `threads`. */
static int threads_for(uint64_t total, uint64_t min_bytes, int threads)
{
    uint64_t by_size = min_bytes ? total / min_bytes : (uint64_t)threads;
    int n = by_size < (uint64_t)threads ? (int)by_size : threads;
    return n < 1 ? 1 : n;
}

/* Shares of `total` bytes for n threads, cut at multiples of `granule`; returns their count. */
static int shares_for(uint64_t total, uint64_t granule, int n, uint64_t *per_share)
{
    uint64_t per = (total + (uint64_t)n - 1) / (uint64_t)n;
    per = (per + granule - 1) / granule * granule;
    *per_share = per;
    return (int)((total + per - 1) / per);
}

int fsd_cpu_shares(fsd_pool *pool, uint64_t total, uint64_t granule, uint64_t min_bytes,
                   uint64_t *per_share)
{
    int n = threads_for(total, min_bytes, fsd_pool_threads(pool));
    *per_share = total;
    if (n == 1)
        return 1;
    uint64_t k = FSD_CPU_SHARES_PER_THREAD;
    if (min_bytes > 0 && total / ((uint64_t)n * k) < FSD_CPU_MIN_SHARE_BYTES)
        k = total / ((uint64_t)n * FSD_CPU_MIN_SHARE_BYTES);
    return shares_for(total, granule, n * (int)(k > 1 ? k : 1), per_share);
}

void fsd_cpu_execute_parallel_ex(fsd_pool *pool, const fsd_layout *l, void *packed,
                                 fsd_direction dir, uint64_t min_bytes, const fsd_cpu_opts *opts)
{
    fsd_plan plan;
    fsd_plan_build(l, packed, dir, 0, &plan);
    int ta = fsd_cpu_transpose_dim(&plan);
    if (min_bytes == FSD_CPU_MIN_BYTES_BY_PATH)
        min_bytes = ta >= 0 ? FSD_CPU_MIN_BYTES_PER_THREAD_TILES : FSD_CPU_MIN_BYTES_PER_THREAD;
    int n = threads_for(l->total_bytes, min_bytes, fsd_pool_threads(pool));
    if (n == 1) {
        fsd_cpu_execute_opts(&plan, opts);
        return;
    }
    /* Cut between elements and at cache lines: lcm(elem_size, 64); transposes between packed
     * rows when there are a few rows per share. */
    uint64_t granule = (uint64_t)l->elem_size / gcd_u64(l->elem_size, 64) * 64;
    if (ta >= 0) {
        uint64_t row = plan.shape[plan.ndim - 1] * plan.elem_size;
        if (l->total_bytes / row >= 4 * (uint64_t)n)
            granule = row;
    }
    share_job j = {l, packed, dir, opts, 0, l->total_bytes};
    int shares = fsd_cpu_shares(pool, l->total_bytes, granule, min_bytes, &j.per_share);
    fsd_pool_run(pool, run_share, &j, shares);
}

void fsd_cpu_execute_parallel(fsd_pool *pool, const fsd_layout *l, void *packed, fsd_direction dir)
{
    fsd_cpu_execute_parallel_ex(pool, l, packed, dir, FSD_CPU_MIN_BYTES_BY_PATH, NULL);
}

typedef struct memcpy_job {
    char *dst;
    const char *src;
    uint64_t per_share, total;
    int stream;
} memcpy_job;

static void run_memcpy(void *arg, int i)
{
    const memcpy_job *j = arg;
    uint64_t begin = (uint64_t)i * j->per_share;
    uint64_t end = begin + j->per_share < j->total ? begin + j->per_share : j->total;
    if (begin < end)
        fsd_cpu_memcpy(j->dst + begin, j->src + begin, end - begin, j->stream);
}

void fsd_cpu_memcpy_parallel(fsd_pool *pool, void *dst, const void *src, size_t n)
{
    fsd_cpu_memcpy_parallel_ex(pool, dst, src, n, FSD_CPU_MIN_BYTES_PER_THREAD);
}

void fsd_cpu_memcpy_parallel_ex(fsd_pool *pool, void *dst, const void *src, size_t n,
                                uint64_t min_bytes_per_thread)
{
    if (n == 0)
        return;
    memcpy_job j = {dst, src, 0, n, fsd_cpu_streams(NULL, n)};
    /* shares as the CPU path cuts them (up to 8 per thread): a worker that wakes late takes
     * what is left. One share per thread had made the ring's 4 MiB chunk copies slower than
     * the same copies hashing on the way (fastserde-frame-bench --group ring, 4 runs of each
     * build alternating, 2 threads: into the chunks 15.8-19.3 GB/s before, 17.3-25.4 after;
     * out of them 16.9-18.9 before, 17.1-19.1 after) */
    int shares = fsd_cpu_shares(pool, n, 64, min_bytes_per_thread, &j.per_share);
    fsd_pool_run(pool, run_memcpy, &j, shares);
}
