/*
 * test_capture_mock.c — the header's graph-capture contract, on the stand-in runtime (whose
 * capture follows CUDA's rules, mock_capture.c; checked by test_mock_capture):
 *
 *  - captured in each capture mode and replayed with new input each time, with the bytes
 *    checked against the naive reference: fsd_pack and fsd_unpack of CUDA tensors (packed
 *    bytes in device memory, and fsd_pack into pinned host memory), fsd_pack_to_host into
 *    pinned memory and fsd_unpack_from_host from pinned memory, strided and contiguous;
 *  - the context used uncaptured before the capture (so that its events were recorded outside
 *    it) and after (so that they were last recorded inside one);
 *  - refused in a capture, with nothing captured and the capture left valid: the round trip
 *    through pageable host memory (the CPU copies it during the call);
 *  - failing inside a capture (CUDA calls failing in turn): an error, nothing synchronised,
 *    and no graph of part of the call.
 *
 *   FSD_TEST_SEED=<n>    replay a run (the seed is printed first)
 *   FSD_TEST_CASES=<n>   random layouts (default 36)
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
#include "fsdt_configs.h"
#include "fsdt_cuda_ok.h"
#include "mock_cuda.h"

#include "capture_helpers.h"

static const enum cudaStreamCaptureMode MODES[3] = {
    cudaStreamCaptureModeGlobal, cudaStreamCaptureModeThreadLocal, cudaStreamCaptureModeRelaxed};

/* One case on the device: its storage, packed bytes in device and pinned memory, the
 * context, and each round's expected bytes. */
typedef struct world {
    const fsdt_case *c;
    fsd_context *ctx;
    DLTensor t;                   /* the view over dev */
    unsigned char *dev, *pk_dev;  /* device storage, device packed bytes */
    unsigned char *pinned;        /* pinned packed bytes */
    unsigned char *staging;       /* pinned: what a refill uploads */
    unsigned char *base;          /* the storage's bytes before an unpack */
    unsigned char *expect;        /* packed bytes (pack) or storage (unpack) of the round */
    fsdt_rng rng;
} world;

static void world_open(world *w, const fsdt_case *c, fsd_context *ctx, uint64_t seed)
{
    memset(w, 0, sizeof *w);
    w->c = c;
    w->ctx = ctx;
    size_t big = c->storage_size > c->packed_size ? c->storage_size : c->packed_size;
    CUDA_OK(cudaMalloc((void **)&w->dev, c->storage_size));
    CUDA_OK(cudaMalloc((void **)&w->pk_dev, c->packed_size ? c->packed_size : 1));
    CUDA_OK(cudaHostAlloc((void **)&w->pinned, c->packed_size ? c->packed_size : 1, 0));
    CUDA_OK(cudaHostAlloc((void **)&w->staging, big, 0));
    w->base = malloc(c->storage_size);
    w->expect = malloc(big);
    w->t = c->t;
    w->t.data = w->dev;
    w->t.device = (DLDevice){kDLCUDA, 0};
    fsdt_rng_init(&w->rng, seed, (uint64_t)c->index);
}

static void world_close(world *w)
{
    CUDA_OK(cudaFree(w->dev));
    CUDA_OK(cudaFree(w->pk_dev));
    CUDA_OK(cudaFreeHost(w->pinned));
    CUDA_OK(cudaFreeHost(w->staging));
    free(w->base);
    free(w->expect);
}

/* Refills: new random storage for a pack; a new base storage and new packed bytes (in device
 * or pinned memory) for an unpack. Queued on s, from pinned staging (the previous round is
 * done: the helpers synchronise after each launch). */
static void refill_pack(void *arg, cudaStream_t s, int round)
{
    world *w = arg;
    (void)round;
    fsdt_rng_fill(&w->rng, w->staging, w->c->storage_size);
    fsdt_reference_pack(w->c, w->staging, w->expect);
    CUDA_OK(cudaMemcpyAsync(w->dev, w->staging, w->c->storage_size, cudaMemcpyHostToDevice, s));
    memset(w->pinned, 0x5A, w->c->packed_size);
}

