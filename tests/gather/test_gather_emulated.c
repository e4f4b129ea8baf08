/*
 * test_gather_emulated.c — the paged-gather kernel's step function on the emulated grid
 * (tests/kernels/emulated_gather.h), over the random caches of kv_cases.h described as CUDA
 * tensors (their memory stays host memory): every block and thread of the grid the plan chose,
 * for grids of 1..8 multiprocessors and capped block counts, 32- and 64-bit indices, layer bases
 * off a 16-byte boundary (the kernel's byte fallback), and slots past the cache, which the
 * kernel must skip and count.
 *
 * FSD_TEST_SEED replays a run, FSD_TEST_CASES sets the number of cases (600), FSD_TEST_CASE
 * runs one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "emulated_gather.h"
#include "fastserde.h"
#include "fsdt_expect.h"
#include "gather_plan.h"
#include "kv_cases.h"
#include "kv_layout.h"

typedef struct emu_run {
    uint32_t sms;
    int max_blocks, index64;
    unsigned long long invalid; /* the kernel's counter */
    int paths[2][2];            /* plans seen: [lane_words > 1][ndim unrolled] */
} emu_run;

static fsd_status run_emulated(void *arg, kvt_case *c, unsigned char *packed, size_t size, int gather)
{
    emu_run *e = arg;
    (void)size;
    fsd_gather_options o = FSD_GATHER_OPTIONS_INIT;
    o.engine = FSD_ENGINE_KERNEL;
    fsd_kv kv;
    fsd_status st = fsd_kv_from_args(&c->kv, &c->slots, kvt_order(c), &o, &kv);
    if (st != FSD_SUCCESS || kv.total_bytes == 0)
        return st;
    if (kv.engine != FSD_KV_KERNEL)
        return FSD_ERROR_INTERNAL;
    fsd_gather_plan p;
    fsd_gather_plan_build(&kv, packed, gather ? FSD_DIR_PACK : FSD_DIR_UNPACK, &e->invalid, e->sms,
                          e->max_blocks, &p);
    if (e->max_blocks > 0 && p.grid > (uint32_t)e->max_blocks)
        return FSD_ERROR_INTERNAL;
    e->paths[p.lane_words > 1][p.ndim == FSD_GATHER_UNROLLED_DIMS]++;
    fsdt_emulate_gather(&p, e->index64);
    return FSD_SUCCESS;
}

/* Slots past the cache in case c (the counter's expected value). */
static unsigned long long invalid_slots(const kvt_case *c)
{
    unsigned long long n = 0;
    for (int64_t t = 0; t < c->tokens; t++)
        n += c->slot_values[t] >= 0 && (uint64_t)c->slot_values[t] >= c->slot_limit;
    return n;
}

static void test_random_cases(void **state)
{
    (void)state;
    const uint64_t seed = fsdt_seed();
    long n = fsdt_env_long("FSD_TEST_CASES", 600), one = fsdt_env_long("FSD_TEST_CASE", -1);
    fsdt_rng r;
    fsdt_rng_init(&r, seed, 0xe1e1);
    int bad = 0;
    long counted = 0;
    emu_run e = {0};
    for (long i = one >= 0 ? one : 0; i < (one >= 0 ? one + 1 : n); i++) {
        const int scatter = i % 3 == 2;
        int flags = scatter ? KVT_SCATTER : 0;
        if (i % 4 == 1)
            flags |= KVT_INVALID;
        if (i % 5 == 3)
            flags |= KVT_MISALIGN;
        kvt_case c;
        kvt_case_make(&c, seed, (int)i, -1, flags);
        kvt_case_set_device(&c, kDLCUDA, i % 2 ? kDLCUDA : kDLCUDAHost);
        e.sms = (uint32_t)fsdt_rng_range(&r, 1, 8);
        e.max_blocks = fsdt_rng_range(&r, 0, 2) ? 0 : (int)fsdt_rng_range(&r, 1, 3);
        e.index64 = (int)fsdt_rng_range(&r, 0, 1);
        e.invalid = 0;
        bad += scatter ? kvt_check_scatter(&c, run_emulated, &e, "emulated scatter")
                       : kvt_check_gather(&c, run_emulated, &e, "emulated gather");
        const unsigned long long want = c.packed_size ? invalid_slots(&c) : 0;
        if (e.invalid != want) {
            printf("FAIL: the kernel counted %llu slots past the cache, %llu expected\n      %s\n",
                   e.invalid, want, c.desc);
            bad++;
        }
        counted += want > 0;
        kvt_case_free(&c);
    }
    printf("emulated plans: lane_words 1 / 4 x unrolled no / yes: %d %d / %d %d; %ld cases with slots "
           "past the cache\n", e.paths[0][0], e.paths[0][1], e.paths[1][0], e.paths[1][1], counted);
    if (one < 0 && (e.paths[0][0] == 0 || e.paths[0][1] == 0 || counted == 0))
        fail_msg("the random cases missed the run-time-dims or unrolled plan, or slots past the cache");
    if (bad)
        fail_msg("%d failed checks (seed %llu)", bad, (unsigned long long)seed);
}

/* Real chunks: 16-byte words with four words per lane (long runs), the unrolled dims. */
static void test_large_chunks(void **state)
{
    (void)state;
    const uint64_t seed = fsdt_seed();
    int bad = 0;
    emu_run e = {132, 0, 0, 0, {{0}}};
    for (int i = 0; i < 4; i++) {
        kvt_case c;
        kvt_case_make(&c, seed, 300000 + i, i % 2 ? KVT_VLLM_FLASH : KVT_FLASHINFER,
                      KVT_LARGE | (i >= 2 ? KVT_SCATTER : 0));
        kvt_case_set_device(&c, kDLCUDA, kDLCUDA);
        bad += i >= 2 ? kvt_check_scatter(&c, run_emulated, &e, "emulated large scatter")
                      : kvt_check_gather(&c, run_emulated, &e, "emulated large gather");
        kvt_case_free(&c);
    }
    printf("emulated plans of the large chunks: lane_words 4, unrolled: %d\n", e.paths[1][1]);
    if (e.paths[1][1] == 0)
        fail_msg("no large chunk took the long-run plan (four words per lane)");
    if (bad)
        fail_msg("%d failed checks (seed %llu)", bad, (unsigned long long)seed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_cases),
        cmocka_unit_test(test_large_chunks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
