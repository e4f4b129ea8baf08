/*
 * test_xxh3_leaf.c — kernels/xxh3_leaf.cuh, the additive form of XXH3 that the pack kernels
 * will compute, against libxxhash (docs/frames.md):
 *  - fsd_xxh3_long_hash (stripes, then the last stripe, then the merge) equals XXH3_64bits for
 *    every length 241..1024, on random bytes;
 *  - a 1 KiB leaf summed value by value in any order, split over any number of partial
 *    accumulators (as threads would hold them) and joined, equals XXH3_64bits of the leaf;
 *  - fsd_xxh3_8b equals XXH3_64bits_withSeed of 8 bytes; the portable 64x64 fold equals the
 *    128-bit one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <xxhash.h>

#include "fsd_cases.h"
#include "xxh3_leaf.cuh"

static uint64_t g_seed;

static void every_length_241_to_1024(void **state)
{
    (void)state;
    fsdt_rng r;
    fsdt_rng_init(&r, g_seed, 1);
    unsigned char buf[1024];
    for (int round = 0; round < 8; round++) {
        fsdt_rng_fill(&r, buf, sizeof buf);
        if (round == 0)
            memset(buf, 0, sizeof buf); /* all-zero bytes: only the keys count */
        if (round == 1)
            memset(buf, 0xFF, sizeof buf);
        for (uint32_t len = 241; len <= 1024; len++) {
            uint64_t want = XXH3_64bits(buf, len), got = fsd_xxh3_long_hash(buf, len);
            if (got != want)
                fail_msg("round %d, length %u: additive form %016llx, XXH3_64bits %016llx", round,
                         len, (unsigned long long)got, (unsigned long long)want);
        }
    }
}

/* A leaf summed in a random order of its 128 values, over `parts` partial accumulators. */
static void leaf_in_parts(void **state)
{
    (void)state;
    fsdt_rng r;
    fsdt_rng_init(&r, g_seed, 2);
    unsigned char buf[FSD_XXH3_LEAF_BYTES];
    for (int round = 0; round < 200; round++) {
        fsdt_rng_fill(&r, buf, sizeof buf);
        int parts = (int)fsdt_rng_range(&r, 1, 32);
        fsd_xxh3_acc acc[32];
        for (int p = 0; p < parts; p++)
            fsd_xxh3_acc_zero(&acc[p]);
        uint32_t pos[128];
        for (uint32_t i = 0; i < 128; i++)
            pos[i] = 8 * i;
        for (uint32_t i = 127; i > 0; i--) { /* shuffle */
            uint32_t j = (uint32_t)fsdt_rng_range(&r, 0, i), t = pos[i];
            pos[i] = pos[j];
            pos[j] = t;
        }
        for (uint32_t i = 0; i < 128; i++)
            fsd_xxh3_leaf_add(&acc[fsdt_rng_range(&r, 0, parts - 1)], pos[i],
                              fsd_xxh3_load64(buf + pos[i]));
        for (int p = 1; p < parts; p++)
            fsd_xxh3_acc_sum(&acc[0], &acc[p]);
        uint64_t want = XXH3_64bits(buf, sizeof buf), got = fsd_xxh3_merge(&acc[0], FSD_XXH3_LEAF_BYTES);
        if (got != want)
            fail_msg("round %d (%d parts): %016llx, XXH3_64bits %016llx", round, parts,
                     (unsigned long long)got, (unsigned long long)want);
    }
}

/* A 16-byte word of a leaf holds two values: lanes 2i and 2i + 1 of one stripe. */
static void sixteen_byte_words(void **state)
{
    (void)state;
    fsdt_rng r;
    fsdt_rng_init(&r, g_seed, 3);
    unsigned char buf[FSD_XXH3_LEAF_BYTES];
    fsdt_rng_fill(&r, buf, sizeof buf);
    fsd_xxh3_acc a;
    fsd_xxh3_acc_zero(&a);
    for (uint32_t w = 0; w < FSD_XXH3_LEAF_BYTES; w += 16) {
        fsd_xxh3_leaf_add(&a, w, fsd_xxh3_load64(buf + w));
        fsd_xxh3_leaf_add(&a, w + 8, fsd_xxh3_load64(buf + w + 8));
    }
    assert_true(fsd_xxh3_merge(&a, FSD_XXH3_LEAF_BYTES) == XXH3_64bits(buf, sizeof buf));
}

static void eight_bytes_seeded(void **state)
{
    (void)state;
    fsdt_rng r;
    fsdt_rng_init(&r, g_seed, 4);
    const uint64_t edges[] = {0, 1, 0xFFFFFFFFull, 0x100000000ull, UINT64_MAX, 0x8000000000000000ull};
    for (int i = 0; i < 200000; i++) {
        uint64_t v = i < 36 ? edges[i % 6] : fsdt_rng_next(&r);
        uint64_t seed = i < 36 ? edges[i / 6] : i % 3 == 0 ? (uint64_t)i : fsdt_rng_next(&r);
        unsigned char b[8];
        for (int k = 0; k < 8; k++)
            b[k] = (unsigned char)(v >> (8 * k));
        uint64_t want = XXH3_64bits_withSeed(b, 8, seed), got = fsd_xxh3_8b(v, seed);
        if (got != want)
            fail_msg("v %016llx seed %016llx: %016llx, XXH3_64bits_withSeed %016llx",
                     (unsigned long long)v, (unsigned long long)seed, (unsigned long long)got,
                     (unsigned long long)want);
    }
}

static void portable_fold(void **state)
{
    (void)state;
    fsdt_rng r;
    fsdt_rng_init(&r, g_seed, 5);
    for (int i = 0; i < 100000; i++) {
        uint64_t a = fsdt_rng_next(&r), b = i % 7 == 0 ? UINT64_MAX : fsdt_rng_next(&r);
        assert_true(fsd_xxh3_mul_fold_portable(a, b) == fsd_xxh3_mul_fold(a, b));
    }
}

int main(void)
{
    g_seed = fsdt_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_length_241_to_1024), cmocka_unit_test(leaf_in_parts),
        cmocka_unit_test(sixteen_byte_words),       cmocka_unit_test(eight_bytes_seeded),
        cmocka_unit_test(portable_fold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
