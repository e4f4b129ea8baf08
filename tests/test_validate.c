/*
 * test_validate.c — every bad input gives its documented status and leaves every buffer
 * untouched; the edge cases that must work (0-d, zero-size, NULL data without elements, 1000
 * dims of size 1, ignored strides of size-1 dims) do; fsd_status_string, fsd_last_error and
 * fsd_version keep their contracts.
 *
 * EXPECT(call, status) also checks fsd_last_error: non-empty after a failure, empty after a
 * success. Buffers are guarded (fsd_cases.h) and filled with a pattern that is compared after
 * every rejected call.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <threads.h>

#include <cuda_runtime_api.h>

#include "fastserde.h"
#include "fsd_cases.h"

#define STORE 4096 /* bytes of the test storage */
#define DST 4096   /* bytes of the test dst / src */
#define STORE_FILL 0x3C
#define DST_FILL 0xE7

#include "fsdt_cuda_ok.h"
#include "fsdt_expect.h"
#include "fsdt_guarded_fixture.h"

/* Buffers shared by the tests, refilled by fresh() and compared by UNTOUCHED(). */
static unsigned char *g_store, *g_dst;
static const fsdt_guarded_buf g_bufs[] = {
    {&g_store, STORE, STORE_FILL, "storage"},
    {&g_dst, DST, DST_FILL, "dst/src"},
};

static void fresh(void) { fsdt_fixture_refill(g_bufs, FSDT_NBUFS(g_bufs)); }
#define UNTOUCHED() fsdt_fixture_untouched(g_bufs, FSDT_NBUFS(g_bufs), __LINE__)

static int setup(void **state)
{
    (void)state;
    fsdt_fixture_setup(g_bufs, FSDT_NBUFS(g_bufs));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fsdt_fixture_teardown(g_bufs, FSDT_NBUFS(g_bufs));
    return 0;
}

/* A host tensor over g_store: shape/strides are the caller's arrays (not copied). */
static DLTensor tensor(int ndim, int64_t *shape, int64_t *strides, int bits, int lanes)
{
    return fsdt_host_tensor(g_store, ndim, shape, strides, bits, lanes);
}

/* The three entry points reject `t` with `want`, writing nothing. */
#define EXPECT_ALL_REJECT(t, want, also_packed_size)                                         \
    do {                                                                                     \
        size_t n_ = 777;                                                                     \
        fresh();                                                                             \
        if (also_packed_size) {                                                              \
            EXPECT(fsd_packed_size(&(t), &n_), (want));                                      \
            assert_int_equal(n_, 777);                                                       \
        }                                                                                    \
        EXPECT(fsd_pack(&(t), g_dst, DST, NULL), (want));                                    \
        UNTOUCHED();                                                                         \
        EXPECT(fsd_unpack(g_dst, DST, &(t), NULL), (want));                                  \
        UNTOUCHED();                                                                         \
    } while (0)

/* ------------------------------------------------------------------------------------------ */

static void test_version(void **state)
{
    (void)state;
    assert_int_equal(fsd_version(), FSD_VERSION_NUMBER);
}

static void test_status_strings(void **state)
{
    (void)state;
    const char *s[FSD_ERROR_INTERNAL + 3];
    int n = 0;
    for (int code = FSD_SUCCESS; code <= FSD_ERROR_INTERNAL; code++)
        s[n++] = fsd_status_string((fsd_status)code);
    s[n++] = fsd_status_string((fsd_status)1234);
    s[n++] = fsd_status_string((fsd_status)-1);
    for (int i = 0; i < n; i++) {
        assert_non_null(s[i]);
        assert_true(strlen(s[i]) > 0);
        for (int j = 0; j < i && j <= FSD_ERROR_INTERNAL; j++)
            if (strcmp(s[i], s[j]) == 0)
                fail_msg("status strings %d and %d are both \"%s\"", i, j, s[i]);
    }
    assert_string_equal(fsd_status_string(FSD_ERROR_ALIASING),
                        fsd_status_string(FSD_ERROR_ALIASING)); /* static and stable */
}

