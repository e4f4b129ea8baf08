/*
 * test_mock_runtime.c — the stand-in runtime checked on its own: before trusting it to catch
 * ordering bugs in the library, show that it defers work, honours (only) the dependencies CUDA
 * defines, exposes a missing one as stale bytes, reads copy sources when the copy runs, detects
 * misuse, injects failures and reports 0 devices.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fastserde.h"
#include "kernel_launch.h"
#include "layout.h"
#include "mock_cuda.h"
#include "mock_test_util.h"
#include "plan_build.h"

static void test_copies_are_deferred(void **state)
{
    (void)state;
    mockcuda_set_eager(0);
    unsigned char *a = pinned(64, 7), *b = pinned(64, 0);
    void *d = NULL;
    cudaStream_t s;
    OK(cudaMalloc(&d, 64));
    OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    OK(cudaMemcpyAsync(d, a, 64, cudaMemcpyHostToDevice, s));
    OK(cudaMemcpyAsync(b, d, 64, cudaMemcpyDeviceToHost, s));
    assert_int_equal(b[0], 0); /* nothing ran yet */
    memset(a, 9, 64);          /* the H2D reads its source when it runs */
    assert_int_equal(cudaStreamQuery(s), cudaErrorNotReady);
    OK(cudaStreamSynchronize(s));
    assert_int_equal(b[0], 9);
    assert_int_equal(b[63], 9);
    OK(cudaStreamQuery(s));
    OK(cudaStreamDestroy(s));
    OK(cudaFree(d));
    OK(cudaFreeHost(a));
    OK(cudaFreeHost(b));
    assert_int_equal(violations(), 0);
}

static void test_pageable_rules(void **state)
{
    (void)state;
    mockcuda_set_eager(0);
    unsigned char host[32], back[32];
    memset(host, 1, sizeof host);
    void *d = NULL;
    cudaStream_t s;
    OK(cudaMalloc(&d, 32));
    OK(cudaStreamCreate(&s));
    OK(cudaMemcpyAsync(d, host, 32, cudaMemcpyHostToDevice, s)); /* staged at the call */
    memset(host, 2, sizeof host);
    memset(back, 0, sizeof back);
    OK(cudaMemcpyAsync(back, d, 32, cudaMemcpyDeviceToHost, s)); /* returns when done */
    assert_int_equal(back[0], 1);
    assert_int_equal(back[31], 1);
    OK(cudaStreamDestroy(s));
    OK(cudaFree(d));
    assert_int_equal(violations(), 0);
}

/* cudaMemsetAsync: in stream order, on device memory only. */
static void test_memset(void **state)
{
    (void)state;
    mockcuda_set_eager(0);
    long v0 = violations();
    unsigned char *a = pinned(64, 7), *b = pinned(64, 0);
    unsigned char *d = NULL;
    cudaStream_t s;
    OK(cudaMalloc((void **)&d, 64));
    OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    OK(cudaMemcpyAsync(d, a, 64, cudaMemcpyHostToDevice, s));
    OK(cudaMemsetAsync(d + 8, 0x3C, 40, s)); /* after the copy, before the copy back */
    OK(cudaMemcpyAsync(b, d, 64, cudaMemcpyDeviceToHost, s));
    OK(cudaStreamSynchronize(s));
    for (int i = 0; i < 64; i++)
        assert_int_equal(b[i], i >= 8 && i < 48 ? 0x3C : 7);
    assert_int_equal(violations(), v0);
    assert_int_equal(cudaMemsetAsync(a, 0, 64, s), cudaErrorInvalidValue); /* pinned host */
    assert_int_equal(cudaMemsetAsync(d + 60, 0, 8, s), cudaErrorInvalidValue); /* past the end */
    assert_int_equal(violations(), v0 + 2);
    (void)cudaGetLastError();
    OK(cudaStreamDestroy(s));
    OK(cudaFree(d));
    OK(cudaFreeHost(a));
    OK(cudaFreeHost(b));
}

/* cudaEventElapsedTime: the simulated time between two records (0 without timing); a record
 * not yet reached is cudaErrorNotReady; cudaMemGetInfo counts the live device memory. */
