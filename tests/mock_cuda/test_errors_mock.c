/*
 * test_errors_mock.c — errors belong to their call, on the stand-in runtime with the library's
 * real kernels/launch.cu and kernels/gather_launch.cu (fsd_mock_runtime_kernels: their launches
 * go through cudaLaunchKernel to the mock, which checks that each plan launches the kernel it
 * calls for, with the parameter built for the plan, and runs that kernel's emulator).
 *
 * The CUDA runtime keeps one "last error" per host thread (cudaGetLastError reads and clears
 * it; a failing call replaces it). The mock does the same. Checked here:
 *  - the kernels launched by launch.cu are the ones the plans call for, and give the reference
 *    bytes (fsd_pack / fsd_unpack of random layouts);
 *  - every kernel the real objects register is one the mock can run (mock_kernels.cu);
 *  - with an error of the caller's own left pending (a failed cudaSetDevice), every entry point
 *    (the paged gather and scatter on both engines included) succeeds and leaves that error
 *    pending: none reports it as its own, none clears it;
 *  - a call of fastserde that fails (a launch, an allocation, a copy failing) reports its own
 *    error, not the caller's, and leaves no error of its own behind for the caller's
 *    cudaGetLastError to find;
 *  - the copy engines on a driver without cudaMemcpyBatchAsync (cudaErrorNotSupported) fall
 *    back to one cudaMemcpyAsync per run: the right bytes, and that error not left behind.
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

#include "fastserde.h"
#include "fsd_cases.h"
#include "fsdt_cuda_ok.h"
#include "mock_cuda.h"

static long violations(void)
{
    mockcuda_stats s;
    mockcuda_drain();
    mockcuda_get_stats(&s);
    return s.violations;
}

/* The kernels of the real launch.cu on random layouts: the right kernel per plan (the mock
 * checks its name, index width, grid and block) and the reference bytes. */
static void test_real_launches(void **state)
{
    (void)state;
    uint64_t seed = fsdt_seed();
    long n = fsdt_env_long("FSD_TEST_CASES", 120), launched = 0;
    long v0 = violations(), k0 = mockcuda_calls(MOCKCUDA_LAUNCH);
    cudaStream_t s;
    CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    for (long i = 0; i < n; i++) {
        fsdt_case c;
        fsdt_case_make(&c, seed, (int)i);
        unsigned char *dev = NULL, *pk = NULL, *ref = malloc(c.packed_size + 1);
        unsigned char *got = malloc(c.storage_size > c.packed_size ? c.storage_size : c.packed_size + 1);
        CUDA_OK(cudaMalloc((void **)&dev, c.storage_size));
        CUDA_OK(cudaMalloc((void **)&pk, c.packed_size + 1));
        CUDA_OK(cudaMemcpy(dev, c.storage, c.storage_size, cudaMemcpyHostToDevice));
        DLTensor t = c.t;
        t.data = dev;
        t.device = (DLDevice){kDLCUDA, 0};
        fsdt_reference_pack(&c, c.storage, ref);
        assert_int_equal(fsd_pack(&t, pk, c.packed_size, s), FSD_SUCCESS);
        CUDA_OK(cudaStreamSynchronize(s));
        mockcuda_peek(got, pk, c.packed_size);
        if (memcmp(got, ref, c.packed_size) != 0)
            fail_msg("case %ld (%s): fsd_pack through launch.cu differs", i, c.desc);
        if (c.nests) {
            unsigned char *expect = malloc(c.storage_size);
            memcpy(expect, c.storage, c.storage_size);
            for (size_t b = 0; b < c.packed_size; b++)
                ref[b] = (unsigned char)(ref[b] * 7 + 1);
            fsdt_reference_unpack(&c, ref, expect);
            CUDA_OK(cudaMemcpy(pk, ref, c.packed_size, cudaMemcpyHostToDevice));
            assert_int_equal(fsd_unpack(pk, c.packed_size, &t, s), FSD_SUCCESS);
            CUDA_OK(cudaStreamSynchronize(s));
            mockcuda_peek(got, dev, c.storage_size);
            if (memcmp(got, expect, c.storage_size) != 0)
                fail_msg("case %ld (%s): fsd_unpack through launch.cu differs", i, c.desc);
            free(expect);
        }
        CUDA_OK(cudaFree(dev));
        CUDA_OK(cudaFree(pk));
        free(ref);
        free(got);
        fsdt_case_free(&c);
    }
    launched = mockcuda_calls(MOCKCUDA_LAUNCH) - k0;
    CUDA_OK(cudaStreamDestroy(s));
    printf("seed %llu: %ld cases, %ld kernels launched by launch.cu\n", (unsigned long long)seed,
           n, launched);
    assert_true(launched > n / 2);
    assert_int_equal(violations(), v0);
}

