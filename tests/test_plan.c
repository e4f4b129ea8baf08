/*
 * test_plan.c — the plan's decisions on known layouts: coalescing, dropped size-1 dims, the
 * path, the word width, tiles and grid; and fsd_layout_contiguous against the plan. Prints the plans of the KV-cache views (the word widths
 * the kernels will use on an H200: 132 SMs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "fsd_cases.h"
#include "layout.h"
#include "plan_build.h"

#define H200_SMS 132

/* A base address aligned like a real allocation (256 bytes), never dereferenced. */
static char *const BASE = (char *)(uintptr_t)0x7f0000000000ull;
static char *const PACKED = (char *)(uintptr_t)0x7f1000000000ull;

static fsd_plan plan_of(int ndim, const int64_t *shape, const int64_t *strides, int elem_bytes,
                        uint64_t byte_offset, char *packed, fsd_direction dir)
{
    DLTensor t = {BASE, {kDLCPU, 0}, ndim, {kDLFloat, (uint8_t)(8 * elem_bytes), 1},
                  (int64_t *)shape, (int64_t *)strides, byte_offset};
    fsd_layout l;
    assert_int_equal(fsd_layout_from_tensor(&t, "t", &l), FSD_SUCCESS);
    fsd_plan p;
    fsd_plan_build(&l, packed, dir, H200_SMS, &p);
    return p;
}

static void test_contiguous_is_one_copy(void **state)
{
    (void)state;
    int64_t shape[] = {2, 32, 256, 1024};
    fsd_plan p = plan_of(4, shape, NULL, 2, 0, PACKED, FSD_DIR_PACK);
    assert_int_equal(p.path, FSD_PATH_CONTIG);
    assert_int_equal(p.ndim, 0);
    assert_int_equal(p.run_bytes, 2ull * 32 * 256 * 1024 * 2);
    assert_int_equal(p.word, 16);
}

static int contiguous_of(int ndim, const int64_t *shape, const int64_t *strides, int elem_bytes)
{
    DLTensor t = {BASE, {kDLCPU, 0}, ndim, {kDLFloat, (uint8_t)(8 * elem_bytes), 1},
                  (int64_t *)shape, (int64_t *)strides, 0};
    fsd_layout l;
    assert_int_equal(fsd_layout_from_tensor(&t, "t", &l), FSD_SUCCESS);
    return fsd_layout_contiguous(&l);
}

/* fsd_layout_contiguous (the round trip's one-copy test) on known layouts, and against the
 * plan's own answer on the random cases. */
static void test_layout_contiguous(void **state)
{
    (void)state;
    int64_t kv[] = {2, 32, 256, 128};
    int64_t dense[] = {32 * 256 * 128, 256 * 128, 128, 1};
    assert_true(contiguous_of(4, kv, NULL, 2));
    assert_true(contiguous_of(4, kv, dense, 2));
    int64_t permuted[] = {32 * 256 * 128, 128, 32 * 128, 1};
    assert_false(contiguous_of(4, kv, permuted, 2));
    int64_t gap[] = {32 * 256 * 256, 256 * 256, 256, 1}; /* every other 128 of 256 */
    assert_false(contiguous_of(4, kv, gap, 2));
    int64_t row[] = {3, 5};
    int64_t flipped[] = {5, -1};
    assert_false(contiguous_of(2, row, flipped, 4));
    int64_t ones[] = {1, 4, 1, 8};
    int64_t odd[] = {-777, 8, 123456, 1};
    assert_true(contiguous_of(4, ones, odd, 4));
    uint64_t seed = fsdt_seed();
    long n = fsdt_env_long("FSD_TEST_CASES", 600);
    for (long i = 0; i < n; i++) {
        fsdt_case c;
        fsdt_case_make(&c, seed, (int)i);
        fsd_layout l;
        if (fsd_layout_from_tensor(&c.t, "t", &l) == FSD_SUCCESS && l.total_bytes > 0) {
            fsd_plan p;
            fsd_plan_build(&l, PACKED, FSD_DIR_PACK, 0, &p);
            if (fsd_layout_contiguous(&l) != (p.path == FSD_PATH_CONTIG))
                fail_msg("fsd_layout_contiguous %d, plan path %d\n  %s", fsd_layout_contiguous(&l),
                         (int)p.path, c.desc);
        }
        fsdt_case_free(&c);
    }
}