static void test_event_elapsed(void **state)
{
    (void)state;
    mockcuda_set_eager(0);
    mockcuda_timing t;
    memset(&t, 0, sizeof t);
    t.ns[MOCKCUDA_SPAN_H2D] = 1000;
    t.ns_per_byte[MOCKCUDA_SPAN_H2D] = 0.5; /* 2 GB/s */
    mockcuda_set_timing(&t);
    unsigned char *a = pinned(4096, 1);
    void *d = NULL;
    size_t free0 = 0, total = 0, free1 = 0;
    OK(cudaMemGetInfo(&free0, &total));
    OK(cudaMalloc(&d, 4096));
    OK(cudaMemGetInfo(&free1, &total));
    assert_true(free1 + 4096 <= free0 && free0 <= total);
    cudaStream_t s;
    cudaEvent_t e0, e1;
    OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    OK(cudaEventCreate(&e0));
    OK(cudaEventCreate(&e1));
    OK(cudaEventRecord(e0, s));
    OK(cudaMemcpyAsync(d, a, 4096, cudaMemcpyHostToDevice, s));
    OK(cudaEventRecord(e1, s));
    float ms = -1;
    assert_int_equal(cudaEventElapsedTime(&ms, e0, e1), cudaErrorNotReady);
    OK(cudaEventSynchronize(e1));
    OK(cudaEventElapsedTime(&ms, e0, e1));
    assert_true(ms > 0.00304f && ms < 0.00306f); /* 1000 ns + 4096 x 0.5 ns = 3048 ns */
    mockcuda_set_timing(NULL);
    OK(cudaEventRecord(e0, s));
    OK(cudaEventRecord(e1, s));
    OK(cudaEventSynchronize(e1));
    OK(cudaEventElapsedTime(&ms, e0, e1));
    assert_true(ms == 0.0f);
    OK(cudaEventDestroy(e0));
    OK(cudaEventDestroy(e1));
    OK(cudaStreamDestroy(s));
    OK(cudaFree(d));
    OK(cudaFreeHost(a));
    assert_int_equal(violations(), 0);
}

/* a -> d on stream A, then d -> b on stream B with or without an event between: the value b
 * gets over many scheduler seeds. */
static void race(int with_wait, int *saw_new, int *saw_old)
{
    *saw_new = *saw_old = 0;
    unsigned char *a = pinned(16, 0), *b = pinned(16, 0);
    void *d = NULL;
    cudaStream_t sa, sb;
    cudaEvent_t ev;
    OK(cudaMalloc(&d, 16));
    OK(cudaStreamCreateWithFlags(&sa, cudaStreamNonBlocking));
    OK(cudaStreamCreateWithFlags(&sb, cudaStreamNonBlocking));
    OK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
    for (int seed = 1; seed <= 64; seed++) {
        mockcuda_set_seed((uint64_t)seed);
        memset(a, 0, 16);
        OK(cudaMemcpy(d, a, 16, cudaMemcpyHostToDevice));
        memset(a, 5, 16);
        OK(cudaMemcpyAsync(d, a, 16, cudaMemcpyHostToDevice, sa));
        OK(cudaEventRecord(ev, sa));
        if (with_wait)
            OK(cudaStreamWaitEvent(sb, ev, 0));
        OK(cudaMemcpyAsync(b, d, 16, cudaMemcpyDeviceToHost, sb));
        OK(cudaStreamSynchronize(sb));
        *saw_new += b[0] == 5;
        *saw_old += b[0] == 0;
        OK(cudaDeviceSynchronize());
    }
    OK(cudaEventDestroy(ev));
    OK(cudaStreamDestroy(sa));
    OK(cudaStreamDestroy(sb));
    OK(cudaFree(d));
    OK(cudaFreeHost(a));
    OK(cudaFreeHost(b));
}

static void test_missing_wait_shows(void **state)
{
    (void)state;
    int fresh, stale;
    mockcuda_set_eager(0);
    race(1, &fresh, &stale);
    assert_int_equal(fresh, 64);
    race(0, &fresh, &stale);
    assert_true(fresh > 0 && stale > 0); /* both orders happen: a missing wait is visible */
    mockcuda_set_eager(50);
    race(1, &fresh, &stale);
    assert_int_equal(fresh, 64);
    assert_int_equal(violations(), 0);
}

/* A wait refers to the record made before it, not to a later one; an event never recorded is
 * no dependency at all. */
