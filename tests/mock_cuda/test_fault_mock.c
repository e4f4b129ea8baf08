/*
 * test_fault_mock.c — fault injection with a GPU context, on the stand-in runtime:
 *
 *  1. allocation hooks: every allocation (host, pinned, device) of context creation and of
 *     fsd_from_bytes into a CUDA tensor fails in turn: FSD_ERROR_OUT_OF_MEMORY, a NULL result,
 *     every granted allocation freed, no stream or event left;
 *  2. CUDA calls: during each call of the API (create, pack/unpack to pageable and pinned host
 *     memory, the one-DMA path, to_bytes, from_bytes, fsd_pack), every call of every runtime
 *     function it makes fails in turn. The call must return an error with a message (or
 *     succeed with the right bytes, where the failure is one it can work around), the context
 *     must still give the right bytes afterwards, and destroying it must leave no stream,
 *     event or allocation behind. No work of a call that returned an error may still write
 *     the caller's memory afterwards. The sites are printed.
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

#define FILL 0x5A

/* ------------------------------------------------------------------------------------------ */
/* Allocation hooks that fail the N-th call                                                   */

#include "fsdt_faulty_alloc.h"

static void expect_clean_mock(const char *what)
{
    mockcuda_drain();
    mockcuda_stats s;
    mockcuda_get_stats(&s);
    if (s.device_allocs || s.pinned_allocs || s.streams || s.events || s.violations)
        fail_msg("%s: left %ld device and %ld pinned allocations, %ld streams, %ld events; "
                 "%ld misuses", what, s.device_allocs, s.pinned_allocs, s.streams, s.events,
                 s.violations);
}

static fsd_status hooked_scenario(fsdt_faulty *f)
{
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.chunk_bytes = 4096;
    cfg.chunks = 3;
    cfg.cpu_threads = 2;
    cfg.allocator.alloc = fsdt_faulty_alloc;
    cfg.allocator.free = fsdt_faulty_free;
    cfg.allocator.user = f;
    fsd_context *ctx = (fsd_context *)1;
    f->phase = "fsd_context_create";
    fsd_status st = fsd_context_create(&ctx, &cfg);
    if (st != FSD_SUCCESS) {
        assert_null(ctx);
        return st;
    }
    unsigned char bytes[10000], back[10000];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (unsigned char)(i * 13 + 1);
    DLManagedTensor *m = (DLManagedTensor *)1;
    f->phase = "fsd_from_bytes";
    st = fsd_from_bytes(ctx, bytes, sizeof bytes, (DLDataType){kDLInt, 16, 1},
                        (DLDevice){kDLCUDA, 0}, &m);
    if (st == FSD_SUCCESS) {
        f->phase = "fsd_pack_to_host";
        assert_int_equal(fsd_pack_to_host(ctx, &m->dl_tensor, back, sizeof back, NULL),
                         FSD_SUCCESS);
        assert_memory_equal(back, bytes, sizeof back);
        f->phase = "deleter";
        m->deleter(m);
    } else {
        assert_null(m);
    }
    f->phase = "fsd_context_destroy";
    fsd_context_destroy(ctx);
    return st;
}

static void test_hooks_fail_in_turn(void **state)
{
    (void)state;
    static fsdt_faulty f;
    memset(&f, 0, sizeof f);
    assert_int_equal(hooked_scenario(&f), FSD_SUCCESS);
    assert_int_equal(f.live, 0);
    expect_clean_mock("clean run");
    const long count = f.calls;
    fsdt_faulty clean = f;
    int kinds_seen[3] = {0, 0, 0};
    printf("%ld allocations with a GPU context; each fails in turn:\n", count);
    for (long n = 1; n <= count; n++) {
        memset(&f, 0, sizeof f);
        f.fail_at = n;
        fsd_status st = hooked_scenario(&f);
        kinds_seen[clean.sites[n - 1].kind]++;
        printf("  #%ld %-6s %8zu bytes in %-18s -> %s\n", n, FSDT_ALLOC_KIND[clean.sites[n - 1].kind],
               clean.sites[n - 1].size, clean.sites[n - 1].phase, fsd_status_string(st));
        if (st != FSD_ERROR_OUT_OF_MEMORY)
            fail_msg("allocation %ld failed, the scenario returned %s", n, fsd_status_string(st));
        if (f.live != 0)
            fail_msg("allocation %ld failed: %d granted allocations never freed", n, f.live);
        expect_clean_mock("after a failed allocation");
    }
    assert_true(kinds_seen[FSD_ALLOC_HOST] > 0);
    assert_true(kinds_seen[FSD_ALLOC_PINNED] > 0);
    assert_true(kinds_seen[FSD_ALLOC_DEVICE] >= 2); /* the chunks and from_bytes' tensor */
}