static void test_last_error(void **state)
{
    (void)state;
    size_t n;
    char full[1024], small[8];
    EXPECT(fsd_packed_size(NULL, &n), FSD_ERROR_INVALID_ARGUMENT);
    size_t len = fsd_last_error(NULL, 0);
    assert_true(len > 0 && len < sizeof full);
    assert_int_equal(fsd_last_error(full, sizeof full), len);
    assert_int_equal(strlen(full), len);

    memset(small, 'x', sizeof small);
    assert_int_equal(fsd_last_error(small, 4), len); /* cut: still the full length */
    assert_int_equal(small[3], '\0');
    assert_memory_equal(small, full, 3);
    assert_int_equal(small[4], 'x');
    assert_int_equal(fsd_last_error(small, 1), len);
    assert_int_equal(small[0], '\0');
    small[0] = 'y';
    assert_int_equal(fsd_last_error(small, 0), len); /* len 0: nothing written */
    assert_int_equal(small[0], 'y');

    /* reading the message does not clear it */
    assert_int_equal(fsd_last_error(NULL, 0), len);

    /* a success clears it */
    int64_t shape[1] = {4};
    DLTensor t = tensor(1, shape, NULL, 8, 1);
    EXPECT(fsd_packed_size(&t, &n), FSD_SUCCESS);
    assert_int_equal(fsd_last_error(full, sizeof full), 0);
    assert_string_equal(full, "");
}

static int other_thread(void *arg)
{
    size_t *len = arg;
    len[0] = fsd_last_error(NULL, 0); /* a fresh thread: empty */
    int64_t shape[1] = {-1};
    DLTensor t = tensor(1, shape, NULL, 8, 1);
    size_t n;
    (void)fsd_packed_size(&t, &n);
    len[1] = fsd_last_error(NULL, 0);
    return 0;
}

static void test_last_error_per_thread(void **state)
{
    (void)state;
    size_t len[2] = {99, 0};
    char before[1024], after[1024];
    EXPECT(fsd_pack(NULL, g_dst, DST, NULL), FSD_ERROR_INVALID_ARGUMENT);
    fsd_last_error(before, sizeof before);
    thrd_t th;
    assert_int_equal(thrd_create(&th, other_thread, len), thrd_success);
    assert_int_equal(thrd_join(th, NULL), thrd_success);
    assert_int_equal(len[0], 0);
    assert_true(len[1] > 0);
    fsd_last_error(after, sizeof after);
    assert_string_equal(before, after);
}

static void test_null_pointers(void **state)
{
    (void)state;
    int64_t shape[2] = {4, 8};
    DLTensor t = tensor(2, shape, NULL, 8, 1);
    size_t n = 777;
    fresh();
    EXPECT(fsd_packed_size(NULL, &n), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_packed_size(&t, NULL), FSD_ERROR_INVALID_ARGUMENT);
    assert_int_equal(n, 777);
    EXPECT(fsd_pack(NULL, g_dst, DST, NULL), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_pack(&t, NULL, DST, NULL), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_unpack(g_dst, 32, NULL, NULL), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_unpack(NULL, 32, &t, NULL), FSD_ERROR_INVALID_ARGUMENT);
    UNTOUCHED();
    /* data NULL while there are elements */
    t.data = NULL;
    EXPECT(fsd_pack(&t, g_dst, DST, NULL), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_unpack(g_dst, 32, &t, NULL), FSD_ERROR_INVALID_ARGUMENT);
    UNTOUCHED();
    /* fsd_packed_size reads no data */
    EXPECT(fsd_packed_size(&t, &n), FSD_SUCCESS);
    assert_int_equal(n, 32);
}

