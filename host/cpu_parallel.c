/* cpu_parallel.c — the CPU path split over a thread pool (see cpu_parallel.h). */
#include <string.h>

#include "cpu_copy.h"
#include "cpu_parallel.h"
#include "plan_build.h"

typedef struct share_job {
    const fsd_layout *layout;
    char *packed;
    fsd_direction dir;
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
    fsd_cpu_execute(&plan);
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

/* Shares of `total` bytes for up to `threads` threads, cut at multiples of `granule`. */
static int shares_for(uint64_t total, uint64_t granule, int threads, uint64_t *per_share)
{
    uint64_t by_size = total / FSD_CPU_MIN_BYTES_PER_THREAD;
    int n = by_size < (uint64_t)threads ? (int)by_size : threads;
    if (n < 1)
        n = 1;
    uint64_t per = (total + (uint64_t)n - 1) / (uint64_t)n;
    per = (per + granule - 1) / granule * granule;
    *per_share = per;
    return (int)((total + per - 1) / per);
}

void fsd_cpu_execute_parallel(fsd_pool *pool, const fsd_layout *l, void *packed, fsd_direction dir)
{
    /* Cut between elements and at cache lines: lcm(elem_size, 64). */
    uint64_t granule = (uint64_t)l->elem_size / gcd_u64(l->elem_size, 64) * 64;
    share_job j = {l, packed, dir, 0, l->total_bytes};
    int n = shares_for(l->total_bytes, granule, fsd_pool_threads(pool), &j.per_share);
    fsd_pool_run(pool, run_share, &j, n);
}

typedef struct memcpy_job {
    char *dst;
    const char *src;
    uint64_t per_share, total;
} memcpy_job;

static void run_memcpy(void *arg, int i)
{
    const memcpy_job *j = arg;
    uint64_t begin = (uint64_t)i * j->per_share;
    uint64_t end = begin + j->per_share < j->total ? begin + j->per_share : j->total;
    if (begin < end)
        memcpy(j->dst + begin, j->src + begin, end - begin);
}

void fsd_cpu_memcpy_parallel(fsd_pool *pool, void *dst, const void *src, size_t n)
{
    memcpy_job j = {dst, src, 0, n};
    int shares = shares_for(n, 64, fsd_pool_threads(pool), &j.per_share);
    fsd_pool_run(pool, run_memcpy, &j, shares);
}