/* Every kernel launch.cu and gather_launch.cu register has an emulator in the mock. */
static void test_registered_kernels(void **state)
{
    (void)state;
    int runnable = 0;
    const int n = mockcuda_kernels_registered(&runnable);
    printf("%d kernels registered, %d of them runnable on the mock\n", n, runnable);
    assert_true(n > 0);
    assert_int_equal(runnable, n);
}

/* ------------------------------------------------------------------------------------------ */

#define ELEMS 3000 /* int16: 6000 bytes, two 4 KiB chunks */

/* A paged cache: one layer [8 blocks, 4 positions, 16] int16, TOKENS slots (device and host
 * copies): a gather of TOKENS * 32 bytes. */
#define TOKENS 10
#define GATHER_BYTES (TOKENS * 16 * 2)
static const int32_t SLOTS[TOKENS] = {5, 30, 0, 17, 31, 2, 9, 24, 12, 3};

typedef struct world {
    fsd_context *ctx;
    cudaStream_t s;
    unsigned char *dev, *contig_dev, *pk_dev, *pinned, *cache;
    int32_t *slots_dev;
    unsigned char host[2 * ELEMS], ref[2 * ELEMS], storage[2 * ELEMS];
    int64_t shape[2], strides[2], flat[1], cache_shape[3], slots_shape[1];
    DLTensor strided, contig, host_t, slots_d, slots_h;
    fsd_kv_layout kv;
} world;