static void test_size_one_dims_ignored(void **state)
{
    (void)state;
    int64_t shape[] = {1, 4, 1, 8};
    int64_t strides[] = {-777, 8, 123456, 1};
    fsd_plan p = plan_of(4, shape, strides, 4, 0, PACKED, FSD_DIR_PACK);
    assert_int_equal(p.path, FSD_PATH_CONTIG);
    assert_int_equal(p.total_bytes, 4 * 8 * 4);
}

static void test_coalesces_outer_dims(void **state)
{
    (void)state;
    /* Rows of 16 floats out of rows of 32: the two outer dims merge, the run is 64 bytes. */
    int64_t shape[] = {3, 5, 16};
    int64_t strides[] = {5 * 32, 32, 1};
    fsd_plan p = plan_of(3, shape, strides, 4, 0, PACKED, FSD_DIR_PACK);
    assert_int_equal(p.path, FSD_PATH_RUNS);
    assert_int_equal(p.ndim, 1);
    assert_int_equal(p.shape[0], 15);
    assert_int_equal(p.stride[0], 128);
    assert_int_equal(p.run_bytes, 64);
    assert_int_equal(p.word, 16);
    assert_int_equal(p.group, 4);
}

static void test_word_width_follows_alignment(void **state)
{
    (void)state;
    int64_t shape[] = {4, 6};
    int64_t strides[] = {10, 1};
    /* 12-byte runs of bf16, row stride 20 bytes: 4-byte words. */
    assert_int_equal(plan_of(2, shape, strides, 2, 0, PACKED, FSD_DIR_PACK).word, 4);
    /* A base offset by 2 bytes: 2-byte words. */
    assert_int_equal(plan_of(2, shape, strides, 2, 2, PACKED, FSD_DIR_PACK).word, 2);
    /* A packed buffer at an odd address: bytes. */
    assert_int_equal(plan_of(2, shape, strides, 2, 0, PACKED + 1, FSD_DIR_UNPACK).word, 1);
}

static void test_negative_and_zero_strides(void **state)
{
    (void)state;
    int64_t shape[] = {3, 4, 8};
    int64_t strides[] = {0, -8, 1}; /* broadcast of a row-flipped matrix */
    fsd_plan p = plan_of(3, shape, strides, 8, 3 * 64, PACKED, FSD_DIR_PACK);
    assert_int_equal(p.path, FSD_PATH_RUNS);
    assert_int_equal(p.ndim, 2);
    assert_int_equal(p.stride[0], 0);
    assert_int_equal(p.stride[1], -64);
    assert_int_equal(p.run_bytes, 64);
}

static void test_transpose_and_tile_words(void **state)
{
    (void)state;
    int64_t shape[] = {64, 48};
    int64_t strides[] = {1, 64};
    fsd_plan p = plan_of(2, shape, strides, 1, 0, PACKED, FSD_DIR_PACK);
    assert_int_equal(p.path, FSD_PATH_TRANSPOSE);
    assert_int_equal(p.tdim, 0);
    assert_int_equal(p.tile_vec, 4); /* 1-byte elements move as 4-byte words */
    assert_int_equal(p.tile, 128);
    p = plan_of(2, shape, strides, 2, 0, PACKED, FSD_DIR_PACK);
    assert_int_equal(p.tile_vec, 2);
    p = plan_of(2, shape, strides, 2, 1, PACKED, FSD_DIR_PACK); /* misaligned: elements */
    assert_int_equal(p.tile_vec, 1);
    p = plan_of(2, shape, strides, 8, 0, PACKED, FSD_DIR_PACK);
    assert_int_equal(p.tile_vec, 1);
    assert_int_equal(p.tile, 32);
    /* Too narrow to tile: elements through the runs kernel. */
    int64_t narrow[] = {64, 4};
    p = plan_of(2, narrow, strides, 4, 0, PACKED, FSD_DIR_PACK);
    assert_int_equal(p.path, FSD_PATH_RUNS);
    assert_int_equal(p.run_bytes, 4);
}

