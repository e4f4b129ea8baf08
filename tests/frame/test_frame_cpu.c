/*
 * test_frame_cpu.c — host/frame/frame_cpu.c and host/frame/frame_checksum.c: the checksum computed in the
 * pass that packs or unpacks (pieces, scratch buffer, streaming stores, shares on a pool) gives
 * the definition's value (frame_ref.h, libxxhash only), and the bytes are those of the naive
 * reference, on the random layouts of tests/fsd_cases.h (every path of the CPU engine) and on
 * layouts of 8 MiB and more (streaming stores, shares cut at leaf boundaries); the ring's
 * copy that hashes (fsd_frame_copy_sum), chunk by chunk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "context.h"
#include "fastserde.h"
#include "frame.h"
#include "frame_ref.h"
#include "fsd_cases.h"

static uint64_t g_seed;
static fsd_context *g_ctx; /* 4 threads, host only */

static void check_case(const fsdt_case *c, fsd_pool *pool, const char *how)
{
    fsd_layout l;
    if (fsd_layout_from_tensor(&c->t, "case", &l) != FSD_SUCCESS)
        return; /* a layout the library refuses: not this test's business */
    size_t n = c->packed_size;
    unsigned char *want = malloc(n ? n : 1), *got = fsdt_guarded_alloc(n, 0xA5);
    assert_non_null(want);
    fsdt_reference_pack(c, c->storage, want);
    uint64_t ref = fsdt_ref_sum(want, n);
    uint64_t s = fsd_frame_pack_sum(pool, &l, (char *)got);
    if (s != ref)
        fail_msg("%s pack: sum %016llx, reference %016llx: %s", how, (unsigned long long)s,
                 (unsigned long long)ref, c->desc);
    long d = fsdt_first_diff(got, want, n);
    if (d >= 0 || !fsdt_guards_intact(got, n))
        fail_msg("%s pack: bytes differ at %ld (or guards): %s", how, d, c->desc);
    s = fsd_frame_sum(pool, (const char *)want, n);
    if (s != ref)
        fail_msg("%s sum: %016llx, reference %016llx: %s", how, (unsigned long long)s,
                 (unsigned long long)ref, c->desc);
    if (c->nests) {
        /* on a cache line, as large tensors are: the unpack's streaming stores need it */
        size_t lines = (c->storage_size + 63) / 64 * 64;
        unsigned char *storage = aligned_alloc(64, lines), *expect = malloc(c->storage_size);
        assert_true(storage && expect);
        memset(storage, 0x5A, c->storage_size);
        memset(expect, 0x5A, c->storage_size);
        fsdt_reference_unpack(c, want, expect);
        DLTensor t = c->t;
        t.data = storage;
        fsd_layout lu;
        assert_int_equal(fsd_layout_from_tensor(&t, "case", &lu), FSD_SUCCESS);
        s = fsd_frame_unpack_sum(pool, &lu, (const char *)want);
        if (s != ref)
            fail_msg("%s unpack: sum %016llx, reference %016llx: %s", how, (unsigned long long)s,
                     (unsigned long long)ref, c->desc);
        d = fsdt_first_diff(storage, expect, c->storage_size);
        if (d >= 0)
            fail_msg("%s unpack: storage differs at byte %ld: %s", how, d, c->desc);
        free(storage);
        free(expect);
    }
    free(want);
    fsdt_guarded_free(got);
}

static void random_layouts(void **state)
{
    (void)state;
    long cases = fsdt_env_long("FSD_TEST_CASES", 400);
    for (int i = 0; i < cases; i++) {
        fsdt_case c;
        fsdt_case_make(&c, g_seed, i);
        check_case(&c, NULL, "calling thread");
        check_case(&c, g_ctx->pool, "pool");
        fsdt_case_free(&c);
    }
}

