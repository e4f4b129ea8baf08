/*
 * test_capture_paged_mock.c — the header's graph-capture contract (convention 4a) for the paged
 * gather and scatter of CUDA caches, on the stand-in runtime (whose capture follows CUDA's
 * rules, mock_capture.c):
 *
 *  - the kernel engine, captured in each capture mode and replayed three times, each replay
 *    after new slots (the same ones shuffled: the kernel reads them on the GPU at each launch)
 *    and new cache or packed contents, the bytes checked against the naive reference of
 *    tests/gather (random caches of every family);
 *  - the copy engines (the host reads the slots during the call; cudaMemcpyBatchAsync has no
 *    graph node): refused in a capture with FSD_ERROR_INVALID_ARGUMENT, nothing captured, the
 *    capture left valid; also through FSD_ENGINE_AUTO with host slots;
 *  - the kernel's launch failing inside a capture: an error, nothing synchronised, nothing
 *    captured.
 *
 *   FSD_TEST_SEED=<n>    replay a run (the seed is printed first)
 *   FSD_TEST_CASES=<n>   random caches (default 36)
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
#include "fsdt_cuda_ok.h"
#include "kv_cases.h"
#include "mock_cuda.h"

#include "capture_helpers.h"

static const enum cudaStreamCaptureMode MODES[3] = {
    cudaStreamCaptureModeGlobal, cudaStreamCaptureModeThreadLocal, cudaStreamCaptureModeRelaxed};

/* One case on the device: layers, table and slots in device memory (the kernel engine), the
 * table and slots also in host memory (the copy engines), the packed bytes in device memory,
 * and what a round must give. */
typedef struct paged {
    kvt_case c;
    int scatter;
    unsigned char *layers[KVT_MAX_LAYERS];
    uint64_t *table_dev, table_host[KVT_MAX_LAYERS];
    void *slots_dev;
    unsigned char *pk;
    DLTensor ptrs_dev, ptrs_host, slots_dev_t;
    fsd_kv_layout kv_dev, kv_host;
    unsigned char *expect;         /* gather: the packed bytes of the round           */
    unsigned char **expect_layers; /* scatter: the layers of the round                */
    fsdt_rng rng;
} paged;

static void paged_open(paged *p, uint64_t seed, int index, int scatter)
{
    memset(p, 0, sizeof *p);
    p->scatter = scatter;
    kvt_case *c = &p->c;
    kvt_case_make(c, seed, index, -1, scatter ? KVT_SCATTER : 0);
    fsdt_rng_init(&p->rng, seed, 900000 + (uint64_t)index);
    for (int l = 0; l < c->layers; l++) {
        CUDA_OK(cudaMalloc((void **)&p->layers[l], c->storage_size ? c->storage_size : 1));
        p->table_host[l] = (uint64_t)(uintptr_t)p->layers[l] + (c->table[l] - (uint64_t)(uintptr_t)c->storage[l]);
    }
    CUDA_OK(cudaMalloc((void **)&p->table_dev, sizeof(uint64_t) * (size_t)c->layers));
    CUDA_OK(cudaMemcpy(p->table_dev, p->table_host, sizeof(uint64_t) * (size_t)c->layers,
                       cudaMemcpyHostToDevice));
    CUDA_OK(cudaMalloc(&p->slots_dev, c->slot_bytes));
    CUDA_OK(cudaMalloc((void **)&p->pk, c->packed_size ? c->packed_size : 1));
    p->kv_dev = c->kv;
    p->kv_dev.layer.device = (DLDevice){kDLCUDA, 0};
    if (c->kv.layer.data != NULL)
        p->kv_dev.layer.data = p->layers[0];
    p->kv_host = p->kv_dev;
    p->ptrs_dev = p->ptrs_host = c->layer_ptrs;
    p->ptrs_dev.data = p->table_dev;
    p->ptrs_dev.device = (DLDevice){kDLCUDA, 0};
    p->ptrs_host.data = p->table_host;
    p->kv_dev.layer_ptrs = c->use_table ? &p->ptrs_dev : NULL;
    p->kv_host.layer_ptrs = c->use_table ? &p->ptrs_host : NULL;
    p->slots_dev_t = c->slots;
    p->slots_dev_t.data = p->slots_dev;
    p->slots_dev_t.device = (DLDevice){kDLCUDA, 0};
    p->expect = malloc(c->packed_size ? c->packed_size : 1);
    p->expect_layers = calloc((size_t)c->layers, sizeof *p->expect_layers);
    for (int l = 0; l < c->layers; l++)
        p->expect_layers[l] = malloc(c->storage_size ? c->storage_size : 1);
}

static void paged_close(paged *p)
{
    for (int l = 0; l < p->c.layers; l++) {
        CUDA_OK(cudaFree(p->layers[l]));
        free(p->expect_layers[l]);
    }
    CUDA_OK(cudaFree(p->table_dev));
    CUDA_OK(cudaFree(p->slots_dev));
    CUDA_OK(cudaFree(p->pk));
    free(p->expect);
    free(p->expect_layers);
    kvt_case_free(&p->c);
}