static void world_open(world *w)
{
    memset(w, 0, sizeof *w);
    for (int i = 0; i < 2 * ELEMS; i++)
        w->storage[i] = (unsigned char)(i * 29 + 5);
    /* strided: the [60, 50] transpose of a compact [50, 60] int16 matrix */
    w->shape[0] = 60;
    w->shape[1] = 50;
    w->strides[0] = 1;
    w->strides[1] = 60;
    for (int i = 0, k = 0; i < 60; i++)
        for (int j = 0; j < 50; j++, k += 2)
            memcpy(w->ref + k, w->storage + 2 * (j * 60 + i), 2);
    w->flat[0] = 2 * ELEMS;
    CUDA_OK(cudaMalloc((void **)&w->dev, 2 * ELEMS));
    CUDA_OK(cudaMalloc((void **)&w->contig_dev, 2 * ELEMS));
    CUDA_OK(cudaMalloc((void **)&w->pk_dev, 2 * ELEMS));
    CUDA_OK(cudaHostAlloc((void **)&w->pinned, 2 * ELEMS, 0));
    CUDA_OK(cudaMemcpy(w->dev, w->storage, 2 * ELEMS, cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(w->contig_dev, w->ref, 2 * ELEMS, cudaMemcpyHostToDevice));
    CUDA_OK(cudaStreamCreateWithFlags(&w->s, cudaStreamNonBlocking));
    w->strided = (DLTensor){w->dev, {kDLCUDA, 0}, 2, {kDLInt, 16, 1}, w->shape, w->strides, 0};
    w->contig = (DLTensor){w->contig_dev, {kDLCUDA, 0}, 1, {kDLUInt, 8, 1}, w->flat, NULL, 0};
    w->host_t = (DLTensor){w->storage, {kDLCPU, 0}, 2, {kDLInt, 16, 1}, w->shape, w->strides, 0};
    CUDA_OK(cudaMalloc((void **)&w->cache, 8 * 4 * 16 * 2));
    CUDA_OK(cudaMemcpy(w->cache, w->storage, 8 * 4 * 16 * 2, cudaMemcpyHostToDevice));
    CUDA_OK(cudaMalloc((void **)&w->slots_dev, sizeof SLOTS));
    CUDA_OK(cudaMemcpy(w->slots_dev, SLOTS, sizeof SLOTS, cudaMemcpyHostToDevice));
    w->cache_shape[0] = 8;
    w->cache_shape[1] = 4;
    w->cache_shape[2] = 16;
    w->slots_shape[0] = TOKENS;
    w->kv.layer = (DLTensor){w->cache, {kDLCUDA, 0}, 3, {kDLInt, 16, 1}, w->cache_shape, NULL, 0};
    w->kv.block_dim = 0;
    w->kv.offset_dim = 1;
    w->slots_d = (DLTensor){w->slots_dev, {kDLCUDA, 0}, 1, {kDLInt, 32, 1}, w->slots_shape, NULL, 0};
    w->slots_h = (DLTensor){(void *)SLOTS, {kDLCPU, 0}, 1, {kDLInt, 32, 1}, w->slots_shape, NULL, 0};
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.chunk_bytes = 4096;
    cfg.chunks = 2;
    cfg.cpu_threads = 2;
    assert_int_equal(fsd_context_create(&w->ctx, &cfg), FSD_SUCCESS);
}

static void world_close(world *w)
{
    fsd_context_destroy(w->ctx);
    CUDA_OK(cudaStreamDestroy(w->s));
    CUDA_OK(cudaFree(w->dev));
    CUDA_OK(cudaFree(w->contig_dev));
    CUDA_OK(cudaFree(w->pk_dev));
    CUDA_OK(cudaFreeHost(w->pinned));
    CUDA_OK(cudaFree(w->cache));
    CUDA_OK(cudaFree(w->slots_dev));
}

/* The reference gather of the world's cache: TOKENS rows of 32 bytes. */
static void gather_reference(const world *w, unsigned char *out)
{
    for (int t = 0; t < TOKENS; t++)
        memcpy(out + 32 * t, w->storage + 32 * SLOTS[t], 32);
}

/* Leaves an error of "the caller's own code" pending on this thread. */
static void foreign_error(void)
{
    (void)cudaGetLastError();
    assert_int_equal(cudaSetDevice(99), cudaErrorInvalidDevice);
    assert_int_equal(cudaPeekAtLastError(), cudaErrorInvalidDevice);
}

enum {
    OP_PACK_KERNEL, OP_PACK_CONTIG, OP_UNPACK_KERNEL, OP_PACK_HOST_TENSOR, OP_CREATE_DESTROY,
    OP_MEMORY, OP_TO_HOST_PAGEABLE, OP_TO_HOST_PINNED, OP_FROM_HOST_PAGEABLE, OP_FROM_HOST_PINNED,
    OP_TO_BYTES, OP_FROM_BYTES, OP_DELETER, OP_GATHER_KERNEL, OP_SCATTER_KERNEL, OP_GATHER_COPY,
    OP_SCATTER_COPY, OP_COUNT
};
static const char *const OP_NAMES[OP_COUNT] = {
    "fsd_pack (kernel)", "fsd_pack (contiguous)", "fsd_unpack (kernel)", "fsd_pack (host tensor)",
    "fsd_context_create + destroy", "fsd_context_memory", "fsd_pack_to_host (pageable)",
    "fsd_pack_to_host (pinned)", "fsd_unpack_from_host (pageable)",
    "fsd_unpack_from_host (pinned)", "fsd_to_bytes", "fsd_from_bytes (CUDA)",
    "the deleter of fsd_from_bytes", "fsd_gather (kernel)", "fsd_scatter (kernel)",
    "fsd_gather (copy engines)", "fsd_scatter (copy engines)",
};

/* Runs op; returns its status and, through *deleter, a tensor to delete later (OP_DELETER). */
static fsd_status run_op(world *w, int op)
{
    fsd_status st = FSD_SUCCESS;
    void *bytes = NULL;
    size_t n = 0;
    DLManagedTensor *m = NULL;
    fsd_context *c2 = NULL;
    fsd_context_usage u;
    switch (op) {
    case OP_PACK_KERNEL: st = fsd_pack(&w->strided, w->pk_dev, 2 * ELEMS, w->s); break;
    case OP_PACK_CONTIG: st = fsd_pack(&w->contig, w->pk_dev, 2 * ELEMS, w->s); break;
    case OP_UNPACK_KERNEL: st = fsd_unpack(w->pk_dev, 2 * ELEMS, &w->strided, w->s); break;
    case OP_PACK_HOST_TENSOR: st = fsd_pack(&w->host_t, w->host, 2 * ELEMS, NULL); break;
    case OP_CREATE_DESTROY:
        st = fsd_context_create(&c2, NULL);
        fsd_context_destroy(c2);
        break;
    case OP_MEMORY: st = fsd_context_memory(w->ctx, &u); break;
    case OP_TO_HOST_PAGEABLE: st = fsd_pack_to_host(w->ctx, &w->strided, w->host, 2 * ELEMS, w->s); break;
    case OP_TO_HOST_PINNED: st = fsd_pack_to_host(w->ctx, &w->strided, w->pinned, 2 * ELEMS, w->s); break;
    case OP_FROM_HOST_PAGEABLE:
        memcpy(w->host, w->ref, 2 * ELEMS);
        st = fsd_unpack_from_host(w->ctx, w->host, 2 * ELEMS, &w->strided, w->s);
        break;
    case OP_FROM_HOST_PINNED:
        memcpy(w->pinned, w->ref, 2 * ELEMS);
        st = fsd_unpack_from_host(w->ctx, w->pinned, 2 * ELEMS, &w->strided, w->s);
        break;
    case OP_TO_BYTES:
        st = fsd_to_bytes(w->ctx, &w->strided, &bytes, &n);
        fsd_bytes_free(bytes);
        break;
    case OP_FROM_BYTES:
    case OP_DELETER: {
        cudaError_t pending = cudaPeekAtLastError();
        if (op == OP_DELETER)
            (void)cudaGetLastError();
        st = fsd_from_bytes(w->ctx, w->ref, 2 * ELEMS, (DLDataType){kDLInt, 16, 1},
                            (DLDevice){kDLCUDA, 0}, &m);
        if (op == OP_DELETER && pending != cudaSuccess)
            foreign_error(); /* pending again, now only for the deleter */
        if (m != NULL)
            m->deleter(m);
        break;
    }
    case OP_GATHER_KERNEL:
    case OP_SCATTER_KERNEL:
    case OP_GATHER_COPY:
    case OP_SCATTER_COPY: {
        const int kernel = op == OP_GATHER_KERNEL || op == OP_SCATTER_KERNEL;
        fsd_gather_options o = FSD_GATHER_OPTIONS_INIT;
        o.engine = kernel ? FSD_ENGINE_KERNEL : FSD_ENGINE_COPY;
        const DLTensor *slots = kernel ? &w->slots_d : &w->slots_h;
        st = op == OP_GATHER_KERNEL || op == OP_GATHER_COPY
                 ? fsd_gather(&w->kv, slots, NULL, w->pk_dev, GATHER_BYTES, &o, w->s)
                 : fsd_scatter(w->pk_dev, GATHER_BYTES, &w->kv, slots, NULL, &o, w->s);
        break;
    }
    default: break;
    }
    return st;
}

static void test_foreign_error_kept(void **state)
{
    (void)state;
    world w;
    world_open(&w);
    long failures = 0;
    for (int op = 0; op < OP_COUNT; op++) {
        foreign_error();
        fsd_status st = run_op(&w, op);
        cudaError_t after = cudaGetLastError();
        char msg[256];
        fsd_last_error(msg, sizeof msg);
        if (st != FSD_SUCCESS) {
            printf("FAIL: %s with an error of the caller's pending: %s (%s)\n", OP_NAMES[op],
                   fsd_status_string(st), msg);
            failures++;
        }
        if (after != cudaErrorInvalidDevice) {
            printf("FAIL: %s: the caller's pending error became %s\n", OP_NAMES[op],
                   cudaGetErrorName(after));
            failures++;
        }
        CUDA_OK(cudaStreamSynchronize(w.s));
    }
    world_close(&w);
    assert_int_equal(violations(), 0);
    if (failures > 0)
        fail_msg("%ld entry points reported or cleared an error that was not theirs", failures);
}

/* A failing call of fastserde reports its own error and leaves none behind. */
static void test_own_error_reported_and_cleared(void **state)
{
    (void)state;
    static const struct {
        int op;
        mockcuda_api api;
        cudaError_t err;
    } CASES[] = {
        {OP_PACK_KERNEL, MOCKCUDA_LAUNCH, cudaErrorLaunchOutOfResources},
        {OP_UNPACK_KERNEL, MOCKCUDA_LAUNCH, cudaErrorLaunchOutOfResources},
        {OP_PACK_CONTIG, MOCKCUDA_MEMCPY_ASYNC, cudaErrorIllegalAddress},
        {OP_TO_HOST_PAGEABLE, MOCKCUDA_LAUNCH, cudaErrorLaunchOutOfResources},
        {OP_TO_HOST_PINNED, MOCKCUDA_EVENT_RECORD, cudaErrorIllegalAddress},
        {OP_FROM_HOST_PAGEABLE, MOCKCUDA_MEMCPY_ASYNC, cudaErrorIllegalAddress},
        {OP_FROM_BYTES, MOCKCUDA_MEMCPY_ASYNC, cudaErrorIllegalAddress},
        {OP_CREATE_DESTROY, MOCKCUDA_STREAM_CREATE, cudaErrorIllegalAddress},
        {OP_GATHER_KERNEL, MOCKCUDA_LAUNCH, cudaErrorLaunchOutOfResources},
        {OP_SCATTER_KERNEL, MOCKCUDA_LAUNCH, cudaErrorLaunchOutOfResources},
        {OP_GATHER_COPY, MOCKCUDA_MEMCPY_BATCH_ASYNC, cudaErrorIllegalAddress},
    };
    world w;
    world_open(&w);
    long failures = 0;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++)
        for (int with_foreign = 0; with_foreign <= 1; with_foreign++) {
            if (with_foreign)
                foreign_error();
            else
                (void)cudaGetLastError();
            mockcuda_fail_nth(CASES[i].api, 1, CASES[i].err);
            fsd_status st = run_op(&w, CASES[i].op);
            int fired = mockcuda_fail_fired();
            mockcuda_fail_none();
            cudaError_t after = cudaGetLastError();
            char msg[256];
            fsd_last_error(msg, sizeof msg);
            assert_true(fired);
            const char *what = OP_NAMES[CASES[i].op];
            if (st == FSD_SUCCESS || strstr(msg, cudaGetErrorString(CASES[i].err)) == NULL ||
                strstr(msg, cudaGetErrorString(cudaErrorInvalidDevice)) != NULL) {
                printf("FAIL: %s with %s failing (%s): %s (%s)\n", what,
                       mockcuda_api_name(CASES[i].api), cudaGetErrorName(CASES[i].err),
                       fsd_status_string(st), msg);
                failures++;
            }
            if (after == CASES[i].err) {
                printf("FAIL: %s left its own %s pending for the caller\n", what,
                       cudaGetErrorName(after));
                failures++;
            }
            CUDA_OK(cudaStreamSynchronize(w.s));
        }
    world_close(&w);
    if (failures > 0)
        fail_msg("%ld failures misattributed", failures);
}

