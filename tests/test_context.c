/*
 * test_context.c — contexts on the real CUDA runtime, on a machine with or without a GPU:
 * creation with the defaults and with custom configurations, every invalid configuration,
 * fsd_context_memory, the host-tensor round trip (fsd_pack_to_host / fsd_unpack_from_host with
 * 1, 2, 3 and 8 threads, kDLCPU and kDLCUDAHost descriptors) against the naive reference,
 * CUDA tensors without a GPU, bad inputs leaving every buffer untouched, 200 create/destroy
 * cycles (no allocation, no thread left), and a 1 GiB host round trip that allocates nothing
 * and leaves fsd_context_memory unchanged.
 *
 *   FSD_TEST_SEED=<n>     replay a run (the seed is printed first)
 *   FSD_TEST_CASES=<n>    random layouts per thread count (default 400)
 *   FSD_TEST_BIG_MIB=<n>  size of the big round trip in MiB (default 1024; 16 under valgrind)
 */
#define _POSIX_C_SOURCE 200809L
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
#include "fsdt_configs.h"
#include "fsdt_report.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#define FILL 0x5A
#define MAX_REPORTS 12

static uint64_t g_seed;
static long g_cases;
static int g_gpu;

#include "fsdt_expect.h"

/* Allocation hooks that count, every kind (pinned and device ones only matter with a GPU). */
#define MAX_LIVE 4096
typedef struct counter {
    long live, total;
    size_t live_bytes, peak_bytes; /* host allocations */
    void *ptr[MAX_LIVE];
    size_t size[MAX_LIVE];
} counter;

static void *count_alloc(void *user, fsd_alloc_kind kind, size_t size, int device)
{
    (void)device;
    counter *c = user;
    void *p = NULL;
    if (c->live == MAX_LIVE)
        return NULL;
    if (kind == FSD_ALLOC_HOST)
        p = malloc(size ? size : 1);
    else if (kind == FSD_ALLOC_PINNED && cudaHostAlloc(&p, size, cudaHostAllocDefault) != cudaSuccess)
        p = NULL;
    else if (kind == FSD_ALLOC_DEVICE && cudaMalloc(&p, size) != cudaSuccess)
        p = NULL;
    if (p == NULL)
        return NULL;
    c->ptr[c->live] = p;
    c->size[c->live] = kind == FSD_ALLOC_HOST ? size : 0;
    c->live++;
    c->total++;
    c->live_bytes += c->size[c->live - 1];
    if (c->live_bytes > c->peak_bytes)
        c->peak_bytes = c->live_bytes;
    return p;
}

static void count_free(void *user, fsd_alloc_kind kind, void *ptr, int device)
{
    (void)device;
    counter *c = user;
    long i = 0;
    while (i < c->live && c->ptr[i] != ptr)
        i++;
    if (i == c->live)
        fail_msg("free hook called with %p, which the alloc hook did not return", ptr);
    c->live_bytes -= c->size[i];
    c->live--;
    c->ptr[i] = c->ptr[c->live];
    c->size[i] = c->size[c->live];
    if (kind == FSD_ALLOC_HOST)
        free(ptr);
    else if (kind == FSD_ALLOC_PINNED)
        (void)cudaFreeHost(ptr);
    else
        (void)cudaFree(ptr);
}

static fsd_context_config counting_config(counter *c, int threads)
{
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.cpu_threads = threads;
    cfg.allocator.alloc = count_alloc;
    cfg.allocator.free = count_free;
    cfg.allocator.user = c;
    return cfg;
}

/* ------------------------------------------------------------------------------------------ */

static void test_create_defaults(void **state)
{
    (void)state;
    fsd_context *ctx = (fsd_context *)1;
    EXPECT(fsd_context_create(&ctx, NULL), FSD_SUCCESS);
    assert_non_null(ctx);
    fsd_context_usage u;
    memset(&u, 0xff, sizeof u);
    EXPECT(fsd_context_memory(ctx, &u), FSD_SUCCESS);
    assert_int_equal(u.chunk_bytes, FSD_DEFAULT_CHUNK_BYTES);
    assert_true(u.cpu_threads >= 1 && u.cpu_threads <= 64);
    if (g_gpu) {
        assert_true(u.device >= 0);
        assert_int_equal(u.chunks, FSD_DEFAULT_CHUNKS);
        assert_int_equal(u.pinned_bytes, (size_t)FSD_DEFAULT_CHUNKS * FSD_DEFAULT_CHUNK_BYTES);
        assert_int_equal(u.device_bytes, u.pinned_bytes);
    } else {
        assert_int_equal(u.device, -1);
        assert_int_equal(u.chunks, 0);
        assert_int_equal(u.pinned_bytes, 0);
        assert_int_equal(u.device_bytes, 0);
    }
    fsd_context_destroy(ctx);
    fsd_context_destroy(NULL);
}

