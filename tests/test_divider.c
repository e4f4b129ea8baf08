/*
 * test_divider.c — the multiply-and-shift division of host/core/divider.h against the `/` operator:
 * every divisor 1..5000, powers of two and their neighbours, seeded random 32- and 64-bit
 * divisors; for each, the numerators 0, 1, d-1, d, d+1, k*d-1, k*d, k*d+1 for small and the
 * largest k, the type's maximum and its neighbours, and random ones.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>

#include "divider.h"
#include "fsd_cases.h"

static uint64_t g_seed;
static long g_failures;

static void report64(uint64_t d, uint64_t n, uint64_t got)
{
    if (g_failures++ < 20)
        printf("FAIL: fsd_div64(%" PRIu64 ", %" PRIu64 ") = %" PRIu64 ", expected %" PRIu64
               " (seed %" PRIu64 ")\n", n, d, got, n / d, g_seed);
}

static void report32(uint64_t d, uint32_t n, uint32_t got)
{
    if (g_failures++ < 20)
        printf("FAIL: fsd_div32(%" PRIu32 ", %" PRIu64 ") = %" PRIu32 ", expected %" PRIu64
               " (seed %" PRIu64 ")\n", n, d, got, n / d, g_seed);
}

static void check64(const fsd_divider *dv, uint64_t n)
{
    uint64_t got = fsd_div64(dv, n);
    if (got != n / dv->divisor)
        report64(dv->divisor, n, got);
}

static void check32(const fsd_divider *dv, uint32_t n)
{
    uint32_t got = fsd_div32(dv, n);
    if (got != n / dv->divisor)
        report32(dv->divisor, n, got);
}

/* The numerators near multiples of d that are interesting for 64-bit n. */
static void sweep64(uint64_t d, fsdt_rng *r)
{
    fsd_divider dv;
    fsd_divider_init(&dv, d);
    if (dv.divisor != d)
        fail_msg("fsd_divider_init(%" PRIu64 ") stored divisor %" PRIu64, d, dv.divisor);
    uint64_t kmax = UINT64_MAX / d;
    uint64_t ks[] = {0, 1, 2, 3, 7, 1000, kmax / 2, kmax - 1, kmax};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        if (ks[i] > kmax)
            continue;
        uint64_t m = ks[i] * d;
        check64(&dv, m);
        if (m > 0)
            check64(&dv, m - 1);
        if (m < UINT64_MAX)
            check64(&dv, m + 1);
        if (m <= UINT64_MAX - (d - 1))
            check64(&dv, m + (d - 1));
    }
    check64(&dv, UINT64_MAX);
    check64(&dv, UINT64_MAX - 1);
    check64(&dv, (uint64_t)INT64_MAX);
    check64(&dv, (uint64_t)1 << 63);
    for (int i = 0; i < 16; i++) {
        check64(&dv, fsdt_rng_next(r));
        check64(&dv, fsdt_rng_next(r) >> fsdt_rng_range(r, 1, 63));
    }
}

static void sweep32(uint64_t d, fsdt_rng *r)
{
    fsd_divider dv;
    fsd_divider_init(&dv, d);
    uint32_t kmax = (uint32_t)(UINT32_MAX / d);
    uint32_t ks[] = {0, 1, 2, 3, 7, 1000, kmax / 2, kmax - 1, kmax};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        if (ks[i] > kmax)
            continue;
        uint32_t m = (uint32_t)(ks[i] * d);
        check32(&dv, m);
        if (m > 0)
            check32(&dv, m - 1);
        if (m < UINT32_MAX)
            check32(&dv, m + 1);
        if ((uint64_t)m + (d - 1) <= UINT32_MAX)
            check32(&dv, (uint32_t)(m + (d - 1)));
    }
    check32(&dv, UINT32_MAX);
    check32(&dv, UINT32_MAX - 1);
    check32(&dv, (uint32_t)1 << 31);
    for (int i = 0; i < 16; i++) {
        check32(&dv, (uint32_t)fsdt_rng_next(r));
        check32(&dv, (uint32_t)fsdt_rng_next(r) >> fsdt_rng_range(r, 1, 31));
    }
}

static void finish(const char *what)
{
    if (g_failures > 0)
        fail_msg("%s: %ld wrong quotients (seed %" PRIu64 ")", what, g_failures, g_seed);
}

static void test_small_divisors(void **state)
{
    (void)state;
    fsdt_rng r;
    fsdt_rng_init(&r, g_seed, 1);
    g_failures = 0;
    for (uint64_t d = 1; d <= 5000; d++) {
        sweep32(d, &r);
        sweep64(d, &r);
    }
    /* every numerator below 2^16 for the first divisors */
    for (uint64_t d = 1; d <= 64; d++) {
        fsd_divider dv;
        fsd_divider_init(&dv, d);
        for (uint32_t n = 0; n < (1u << 16); n++) {
            check32(&dv, n);
            check64(&dv, n);
        }
    }
    finish("divisors 1..5000");
}

static void test_powers_of_two(void **state)
{
    (void)state;
    fsdt_rng r;
    fsdt_rng_init(&r, g_seed, 2);
    g_failures = 0;
    for (int k = 0; k < 64; k++) {
        uint64_t p = (uint64_t)1 << k;
        uint64_t ds[3] = {p - 1, p, p + 1};
        for (int j = 0; j < 3; j++) {
            if (ds[j] == 0)
                continue;
            sweep64(ds[j], &r);
            if (ds[j] <= UINT32_MAX)
                sweep32(ds[j], &r);
        }
    }
    sweep64(UINT64_MAX, &r);
    sweep64(UINT64_MAX - 1, &r);
    sweep64((uint64_t)INT64_MAX, &r);
    sweep32(UINT32_MAX, &r);
    sweep32(UINT32_MAX - 1, &r);
    finish("powers of two");
}

static void test_random_divisors(void **state)
{
    (void)state;
    fsdt_rng r;
    fsdt_rng_init(&r, g_seed, 3);
    g_failures = 0;
    for (int i = 0; i < 20000; i++) {
        uint64_t d64 = fsdt_rng_next(&r) >> fsdt_rng_range(&r, 0, 63);
        if (d64 == 0)
            d64 = 1;
        sweep64(d64, &r);
        uint64_t d32 = (fsdt_rng_next(&r) >> 32) >> fsdt_rng_range(&r, 0, 31);
        if (d32 == 0)
            d32 = 1;
        sweep32(d32, &r);
    }
    finish("random divisors");
}

int main(void)
{
    g_seed = fsdt_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_divisors),
        cmocka_unit_test(test_powers_of_two),
        cmocka_unit_test(test_random_divisors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
