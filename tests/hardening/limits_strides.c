/*
 * limits_strides.c — test_limits: strides and byte offsets. A table of offsets that overflow
 * (upwards, below address 0, past the top of the address space, byte_offset near 2^63) and
 * random ones against an exact 128-bit verdict. The tensors mostly point at fake addresses:
 * every call gets dst_size / src_size 0, so a correct library stops at the size check.
 */
#include "limits_fixture.h"

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

void test_stride_overflow_table(void **state)
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
void test_stride_overflow_random(void **state)
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
