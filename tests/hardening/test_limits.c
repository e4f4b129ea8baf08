/*
 * test_limits.c — tensors at the edges of the integer ranges: shapes whose products overflow,
 * dimensions near INT64_MAX, 100000 dimensions of size 1, many dimensions of size 2, strides
 * whose byte offsets overflow (upwards, below address 0, past the top of the address space),
 * byte_offset near 2^63. Each must give a clear status (FSD_ERROR_OVERFLOW, ..._INVALID_ARGUMENT,
 * ..._SIZE_MISMATCH) and write nothing: every buffer is guarded and compared after each call.
 *
 * The random checks compare the library's verdict with exact 128-bit arithmetic done here
 * (independent of host/layout.c). Where an accepted tensor's `data` is not real memory, the
 * calls get dst_size / src_size 0 so that a correct library stops at the size check; a library
 * that went on would read or write wild addresses and crash the test (a failure, as it should).
 *
 * FSD_TEST_SEED replays the random part; FSD_TEST_CASES scales it (default 20000).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fastserde.h"
#include "fsd_cases.h"

/* Under ASan, a malloc far beyond the RAM must return NULL (the library's OUT_OF_MEMORY path)
 * rather than abort the process. Ignored in other builds. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

#define STORE 4096
#define BUF 4096
#define STORE_FILL 0x3C
#define BUF_FILL 0xE7

typedef unsigned __int128 u128;
typedef __int128 i128;

static unsigned char *g_store; /* what tensors point at                */
static unsigned char *g_buf;   /* the packed side: pack's dst, unpack's src */

static void fresh(void)
{
    memset(g_store, STORE_FILL, STORE);
    memset(g_buf, BUF_FILL, BUF);
}

static void untouched_(int line)
{
    for (size_t i = 0; i < STORE; i++)
        if (g_store[i] != STORE_FILL)
            fail_msg("line %d: storage byte %zu was written", line, i);
    for (size_t i = 0; i < BUF; i++)
        if (g_buf[i] != BUF_FILL)
            fail_msg("line %d: packed-buffer byte %zu was written", line, i);
    if (!fsdt_guards_intact(g_store, STORE) || !fsdt_guards_intact(g_buf, BUF))
        fail_msg("line %d: guard bytes overwritten", line);
}
#define UNTOUCHED() untouched_(__LINE__)

#include "fsdt_expect.h"

static DLTensor tensor(int ndim, int64_t *shape, int64_t *strides, int bits, int lanes)
{
    DLTensor t;
    memset(&t, 0, sizeof t);
    t.data = g_store;
    t.device.device_type = kDLCPU;
    t.ndim = ndim;
    t.dtype.code = kDLUInt;
    t.dtype.bits = (uint8_t)bits;
    t.dtype.lanes = (uint16_t)lanes;
    t.shape = shape;
    t.strides = strides;
    return t;
}

/* pack and unpack both reject `t` with `want` (unpack: ALIASING also accepted when the
 * tensor may alias, since that check may come first) and write nothing. The sizes passed are
 * the full buffer: only validation can stop the calls. */
static void reject_all_(const DLTensor *t, fsd_status want, int line)
{
    size_t n = 777;
    fresh();
    fsd_status st = fsd_packed_size(t, &n);
    if (want != FSD_ERROR_OVERFLOW || st != FSD_SUCCESS) /* OVERFLOW may be from strides only */
        fsdt_expect_status(st, want, "fsd_packed_size", line);
    if (st != FSD_SUCCESS && n != 777)
        fail_msg("line %d: fsd_packed_size failed but wrote *nbytes", line);
    fsdt_expect_status(fsd_pack(t, g_buf, BUF, NULL), want, "fsd_pack", line);
    untouched_(line);
    st = fsd_unpack(g_buf, BUF, t, NULL);
    if (st == FSD_ERROR_SIZE_MISMATCH || st == FSD_ERROR_ALIASING)
        st = want; /* accepted outcomes for unpack too: both refuse before writing */
    fsdt_expect_status(st, want, "fsd_unpack", line);
    untouched_(line);
}
#define REJECT_ALL(t, want) reject_all_(&(t), (want), __LINE__)

