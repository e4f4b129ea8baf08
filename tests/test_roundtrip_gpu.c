/*
 * test_roundtrip_gpu.c — the round-trip cases of tests/mock_cuda/test_roundtrip_mock.c
 * (fsd_pack_to_host, fsd_unpack_from_host, fsd_to_bytes, fsd_from_bytes, fsd_pack / fsd_unpack
 * of device tensors; pageable and pinned host memory; the NULL, a blocking and a non-blocking
 * stream; small contexts; sizes k * chunk +- 1 element; back-to-back calls; bad inputs) on a
 * real GPU, plus LMCache-sized views through a context with the default configuration. The
 * checks are the same source (tests/mock_cuda/roundtrip_checks.h). Exits 77 (reported skipped
 * by ctest) without a usable GPU.
 *
 *   FSD_TEST_SEED, FSD_TEST_CASES, FSD_TEST_EDGES, FSD_TEST_REPS, FSD_TEST_CASE: as in
 *   test_roundtrip_mock.c.
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

#include "mock_cuda/roundtrip_checks.h"

#define SKIP_CODE 77

static int rt_get_counts(rt_counts *c)
{
    (void)c;
    return 0;
}

static void rt_peek(void *dst, const void *src, size_t n)
{
    CUDA_OK(cudaMemcpy(dst, src, n, cudaMemcpyDeviceToHost));
}

static int rt_is_device(const void *p, size_t n)
{
    struct cudaPointerAttributes a, b;
    if (cudaPointerGetAttributes(&a, p) != cudaSuccess ||
        cudaPointerGetAttributes(&b, (const char *)p + n - 1) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return a.type == cudaMemoryTypeDevice && b.type == cudaMemoryTypeDevice;
}

static void rt_schedule(uint64_t seed, int eager)
{
    (void)seed;
    (void)eager;
}

static void rt_drain(void) { CUDA_OK(cudaDeviceSynchronize()); }

/* ------------------------------------------------------------------------------------------ */
/* LMCache-sized views (bf16 KV caches [2, layers, tokens, hidden]) through a default context   */

static void kv_case(fsdt_case *c, int which)
{
    /* base [2, 16, 256, 1024] bf16 = 16 MiB (compact); the views: */
    static const char *const NAMES[] = {"whole cache (contiguous)", "token slice 40..240",
                                        "head subset: hidden 256..767", "[L,T,H] -> [T,L,H]"};
    const int64_t B[4] = {2, 16, 256, 1024};
    const int64_t S[4] = {16 * 256 * 1024, 256 * 1024, 1024, 1};
    memset(c, 0, sizeof *c);
    c->seed = g_seed;
    c->index = 2000000 + which;
    c->t.ndim = 4;
    c->t.shape = c->shape;
    c->t.strides = c->strides;
    c->t.device.device_type = kDLCPU;
    c->t.dtype = (DLDataType){kDLBfloat, 16, 1};
    c->elem_size = 2;
    for (int d = 0; d < 4; d++) {
        c->shape[d] = B[d];
        c->strides[d] = S[d];
    }
    switch (which) {
    case 0: c->t.strides = NULL; break;
    case 1: c->shape[2] = 200; c->t.byte_offset = 40 * 1024 * 2; break;
    case 2: c->shape[3] = 512; c->t.byte_offset = 256 * 2; break;
    default: /* swap the layer and token dims */
        c->shape[1] = B[2]; c->shape[2] = B[1];
        c->strides[1] = S[2]; c->strides[2] = S[1];
        break;
    }
    c->storage_size = (size_t)(2 * 16 * 256 * 1024) * 2;
    c->num_elems = 1;
    for (int d = 0; d < 4; d++)
        c->num_elems *= (size_t)c->shape[d];
    c->packed_size = c->num_elems * 2;
    c->storage = malloc(c->storage_size);
    fsdt_rng r;
    fsdt_rng_init(&r, g_seed, (uint64_t)c->index);
    fsdt_rng_fill(&r, c->storage, c->storage_size);
    c->t.data = c->storage;
    c->aliasing = 0;
    c->nests = fsdt_view_nests(c);
    snprintf(c->desc, sizeof c->desc, "LMCache view: %s, %zu packed bytes", NAMES[which],
             c->packed_size);
}

static void test_lmcache_views(void **state)
{
    (void)state;
    env e;
    env_open(&e);
    fsd_context *big = NULL;
    assert_int_equal(fsd_context_create(&big, NULL), FSD_SUCCESS);
    report rep = {0};
    for (int which = 0; which < 4; which++) {
        fsdt_case c;
        kv_case(&c, which);
        for (int k = 0; k < 2; k++) {
            fsdt_rng r;
            fsdt_rng_init(&r, g_seed, (uint64_t)(which * 2 + k));
            env_pick(&e, &r, 0, k, &c);
            e.c = big;
            e.pinned = k;
            snprintf(e.what, sizeof e.what, "default context; stream %s; %s host memory",
                     STREAM_NAMES[e.si], e.pinned ? "pinned" : "pageable");
            check_pack_to_host(&rep, &c, &e, &r);
            check_unpack_from_host(&rep, &c, &e, &r);
            if (k == 0)
                check_serde(&rep, &c, &e, &r);
            free_later();
        }
        fsdt_case_free(&c);
    }
    fsd_context_destroy(big);
    env_close(&e);
    finish(&rep, "LMCache views", 4);
}

int main(void)
{
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess || count == 0) {
        printf("no usable GPU (%s): skipped\n",
               err != cudaSuccess ? cudaGetErrorString(err) : "0 devices");
        return SKIP_CODE;
    }
    rt_read_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_pipelined_calls),
        cmocka_unit_test(test_chunk_edges),
        cmocka_unit_test(test_random_cases),
        cmocka_unit_test(test_lmcache_views),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
