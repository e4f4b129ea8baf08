/*
 * test_transpose_tiles.c — the TRANSPOSE path's 16-byte tiles (kernels/transpose16_step.cuh)
 * on the emulated grid, for every element size: views [batch, nx, ny] of a compact
 * [batch, ny, nx] storage (the last two dims swapped), with whole tiles and tiles cut by both
 * edges, pack and unpack, whole and in ranges (chunks of the packed bytes, as the round trip and
 * the CPU shares cut them), on 1, 3 and 132 SMs, against the naive reference. The random cases
 * of test_kernels_emulated rarely hold a whole 16 KiB tile: this test does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "emulated_grid.h"
#include "fsd_cases.h"
#include "layout.h"
#include "plan_build.h"

static const uint32_t SM_COUNTS[] = {1, 3, 132};

/* A transpose case: [batch, nx, ny] over storage [batch, ny, nx], elements of `es` bytes,
 * element [0,0,0] `offset` bytes into the storage. */
static void make_case(fsdt_case *c, size_t es, int64_t batch, int64_t nx, int64_t ny, size_t offset)
{
    memset(c, 0, sizeof *c);
    c->elem_size = es;
    c->shape[0] = batch;
    c->shape[1] = nx;
    c->shape[2] = ny;
    c->strides[0] = nx * ny;
    c->strides[1] = 1;
    c->strides[2] = nx;
    c->num_elems = (size_t)(batch * nx * ny);
    c->packed_size = c->num_elems * es;
    c->storage_size = c->packed_size + offset;
    c->storage = fsdt_guarded_alloc(c->storage_size, 0);
    fsdt_rng r;
    fsdt_rng_init(&r, 1234, (uint64_t)(es * 1000 + (size_t)nx));
    fsdt_rng_fill(&r, c->storage, c->storage_size);
    c->t.data = c->storage;
    c->t.byte_offset = offset;
    c->t.device.device_type = kDLCPU;
    c->t.ndim = 3;
    c->t.dtype.code = kDLUInt;
    c->t.dtype.bits = (uint8_t)(8 * es);
    c->t.dtype.lanes = 1;
    if (es == 16) { /* 128-bit elements: two lanes of 64 bits */
        c->t.dtype.bits = 64;
        c->t.dtype.lanes = 2;
    }
    c->t.shape = c->shape;
    c->t.strides = c->strides;
    c->nests = 1;
    snprintf(c->desc, sizeof c->desc, "transpose [%lld,%lld,%lld] of [%lld,%lld,%lld], %zu-byte elements, offset %zu",
             (long long)batch, (long long)nx, (long long)ny, (long long)batch, (long long)ny, (long long)nx, es, offset);
}

/* Moves packed bytes [begin, end) between c's storage (`storage`) and `chunk`. */
static int run_range(const fsdt_case *c, unsigned char *storage, unsigned char *chunk, uint64_t begin,
                     uint64_t end, fsd_direction dir, uint32_t sms)
{
    DLTensor t = c->t;
    t.data = storage;
    fsd_layout l;
    assert_int_equal(fsd_layout_from_tensor(&t, "case", &l), FSD_SUCCESS);
    fsd_plan p;
    fsd_plan_build_range(&l, chunk, begin, end, dir, sms, &p);
    assert_int_equal(fsdt_emulate(&p, 0), 0);
    return p.path == FSD_PATH_TRANSPOSE && p.tiles16;
}

/* Pack and unpack of c in chunks of `chunk` bytes (0: whole); returns whether the 16-byte tiles
 * ran for the whole tensor. */
static int check(const fsdt_case *c, uint64_t chunk, uint32_t sms)
{
    const size_t n = c->packed_size;
    if (chunk == 0)
        chunk = n;
    unsigned char *want = malloc(n), *got = malloc(n);
    fsdt_reference_pack(c, c->storage, want);
    int tiles16 = 1;
    for (uint64_t b = 0; b < n; b += chunk) {
        const uint64_t e = b + chunk < n ? b + chunk : n;
        unsigned char *buf = fsdt_guarded_alloc(e - b, 0x5A);
        tiles16 &= run_range(c, c->storage, buf, b, e, FSD_DIR_PACK, sms);
        if (!fsdt_guards_intact(buf, e - b))
            fail_msg("pack [%llu, %llu): guards overwritten\n  %s", (unsigned long long)b, (unsigned long long)e, c->desc);
        memcpy(got + b, buf, e - b);
        fsdt_guarded_free(buf);
    }
    long d = fsdt_first_diff(want, got, n);
    if (d >= 0)
        fail_msg("pack (chunks of %llu, %u SMs): byte %ld: want %02x got %02x\n  %s", (unsigned long long)chunk,
                 sms, d, want[d], got[d], c->desc);
    /* unpack new bytes into a copy of the storage */
    for (size_t i = 0; i < n; i++)
        got[i] = (unsigned char)(i * 31 + 3);
    unsigned char *ref = malloc(c->storage_size);
    unsigned char *store = fsdt_guarded_alloc(c->storage_size, 0);
    memcpy(ref, c->storage, c->storage_size);
    memcpy(store, c->storage, c->storage_size);
    fsdt_reference_unpack(c, got, ref);
    for (uint64_t b = 0; b < n; b += chunk) {
        const uint64_t e = b + chunk < n ? b + chunk : n;
        unsigned char *buf = fsdt_guarded_alloc(e - b, 0);
        memcpy(buf, got + b, e - b);
        tiles16 &= run_range(c, store, buf, b, e, FSD_DIR_UNPACK, sms);
        fsdt_guarded_free(buf);
    }
    d = fsdt_first_diff(ref, store, c->storage_size);
    if (d >= 0)
        fail_msg("unpack (chunks of %llu, %u SMs): storage byte %ld: want %02x got %02x\n  %s",
                 (unsigned long long)chunk, sms, d, ref[d], store[d], c->desc);
    if (!fsdt_guards_intact(store, c->storage_size))
        fail_msg("unpack: guards around the storage overwritten\n  %s", c->desc);
    fsdt_guarded_free(store);
    free(ref);
    free(want);
    free(got);
    return tiles16;
}

static void test_every_element_size(void **state)
{
    (void)state;
    static const size_t SIZES[] = {1, 2, 4, 8, 16};
    for (size_t i = 0; i < sizeof SIZES / sizeof SIZES[0]; i++) {
        const size_t es = SIZES[i];
        const int64_t u = es < 16 ? (int64_t)(16 / es) : 1; /* elements per 16 bytes */
        fsdt_case c;
        /* Two whole tiles and a cut one along nx, one whole and a cut one along ny, whatever
         * the direction (pack tiles: 128 / es along nx, 128 along ny; unpack: the reverse). */
        make_case(&c, es, 2, 256 + 3 * u, 128 + 5 * u, 0);
        for (size_t k = 0; k < sizeof SM_COUNTS / sizeof SM_COUNTS[0]; k++)
            if (!check(&c, 0, SM_COUNTS[k]))
                fail_msg("the 16-byte tiles did not run\n  %s", c.desc);
        /* In chunks: tiles cut by the range, element by element. */
        assert_true(check(&c, 4096, 3));
        printf("transpose16: %s: ok\n", c.desc);
        fsdt_guarded_free(c.storage);
        /* Off by one element: the word tiles take it, the same bytes come out. */
        make_case(&c, es, 1, 128 + 2 * u, 130, es < 16 ? es : 8);
        if (check(&c, 0, 3))
            fail_msg("the 16-byte tiles ran on a view that is not 16-byte aligned\n  %s", c.desc);
        fsdt_guarded_free(c.storage);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_element_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
