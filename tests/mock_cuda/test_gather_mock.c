/*
 * test_gather_mock.c — paged gathers and scatters of CUDA caches through the public API on the
 * stand-in runtime: the random caches of tests/gather/kv_cases.h uploaded into device memory,
 * the kernel engine (slots and layer table on the device, one kernel launch whatever the number
 * of layers, slots past the cache skipped and counted) and the copy engines (slots on the host,
 * the merged runs submitted with cudaMemcpyBatchAsync, or cudaMemcpyAsync on the legacy
 * stream), every result read back and compared with the reference.
 *
 * FSD_TEST_SEED replays a run, FSD_TEST_CASES sets the number of random cases (240).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fastserde.h"
#include "fsdt_cuda_ok.h"
#include "fsdt_expect.h"
#include "kv_cases.h"
#if defined(FSDT_REAL_CUDA)
/* Built against the real runtime (tests/gather: test_gather_gpu): the same cases on a GPU,
 * without the stand-in's call counters and checks, which are then skipped. */
#define COUNTED 0
#define CALLS(api) 0L
#else
#include "mock_cuda.h"
#define COUNTED 1
#define CALLS(api) mockcuda_calls(api)
#endif

/* A case's cache, table and slots in device memory (the host case stays the reference). */
typedef struct dev_case {
    unsigned char *layers[KVT_MAX_LAYERS];
    uint64_t *table;
    void *slots;
    DLTensor layer_ptrs_t, slots_t;
    fsd_kv_layout kv;
} dev_case;

/* Uploads c: layers always to the device; the table and slots to the device (slots_on_device)
 * or left in host memory (the copy engines read them there). */
static void upload(const kvt_case *c, dev_case *d, int slots_on_device)
{
    memset(d, 0, sizeof *d);
    uint64_t table[KVT_MAX_LAYERS];
    for (int l = 0; l < c->layers; l++) {
        CUDA_OK(cudaMalloc((void **)&d->layers[l], c->storage_size ? c->storage_size : 1));
        CUDA_OK(cudaMemcpy(d->layers[l], c->storage[l], c->storage_size, cudaMemcpyHostToDevice));
        table[l] = (uint64_t)(uintptr_t)d->layers[l] + (c->table[l] - (uint64_t)(uintptr_t)c->storage[l]);
    }
    d->kv = c->kv;
    d->kv.layer.device = (DLDevice){kDLCUDA, 0};
    if (c->kv.layer.data != NULL)
        d->kv.layer.data = d->layers[0];
    d->layer_ptrs_t = c->layer_ptrs;
    d->slots_t = c->slots;
    if (slots_on_device) {
        CUDA_OK(cudaMalloc((void **)&d->table, sizeof(uint64_t) * (size_t)c->layers));
        CUDA_OK(cudaMemcpy(d->table, table, sizeof(uint64_t) * (size_t)c->layers, cudaMemcpyHostToDevice));
        CUDA_OK(cudaMalloc(&d->slots, c->slot_bytes));
        CUDA_OK(cudaMemcpy(d->slots, c->slot_buf, c->slot_bytes, cudaMemcpyHostToDevice));
        d->layer_ptrs_t.data = d->table;
        d->slots_t.data = d->slots;
        d->layer_ptrs_t.device = d->slots_t.device = (DLDevice){kDLCUDA, 0};
    } else {
        d->table = malloc(sizeof(uint64_t) * (size_t)c->layers);
        memcpy(d->table, table, sizeof(uint64_t) * (size_t)c->layers);
        d->layer_ptrs_t.data = d->table;
    }
    d->kv.layer_ptrs = c->use_table ? &d->layer_ptrs_t : NULL;
}

static void release(const kvt_case *c, dev_case *d, int slots_on_device)
{
    for (int l = 0; l < c->layers; l++)
        CUDA_OK(cudaFree(d->layers[l]));
    if (slots_on_device) {
        CUDA_OK(cudaFree(d->table));
        CUDA_OK(cudaFree(d->slots));
    } else {
        free(d->table);
    }
}

/* How the runner calls: the engine, the stream, and what it saw. */
typedef struct mock_run {
    fsd_engine engine;
    cudaStream_t stream;
    unsigned long long *invalid; /* device counter (kernel engine) */
    long launches, batches, copies; /* call counts of the last run */
    size_t runs;                    /* fsd_gather_runs' count (copy engines) */
} mock_run;

