/*
 * test_pack_cpu.c — fsd_pack / fsd_unpack on host tensors against the naive reference of
 * fsd_cases.c, over a few thousand seeded random layouts.
 *
 *   FSD_TEST_SEED=<n>   replay a run (the seed is printed first)
 *   FSD_TEST_CASES=<n>  number of cases (default 3000)
 *   FSD_TEST_CASE=<i>   run only case i of the seed
 *
 * Every buffer the library writes has guard zones; for unpack the whole storage is compared
 * with the reference (so bytes outside the view must be unchanged). A failing case prints its
 * description (shape, strides, dtype, offset, seed); at most MAX_REPORTS are printed per test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastserde.h"
#include "fsd_cases.h"
#include "fsdt_report.h"

#define MAX_REPORTS 20
#define FILL 0x5A

static uint64_t g_seed;
static long g_first, g_count;

typedef fsdt_report report;

static void fail_case(report *rep, const fsdt_case *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fsdt_report_vfail(rep, MAX_REPORTS, c, "", NULL, 1, fmt, ap);
    va_end(ap);
}

static void finish(const report *rep, const char *what)
{
    if (rep->failures > 0)
        fail_msg("%s: %ld of %ld cases failed (seed %llu)", what, rep->failed_cases, g_count,
                 (unsigned long long)g_seed);
}

/* A second random stream for values a test draws itself (distinct from the case's). */
static void case_rng(fsdt_rng *r, const fsdt_case *c, uint64_t salt)
{
    fsdt_rng_init(r, c->seed ^ salt, (uint64_t)c->index);
}

/* The case's view over another copy of its storage. */
static DLTensor view_over(const fsdt_case *c, unsigned char *storage)
{
    DLTensor t = c->t;
    t.data = storage;
    return t;
}

static const char *st_name(fsd_status s) { return fsd_status_string(s); }

/* ------------------------------------------------------------------------------------------ */

static void pack_one(report *rep, const fsdt_case *c)
{
    fsdt_rng r;
    case_rng(&r, c, 0x9ac4);
    size_t packed = c->packed_size;
    size_t shift = (size_t)fsdt_rng_range(&r, 0, 15);          /* dst alignment */
    size_t extra = fsdt_rng_range(&r, 0, 2) ? (size_t)fsdt_rng_range(&r, 1, 17) : 0;
    size_t total = shift + packed + extra;
    unsigned char *buf = fsdt_guarded_alloc(total, FILL);
    unsigned char *dst = buf + shift;
    unsigned char *ref = malloc(packed + 1);
    unsigned char *orig = malloc(c->storage_size);
    memcpy(orig, c->storage, c->storage_size);
    fsdt_reference_pack(c, c->storage, ref);

    DLTensor t = c->t;
    if (fsdt_rng_range(&r, 0, 4) == 0)
        t.device.device_type = kDLCUDAHost; /* pinned host memory: the CPU path too */

    size_t n = 12345;
    fsd_status st = fsd_packed_size(&t, &n);
    if (st != FSD_SUCCESS || n != packed)
        fail_case(rep, c, "fsd_packed_size: status %s, size %zu, expected %zu", st_name(st), n,
                  packed);

    st = fsd_pack(&t, dst, packed + extra, NULL);
    long d;
    if (st != FSD_SUCCESS)
        fail_case(rep, c, "fsd_pack: expected FSD_SUCCESS, got %s", st_name(st));
    else if ((d = fsdt_first_diff(dst, ref, packed)) >= 0)
        fail_case(rep, c, "fsd_pack: packed byte %ld is 0x%02x, reference 0x%02x (element %zu)",
                  d, dst[d], ref[d], (size_t)d / c->elem_size);
    else if (!fsdt_all_equal(buf, shift, FILL) || !fsdt_all_equal(dst + packed, extra, FILL))
        fail_case(rep, c, "fsd_pack: wrote outside the packed size (dst_size %zu, packed %zu)",
                  packed + extra, packed);
    if (!fsdt_guards_intact(buf, total))
        fail_case(rep, c, "fsd_pack: guard bytes around dst overwritten");
    if (memcmp(orig, c->storage, c->storage_size) != 0)
        fail_case(rep, c, "fsd_pack: modified the source storage");

    /* one byte too small: rejected, nothing written */
    if (packed > 0 && fsdt_rng_range(&r, 0, 3) == 0) {
        memset(buf, FILL, total);
        st = fsd_pack(&t, dst, packed - 1, NULL);
        if (st != FSD_ERROR_SIZE_MISMATCH)
            fail_case(rep, c, "fsd_pack with dst_size %zu < %zu: expected "
                      "FSD_ERROR_SIZE_MISMATCH, got %s", packed - 1, packed, st_name(st));
        if (!fsdt_all_equal(buf, total, FILL) || !fsdt_guards_intact(buf, total))
            fail_case(rep, c, "fsd_pack with a too small dst wrote to it");
    }
    free(orig);
    free(ref);
    fsdt_guarded_free(buf);
}

