/*
 * test_frame_read.c — fsd_frame_read, fsd_frame_read_new, fsd_frame_verify: frames of the
 * random layouts of tests/fsd_cases.h (their dtypes replaced by mapped ones of the same size)
 * written, then read back into the same strided views and into new tensors, against the naive
 * reference, on the calling thread and on a context's threads; a flipped byte found by every
 * reading function (and nothing left allocated by fsd_frame_read_new); frames without
 * checksums; every bad argument.
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
#include "frame_ref.h"
#include "fsd_cases.h"
#include "fsdt_expect.h"
#include "fsdt_faulty_alloc.h"

static uint64_t g_seed;
static fsd_context *g_ctx;   /* 3 threads, host only, allocating through g_hooks */
static fsdt_faulty g_hooks;
static int g_base;           /* blocks the context itself holds */

/* A mapped dtype of `size` bytes (1, 2, 4 or 8), drawn with `r`. */
static int mapped_dtype(fsdt_rng *r, size_t size, DLDataType *t)
{
    size_t idx[FSDT_FRAME_NDTYPES], n = 0;
    for (size_t i = 0; i < FSDT_FRAME_NDTYPES; i++)
        if (FSDT_FRAME_DTYPES[i].t.bits / 8u == size)
            idx[n++] = i;
    if (n == 0)
        return 0;
    *t = FSDT_FRAME_DTYPES[idx[fsdt_rng_range(r, 0, (int64_t)n - 1)]].t;
    return 1;
}

/* Up to 3 random cases in one frame, read back every way. */
static void random_frames(void **state)
{
    (void)state;
    long rounds = fsdt_env_long("FSD_TEST_CASES", 150);
    fsdt_rng r;
    fsdt_rng_init(&r, g_seed, 11);
    int index = 0;
    for (long round = 0; round < rounds; round++) {
        fsdt_case c[3];
        fsd_frame_tensor ts[3];
        char names[3][16];
        unsigned char *packed[3];
        int n = 0;
        while (n < (int)fsdt_rng_range(&r, 1, 3)) {
            fsdt_case_make(&c[n], g_seed, index++);
            DLDataType dt;
            if (c[n].t.ndim > FSD_FRAME_MAX_DIMS || !mapped_dtype(&r, c[n].elem_size, &dt) ||
                fsd_packed_size(&c[n].t, &(size_t){0}) != FSD_SUCCESS) {
                fsdt_case_free(&c[n]);
                continue;
            }
            c[n].t.dtype = dt;
            snprintf(names[n], sizeof names[n], "t%d", n);
            ts[n] = (fsd_frame_tensor){names[n], &c[n].t};
            packed[n] = malloc(c[n].packed_size + 1);
            fsdt_reference_pack(&c[n], c[n].storage, packed[n]);
            n++;
        }
        fsd_context *ctx = round % 2 ? g_ctx : NULL;
        size_t size;
        EXPECT(fsd_frame_size(ts, (size_t)n, NULL, &size), FSD_SUCCESS);
        unsigned char *frame = malloc(size);
        EXPECT(fsd_frame_write(ctx, ts, (size_t)n, NULL, frame, size, NULL), FSD_SUCCESS);
        fsd_frame *f;
        EXPECT(fsd_frame_open(frame, size, &f), FSD_SUCCESS);
        for (int i = 0; i < n; i++) {
            fsd_frame_info in;
            EXPECT(fsd_frame_tensor_info(f, (size_t)i, &in), FSD_SUCCESS);
            assert_int_equal(in.nbytes, c[i].packed_size);
            if (c[i].packed_size > 0 && memcmp(frame + in.offset, packed[i], in.nbytes) != 0)
                fail_msg("frame bytes differ from the reference: %s", c[i].desc);
            EXPECT(fsd_frame_verify(ctx, f, (size_t)i), FSD_SUCCESS);
            DLManagedTensor *mt;
            EXPECT(fsd_frame_read_new(ctx, f, (size_t)i, (DLDevice){kDLCPU, 0}, 1, &mt), FSD_SUCCESS);
            assert_int_equal(mt->dl_tensor.ndim, c[i].t.ndim);
            if (c[i].packed_size > 0)
                assert_memory_equal(mt->dl_tensor.data, packed[i], c[i].packed_size);
            mt->deleter(mt);
            if (!c[i].nests)
                continue;
            /* into the strided view itself, over a storage of other bytes */
            unsigned char *expect = malloc(c[i].storage_size), *got = malloc(c[i].storage_size);
            memset(expect, 0x3C, c[i].storage_size);
            memset(got, 0x3C, c[i].storage_size);
            fsdt_reference_unpack(&c[i], packed[i], expect);
            DLTensor dst = c[i].t;
            dst.data = got;
            EXPECT(fsd_frame_read(ctx, f, (size_t)i, &dst, (int)(round % 3 != 0), NULL), FSD_SUCCESS);
            long d = fsdt_first_diff(got, expect, c[i].storage_size);
            if (d >= 0)
                fail_msg("read: storage differs at byte %ld: %s", d, c[i].desc);
            free(expect);
            free(got);
        }
        fsd_frame_close(f);
        free(frame);
        for (int i = 0; i < n; i++) {
            free(packed[i]);
            fsdt_case_free(&c[i]);
        }
    }
    assert_int_equal(g_hooks.live, g_base);
}