/* The runner of kv_check.c: uploads, calls the API on device memory, downloads into the host
 * case (layers) and `packed`, so that the reference comparison reads the device's result. */
static fsd_status run_mock(void *arg, kvt_case *c, unsigned char *packed, size_t size, int gather)
{
    mock_run *m = arg;
    const int on_device = m->engine == FSD_ENGINE_KERNEL;
    dev_case d;
    upload(c, &d, on_device);
    unsigned char *dpacked = NULL;
    CUDA_OK(cudaMalloc((void **)&dpacked, size ? size : 1));
    CUDA_OK(cudaMemcpy(dpacked, packed, size, cudaMemcpyHostToDevice));
    fsd_gather_options o = FSD_GATHER_OPTIONS_INIT;
    o.engine = m->engine;
    o.invalid_slots = m->invalid;
    m->runs = 0;
    if (!on_device) {
        fsd_status st = fsd_gather_runs(&d.kv, &d.slots_t, kvt_order(c), FSD_KV_GATHER, dpacked, NULL,
                                        0, &m->runs);
        if (st != FSD_SUCCESS)
            return st;
    }
    const long l0 = CALLS(MOCKCUDA_LAUNCH), b0 = CALLS(MOCKCUDA_MEMCPY_BATCH_ASYNC);
    const long c0 = CALLS(MOCKCUDA_MEMCPY_ASYNC);
    fsd_status st = gather ? fsd_gather(&d.kv, &d.slots_t, kvt_order(c), dpacked, size, &o, m->stream)
                           : fsd_scatter(dpacked, size, &d.kv, &d.slots_t, kvt_order(c), &o, m->stream);
    m->launches = CALLS(MOCKCUDA_LAUNCH) - l0;
    m->batches = CALLS(MOCKCUDA_MEMCPY_BATCH_ASYNC) - b0;
    m->copies = CALLS(MOCKCUDA_MEMCPY_ASYNC) - c0;
    CUDA_OK(cudaStreamSynchronize(m->stream));
    CUDA_OK(cudaMemcpy(packed, dpacked, size, cudaMemcpyDeviceToHost));
    for (int l = 0; l < c->layers; l++)
        CUDA_OK(cudaMemcpy(c->storage[l], d.layers[l], c->storage_size, cudaMemcpyDeviceToHost));
    CUDA_OK(cudaFree(dpacked));
    release(c, &d, on_device);
    return st;
}

static void expect_no_violations(void)
{
#if COUNTED
    mockcuda_stats s;
    mockcuda_get_stats(&s);
    assert_int_equal(s.violations, 0);
    assert_int_equal(s.pending_ops, 0);
#endif
}

/* The kernel engine on random caches: bytes, one launch per call, the invalid-slot counter. */
static void test_kernel_engine(void **state)
{
    (void)state;
    const uint64_t seed = fsdt_seed();
    long n = fsdt_env_long("FSD_TEST_CASES", 240);
    cudaStream_t s;
    CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    unsigned long long *counter;
    CUDA_OK(cudaMalloc((void **)&counter, sizeof *counter));
    mock_run m = {FSD_ENGINE_KERNEL, s, counter, 0, 0, 0, 0};
    int bad = 0;
    for (long i = 0; i < n; i++) {
        kvt_case c;
        const int scatter = i % 3 == 2;
        kvt_case_make(&c, seed, (int)i, -1, (scatter ? KVT_SCATTER : 0) | (i % 4 == 1 ? KVT_INVALID : 0));
        const unsigned long long zero = 0;
        CUDA_OK(cudaMemcpy(counter, &zero, sizeof zero, cudaMemcpyHostToDevice));
        bad += scatter ? kvt_check_scatter(&c, run_mock, &m, "mock kernel scatter")
                       : kvt_check_gather(&c, run_mock, &m, "mock kernel gather");
        if (COUNTED && m.launches != (c.packed_size > 0)) {
            printf("FAIL: %ld kernel launches for one call\n      %s\n", m.launches, c.desc);
            bad++;
        }
        unsigned long long got = 0, want = 0;
        CUDA_OK(cudaMemcpy(&got, counter, sizeof got, cudaMemcpyDeviceToHost));
        for (int64_t t = 0; t < c.tokens && c.packed_size > 0; t++)
            want += c.slot_values[t] >= 0 && (uint64_t)c.slot_values[t] >= c.slot_limit;
        if (got != want) {
            printf("FAIL: invalid_slots counted %llu, %llu expected\n      %s\n", got, want, c.desc);
            bad++;
        }
        kvt_case_free(&c);
    }
    CUDA_OK(cudaFree(counter));
    CUDA_OK(cudaStreamDestroy(s));
    expect_no_violations();
    if (bad)
        fail_msg("%d failed checks (seed %llu)", bad, (unsigned long long)seed);
}