/* ------------------------------------------------------------------------------------------ */
/* Products of the shape                                                                       */

/* Exact packed size, saturated at 2^64 (anything above 2^63 - 1 must be OVERFLOW). */
static u128 exact_size(const int64_t *shape, int ndim, uint64_t esize)
{
    u128 p = esize;
    for (int d = 0; d < ndim; d++)
        if (shape[d] == 0)
            return 0;
    for (int d = 0; d < ndim; d++) {
        p *= (uint64_t)shape[d];
        if (p > ((u128)1 << 64))
            p = (u128)1 << 64;
    }
    return p;
}

static int64_t draw_dim(fsdt_rng *r)
{
    switch (fsdt_rng_range(r, 0, 7)) {
    case 0: return fsdt_rng_range(r, 0, 4);
    case 1: return (int64_t)1 << fsdt_rng_range(r, 0, 62);
    case 2: return ((int64_t)1 << fsdt_rng_range(r, 1, 62)) + fsdt_rng_range(r, -1, 1);
    case 3: return INT64_MAX - fsdt_rng_range(r, 0, 3);
    case 4: return INT64_MAX / fsdt_rng_range(r, 2, 1000);
    case 5: return (int64_t)(fsdt_rng_next(r) >> fsdt_rng_range(r, 1, 63));
    case 6: return fsdt_rng_range(r, 1, 100000);
    default: return 1;
    }
}

static void draw_dtype(fsdt_rng *r, int *bits, int *lanes)
{
    static const int b[] = {8, 16, 24, 32, 64, 128, 248};
    static const int l[] = {1, 1, 1, 2, 3, 4, 65535};
    *bits = b[fsdt_rng_range(r, 0, 6)];
    *lanes = l[fsdt_rng_range(r, 0, 6)];
}

/* Random shapes against exact products: packed_size exact or OVERFLOW; pack and unpack of
 * compact tensors over a 4 KiB storage succeed when the packed bytes fit the buffers, fail with
 * SIZE_MISMATCH or OVERFLOW otherwise, and write nothing then. */
static void test_product_overflow_random(void **state)
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
static void test_dims_near_int64_max(void **state)
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

/* ------------------------------------------------------------------------------------------ */
/* Many dimensions                                                                             */

#define HUGE_NDIM 100000

/* 100000 dims of size 1 (strides anything): one element. */
static void test_huge_ndim_size1(void **state)
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

static void test_many_size2_dims(void **state)
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

/* ------------------------------------------------------------------------------------------ */
/* Strides and byte offsets                                                                    */

/* A tensor over a fake address: never dereferenced by a correct library (dst/src sizes 0). */
static DLTensor fake(uintptr_t data, int ndim, int64_t *shape, int64_t *strides, int bits,
                     uint64_t byte_offset)
{
    DLTensor t = tensor(ndim, shape, strides, bits, 1);
    t.data = (void *)data;
    t.byte_offset = byte_offset;
    return t;
}

/* pack (dst_size 0) and unpack (src_size 0) of a tensor with elements: `want` is OVERFLOW,
 * or SIZE_MISMATCH for an accepted layout. Nothing written either way. */
static void sizes0_(const DLTensor *t, fsd_status want, int line)
{
    fresh();
    fsdt_expect_status(fsd_pack(t, g_buf, 0, NULL), want, "fsd_pack(dst_size 0)", line);
    untouched_(line);
    fsdt_expect_status(fsd_unpack(g_buf, 0, t, NULL), want, "fsd_unpack(src_size 0)", line);
    untouched_(line);
}
#define SIZES0(t, want) sizes0_(&(t), (want), __LINE__)