static void unpack_one(report *rep, const fsdt_case *c)
{
    fsdt_rng r;
    case_rng(&r, c, 0x51ed);
    size_t packed = c->packed_size;
    size_t shift = (size_t)fsdt_rng_range(&r, 0, 15); /* src alignment */
    unsigned char *src_buf = fsdt_guarded_alloc(shift + packed, 0);
    unsigned char *src = src_buf + shift;
    fsdt_rng_fill(&r, src, packed);
    unsigned char *src_copy = malloc(packed + 1);
    memcpy(src_copy, src, packed);

    unsigned char *s = fsdt_guarded_alloc(c->storage_size, 0);
    memcpy(s, c->storage, c->storage_size);
    unsigned char *expect = malloc(c->storage_size);
    memcpy(expect, c->storage, c->storage_size);
    if (c->nests)
        fsdt_reference_unpack(c, src, expect);
    if (c->aliasing && c->nests)
        fail_case(rep, c, "test generator bug: overlapping view claims to nest");

    DLTensor t = view_over(c, s);
    fsd_status want = c->nests ? FSD_SUCCESS : FSD_ERROR_ALIASING;
    fsd_status st = fsd_unpack(src, packed, &t, NULL);
    long d;
    if (st != want)
        fail_case(rep, c, "fsd_unpack: expected %s, got %s", st_name(want), st_name(st));
    else if ((d = fsdt_first_diff(s, expect, c->storage_size)) >= 0)
        fail_case(rep, c, "fsd_unpack: storage byte %ld is 0x%02x, expected 0x%02x (%s)", d,
                  s[d], expect[d],
                  c->storage[d] == expect[d] ? "outside the view or unchanged" : "in the view");
    if (!fsdt_guards_intact(s, c->storage_size))
        fail_case(rep, c, "fsd_unpack: guard bytes around the storage overwritten");
    if (!fsdt_guards_intact(src_buf, shift + packed) || memcmp(src, src_copy, packed) != 0)
        fail_case(rep, c, "fsd_unpack: modified the packed source");

    /* src_size one off: rejected, nothing written */
    if (c->nests && fsdt_rng_range(&r, 0, 3) == 0) {
        memcpy(s, c->storage, c->storage_size);
        size_t bad = packed + (packed > 0 && fsdt_rng_range(&r, 0, 1) ? (size_t)-1 : 1u);
        st = fsd_unpack(src, bad, &t, NULL);
        if (st != FSD_ERROR_SIZE_MISMATCH)
            fail_case(rep, c, "fsd_unpack with src_size %zu != %zu: expected "
                      "FSD_ERROR_SIZE_MISMATCH, got %s", bad, packed, st_name(st));
        if (memcmp(s, c->storage, c->storage_size) != 0)
            fail_case(rep, c, "fsd_unpack with a wrong src_size wrote to the storage");
    }
    free(expect);
    fsdt_guarded_free(s);
    free(src_copy);
    fsdt_guarded_free(src_buf);
}

/* pack(storage) -> P; scramble the view's bytes; unpack(P) restores the storage exactly;
 * pack again gives P. */
