/*
 * test_mock_capture.c — the stand-in runtime's stream capture and graphs checked on their own
 * (mock_capture.c): before the library's capture tests can trust it, show that captured work
 * does not run, that a graph replays it in order, and that the rules of CUDA's programming
 * guide give the errors CUDA gives: isolation, captured events, synchronising or querying
 * capturing streams, pageable copies, the legacy stream, unjoined forks, the potentially
 * unsafe calls per capture mode (global, thread-local, relaxed), from the capturing thread and
 * from another one, and cudaMemcpyBatchAsync, which cannot be captured.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "mock_cuda.h"
#include "mock_test_util.h"

static enum cudaStreamCaptureStatus status_of(cudaStream_t s)
{
    enum cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
    OK(cudaStreamIsCapturing(s, &st));
    return st;
}

/* Captured copies do not run; the graph runs them at each launch, after the launch stream's
 * earlier work, and the stream's later work after them. */
static void test_capture_and_replay(void **state)
{
    (void)state;
    mockcuda_set_eager(30);
    unsigned char *in = pinned(64, 1), *out = pinned(64, 0);
    void *d = NULL;
    cudaStream_t s;
    OK(cudaMalloc(&d, 64));
    OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    mockcuda_stats st0, st1;
    mockcuda_get_stats(&st0);
    OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    assert_int_equal(status_of(s), cudaStreamCaptureStatusActive);
    OK(cudaMemcpyAsync(d, in, 64, cudaMemcpyHostToDevice, s));
    OK(cudaMemcpyAsync(out, d, 64, cudaMemcpyDeviceToHost, s));
    cudaGraph_t g = NULL;
    OK(cudaStreamEndCapture(s, &g));
    assert_non_null(g);
    assert_int_equal(status_of(s), cudaStreamCaptureStatusNone);
    mockcuda_drain();
    mockcuda_get_stats(&st1);
    assert_int_equal(st1.executed_ops, st0.executed_ops); /* nothing ran */
    assert_int_equal(out[0], 0);
    cudaGraphExec_t x = NULL;
    OK(cudaGraphInstantiate(&x, g, 0));
    cudaStream_t other;
    OK(cudaStreamCreateWithFlags(&other, cudaStreamNonBlocking));
    for (int round = 2; round < 12; round++) {
        mockcuda_set_seed((uint64_t)round);
        unsigned char *staged = pinned(64, (unsigned char)round);
        OK(cudaMemcpyAsync(in, staged, 64, cudaMemcpyHostToHost, other));
        cudaEvent_t ev;
        OK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
        OK(cudaEventRecord(ev, other));
        OK(cudaStreamWaitEvent(s, ev, 0)); /* the launch comes after the refill */
        OK(cudaGraphLaunch(x, s));
        unsigned char *later = pinned(64, 0);
        OK(cudaMemcpyAsync(later, d, 64, cudaMemcpyDeviceToHost, s)); /* after the graph */
        OK(cudaStreamSynchronize(s));
        assert_int_equal(out[0], round);
        assert_int_equal(out[63], round);
        assert_int_equal(later[17], round);
        OK(cudaEventDestroy(ev));
        OK(cudaFreeHost(staged));
        OK(cudaFreeHost(later));
    }
    OK(cudaGraphExecDestroy(x));
    OK(cudaGraphDestroy(g));
    OK(cudaStreamDestroy(s));
    OK(cudaStreamDestroy(other));
    OK(cudaFree(d));
    OK(cudaFreeHost(in));
    OK(cudaFreeHost(out));
    assert_int_equal(violations(), 0);
}

