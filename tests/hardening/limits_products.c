/*
 * limits_products.c — test_limits: products of the shape. Random shapes against exact 128-bit
 * products; dimensions near INT64_MAX, negative and zero dimensions.
 */
#include "limits_fixture.h"

/* Random shapes against exact products: packed_size exact or OVERFLOW; pack and unpack of
 * compact tensors over a 4 KiB storage succeed when the packed bytes fit the buffers, fail with
 * SIZE_MISMATCH or OVERFLOW otherwise, and write nothing then. */
void test_product_overflow_random(void **state)
{
    (void)state;
    fsdt_rng r;
    fsdt_rng_init(&r, fsdt_seed(), 0x11);
    long cases = fsdt_env_long("FSD_TEST_CASES", 20000);
    long over = 0, fits = 0, copied = 0;
    for (long i = 0; i < cases; i++) {
        int64_t shape[6];
        int ndim = (int)fsdt_rng_range(&r, 0, 6);
        for (int d = 0; d < ndim; d++)
            shape[d] = draw_dim(&r);
        int bits, lanes;
        draw_dtype(&r, &bits, &lanes);
        if (fsdt_rng_range(&r, 0, 3) == 0) { /* small tensors: real copies happen */
            bits = 8 * (int)fsdt_rng_range(&r, 1, 4);
            lanes = 1;
            for (int d = 0; d < ndim; d++)
                shape[d] = fsdt_rng_range(&r, 1, 4);
        }
        DLTensor t = tensor(ndim, shape, NULL, bits, lanes);
        uint64_t esize = (uint64_t)(bits / 8) * (uint64_t)lanes;
        u128 want = exact_size(shape, ndim, esize);
        size_t n = 777;
        fsd_status st = fsd_packed_size(&t, &n);
        if (want > (u128)INT64_MAX) {
            over++;
            if (st != FSD_ERROR_OVERFLOW)
                fail_msg("case %ld: ndim %d, esize %llu: the size is >= 2^63 but fsd_packed_size "
                         "gave %s (n %zu)", i, ndim, (unsigned long long)esize,
                         fsd_status_string(st), n);
            REJECT_ALL(t, FSD_ERROR_OVERFLOW);
            continue;
        }
        fits++;
        if (st != FSD_SUCCESS || (u128)n != want)
            fail_msg("case %ld: fsd_packed_size gave %s, %zu; expected %llu", i,
                     fsd_status_string(st), n, (unsigned long long)want);
        fresh();
        if (want <= BUF && want <= STORE) {
            /* compact: the packed bytes are the storage's first bytes */
            EXPECT(fsd_pack(&t, g_buf, BUF, NULL), FSD_SUCCESS);
            assert_memory_equal(g_buf, g_store, (size_t)want);
            for (size_t k = (size_t)want; k < BUF; k++)
                assert_int_equal(g_buf[k], BUF_FILL);
            copied++;
            continue;
        }
        /* too large for the buffers: refused before touching them */
        EXPECT(fsd_pack(&t, g_buf, BUF, NULL), FSD_ERROR_SIZE_MISMATCH);
        UNTOUCHED();
        EXPECT(fsd_unpack(g_buf, BUF, &t, NULL), FSD_ERROR_SIZE_MISMATCH);
        UNTOUCHED();
    }
    print_message("products: %ld overflow, %ld fit (%ld copied)\n", over, fits, copied);
    if (cases >= 1000) /* the generator covers both sides (not checked on short runs) */
        assert_true(over > cases / 10 && fits > cases / 10);
}

/* Dimensions near INT64_MAX, negative dimensions. */
void test_dims_near_int64_max(void **state)
{
    (void)state;
    size_t n = 0;
    int64_t s1[1] = {INT64_MAX};
    DLTensor t = tensor(1, s1, NULL, 8, 1);
    EXPECT(fsd_packed_size(&t, &n), FSD_SUCCESS); /* exactly 2^63 - 1 bytes */
    assert_true(n == (size_t)INT64_MAX);
    fresh();
    EXPECT(fsd_pack(&t, g_buf, BUF, NULL), FSD_ERROR_SIZE_MISMATCH);
    EXPECT(fsd_unpack(g_buf, BUF, &t, NULL), FSD_ERROR_SIZE_MISMATCH);
    UNTOUCHED();
    /* a broadcast of INT64_MAX elements: valid to pack (into a big enough dst), never unpack */
    int64_t z1[1] = {0};
    t = tensor(1, s1, z1, 8, 1);
    EXPECT(fsd_pack(&t, g_buf, BUF, NULL), FSD_ERROR_SIZE_MISMATCH);
    UNTOUCHED();
    EXPECT(fsd_unpack(g_buf, (size_t)INT64_MAX, &t, NULL), FSD_ERROR_ALIASING);
    UNTOUCHED();

    int64_t cases[][3] = {
        {INT64_MAX, 2, 1},         {2, INT64_MAX, 1},         {INT64_MAX, INT64_MAX, 1},
        {INT64_MAX / 2 + 1, 2, 1}, {(int64_t)1 << 32, (int64_t)1 << 31, 2},
        {3, 3, INT64_MAX / 8},     {INT64_MAX, 1, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        t = tensor(3, cases[i], NULL, 8, 1);
        REJECT_ALL(t, FSD_ERROR_OVERFLOW);
        int64_t st[3] = {0, 0, 0};
        t.strides = st;
        REJECT_ALL(t, FSD_ERROR_OVERFLOW); /* the packed size overflows, whatever the strides */
    }
    /* INT64_MAX elements of 2 bytes: 2^64 - 2 bytes */
    t = tensor(1, s1, NULL, 16, 1);
    REJECT_ALL(t, FSD_ERROR_OVERFLOW);
    /* negative dimensions are invalid, even next to an overflowing one or a zero */
    int64_t neg[][2] = {{-1, 4}, {INT64_MIN, 1}, {INT64_MAX, -1}, {0, -5}, {-1, 0}};
    for (size_t i = 0; i < sizeof neg / sizeof neg[0]; i++) {
        t = tensor(2, neg[i], NULL, 8, 1);
        REJECT_ALL(t, FSD_ERROR_INVALID_ARGUMENT);
    }
    /* a zero dimension makes everything else irrelevant: 0 bytes, dst may be NULL */
    int64_t zero[3] = {INT64_MAX, 0, INT64_MAX};
    int64_t wild[3] = {INT64_MIN, INT64_MAX, -1};
    t = tensor(3, zero, wild, 8, 65535);
    t.data = NULL;
    EXPECT(fsd_packed_size(&t, &n), FSD_SUCCESS);
    assert_int_equal(n, 0);
    EXPECT(fsd_pack(&t, NULL, 0, NULL), FSD_SUCCESS);
    EXPECT(fsd_unpack(NULL, 0, &t, NULL), FSD_SUCCESS);
}
