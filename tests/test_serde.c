/*
 * test_serde.c — the seed's API on host tensors (real CUDA runtime; CUDA tensors are covered
 * by tests/mock_cuda and test_roundtrip_gpu): fsd_to_bytes gives exactly the reference packed
 * bytes; fsd_from_bytes gives a compact 1-D tensor of size / element-size elements holding a
 * copy (not an alias) of the bytes, whose deleter frees everything; a size that is not a whole
 * number of elements, zero sizes, bad dtypes and devices, and NULL arguments.
 *
 *   FSD_TEST_SEED=<n>   replay a run (the seed is printed first)
 *   FSD_TEST_CASES=<n>  random layouts (default 1000)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "fastserde.h"
#include "fsd_cases.h"

static uint64_t g_seed;
static long g_cases;
static int g_gpu;

#include "fsdt_expect.h"

/* Hooks that keep a list of live host allocations. */
#define MAX_LIVE 256
typedef struct tracker {
    int live, total;
    void *ptr[MAX_LIVE];
} tracker;

static void *track_alloc(void *user, fsd_alloc_kind kind, size_t size, int device)
{
    (void)device;
    tracker *t = user;
    if (kind != FSD_ALLOC_HOST || t->live == MAX_LIVE)
        return NULL;
    void *p = malloc(size ? size : 1);
    if (p != NULL) {
        t->ptr[t->live++] = p;
        t->total++;
    }
    return p;
}

static void track_free(void *user, fsd_alloc_kind kind, void *ptr, int device)
{
    (void)kind;
    (void)device;
    tracker *t = user;
    for (int i = 0; i < t->live; i++)
        if (t->ptr[i] == ptr) {
            t->ptr[i] = t->ptr[--t->live];
            free(ptr);
            return;
        }
    fail_msg("free hook: %p was not allocated by the hook", ptr);
}

static tracker g_tracker;
static fsd_context *g_ctx;   /* default allocator */
static fsd_context *g_hooked; /* tracked allocator */

static int setup(void **state)
{
    (void)state;
    if (fsd_context_create(&g_ctx, NULL) != FSD_SUCCESS)
        return -1;
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.cpu_threads = 2;
    cfg.allocator.alloc = track_alloc;
    cfg.allocator.free = track_free;
    cfg.allocator.user = &g_tracker;
    return g_gpu ? 0 : (fsd_context_create(&g_hooked, &cfg) == FSD_SUCCESS ? 0 : -1);
}

static int teardown(void **state)
{
    (void)state;
    fsd_context_destroy(g_ctx);
    fsd_context_destroy(g_hooked);
    return g_tracker.live == 0 ? 0 : -1;
}

static const DLDevice CPU = {kDLCPU, 0};

/* ------------------------------------------------------------------------------------------ */

static void test_to_bytes_random(void **state)
{
    (void)state;
    long failures = 0;
    for (long i = 0; i < g_cases; i++) {
        fsdt_case c;
        fsdt_case_make(&c, g_seed, (int)i);
        unsigned char *ref = malloc(c.packed_size + 1);
        fsdt_reference_pack(&c, c.storage, ref);
        DLTensor t = c.t;
        if (i % 3 == 0)
            t.device.device_type = kDLCUDAHost;
        void *bytes = (void *)1;
        size_t size = 12345;
        fsd_status st = fsd_to_bytes(i % 2 ? g_ctx : (g_hooked ? g_hooked : g_ctx), &t, &bytes, &size);
        long d = -1;
        int bad = st != FSD_SUCCESS || size != c.packed_size ||
                  (c.packed_size == 0) != (bytes == NULL) ||
                  (c.packed_size > 0 && (d = fsdt_first_diff(bytes, ref, size)) >= 0);
        if (bad && failures++ < 10)
            printf("FAIL: fsd_to_bytes: %s, size %zu (expected %zu), first difference %ld\n"
                   "      %s\n", fsd_status_string(st), size, c.packed_size, d, c.desc);
        fsd_bytes_free(bytes);
        free(ref);
        fsdt_case_free(&c);
    }
    if (failures > 0)
        fail_msg("%ld of %ld cases failed (seed %llu)", failures, g_cases,
                 (unsigned long long)g_seed);
}