static void test_event_semantics(void **state)
{
    (void)state;
    mockcuda_set_eager(0);
    unsigned char *one = pinned(8, 1), *two = pinned(8, 2), *out = pinned(8, 0);
    void *d = NULL;
    cudaStream_t sa, sb;
    cudaEvent_t ev, never;
    OK(cudaMalloc(&d, 8));
    OK(cudaStreamCreateWithFlags(&sa, cudaStreamNonBlocking));
    OK(cudaStreamCreateWithFlags(&sb, cudaStreamNonBlocking));
    OK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
    OK(cudaEventCreateWithFlags(&never, cudaEventDisableTiming));
    int got[3] = {0, 0, 0};
    for (int seed = 1; seed <= 64; seed++) {
        mockcuda_set_seed((uint64_t)seed);
        OK(cudaMemcpyAsync(d, one, 8, cudaMemcpyHostToDevice, sa));
        OK(cudaEventRecord(ev, sa));
        OK(cudaStreamWaitEvent(sb, ev, 0));
        OK(cudaStreamWaitEvent(sb, never, 0));
        OK(cudaMemcpyAsync(d, two, 8, cudaMemcpyHostToDevice, sa));
        OK(cudaEventRecord(ev, sa)); /* after the wait: not waited for */
        OK(cudaMemcpyAsync(out, d, 8, cudaMemcpyDeviceToHost, sb));
        OK(cudaStreamSynchronize(sb));
        assert_true(out[0] <= 2);
        got[out[0]]++;
        OK(cudaEventSynchronize(ev));
        OK(cudaEventQuery(ev));
    }
    OK(cudaEventSynchronize(never)); /* returns at once */
    assert_int_equal(got[0], 0);
    assert_true(got[1] > 0 && got[2] > 0);
    OK(cudaEventDestroy(ev));
    OK(cudaEventDestroy(never));
    OK(cudaStreamDestroy(sa));
    OK(cudaStreamDestroy(sb));
    OK(cudaFree(d));
    OK(cudaFreeHost(one));
    OK(cudaFreeHost(two));
    OK(cudaFreeHost(out));
    assert_int_equal(violations(), 0);
}

/* The legacy default stream waits for blocking streams, not for non-blocking ones. */
static void test_legacy_stream(void **state)
{
    (void)state;
    mockcuda_set_eager(0);
    unsigned char *v = pinned(8, 0), *out = pinned(8, 0);
    void *d = NULL;
    OK(cudaMalloc(&d, 8));
    for (int blocking = 1; blocking >= 0; blocking--) {
        cudaStream_t s;
        OK(cudaStreamCreateWithFlags(&s, blocking ? cudaStreamDefault : cudaStreamNonBlocking));
        int fresh = 0;
        for (int seed = 1; seed <= 64; seed++) {
            mockcuda_set_seed((uint64_t)seed);
            memset(v, 0, 8);
            OK(cudaMemcpy(d, v, 8, cudaMemcpyHostToDevice));
            memset(v, 3, 8);
            OK(cudaMemcpyAsync(d, v, 8, cudaMemcpyHostToDevice, s));
            OK(cudaMemcpyAsync(out, d, 8, cudaMemcpyDeviceToHost, NULL));
            OK(cudaStreamSynchronize(NULL));
            fresh += out[0] == 3;
            OK(cudaStreamSynchronize(s));
        }
        if (blocking)
            assert_int_equal(fresh, 64);
        else
            assert_true(fresh < 64 && fresh > 0);
        OK(cudaStreamDestroy(s));
    }
    OK(cudaFree(d));
    OK(cudaFreeHost(v));
    OK(cudaFreeHost(out));
    assert_int_equal(violations(), 0);
}

static void test_pointer_attributes(void **state)
{
    (void)state;
    void *d = NULL, *h = NULL;
    char pageable[16];
    OK(cudaMalloc(&d, 100));
    OK(cudaHostAlloc(&h, 100, 0));
    struct cudaPointerAttributes a;
    OK(cudaPointerGetAttributes(&a, (char *)d + 99));
    assert_int_equal(a.type, cudaMemoryTypeDevice);
    assert_int_equal(a.device, 0);
    OK(cudaPointerGetAttributes(&a, (char *)h + 50));
    assert_int_equal(a.type, cudaMemoryTypeHost);
    OK(cudaPointerGetAttributes(&a, pageable));
    assert_int_equal(a.type, cudaMemoryTypeUnregistered);
    OK(cudaHostRegister(pageable, sizeof pageable, 0));
    OK(cudaPointerGetAttributes(&a, pageable + 3));
    assert_int_equal(a.type, cudaMemoryTypeHost);
    OK(cudaHostUnregister(pageable));
    assert_true(mockcuda_is_device(d, 100));
    assert_false(mockcuda_is_device(d, 101));
    assert_true(mockcuda_is_pinned(h, 100));
    OK(cudaFree(d));
    OK(cudaFreeHost(h));
}