/* ------------------------------------------------------------------------------------------ */
/* Failing CUDA calls                                                                          */

typedef enum phase {
    PH_CREATE,
    PH_PACK_PAGEABLE,
    PH_PACK_PINNED,
    PH_UNPACK_PAGEABLE,
    PH_UNPACK_PINNED,
    PH_PACK_ONE_DMA,
    PH_TO_BYTES,
    PH_FROM_BYTES,
    PH_PACK_DEVICE,
    PH_COUNT
} phase;

static const char *const PHASE_NAMES[PH_COUNT] = {
    "fsd_context_create", "pack_to_host pageable", "pack_to_host pinned",
    "unpack_from_host pageable", "unpack_from_host pinned", "pack_to_host contiguous pinned",
    "fsd_to_bytes", "fsd_from_bytes CUDA", "fsd_pack device",
};

/* The world of one scenario: a strided device tensor T ([40, 200] int16, transposed: 16000
 * bytes, four 4 KiB chunks) and a contiguous one C, host buffers of both kinds. */
typedef struct world {
    fsd_context *ctx;
    cudaStream_t s;
    unsigned char *t_dev, *c_dev, *pk_dev; /* device */
    unsigned char *pinned, *pageable;      /* PACKED bytes each */
    unsigned char *src_pinned, *src_pageable;
    unsigned char ref[16000], noise[16000];
    unsigned char storage[16000];
    int64_t shape[2], strides[2];
    DLTensor T, C;
} world;

#define PACKED 16000