/* The slots shuffled (valid and, for a scatter, unique as before), written into the host
 * buffer at the case's stride and width. */
static void shuffle_slots(paged *p)
{
    kvt_case *c = &p->c;
    for (int64_t t = c->tokens - 1; t > 0; t--) {
        int64_t k = fsdt_rng_range(&p->rng, 0, t), x = c->slot_values[t];
        c->slot_values[t] = c->slot_values[k];
        c->slot_values[k] = x;
    }
    const size_t sz = (size_t)c->slot_bits / 8;
    unsigned char *at0 = (unsigned char *)c->slot_buf + c->slots.byte_offset;
    for (int64_t t = 0; t < c->tokens; t++) {
        unsigned char *q = at0 + t * c->slot_stride * (int64_t)sz;
        if (sz == 4) {
            int32_t v = (int32_t)c->slot_values[t];
            memcpy(q, &v, 4);
        } else {
            memcpy(q, &c->slot_values[t], 8);
        }
    }
}

/* A round's input, uploaded before the graph's launch (the previous round has run: the
 * helpers synchronise after each launch): new slots, new layer contents, and for a scatter
 * new packed bytes; the expected result computed on the host case. */
static void refill(void *arg, cudaStream_t s, int round)
{
    paged *p = arg;
    kvt_case *c = &p->c;
    (void)s;
    (void)round;
    shuffle_slots(p);
    CUDA_OK(cudaMemcpy(p->slots_dev, c->slot_buf, c->slot_bytes, cudaMemcpyHostToDevice));
    for (int l = 0; l < c->layers; l++) {
        fsdt_rng_fill(&p->rng, c->storage[l], c->storage_size);
        CUDA_OK(cudaMemcpy(p->layers[l], c->storage[l], c->storage_size, cudaMemcpyHostToDevice));
        memcpy(p->expect_layers[l], c->storage[l], c->storage_size);
    }
    if (p->scatter) { /* the packed bytes to scatter, and the layers they give */
        fsdt_rng_fill(&p->rng, p->expect, c->packed_size);
        CUDA_OK(cudaMemcpy(p->pk, p->expect, c->packed_size, cudaMemcpyHostToDevice));
        kvt_reference_scatter(c, p->expect, p->expect_layers);
    } else { /* the packed bytes filled (skipped slots keep the fill), and the gather */
        memset(p->expect, 0x5A, c->packed_size);
        CUDA_OK(cudaMemcpy(p->pk, p->expect, c->packed_size, cudaMemcpyHostToDevice));
        kvt_reference_gather(c, c->storage, p->expect);
    }
}

static int check(void *arg, int round)
{
    paged *p = arg;
    kvt_case *c = &p->c;
    (void)round;
    int ok = 1;
    unsigned char *got = malloc(c->packed_size > c->storage_size ? c->packed_size + 1 : c->storage_size + 1);
    if (p->scatter) {
        for (int l = 0; l < c->layers && ok; l++) {
            CUDA_OK(cudaMemcpy(got, p->layers[l], c->storage_size, cudaMemcpyDeviceToHost));
            ok = memcmp(got, p->expect_layers[l], c->storage_size) == 0;
        }
    } else {
        CUDA_OK(cudaMemcpy(got, p->pk, c->packed_size, cudaMemcpyDeviceToHost));
        ok = memcmp(got, p->expect, c->packed_size) == 0;
    }
    if (!ok)
        printf("      %s\n      replay: FSD_TEST_SEED=%llu, case %d\n", c->desc,
               (unsigned long long)c->seed, c->index);
    free(got);
    return ok;
}

static fsd_status call(paged *p, cudaStream_t s, fsd_engine engine, int host_slots)
{
    kvt_case *c = &p->c;
    fsd_gather_options o = FSD_GATHER_OPTIONS_INIT;
    o.engine = engine;
    const fsd_kv_layout *kv = host_slots ? &p->kv_host : &p->kv_dev;
    const DLTensor *slots = host_slots ? &c->slots : &p->slots_dev_t;
    return p->scatter ? fsd_scatter(p->pk, c->packed_size, kv, slots, kvt_order(c), &o, s)
                      : fsd_gather(kv, slots, kvt_order(c), p->pk, c->packed_size, &o, s);
}

static fsd_status kernel_engine(void *arg, cudaStream_t s)
{
    return call(arg, s, FSD_ENGINE_KERNEL, 0);
}

static fsd_status copy_engines(void *arg, cudaStream_t s)
{
    return call(arg, s, FSD_ENGINE_COPY, 1);
}

static fsd_status auto_host_slots(void *arg, cudaStream_t s)
{
    return call(arg, s, FSD_ENGINE_AUTO, 1);
}

static void expect_no_violations(void)
{
    mockcuda_stats st;
    mockcuda_drain();
    mockcuda_get_stats(&st);
    assert_int_equal(st.violations, 0);
}