static void test_high_rank_is_generic(void **state)
{
    (void)state;
    int64_t shape[] = {2, 2, 2, 2, 2, 2};
    int64_t strides[] = {1000, 300, 90, 20, 7, 2};
    fsd_plan p = plan_of(6, shape, strides, 4, 0, PACKED, FSD_DIR_PACK);
    assert_int_equal(p.path, FSD_PATH_GENERIC);
    assert_int_equal(p.ndim, 6);
}

static void test_grid_is_bounded_by_sms(void **state)
{
    (void)state;
    int64_t shape[] = {1 << 20, 8};
    int64_t strides[] = {16, 1};
    fsd_plan p = plan_of(2, shape, strides, 2, 0, PACKED, FSD_DIR_PACK);
    assert_true(p.grid >= 1 && p.grid <= H200_SMS * FSD_BLOCKS_PER_SM);
    assert_int_equal(p.block, FSD_BLOCK_THREADS);
    assert_int_equal(p.index64, 0);
}

/* The KV-cache views of fastserde-bench, Llama-3-8B [2, 32, 256, 1024] bf16. */
static void test_kv_cache_views(void **state)
{
    (void)state;
    struct {
        const char *name;
        int ndim;
        int64_t shape[5], strides[5];
        fsd_path path;
        uint32_t word;
    } views[] = {
        {"contiguous", 4, {2, 32, 256, 1024}, {32 * 256 * 1024, 256 * 1024, 1024, 1},
         FSD_PATH_CONTIG, 16},
        {"token slice 128:384 of 512", 4, {2, 32, 256, 1024}, {32 * 512 * 1024, 512 * 1024, 1024, 1},
         FSD_PATH_RUNS, 16},
        {"every other head of 16", 5, {2, 32, 256, 8, 128},
         {32 * 256 * 2048, 256 * 2048, 2048, 256, 1}, FSD_PATH_RUNS, 16},
        {"[L,T,H,D] -> [L,H,T,D]", 5, {2, 32, 8, 256, 128},
         {32 * 256 * 1024, 256 * 1024, 128, 1024, 1}, FSD_PATH_RUNS, 16},
        {"transpose last two dims", 4, {2, 32, 1024, 256}, {32 * 256 * 1024, 256 * 1024, 1, 1024},
         FSD_PATH_TRANSPOSE, 16}, /* 16-byte tiles */
    };
    for (size_t i = 0; i < sizeof views / sizeof views[0]; i++) {
        fsd_plan p = plan_of(views[i].ndim, views[i].shape, views[i].strides, 2, 0, PACKED,
                             FSD_DIR_PACK);
        printf("plan: %-28s path %-9s word %2u B  run %7llu B  outer dims %d  group %2u  "
               "grid %u\n", views[i].name, fsd_path_name(p.path), p.word,
               (unsigned long long)p.run_bytes, p.ndim, p.group, p.grid);
        assert_int_equal(p.path, views[i].path);
        assert_int_equal(p.word, views[i].word);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contiguous_is_one_copy),
        cmocka_unit_test(test_layout_contiguous),
        cmocka_unit_test(test_size_one_dims_ignored),
        cmocka_unit_test(test_coalesces_outer_dims),
        cmocka_unit_test(test_word_width_follows_alignment),
        cmocka_unit_test(test_negative_and_zero_strides),
        cmocka_unit_test(test_transpose_and_tile_words),
        cmocka_unit_test(test_high_rank_is_generic),
        cmocka_unit_test(test_grid_is_bounded_by_sms),
        cmocka_unit_test(test_kv_cache_views),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