static void refill_unpack(world *w, cudaStream_t s, unsigned char *packed_dst)
{
    const fsdt_case *c = w->c;
    fsdt_rng_fill(&w->rng, w->base, c->storage_size);
    memcpy(w->staging, w->base, c->storage_size);
    CUDA_OK(cudaMemcpyAsync(w->dev, w->staging, c->storage_size, cudaMemcpyHostToDevice, s));
    CUDA_OK(cudaStreamSynchronize(s)); /* the staging buffer is reused below */
    fsdt_rng_fill(&w->rng, w->staging, c->packed_size);
    memcpy(w->expect, w->base, c->storage_size);
    fsdt_reference_unpack(c, w->staging, w->expect);
    if (c->packed_size > 0)
        CUDA_OK(cudaMemcpyAsync(packed_dst, w->staging, c->packed_size, cudaMemcpyDefault, s));
}

static void refill_unpack_device(void *arg, cudaStream_t s, int round)
{
    (void)round;
    refill_unpack(arg, s, ((world *)arg)->pk_dev);
}

static void refill_unpack_pinned(void *arg, cudaStream_t s, int round)
{
    (void)round;
    refill_unpack(arg, s, ((world *)arg)->pinned);
}

static int check_packed_device(void *arg, int round)
{
    world *w = arg;
    (void)round;
    unsigned char *got = malloc(w->c->packed_size + 1);
    mockcuda_peek(got, w->pk_dev, w->c->packed_size);
    int ok = memcmp(got, w->expect, w->c->packed_size) == 0;
    free(got);
    return ok;
}

static int check_packed_pinned(void *arg, int round)
{
    world *w = arg;
    (void)round;
    return memcmp(w->pinned, w->expect, w->c->packed_size) == 0;
}

static int check_storage(void *arg, int round)
{
    world *w = arg;
    (void)round;
    unsigned char *got = malloc(w->c->storage_size);
    mockcuda_peek(got, w->dev, w->c->storage_size);
    int ok = memcmp(got, w->expect, w->c->storage_size) == 0;
    free(got);
    return ok;
}

static fsd_status pack_device(void *arg, cudaStream_t s)
{
    world *w = arg;
    return fsd_pack(&w->t, w->pk_dev, w->c->packed_size, s);
}

static fsd_status pack_mapped(void *arg, cudaStream_t s)
{
    world *w = arg;
    return fsd_pack(&w->t, w->pinned, w->c->packed_size, s);
}

static fsd_status unpack_device(void *arg, cudaStream_t s)
{
    world *w = arg;
    return fsd_unpack(w->pk_dev, w->c->packed_size, &w->t, s);
}

static fsd_status pack_to_pinned(void *arg, cudaStream_t s)
{
    world *w = arg;
    return fsd_pack_to_host(w->ctx, &w->t, w->pinned, w->c->packed_size, s);
}

static fsd_status unpack_from_pinned(void *arg, cudaStream_t s)
{
    world *w = arg;
    return fsd_unpack_from_host(w->ctx, w->pinned, w->c->packed_size, &w->t, s);
}

static const fsdt_cap_call CALLS[] = {
    {"fsd_pack (device bytes)", pack_device, refill_pack, check_packed_device},
    {"fsd_pack (pinned bytes)", pack_mapped, refill_pack, check_packed_pinned},
    {"fsd_unpack (device bytes)", unpack_device, refill_unpack_device, check_storage},
    {"fsd_pack_to_host (pinned)", pack_to_pinned, refill_pack, check_packed_pinned},
    {"fsd_unpack_from_host (pinned)", unpack_from_pinned, refill_unpack_pinned, check_storage},
};
enum { NCALLS = sizeof CALLS / sizeof CALLS[0] };

/* An uncaptured round trip through pageable memory on the same context: before a capture its
 * events are recorded outside it; after one they were last recorded inside it. */
static void uncaptured_round_trip(world *w, cudaStream_t s)
{
    const fsdt_case *c = w->c;
    if (c->packed_size == 0)
        return;
    refill_pack(w, s, 0);
    unsigned char *host = malloc(c->packed_size);
    fsd_status st = fsd_pack_to_host(w->ctx, &w->t, host, c->packed_size, s);
    if (st != FSD_SUCCESS || memcmp(host, w->expect, c->packed_size) != 0) {
        char msg[256];
        fsd_last_error(msg, sizeof msg);
        fail_msg("case %d (%s): uncaptured fsd_pack_to_host next to captures: %s (%s)",
                 c->index, c->desc, fsd_status_string(st), msg);
    }
    if (c->nests) {
        fsdt_rng_fill(&w->rng, host, c->packed_size);
        unsigned char *want = malloc(c->storage_size);
        memcpy(want, w->staging, c->storage_size); /* the storage refill_pack uploaded */
        fsdt_reference_unpack(c, host, want);
        st = fsd_unpack_from_host(w->ctx, host, c->packed_size, &w->t, s);
        CUDA_OK(cudaStreamSynchronize(s));
        unsigned char *got = malloc(c->storage_size);
        mockcuda_peek(got, w->dev, c->storage_size);
        if (st != FSD_SUCCESS || memcmp(got, want, c->storage_size) != 0)
            fail_msg("case %d (%s): uncaptured fsd_unpack_from_host next to captures: %s",
                     c->index, c->desc, fsd_status_string(st));
        free(got);
        free(want);
    }
    free(host);
}