static void world_open(world *w)
{
    memset(w, 0, sizeof *w);
    mockcuda_set_seed(99);
    mockcuda_set_eager(20);
    for (int i = 0; i < PACKED; i++) {
        w->storage[i] = (unsigned char)(i * 31 + 7);
        w->noise[i] = (unsigned char)(i * 17 + 3);
    }
    /* T[i][j] = compact [200, 40] element (j, i) */
    w->shape[0] = 40;
    w->shape[1] = 200;
    w->strides[0] = 1;
    w->strides[1] = 40;
    for (int i = 0, k = 0; i < 40; i++)
        for (int j = 0; j < 200; j++, k += 2)
            memcpy(w->ref + k, w->storage + 2 * (j * 40 + i), 2);
    CUDA_OK(cudaMalloc((void **)&w->t_dev, PACKED));
    CUDA_OK(cudaMalloc((void **)&w->c_dev, PACKED));
    CUDA_OK(cudaMalloc((void **)&w->pk_dev, PACKED));
    CUDA_OK(cudaHostAlloc((void **)&w->pinned, PACKED, 0));
    CUDA_OK(cudaHostAlloc((void **)&w->src_pinned, PACKED, 0));
    w->pageable = malloc(PACKED);
    w->src_pageable = malloc(PACKED);
    CUDA_OK(cudaMemcpy(w->t_dev, w->storage, PACKED, cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(w->c_dev, w->ref, PACKED, cudaMemcpyHostToDevice));
    CUDA_OK(cudaStreamCreateWithFlags(&w->s, cudaStreamNonBlocking));
    w->T = (DLTensor){w->t_dev, {kDLCUDA, 0}, 2, {kDLInt, 16, 1}, w->shape, w->strides, 0};
    w->C = (DLTensor){w->c_dev, {kDLCUDA, 0}, 1, {kDLUInt, 8, 1}, NULL, NULL, 0};
    static int64_t flat[1] = {PACKED};
    w->C.shape = flat;
}

static void world_close(world *w)
{
    fsd_context_destroy(w->ctx);
    CUDA_OK(cudaStreamDestroy(w->s));
    CUDA_OK(cudaFree(w->t_dev));
    CUDA_OK(cudaFree(w->c_dev));
    CUDA_OK(cudaFree(w->pk_dev));
    CUDA_OK(cudaFreeHost(w->pinned));
    CUDA_OK(cudaFreeHost(w->src_pinned));
    free(w->pageable);
    free(w->src_pageable);
}

static fsd_status make_context(world *w)
{
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.chunk_bytes = 4096;
    cfg.chunks = 2;
    cfg.cpu_threads = 2;
    return fsd_context_create(&w->ctx, &cfg);
}

/* What a phase wrote where the caller can see it, read now without running anything. */
static void observe(world *w, phase p, unsigned char *out)
{
    switch (p) {
    case PH_PACK_PAGEABLE: memcpy(out, w->pageable, PACKED); break;
    case PH_PACK_PINNED:
    case PH_PACK_ONE_DMA: memcpy(out, w->pinned, PACKED); break;
    case PH_UNPACK_PAGEABLE:
    case PH_UNPACK_PINNED: mockcuda_peek(out, w->t_dev, PACKED); break;
    case PH_PACK_DEVICE: mockcuda_peek(out, w->pk_dev, PACKED); break;
    default: memset(out, 0, PACKED); break;
    }
}

/* Calls the API of phase p, and nothing else (the failure count covers this call only). */
static fsd_status call_phase(world *w, phase p, void **bytes, size_t *n, DLManagedTensor **m)
{
    switch (p) {
    case PH_CREATE:
        return make_context(w);
    case PH_PACK_PAGEABLE:
        return fsd_pack_to_host(w->ctx, &w->T, w->pageable, PACKED, w->s);
    case PH_PACK_PINNED:
        return fsd_pack_to_host(w->ctx, &w->T, w->pinned, PACKED, w->s);
    case PH_PACK_ONE_DMA:
        return fsd_pack_to_host(w->ctx, &w->C, w->pinned, PACKED, w->s);
    case PH_UNPACK_PAGEABLE:
        memcpy(w->src_pageable, w->ref, PACKED);
        return fsd_unpack_from_host(w->ctx, w->src_pageable, PACKED, &w->T, w->s);
    case PH_UNPACK_PINNED:
        memcpy(w->src_pinned, w->ref, PACKED);
        return fsd_unpack_from_host(w->ctx, w->src_pinned, PACKED, &w->T, w->s);
    case PH_TO_BYTES:
        return fsd_to_bytes(w->ctx, &w->T, bytes, n);
    case PH_FROM_BYTES:
        return fsd_from_bytes(w->ctx, w->ref, PACKED, (DLDataType){kDLInt, 16, 1},
                              (DLDevice){kDLCUDA, 0}, m);
    case PH_PACK_DEVICE:
        return fsd_pack(&w->T, w->pk_dev, PACKED, w->s);
    default:
        return FSD_ERROR_INTERNAL;
    }
}

/* After a successful call: 1 when its result is right (waits for the stream first). */
static int check_phase(world *w, phase p, void *bytes, size_t n, DLManagedTensor *m)
{
    unsigned char got[PACKED];
    CUDA_OK(cudaStreamSynchronize(w->s));
    switch (p) {
    case PH_CREATE:
        return 1;
    case PH_PACK_PAGEABLE:
        return memcmp(w->pageable, w->ref, PACKED) == 0;
    case PH_PACK_PINNED:
    case PH_PACK_ONE_DMA:
        return memcmp(w->pinned, w->ref, PACKED) == 0;
    case PH_UNPACK_PAGEABLE:
    case PH_UNPACK_PINNED:
        mockcuda_peek(got, w->t_dev, PACKED);
        return memcmp(got, w->storage, PACKED) == 0;
    case PH_TO_BYTES:
        return n == PACKED && memcmp(bytes, w->ref, PACKED) == 0;
    case PH_FROM_BYTES:
        mockcuda_peek(got, m->dl_tensor.data, PACKED);
        return memcmp(got, w->ref, PACKED) == 0;
    case PH_PACK_DEVICE:
        mockcuda_peek(got, w->pk_dev, PACKED);
        return memcmp(got, w->ref, PACKED) == 0;
    default:
        return 0;
    }
}

static fsd_status run_phase(world *w, phase p, int *ok_bytes)
{
    void *bytes = NULL;
    size_t n = 0;
    DLManagedTensor *m = NULL;
    fsd_status st = call_phase(w, p, &bytes, &n, &m);
    *ok_bytes = st == FSD_SUCCESS && check_phase(w, p, bytes, n, m);
    fsd_bytes_free(bytes);
    if (m != NULL)
        m->deleter(m);
    return st;
}

/* Resets what phase p writes to a known pattern (so late writes can be seen). */
static void prime(world *w, phase p)
{
    unsigned char fill[PACKED];
    memset(fill, FILL, PACKED);
    memset(w->pageable, FILL, PACKED);
    memset(w->pinned, FILL, PACKED);
    if (p == PH_UNPACK_PAGEABLE || p == PH_UNPACK_PINNED)
        mockcuda_poke(w->t_dev, w->noise, PACKED);
    mockcuda_poke(w->pk_dev, fill, PACKED);
}

typedef struct tally {
    long runs, errors, worked_around, late_writes, partial_writes;
} tally;

/* One scenario with the n-th call of `api` inside phase p failing (n = 0: none). Returns the
 * number of calls of `api` the phase made. */
static long scenario(phase p, mockcuda_api api, long n, tally *t)
{
    world w;
    world_open(&w);
    if (p != PH_CREATE)
        assert_int_equal(make_context(&w), FSD_SUCCESS);
    prime(&w, p);
    unsigned char before[PACKED], at_return[PACKED], later[PACKED];
    observe(&w, p, before);
    long c0 = mockcuda_calls(api);
    if (n > 0)
        mockcuda_fail_nth(api, n, cudaSuccess);
    void *bytes = (void *)1;
    size_t nbytes = 1;
    DLManagedTensor *m = (DLManagedTensor *)1;
    fsd_status st = call_phase(&w, p, &bytes, &nbytes, &m);
    int fired = mockcuda_fail_fired();
    mockcuda_fail_none();
    long calls = mockcuda_calls(api) - c0;
    observe(&w, p, at_return);
    char msg[256];
    fsd_last_error(msg, sizeof msg);
    if (p == PH_TO_BYTES && st != FSD_SUCCESS && (bytes != NULL || nbytes != 0))
        fail_msg("fsd_to_bytes failed (%s) but returned a buffer", fsd_status_string(st));
    if (p == PH_FROM_BYTES && st != FSD_SUCCESS && m != NULL)
        fail_msg("fsd_from_bytes failed (%s) but returned a tensor", fsd_status_string(st));
    int ok_bytes = st == FSD_SUCCESS && check_phase(&w, p, bytes, nbytes, m);
    if (p == PH_TO_BYTES && st == FSD_SUCCESS)
        fsd_bytes_free(bytes);
    if (p == PH_FROM_BYTES && st == FSD_SUCCESS)
        m->deleter(m);
    if (n == 0 && !ok_bytes)
        fail_msg("%s: %s or wrong bytes with nothing failing", PHASE_NAMES[p],
                 fsd_status_string(st));
    if (n > 0 && !fired)
        fail_msg("%s: call %ld of %s was not reached (seed-dependent call counts?)",
                 PHASE_NAMES[p], n, mockcuda_api_name(api));
    if (n > 0) {
        t->runs++;
        if (st == FSD_SUCCESS) {
            if (!ok_bytes)
                fail_msg("%s with call %ld of %s failing: FSD_SUCCESS but wrong bytes",
                         PHASE_NAMES[p], n, mockcuda_api_name(api));
            t->worked_around++;
        } else {
            t->errors++;
            if (msg[0] == '\0')
                fail_msg("%s: %s without a message", PHASE_NAMES[p], fsd_status_string(st));
            if (st != FSD_ERROR_CUDA && st != FSD_ERROR_OUT_OF_MEMORY && st != FSD_ERROR_NO_GPU)
                fail_msg("%s with call %ld of %s failing: %s", PHASE_NAMES[p], n,
                         mockcuda_api_name(api), fsd_status_string(st));
            /* Nothing of the failed call may still be running into the caller's memory. */
            mockcuda_drain();
            observe(&w, p, later);
            if (memcmp(later, at_return, PACKED) != 0) {
                t->late_writes++;
                printf("    LATE WRITE: %s, call %ld of %s failed (%s), yet the caller's "
                       "buffer changed after the call returned\n", PHASE_NAMES[p], n,
                       mockcuda_api_name(api), msg);
            }
            if (memcmp(at_return, before, PACKED) != 0)
                t->partial_writes++;
        }
    }
    if (w.ctx != NULL && p != PH_CREATE) {
        /* the context still works */
        int ok = 0;
        mockcuda_drain();
        mockcuda_poke(w.t_dev, w.storage, PACKED);
        prime(&w, PH_PACK_PAGEABLE);
        if (run_phase(&w, PH_PACK_PAGEABLE, &ok) != FSD_SUCCESS || !ok)
            fail_msg("after %s with call %ld of %s failing, the context gives wrong bytes",
                     PHASE_NAMES[p], n, mockcuda_api_name(api));
        prime(&w, PH_UNPACK_PINNED);
        if (run_phase(&w, PH_UNPACK_PINNED, &ok) != FSD_SUCCESS || !ok)
            fail_msg("after %s with call %ld of %s failing, unpack gives wrong bytes",
                     PHASE_NAMES[p], n, mockcuda_api_name(api));
    }
    world_close(&w);
    expect_clean_mock(PHASE_NAMES[p]);
    return calls;
}

static void test_cuda_calls_fail_in_turn(void **state)
{
    (void)state;
    static const mockcuda_api APIS[] = {
        MOCKCUDA_GET_DEVICE_COUNT, MOCKCUDA_GET_DEVICE, MOCKCUDA_SET_DEVICE,
        MOCKCUDA_DEVICE_GET_ATTRIBUTE, MOCKCUDA_STREAM_CREATE, MOCKCUDA_EVENT_CREATE,
        MOCKCUDA_MALLOC, MOCKCUDA_HOST_ALLOC, MOCKCUDA_EVENT_RECORD, MOCKCUDA_STREAM_WAIT_EVENT,
        MOCKCUDA_EVENT_SYNCHRONIZE, MOCKCUDA_STREAM_SYNCHRONIZE, MOCKCUDA_MEMCPY_ASYNC,
        MOCKCUDA_LAUNCH, MOCKCUDA_POINTER_GET_ATTRIBUTES, MOCKCUDA_MALLOC_ASYNC,
        MOCKCUDA_MEM_POOL_CREATE,
    };
    tally total = {0};
    for (int p = 0; p < PH_COUNT; p++) {
        tally t = {0};
        printf("%s:", PHASE_NAMES[p]);
        for (size_t a = 0; a < sizeof APIS / sizeof APIS[0]; a++) {
            long calls = scenario((phase)p, APIS[a], 0, &t);
            if (calls > 0)
                printf(" %s x%ld", mockcuda_api_name(APIS[a]), calls);
            for (long n = 1; n <= calls && n <= 48; n++)
                scenario((phase)p, APIS[a], n, &t);
        }
        printf("\n    %ld failures injected: %ld errors, %ld worked around; %ld errors left "
               "part of the output written, %ld wrote after returning\n", t.runs, t.errors,
               t.worked_around, t.partial_writes, t.late_writes);
        total.runs += t.runs;
        total.late_writes += t.late_writes;
    }
    assert_true(total.runs > 100);
    if (total.late_writes > 0)
        fail_msg("%ld failed calls left work running that wrote the caller's memory after they "
                 "returned (listed above)", total.late_writes);
}

/* fsd_context_destroy when the runtime cannot even say which device is current: still nothing
 * may be left (the context knows its device; the streams, events and chunks are its own). */
static void test_destroy_when_get_device_fails(void **state)
{
    (void)state;
    fsd_context *ctx = NULL;
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.chunk_bytes = 4096;
    assert_int_equal(fsd_context_create(&ctx, &cfg), FSD_SUCCESS);
    mockcuda_fail_nth(MOCKCUDA_GET_DEVICE, 1, cudaSuccess);
    fsd_context_destroy(ctx);
    int fired = mockcuda_fail_fired();
    mockcuda_fail_none();
    (void)cudaGetLastError();
    assert_true(fired);
    expect_clean_mock("fsd_context_destroy with cudaGetDevice failing");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hooks_fail_in_turn),
        cmocka_unit_test(test_cuda_calls_fail_in_turn),
        cmocka_unit_test(test_destroy_when_get_device_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
