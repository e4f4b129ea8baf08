/*
 * test_frame_leaf.c — host/frame/frame_leaf_*.c, the copy that hashes 1 KiB leaves on the way,
 * against libxxhash (frame_ref.h's definition of a leaf's term):
 *  - one leaf of random, all-zero and all-0xFF bytes, at every source misalignment 0..63, hashes
 *    to XXH3_64bits of its 1024 bytes (through the index-keyed term);
 *  - random lengths (0 to 40 KiB, whole leaves and not), first leaf indices, source and
 *    destination misalignments 0..63, ordinary and streaming stores, and hash only (dst NULL):
 *    the sum equals the reference and the bytes equal the source, with the guards around the
 *    destination intact.
 *  - leaves whose 64-byte stripes lie at their own addresses (random, on 64-byte lines and
 *    not): gathered into a packed buffer and scattered from one, streaming and not, the sum and
 *    the bytes equal the reference and nothing else is written.
 * The AVX2 loop runs where the CPU has AVX2 (it says when it does not); the portable form and
 * the dispatcher always run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cpu_simd.h"
#include "fastserde.h"
#include "frame_leaf.h"
#include "frame_ref.h"
#include "fsd_cases.h"

static uint64_t g_seed;

typedef uint64_t (*copy_fn)(char *, const char *, uint64_t, uint64_t, int);

static const struct {
    const char *name;
    copy_fn fn;
    int avx2;
} g_fns[] = {
    {"avx2", fsd_frame_copy_leaves_avx2, 1},
    {"portable", fsd_frame_copy_leaves_portable, 0},
    {"dispatch", fsd_frame_copy_leaves, 0},
};
#define NFNS (sizeof g_fns / sizeof g_fns[0])

static int runs(size_t f)
{
    return !g_fns[f].avx2 || fsd_frame_have_avx2();
}

static void one_leaf(void **state)
{
    (void)state;
    fsdt_rng r;
    fsdt_rng_init(&r, g_seed, 1);
    unsigned char *buf = malloc(1024 + 64);
    assert_non_null(buf);
    if (!fsd_frame_have_avx2())
        printf("  (no AVX2 on this CPU: the AVX2 loop is not tested)\n");
    for (int round = 0; round < 300; round++) {
        unsigned mis = (unsigned)(round % 64);
        unsigned char *leaf = buf + mis;
        fsdt_rng_fill(&r, leaf, 1024);
        if (round == 0)
            memset(leaf, 0, 1024);
        if (round == 1)
            memset(leaf, 0xFF, 1024);
        uint64_t k = fsdt_rng_next(&r);
        unsigned char b[8];
        fsdt_le64(b, XXH3_64bits(leaf, 1024));
        uint64_t want = XXH3_64bits_withSeed(b, 8, k);
        for (size_t f = 0; f < NFNS; f++) {
            if (!runs(f))
                continue;
            uint64_t got = g_fns[f].fn(NULL, (const char *)leaf, 1024, k, 0);
            if (got != want)
                fail_msg("%s, round %d, source at +%u: %016llx, reference %016llx", g_fns[f].name,
                         round, mis, (unsigned long long)got, (unsigned long long)want);
        }
    }
    free(buf);
}

static void copies(void **state)
{
    (void)state;
    fsdt_rng r;
    fsdt_rng_init(&r, g_seed, 2);
    enum { MAX = 40 << 10 };
    unsigned char *src_buf = malloc(MAX + 64);
    assert_non_null(src_buf);
    for (int round = 0; round < 600; round++) {
        uint64_t n;
        switch (round % 4) {
        case 0: n = 1024 * (uint64_t)fsdt_rng_range(&r, 0, MAX / 1024); break;
        case 1: n = (uint64_t)fsdt_rng_range(&r, 0, 2100); break;
        default: n = (uint64_t)fsdt_rng_range(&r, 0, MAX); break;
        }
        unsigned smis = (unsigned)fsdt_rng_range(&r, 0, 63);
        unsigned dmis = round < 64 ? (unsigned)round : (unsigned)fsdt_rng_range(&r, 0, 63);
        int stream = (int)fsdt_rng_range(&r, 0, 2); /* 2: hash only */
        uint64_t first = round % 3 == 0 ? 0 : (uint64_t)fsdt_rng_range(&r, 0, 1 << 20);
        unsigned char *src = src_buf + smis;
        fsdt_rng_fill(&r, src, n);
        uint64_t want = fsdt_ref_leaves(src, n, first);
        for (size_t f = 0; f < NFNS; f++) {
            if (!runs(f))
                continue;
            unsigned char *g = fsdt_guarded_alloc(n + dmis, 0xA5);
            char *dst = stream == 2 ? NULL : (char *)g + dmis;
            uint64_t got = g_fns[f].fn(dst, (const char *)src, n, first, stream == 1);
            fsd_cpu_stream_fence();
            if (got != want)
                fail_msg("%s: %llu bytes, first leaf %llu, source +%u, destination +%u, %s: sum "
                         "%016llx, reference %016llx",
                         g_fns[f].name, (unsigned long long)n, (unsigned long long)first, smis,
                         dmis, stream == 2 ? "hash only" : stream ? "streaming" : "ordinary",
                         (unsigned long long)got, (unsigned long long)want);
            if (dst != NULL) {
                long d = fsdt_first_diff((const unsigned char *)dst, src, n);
                if (d >= 0)
                    fail_msg("%s: %llu bytes, destination +%u, %s: byte %ld differs", g_fns[f].name,
                             (unsigned long long)n, dmis, stream ? "streaming" : "ordinary", d);
            }
            if (!fsdt_all_equal(g, dst == NULL ? n + dmis : dmis, 0xA5) ||
                !fsdt_guards_intact(g, n + dmis))
                fail_msg("%s: %llu bytes, destination +%u: written outside the range",
                         g_fns[f].name, (unsigned long long)n, dmis);
            fsdt_guarded_free(g);
        }
    }
    free(src_buf);
}