static void test_stride_overflow_table(void **state)
{
    (void)state;
    const int64_t p62 = (int64_t)1 << 62;
    uintptr_t real = (uintptr_t)g_store;
    int64_t sh[2], st[2];
    DLTensor t;
#define T1(n, s, bits, off, data, want)                                                    \
    do {                                                                                   \
        sh[0] = (n);                                                                       \
        st[0] = (s);                                                                       \
        t = fake((data), 1, sh, st, (bits), (off));                                        \
        SIZES0(t, want);                                                                   \
    } while (0)
#define T2(n0, n1, s0, s1, bits, off, data, want)                                          \
    do {                                                                                   \
        sh[0] = (n0);                                                                      \
        sh[1] = (n1);                                                                      \
        st[0] = (s0);                                                                      \
        st[1] = (s1);                                                                      \
        t = fake((data), 2, sh, st, (bits), (off));                                        \
        SIZES0(t, want);                                                                   \
    } while (0)
    const fsd_status OV = FSD_ERROR_OVERFLOW, OK = FSD_ERROR_SIZE_MISMATCH;
    /* stride * element size overflows */
    T1(2, INT64_MAX / 2 + 1, 16, 0, real, OV);
    T1(2, INT64_MAX, 8 * 31, 0, real, OV);
    T1(2, INT64_MIN, 8, 0, real, OV);
    /* 2^63 - 1 bytes below element 0, which lies 2^63 - 2 bytes above data: accepted */
    T1(2, INT64_MIN + 1, 8, (uint64_t)INT64_MAX - 1, 0x1000, OK);
    /* ... times (n - 1) overflows */
    T1(3, p62, 8, 0, real, OV);
    T1(3, INT64_MAX / 2, 8, 0, real, OK); /* 2^63 - 2 bytes from data: accepted */
    T1(3, INT64_MAX / 2 + 1, 8, 0, real, OV);
    T1(5, p62 / 2, 8, 0, real, OV);
    T1(INT64_MAX, 2, 8, 0, real, OV);
    /* sums over dims overflow */
    T2(2, 2, p62, p62, 8, 0, real, OV);
    T2(2, 2, p62, p62 - 2, 8, 0, real, OK); /* last byte at 2^63 - 2: its end fits */
    T2(2, 2, -p62, -p62, 8, (uint64_t)INT64_MAX, UINTPTR_MAX / 2 + 1, OV); /* 2^63 below */
    /* below address 0 */
    T1(2, -4096, 8, 0, 0x1000, OK);  /* element 1 at address 0: inside the address space */
    T1(2, -4097, 8, 0, 0x1000, OV);  /* at -1 */
    T1(2, -1, 32, 0, 4, OK);         /* 4-byte elements: element 1 at address 0 */
    T1(2, -1, 32, 0, 3, OV);         /* at -1 */
    T2(2, 2, p62, -p62, 8, 0, real, OV);
    T1(2, -p62, 32, 16, real, OV);
    /* past the top of the address space: data + byte_offset + extent */
    T1(100, 1, 8, 0, UINTPTR_MAX - 100, OK);
    T1(102, 1, 8, 0, UINTPTR_MAX - 100, OV);
    T1(1, 1, 8, 200, UINTPTR_MAX - 100, OV);
    T1(2, 100, 8, 0, UINTPTR_MAX - 50, OV);
    T1(1, 1, 16, 0, UINTPTR_MAX, OV);
    /* byte_offset near 2^63 */
    T1(1, 1, 8, (uint64_t)INT64_MAX - 1, 0x1000, OK);
    T1(1, 1, 8, (uint64_t)INT64_MAX, 0x1000, OV);
    T1(1, 1, 8, (uint64_t)INT64_MAX + 1, 0x1000, OV);
    T1(1, 1, 8, (uint64_t)INT64_MAX + 2, 0x1000, OV);
    T1(1, 1, 8, UINT64_MAX, 0x1000, OV);
    T1(1, 1, 32, (uint64_t)INT64_MAX - 4, 0x1000, OK);
    T1(1, 1, 32, (uint64_t)INT64_MAX - 3, 0x1000, OV);
    T1(4, 1, 32, (uint64_t)INT64_MAX - 16, 0x1000, OK);
    T1(4, 1, 32, (uint64_t)INT64_MAX - 15, 0x1000, OV);
    T1(4, -1, 32, (uint64_t)INT64_MAX - 4, 0x1000, OK); /* negative stride: extent below */
    T1(2, 1, 8, (uint64_t)1 << 63, 0x1000, OV);
#undef T1
#undef T2
}