/* Every element size of fsd_cases, several sizes each, from both contexts. */
static void test_from_bytes_cpu(void **state)
{
    (void)state;
    static const DLDataType DTYPES[] = {
        {kDLUInt, 8, 1}, {kDLBfloat, 16, 1}, {kDLUInt, 8, 3}, {kDLFloat, 32, 1},
        {kDLInt, 16, 3}, {kDLFloat, 64, 1}, {kDLFloat, 32, 3}, {kDLComplex, 128, 1},
        {kDLInt, 8, 2}, {kDLUInt, 48, 1},
    };
    fsdt_rng r;
    fsdt_rng_init(&r, g_seed, 77);
    for (size_t k = 0; k < sizeof DTYPES / sizeof DTYPES[0]; k++) {
        size_t es = (size_t)DTYPES[k].bits / 8 * DTYPES[k].lanes;
        for (int rep = 0; rep < 6; rep++) {
            size_t n = rep == 0 ? 0 : rep == 1 ? 1 : (size_t)fsdt_rng_range(&r, 2, 70000);
            size_t size = n * es;
            unsigned char *bytes = fsdt_guarded_alloc(size, 0);
            fsdt_rng_fill(&r, bytes, size);
            unsigned char *copy = malloc(size + 1);
            memcpy(copy, bytes, size);
            fsd_context *ctx = rep % 2 && g_hooked ? g_hooked : g_ctx;
            int live0 = g_tracker.live;
            DLManagedTensor *m = (DLManagedTensor *)1;
            EXPECT(fsd_from_bytes(ctx, bytes, size, DTYPES[k], CPU, &m), FSD_SUCCESS);
            assert_non_null(m);
            assert_non_null(m->deleter);
            const DLTensor *t = &m->dl_tensor;
            assert_int_equal(t->ndim, 1);
            assert_int_equal(t->shape[0], (int64_t)n);
            assert_true(t->strides == NULL || t->strides[0] == 1);
            assert_int_equal(t->byte_offset, 0);
            assert_int_equal(t->device.device_type, kDLCPU);
            assert_int_equal(t->dtype.code, DTYPES[k].code);
            assert_int_equal(t->dtype.bits, DTYPES[k].bits);
            assert_int_equal(t->dtype.lanes, DTYPES[k].lanes);
            size_t packed = 0;
            EXPECT(fsd_packed_size(t, &packed), FSD_SUCCESS);
            assert_int_equal(packed, size);
            if (size > 0) {
                const unsigned char *data = t->data;
                assert_non_null(data);
                /* a copy, not an alias of the caller's bytes */
                assert_true(data + size <= bytes || data >= bytes + size);
                assert_memory_equal(data, copy, size);
                memset(bytes, 0xEE, size);
                assert_memory_equal(data, copy, size);
            }
            assert_true(fsdt_guards_intact(bytes, size));
            if (ctx == g_hooked)
                assert_true(g_tracker.live > live0); /* its memory came from the hooks */
            m->deleter(m);
            if (ctx == g_hooked)
                assert_int_equal(g_tracker.live, live0); /* and all of it went back */
            free(copy);
            fsdt_guarded_free(bytes);
        }
    }
}

static void test_from_bytes_errors(void **state)
{
    (void)state;
    unsigned char bytes[64];
    memset(bytes, 1, sizeof bytes);
    const DLDataType f32 = {kDLFloat, 32, 1}, u8x3 = {kDLUInt, 8, 3};
    DLManagedTensor *m;
    int live0 = g_tracker.live;
    fsd_context *ctx = g_hooked ? g_hooked : g_ctx;
#define NONE(call, want)                  \
    do {                                  \
        m = (DLManagedTensor *)1;         \
        EXPECT(call, want);               \
        assert_null(m);                   \
    } while (0)
    NONE(fsd_from_bytes(ctx, bytes, 63, f32, CPU, &m), FSD_ERROR_SIZE_MISMATCH);
    NONE(fsd_from_bytes(ctx, bytes, 2, f32, CPU, &m), FSD_ERROR_SIZE_MISMATCH);
    NONE(fsd_from_bytes(ctx, bytes, 64, u8x3, CPU, &m), FSD_ERROR_SIZE_MISMATCH);
    NONE(fsd_from_bytes(NULL, bytes, 64, f32, CPU, &m), FSD_ERROR_INVALID_ARGUMENT);
    NONE(fsd_from_bytes(ctx, NULL, 64, f32, CPU, &m), FSD_ERROR_INVALID_ARGUMENT);
    NONE(fsd_from_bytes(ctx, bytes, 64, (DLDataType){kDLFloat, 0, 1}, CPU, &m),
         FSD_ERROR_INVALID_ARGUMENT);
    NONE(fsd_from_bytes(ctx, bytes, 64, (DLDataType){kDLFloat, 32, 0}, CPU, &m),
         FSD_ERROR_INVALID_ARGUMENT);
    NONE(fsd_from_bytes(ctx, bytes, 64, (DLDataType){kDLInt, 4, 2}, CPU, &m),
         FSD_ERROR_UNSUPPORTED);
    NONE(fsd_from_bytes(ctx, bytes, 64, (DLDataType){kDLInt, 12, 1}, CPU, &m),
         FSD_ERROR_UNSUPPORTED);
    NONE(fsd_from_bytes(ctx, bytes, 64, f32, (DLDevice){kDLOpenCL, 0}, &m),
         FSD_ERROR_UNSUPPORTED);
    NONE(fsd_from_bytes(ctx, bytes, 64, f32, (DLDevice){kDLCUDAHost, 0}, &m),
         FSD_ERROR_UNSUPPORTED);
    if (!g_gpu)
        NONE(fsd_from_bytes(ctx, bytes, 64, f32, (DLDevice){kDLCUDA, 0}, &m), FSD_ERROR_NO_GPU);
    EXPECT(fsd_from_bytes(ctx, bytes, 64, f32, CPU, NULL), FSD_ERROR_INVALID_ARGUMENT);
#undef NONE
    assert_int_equal(g_tracker.live, live0);
    /* no bytes at all: fine with or without a pointer */
    for (int k = 0; k < 2; k++) {
        m = NULL;
        EXPECT(fsd_from_bytes(ctx, k ? bytes : NULL, 0, f32, CPU, &m), FSD_SUCCESS);
        assert_non_null(m);
        assert_int_equal(m->dl_tensor.shape[0], 0);
        m->deleter(m);
    }
    assert_int_equal(g_tracker.live, live0);
    for (size_t i = 0; i < sizeof bytes; i++)
        assert_int_equal(bytes[i], 1);
}