/* A fork through an event joins the capture; it must be joined back. */
static void test_fork_join(void **state)
{
    (void)state;
    unsigned char *a = pinned(32, 5), *b = pinned(32, 0);
    void *d = NULL;
    cudaStream_t s, side;
    cudaEvent_t fork, join;
    OK(cudaMalloc(&d, 32));
    OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    OK(cudaStreamCreateWithFlags(&side, cudaStreamNonBlocking));
    OK(cudaEventCreateWithFlags(&fork, cudaEventDisableTiming));
    OK(cudaEventCreateWithFlags(&join, cudaEventDisableTiming));
    for (int joined = 1; joined >= 0; joined--) {
        OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
        OK(cudaEventRecord(fork, s));
        OK(cudaStreamWaitEvent(side, fork, 0));
        assert_int_equal(status_of(side), cudaStreamCaptureStatusActive);
        OK(cudaMemcpyAsync(d, a, 32, cudaMemcpyHostToDevice, side));
        OK(cudaEventRecord(join, side));
        if (joined)
            OK(cudaStreamWaitEvent(s, join, 0));
        OK(cudaMemcpyAsync(b, d, 32, cudaMemcpyDeviceToHost, s));
        cudaGraph_t g = NULL;
        if (!joined) {
            assert_int_equal(cudaStreamEndCapture(s, &g), cudaErrorStreamCaptureUnjoined);
            assert_null(g);
            (void)cudaGetLastError();
            /* the capture ended on both streams: they work again */
            assert_int_equal(status_of(side), cudaStreamCaptureStatusNone);
            OK(cudaMemcpyAsync(b, a, 32, cudaMemcpyHostToHost, side));
            OK(cudaStreamSynchronize(side));
            /* the captured event belonged to a capture: unusable until recorded again */
            assert_int_equal(cudaEventSynchronize(join), cudaErrorCapturedEvent);
            assert_int_equal(cudaStreamWaitEvent(s, join, 0), cudaErrorCapturedEvent);
            (void)cudaGetLastError();
            OK(cudaEventRecord(join, side));
            OK(cudaEventSynchronize(join));
            continue;
        }
        OK(cudaStreamEndCapture(s, &g));
        cudaGraphExec_t x;
        OK(cudaGraphInstantiate(&x, g, 0));
        OK(cudaGraphLaunch(x, s));
        OK(cudaStreamSynchronize(s));
        assert_int_equal(b[31], 5);
        OK(cudaGraphExecDestroy(x));
        OK(cudaGraphDestroy(g));
    }
    OK(cudaEventDestroy(fork));
    OK(cudaEventDestroy(join));
    OK(cudaStreamDestroy(s));
    OK(cudaStreamDestroy(side));
    OK(cudaFree(d));
    OK(cudaFreeHost(a));
    OK(cudaFreeHost(b));
}

/* Ends a capture that an invalid call spoiled: cudaErrorStreamCaptureInvalidated, no graph. */
static void expect_invalidated(cudaStream_t s)
{
    assert_int_equal(status_of(s), cudaStreamCaptureStatusInvalidated);
    cudaGraph_t g = (cudaGraph_t)1;
    assert_int_equal(cudaStreamEndCapture(s, &g), cudaErrorStreamCaptureInvalidated);
    assert_null(g);
    assert_int_equal(status_of(s), cudaStreamCaptureStatusNone);
    (void)cudaGetLastError();
}

static void test_invalid_in_every_mode(void **state)
{
    (void)state;
    unsigned char *p = pinned(16, 1), pageable[16] = {0};
    void *d = NULL;
    cudaStream_t s, blocking;
    cudaEvent_t outside;
    OK(cudaMalloc(&d, 16));
    OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    OK(cudaStreamCreateWithFlags(&blocking, cudaStreamDefault));
    OK(cudaEventCreateWithFlags(&outside, cudaEventDisableTiming));
    OK(cudaEventRecord(outside, blocking));
    static const enum cudaStreamCaptureMode MODES[] = {
        cudaStreamCaptureModeGlobal, cudaStreamCaptureModeThreadLocal, cudaStreamCaptureModeRelaxed};
    for (int m = 0; m < 3; m++) {
        /* a wait on an event recorded outside the capture */
        OK(cudaStreamBeginCapture(s, MODES[m]));
        assert_int_equal(cudaStreamWaitEvent(s, outside, 0), cudaErrorStreamCaptureIsolation);
        assert_int_equal(cudaMemcpyAsync(d, p, 16, cudaMemcpyHostToDevice, s),
                         cudaErrorStreamCaptureInvalidated);
        expect_invalidated(s);
        /* synchronising or querying the capturing stream */
        OK(cudaStreamBeginCapture(s, MODES[m]));
        assert_int_equal(cudaStreamSynchronize(s), cudaErrorStreamCaptureUnsupported);
        expect_invalidated(s);
        OK(cudaStreamBeginCapture(s, MODES[m]));
        assert_int_equal(cudaStreamQuery(s), cudaErrorStreamCaptureUnsupported);
        expect_invalidated(s);
        /* a copy with pageable memory */
        OK(cudaStreamBeginCapture(s, MODES[m]));
        assert_int_equal(cudaMemcpyAsync(d, pageable, 16, cudaMemcpyHostToDevice, s),
                         cudaErrorStreamCaptureUnsupported);
        expect_invalidated(s);
        /* the device while it captures */
        OK(cudaStreamBeginCapture(s, MODES[m]));
        assert_int_equal(cudaDeviceSynchronize(), cudaErrorStreamCaptureUnsupported);
        expect_invalidated(s);
        /* the legacy stream while a blocking stream captures (not while a non-blocking one) */
        OK(cudaStreamBeginCapture(blocking, MODES[m]));
        enum cudaStreamCaptureStatus cs;
        assert_int_equal(cudaStreamIsCapturing(NULL, &cs), cudaErrorStreamCaptureImplicit);
        assert_int_equal(status_of(blocking), cudaStreamCaptureStatusActive); /* a query only */
        assert_int_equal(cudaMemcpyAsync(d, p, 16, cudaMemcpyHostToDevice, NULL),
                         cudaErrorStreamCaptureImplicit);
        expect_invalidated(blocking);
        OK(cudaStreamBeginCapture(s, MODES[m]));
        OK(cudaMemcpyAsync(d, p, 16, cudaMemcpyHostToDevice, NULL));
        cudaGraph_t g;
        OK(cudaStreamEndCapture(s, &g));
        OK(cudaGraphDestroy(g));
        OK(cudaStreamSynchronize(NULL));
    }
    OK(cudaEventDestroy(outside));
    OK(cudaStreamDestroy(s));
    OK(cudaStreamDestroy(blocking));
    OK(cudaFree(d));
    OK(cudaFreeHost(p));
}

