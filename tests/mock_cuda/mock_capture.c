/*
 * mock_capture.c — stream capture and graphs for the stand-in runtime (see README.md), with
 * the rules of CUDA's programming guide ("Stream Capture": cross-stream dependencies,
 * prohibited and unhandled operations, invalidation, capture modes):
 *
 *  - cudaStreamBeginCapture(s, mode) starts a capture on s (not on the legacy stream). Copies
 *    and kernels enqueued on a capturing stream do not run: they become nodes of the capture,
 *    depending on the stream's previous node(s) ("tips").
 *  - cudaEventRecord on a capturing stream marks the event with the stream's tips; a stream
 *    that waits on such an event joins the capture (a fork). Waiting on an event recorded
 *    outside the capture is cudaErrorStreamCaptureIsolation. Synchronising with, querying or
 *    (outside the capture) waiting on an event last recorded in a capture is
 *    cudaErrorCapturedEvent, until the event is recorded again outside a capture.
 *  - Synchronising or querying a capturing stream, cudaDeviceSynchronize while anything
 *    captures on the device, a copy with pageable host memory on a capturing stream, and the
 *    legacy stream while a blocking stream captures (cudaErrorStreamCaptureImplicit) are
 *    invalid in every mode. Potentially unsafe calls — allocating, freeing and synchronising
 *    ones — fail with cudaErrorStreamCaptureUnsupported where the modes prohibit them: a thread
 *    whose interaction mode (cudaThreadExchangeStreamCaptureMode, default global) is not
 *    relaxed may not make them while it has a capture begun in global or thread-local mode,
 *    nor, in global interaction mode, while another thread has a capture begun in global mode.
 *  - cudaMemcpyBatchAsync has no graph node: on a capturing stream it fails with
 *    cudaErrorStreamCaptureUnsupported in every mode, captures nothing, and leaves the capture
 *    valid (mock_gather.c; the one failing call that does not invalidate, as CUDA 13 behaves:
 *    see README.md).
 *  - Every other invalid operation invalidates the capture(s) concerned: their streams' further
 *    enqueues fail with cudaErrorStreamCaptureInvalidated, and cudaStreamEndCapture returns
 *    that error and no graph. cudaStreamEndCapture must be called on the origin stream (else
 *    cudaErrorStreamCaptureUnmatched), from the thread that began a non-relaxed capture (else
 *    cudaErrorStreamCaptureWrongThread), and every forked stream must have been joined back
 *    into the origin stream (else cudaErrorStreamCaptureUnjoined); it ends the capture on all
 *    its streams either way.
 *  - cudaGraphLaunch(exec, s) runs the graph's nodes after the work queued before on s, each
 *    node after its dependencies (in an order the seeded scheduler picks), and work queued on
 *    s afterwards after every node.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_internal.h"

typedef struct mk_node {
    mk_op *op; /* the captured copy or kernel (deps unused) */
    int *deps; /* indices of earlier nodes */
    int ndeps;
} mk_node;

struct mk_capture {
    uint64_t id;
    int mode;
    uint64_t thread;
    int device;
    mk_stream *origin;
    int invalidated;
    mk_node *nodes;
    int nnodes, cap_nodes;
    struct mk_capture *next;
};

typedef struct mk_graph {
    mk_node *nodes;
    int nnodes;
} mk_graph;

static mk_capture *captures; /* active ones */
static uint64_t next_capture_id;
static uint64_t next_thread_id;
static _Thread_local uint64_t thread_id;
static _Thread_local int thread_mode = cudaStreamCaptureModeGlobal;

uint64_t mk_thread_id(void)
{
    if (thread_id == 0)
        thread_id = ++next_thread_id; /* under the mutex */
    return thread_id;
}

static const char *mode_name(int mode)
{
    return mode == cudaStreamCaptureModeGlobal        ? "global"
           : mode == cudaStreamCaptureModeThreadLocal ? "thread-local"
                                                      : "relaxed";
}