/* Exact verdict on a layout: 1 must overflow, 0 must be accepted, -1 either (the boundary of
 * a one-past-the-end byte, where the library may refuse). Offsets in bytes from `data`. */
static int exact_verdict(const DLTensor *t, uint64_t esize)
{
    u128 size = exact_size(t->shape, t->ndim, esize);
    if (size > (u128)INT64_MAX)
        return 1;
    i128 above = 0, below = 0;
    for (int d = 0; d < t->ndim; d++) {
        if (t->shape[d] <= 1)
            continue;
        /* |stride| * esize < 2^84; times (n - 1), saturated at 2^100: sums stay far from 2^127 */
        int64_t s = t->strides[d];
        u128 mag = (u128)(s < 0 ? (uint64_t)0 - (uint64_t)s : (uint64_t)s) * esize;
        u128 n1 = (u128)(uint64_t)(t->shape[d] - 1), cap = (u128)1 << 100;
        u128 span = (mag != 0 && n1 > cap / mag) ? cap : mag * n1;
        if (s >= 0)
            above += (i128)span;
        else
            below += (i128)span;
    }
    i128 first = (i128)(uintptr_t)t->data + (i128)t->byte_offset;
    i128 lo = first - below;              /* lowest byte               */
    i128 hi = first + above + (i128)esize; /* one past the highest byte */
    i128 last_off = (i128)t->byte_offset + above + (i128)esize - 1; /* from data */
    const i128 addr_top = (i128)UINTPTR_MAX;
    if (lo < 0 || hi - 1 > addr_top || last_off > (i128)INT64_MAX || below > (i128)INT64_MAX)
        return 1;
    if (hi <= addr_top && last_off + 1 <= (i128)INT64_MAX)
        return 0;
    return -1;
}

static int64_t draw_stride(fsdt_rng *r)
{
    int64_t s;
    switch (fsdt_rng_range(r, 0, 7)) {
    case 0: s = fsdt_rng_range(r, 0, 8); break;
    case 1: s = (int64_t)1 << fsdt_rng_range(r, 0, 62); break;
    case 2: s = ((int64_t)1 << fsdt_rng_range(r, 40, 62)) + fsdt_rng_range(r, -3, 3); break;
    case 3: s = INT64_MAX - fsdt_rng_range(r, 0, 2); break;
    case 4: s = INT64_MAX / fsdt_rng_range(r, 2, 64); break;
    case 5: return INT64_MIN;
    case 6: s = (int64_t)(fsdt_rng_next(r) >> 1); break;
    default: s = fsdt_rng_range(r, 1, 1 << 20); break;
    }
    return fsdt_rng_range(r, 0, 1) ? -s : s;
}

static uint64_t draw_offset(fsdt_rng *r)
{
    switch (fsdt_rng_range(r, 0, 5)) {
    case 0: return 0;
    case 1: return (uint64_t)fsdt_rng_range(r, 0, 1 << 16);
    case 2: return ((uint64_t)1 << 63) + (uint64_t)fsdt_rng_range(r, -64, 64);
    case 3: return (uint64_t)1 << fsdt_rng_range(r, 0, 63);
    case 4: return UINT64_MAX - (uint64_t)fsdt_rng_range(r, 0, 64);
    default: return fsdt_rng_next(r) >> fsdt_rng_range(r, 0, 63);
    }
}

