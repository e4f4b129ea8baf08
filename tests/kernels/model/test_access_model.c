/*
 * test_access_model.c — known answers of the memory-access model (access_model.h): access
 * patterns whose sector and bank counts follow from the hardware's rules, run through the same
 * recorder as the library's kernels.
 *   - a stride-2 gather of 4-byte elements (the library's runs kernel): 50 % of each sector used;
 *   - an unpadded 32 x 32 fp32 tile stored down its columns: 32 wavefronts per request (one bank),
 *     padded to 33: 1;
 *   - fastserde-bench's 16-byte copy kernel: 100 % sector use, 16 sectors per request, 64 bytes
 *     of loads in flight per thread;
 *   - fastserde-bench's naive one-element-per-thread kernel on a bf16 transpose: every lane's
 *     2-byte load in a sector of its own (1/16 used), stores coalesced, 2 bytes in flight;
 *   - the library's kernels on small KV-cache views (every other head; a transpose): sectors
 *     fully used, no bank conflict, four 16-byte loads in flight per thread (issue 13);
 *   - every kernel name the model gives the library's launches is in the ptxas table.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "access_model.h"
#include "layout.h"
#include "model_internal.h"
#include "plan_build.h"
#include "test_model_kernels.h"

static void *alloc256(size_t n)
{
    void *p = NULL;
    assert_int_equal(posix_memalign(&p, 256, n), 0);
    memset(p, 0, n);
    return p;
}

static void print_report(const char *what, const fsdm_report *r)
{
    printf("%-34s %-34s ld %.3f (%.1f sec/req) st %.3f (%.1f sec/req) smem ld %.1f st %.1f wf/req, "
           "%.0f B in flight/thread, %.1f KiB/SM, predicted %.2f-%.2f (%s)\n",
           what, r->kernel, r->ld_efficiency, r->ld_sectors_per_request, r->st_efficiency,
           r->st_sectors_per_request, r->sh_ld_wavefronts_per_request, r->sh_st_wavefronts_per_request,
           r->load_bytes_per_batch, r->bytes_in_flight_per_sm / 1024, r->predicted_lo, r->predicted_hi,
           r->sass_note);
}

/* A plan of the library for `t` (a host tensor laid out like device memory), for 132 SMs. */
static void model_tensor(const DLTensor *t, void *packed, fsd_direction dir, fsdm_report *r)
{
    fsd_layout l;
    assert_int_equal(fsd_layout_from_tensor(t, "t", &l), FSD_SUCCESS);
    fsd_plan p;
    fsd_plan_build(&l, packed, dir, 132, &p);
    assert_int_equal(fsdm_model_plan(&p, NULL, r), 0);
}

static void test_stride2_gather_uses_half_of_each_sector(void **state)
{
    (void)state;
    enum { N = 1 << 14 };
    float *src = alloc256(2 * N * sizeof(float)), *dst = alloc256(N * sizeof(float));
    int64_t shape[1] = {N}, strides[1] = {2};
    DLTensor t = {.data = src, .device = {kDLCPU, 0}, .ndim = 1, .dtype = {kDLFloat, 32, 1},
                  .shape = shape, .strides = strides};
    fsdm_report r;
    model_tensor(&t, dst, FSD_DIR_PACK, &r);
    print_report("stride-2 fp32 gather (pack)", &r);
    assert_true(r.modeled);
    assert_float_equal(r.ld_efficiency, 0.5, 1e-9);
    assert_float_equal(r.ld_sectors_per_request, 8.0, 1e-9); /* 32 lanes x 8 bytes apart */
    assert_float_equal(r.st_efficiency, 1.0, 1e-9);
    assert_float_equal(r.st_sectors_per_request, 4.0, 1e-9);
    /* 2 x 16 + 16 */
    assert_float_equal(r.ld_bytes, 4.0 * N, 1e-9);
    free(src);
    free(dst);
}

static void test_unpadded_tile_column_takes_32_wavefronts(void **state)
{
    (void)state;
    fsdm_report r;
    assert_int_equal(fsdmt_tile32(32, &r), 0);
    print_report("32x32 fp32 tile, pitch 32", &r);
    assert_float_equal(r.sh_st_wavefronts_per_request, 32.0, 1e-9);
    assert_float_equal(r.sh_ld_wavefronts_per_request, 1.0, 1e-9);
    assert_float_equal(r.sh_requests, 64.0, 1e-9);
    assert_int_equal(fsdmt_tile32(33, &r), 0);
    print_report("32x32 fp32 tile, pitch 33", &r);
    assert_float_equal(r.sh_st_wavefronts_per_request, 1.0, 1e-9);
    assert_float_equal(r.sh_ld_wavefronts_per_request, 1.0, 1e-9);
    assert_float_equal(r.sh_conflict, 1.0, 1e-9);
}

static void test_copy16_uses_every_sector(void **state)
{
    (void)state;
    const size_t n = (size_t)1 << 20;
    char *src = alloc256(n), *dst = alloc256(n);
    for (size_t i = 0; i < n; i++)
        src[i] = (char)(i * 7 + 1);
    fsdm_report r;
    /* 16 blocks: each thread copies 16 words, four loop iterations of four loads */
    assert_int_equal(fsdm_model_copy16(dst, src, n, 16, NULL, &r), 0);
    print_report("copy16, 1 MiB, 16 blocks", &r);
    assert_memory_equal(dst, src, n);
    assert_float_equal(r.ld_efficiency, 1.0, 1e-9);
    assert_float_equal(r.st_efficiency, 1.0, 1e-9);
    assert_float_equal(r.ld_sectors_per_request, 16.0, 1e-9);
    assert_float_equal(r.load_bytes_per_batch, 64.0, 1e-9); /* four 16-byte loads per thread */
    assert_float_equal(r.block_balance, 1.0, 1e-9);
    assert_float_equal(r.bytes_in_flight_per_block, 256 * 64.0, 1e-9);
    free(src);
    free(dst);
}

