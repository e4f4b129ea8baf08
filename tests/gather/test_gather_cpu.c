/*
 * test_gather_cpu.c — paged gathers and scatters of host caches through the public API, checked
 * against the naive reference (kv_cases.h) over seeded random caches of every family: on the
 * calling thread and on a context's threads, the run list of fsd_gather_runs, and large chunks
 * that take the threaded and streaming paths.
 *
 * FSD_TEST_SEED replays a run, FSD_TEST_CASES sets the number of random cases (600),
 * FSD_TEST_CASE runs one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fastserde.h"
#include "fsdt_expect.h"
#include "kv_cases.h"

/* Runs through fsd_gather / fsd_scatter with the options in arg (may be NULL). */
static fsd_status run_api(void *arg, kvt_case *c, unsigned char *packed, size_t size, int gather)
{
    const fsd_gather_options *o = arg;
    if (gather)
        return fsd_gather(&c->kv, &c->slots, kvt_order(c), packed, size, o, NULL);
    return fsd_scatter(packed, size, &c->kv, &c->slots, kvt_order(c), o, NULL);
}

/* Cases [first, last) of the run: each a gather or a scatter, with and without a context. */
static void run_cases(fsd_context *ctx)
{
    const uint64_t seed = fsdt_seed();
    long n = fsdt_env_long("FSD_TEST_CASES", 600), one = fsdt_env_long("FSD_TEST_CASE", -1);
    fsd_gather_options o = FSD_GATHER_OPTIONS_INIT;
    o.context = ctx;
    int bad = 0, per_family[KVT_FAMILY_COUNT] = {0};
    for (long i = one >= 0 ? one : 0; i < (one >= 0 ? one + 1 : n); i++) {
        kvt_case c;
        const int scatter = (int)(i % 3 == 2);
        kvt_case_make(&c, seed, (int)i, -1, scatter ? KVT_SCATTER : 0);
        per_family[c.family]++;
        void *arg = ctx ? (void *)&o : (i % 2 ? (void *)&o : NULL);
        bad += scatter ? kvt_check_scatter(&c, run_api, arg, "cpu scatter")
                       : kvt_check_gather(&c, run_api, arg, "cpu gather");
        kvt_case_free(&c);
    }
    printf("cases per family:");
    for (int f = 0; f < KVT_FAMILY_COUNT; f++)
        printf(" %s %d", kvt_family_name((kvt_family)f), per_family[f]);
    printf("\n");
    if (bad)
        fail_msg("%d failed checks (seed %llu)", bad, (unsigned long long)seed);
}

static void test_random_cases(void **state)
{
    (void)state;
    run_cases(NULL);
}

static void test_random_cases_context(void **state)
{
    (void)state;
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.cpu_threads = 3;
    fsd_context *ctx = NULL;
    EXPECT(fsd_context_create(&ctx, &cfg), FSD_SUCCESS);
    run_cases(ctx);
    fsd_context_destroy(ctx);
}

/* fsd_gather_runs lists exactly the maximal contiguous runs, and applying them is the gather
 * (and, reversed, the scatter). */
static void test_run_list(void **state)
{
    (void)state;
    const uint64_t seed = fsdt_seed();
    long n = fsdt_env_long("FSD_TEST_CASES", 600) / 2;
    int bad = 0;
    for (long i = 0; i < n; i++) {
        kvt_case c;
        kvt_case_make(&c, seed, (int)(100000 + i), -1, i % 2 ? KVT_SCATTER : 0);
        size_t want = kvt_reference_runs(&c), count = 0;
        unsigned char *dst = fsdt_guarded_alloc(c.packed_size, 0x5A);
        unsigned char *expect = malloc(c.packed_size ? c.packed_size : 1);
        memset(expect, 0x5A, c.packed_size);
        kvt_reference_gather(&c, c.storage, expect);
        EXPECT(fsd_gather_runs(&c.kv, &c.slots, kvt_order(&c), FSD_KV_GATHER, dst, NULL, 0, &count),
               FSD_SUCCESS);
        if (count != want) {
            printf("FAIL: %zu runs listed, %zu maximal runs\n      %s\n", count, want, c.desc);
            bad++;
        }
        fsd_copy_run *runs = calloc(count ? count : 1, sizeof *runs);
        if (count > 0) {
            fsd_copy_run before = runs[count - 1];
            EXPECT(fsd_gather_runs(&c.kv, &c.slots, kvt_order(&c), FSD_KV_GATHER, dst, runs, count - 1,
                                   &count),
                   FSD_ERROR_SIZE_MISMATCH);
            assert_memory_equal(&before, &runs[count - 1], sizeof before);
        }
        EXPECT(fsd_gather_runs(&c.kv, &c.slots, kvt_order(&c), FSD_KV_GATHER, dst, runs, count, &count),
               FSD_SUCCESS);
        for (size_t k = 0; k < count; k++)
            memcpy(runs[k].dst, runs[k].src, runs[k].bytes);
        if (fsdt_first_diff(dst, expect, c.packed_size) >= 0 || !fsdt_guards_intact(dst, c.packed_size)) {
            printf("FAIL: the listed runs do not make the gather\n      %s\n", c.desc);
            bad++;
        }
        /* Scatter: the same runs, the other way. */
        EXPECT(fsd_gather_runs(&c.kv, &c.slots, kvt_order(&c), FSD_KV_SCATTER, dst, runs, count, &count),
               FSD_SUCCESS);
        for (size_t k = 0; k < count; k++)
            if (runs[k].src < (const void *)dst || runs[k].src >= (const void *)(dst + c.packed_size))
                bad++, printf("FAIL: a scatter run does not read the packed buffer\n      %s\n", c.desc);
        free(runs);
        free(expect);
        fsdt_guarded_free(dst);
        kvt_case_free(&c);
    }
    if (bad)
        fail_msg("%d failed checks (seed %llu)", bad, (unsigned long long)seed);
}

/* Chunks of several MiB: the context's threads split them, and the stores stream from 8 MiB. */
static void test_large_chunks(void **state)
{
    (void)state;
    const uint64_t seed = fsdt_seed();
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.cpu_threads = 2;
    fsd_context *ctx = NULL;
    EXPECT(fsd_context_create(&ctx, &cfg), FSD_SUCCESS);
    fsd_gather_options o = FSD_GATHER_OPTIONS_INIT;
    o.context = ctx;
    int bad = 0;
    for (int i = 0; i < 6; i++) {
        kvt_case c;
        const int family = i % 3 == 0 ? KVT_SGLANG : i % 3 == 1 ? KVT_VLLM_FLASH : KVT_FLASHINFER;
        kvt_case_make(&c, seed, 200000 + i, family, KVT_LARGE | (i >= 3 ? KVT_SCATTER : 0));
        assert_true(c.packed_size >= ((size_t)8 << 20));
        bad += i >= 3 ? kvt_check_scatter(&c, run_api, &o, "large scatter")
                      : kvt_check_gather(&c, run_api, &o, "large gather");
        kvt_case_free(&c);
    }
    if (bad)
        fail_msg("%d failed checks (seed %llu)", bad, (unsigned long long)seed);
    fsd_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_cases),
        cmocka_unit_test(test_random_cases_context),
        cmocka_unit_test(test_run_list),
        cmocka_unit_test(test_large_chunks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