static void test_bad_shape(void **state)
{
    (void)state;
    int64_t shape[3] = {4, 8, 2};
    DLTensor t = tensor(3, shape, NULL, 8, 1);
    t.ndim = -1;
    EXPECT_ALL_REJECT(t, FSD_ERROR_INVALID_ARGUMENT, 1);
    t.ndim = INT32_MIN;
    EXPECT_ALL_REJECT(t, FSD_ERROR_INVALID_ARGUMENT, 1);
    t = tensor(3, NULL, NULL, 8, 1);
    EXPECT_ALL_REJECT(t, FSD_ERROR_INVALID_ARGUMENT, 1);
    for (int d = 0; d < 3; d++) {
        int64_t bad[3] = {4, 8, 2};
        bad[d] = d == 1 ? INT64_MIN : -1;
        t = tensor(3, bad, NULL, 8, 1);
        EXPECT_ALL_REJECT(t, FSD_ERROR_INVALID_ARGUMENT, 1);
    }
    /* a negative dim next to a zero one is still invalid */
    int64_t neg0[2] = {0, -3};
    t = tensor(2, neg0, NULL, 8, 1);
    EXPECT_ALL_REJECT(t, FSD_ERROR_INVALID_ARGUMENT, 1);
}

static void test_bad_dtype(void **state)
{
    (void)state;
    int64_t shape[1] = {16};
    DLTensor t = tensor(1, shape, NULL, 0, 1); /* bits 0 */
    EXPECT_ALL_REJECT(t, FSD_ERROR_INVALID_ARGUMENT, 1);
    t = tensor(1, shape, NULL, 8, 0); /* lanes 0 */
    EXPECT_ALL_REJECT(t, FSD_ERROR_INVALID_ARGUMENT, 1);
    static const int sub_byte[] = {1, 4, 7, 12, 20, 33, 255};
    for (size_t i = 0; i < sizeof sub_byte / sizeof sub_byte[0]; i++) {
        t = tensor(1, shape, NULL, sub_byte[i], 1);
        EXPECT_ALL_REJECT(t, FSD_ERROR_UNSUPPORTED, 1);
        t = tensor(1, shape, NULL, sub_byte[i], 2); /* lanes * bits multiple of 8: still no */
        if (sub_byte[i] == 4 || sub_byte[i] == 12 || sub_byte[i] == 20)
            EXPECT_ALL_REJECT(t, FSD_ERROR_UNSUPPORTED, 1);
    }
    /* any code with whole bytes works, even odd sizes */
    t = tensor(1, shape, NULL, 24, 5);
    t.dtype.code = 200;
    size_t n;
    EXPECT(fsd_packed_size(&t, &n), FSD_SUCCESS);
    assert_int_equal(n, 16 * 15);
}

static void test_bad_device(void **state)
{
    (void)state;
    static const int devs[] = {0, kDLOpenCL, 5, 6, kDLVulkan, kDLMetal, kDLVPI, kDLROCM,
                               kDLROCMHost, kDLExtDev, 14, 15, 16, 17, 99, -1};
    int64_t shape[2] = {4, 8};
    for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++) {
        DLTensor t = tensor(2, shape, NULL, 16, 1);
        t.device.device_type = (DLDeviceType)devs[i];
        EXPECT_ALL_REJECT(t, FSD_ERROR_UNSUPPORTED, 1);
    }
}