static void test_naive_transpose_wastes_the_load_sectors(void **state)
{
    (void)state;
    /* [2, 128, 64] bf16 viewed as [2, 64, 128] (the last two dims swapped) */
    enum { B = 2, T = 128, C = 64 };
    uint16_t *storage = alloc256((size_t)B * T * C * 2), *packed = alloc256((size_t)B * T * C * 2);
    for (size_t i = 0; i < (size_t)B * T * C; i++)
        storage[i] = (uint16_t)i;
    const int64_t shape[3] = {B, C, T}, strides[3] = {(int64_t)T * C, 1, C};
    fsdm_report r;
    assert_int_equal(fsdm_model_naive(3, shape, strides, 2, (char *)storage, (char *)packed, 0, NULL, &r), 0);
    print_report("naive kernel, bf16 transpose (pack)", &r);
    assert_int_equal(packed[1], storage[C]); /* element (0, 0, 1) */
    assert_float_equal(r.ld_efficiency, 2.0 / 32.0, 1e-9);
    assert_float_equal(r.ld_sectors_per_request, 32.0, 1e-9);
    assert_float_equal(r.st_efficiency, 1.0, 1e-9);
    assert_float_equal(r.st_sectors_per_request, 2.0, 1e-9);
    assert_float_equal(r.load_bytes_per_batch, 2.0, 1e-9);
    assert_true(r.predicted_hi < 0.1);
    free(storage);
    free(packed);
}

/* The library's kernels on small KV-cache views (bf16, [2, L, T, H, D] of 2H heads; the last
 * two dims of [2, L, T, HD] swapped): what issue 13 asked of them, per thread and per request. */
static void check_kv(const char *what, const DLTensor *t, void *packed, fsd_direction dir)
{
    fsdm_report r;
    model_tensor(t, packed, dir, &r);
    print_report(what, &r);
    assert_true(r.ld_efficiency >= 0.95 && r.st_efficiency >= 0.95);
    assert_true(r.sh_requests == 0 || r.sh_conflict <= 1.05);
    if (r.load_bytes_per_batch < 64)
        fail_msg("%s: %.0f bytes of loads in flight per thread, want 64 (four 16-byte loads before "
                 "the first store)", what, r.load_bytes_per_batch);
}

static void test_kv_views_keep_four_loads_in_flight(void **state)
{
    (void)state;
    enum { L = 1, T = 128, H = 4, D = 128 };
    const size_t packed_bytes = (size_t)2 * L * T * H * D * 2;
    uint16_t *storage = alloc256(2 * packed_bytes), *packed = alloc256(packed_bytes);
    /* every other head: runs of 256 bytes, one 16-byte word per lane */
    int64_t hs_shape[5] = {2, L, T, H, D};
    int64_t hs_strides[5] = {(int64_t)L * T * 2 * H * D, (int64_t)T * 2 * H * D, 2 * H * D, 2 * D, 1};
    DLTensor hs = {.data = storage, .device = {kDLCPU, 0}, .ndim = 5, .dtype = {kDLBfloat, 16, 1},
                   .shape = hs_shape, .strides = hs_strides};
    check_kv("head subset, pack", &hs, packed, FSD_DIR_PACK);
    check_kv("head subset, unpack", &hs, packed, FSD_DIR_UNPACK);
    /* the last two dims swapped */
    int64_t tr_shape[3] = {2 * L, H * D, T};
    int64_t tr_strides[3] = {(int64_t)T * H * D, 1, H * D};
    DLTensor tr = {.data = storage, .device = {kDLCPU, 0}, .ndim = 3, .dtype = {kDLBfloat, 16, 1},
                   .shape = tr_shape, .strides = tr_strides};
    check_kv("transpose, pack", &tr, packed, FSD_DIR_PACK);
    check_kv("transpose, unpack", &tr, packed, FSD_DIR_UNPACK);
    free(storage);
    free(packed);
}

static void test_kernel_names_are_in_the_ptxas_table(void **state)
{
    (void)state;
    static const char *const names[] = {
        "fsd_runs_kernel<1, unsigned int, 4>", "fsd_runs_kernel<4, unsigned long, 4>",
        "fsd_runs_kernel<-1, unsigned int, 16>", "fsd_runs_kernel<-1, unsigned long, 64>",
        "fsd_transpose_kernel<unsigned int, 4>", "fsd_transpose_kernel<unsigned long, 64>",
        "fsd_transpose16_kernel<1u, unsigned int, 4>", "fsd_transpose16_kernel<16u, unsigned long, 64>",
        "fsdb_copy16_kernel", "fsdb_naive_kernel<unsigned short>",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!fsdm_kernel_known(names[i]))
            fail_msg("the ptxas table (fsdm_resources.c) has no kernel %s: kernels/launch.cu and "
                     "tests/kernels/model/model_grid.cu name it differently", names[i]);
    }
}

int main(void)
{
    const char *why = NULL;
    printf("SASS: %s\n", fsdm_sass_available(&why) ? "read" : why);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stride2_gather_uses_half_of_each_sector),
        cmocka_unit_test(test_unpadded_tile_column_takes_32_wavefronts),
        cmocka_unit_test(test_copy16_uses_every_sector),
        cmocka_unit_test(test_naive_transpose_wastes_the_load_sectors),
        cmocka_unit_test(test_kv_views_keep_four_loads_in_flight),
        cmocka_unit_test(test_kernel_names_are_in_the_ptxas_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