static void roundtrip_one(report *rep, const fsdt_case *c)
{
    if (!c->nests)
        return;
    fsdt_rng r;
    case_rng(&r, c, 0x7717);
    size_t packed = c->packed_size;
    unsigned char *p = fsdt_guarded_alloc(packed, 0);
    unsigned char *p2 = fsdt_guarded_alloc(packed, 0);
    unsigned char *noise = malloc(packed + 1);
    unsigned char *s = fsdt_guarded_alloc(c->storage_size, 0);
    memcpy(s, c->storage, c->storage_size);
    fsdt_rng_fill(&r, noise, packed);
    fsdt_reference_unpack(c, noise, s);

    DLTensor src = c->t, dst = view_over(c, s);
    fsd_status st1 = fsd_pack(&src, p, packed, NULL);
    fsd_status st2 = fsd_unpack(p, packed, &dst, NULL);
    fsd_status st3 = fsd_pack(&dst, p2, packed, NULL);
    long d;
    if (st1 != FSD_SUCCESS || st2 != FSD_SUCCESS || st3 != FSD_SUCCESS)
        fail_case(rep, c, "round trip: statuses pack %s, unpack %s, pack %s", st_name(st1),
                  st_name(st2), st_name(st3));
    else if ((d = fsdt_first_diff(s, c->storage, c->storage_size)) >= 0)
        fail_case(rep, c, "round trip: unpack(pack(x)) differs from x at storage byte %ld", d);
    else if ((d = fsdt_first_diff(p, p2, packed)) >= 0)
        fail_case(rep, c, "round trip: pack(unpack(P)) differs from P at byte %ld", d);
    if (!fsdt_guards_intact(p, packed) || !fsdt_guards_intact(p2, packed) ||
        !fsdt_guards_intact(s, c->storage_size))
        fail_case(rep, c, "round trip: guard bytes overwritten");
    fsdt_guarded_free(s);
    free(noise);
    fsdt_guarded_free(p2);
    fsdt_guarded_free(p);
}

/* ------------------------------------------------------------------------------------------ */

typedef void (*case_fn)(report *, const fsdt_case *);

static void run_cases(case_fn fn, const char *what)
{
    report rep = {0};
    for (long i = g_first; i < g_first + g_count; i++) {
        fsdt_case c;
        fsdt_case_make(&c, g_seed, (int)i);
        fn(&rep, &c);
        fsdt_case_free(&c);
    }
    finish(&rep, what);
}

static void test_pack_random(void **state)
{
    (void)state;
    run_cases(pack_one, "pack");
}

static void test_unpack_random(void **state)
{
    (void)state;
    run_cases(unpack_one, "unpack");
}

static void test_roundtrip_random(void **state)
{
    (void)state;
    run_cases(roundtrip_one, "round trip");
}

/* The mix of cases: every family is drawn, and each verdict of the overlap predicates. */
static void test_case_mix(void **state)
{
    (void)state;
    long kinds[FSDT_KIND_COUNT] = {0}, alias = 0, disjoint_not_nesting = 0, nesting = 0;
    long n = g_count < 500 ? 500 : g_count;
    for (long i = 0; i < n; i++) {
        fsdt_case c;
        fsdt_case_make(&c, g_seed, (int)i);
        kinds[c.kind]++;
        alias += c.aliasing;
        disjoint_not_nesting += !c.aliasing && !c.nests;
        nesting += c.nests;
        assert_false(c.aliasing && c.nests);
        assert_true(c.t.byte_offset < c.storage_size || c.num_elems == 0);
        fsdt_case_free(&c);
    }
    for (int k = 0; k < FSDT_KIND_COUNT; k++)
        if (kinds[k] == 0)
            fail_msg("no case of kind %s in %ld cases", fsdt_kind_name((fsdt_kind)k), n);
    assert_true(alias > 0);
    assert_true(disjoint_not_nesting > 0);
    assert_true(nesting > n / 2);
}

int main(void)
{
    g_seed = fsdt_seed();
    g_count = fsdt_env_long("FSD_TEST_CASES", 3000);
    long only = fsdt_env_long("FSD_TEST_CASE", -1);
    if (only >= 0) {
        g_first = only;
        g_count = 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_case_mix),
        cmocka_unit_test(test_pack_random),
        cmocka_unit_test(test_unpack_random),
        cmocka_unit_test(test_roundtrip_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
