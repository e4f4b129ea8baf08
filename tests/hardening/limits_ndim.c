/*
 * limits_ndim.c — test_limits: many dimensions. 100000 dimensions of size 1; up to 100000
 * dimensions with a few of size 2 (a bijection checked byte by byte); packed sizes of 2^k.
 */
#include "limits_fixture.h"

#include <stdlib.h>
#include <string.h>

#define HUGE_NDIM 100000

/* 100000 dims of size 1 (strides anything): one element. */
void test_huge_ndim_size1(void **state)
{
    (void)state;
    int64_t *shape = malloc(sizeof(int64_t) * HUGE_NDIM);
    int64_t *strides = malloc(sizeof(int64_t) * HUGE_NDIM);
    assert_non_null(shape);
    assert_non_null(strides);
    fsdt_rng r;
    fsdt_rng_init(&r, fsdt_seed(), 0x22);
    for (int i = 0; i < HUGE_NDIM; i++) {
        shape[i] = 1;
        int64_t v = (int64_t)fsdt_rng_next(&r);
        strides[i] = i % 5 == 0 ? INT64_MIN : i % 5 == 1 ? INT64_MAX : v;
    }
    static const int bits[] = {8, 16, 32, 64, 128};
    for (int b = 0; b < 5; b++) {
        size_t es = (size_t)bits[b] / 8, n = 0;
        for (int with_strides = 0; with_strides < 2; with_strides++) {
            DLTensor t = tensor(HUGE_NDIM, shape, with_strides ? strides : NULL, bits[b], 1);
            t.byte_offset = 100;
            fresh();
            for (size_t k = 0; k < es; k++)
                g_store[100 + k] = (unsigned char)(k + 1);
            EXPECT(fsd_packed_size(&t, &n), FSD_SUCCESS);
            assert_int_equal(n, es);
            EXPECT(fsd_pack(&t, g_buf, es, NULL), FSD_SUCCESS);
            assert_memory_equal(g_buf, g_store + 100, es);
            assert_int_equal(g_buf[es], BUF_FILL);
            for (size_t k = 0; k < es; k++)
                g_buf[k] = (unsigned char)(0xA0 + k);
            EXPECT(fsd_unpack(g_buf, es, &t, NULL), FSD_SUCCESS);
            assert_memory_equal(g_store + 100, g_buf, es);
            assert_int_equal(g_store[99], STORE_FILL);
            assert_int_equal(g_store[100 + es], STORE_FILL);
            /* wrong sizes: refused */
            EXPECT(fsd_pack(&t, g_buf, es - 1, NULL), FSD_ERROR_SIZE_MISMATCH);
            EXPECT(fsd_unpack(g_buf, es + 1, &t, NULL), FSD_ERROR_SIZE_MISMATCH);
        }
    }
    /* one zero among them: nothing to copy */
    shape[HUGE_NDIM / 2] = 0;
    DLTensor t = tensor(HUGE_NDIM, shape, strides, 32, 1);
    size_t n = 5;
    EXPECT(fsd_packed_size(&t, &n), FSD_SUCCESS);
    assert_int_equal(n, 0);
    fresh();
    EXPECT(fsd_pack(&t, NULL, 0, NULL), FSD_SUCCESS);
    EXPECT(fsd_unpack(g_buf, 0, &t, NULL), FSD_SUCCESS);
    UNTOUCHED();
    /* one negative among them: invalid */
    shape[HUGE_NDIM / 2] = -1;
    REJECT_ALL(t, FSD_ERROR_INVALID_ARGUMENT);
    free(shape);
    free(strides);
}

/*
 * `k` dims of size 2 placed at random positions among `ndim` dims of size 1, with strides a
 * permutation of 2^0 .. 2^(k-1) elements, some negated: a bijection onto 2^k elements. The
 * expected packed bytes are computed here from the bits of the packed index.
 */
static void check_size2_bijection(fsdt_rng *r, int ndim, int k, int es)
{
    int64_t *shape = malloc(sizeof(int64_t) * (size_t)ndim);
    int64_t *strides = malloc(sizeof(int64_t) * (size_t)ndim);
    int *pos = malloc(sizeof(int) * (size_t)k);
    assert_true(shape && strides && pos);
    for (int i = 0; i < ndim; i++) {
        shape[i] = 1;
        strides[i] = (int64_t)fsdt_rng_next(r); /* ignored */
    }
    /* k distinct ascending positions */
    for (int j = 0; j < k; j++) {
        int p;
        do {
            p = (int)fsdt_rng_range(r, 0, ndim - 1);
        } while (shape[p] == 2);
        shape[p] = 2;
    }
    for (int i = 0, j = 0; i < ndim; i++)
        if (shape[i] == 2)
            pos[j++] = i;
    int perm[32];
    for (int j = 0; j < k; j++)
        perm[j] = j;
    for (int j = k - 1; j > 0; j--) {
        int m = (int)fsdt_rng_range(r, 0, j);
        int x = perm[j];
        perm[j] = perm[m];
        perm[m] = x;
    }
    size_t count = (size_t)1 << k, bytes = count * (size_t)es;
    int64_t base = 0; /* element offset of [0, ..., 0]: the sum of the negated strides */
    for (int j = 0; j < k; j++) {
        int64_t s = (int64_t)1 << perm[j];
        if (fsdt_rng_range(r, 0, 2) == 0) {
            s = -s;
            base -= s;
        }
        strides[pos[j]] = s;
    }
    unsigned char *store = fsdt_guarded_alloc(bytes, 0);
    fsdt_rng_fill(r, store, bytes);
    unsigned char *want = malloc(bytes);
    unsigned char *got = fsdt_guarded_alloc(bytes, 0x77);
    assert_true(want != NULL);
    for (size_t i = 0; i < count; i++) {
        int64_t e = base;
        for (int j = 0; j < k; j++) /* dim pos[j] is bit k-1-j of the row-major index */
            if ((i >> (k - 1 - j)) & 1u)
                e += strides[pos[j]];
        memcpy(want + i * (size_t)es, store + e * es, (size_t)es);
    }
    DLTensor t = tensor(ndim, shape, strides, 8 * es, 1);
    t.data = store;
    t.byte_offset = (uint64_t)(base * es);
    size_t n = 0;
    EXPECT(fsd_packed_size(&t, &n), FSD_SUCCESS);
    assert_int_equal(n, bytes);
    EXPECT(fsd_pack(&t, got, bytes, NULL), FSD_SUCCESS);
    long d = fsdt_first_diff(want, got, bytes);
    if (d >= 0)
        fail_msg("%d dims, %d of size 2, %d-byte elements: packed byte %ld differs", ndim, k, es, d);
    assert_true(fsdt_guards_intact(got, bytes));
    /* unpack the reverse of the packed bytes into a cleared copy, then pack again */
    for (size_t i = 0; i < bytes; i++)
        got[i] = want[bytes - 1 - i];
    memset(store, 0, bytes);
    EXPECT(fsd_unpack(got, bytes, &t, NULL), FSD_SUCCESS);
    assert_true(fsdt_guards_intact(store, bytes));
    unsigned char *again = fsdt_guarded_alloc(bytes, 0);
    EXPECT(fsd_pack(&t, again, bytes, NULL), FSD_SUCCESS);
    d = fsdt_first_diff(got, again, bytes);
    if (d >= 0)
        fail_msg("%d dims, %d of size 2: unpack then pack differs at byte %ld", ndim, k, d);
    fsdt_guarded_free(again);
    fsdt_guarded_free(got);
    fsdt_guarded_free(store);
    free(want);
    free(pos);
    free(strides);
    free(shape);
}