/* Views of `mib` MiB and more: streaming stores, pieces through the scratch buffer, shares. */
static void large_layouts(void **state)
{
    (void)state;
    long mib = fsdt_env_long("FSD_TEST_BIG_MIB", 9);
    fsdt_rng r;
    fsdt_rng_init(&r, g_seed, 7);
    int64_t rows = mib * 1024 + 7; /* rows of 1 KiB + 3 elements: no share is a whole leaf */
    for (int kind = 0; kind < 4; kind++) {
        fsdt_case c;
        memset(&c, 0, sizeof c);
        c.elem_size = kind == 3 ? 1 : 2;
        int64_t cols = kind == 3 ? 1024 : 515;
        /* kind 0: contiguous; 1: every other row (runs of 1030 bytes); 2: a transpose;
         * 3: bytes, a transpose (the 1-byte SSE2 squares) */
        int64_t srows = kind == 1 ? 2 * rows : rows;
        c.storage_size = (size_t)(srows * cols) * c.elem_size;
        c.storage = malloc(c.storage_size);
        assert_non_null(c.storage);
        fsdt_rng_fill(&r, c.storage, c.storage_size);
        c.t.data = c.storage;
        c.t.device = (DLDevice){kDLCPU, 0};
        c.t.dtype = (DLDataType){kDLUInt, (uint8_t)(8 * c.elem_size), 1};
        c.t.ndim = 2;
        c.t.shape = c.shape;
        c.t.strides = c.strides;
        if (kind < 2) {
            c.shape[0] = rows, c.shape[1] = cols;
            c.strides[0] = kind == 1 ? 2 * cols : cols, c.strides[1] = 1;
        } else {
            c.shape[0] = cols, c.shape[1] = rows;
            c.strides[0] = 1, c.strides[1] = cols;
        }
        c.num_elems = (size_t)(rows * cols);
        c.packed_size = c.num_elems * c.elem_size;
        c.nests = 1;
        snprintf(c.desc, sizeof c.desc, "large kind %d: shape [%lld, %lld] strides [%lld, %lld]",
                 kind, (long long)c.shape[0], (long long)c.shape[1], (long long)c.strides[0],
                 (long long)c.strides[1]);
        check_case(&c, NULL, "calling thread");
        check_case(&c, g_ctx->pool, "pool");
        free(c.storage);
    }
}

/* Views whose runs are whole leaves or whole 64-byte stripes (frame_cpu.c moves them run by
 * run, or stripe by stripe, through the fused loops): [A, B, C] out of [A, 2B + 1, C] (the
 * two outer dims do not merge), runs of C elements of 2 bytes (1 or 2 KiB; 128, 256 or 1600
 * bytes), the view 0, 2 or 16 bytes into its storage (streaming stores need 64-byte aligned
 * lines; stripes off a line take the shifted scatter, runs of 1600 bytes across leaves); under
 * and over the streaming threshold, and tensors that end inside a leaf. */
static void runs_of_leaves_and_stripes(void **state)
{
    (void)state;
    fsdt_rng r;
    fsdt_rng_init(&r, g_seed, 9);
    const int64_t dims[][4] = {
        {3, 341, 512, 2},  {2, 1153, 1024, 2}, {5, 1, 1024, 2}, {1, 4800, 1024, 2},
        {3, 341, 128, 0},  {2, 1201, 64, 2},   {7, 5003, 128, 0}, {7, 5003, 128, 2},
        {3, 2047, 800, 0}, {3, 2047, 800, 16}, {1, 3, 32, 0},
    };
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        fsdt_case c;
        memset(&c, 0, sizeof c);
        const int64_t a = dims[i][0], bb = dims[i][1], cc = dims[i][2];
        c.elem_size = 2;
        c.storage_size = (size_t)(a * (2 * bb + 1) * cc) * 2 + (size_t)dims[i][3];
        c.storage = malloc(c.storage_size);
        assert_non_null(c.storage);
        fsdt_rng_fill(&r, c.storage, c.storage_size);
        c.t.data = c.storage;
        c.t.byte_offset = (uint64_t)dims[i][3];
        c.t.device = (DLDevice){kDLCPU, 0};
        c.t.dtype = (DLDataType){kDLBfloat, 16, 1};
        c.t.ndim = 3;
        c.t.shape = c.shape;
        c.t.strides = c.strides;
        c.shape[0] = a, c.shape[1] = bb, c.shape[2] = cc;
        c.strides[0] = (2 * bb + 1) * cc, c.strides[1] = 2 * cc, c.strides[2] = 1;
        c.num_elems = (size_t)(a * bb * cc);
        c.packed_size = c.num_elems * 2;
        c.nests = 1;
        snprintf(c.desc, sizeof c.desc, "runs: [%lld, %lld, %lld] of [%lld, %lld, %lld], +%lld bytes",
                 (long long)a, (long long)bb, (long long)cc, (long long)a, (long long)(2 * bb + 1),
                 (long long)cc, (long long)dims[i][3]);
        check_case(&c, NULL, "calling thread");
        check_case(&c, g_ctx->pool, "pool");
        free(c.storage);
    }
}

