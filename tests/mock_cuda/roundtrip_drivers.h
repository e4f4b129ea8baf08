/*
 * roundtrip_drivers.h — the case drivers: every check of a case under g_reps schedules, with
 * the runtime's counts (misuses, pageable copies, allocations left) compared around it, and the
 * two tests that run them over the random layouts and the chunk-edge layouts. Part of
 * roundtrip_checks.h: include that, not this.
 */
#ifndef ROUNDTRIP_DRIVERS_H
#define ROUNDTRIP_DRIVERS_H

#include "roundtrip_case_checks.h"
#include "roundtrip_edge_cases.h"

/* All checks of a case, under g_reps schedules. ci >= 0 fixes the context. */
static void run_case(report *rep, env *e, const fsdt_case *c, int ci)
{
    for (long k = 0; k < g_reps; k++) {
        fsdt_rng r;
        fsdt_rng_init(&r, c->seed ^ 0x6d6f636bu, (uint64_t)c->index * 16u + (uint64_t)k);
        env_pick(e, &r, ci, (int)k, c);
        rt_counts s0, s1;
        int counted = rt_get_counts(&s0);
        check_pack_to_host(rep, c, e, &r);
        check_unpack_from_host(rep, c, e, &r);
        if (k == 0)
            check_device_pack_unpack(rep, c, e, &r);
        if (k == 1 || fsdt_rng_range(&r, 0, 7) == 0)
            check_serde(rep, c, e, &r);
        free_later();
        if (!counted || !rt_get_counts(&s1))
            continue;
        if (s1.violations != s0.violations)
            fail_case(rep, c, e, "%ld misuses of the CUDA runtime (printed above)",
                      s1.violations - s0.violations);
        if (s1.pageable_copies != s0.pageable_copies)
            fail_case(rep, c, e, "%ld asynchronous copies with pageable host memory",
                      s1.pageable_copies - s0.pageable_copies);
        if (s1.device_allocs != s0.device_allocs || s1.pinned_allocs != s0.pinned_allocs)
            fail_case(rep, c, e, "allocations left: %ld device, %ld pinned",
                      s1.device_allocs - s0.device_allocs, s1.pinned_allocs - s0.pinned_allocs);
    }
}

static void finish(const report *rep, const char *what, long n)
{
    rt_counts st;
    if (rt_get_counts(&st))
        printf("%s: %ld layouts x %ld schedules; so far %ld ops run, %ld of them kernels\n", what,
               n, g_reps, st.executed_ops, st.kernels);
    if (rep->failures > 0)
        fail_msg("%s: %ld of %ld cases failed (seed %llu)", what, rep->failed_cases, n,
                 (unsigned long long)g_seed);
}

/* ------------------------------------------------------------------------------------------ */

static void test_random_cases(void **state)
{
    (void)state;
    env e;
    env_open(&e);
    report rep = {0};
    for (long i = g_first; i < g_first + g_cases; i++) {
        fsdt_case c;
        fsdt_case_make(&c, g_seed, (int)i);
        run_case(&rep, &e, &c, -1);
        fsdt_case_free(&c);
    }
    env_close(&e);
    finish(&rep, "random layouts", g_cases);
}

static void test_chunk_edges(void **state)
{
    (void)state;
    env e;
    env_open(&e);
    report rep = {0};
    for (long i = g_first; i < g_first + g_edges; i++) {
        int ci = (int)(i % NCTX);
        fsdt_case c;
        edge_case(&c, (int)i, CONFIGS[ci].chunk);
        run_case(&rep, &e, &c, ci);
        fsdt_case_free(&c);
    }
    env_close(&e);
    finish(&rep, "chunk edges", g_edges);
}

#endif