static void test_kernel_engine_replayed(void **state)
{
    (void)state;
    const uint64_t seed = fsdt_seed();
    const long n = fsdt_env_long("FSD_TEST_CASES", 36);
    cudaStream_t streams[2];
    CUDA_OK(cudaStreamCreateWithFlags(&streams[0], cudaStreamNonBlocking));
    CUDA_OK(cudaStreamCreateWithFlags(&streams[1], cudaStreamDefault));
    static const fsdt_cap_call CALLS[2] = {
        {"fsd_gather (kernel engine)", kernel_engine, refill, check},
        {"fsd_scatter (kernel engine)", kernel_engine, refill, check},
    };
    long captured = 0;
    for (long i = 0; i < n; i++) {
        const int scatter = (int)(i % 2);
        paged p;
        paged_open(&p, seed, 700000 + (int)i, scatter);
        if (p.c.packed_size > 0) {
            mockcuda_set_seed(seed + (uint64_t)i);
            mockcuda_set_eager((int)(i % 3) * 40);
            fsdt_cap_replay(&CALLS[scatter], &p, streams[(i / 3) % 2], MODES[i % 3], 3);
            captured++;
        }
        paged_close(&p);
    }
    CUDA_OK(cudaStreamDestroy(streams[0]));
    CUDA_OK(cudaStreamDestroy(streams[1]));
    printf("seed %llu: %ld paged gathers and scatters captured and replayed 3 times each\n",
           (unsigned long long)seed, captured);
    assert_true(captured > n / 2);
    mockcuda_set_eager(25);
    expect_no_violations();
}

static void test_copy_engines_refused(void **state)
{
    (void)state;
    cudaStream_t s;
    CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    static const fsdt_cap_call REFUSED[2] = {
        {"paged copy engines", copy_engines, NULL, NULL},
        {"paged FSD_ENGINE_AUTO with host slots", auto_host_slots, NULL, NULL},
    };
    int tried = 0;
    for (int i = 0; tried < 12; i++) {
        paged p;
        paged_open(&p, 79, 800000 + i, i % 2);
        if (p.c.packed_size > 0) {
            const long batches = mockcuda_calls(MOCKCUDA_MEMCPY_BATCH_ASYNC);
            fsdt_cap_refused(&REFUSED[tried % 2], &p, s, MODES[tried % 3], FSD_ERROR_INVALID_ARGUMENT);
            assert_int_equal(mockcuda_calls(MOCKCUDA_MEMCPY_BATCH_ASYNC), batches);
            /* and uncaptured, on the same stream, they work */
            refill(&p, s, 0);
            assert_int_equal(copy_engines(&p, s), FSD_SUCCESS);
            CUDA_OK(cudaStreamSynchronize(s));
            if (!check(&p, 0))
                fail_msg("the copy engines after a refused capture: wrong bytes");
            tried++;
        }
        paged_close(&p);
    }
    CUDA_OK(cudaStreamDestroy(s));
    expect_no_violations();
}

/* The launch failing inside a capture: an error with the launch named, nothing synchronised,
 * and no graph with part of the call. */
static void test_failure_in_capture(void **state)
{
    (void)state;
    cudaStream_t s;
    CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    paged p;
    for (int i = 0;; i++) {
        paged_open(&p, 80, 810000 + i, 0);
        if (p.c.packed_size > 0)
            break;
        paged_close(&p);
    }
    for (int m = 0; m < 3; m++) {
        const long syncs = mockcuda_calls(MOCKCUDA_STREAM_SYNCHRONIZE) +
                           mockcuda_calls(MOCKCUDA_EVENT_SYNCHRONIZE);
        CUDA_OK(cudaStreamBeginCapture(s, MODES[m]));
        mockcuda_fail_nth(MOCKCUDA_LAUNCH, 1, cudaErrorLaunchOutOfResources);
        fsd_status st = kernel_engine(&p, s);
        assert_true(mockcuda_fail_fired());
        mockcuda_fail_none();
        char msg[256];
        fsd_last_error(msg, sizeof msg);
        cudaGraph_t g = NULL;
        cudaError_t e = cudaStreamEndCapture(s, &g);
        assert_int_equal(st, FSD_ERROR_CUDA);
        assert_non_null(strstr(msg, "gather kernel launch"));
        size_t nodes = 0;
        if (e == cudaSuccess) {
            CUDA_OK(cudaGraphGetNodes(g, NULL, &nodes));
            assert_int_equal(nodes, 0);
            CUDA_OK(cudaGraphDestroy(g));
        }
        assert_int_equal(mockcuda_calls(MOCKCUDA_STREAM_SYNCHRONIZE) +
                             mockcuda_calls(MOCKCUDA_EVENT_SYNCHRONIZE), syncs);
        (void)cudaGetLastError();
    }
    paged_close(&p);
    CUDA_OK(cudaStreamDestroy(s));
    expect_no_violations();
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("seed %llu\n", (unsigned long long)fsdt_seed());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernel_engine_replayed),
        cmocka_unit_test(test_copy_engines_refused),
        cmocka_unit_test(test_failure_in_capture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