/* ------------------------------------------------------------------------------------------ */
/* Tips: the node set a capturing stream's next op depends on                                 */

static void tips_set(mk_stream *s, const int *nodes, int n)
{
    if (n > s->cap_tips) {
        int *t = realloc(s->tips, (size_t)n * sizeof *t);
        if (t == NULL)
            abort();
        s->tips = t;
        s->cap_tips = n;
    }
    if (n > 0)
        memcpy(s->tips, nodes, (size_t)n * sizeof *nodes);
    s->ntips = n;
}

static void tips_add(mk_stream *s, const int *nodes, int n)
{
    for (int i = 0; i < n; i++) {
        int dup = 0;
        for (int j = 0; j < s->ntips && !dup; j++)
            dup = s->tips[j] == nodes[i];
        if (dup)
            continue;
        if (s->ntips == s->cap_tips) {
            int cap = s->cap_tips ? 2 * s->cap_tips : 4;
            int *t = realloc(s->tips, (size_t)cap * sizeof *t);
            if (t == NULL)
                abort();
            s->tips = t;
            s->cap_tips = cap;
        }
        s->tips[s->ntips++] = nodes[i];
    }
}

static mk_capture *capture_by_id(uint64_t id)
{
    for (mk_capture *c = captures; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

static void invalidate(mk_capture *c, const char *why)
{
    if (!c->invalidated)
        mk_trace("capture %llu invalidated: %s", (unsigned long long)c->id, why);
    c->invalidated = 1;
}

void mk_capture_invalidate_stream(const mk_stream *s, const char *why)
{
    if (s->cap != NULL)
        invalidate(s->cap, why);
}

/* ------------------------------------------------------------------------------------------ */
/* Hooks for the other files                                                                   */

void mk_capture_add(mk_stream *s, mk_op *op)
{
    mk_capture *c = s->cap;
    if (c->nnodes == c->cap_nodes) {
        int cap = c->cap_nodes ? 2 * c->cap_nodes : 16;
        mk_node *n = realloc(c->nodes, (size_t)cap * sizeof *n);
        if (n == NULL)
            abort();
        c->nodes = n;
        c->cap_nodes = cap;
    }
    mk_node *n = &c->nodes[c->nnodes];
    n->op = op;
    n->ndeps = s->ntips;
    n->deps = malloc((size_t)(s->ntips ? s->ntips : 1) * sizeof *n->deps);
    if (s->ntips > 0)
        memcpy(n->deps, s->tips, (size_t)s->ntips * sizeof *n->deps);
    int me = c->nnodes++;
    tips_set(s, &me, 1);
    mk_trace("captured %s as node %d of capture %llu", mk_op_name(op), me,
             (unsigned long long)c->id);
}

cudaError_t mk_capture_gate(const mk_stream *s)
{
    return s->cap != NULL && s->cap->invalidated ? cudaErrorStreamCaptureInvalidated : cudaSuccess;
}

int mk_capture_active(int device)
{
    for (mk_capture *c = captures; c; c = c->next)
        if (device < 0 || c->device == device)
            return 1;
    return 0;
}

cudaError_t mk_capture_legacy(int device, int invalidate_them)
{
    cudaError_t e = cudaSuccess;
    for (int i = 0; i < mk.nstreams; i++) {
        const mk_stream *t = mk.streams[i];
        if (t->cap != NULL && t->blocking && !t->legacy && t->device == device) {
            e = cudaErrorStreamCaptureImplicit;
            if (invalidate_them)
                invalidate(t->cap, "the legacy stream was used while a blocking stream captured");
        }
    }
    return e;
}

cudaError_t mk_capture_unsafe(const char *call)
{
    if (captures == NULL || thread_mode == cudaStreamCaptureModeRelaxed)
        return cudaSuccess;
    uint64_t me = mk_thread_id();
    int prohibited = 0;
    for (mk_capture *c = captures; c; c = c->next) {
        int mine = c->thread == me && c->mode != cudaStreamCaptureModeRelaxed;
        int others = thread_mode == cudaStreamCaptureModeGlobal && c->thread != me &&
                     c->mode == cudaStreamCaptureModeGlobal;
        if (mine || others) {
            prohibited = 1;
            invalidate(c, call);
        }
    }
    if (prohibited)
        mk_trace("%s during a capture: cudaErrorStreamCaptureUnsupported", call);
    return prohibited ? cudaErrorStreamCaptureUnsupported : cudaSuccess;
}

cudaError_t mk_capture_record(mk_event *ev, mk_stream *s)
{
    free(ev->nodes);
    ev->nodes = NULL;
    ev->nnodes = 0;
    ev->captured = 1;
    ev->recorded = 1;
    ev->cap_id = s->cap->id;
    if (s->ntips > 0) {
        ev->nodes = malloc((size_t)s->ntips * sizeof *ev->nodes);
        memcpy(ev->nodes, s->tips, (size_t)s->ntips * sizeof *ev->nodes);
        ev->nnodes = s->ntips;
    }
    return cudaSuccess;
}

cudaError_t mk_capture_wait(mk_stream *s, mk_event *ev)
{
    mk_capture *c = ev->captured ? capture_by_id(ev->cap_id) : NULL;
    if (s->cap == NULL) {
        /* the caller only asks when s captures or ev was recorded in a capture */
        if (c == NULL)
            return cudaErrorCapturedEvent; /* its capture has ended */
        if (s->legacy) { /* the legacy stream cannot take part in a capture */
            invalidate(c, "the legacy stream waited on a captured event");
            return cudaErrorStreamCaptureUnsupported;
        }
        s->cap = c; /* a fork: s joins the capture */
        tips_set(s, ev->nodes, ev->nnodes);
        mk_trace("stream %llu joins capture %llu", (unsigned long long)s->id,
                 (unsigned long long)c->id);
        return cudaSuccess;
    }
    if (!ev->recorded)
        return cudaSuccess; /* nothing to wait for */
    if (c != s->cap) {
        invalidate(s->cap, "a wait on an event recorded outside the capture");
        if (c != NULL)
            invalidate(c, "an event of this capture waited on by another capture");
        return cudaErrorStreamCaptureIsolation;
    }
    tips_add(s, ev->nodes, ev->nnodes);
    return cudaSuccess;
}

cudaError_t mk_capture_event_usable(const mk_event *ev)
{
    if (!ev->captured)
        return cudaSuccess;
    mk_capture *c = capture_by_id(ev->cap_id);
    if (c != NULL)
        invalidate(c, "a captured event was synchronised with or queried");
    return cudaErrorCapturedEvent;
}

void mk_capture_forget_stream(mk_stream *s)
{
    if (s->cap != NULL)
        invalidate(s->cap, "a capturing stream was destroyed");
    free(s->tips);
    s->tips = NULL;
    s->ntips = s->cap_tips = 0;
    s->cap = NULL;
}

void mk_capture_forget_event(mk_event *ev)
{
    free(ev->nodes);
    ev->nodes = NULL;
    ev->nnodes = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The API                                                                                     */

cudaError_t cudaThreadExchangeStreamCaptureMode(enum cudaStreamCaptureMode *mode)
{
    mk_lock();
    if (mode == NULL)
        return mk_leave(cudaErrorInvalidValue);
    int old = thread_mode;
    thread_mode = (int)*mode;
    *mode = (enum cudaStreamCaptureMode)old;
    return mk_leave(cudaSuccess);
}

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, enum cudaStreamCaptureMode mode)
{
    mk_lock();
    cudaError_t e = cudaSuccess;
    mk_stream *s = mk_stream_get(stream, &e);
    if (s == NULL)
        return mk_leave(e);
    if (s->legacy)
        return mk_leave(cudaErrorStreamCaptureUnsupported);
    if (s->cap != NULL)
        return mk_leave(cudaErrorIllegalState);
    if ((unsigned)mode > cudaStreamCaptureModeRelaxed)
        return mk_leave(cudaErrorInvalidValue);
    mk_capture *c = calloc(1, sizeof *c);
    if (c == NULL)
        return mk_leave(cudaErrorMemoryAllocation);
    c->id = ++next_capture_id;
    c->mode = (int)mode;
    c->thread = mk_thread_id();
    c->device = s->device;
    c->origin = s;
    c->next = captures;
    captures = c;
    s->cap = c;
    s->ntips = 0;
    mk_trace("capture %llu begins on stream %llu (%s mode)", (unsigned long long)c->id,
             (unsigned long long)s->id, mode_name((int)mode));
    return mk_leave(cudaSuccess);
}

/* Marks node i and its ancestors in `seen`. */
static void mark_ancestors(const mk_capture *c, int i, char *seen)
{
    if (seen[i])
        return;
    seen[i] = 1;
    for (int k = 0; k < c->nodes[i].ndeps; k++)
        mark_ancestors(c, c->nodes[i].deps[k], seen);
}

static int joined(const mk_capture *c)
{
    char *seen = calloc((size_t)(c->nnodes ? c->nnodes : 1), 1);
    for (int k = 0; k < c->origin->ntips; k++)
        mark_ancestors(c, c->origin->tips[k], seen);
    int ok = 1;
    for (int i = 0; i < mk.nstreams && ok; i++) {
        const mk_stream *t = mk.streams[i];
        if (t->cap != c || t == c->origin)
            continue;
        for (int k = 0; k < t->ntips && ok; k++)
            ok = seen[t->tips[k]];
    }
    free(seen);
    return ok;
}

static void free_nodes(mk_node *nodes, int n)
{
    for (int i = 0; i < n; i++) {
        mk_op_free(nodes[i].op);
        free(nodes[i].deps);
    }
    free(nodes);
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t *graph)
{
    mk_lock();
    cudaError_t e = cudaSuccess;
    if (graph != NULL)
        *graph = NULL;
    mk_stream *s = mk_stream_get(stream, &e);
    if (s == NULL)
        return mk_leave(e);
    mk_capture *c = s->cap;
    if (c == NULL || graph == NULL)
        return mk_leave(c == NULL ? cudaErrorIllegalState : cudaErrorInvalidValue);
    if (c->origin != s)
        return mk_leave(cudaErrorStreamCaptureUnmatched);
    if (c->mode != cudaStreamCaptureModeRelaxed && c->thread != mk_thread_id())
        return mk_leave(cudaErrorStreamCaptureWrongThread);
    if (c->invalidated)
        e = cudaErrorStreamCaptureInvalidated;
    else if (!joined(c))
        e = cudaErrorStreamCaptureUnjoined;
    /* The capture ends on all its streams. */
    for (int i = 0; i < mk.nstreams; i++)
        if (mk.streams[i]->cap == c) {
            mk.streams[i]->cap = NULL;
            mk.streams[i]->ntips = 0;
        }
    for (mk_capture **p = &captures; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    mk_trace("capture %llu ends: %d nodes, %s", (unsigned long long)c->id, c->nnodes,
             cudaGetErrorName(e));
    if (e == cudaSuccess) {
        mk_graph *g = calloc(1, sizeof *g);
        g->nodes = c->nodes;
        g->nnodes = c->nnodes;
        *graph = (cudaGraph_t)g;
    } else {
        free_nodes(c->nodes, c->nnodes);
    }
    free(c);
    return mk_leave(e);
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, enum cudaStreamCaptureStatus *status)
{
    mk_lock();
    if (status == NULL)
        return mk_leave(cudaErrorInvalidValue);
    if (mk.devices > 0 && (stream == NULL || stream == cudaStreamLegacy) &&
        mk_capture_legacy(mk_current_device(), 0) != cudaSuccess)
        return mk_leave(cudaErrorStreamCaptureImplicit); /* the capture is not invalidated */
    cudaError_t e = cudaSuccess;
    mk_stream *s = mk_stream_get(stream, &e);
    if (s != NULL)
        *status = s->cap == NULL       ? cudaStreamCaptureStatusNone
                  : s->cap->invalidated ? cudaStreamCaptureStatusInvalidated
                                        : cudaStreamCaptureStatusActive;
    return mk_leave(e);
}

static mk_graph *graph_copy(const mk_graph *g)
{
    mk_graph *x = calloc(1, sizeof *x);
    x->nnodes = g->nnodes;
    x->nodes = calloc((size_t)(g->nnodes ? g->nnodes : 1), sizeof *x->nodes);
    for (int i = 0; i < g->nnodes; i++) {
        x->nodes[i].op = mk_op_clone(g->nodes[i].op);
        x->nodes[i].ndeps = g->nodes[i].ndeps;
        x->nodes[i].deps = malloc((size_t)(g->nodes[i].ndeps ? g->nodes[i].ndeps : 1) * sizeof(int));
        memcpy(x->nodes[i].deps, g->nodes[i].deps, (size_t)g->nodes[i].ndeps * sizeof(int));
    }
    return x;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph, unsigned long long flags)
{
    (void)flags;
    mk_lock();
    if (exec == NULL || graph == NULL)
        return mk_leave(cudaErrorInvalidValue);
    *exec = (cudaGraphExec_t)graph_copy((const mk_graph *)graph);
    return mk_leave(cudaSuccess);
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph)
{
    mk_lock();
    mk_graph *g = (mk_graph *)graph;
    if (g != NULL) {
        free_nodes(g->nodes, g->nnodes);
        free(g);
    }
    return mk_leave(cudaSuccess);
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec)
{
    return cudaGraphDestroy((cudaGraph_t)exec);
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream)
{
    mk_lock();
    cudaError_t e = cudaSuccess;
    const mk_graph *g = (const mk_graph *)exec;
    mk_stream *s = mk_stream_get(stream, &e);
    if (s == NULL || g == NULL)
        return mk_leave(s == NULL ? e : cudaErrorInvalidValue);
    if (s->cap != NULL) {
        mk_violation("cudaGraphLaunch into a capture (not modelled)");
        return mk_leave(cudaErrorNotSupported);
    }
    /* start marker on s (with its implicit legacy dependencies), each node an op on a stream
     * of its own, then an end marker on s that waits for every node */
    mk_op *start = calloc(1, sizeof *start);
    start->kind = MK_OP_WAIT;
    mk_enqueue(s, start, NULL, 0);
    mk_dep first = {s->id, start->seq};
    mk_dep *done = malloc((size_t)(g->nnodes ? g->nnodes : 1) * sizeof *done);
    for (int i = 0; i < g->nnodes; i++) {
        mk_stream *ns = mk_stream_internal(s->device);
        mk_dep *deps = malloc((size_t)(g->nodes[i].ndeps + 1) * sizeof *deps);
        int nd = 0;
        if (g->nodes[i].ndeps == 0)
            deps[nd++] = first;
        for (int k = 0; k < g->nodes[i].ndeps; k++)
            deps[nd++] = done[g->nodes[i].deps[k]];
        mk_op *op = mk_op_clone(g->nodes[i].op);
        mk_enqueue(ns, op, deps, nd);
        done[i] = (mk_dep){ns->id, op->seq};
        free(deps);
    }
    mk_op *end = calloc(1, sizeof *end);
    end->kind = MK_OP_WAIT;
    mk_enqueue(s, end, done, g->nnodes);
    free(done);
    return mk_leave(cudaSuccess);
}

cudaError_t cudaGraphGetNodes(cudaGraph_t graph, cudaGraphNode_t *nodes, size_t *count)
{
    mk_lock();
    const mk_graph *g = (const mk_graph *)graph;
    if (g == NULL || count == NULL)
        return mk_leave(cudaErrorInvalidValue);
    if (nodes != NULL) {
        mk_violation("cudaGraphGetNodes: only the count is modelled");
        return mk_leave(cudaErrorNotSupported);
    }
    *count = (size_t)g->nnodes;
    return mk_leave(cudaSuccess);
}