static void test_create_custom(void **state)
{
    (void)state;
    static const struct {
        size_t chunk;
        int chunks, threads;
    } CFG[] = {{4096, 2, 1}, {8192, 4, 2}, {1 << 20, 64, 3}, {4096 * 3, 0, 8}, {0, 3, 0}};
    for (size_t i = 0; i < sizeof CFG / sizeof CFG[0]; i++) {
        fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
        cfg.chunk_bytes = CFG[i].chunk;
        cfg.chunks = CFG[i].chunks;
        cfg.cpu_threads = CFG[i].threads;
        fsd_context *ctx = NULL;
        EXPECT(fsd_context_create(&ctx, &cfg), FSD_SUCCESS);
        fsd_context_usage u;
        EXPECT(fsd_context_memory(ctx, &u), FSD_SUCCESS);
        size_t chunk = CFG[i].chunk ? CFG[i].chunk : FSD_DEFAULT_CHUNK_BYTES;
        int chunks = CFG[i].chunks ? CFG[i].chunks : FSD_DEFAULT_CHUNKS;
        assert_int_equal(u.chunk_bytes, chunk);
        if (CFG[i].threads > 0)
            assert_int_equal(u.cpu_threads, CFG[i].threads);
        assert_int_equal(u.chunks, g_gpu ? chunks : 0);
        assert_int_equal(u.pinned_bytes, g_gpu ? chunk * (size_t)chunks : 0);
        fsd_context_destroy(ctx);
    }
}

static void test_invalid_configs(void **state)
{
    (void)state;
    const fsd_context_config good = FSD_CONTEXT_CONFIG_INIT;
    EXPECT(fsd_context_create(NULL, &good), FSD_ERROR_INVALID_ARGUMENT);
    static counter cnt;
    memset(&cnt, 0, sizeof cnt);
    for (int k = 0;; k++) {
        fsd_context_config c;
        const char *what = fsdt_bad_config(k, &c, count_alloc, count_free);
        if (what == NULL)
            break;
        c.allocator.user = &cnt;
        fsd_context *ctx = (fsd_context *)1;
        fsd_status st = fsd_context_create(&ctx, &c);
        if (st != FSD_ERROR_INVALID_ARGUMENT || ctx != NULL)
            fail_msg("config with %s: expected FSD_ERROR_INVALID_ARGUMENT and a NULL context, "
                     "got %s and %p", what, fsd_status_string(st), (void *)ctx);
        char msg[256];
        assert_true(fsd_last_error(msg, sizeof msg) > 0);
    }
    if (g_gpu) { /* with a GPU, a device that does not exist too */
        fsd_context_config c = good;
        c.device = 1 << 20;
        fsd_context *ctx = (fsd_context *)1;
        EXPECT(fsd_context_create(&ctx, &c), FSD_ERROR_INVALID_ARGUMENT);
        assert_null(ctx);
    }
    assert_int_equal(cnt.total, 0); /* rejected before any allocation */
    fsd_context_usage u;
    fsd_context *ctx = NULL;
    EXPECT(fsd_context_create(&ctx, NULL), FSD_SUCCESS);
    EXPECT(fsd_context_memory(NULL, &u), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_context_memory(ctx, NULL), FSD_ERROR_INVALID_ARGUMENT);
    fsd_context_destroy(ctx);
}

/* A config of the previous version (its struct, version 1) is accepted as it is: only its bytes
 * are read (the struct sits in an allocation of exactly its size, where valgrind and ASan see
 * a read past it). The limits themselves are accepted. */