/* fsd_frame_leaves on any cut at leaf boundaries, and the last leaf's padding. */
static void leaves_any_cut(void **state)
{
    (void)state;
    fsdt_rng r;
    fsdt_rng_init(&r, g_seed, 8);
    unsigned char buf[8 * 1024 + 100];
    fsdt_rng_fill(&r, buf, sizeof buf);
    for (uint64_t n = 0; n <= sizeof buf; n += n < 2100 ? 1 : 97) {
        uint64_t ref = fsdt_ref_sum(buf, n), cut = (uint64_t)fsdt_rng_range(&r, 0, (int64_t)(n / 1024)) * 1024;
        uint64_t s = fsd_frame_leaves(buf, cut, 0) + fsd_frame_leaves(buf + cut, n - cut, cut / 1024);
        if (s != ref)
            fail_msg("n %llu cut %llu", (unsigned long long)n, (unsigned long long)cut);
    }
    /* the padding is zeros: a last leaf of 3 bytes equals those bytes and 1021 zeros */
    unsigned char one[1024] = {1, 2, 3};
    assert_true(fsd_frame_leaves(one, 3, 5) == fsd_frame_leaves(one, 1024, 5));
}

/* fsd_frame_copy_sum (the ring's host copies): a tensor's packed bytes copied chunk by chunk,
 * each chunk from a multiple of 4 KiB, on the pool's threads or not, streaming stores from
 * 8 MiB: the bytes, and the chunks' sums adding up to the definition's S. */
static void copy_sum_by_chunks(void **state)
{
    (void)state;
    fsdt_rng r;
    fsdt_rng_init(&r, g_seed, 9);
    const uint64_t max = (uint64_t)9 << 20;
    unsigned char *src = malloc(max), *dst = fsdt_guarded_alloc(max, 0xA5);
    assert_true(src != NULL && dst != NULL);
    fsdt_rng_fill(&r, src, max);
    for (int round = 0; round < 24; round++) {
        uint64_t n = round < 20 ? (uint64_t)fsdt_rng_range(&r, 0, 300000) : max - (uint64_t)round;
        uint64_t chunk = 4096 * (uint64_t)fsdt_rng_range(&r, 1, round < 20 ? 40 : 2300);
        uint64_t ref = fsdt_ref_sum(src, n), s = 0;
        memset(dst, 0xA5, n);
        for (uint64_t b = 0; b < n; b += chunk) {
            uint64_t len = n - b < chunk ? n - b : chunk;
            s += fsd_frame_copy_sum(round % 2 ? g_ctx->pool : NULL, (char *)dst + b,
                                    (const char *)src + b, len, b, round % 3 ? 64 << 10 : 0);
        }
        if (s != ref)
            fail_msg("n %llu in chunks of %llu: sum %016llx, reference %016llx",
                     (unsigned long long)n, (unsigned long long)chunk, (unsigned long long)s,
                     (unsigned long long)ref);
        long d = fsdt_first_diff(dst, src, n);
        if (d >= 0)
            fail_msg("n %llu in chunks of %llu: byte %ld differs", (unsigned long long)n,
                     (unsigned long long)chunk, d);
    }
    assert_true(fsdt_guards_intact(dst, max));
    free(src);
    fsdt_guarded_free(dst);
}

static int setup(void **state)
{
    (void)state;
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.cpu_threads = 4;
    return fsd_context_create(&g_ctx, &cfg) == FSD_SUCCESS ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    fsd_context_destroy(g_ctx);
    return 0;
}

int main(void)
{
    g_seed = fsdt_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(leaves_any_cut),
        cmocka_unit_test(copy_sum_by_chunks),
        cmocka_unit_test(random_layouts),
        cmocka_unit_test(large_layouts),
        cmocka_unit_test(runs_of_leaves_and_stripes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
