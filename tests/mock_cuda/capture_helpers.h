/*
 * capture_helpers.h — capturing one fastserde call in a CUDA graph and replaying it, on the
 * stand-in runtime (tests/mock_cuda, whose capture follows CUDA's rules: mock_capture.c). For
 * any call: describe it as an fsdt_cap_call (enqueue it on a stream; refill its input for a
 * round; check its output after a round), then
 *
 *     fsdt_cap_replay(&call, arg, stream, cudaStreamCaptureModeGlobal, rounds);
 *
 * captures the call once (it must return FSD_SUCCESS inside the capture, run nothing, and leave
 * the capture valid and joined), instantiates the graph and launches it `rounds` times, each
 * after a refill queued on the same stream, checking the output after each. A call that must
 * refuse to be captured is checked with fsdt_cap_refused: the status it returns, nothing
 * queued, and the capture still valid. Include after <cmocka.h>, fastserde.h and mock_cuda.h.
 */
#ifndef FSDT_CAPTURE_HELPERS_H
#define FSDT_CAPTURE_HELPERS_H

#include <stdio.h>

typedef struct fsdt_cap_call {
    const char *name;
    /* Enqueues the call on s; returns its status. */
    fsd_status (*enqueue)(void *arg, cudaStream_t s);
    /* Queues on s what changes the call's input for `round` (NULL: nothing). */
    void (*refill)(void *arg, cudaStream_t s, int round);
    /* After round `round` has run: 1 when the output is right (NULL: no check). */
    int (*check)(void *arg, int round);
} fsdt_cap_call;

static const char *fsdt_cap_mode_name(enum cudaStreamCaptureMode m)
{
    return m == cudaStreamCaptureModeGlobal        ? "global"
           : m == cudaStreamCaptureModeThreadLocal ? "thread-local"
                                                   : "relaxed";
}

static long fsdt_cap_executed(void)
{
    mockcuda_stats st;
    mockcuda_drain();
    mockcuda_get_stats(&st);
    return st.executed_ops;
}

/* Captures call->enqueue on s in `mode`: returns the instantiated graph, or fails the test
 * (naming the call, the mode and what went wrong). */
static cudaGraphExec_t fsdt_cap_capture(const fsdt_cap_call *call, void *arg, cudaStream_t s,
                                        enum cudaStreamCaptureMode mode)
{
    long ran = fsdt_cap_executed();
    if (cudaStreamBeginCapture(s, mode) != cudaSuccess)
        fail_msg("%s: cudaStreamBeginCapture failed", call->name);
    fsd_status st = call->enqueue(arg, s);
    char msg[256];
    fsd_last_error(msg, sizeof msg);
    enum cudaStreamCaptureStatus cs = cudaStreamCaptureStatusNone;
    cudaError_t qe = cudaStreamIsCapturing(s, &cs);
    cudaGraph_t g = NULL;
    cudaError_t e = cudaStreamEndCapture(s, &g);
    if (st != FSD_SUCCESS)
        fail_msg("%s in a %s-mode capture: %s (%s)", call->name, fsdt_cap_mode_name(mode),
                 fsd_status_string(st), msg);
    if (qe != cudaSuccess || cs != cudaStreamCaptureStatusActive)
        fail_msg("%s in a %s-mode capture: the capture is no longer active (%s)", call->name,
                 fsdt_cap_mode_name(mode), cudaGetErrorName(qe));
    if (e != cudaSuccess)
        fail_msg("%s in a %s-mode capture: cudaStreamEndCapture: %s", call->name,
                 fsdt_cap_mode_name(mode), cudaGetErrorName(e));
    if (fsdt_cap_executed() != ran)
        fail_msg("%s in a %s-mode capture: work ran during the capture", call->name,
                 fsdt_cap_mode_name(mode));
    cudaGraphExec_t x = NULL;
    if (cudaGraphInstantiate(&x, g, 0) != cudaSuccess)
        fail_msg("%s: cudaGraphInstantiate failed", call->name);
    (void)cudaGraphDestroy(g);
    return x;
}

/* Captures the call once and replays it `rounds` times on s, refilling and checking. */
static void fsdt_cap_replay(const fsdt_cap_call *call, void *arg, cudaStream_t s,
                            enum cudaStreamCaptureMode mode, int rounds)
{
    cudaGraphExec_t x = fsdt_cap_capture(call, arg, s, mode);
    for (int r = 0; r < rounds; r++) {
        if (call->refill != NULL)
            call->refill(arg, s, r);
        if (cudaGraphLaunch(x, s) != cudaSuccess)
            fail_msg("%s: cudaGraphLaunch failed", call->name);
        if (cudaStreamSynchronize(s) != cudaSuccess)
            fail_msg("%s: cudaStreamSynchronize after the launch failed", call->name);
        if (call->check != NULL && !call->check(arg, r))
            fail_msg("%s captured in %s mode: wrong output after replay %d", call->name,
                     fsdt_cap_mode_name(mode), r);
    }
    (void)cudaGraphExecDestroy(x);
}

/* The call must refuse to run in a capture: it returns `want` with a message, queues nothing,
 * and the capture stays valid (cudaStreamEndCapture succeeds). */
static void fsdt_cap_refused(const fsdt_cap_call *call, void *arg, cudaStream_t s,
                             enum cudaStreamCaptureMode mode, fsd_status want)
{
    long ran = fsdt_cap_executed();
    if (cudaStreamBeginCapture(s, mode) != cudaSuccess)
        fail_msg("%s: cudaStreamBeginCapture failed", call->name);
    fsd_status st = call->enqueue(arg, s);
    char msg[256];
    fsd_last_error(msg, sizeof msg);
    cudaGraph_t g = NULL;
    cudaError_t e = cudaStreamEndCapture(s, &g);
    if (st != want || msg[0] == '\0')
        fail_msg("%s in a %s-mode capture: %s (%s), expected %s with a message", call->name,
                 fsdt_cap_mode_name(mode), fsd_status_string(st), msg, fsd_status_string(want));
    if (e != cudaSuccess)
        fail_msg("%s refused in a %s-mode capture, but the capture is spoiled: %s", call->name,
                 fsdt_cap_mode_name(mode), cudaGetErrorName(e));
    size_t nodes = 0;
    if (cudaGraphGetNodes(g, NULL, &nodes) != cudaSuccess || nodes != 0)
        fail_msg("%s refused in a capture, but it captured %zu nodes", call->name, nodes);
    if (fsdt_cap_executed() != ran)
        fail_msg("%s refused in a capture, but work ran", call->name);
    (void)cudaGraphDestroy(g);
    (void)cudaGetLastError();
}

#endif
