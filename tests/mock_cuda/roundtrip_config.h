/*
 * roundtrip_config.h — the settings of a run of the round-trip checks: the environment
 * variables (seed, case counts, schedules per case, one case) and the small contexts every
 * case runs through. Part of roundtrip_checks.h: include that, not this.
 */
#ifndef ROUNDTRIP_CONFIG_H
#define ROUNDTRIP_CONFIG_H

#define NCTX 4

static uint64_t g_seed;
static long g_first, g_cases, g_edges, g_reps;

/* The run's settings from the environment: FSD_TEST_SEED, FSD_TEST_CASES (random cases),
 * FSD_TEST_EDGES (chunk-edge cases; a reduced FSD_TEST_CASES, as under valgrind or the
 * sanitizers, reduces them too), FSD_TEST_REPS (schedules per case), FSD_TEST_CASE (one). */
static void rt_read_env(void)
{
    g_seed = fsdt_seed();
    g_cases = fsdt_env_long("FSD_TEST_CASES", 160);
    g_edges = fsdt_env_long("FSD_TEST_EDGES", g_cases < 120 ? g_cases : 120);
    g_reps = fsdt_env_long("FSD_TEST_REPS", 3);
    long only = fsdt_env_long("FSD_TEST_CASE", -1);
    if (only >= 0) {
        g_first = only;
        g_cases = g_edges = 1;
    }
}

static const struct {
    size_t chunk;
    int chunks, threads;
} CONFIGS[NCTX] = {{4096, 2, 1}, {8192, 3, 2}, {4096, 4, 3}, {8192, 2, 3}};

#endif