/* The potentially unsafe calls: allocation and synchronisation of unrelated objects. */
typedef struct unsafe_try {
    enum cudaStreamCaptureMode interaction; /* of the thread making the calls */
    cudaEvent_t ev;
    cudaError_t malloc_result, sync_result;
} unsafe_try;

static void *try_unsafe(void *arg)
{
    unsafe_try *t = arg;
    enum cudaStreamCaptureMode mode = t->interaction;
    OK(cudaThreadExchangeStreamCaptureMode(&mode));
    void *p = NULL;
    t->malloc_result = cudaMalloc(&p, 8);
    if (p != NULL)
        OK(cudaFree(p));
    t->sync_result = cudaEventSynchronize(t->ev);
    (void)cudaGetLastError();
    OK(cudaThreadExchangeStreamCaptureMode(&mode)); /* restore */
    return NULL;
}

static void test_unsafe_calls_per_mode(void **state)
{
    (void)state;
    cudaStream_t s;
    cudaEvent_t ev;
    OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    OK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
    OK(cudaEventRecord(ev, NULL));
    /* capture mode x (caller thread | other thread in global | other thread in relaxed
     * interaction mode) -> prohibited? */
    static const struct {
        enum cudaStreamCaptureMode capture;
        int same_thread;
        enum cudaStreamCaptureMode interaction;
        int prohibited;
    } CASES[] = {
        {cudaStreamCaptureModeGlobal, 1, cudaStreamCaptureModeGlobal, 1},
        {cudaStreamCaptureModeGlobal, 0, cudaStreamCaptureModeGlobal, 1},
        {cudaStreamCaptureModeGlobal, 0, cudaStreamCaptureModeThreadLocal, 0},
        {cudaStreamCaptureModeGlobal, 0, cudaStreamCaptureModeRelaxed, 0},
        {cudaStreamCaptureModeGlobal, 1, cudaStreamCaptureModeRelaxed, 0},
        {cudaStreamCaptureModeThreadLocal, 1, cudaStreamCaptureModeGlobal, 1},
        {cudaStreamCaptureModeThreadLocal, 0, cudaStreamCaptureModeGlobal, 0},
        {cudaStreamCaptureModeRelaxed, 1, cudaStreamCaptureModeGlobal, 0},
        {cudaStreamCaptureModeRelaxed, 0, cudaStreamCaptureModeGlobal, 0},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        OK(cudaStreamBeginCapture(s, CASES[i].capture));
        unsafe_try t = {CASES[i].interaction, ev, cudaSuccess, cudaSuccess};
        if (CASES[i].same_thread) {
            try_unsafe(&t);
        } else {
            pthread_t th;
            assert_int_equal(pthread_create(&th, NULL, try_unsafe, &t), 0);
            assert_int_equal(pthread_join(th, NULL), 0);
        }
        cudaError_t want = CASES[i].prohibited ? cudaErrorStreamCaptureUnsupported : cudaSuccess;
        if (t.malloc_result != want || t.sync_result != want)
            fail_msg("case %zu: cudaMalloc %s, cudaEventSynchronize %s, expected %s", i,
                     cudaGetErrorName(t.malloc_result), cudaGetErrorName(t.sync_result),
                     cudaGetErrorName(want));
        if (CASES[i].prohibited) {
            expect_invalidated(s);
        } else {
            cudaGraph_t g;
            OK(cudaStreamEndCapture(s, &g));
            OK(cudaGraphDestroy(g));
        }
    }
    OK(cudaEventDestroy(ev));
    OK(cudaStreamDestroy(s));
}

/* Ending a non-relaxed capture from another thread, or on a forked stream. */
typedef struct end_try {
    cudaStream_t s;
    cudaError_t result;
    cudaGraph_t g;
} end_try;

