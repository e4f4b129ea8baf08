/*
 * limits_fixture.c — the shared part of the test_limits binary (limits_fixture.h).
 */
#include "limits_fixture.h"

#include <string.h>

#include "fsdt_guarded_fixture.h"

unsigned char *g_store;
unsigned char *g_buf;
static const fsdt_guarded_buf g_bufs[] = {
    {&g_store, STORE, STORE_FILL, "storage"},
    {&g_buf, BUF, BUF_FILL, "packed-buffer"},
};

int limits_setup(void **state)
{
    (void)state;
    fsdt_fixture_setup(g_bufs, FSDT_NBUFS(g_bufs));
    return 0;
}

int limits_teardown(void **state)
{
    (void)state;
    fsdt_fixture_teardown(g_bufs, FSDT_NBUFS(g_bufs));
    return 0;
}

void fresh(void) { fsdt_fixture_refill(g_bufs, FSDT_NBUFS(g_bufs)); }

void untouched_(int line) { fsdt_fixture_untouched(g_bufs, FSDT_NBUFS(g_bufs), line); }

DLTensor tensor(int ndim, int64_t *shape, int64_t *strides, int bits, int lanes)
{
    return fsdt_host_tensor(g_store, ndim, shape, strides, bits, lanes);
}

DLTensor fake(uintptr_t data, int ndim, int64_t *shape, int64_t *strides, int bits,
              uint64_t byte_offset)
{
    DLTensor t = tensor(ndim, shape, strides, bits, 1);
    t.data = (void *)data;
    t.byte_offset = byte_offset;
    return t;
}

void reject_all_(const DLTensor *t, fsd_status want, int line)
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

/* Exact packed size, saturated at 2^64 (anything above 2^63 - 1 must be OVERFLOW). */
u128 exact_size(const int64_t *shape, int ndim, uint64_t esize)
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

int64_t draw_dim(fsdt_rng *r)
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

void draw_dtype(fsdt_rng *r, int *bits, int *lanes)
{
    static const int b[] = {8, 16, 24, 32, 64, 128, 248};
    static const int l[] = {1, 1, 1, 2, 3, 4, 65535};
    *bits = b[fsdt_rng_range(r, 0, 6)];
    *lanes = l[fsdt_rng_range(r, 0, 6)];
}