static void test_size_mismatch(void **state)
{
    (void)state;
    int64_t shape[2] = {4, 8}; /* 64 bytes of 2-byte elements */
    DLTensor t = tensor(2, shape, NULL, 16, 1);
    fresh();
    EXPECT(fsd_pack(&t, g_dst, 63, NULL), FSD_ERROR_SIZE_MISMATCH);
    EXPECT(fsd_pack(&t, g_dst, 1, NULL), FSD_ERROR_SIZE_MISMATCH);
    EXPECT(fsd_pack(&t, g_dst, 0, NULL), FSD_ERROR_SIZE_MISMATCH);
    UNTOUCHED();
    EXPECT(fsd_unpack(g_dst, 63, &t, NULL), FSD_ERROR_SIZE_MISMATCH);
    EXPECT(fsd_unpack(g_dst, 65, &t, NULL), FSD_ERROR_SIZE_MISMATCH);
    EXPECT(fsd_unpack(g_dst, 0, &t, NULL), FSD_ERROR_SIZE_MISMATCH);
    EXPECT(fsd_unpack(g_dst, DST, &t, NULL), FSD_ERROR_SIZE_MISMATCH);
    UNTOUCHED();
    /* larger dst is fine for pack; exactly the packed size is written */
    EXPECT(fsd_pack(&t, g_dst, DST, NULL), FSD_SUCCESS);
    assert_memory_equal(g_dst, g_store, 64);
    assert_int_equal(g_dst[64], DST_FILL);
    /* zero-size tensor: src_size must be 0 */
    int64_t empty[2] = {0, 8};
    t = tensor(2, empty, NULL, 16, 1);
    fresh();
    EXPECT(fsd_unpack(g_dst, 1, &t, NULL), FSD_ERROR_SIZE_MISMATCH);
    UNTOUCHED();
}

static void test_overflow_packed_size(void **state)
{
    (void)state;
    const int64_t p62 = (int64_t)1 << 62, p32 = (int64_t)1 << 32;
    struct {
        int ndim;
        int64_t shape[3];
        int bits, lanes;
    } over[] = {
        {2, {p62, 4}, 8, 1},   {1, {p62}, 16, 1},      {2, {p32, p32}, 8, 1},
        {2, {3, p62}, 8, 1},   {1, {p62 / 4}, 128, 1}, {1, {INT64_MAX}, 16, 1},
        {2, {p32, 4096}, 248, 65535}, {2, {INT64_MAX, INT64_MAX}, 8, 1},
    };
    for (size_t i = 0; i < sizeof over / sizeof over[0]; i++) {
        DLTensor t = tensor(over[i].ndim, over[i].shape, NULL, over[i].bits, over[i].lanes);
        EXPECT_ALL_REJECT(t, FSD_ERROR_OVERFLOW, 1);
    }
    /* the largest size that fits */
    int64_t max[1] = {INT64_MAX};
    DLTensor t = tensor(1, max, NULL, 8, 1);
    size_t n = 0;
    EXPECT(fsd_packed_size(&t, &n), FSD_SUCCESS);
    assert_true(n == (size_t)INT64_MAX);
    /* a zero dim makes the product 0, whatever comes before it */
    int64_t zero[3] = {p62, p62, 0};
    t = tensor(3, zero, NULL, 8, 1);
    EXPECT(fsd_packed_size(&t, &n), FSD_SUCCESS);
    assert_int_equal(n, 0);
    /* 70 dims of size 2: 2^70 bytes */
    int64_t many[70];
    for (int i = 0; i < 70; i++)
        many[i] = 2;
    t = tensor(70, many, NULL, 8, 1);
    EXPECT_ALL_REJECT(t, FSD_ERROR_OVERFLOW, 1);
    t.ndim = 62; /* 2^62 bytes: fits */
    EXPECT(fsd_packed_size(&t, &n), FSD_SUCCESS);
    assert_true(n == ((size_t)1 << 62));
}