typedef uint64_t (*stripes_fn)(char *, char *const *, char *const *, uint64_t, uint64_t, int, int);

static const struct {
    const char *name;
    stripes_fn fn;
    int avx2;
} g_sfns[] = {
    {"avx2", fsd_frame_stripes_avx2, 1},
    {"portable", fsd_frame_stripes_portable, 0},
    {"dispatch", fsd_frame_stripes, 0},
};

/* Stripe i of a random leaf set lives in slot i of `wide` (128 bytes a slot, the stripes in a
 * random order of the slots), at offset 0 (aligned) or 0..63 into the slot. */
static void stripes(void **state)
{
    (void)state;
    fsdt_rng r;
    fsdt_rng_init(&r, g_seed, 3);
    enum { LEAVES = 8, NS = 16 * LEAVES, SLOT = 128 };
    unsigned char *packed = malloc(LEAVES * 1024 + 64), *wide = malloc(NS * SLOT + 64);
    unsigned char *want_wide = malloc(NS * SLOT + 64);
    unsigned char *gpacked = fsdt_guarded_alloc(LEAVES * 1024 + 64, 0xA5);
    assert_true(packed && wide && want_wide && gpacked);
    char *sp[NS];
    uint32_t slot[NS];
    for (int round = 0; round < 400; round++) {
        uint64_t nleaves = (uint64_t)fsdt_rng_range(&r, 0, LEAVES), first = fsdt_rng_next(&r) >> 20;
        int aligned = round % 2, pack = (round / 2) % 2, stream = (round / 4) % 2;
        unsigned pmis = aligned ? 0 : (unsigned)fsdt_rng_range(&r, 0, 63);
        for (uint32_t i = 0; i < NS; i++)
            slot[i] = i;
        for (uint32_t i = NS - 1; i > 0; i--) {
            uint32_t j = (uint32_t)fsdt_rng_range(&r, 0, i), t = slot[i];
            slot[i] = slot[j];
            slot[j] = t;
        }
        unsigned char *wbase = wide + (64 - ((uintptr_t)wide & 63)) % 64; /* on a line */
        for (uint32_t i = 0; i < NS; i++)
            sp[i] = (char *)wbase + SLOT * slot[i] + (aligned ? 0 : fsdt_rng_range(&r, 0, 63));
        for (size_t f = 0; f < sizeof g_sfns / sizeof g_sfns[0]; f++) {
            if (g_sfns[f].avx2 && !fsd_frame_have_avx2())
                continue;
            char *q = (char *)gpacked + pmis;
            uint64_t n = nleaves * 1024;
            fsdt_rng_fill(&r, wide, NS * SLOT + 64);
            memcpy(want_wide, wide, NS * SLOT + 64);
            memset(gpacked, 0xA5, LEAVES * 1024 + 64);
            if (pack) {
                for (uint64_t i = 0; i < 16 * nleaves; i++)
                    memcpy(packed + 64 * i, sp[i], 64);
            } else {
                fsdt_rng_fill(&r, packed, n);
                memcpy(q, packed, n);
                for (uint64_t i = 0; i < 16 * nleaves; i++)
                    memcpy(want_wide + (sp[i] - (char *)wide), packed + 64 * i, 64);
            }
            uint64_t want = fsdt_ref_leaves(packed, n, first);
            uint64_t got = g_sfns[f].fn(q, sp, round % 3 ? sp : NULL, nleaves, first, pack, stream);
            fsd_cpu_stream_fence();
            const char *how = pack ? "gather" : "scatter";
            if (got != want)
                fail_msg("%s %s, %llu leaves, %s, %s: sum %016llx, reference %016llx",
                         g_sfns[f].name, how, (unsigned long long)nleaves,
                         aligned ? "on lines" : "off lines", stream ? "streaming" : "ordinary",
                         (unsigned long long)got, (unsigned long long)want);
            if (pack && (fsdt_first_diff((unsigned char *)q, packed, n) >= 0 ||
                         !fsdt_all_equal(gpacked, pmis, 0xA5) ||
                         !fsdt_all_equal((unsigned char *)q + n, LEAVES * 1024 + 64 - pmis - n, 0xA5) ||
                         memcmp(wide, want_wide, NS * SLOT + 64) != 0))
                fail_msg("%s gather, %llu leaves: bytes differ", g_sfns[f].name,
                         (unsigned long long)nleaves);
            if (!pack && memcmp(wide, want_wide, NS * SLOT + 64) != 0)
                fail_msg("%s scatter, %llu leaves, %s, %s: bytes differ", g_sfns[f].name,
                         (unsigned long long)nleaves, aligned ? "on lines" : "off lines",
                         stream ? "streaming" : "ordinary");
        }
    }
    fsdt_guarded_free(gpacked);
    free(want_wide);
    free(wide);
    free(packed);
}

int main(void)
{
    g_seed = fsdt_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_leaf),
        cmocka_unit_test(copies),
        cmocka_unit_test(stripes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