static void test_to_bytes_errors(void **state)
{
    (void)state;
    unsigned char store[64];
    memset(store, 9, sizeof store);
    int64_t shape[2] = {4, 4}, zero_shape[2] = {4, 0};
    DLTensor t = {store, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, shape, NULL, 0}, bad;
    void *bytes;
    size_t size;
#define NOTHING(call, want)                      \
    do {                                         \
        bytes = (void *)1;                       \
        size = 99;                               \
        EXPECT(call, want);                      \
        assert_null(bytes);                      \
        assert_int_equal(size, 0);               \
    } while (0)
    NOTHING(fsd_to_bytes(NULL, &t, &bytes, &size), FSD_ERROR_INVALID_ARGUMENT);
    NOTHING(fsd_to_bytes(g_ctx, NULL, &bytes, &size), FSD_ERROR_INVALID_ARGUMENT);
    bad = t;
    bad.device.device_type = kDLOpenCL;
    NOTHING(fsd_to_bytes(g_ctx, &bad, &bytes, &size), FSD_ERROR_UNSUPPORTED);
    bad = t;
    bad.dtype.bits = 7;
    NOTHING(fsd_to_bytes(g_ctx, &bad, &bytes, &size), FSD_ERROR_UNSUPPORTED);
    bad = t;
    bad.dtype.lanes = 0;
    NOTHING(fsd_to_bytes(g_ctx, &bad, &bytes, &size), FSD_ERROR_INVALID_ARGUMENT);
    bad = t;
    bad.data = NULL;
    NOTHING(fsd_to_bytes(g_ctx, &bad, &bytes, &size), FSD_ERROR_INVALID_ARGUMENT);
    if (!g_gpu) {
        bad = t;
        bad.device.device_type = kDLCUDA;
        NOTHING(fsd_to_bytes(g_ctx, &bad, &bytes, &size), FSD_ERROR_NO_GPU);
    }
    bad = t;
    bad.shape = zero_shape; /* empty: success, no buffer */
    NOTHING(fsd_to_bytes(g_ctx, &bad, &bytes, &size), FSD_SUCCESS);
#undef NOTHING
    EXPECT(fsd_to_bytes(g_ctx, &t, NULL, &size), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_to_bytes(g_ctx, &t, &bytes, NULL), FSD_ERROR_INVALID_ARGUMENT);
    fsd_bytes_free(NULL);
    /* 0-d: one element */
    DLTensor scalar = {store, {kDLCPU, 0}, 0, {kDLFloat, 64, 1}, NULL, NULL, 8};
    EXPECT(fsd_to_bytes(g_ctx, &scalar, &bytes, &size), FSD_SUCCESS);
    assert_int_equal(size, 8);
    assert_memory_equal(bytes, store + 8, 8);
    fsd_bytes_free(bytes);
}

/* to_bytes then from_bytes gives the tensor's elements in row-major order. */
static void test_bytes_round_trip(void **state)
{
    (void)state;
    for (long i = 0; i < g_cases / 4; i++) {
        fsdt_case c;
        fsdt_case_make(&c, g_seed, (int)i);
        void *bytes = NULL;
        size_t size = 0;
        EXPECT(fsd_to_bytes(g_ctx, &c.t, &bytes, &size), FSD_SUCCESS);
        DLManagedTensor *m = NULL;
        EXPECT(fsd_from_bytes(g_ctx, bytes, size, c.t.dtype, CPU, &m), FSD_SUCCESS);
        assert_int_equal(m->dl_tensor.shape[0], (int64_t)c.num_elems);
        void *again = NULL;
        size_t size2 = 0;
        EXPECT(fsd_to_bytes(g_ctx, &m->dl_tensor, &again, &size2), FSD_SUCCESS);
        assert_int_equal(size2, size);
        if (size > 0)
            assert_memory_equal(again, bytes, size);
        fsd_bytes_free(again);
        m->deleter(m);
        fsd_bytes_free(bytes);
        fsdt_case_free(&c);
    }
}

int main(void)
{
    g_seed = fsdt_seed();
    g_cases = fsdt_env_long("FSD_TEST_CASES", 1000);
    int count = 0;
    g_gpu = cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
    (void)cudaGetLastError();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_to_bytes_random),
        cmocka_unit_test(test_from_bytes_cpu),
        cmocka_unit_test(test_from_bytes_errors),
        cmocka_unit_test(test_to_bytes_errors),
        cmocka_unit_test(test_bytes_round_trip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