/* Exactly one kernel launch per gather and per scatter, for every layer count 1..80. */
static void test_one_launch_per_call(void **state)
{
    (void)state;
    const uint64_t seed = fsdt_seed();
    mock_run m = {FSD_ENGINE_KERNEL, NULL, NULL, 0, 0, 0, 0};
    int bad = 0;
    for (int layers = 1; layers <= 80; layers++) {
        kvt_case c;
        const int family = layers % 2 ? KVT_VLLM_FLASH : KVT_SGLANG;
        kvt_case_make_layers(&c, seed, 400000 + layers, family, layers % 3 ? 0 : KVT_SCATTER, layers);
        if (c.packed_size == 0) { /* an empty draw says nothing about launches */
            kvt_case_free(&c);
            continue;
        }
        bad += layers % 3 ? kvt_check_gather(&c, run_mock, &m, "launch count gather")
                          : kvt_check_scatter(&c, run_mock, &m, "launch count scatter");
        if (COUNTED && m.launches != 1) {
            printf("FAIL: %d layers: %ld kernel launches\n", layers, m.launches);
            bad++;
        }
        kvt_case_free(&c);
    }
    expect_no_violations();
    if (bad)
        fail_msg("%d failed checks (seed %llu)", bad, (unsigned long long)seed);
}

/* The copy engines: the runs fsd_gather_runs lists, in ceil(runs / 1024) batched calls on a
 * created stream, one cudaMemcpyAsync each on the legacy stream; no kernel. */
static void test_copy_engines(void **state)
{
    (void)state;
    const uint64_t seed = fsdt_seed();
    long n = fsdt_env_long("FSD_TEST_CASES", 240) / 2;
    cudaStream_t s;
    CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    int bad = 0;
    for (long i = 0; i < n + 4; i++) {
        kvt_case c;
        const int scatter = i % 2;
        const int large = i >= n; /* real chunks: many runs, more than one batch for some */
        /* One layer of HND heads: 2 * 256 * 8 runs of 256 bytes that do not merge. */
        kvt_case_make_layers(&c, seed, 500000 + (int)i, large ? KVT_VLLM_HND : -1,
                             (scatter ? KVT_SCATTER : 0) | (large ? KVT_LARGE : 0), large ? 1 : 0);
        /* The legacy stream (one cudaMemcpyAsync, one op, per run) on the small cases. */
        mock_run m = {FSD_ENGINE_COPY, i % 3 || large ? s : NULL, NULL, 0, 0, 0, 0};
        bad += scatter ? kvt_check_scatter(&c, run_mock, &m, "mock copy-engine scatter")
                       : kvt_check_gather(&c, run_mock, &m, "mock copy-engine gather");
        const size_t want_runs = kvt_reference_runs(&c);
        const long want_batches = m.stream ? (long)((want_runs + 1023) / 1024) : 0;
        const long want_copies = m.stream ? 0 : (long)want_runs;
        if (m.runs != want_runs ||
            (COUNTED && (m.launches != 0 || m.batches != want_batches || m.copies != want_copies))) {
            printf("FAIL: runs %zu (want %zu), kernels %ld, batched calls %ld (want %ld), copies %ld "
                   "(want %ld)\n      %s\n", m.runs, want_runs, m.launches, m.batches, want_batches,
                   m.copies, want_copies, c.desc);
            bad++;
        }
        kvt_case_free(&c);
    }
    CUDA_OK(cudaStreamDestroy(s));
    expect_no_violations();
    if (bad)
        fail_msg("%d failed checks (seed %llu)", bad, (unsigned long long)seed);
}

int main(void)
{
#if !COUNTED
    int gpus = 0;
    if (cudaGetDeviceCount(&gpus) != cudaSuccess || gpus == 0) {
        printf("test_gather_gpu: no CUDA device: skipped\n");
        return 77;
    }
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernel_engine),
        cmocka_unit_test(test_one_launch_per_call),
        cmocka_unit_test(test_copy_engines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