static void test_overflow_strides(void **state)
{
    (void)state;
    const int64_t p62 = (int64_t)1 << 62;
    /* byte_offset TOP: data + byte_offset is the last address; element 1 would wrap */
    const uint64_t TOP = 1;
    struct {
        int ndim;
        int64_t shape[2], strides[2];
        int bits;
        uint64_t byte_offset;
        int nests; /* 0: unpack may report ALIASING first */
    } over[] = {
        {1, {3}, {p62}, 32, 0, 1},          /* 2 * 2^62 * 4 bytes                */
        {1, {2}, {INT64_MIN}, 8, 0, 1},     /* 2^63 bytes below data             */
        {2, {2, 2}, {p62, p62}, 8, 0, 0},   /* offsets sum to 2^63               */
        {1, {2}, {-p62}, 32, 16, 1},        /* -2^64 bytes                       */
        {1, {5}, {p62 / 2}, 8, 0, 1},       /* 4 * 2^61 = 2^63                   */
        {1, {1}, {1}, 8, UINT64_MAX, 1},    /* data + byte_offset wraps          */
        {1, {2}, {1}, 8, TOP, 1},           /* element 1 wraps                   */
        {1, {1}, {1}, 16, TOP, 1},          /* the element's second byte wraps   */
        {1, {2}, {1}, 8, INT64_MAX, 1},     /* offsets from data past 2^63 - 1   */
        {1, {1}, {1}, 8, (uint64_t)INT64_MAX + 1, 1}, /* byte_offset alone past it */
    };
    for (size_t i = 0; i < sizeof over / sizeof over[0]; i++) {
        DLTensor t = tensor(over[i].ndim, over[i].shape, over[i].strides, over[i].bits, 1);
        t.byte_offset = over[i].byte_offset;
        if (t.byte_offset == TOP)
            t.byte_offset = (uint64_t)(UINTPTR_MAX - (uintptr_t)g_store);
        size_t packed = (size_t)over[i].shape[0] * (over[i].ndim == 2 ? 2u : 1u) *
                        (size_t)over[i].bits / 8u;
        print_message("overflow case %zu\n", i);
        fresh();
        EXPECT(fsd_pack(&t, g_dst, DST, NULL), FSD_ERROR_OVERFLOW);
        UNTOUCHED();
        fsd_status st = fsd_unpack(g_dst, packed, &t, NULL);
        if (!over[i].nests && st == FSD_ERROR_ALIASING)
            st = FSD_ERROR_OVERFLOW;
        EXPECT(st, FSD_ERROR_OVERFLOW);
        UNTOUCHED();
    }
}

/* Strides of size-1 dims are ignored, whatever their value. */
static void test_size1_garbage_strides(void **state)
{
    (void)state;
    int64_t shape[4] = {1, 3, 1, 5};
    int64_t strides[4] = {INT64_MIN, 5, INT64_MAX, 1};
    DLTensor t = tensor(4, shape, strides, 8, 1);
    fresh();
    for (int i = 0; i < 15; i++)
        g_store[i] = (unsigned char)i;
    EXPECT(fsd_pack(&t, g_dst, 15, NULL), FSD_SUCCESS);
    assert_memory_equal(g_dst, g_store, 15);
    for (int i = 0; i < 15; i++)
        g_dst[i] = (unsigned char)(100 + i);
    EXPECT(fsd_unpack(g_dst, 15, &t, NULL), FSD_SUCCESS);
    assert_memory_equal(g_dst, g_store, 15);
    assert_int_equal(g_store[15], STORE_FILL);
}