/* A frame of one tensor of `n` bytes (n / 4 floats); the frame in *size bytes. */
static unsigned char *float_frame(size_t n, fsd_frame_checksum cs, size_t *size, float **data)
{
    float *x = malloc(n);
    for (size_t i = 0; i < n / 4; i++)
        x[i] = (float)i;
    int64_t shape[1] = {(int64_t)(n / 4)};
    DLTensor t = {.data = x, .device = {kDLCPU, 0}, .ndim = 1, .dtype = {kDLFloat, 32, 1}, .shape = shape};
    fsd_frame_tensor ft = {"x", &t};
    fsd_frame_options o = FSD_FRAME_OPTIONS_INIT;
    o.checksum = cs;
    EXPECT(fsd_frame_size(&ft, 1, &o, size), FSD_SUCCESS);
    unsigned char *b = malloc(*size);
    EXPECT(fsd_frame_write(NULL, &ft, 1, &o, b, *size, NULL), FSD_SUCCESS);
    *data = x;
    return b;
}

/* One flipped byte anywhere in a tensor's data: every reading function says CORRUPT, on the
 * calling thread and on the context's threads (large tensors: the last share's bytes too),
 * and fsd_frame_read_new leaves nothing allocated. */
static void flipped_byte(void **state)
{
    (void)state;
    const size_t sizes[] = {4, 1024, 4100, (size_t)9 << 20};
    fsdt_rng r;
    fsdt_rng_init(&r, g_seed, 12);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t size;
        float *x;
        unsigned char *b = float_frame(sizes[s], FSD_FRAME_CHECKSUM_XXH3_1K, &size, &x);
        float *back = malloc(sizes[s]);
        int64_t shape[1] = {(int64_t)(sizes[s] / 4)};
        DLTensor dst = {.data = back, .device = {kDLCPU, 0}, .ndim = 1, .dtype = {kDLFloat, 32, 1}, .shape = shape};
        for (int k = 0; k < 6; k++) {
            size_t at = size - sizes[s] + (k == 0 ? 0 : k == 1 ? sizes[s] - 1
                                                 : (size_t)fsdt_rng_range(&r, 0, (int64_t)sizes[s] - 1));
            unsigned char bit = (unsigned char)(1u << fsdt_rng_range(&r, 0, 7));
            b[at] ^= bit;
            fsd_frame *f;
            EXPECT(fsd_frame_open(b, size, &f), FSD_SUCCESS); /* the header is intact */
            for (int c = 0; c < 2; c++) {
                fsd_context *ctx = c ? g_ctx : NULL;
                EXPECT(fsd_frame_verify(ctx, f, 0), FSD_ERROR_CORRUPT);
                EXPECT(fsd_frame_read(ctx, f, 0, &dst, 1, NULL), FSD_ERROR_CORRUPT);
                EXPECT(fsd_frame_read(ctx, f, 0, &dst, 0, NULL), FSD_SUCCESS); /* not checked */
                DLManagedTensor *mt = (DLManagedTensor *)(uintptr_t)1;
                EXPECT(fsd_frame_read_new(ctx, f, 0, (DLDevice){kDLCPU, 0}, 1, &mt), FSD_ERROR_CORRUPT);
                assert_null(mt);
                assert_int_equal(g_hooks.live, g_base);
                EXPECT(fsd_frame_read_new(ctx, f, 0, (DLDevice){kDLCPU, 0}, 0, &mt), FSD_SUCCESS);
                assert_memory_equal(mt->dl_tensor.data, b + size - sizes[s], sizes[s]);
                mt->deleter(mt);
            }
            fsd_frame_close(f);
            b[at] ^= bit;
        }
        fsd_frame *f;
        EXPECT(fsd_frame_open(b, size, &f), FSD_SUCCESS);
        EXPECT(fsd_frame_read(g_ctx, f, 0, &dst, 1, NULL), FSD_SUCCESS);
        assert_memory_equal(back, x, sizes[s]);
        fsd_frame_close(f);
        free(back);
        free(b);
        free(x);
    }
    /* a frame without checksums reads with verify 1 */
    size_t size;
    float *x;
    unsigned char *b = float_frame(64, FSD_FRAME_CHECKSUM_NONE, &size, &x);
    fsd_frame *f;
    EXPECT(fsd_frame_open(b, size, &f), FSD_SUCCESS);
    fsd_frame_info in;
    EXPECT(fsd_frame_tensor_info(f, 0, &in), FSD_SUCCESS);
    assert_int_equal(in.has_checksum, 0);
    b[size - 1] ^= 1;
    EXPECT(fsd_frame_verify(NULL, f, 0), FSD_SUCCESS);
    DLManagedTensor *mt;
    EXPECT(fsd_frame_read_new(NULL, f, 0, (DLDevice){kDLCPU, 0}, 1, &mt), FSD_SUCCESS);
    mt->deleter(mt);
    fsd_frame_close(f);
    free(b);
    free(x);
}