static void test_capture_and_replay(void **state)
{
    (void)state;
    uint64_t seed = fsdt_seed();
    long n = fsdt_env_long("FSD_TEST_CASES", 36);
    fsd_context_config cfg = fsdt_small_ring_config();
    fsd_context *ctx = NULL;
    assert_int_equal(fsd_context_create(&ctx, &cfg), FSD_SUCCESS);
    cudaStream_t streams[2];
    CUDA_OK(cudaStreamCreateWithFlags(&streams[0], cudaStreamNonBlocking));
    CUDA_OK(cudaStreamCreateWithFlags(&streams[1], cudaStreamDefault));
    long captured = 0;
    for (long i = 0; i < n; i++) {
        fsdt_case c;
        fsdt_case_make(&c, seed, (int)i);
        if (c.packed_size == 0 || c.aliasing) {
            fsdt_case_free(&c);
            continue;
        }
        world w;
        world_open(&w, &c, ctx, seed);
        mockcuda_set_seed(seed + (uint64_t)i);
        mockcuda_set_eager((int)(i % 3) * 40);
        enum cudaStreamCaptureMode mode = MODES[i % 3];
        cudaStream_t s = streams[(i / 3) % 2];
        uncaptured_round_trip(&w, s);
        for (int k = 0; k < NCALLS; k++) {
            if (!c.nests && CALLS[k].refill != refill_pack)
                continue; /* unpack into a view whose elements may alias: refused anyway */
            fsdt_cap_replay(&CALLS[k], &w, s, mode, 3);
            captured++;
            uncaptured_round_trip(&w, s);
        }
        world_close(&w);
        fsdt_case_free(&c);
    }
    CUDA_OK(cudaStreamDestroy(streams[0]));
    CUDA_OK(cudaStreamDestroy(streams[1]));
    fsd_context_destroy(ctx);
    printf("seed %llu: %ld calls captured and replayed 3 times each\n", (unsigned long long)seed,
           captured);
    assert_true(captured > 50);
    mockcuda_stats st;
    mockcuda_drain();
    mockcuda_get_stats(&st);
    assert_int_equal(st.violations, 0);
}

/* The round trip through pageable memory is refused in a capture, whatever the mode. */
static fsd_status pack_to_pageable(void *arg, cudaStream_t s)
{
    world *w = arg;
    unsigned char *host = malloc(w->c->packed_size);
    memset(host, 0x5A, w->c->packed_size);
    fsd_status st = fsd_pack_to_host(w->ctx, &w->t, host, w->c->packed_size, s);
    int untouched = fsdt_all_equal(host, w->c->packed_size, 0x5A);
    free(host);
    if (!untouched)
        fail_msg("fsd_pack_to_host wrote its pageable destination in a capture");
    return st;
}

static fsd_status unpack_from_pageable(void *arg, cudaStream_t s)
{
    world *w = arg;
    unsigned char *host = calloc(1, w->c->packed_size);
    fsd_status st = fsd_unpack_from_host(w->ctx, host, w->c->packed_size, &w->t, s);
    free(host);
    return st;
}

static void test_pageable_refused(void **state)
{
    (void)state;
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.chunk_bytes = 4096;
    cfg.chunks = 2;
    fsd_context *ctx = NULL;
    assert_int_equal(fsd_context_create(&ctx, &cfg), FSD_SUCCESS);
    cudaStream_t s;
    CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    fsdt_case c;
    for (int i = 0;; i++) { /* a case with bytes that nests */
        fsdt_case_make(&c, 77, i);
        if (c.packed_size > 5000 && c.nests)
            break;
        fsdt_case_free(&c);
    }
    world w;
    world_open(&w, &c, ctx, 77);
    static const fsdt_cap_call PAGEABLE[] = {
        {"fsd_pack_to_host (pageable)", pack_to_pageable, NULL, NULL},
        {"fsd_unpack_from_host (pageable)", unpack_from_pageable, NULL, NULL},
    };
    for (int m = 0; m < 3; m++)
        for (int k = 0; k < 2; k++) {
            fsdt_cap_refused(&PAGEABLE[k], &w, s, MODES[m], FSD_ERROR_INVALID_ARGUMENT);
            uncaptured_round_trip(&w, s); /* the context is fine */
        }
    world_close(&w);
    fsdt_case_free(&c);
    CUDA_OK(cudaStreamDestroy(s));
    fsd_context_destroy(ctx);
}

