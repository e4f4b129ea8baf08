/*
 * test_limits.c — tensors at the edges of the integer ranges: shapes whose products overflow,
 * dimensions near INT64_MAX, 100000 dimensions of size 1, many dimensions of size 2, strides
 * whose byte offsets overflow (upwards, below address 0, past the top of the address space),
 * byte_offset near 2^63. Each must give a clear status (FSD_ERROR_OVERFLOW, ..._INVALID_ARGUMENT,
 * ..._SIZE_MISMATCH) and write nothing: every buffer is guarded and compared after each call.
 *
 * The random checks compare the library's verdict with exact 128-bit arithmetic done here
 * (independent of host/core/layout.c). Where an accepted tensor's `data` is not real memory, the
 * calls get dst_size / src_size 0 so that a correct library stops at the size check; a library
 * that went on would read or write wild addresses and crash the test (a failure, as it should).
 *
 * FSD_TEST_SEED replays the random part; FSD_TEST_CASES scales it (default 20000).
 *
 * One cmocka binary from several files: this one (main, the context entry points),
 * limits_products.c (products of the shape), limits_ndim.c (many dimensions),
 * limits_strides.c (strides and byte offsets), limits_fixture.c (what they share).
 */
#include "limits_fixture.h"

/* Under ASan, a malloc far beyond the RAM must return NULL (the library's OUT_OF_MEMORY path)
 * rather than abort the process. Ignored in other builds. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

/* The context entry points refuse the same tensors, write nothing, allocate nothing lasting. */
static void test_context_calls(void **state)
{
    (void)state;
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.cpu_threads = 2;
    fsd_context *ctx = NULL;
    EXPECT(fsd_context_create(&ctx, &cfg), FSD_SUCCESS);
    int64_t big[2] = {INT64_MAX, 2};
    DLTensor t = tensor(2, big, NULL, 8, 1);
    fresh();
    EXPECT(fsd_pack_to_host(ctx, &t, g_buf, BUF, NULL), FSD_ERROR_OVERFLOW);
    EXPECT(fsd_unpack_from_host(ctx, g_buf, BUF, &t, NULL), FSD_ERROR_OVERFLOW);
    UNTOUCHED();
    void *bytes = (void *)1;
    size_t size = 9;
    EXPECT(fsd_to_bytes(ctx, &t, &bytes, &size), FSD_ERROR_OVERFLOW);
    assert_null(bytes);
    assert_int_equal(size, 0);
    int64_t sh[1] = {4}, st[1] = {-4097};
    t = fake(0x1000, 1, sh, st, 8, 0);
    EXPECT(fsd_to_bytes(ctx, &t, &bytes, &size), FSD_ERROR_OVERFLOW);
    assert_null(bytes);
    /* 2^50 bytes (a broadcast of one byte): more than any machine has: OUT_OF_MEMORY */
    int64_t huge[1] = {(int64_t)1 << 50}, zero[1] = {0};
    t = tensor(1, huge, zero, 8, 1);
    EXPECT(fsd_to_bytes(ctx, &t, &bytes, &size), FSD_ERROR_OUT_OF_MEMORY);
    assert_null(bytes);
    assert_int_equal(size, 0);
    /* from_bytes: sizes that are not whole elements, a NULL with bytes, a size no one has */
    DLDataType dt = {kDLFloat, 32, 1};
    DLDevice cpu = {kDLCPU, 0};
    DLManagedTensor *out = (DLManagedTensor *)1;
    EXPECT(fsd_from_bytes(ctx, g_buf, 7, dt, cpu, &out), FSD_ERROR_SIZE_MISMATCH);
    assert_null(out);
    EXPECT(fsd_from_bytes(ctx, NULL, 8, dt, cpu, &out), FSD_ERROR_INVALID_ARGUMENT);
    DLDataType wide = {kDLFloat, 248, 65535};
    EXPECT(fsd_from_bytes(ctx, g_buf, (size_t)31 * 65535 + 1, wide, cpu, &out),
           FSD_ERROR_SIZE_MISMATCH);
    /* 2^62 bytes of whole 4-byte elements: cannot be allocated, nothing read (not SIZE_MAX - 3:
     * valgrind counts a malloc of a "negative" size as an error) */
    EXPECT(fsd_from_bytes(ctx, g_buf, (size_t)1 << 62, dt, cpu, &out), FSD_ERROR_OUT_OF_MEMORY);
    assert_null(out);
    UNTOUCHED();
    fsd_context_destroy(ctx);
}

int main(void)
{
    fsdt_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_product_overflow_random),
        cmocka_unit_test(test_dims_near_int64_max),
        cmocka_unit_test(test_huge_ndim_size1),
        cmocka_unit_test(test_many_size2_dims),
        cmocka_unit_test(test_stride_overflow_table),
        cmocka_unit_test(test_stride_overflow_random),
        cmocka_unit_test(test_context_calls),
    };
    return cmocka_run_group_tests(tests, limits_setup, limits_teardown);
}