/* A driver without cudaMemcpyBatchAsync: the copy engines fall back to cudaMemcpyAsync, give
 * the reference bytes, and leave the batch call's error behind for no one. */
static void test_batch_fallback(void **state)
{
    (void)state;
    world w;
    world_open(&w);
    unsigned char want[GATHER_BYTES], got[GATHER_BYTES];
    gather_reference(&w, want);
    long copies = mockcuda_calls(MOCKCUDA_MEMCPY_ASYNC);
    (void)cudaGetLastError();
    mockcuda_fail_nth(MOCKCUDA_MEMCPY_BATCH_ASYNC, 1, cudaErrorNotSupported);
    fsd_status st = run_op(&w, OP_GATHER_COPY);
    assert_true(mockcuda_fail_fired());
    mockcuda_fail_none();
    assert_int_equal(st, FSD_SUCCESS);
    assert_int_equal(cudaGetLastError(), cudaSuccess);
    assert_true(mockcuda_calls(MOCKCUDA_MEMCPY_ASYNC) > copies);
    CUDA_OK(cudaStreamSynchronize(w.s));
    mockcuda_peek(got, w.pk_dev, GATHER_BYTES);
    assert_memory_equal(got, want, GATHER_BYTES);
    world_close(&w);
    assert_int_equal(violations(), 0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("seed %llu\n", (unsigned long long)fsdt_seed());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registered_kernels),
        cmocka_unit_test(test_real_launches),
        cmocka_unit_test(test_foreign_error_kept),
        cmocka_unit_test(test_own_error_reported_and_cleared),
        cmocka_unit_test(test_batch_fallback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