/* A call that fails inside a capture (each launch and each event record failing in turn)
 * returns an error, synchronises nothing, and the capture cannot be ended into a graph of part
 * of the call: cudaStreamEndCapture fails, or the call captured nothing at all. The context
 * works afterwards. */
static void test_failure_in_capture(void **state)
{
    (void)state;
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.chunk_bytes = 4096;
    cfg.chunks = 2;
    fsd_context *ctx = NULL;
    assert_int_equal(fsd_context_create(&ctx, &cfg), FSD_SUCCESS);
    cudaStream_t s;
    CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    fsdt_case c;
    for (int i = 0;; i++) { /* a strided case of several chunks that nests */
        fsdt_case_make(&c, 78, i);
        if (c.packed_size > 9000 && c.nests && !c.aliasing && c.t.strides != NULL)
            break;
        fsdt_case_free(&c);
    }
    world w;
    world_open(&w, &c, ctx, 78);
    static const mockcuda_api APIS[] = {MOCKCUDA_LAUNCH, MOCKCUDA_EVENT_RECORD,
                                        MOCKCUDA_STREAM_WAIT_EVENT, MOCKCUDA_MEMCPY_ASYNC};
    long injected = 0;
    for (int k = 3; k <= 4; k++) /* fsd_pack_to_host, fsd_unpack_from_host (pinned) */
        for (size_t a = 0; a < sizeof APIS / sizeof APIS[0]; a++)
            for (long n = 1; n <= 12; n++) {
                long syncs = mockcuda_calls(MOCKCUDA_STREAM_SYNCHRONIZE) +
                             mockcuda_calls(MOCKCUDA_EVENT_SYNCHRONIZE);
                CUDA_OK(cudaStreamBeginCapture(s, MODES[n % 3]));
                mockcuda_fail_nth(APIS[a], n, cudaSuccess);
                fsd_status st = CALLS[k].enqueue(&w, s);
                int fired = mockcuda_fail_fired();
                mockcuda_fail_none();
                cudaGraph_t g = NULL;
                cudaError_t e = cudaStreamEndCapture(s, &g);
                (void)cudaGetLastError();
                if (!fired) {
                    assert_int_equal(st, FSD_SUCCESS);
                    CUDA_OK(e);
                    CUDA_OK(cudaGraphDestroy(g));
                    break;
                }
                injected++;
                if (st == FSD_SUCCESS)
                    fail_msg("%s: call %ld of %s failed in a capture, yet FSD_SUCCESS",
                             CALLS[k].name, n, mockcuda_api_name(APIS[a]));
                size_t nodes = 0;
                if (e == cudaSuccess && (cudaGraphGetNodes(g, NULL, &nodes) != cudaSuccess || nodes > 0))
                    fail_msg("%s: call %ld of %s failed in a capture, and the capture ended "
                             "into a graph of %zu nodes", CALLS[k].name, n,
                             mockcuda_api_name(APIS[a]), nodes);
                if (g != NULL)
                    CUDA_OK(cudaGraphDestroy(g));
                if (mockcuda_calls(MOCKCUDA_STREAM_SYNCHRONIZE) +
                        mockcuda_calls(MOCKCUDA_EVENT_SYNCHRONIZE) != syncs)
                    fail_msg("%s: failed in a capture and synchronised", CALLS[k].name);
                uncaptured_round_trip(&w, s);
            }
    assert_true(injected > 20);
    world_close(&w);
    fsdt_case_free(&c);
    CUDA_OK(cudaStreamDestroy(s));
    fsd_context_destroy(ctx);
    mockcuda_stats st;
    mockcuda_drain();
    mockcuda_get_stats(&st);
    assert_int_equal(st.violations, 0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("seed %llu\n", (unsigned long long)fsdt_seed());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capture_and_replay),
        cmocka_unit_test(test_pageable_refused),
        cmocka_unit_test(test_failure_in_capture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