static void *end_elsewhere(void *arg)
{
    end_try *t = arg;
    t->result = cudaStreamEndCapture(t->s, &t->g);
    return NULL;
}

static void test_end_capture_rules(void **state)
{
    (void)state;
    cudaStream_t s, side;
    cudaEvent_t ev;
    OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    OK(cudaStreamCreateWithFlags(&side, cudaStreamNonBlocking));
    OK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
    for (int relaxed = 0; relaxed <= 1; relaxed++) {
        OK(cudaStreamBeginCapture(s, relaxed ? cudaStreamCaptureModeRelaxed
                                             : cudaStreamCaptureModeGlobal));
        OK(cudaEventRecord(ev, s));
        OK(cudaStreamWaitEvent(side, ev, 0));
        cudaGraph_t g = NULL;
        assert_int_equal(cudaStreamEndCapture(side, &g), cudaErrorStreamCaptureUnmatched);
        (void)cudaGetLastError();
        end_try t = {s, cudaSuccess, NULL};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, end_elsewhere, &t), 0);
        assert_int_equal(pthread_join(th, NULL), 0);
        if (relaxed) {
            OK(t.result);
            OK(cudaGraphDestroy(t.g));
        } else {
            assert_int_equal(t.result, cudaErrorStreamCaptureWrongThread);
            OK(cudaStreamEndCapture(s, &g));
            OK(cudaGraphDestroy(g));
        }
    }
    OK(cudaEventDestroy(ev));
    OK(cudaStreamDestroy(s));
    OK(cudaStreamDestroy(side));
}

/* cudaMemcpyBatchAsync has no graph node: on a capturing stream it fails with
 * cudaErrorStreamCaptureUnsupported in every mode and captures nothing, and (as CUDA 13 does)
 * the capture stays valid; on an invalidated capture it fails with
 * cudaErrorStreamCaptureInvalidated. Outside a capture it runs. */
static void test_batch_not_capturable(void **state)
{
    (void)state;
    static const enum cudaStreamCaptureMode MODES[3] = {
        cudaStreamCaptureModeGlobal, cudaStreamCaptureModeThreadLocal, cudaStreamCaptureModeRelaxed};
    void *a = NULL, *b = NULL;
    OK(cudaMalloc(&a, 64));
    OK(cudaMalloc(&b, 64));
    cudaStream_t s;
    OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    void *dsts[1] = {b};
    const void *srcs[1] = {a};
    size_t sizes[1] = {64}, first = 0;
    struct cudaMemcpyAttributes attr;
    memset(&attr, 0, sizeof attr);
    attr.srcAccessOrder = cudaMemcpySrcAccessOrderStream;
    long v0 = violations();
    for (int m = 0; m < 3; m++) {
        OK(cudaStreamBeginCapture(s, MODES[m]));
        assert_int_equal(cudaMemcpyBatchAsync(dsts, srcs, sizes, 1, &attr, &first, 1, s),
                         cudaErrorStreamCaptureUnsupported);
        assert_int_equal(status_of(s), cudaStreamCaptureStatusActive);
        cudaGraph_t g = NULL;
        size_t nodes = 1;
        OK(cudaStreamEndCapture(s, &g));
        OK(cudaGraphGetNodes(g, NULL, &nodes));
        assert_int_equal(nodes, 0);
        OK(cudaGraphDestroy(g));
        (void)cudaGetLastError();
    }
    /* an invalidated capture (a pageable copy in it) */
    unsigned char host[64];
    OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed));
    assert_int_not_equal(cudaMemcpyAsync(a, host, 64, cudaMemcpyHostToDevice, s), cudaSuccess);
    assert_int_equal(cudaMemcpyBatchAsync(dsts, srcs, sizes, 1, &attr, &first, 1, s),
                     cudaErrorStreamCaptureInvalidated);
    cudaGraph_t g = NULL;
    assert_int_equal(cudaStreamEndCapture(s, &g), cudaErrorStreamCaptureInvalidated);
    (void)cudaGetLastError();
    OK(cudaMemcpyBatchAsync(dsts, srcs, sizes, 1, &attr, &first, 1, s));
    OK(cudaStreamSynchronize(s));
    assert_int_equal(violations(), v0);
    OK(cudaStreamDestroy(s));
    OK(cudaFree(a));
    OK(cudaFree(b));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capture_and_replay),
        cmocka_unit_test(test_fork_join),
        cmocka_unit_test(test_invalid_in_every_mode),
        cmocka_unit_test(test_unsafe_calls_per_mode),
        cmocka_unit_test(test_end_capture_rules),
        cmocka_unit_test(test_batch_not_capturable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