static void test_huge_ndim(void **state)
{
    (void)state;
    static int64_t shape[1000], strides[1000];
    for (int i = 0; i < 1000; i++) {
        shape[i] = 1;
        strides[i] = (i % 3 == 0) ? INT64_MAX : -7 * i;
    }
    size_t n = 0;
    /* 1000 dims of size 1: one element */
    DLTensor t = tensor(1000, shape, NULL, 32, 1);
    fresh();
    memcpy(g_store, "abcd", 4);
    EXPECT(fsd_packed_size(&t, &n), FSD_SUCCESS);
    assert_int_equal(n, 4);
    EXPECT(fsd_pack(&t, g_dst, DST, NULL), FSD_SUCCESS);
    assert_memory_equal(g_dst, "abcd", 4);
    assert_int_equal(g_dst[4], DST_FILL);
    t.strides = strides;
    memcpy(g_dst, "wxyz", 4);
    EXPECT(fsd_unpack(g_dst, 4, &t, NULL), FSD_SUCCESS);
    assert_memory_equal(g_store, "wxyz", 4);
    assert_int_equal(g_store[4], STORE_FILL);

    /* ten dims of size 2 among them, strides 2^k reversed: packing reverses the index bits */
    int pos[10] = {3, 97, 150, 151, 400, 555, 700, 801, 950, 999};
    for (int k = 0; k < 10; k++) {
        shape[pos[k]] = 2;
        strides[pos[k]] = (int64_t)1 << k;
    }
    t = tensor(1000, shape, strides, 8, 1);
    fresh();
    for (int i = 0; i < 1024; i++)
        g_store[i] = (unsigned char)(i * 7 + (i >> 8));
    EXPECT(fsd_pack(&t, g_dst, DST, NULL), FSD_SUCCESS);
    for (unsigned i = 0; i < 1024; i++) {
        unsigned rev = 0;
        for (int k = 0; k < 10; k++)
            rev |= ((i >> (9 - k)) & 1u) << k;
        if (g_dst[i] != g_store[rev])
            fail_msg("1000-dim pack: byte %u is %u, expected storage[%u] = %u", i, g_dst[i],
                     rev, g_store[rev]);
    }
    assert_int_equal(g_dst[1024], DST_FILL);
    /* and back: unpack into a cleared storage restores it */
    memset(g_store, 0, 1024);
    EXPECT(fsd_unpack(g_dst, 1024, &t, NULL), FSD_SUCCESS);
    for (int i = 0; i < 1024; i++)
        assert_int_equal(g_store[i], (unsigned char)(i * 7 + (i >> 8)));
    assert_int_equal(g_store[1024], STORE_FILL);
}

static void test_zero_elements(void **state)
{
    (void)state;
    int64_t shape[3] = {5, 0, 7};
    int64_t strides[3] = {0, 0, -3}; /* anything goes without elements */
    DLTensor t = tensor(3, shape, NULL, 64, 1);
    size_t n = 1;
    fresh();
    EXPECT(fsd_packed_size(&t, &n), FSD_SUCCESS);
    assert_int_equal(n, 0);
    EXPECT(fsd_pack(&t, g_dst, DST, NULL), FSD_SUCCESS);
    EXPECT(fsd_pack(&t, g_dst, 0, NULL), FSD_SUCCESS);
    EXPECT(fsd_unpack(g_dst, 0, &t, NULL), FSD_SUCCESS);
    UNTOUCHED();
    t.data = NULL; /* data and the other buffer may be NULL */
    EXPECT(fsd_pack(&t, NULL, 0, NULL), FSD_SUCCESS);
    EXPECT(fsd_unpack(NULL, 0, &t, NULL), FSD_SUCCESS);
    t.strides = strides;
    EXPECT(fsd_pack(&t, NULL, 0, NULL), FSD_SUCCESS);
    UNTOUCHED();
}

static void test_zero_d(void **state)
{
    (void)state;
    DLTensor t = tensor(0, NULL, NULL, 32, 1);
    size_t n = 0;
    fresh();
    memcpy(g_store, "1234", 4);
    EXPECT(fsd_packed_size(&t, &n), FSD_SUCCESS);
    assert_int_equal(n, 4);
    EXPECT(fsd_pack(&t, g_dst, 3, NULL), FSD_ERROR_SIZE_MISMATCH);
    assert_int_equal(g_dst[0], DST_FILL);
    t.byte_offset = 1;
    EXPECT(fsd_pack(&t, g_dst, 4, NULL), FSD_SUCCESS);
    assert_memory_equal(g_dst, "234\x3c", 4);
    assert_int_equal(g_dst[4], DST_FILL);
    EXPECT(fsd_unpack("wxyz", 4, &t, NULL), FSD_SUCCESS);
    assert_memory_equal(g_store, "1wxyz\x3c", 6);
    t.data = NULL;
    EXPECT(fsd_pack(&t, g_dst, 4, NULL), FSD_ERROR_INVALID_ARGUMENT);
}