static void test_misuse_is_reported(void **state)
{
    (void)state;
    void *d = NULL;
    unsigned char buf[300];
    OK(cudaMalloc(&d, 100));
    long v0 = violations();
    /* wrong direction, overrun, unknown stream, kernel reading pageable memory */
    assert_int_not_equal(cudaMemcpy(buf, d, 10, cudaMemcpyHostToDevice), cudaSuccess);
    assert_int_not_equal(cudaMemcpy(buf, d, 101, cudaMemcpyDeviceToHost), cudaSuccess);
    assert_int_not_equal(cudaGetLastError(), cudaSuccess);
    OK(cudaGetLastError());
    assert_int_equal(violations(), v0 + 2);
    int64_t shape[2] = {4, 4}, strides[2] = {1, 4};
    DLTensor t = {d, {kDLCUDA, 0}, 2, {kDLUInt, 8, 1}, shape, strides, 0};
    /* fsd_pack refuses a pageable dst before launching (memkind.h); a kernel launched on one
     * anyway is a misuse the GPU would fault on */
    assert_int_equal(fsd_pack(&t, buf, sizeof buf, NULL), FSD_ERROR_INVALID_ARGUMENT);
    assert_int_equal(violations(), v0 + 2);
    fsd_layout l;
    fsd_plan plan;
    assert_int_equal(fsd_layout_for_pack(&t, buf, sizeof buf, &l), FSD_SUCCESS);
    fsd_plan_build(&l, buf, FSD_DIR_PACK, 3, &plan);
    assert_int_equal(fsdk_launch(&plan, NULL), cudaErrorIllegalAddress);
    (void)cudaGetLastError();
    assert_int_equal(violations(), v0 + 3);
    /* the red zone behind a device block, broken by a stray write, is found at cudaFree */
    unsigned char x = 0xFF;
    mockcuda_poke((char *)d + 100, &x, 1);
    OK(cudaFree(d));
    assert_int_equal(violations(), v0 + 4);
    /* the host touching device memory faults (in a child process) */
    OK(cudaMalloc(&d, 16));
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL); /* not cmocka's handler */
        ((volatile char *)d)[0] = 1;
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
    OK(cudaFree(d));
}

static void test_failure_injection(void **state)
{
    (void)state;
    void *a = NULL, *b = NULL;
    mockcuda_fail_nth(MOCKCUDA_MALLOC, 2, cudaSuccess);
    OK(cudaMalloc(&a, 8));
    assert_false(mockcuda_fail_fired());
    assert_int_equal(cudaMalloc(&b, 8), cudaErrorMemoryAllocation);
    assert_null(b);
    assert_true(mockcuda_fail_fired());
    assert_int_equal(cudaPeekAtLastError(), cudaErrorMemoryAllocation);
    assert_int_equal(cudaGetLastError(), cudaErrorMemoryAllocation);
    OK(cudaGetLastError());
    OK(cudaMalloc(&b, 8)); /* disarmed once fired */
    OK(cudaFree(a));
    OK(cudaFree(b));
    long before = mockcuda_calls(MOCKCUDA_EVENT_RECORD);
    mockcuda_fail_nth(MOCKCUDA_EVENT_RECORD, 1, cudaErrorLaunchFailure);
    cudaEvent_t ev;
    OK(cudaEventCreate(&ev));
    assert_int_equal(cudaEventRecord(ev, NULL), cudaErrorLaunchFailure);
    assert_int_equal(mockcuda_calls(MOCKCUDA_EVENT_RECORD), before + 1);
    OK(cudaEventDestroy(ev));
    (void)cudaGetLastError();
    mockcuda_fail_none();
}

static void test_no_device(void **state)
{
    (void)state;
    mockcuda_drain();
    assert_int_equal(mockcuda_set_devices(0), 0);
    int n = 7;
    assert_int_equal(cudaGetDeviceCount(&n), cudaErrorNoDevice);
    assert_int_equal(n, 0);
    void *p = NULL;
    assert_int_equal(cudaMalloc(&p, 8), cudaErrorNoDevice);
    (void)cudaGetLastError();
    assert_int_equal(mockcuda_set_devices(2), 0);
    OK(cudaGetDeviceCount(&n));
    assert_int_equal(n, 2);
    OK(cudaSetDevice(1));
    assert_int_equal(cudaSetDevice(2), cudaErrorInvalidDevice);
    (void)cudaGetLastError();
    int cur = -1;
    OK(cudaGetDevice(&cur));
    assert_int_equal(cur, 1);
    OK(cudaMalloc(&p, 8));
    assert_int_equal(mockcuda_set_devices(1), -1); /* something lives on a device */
    OK(cudaFree(p));
    assert_int_equal(mockcuda_set_devices(1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copies_are_deferred),
        cmocka_unit_test(test_event_elapsed),
        cmocka_unit_test(test_pageable_rules),
        cmocka_unit_test(test_missing_wait_shows),
        cmocka_unit_test(test_event_semantics),
        cmocka_unit_test(test_legacy_stream),
        cmocka_unit_test(test_pointer_attributes),
        cmocka_unit_test(test_misuse_is_reported),
        cmocka_unit_test(test_memset), /* after the tests that expect no violation at all */
        cmocka_unit_test(test_failure_injection),
        cmocka_unit_test(test_no_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