static void bad_arguments(void **state)
{
    (void)state;
    size_t size;
    float *x;
    unsigned char *b = float_frame(64, FSD_FRAME_CHECKSUM_XXH3_1K, &size, &x);
    fsd_frame *f;
    EXPECT(fsd_frame_open(b, size, &f), FSD_SUCCESS);
    float out[32];
    memset(out, 0x7F, sizeof out);
    int64_t shape[1] = {16}, wrong[1] = {15}, shape2[2] = {4, 4}, zero[1] = {0};
    DLTensor ok = {.data = out, .device = {kDLCPU, 0}, .ndim = 1, .dtype = {kDLFloat, 32, 1}, .shape = shape};
    DLTensor t;
    t = ok, t.dtype.code = kDLInt;
    EXPECT(fsd_frame_read(NULL, f, 0, &t, 1, NULL), FSD_ERROR_INVALID_ARGUMENT);
    t = ok, t.dtype.lanes = 2;
    EXPECT(fsd_frame_read(NULL, f, 0, &t, 1, NULL), FSD_ERROR_INVALID_ARGUMENT);
    t = ok, t.shape = wrong;
    EXPECT(fsd_frame_read(NULL, f, 0, &t, 1, NULL), FSD_ERROR_INVALID_ARGUMENT);
    t = ok, t.ndim = 2, t.shape = shape2;
    EXPECT(fsd_frame_read(NULL, f, 0, &t, 1, NULL), FSD_ERROR_INVALID_ARGUMENT);
    t = ok, t.shape = NULL;
    EXPECT(fsd_frame_read(NULL, f, 0, &t, 1, NULL), FSD_ERROR_INVALID_ARGUMENT);
    t = ok, t.strides = zero; /* stride 0 on 16 elements */
    EXPECT(fsd_frame_read(NULL, f, 0, &t, 1, NULL), FSD_ERROR_ALIASING);
    t = ok, t.data = NULL;
    EXPECT(fsd_frame_read(NULL, f, 0, &t, 1, NULL), FSD_ERROR_INVALID_ARGUMENT);
    t = ok, t.device.device_type = kDLCUDA; /* a CUDA destination needs a context's ring */
    EXPECT(fsd_frame_read(NULL, f, 0, &t, 1, NULL), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_frame_read(NULL, f, 0, &ok, 2, NULL), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_frame_read(NULL, f, 1, &ok, 1, NULL), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_frame_read(NULL, NULL, 0, &ok, 1, NULL), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_frame_read(NULL, f, 0, NULL, 1, NULL), FSD_ERROR_INVALID_ARGUMENT);
    for (size_t i = 0; i < 32; i++)
        assert_true(fsdt_all_equal((const unsigned char *)&out[i], 4, 0x7F)); /* nothing written */
    DLManagedTensor *mt = (DLManagedTensor *)(uintptr_t)1;
    EXPECT(fsd_frame_read_new(NULL, f, 0, (DLDevice){kDLCUDA, 0}, 1, &mt), FSD_ERROR_INVALID_ARGUMENT);
    assert_null(mt); /* a CUDA tensor needs a context */
    mt = (DLManagedTensor *)(uintptr_t)1;
    EXPECT(fsd_frame_read_new(NULL, f, 0, (DLDevice){kDLOpenCL, 0}, 1, &mt), FSD_ERROR_UNSUPPORTED);
    assert_null(mt);
    EXPECT(fsd_frame_read_new(NULL, f, 0, (DLDevice){kDLCPU, 0}, 3, &mt), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_frame_read_new(NULL, f, 1, (DLDevice){kDLCPU, 0}, 1, &mt), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_frame_read_new(NULL, NULL, 0, (DLDevice){kDLCPU, 0}, 1, &mt), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_frame_read_new(NULL, f, 0, (DLDevice){kDLCPU, 0}, 1, NULL), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_frame_verify(NULL, NULL, 0), FSD_ERROR_INVALID_ARGUMENT);
    /* allocation failures: the tensor's block, then its data */
    for (long fail = 1; fail <= 2; fail++) {
        g_hooks.calls = 0;
        g_hooks.fail_at = fail;
        EXPECT(fsd_frame_read_new(g_ctx, f, 0, (DLDevice){kDLCPU, 0}, 1, &mt), FSD_ERROR_OUT_OF_MEMORY);
        assert_null(mt);
        assert_int_equal(g_hooks.live, g_base);
    }
    g_hooks.fail_at = 0;
    EXPECT(fsd_frame_read_new(g_ctx, f, 0, (DLDevice){kDLCPU, 0}, 1, &mt), FSD_SUCCESS);
    assert_int_equal(g_hooks.live, g_base + 2);
    fsd_frame_close(f); /* the tensor outlives the frame and its bytes */
    free(b);
    assert_memory_equal(mt->dl_tensor.data, x, 64);
    mt->deleter(mt);
    assert_int_equal(g_hooks.live, g_base);
    free(x);
}

static int setup(void **state)
{
    (void)state;
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.cpu_threads = 3;
    cfg.allocator = (fsd_allocator){fsdt_faulty_alloc, fsdt_faulty_free, &g_hooks};
    if (fsd_context_create(&g_ctx, &cfg) != FSD_SUCCESS)
        return -1;
    g_base = g_hooks.live;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fsd_context_destroy(g_ctx);
    return 0;
}

int main(void)
{
    g_seed = fsdt_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_frames),
        cmocka_unit_test(flipped_byte),
        cmocka_unit_test(bad_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