void test_many_size2_dims(void **state)
{
    (void)state;
    fsdt_rng r;
    fsdt_rng_init(&r, fsdt_seed(), 0x33);
    check_size2_bijection(&r, HUGE_NDIM, 16, 2);
    check_size2_bijection(&r, 20, 20, 1);
    check_size2_bijection(&r, 64, 17, 3);
    for (int i = 0; i < 20; i++)
        check_size2_bijection(&r, (int)fsdt_rng_range(&r, 12, 200), (int)fsdt_rng_range(&r, 1, 12),
                              (int)fsdt_rng_range(&r, 1, 16));

    /* 62 dims of size 2 and 1-byte elements: 2^62 bytes, representable; 63: 2^63, not */
    int64_t shape[70], strides[70];
    for (int i = 0; i < 70; i++)
        shape[i] = 2;
    size_t n = 0;
    DLTensor t = tensor(62, shape, NULL, 8, 1);
    EXPECT(fsd_packed_size(&t, &n), FSD_SUCCESS);
    assert_true(n == (size_t)1 << 62);
    fresh();
    EXPECT(fsd_pack(&t, g_buf, BUF, NULL), FSD_ERROR_SIZE_MISMATCH);
    EXPECT(fsd_unpack(g_buf, BUF, &t, NULL), FSD_ERROR_SIZE_MISMATCH);
    UNTOUCHED();
    t.ndim = 63;
    REJECT_ALL(t, FSD_ERROR_OVERFLOW);
    t.ndim = 70;
    REJECT_ALL(t, FSD_ERROR_OVERFLOW);
    t = tensor(61, shape, NULL, 16, 1); /* 2^62 bytes */
    EXPECT(fsd_packed_size(&t, &n), FSD_SUCCESS);
    t = tensor(61, shape, NULL, 32, 1); /* 2^63 bytes */
    REJECT_ALL(t, FSD_ERROR_OVERFLOW);
    t = tensor(20, shape, NULL, 248, 65535); /* 2^20 * 31 * 65535 bytes: fits */
    EXPECT(fsd_packed_size(&t, &n), FSD_SUCCESS);
    assert_true(n == ((size_t)1 << 20) * 31u * 65535u);
    t = tensor(45, shape, NULL, 248, 65535); /* 2^45 * 31 * 65535 > 2^63 */
    REJECT_ALL(t, FSD_ERROR_OVERFLOW);

    /* 62 dims of size 2 with strides 2^61 .. 2^0 (nested; elements up to 2^62 - 1 bytes from
     * data): valid, refused only by the buffer sizes. */
    for (int i = 0; i < 62; i++)
        strides[i] = (int64_t)1 << (61 - i);
    t = tensor(62, shape, strides, 8, 1);
    fresh();
    EXPECT(fsd_pack(&t, g_buf, BUF, NULL), FSD_ERROR_SIZE_MISMATCH);
    EXPECT(fsd_unpack(g_buf, BUF, &t, NULL), FSD_ERROR_SIZE_MISMATCH);
    UNTOUCHED();
    /* the same dims, all of stride 1: the offsets fit (62 bytes), but they alias */
    for (int i = 0; i < 62; i++)
        strides[i] = 1;
    EXPECT(fsd_unpack(g_buf, (size_t)1 << 62, &t, NULL), FSD_ERROR_ALIASING);
    UNTOUCHED();
    /* stride 2^62 on one dim of size 2 and 1s elsewhere: offsets reach 2^62 + 61, fine; with
     * a second 2^62 they reach 2^63: overflow */
    strides[0] = (int64_t)1 << 62;
    fresh();
    EXPECT(fsd_pack(&t, g_buf, BUF, NULL), FSD_ERROR_SIZE_MISMATCH);
    strides[1] = (int64_t)1 << 62;
    REJECT_ALL(t, FSD_ERROR_OVERFLOW);
}