static void test_aliasing_destination(void **state)
{
    (void)state;
    int64_t shape[2] = {3, 4};
    int64_t bcast[2] = {0, 1};      /* zero stride on a dim of 3 */
    int64_t interleave[2] = {4, 3}; /* disjoint ([3,4] over [4,3], gcd 1) but not nesting */
    int64_t overlap[2] = {2, 1};    /* overlapping rows */
    int64_t *bad[3] = {bcast, interleave, overlap};
    for (int i = 0; i < 3; i++) {
        DLTensor t = tensor(2, shape, bad[i], 16, 1);
        fresh();
        EXPECT(fsd_unpack(g_dst, 24, &t, NULL), FSD_ERROR_ALIASING);
        UNTOUCHED();
        /* reading such a view is fine */
        EXPECT(fsd_pack(&t, g_dst, 24, NULL), FSD_SUCCESS);
    }
    /* zero stride on a size-1 dim is fine */
    int64_t one[2] = {1, 4}, s1[2] = {0, 1};
    DLTensor t = tensor(2, one, s1, 16, 1);
    fresh();
    EXPECT(fsd_unpack(g_dst, 8, &t, NULL), FSD_SUCCESS);
    assert_memory_equal(g_store, g_dst, 8);
    assert_int_equal(g_store[8], STORE_FILL);
    /* broadcast read: each row repeats row 0 */
    t = tensor(2, shape, bcast, 16, 1);
    fresh();
    for (int i = 0; i < 8; i++)
        g_store[i] = (unsigned char)i;
    EXPECT(fsd_pack(&t, g_dst, 24, NULL), FSD_SUCCESS);
    for (int r = 0; r < 3; r++)
        assert_memory_equal(g_dst + 8 * r, g_store, 8);
}

static void test_cuda_host_is_cpu(void **state)
{
    (void)state;
    int64_t shape[1] = {16};
    DLTensor t = tensor(1, shape, NULL, 8, 1);
    t.device.device_type = kDLCUDAHost;
    fresh();
    EXPECT(fsd_pack(&t, g_dst, 16, NULL), FSD_SUCCESS);
    assert_memory_equal(g_dst, g_store, 16);
}

static void test_cuda_without_gpu(void **state)
{
    (void)state;
    if (fsdt_gpu_present()) {
        print_message("a GPU is present: the no-GPU statuses are not observable here\n");
        skip();
    }
    int64_t shape[2] = {4, 8};
    static const int devs[2] = {kDLCUDA, kDLCUDAManaged};
    for (int i = 0; i < 2; i++) {
        DLTensor t = tensor(2, shape, NULL, 8, 1);
        t.device.device_type = (DLDeviceType)devs[i];
        size_t n = 0;
        EXPECT(fsd_packed_size(&t, &n), FSD_SUCCESS);
        assert_int_equal(n, 32);
        fresh();
        EXPECT(fsd_pack(&t, g_dst, 32, NULL), FSD_ERROR_NO_GPU);
        EXPECT(fsd_unpack(g_dst, 32, &t, NULL), FSD_ERROR_NO_GPU);
        UNTOUCHED();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_status_strings),
        cmocka_unit_test(test_last_error),
        cmocka_unit_test(test_last_error_per_thread),
        cmocka_unit_test(test_null_pointers),
        cmocka_unit_test(test_bad_shape),
        cmocka_unit_test(test_bad_dtype),
        cmocka_unit_test(test_bad_device),
        cmocka_unit_test(test_size_mismatch),
        cmocka_unit_test(test_overflow_packed_size),
        cmocka_unit_test(test_overflow_strides),
        cmocka_unit_test(test_size1_garbage_strides),
        cmocka_unit_test(test_huge_ndim),
        cmocka_unit_test(test_zero_elements),
        cmocka_unit_test(test_zero_d),
        cmocka_unit_test(test_aliasing_destination),
        cmocka_unit_test(test_cuda_host_is_cpu),
        cmocka_unit_test(test_cuda_without_gpu),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