static void test_config_versions_and_limits(void **state)
{
    (void)state;
    const fsd_context_config init = FSD_CONTEXT_CONFIG_INIT;
    fsdt_config_v1 *old = malloc(sizeof *old);
    *old = fsdt_config_v1_init();
    old->cpu_threads = 2;
    fsd_context *ctx = NULL;
    EXPECT(fsd_context_create(&ctx, (const fsd_context_config *)old), FSD_SUCCESS);
    fsd_context_usage u;
    EXPECT(fsd_context_memory(ctx, &u), FSD_SUCCESS);
    assert_int_equal(u.cpu_threads, 2);
    fsd_context_destroy(ctx);
    free(old);
    fsd_context_config c = init;
    c.cpu_threads = FSD_MAX_CPU_THREADS;
    c.chunks = FSD_MAX_CHUNKS;
    c.chunk_bytes = (size_t)(FSD_MAX_RING_BYTES / FSD_MAX_CHUNKS); /* the ring at its limit */
    if (!g_gpu) { /* (with a GPU this would pin 4 GiB) */
        EXPECT(fsd_context_create(&ctx, &c), FSD_SUCCESS);
        EXPECT(fsd_context_memory(ctx, &u), FSD_SUCCESS);
        assert_int_equal(u.cpu_threads, FSD_MAX_CPU_THREADS);
        fsd_context_destroy(ctx);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Host round trip vs the reference                                                            */

typedef fsdt_report report;

static void fail_case(report *rep, const fsdt_case *c, int threads, const char *fmt, ...)
{
    char tag[32];
    snprintf(tag, sizeof tag, " (%d threads)", threads);
    va_list ap;
    va_start(ap, fmt);
    fsdt_report_vfail(rep, MAX_REPORTS, c, tag, NULL, 0, fmt, ap);
    va_end(ap);
}

static void host_case(report *rep, fsd_context *ctx, int threads, const fsdt_case *c)
{
    fsdt_rng r;
    fsdt_rng_init(&r, c->seed ^ 0xc7c7, (uint64_t)c->index * 8u + (uint64_t)threads);
    size_t packed = c->packed_size, extra = (size_t)fsdt_rng_range(&r, 0, 7);
    DLTensor t = c->t;
    if (fsdt_rng_range(&r, 0, 1))
        t.device.device_type = kDLCUDAHost;
    unsigned char *ref = malloc(packed + 1);
    fsdt_reference_pack(c, c->storage, ref);
    unsigned char *dst = fsdt_guarded_alloc(packed + extra, FILL);
    fsd_status st = fsd_pack_to_host(ctx, &t, dst, packed + extra, NULL);
    long d;
    if (st != FSD_SUCCESS)
        fail_case(rep, c, threads, "fsd_pack_to_host: %s", fsd_status_string(st));
    else if ((d = fsdt_first_diff(dst, ref, packed)) >= 0)
        fail_case(rep, c, threads, "fsd_pack_to_host: byte %ld is 0x%02x, reference 0x%02x", d,
                  dst[d], ref[d]);
    if (!fsdt_all_equal(dst + packed, extra, FILL) || !fsdt_guards_intact(dst, packed + extra))
        fail_case(rep, c, threads, "fsd_pack_to_host: wrote outside the packed bytes");

    /* unpack random bytes into a copy of the storage */
    unsigned char *src = fsdt_guarded_alloc(packed, 0);
    fsdt_rng_fill(&r, src, packed);
    unsigned char *s = fsdt_guarded_alloc(c->storage_size, 0);
    unsigned char *expect = malloc(c->storage_size);
    memcpy(s, c->storage, c->storage_size);
    memcpy(expect, c->storage, c->storage_size);
    if (c->nests)
        fsdt_reference_unpack(c, src, expect);
    t.data = s;
    fsd_status want = c->nests ? FSD_SUCCESS : FSD_ERROR_ALIASING;
    st = fsd_unpack_from_host(ctx, src, packed, &t, NULL);
    if (st != want)
        fail_case(rep, c, threads, "fsd_unpack_from_host: expected %s, got %s",
                  fsd_status_string(want), fsd_status_string(st));
    else if ((d = fsdt_first_diff(s, expect, c->storage_size)) >= 0)
        fail_case(rep, c, threads, "fsd_unpack_from_host: storage byte %ld is 0x%02x, expected "
                  "0x%02x", d, s[d], expect[d]);
    if (!fsdt_guards_intact(s, c->storage_size) || !fsdt_guards_intact(src, packed))
        fail_case(rep, c, threads, "fsd_unpack_from_host: guard bytes overwritten");
    free(expect);
    fsdt_guarded_free(s);
    fsdt_guarded_free(src);
    fsdt_guarded_free(dst);
    free(ref);
}

/* A few views of some MiB, so that every thread of the pool gets a share. */
static void big_case(fsdt_case *c, int which)
{
    memset(c, 0, sizeof *c);
    c->seed = g_seed;
    c->index = 1000000 + which;
    fsdt_rng r;
    fsdt_rng_init(&r, g_seed, (uint64_t)c->index);
    int64_t es;
    c->t.shape = c->shape;
    c->t.strides = c->strides;
    c->t.device.device_type = kDLCPU;
    switch (which) {
    case 0: /* float32 [512, 1024], the transpose of a compact [1024, 512] */
        es = 4; c->t.ndim = 2; c->shape[0] = 512; c->shape[1] = 1024;
        c->strides[0] = 1; c->strides[1] = 512; c->storage_size = 512 * 1024 * 4;
        c->t.dtype = (DLDataType){kDLFloat, 32, 1};
        break;
    case 1: /* bf16 [2, 8, 256, 96]: a head-dim slice of [2, 8, 256, 128] */
        es = 2; c->t.ndim = 4; c->shape[0] = 2; c->shape[1] = 8; c->shape[2] = 256;
        c->shape[3] = 96; c->strides[3] = 1; c->strides[2] = 128; c->strides[1] = 256 * 128;
        c->strides[0] = 8 * 256 * 128; c->storage_size = 2 * 8 * 256 * 128 * 2;
        c->t.dtype = (DLDataType){kDLBfloat, 16, 1};
        break;
    default: /* 3-byte elements, [700000] with stride -1 */
        es = 3; c->t.ndim = 1; c->shape[0] = 700000; c->strides[0] = -1;
        c->storage_size = 700000 * 3; c->t.byte_offset = (700000 - 1) * 3;
        c->t.dtype = (DLDataType){kDLUInt, 8, 3};
        break;
    }
    c->elem_size = (size_t)es;
    c->num_elems = 1;
    for (int i = 0; i < c->t.ndim; i++)
        c->num_elems *= (size_t)c->shape[i];
    c->packed_size = c->num_elems * (size_t)es;
    c->storage = malloc(c->storage_size);
    fsdt_rng_fill(&r, c->storage, c->storage_size);
    c->t.data = c->storage;
    c->aliasing = 0;
    c->nests = fsdt_view_nests(c);
    snprintf(c->desc, sizeof c->desc, "big case %d: %zu packed bytes", which, c->packed_size);
}

static void test_host_roundtrip_threads(void **state)
{
    (void)state;
    static const int THREADS[] = {1, 2, 3, 8};
    for (size_t k = 0; k < sizeof THREADS / sizeof THREADS[0]; k++) {
        int threads = THREADS[k];
        static counter cnt;
    memset(&cnt, 0, sizeof cnt);
        fsd_context_config cfg = counting_config(&cnt, threads);
        fsd_context *ctx = NULL;
        EXPECT(fsd_context_create(&ctx, &cfg), FSD_SUCCESS);
        fsd_context_usage u0, u1;
        memset(&u0, 0, sizeof u0); /* padding compared too */
        memset(&u1, 0, sizeof u1);
        EXPECT(fsd_context_memory(ctx, &u0), FSD_SUCCESS);
        assert_int_equal(u0.cpu_threads, threads);
        long allocs = cnt.total;
        report rep = {0};
        for (long i = 0; i < g_cases; i++) {
            fsdt_case c;
            fsdt_case_make(&c, g_seed, (int)i);
            host_case(&rep, ctx, threads, &c);
            fsdt_case_free(&c);
        }
        for (int b = 0; b < 3; b++) {
            fsdt_case c;
            big_case(&c, b);
            host_case(&rep, ctx, threads, &c);
            fsdt_case_free(&c);
        }
        EXPECT(fsd_context_memory(ctx, &u1), FSD_SUCCESS);
        assert_memory_equal(&u0, &u1, sizeof u0);
        assert_int_equal(cnt.total, allocs); /* nothing allocated per call */
        fsd_context_destroy(ctx);
        assert_int_equal(cnt.live, 0);
        if (rep.failures > 0)
            fail_msg("%d threads: %ld of %ld cases failed (seed %llu)", threads, rep.failed_cases,
                     g_cases + 3, (unsigned long long)g_seed);
    }
}

/* ------------------------------------------------------------------------------------------ */

static void test_cuda_tensor_without_gpu(void **state)
{
    (void)state;
    if (g_gpu)
        skip();
    fsd_context *ctx = NULL;
    EXPECT(fsd_context_create(&ctx, NULL), FSD_SUCCESS);
    unsigned char store[256], buf[256];
    memset(store, 1, sizeof store);
    memset(buf, FILL, sizeof buf);
    int64_t shape[2] = {8, 16};
    DLTensor t = {store, {kDLCUDA, 0}, 2, {kDLUInt, 8, 1}, shape, NULL, 0};
    EXPECT(fsd_pack_to_host(ctx, &t, buf, sizeof buf, NULL), FSD_ERROR_NO_GPU);
    EXPECT(fsd_unpack_from_host(ctx, buf, 128, &t, NULL), FSD_ERROR_NO_GPU);
    t.device.device_type = kDLCUDAManaged;
    EXPECT(fsd_pack_to_host(ctx, &t, buf, sizeof buf, NULL), FSD_ERROR_NO_GPU);
    assert_true(fsdt_all_equal(buf, sizeof buf, FILL));
    for (size_t i = 0; i < sizeof store; i++)
        assert_int_equal(store[i], 1);
    fsd_context_destroy(ctx);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    fsd_context *ctx = NULL;
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.cpu_threads = 2;
    EXPECT(fsd_context_create(&ctx, &cfg), FSD_SUCCESS);
    unsigned char *store = fsdt_guarded_alloc(512, 3), *buf = fsdt_guarded_alloc(512, FILL);
    int64_t shape[2] = {16, 8}, strides[2] = {1, 16}, zero[2] = {0, 1};
    DLTensor t = {store, {kDLCPU, 0}, 2, {kDLInt, 16, 1}, shape, strides, 0}; /* 256 bytes */
    DLTensor bad;

    EXPECT(fsd_pack_to_host(NULL, &t, buf, 256, NULL), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_unpack_from_host(NULL, buf, 256, &t, NULL), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_pack_to_host(ctx, NULL, buf, 256, NULL), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_unpack_from_host(ctx, buf, 256, NULL, NULL), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_pack_to_host(ctx, &t, NULL, 256, NULL), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_unpack_from_host(ctx, NULL, 256, &t, NULL), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_pack_to_host(ctx, &t, buf, 255, NULL), FSD_ERROR_SIZE_MISMATCH);
    EXPECT(fsd_unpack_from_host(ctx, buf, 255, &t, NULL), FSD_ERROR_SIZE_MISMATCH);
    EXPECT(fsd_unpack_from_host(ctx, buf, 257, &t, NULL), FSD_ERROR_SIZE_MISMATCH);
    bad = t;
    bad.device.device_type = kDLOpenCL;
    EXPECT(fsd_pack_to_host(ctx, &bad, buf, 256, NULL), FSD_ERROR_UNSUPPORTED);
    EXPECT(fsd_unpack_from_host(ctx, buf, 256, &bad, NULL), FSD_ERROR_UNSUPPORTED);
    bad = t;
    bad.dtype.bits = 12;
    EXPECT(fsd_pack_to_host(ctx, &bad, buf, 256, NULL), FSD_ERROR_UNSUPPORTED);
    bad = t;
    bad.dtype.lanes = 0;
    EXPECT(fsd_pack_to_host(ctx, &bad, buf, 256, NULL), FSD_ERROR_INVALID_ARGUMENT);
    bad = t;
    bad.ndim = -1;
    EXPECT(fsd_pack_to_host(ctx, &bad, buf, 256, NULL), FSD_ERROR_INVALID_ARGUMENT);
    bad = t;
    bad.strides = zero; /* a broadcast: fine to pack, refused as an unpack destination */
    EXPECT(fsd_unpack_from_host(ctx, buf, 256, &bad, NULL), FSD_ERROR_ALIASING);
    bad = t;
    bad.data = NULL;
    EXPECT(fsd_pack_to_host(ctx, &bad, buf, 256, NULL), FSD_ERROR_INVALID_ARGUMENT);
    assert_true(fsdt_all_equal(buf, 512, FILL));
    assert_true(fsdt_guards_intact(buf, 512));
    for (int i = 0; i < 512; i++)
        assert_int_equal(store[i], 3);
    assert_true(fsdt_guards_intact(store, 512));
    /* and the context still works */
    EXPECT(fsd_pack_to_host(ctx, &t, buf, 256, NULL), FSD_SUCCESS);
    assert_true(fsdt_all_equal(buf, 256, 3));
    assert_true(fsdt_all_equal(buf + 256, 256, FILL));
    fsdt_guarded_free(buf);
    fsdt_guarded_free(store);
    fsd_context_destroy(ctx);
}

/* 200 create/use/destroy cycles: every hooked allocation freed, every thread joined. */
static void test_create_destroy_cycles(void **state)
{
    (void)state;
    long threads0 = fsdt_process_threads();
    static counter cnt;
    memset(&cnt, 0, sizeof cnt);
    unsigned char src[4096], dst[4096];
    memset(src, 7, sizeof src);
    int64_t shape[1] = {4096};
    DLTensor t = {src, {kDLCPU, 0}, 1, {kDLUInt, 8, 1}, shape, NULL, 0};
    for (int i = 0; i < 200; i++) {
        fsd_context_config cfg = counting_config(&cnt, 1 + i % 4);
        cfg.chunk_bytes = 4096 * (size_t)(1 + i % 3);
        cfg.chunks = 2 + i % 3;
        fsd_context *ctx = NULL;
        EXPECT(fsd_context_create(&ctx, &cfg), FSD_SUCCESS);
        if (i % 10 == 0) {
            EXPECT(fsd_pack_to_host(ctx, &t, dst, sizeof dst, NULL), FSD_SUCCESS);
            assert_int_equal(dst[4095], 7);
        }
        fsd_context_destroy(ctx);
        assert_int_equal(cnt.live, 0);
        assert_int_equal(cnt.live_bytes, 0);
    }
    assert_true(cnt.total >= 200);
    if (threads0 > 0)
        assert_int_equal(fsdt_process_threads(), threads0);
}

/* A 1 GiB host round trip: no allocation during the calls, fsd_context_memory unchanged. */
static void test_big_roundtrip_memory(void **state)
{
    (void)state;
    /* 1 GiB; 16 MiB under valgrind (hours otherwise) unless FSD_TEST_BIG_MIB says */
    size_t n = (size_t)fsdt_env_long("FSD_TEST_BIG_MIB", RUNNING_ON_VALGRIND ? 16 : 1024) << 20;
    unsigned char *a = malloc(n), *b = malloc(n);
    if (a == NULL || b == NULL) {
        free(a);
        free(b);
        printf("cannot allocate 2 x %zu bytes: skipped\n", n);
        skip();
    }
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = (uint64_t)i * 0x9E3779B97F4A7C15ull;
        memcpy(a + i, &v, n - i < 8 ? n - i : 8);
    }
    static counter cnt;
    memset(&cnt, 0, sizeof cnt);
    fsd_context_config cfg = counting_config(&cnt, 3);
    cfg.chunk_bytes = 1 << 20;
    cfg.chunks = 2;
    fsd_context *ctx = NULL;
    EXPECT(fsd_context_create(&ctx, &cfg), FSD_SUCCESS);
    fsd_context_usage u0, u1;
    memset(&u0, 0, sizeof u0); /* padding compared too */
    memset(&u1, 0, sizeof u1);
    EXPECT(fsd_context_memory(ctx, &u0), FSD_SUCCESS);
    long allocs = cnt.total;
    size_t bytes = cnt.live_bytes;
    int64_t shape[1] = {(int64_t)n};
    DLTensor t = {a, {kDLCPU, 0}, 1, {kDLUInt, 8, 1}, shape, NULL, 0};
    EXPECT(fsd_pack_to_host(ctx, &t, b, n, NULL), FSD_SUCCESS);
    assert_int_equal(memcmp(a, b, n), 0);
    memset(a, 0, n);
    EXPECT(fsd_unpack_from_host(ctx, b, n, &t, NULL), FSD_SUCCESS);
    assert_int_equal(memcmp(a, b, n), 0);
    EXPECT(fsd_context_memory(ctx, &u1), FSD_SUCCESS);
    assert_memory_equal(&u0, &u1, sizeof u0);
    assert_int_equal(cnt.total, allocs);
    assert_int_equal(cnt.live_bytes, bytes);
    assert_true(cnt.peak_bytes < n / 4); /* the context never held the tensor */
    fsd_context_destroy(ctx);
    assert_int_equal(cnt.live, 0);
    free(a);
    free(b);
}

int main(void)
{
    g_seed = fsdt_seed();
    g_cases = fsdt_env_long("FSD_TEST_CASES", 400);
    int count = 0;
    g_gpu = cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
    (void)cudaGetLastError();
    printf("GPU: %s\n", g_gpu ? "yes" : "no (host-only contexts)");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_defaults),
        cmocka_unit_test(test_create_custom),
        cmocka_unit_test(test_invalid_configs),
        cmocka_unit_test(test_config_versions_and_limits),
        cmocka_unit_test(test_host_roundtrip_threads),
        cmocka_unit_test(test_cuda_tensor_without_gpu),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_create_destroy_cycles),
        cmocka_unit_test(test_big_roundtrip_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