static uintptr_t draw_data(fsdt_rng *r)
{
    switch (fsdt_rng_range(r, 0, 4)) {
    case 0: return (uintptr_t)g_store;
    case 1: return (uintptr_t)fsdt_rng_range(r, 1, 1 << 20);
    case 2: return UINTPTR_MAX - (uintptr_t)fsdt_rng_range(r, 0, 1 << 20);
    case 3: return ((uintptr_t)1 << 47) + (uintptr_t)fsdt_rng_range(r, -4096, 4096);
    default: return (uintptr_t)fsdt_rng_next(r) | 1u;
    }
}

/* Random strides, offsets and data addresses against the exact verdict. */
static void test_stride_overflow_random(void **state)
{
    (void)state;
    fsdt_rng r;
    fsdt_rng_init(&r, fsdt_seed(), 0x44);
    long cases = fsdt_env_long("FSD_TEST_CASES", 20000);
    long verdicts[3] = {0, 0, 0};
    for (long i = 0; i < cases; i++) {
        int64_t shape[5], strides[5];
        int ndim = (int)fsdt_rng_range(&r, 1, 5);
        for (int d = 0; d < ndim; d++) {
            int64_t v = fsdt_rng_range(&r, 0, 3);
            shape[d] = v == 0 ? 1 : v == 1 ? 2 : v == 2 ? fsdt_rng_range(&r, 3, 1000)
                                                       : draw_dim(&r) | 1;
            strides[d] = draw_stride(&r);
        }
        int bits, lanes;
        draw_dtype(&r, &bits, &lanes);
        DLTensor t = fake(draw_data(&r), ndim, shape, strides, bits, draw_offset(&r));
        t.dtype.lanes = (uint16_t)lanes;
        uint64_t esize = (uint64_t)(bits / 8) * (uint64_t)lanes;
        int v = exact_verdict(&t, esize);
        verdicts[v + 1]++;
        fresh();
        fsd_status sp = fsd_pack(&t, g_buf, 0, NULL);
        UNTOUCHED();
        fsd_status su = fsd_unpack(g_buf, 0, &t, NULL);
        UNTOUCHED();
        int bad = 0;
        if (v == 1)
            bad = sp != FSD_ERROR_OVERFLOW || su != FSD_ERROR_OVERFLOW;
        else if (v == 0)
            bad = sp != FSD_ERROR_SIZE_MISMATCH || su != FSD_ERROR_SIZE_MISMATCH;
        else
            bad = (sp != FSD_ERROR_OVERFLOW && sp != FSD_ERROR_SIZE_MISMATCH) || sp != su;
        if (bad) {
            char msg[256];
            fsd_last_error(msg, sizeof msg);
            fail_msg("case %ld: verdict %d, pack %s, unpack %s (%s)\n  data %#llx byte_offset %#llx "
                     "esize %llu ndim %d shape[0] %lld stride[0] %lld", i, v,
                     fsd_status_string(sp), fsd_status_string(su), msg,
                     (unsigned long long)(uintptr_t)t.data, (unsigned long long)t.byte_offset,
                     (unsigned long long)esize, ndim, (long long)shape[0], (long long)strides[0]);
        }
    }
    print_message("strides: %ld must overflow, %ld must be accepted, %ld at the boundary\n",
                  verdicts[2], verdicts[1], verdicts[0]);
    if (cases >= 1000)
        assert_true(verdicts[2] > cases / 10 && verdicts[1] > cases / 20);
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

static int setup(void **state)
{
    (void)state;
    g_store = fsdt_guarded_alloc(STORE, STORE_FILL);
    g_buf = fsdt_guarded_alloc(BUF, BUF_FILL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fsdt_guarded_free(g_store);
    fsdt_guarded_free(g_buf);
    return 0;
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
    return cmocka_run_group_tests(tests, setup, teardown);
}
