/*
 * mock_streams.c — streams as queues of ops that run later, events, copies, and the seeded
 * scheduler (see README.md).
 *
 * An op runs when it is at the head of its stream and every op it depends on has run. The
 * dependencies are those of CUDA: the previous op of the stream (queue order); for
 * cudaStreamWaitEvent, the most recent cudaEventRecord of the event at the time of the wait
 * call (none, a no-op, if the event was never recorded); and the legacy default stream's
 * implicit ones: an op on the legacy stream waits for all work queued before it on the
 * device's blocking streams, an op on a blocking stream for the work queued before it on the
 * legacy stream (streams made with cudaStreamNonBlocking have neither).
 *
 * Ops run only when the host waits (cudaStreamSynchronize, cudaEventSynchronize, cudaMemcpy,
 * a copy to pageable memory, cudaFree, ...) — and then only as many as that wait needs — or,
 * at random, a few at the start of other API calls. Which ready op runs next is drawn from the
 * seeded generator, so a missing dependency shows up as bytes copied in the wrong order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emulated_grid.h"
#include "mock_internal.h"

mk_stream *mk_stream_by_id(uint64_t id);
mk_stream *mk_stream_by_id(uint64_t id)
{
    for (int i = 0; i < mk.nstreams; i++)
        if (mk.streams[i]->id == id)
            return mk.streams[i];
    return NULL;
}

#define find_stream mk_stream_by_id

int mk_dep_done(mk_dep d)
{
    const mk_stream *s = find_stream(d.stream_id);
    return s == NULL || s->completed >= d.seq; /* retired streams ran everything */
}

static int add_stream(mk_stream *s)
{
    if (mk.nstreams == mk.cap_streams) {
        int cap = mk.cap_streams ? 2 * mk.cap_streams : 16;
        mk_stream **n = realloc(mk.streams, (size_t)cap * sizeof *n);
        if (n == NULL)
            return -1;
        mk.streams = n;
        mk.cap_streams = cap;
    }
    mk.streams[mk.nstreams++] = s;
    return 0;
}

static void retire(mk_stream *s)
{
    for (int i = 0; i < mk.nstreams; i++)
        if (mk.streams[i] == s) {
            mk.streams[i] = mk.streams[--mk.nstreams];
            break;
        }
    mk_capture_forget_stream(s);
    free(s);
}

mk_stream *mk_stream_internal(int device)
{
    mk_stream *s = calloc(1, sizeof *s);
    if (s == NULL || add_stream(s) != 0)
        abort();
    s->id = ++mk.next_stream_id;
    s->device = device;
    s->destroyed = 1; /* retired once its ops have run; not a live stream */
    return s;
}

mk_op *mk_op_clone(const mk_op *op)
{
    mk_op *c = calloc(1, sizeof *c);
    if (c == NULL)
        abort();
    c->kind = op->kind;
    c->index64 = op->index64;
    c->dst = op->dst;
    c->src = op->src;
    c->n = op->n;
    if (op->plan != NULL) {
        c->plan = malloc(sizeof *c->plan);
        memcpy(c->plan, op->plan, sizeof *c->plan);
    }
    c->call = op->call;
    c->arg_size = op->arg_size;
    if (op->arg != NULL) {
        c->arg = malloc(op->arg_size);
        if (c->arg == NULL)
            abort();
        memcpy(c->arg, op->arg, op->arg_size);
    }
    c->timed = op->timed;
    c->span = op->span;
    c->span_bytes = op->span_bytes;
    return c;
}

void mk_op_free(mk_op *op)
{
    if (op == NULL)
        return;
    free(op->staging);
    free(op->plan);
    free(op->arg);
    free(op->deps);
    free(op);
}

void mk_streams_reset(void)
{
    while (mk.nstreams > 0)
        retire(mk.streams[0]);
    memset(mk.legacy, 0, sizeof mk.legacy);
    for (int d = 0; d < mk.devices; d++) {
        mk_stream *s = calloc(1, sizeof *s);
        s->id = ++mk.next_stream_id;
        s->device = d;
        s->legacy = 1;
        s->blocking = 1;
        add_stream(s);
        mk.legacy[d] = s;
    }
}

long mk_live_streams(void)
{
    long n = 0;
    for (int i = 0; i < mk.nstreams; i++)
        n += !mk.streams[i]->legacy && !mk.streams[i]->destroyed;
    return n;
}

mk_stream *mk_stream_get(cudaStream_t handle, cudaError_t *err)
{
    if (mk.devices == 0) {
        *err = cudaErrorNoDevice;
        return NULL;
    }
    /* NULL, cudaStreamLegacy; cudaStreamPerThread is treated as the legacy stream too. While
     * a blocking stream of the device captures, using the legacy stream is invalid. */
    if (handle == NULL || handle == cudaStreamLegacy || handle == cudaStreamPerThread) {
        if ((*err = mk_capture_legacy(mk_current_device(), 1)) != cudaSuccess)
            return NULL;
        return mk.legacy[mk_current_device()];
    }
    for (int i = 0; i < mk.nstreams; i++)
        if ((cudaStream_t)mk.streams[i] == handle && !mk.streams[i]->destroyed)
            return mk.streams[i];
    mk_violation("stream %p is not a live stream", (void *)handle);
    *err = cudaErrorInvalidResourceHandle;
    return NULL;
}

const char *mk_op_name(const mk_op *op)
{
    static const char *const names[] = {"copy", "kernel", "record", "wait", "alloc", "free", "call"};
    _Static_assert(sizeof names / sizeof names[0] == MK_OP_CALL + 1, "one name per op kind");
    return names[op->kind];
}

void mk_enqueue(mk_stream *s, mk_op *op, const mk_dep *extra, int nextra)
{
    if (s->cap != NULL) { /* captured: a node of the graph, not work to run */
        mk_capture_add(s, op);
        return;
    }
    int cap = nextra + mk.nstreams;
    op->deps = malloc((size_t)(cap > 0 ? cap : 1) * sizeof *op->deps);
    int n = 0;
    for (int i = 0; i < nextra; i++)
        op->deps[n++] = extra[i];
    if (s->legacy) {
        for (int i = 0; i < mk.nstreams; i++) {
            const mk_stream *t = mk.streams[i];
            if (!t->legacy && t->blocking && t->device == s->device && t->enqueued > t->completed)
                op->deps[n++] = (mk_dep){t->id, t->enqueued};
        }
    } else if (s->blocking) {
        const mk_stream *l = mk.legacy[s->device];
        if (l->enqueued > l->completed)
            op->deps[n++] = (mk_dep){l->id, l->enqueued};
    }
    op->ndeps = n;
    op->next = NULL;
    op->seq = ++s->enqueued;
    mk_time_enqueue(op);
    if (s->tail)
        s->tail->next = op;
    else
        s->head = op;
    s->tail = op;
    mk.pending++;
    mk_trace("enqueue %s #%llu on stream %llu (%d deps)", mk_op_name(op),
             (unsigned long long)op->seq, (unsigned long long)s->id, n);
}

void mk_enqueue_call(mk_stream *s, void (*call)(void *), void *arg, size_t arg_size, int timed,
                     mockcuda_span_kind span, size_t span_bytes)
{
    mk_op *op = calloc(1, sizeof *op);
    if (op == NULL)
        abort();
    op->kind = MK_OP_CALL;
    op->call = call;
    op->arg = arg;
    op->arg_size = arg_size;
    op->timed = timed;
    op->span = span;
    op->span_bytes = span_bytes;
    mk_enqueue(s, op, NULL, 0);
}

static int ready(const mk_stream *s)
{
    if (s->head == NULL)
        return 0;
    for (int i = 0; i < s->head->ndeps; i++)
        if (!mk_dep_done(s->head->deps[i]))
            return 0;
    return 1;
}

static void execute(mk_stream *s)
{
    mk_op *op = s->head;
    mk_time_execute(s, op);
    mk_trace("run %s #%llu of stream %llu", mk_op_name(op), (unsigned long long)op->seq,
             (unsigned long long)s->id);
    switch (op->kind) {
    case MK_OP_COPY:
        mk_check_ready(op->dst, "copy");
        mk_check_ready(op->src, "copy");
        memcpy(op->dst, op->staging ? op->staging : op->src, op->n);
        break;
    case MK_OP_ALLOC: {
        mk_alloc *a = mk_find_start(op->dst);
        if (a != NULL)
            a->ready = 1;
        break;
    }
    case MK_OP_FREE: {
        mk_alloc *a = mk_find_start(op->dst);
        if (a != NULL && a->user == (char *)op->dst)
            mk_device_release(a, "cudaFreeAsync");
        break;
    }
    case MK_OP_KERNEL:
        mk_check_ready(op->plan->packed, "kernel");
        mk_check_ready(op->plan->strided, "kernel");
        if (fsdt_emulate(op->plan, op->index64 >= 0 ? op->index64 : (int)(mk_rand() & 1)) != 0)
            mk_violation("kernel of an unknown path %d", (int)op->plan->path);
        mk.kernels++;
        break;
    case MK_OP_CALL:
        op->call(op->arg);
        break;
    default:
        break;
    }
    s->head = op->next;
    if (s->head == NULL)
        s->tail = NULL;
    s->completed++;
    mk.pending--;
    mk.executed++;
    mk_op_free(op);
    if (s->destroyed && s->head == NULL)
        retire(s);
}

/* Runs one ready op, drawn at random (with simulated time: the one that starts first); 0 when
 * none is ready. */
static int run_one(void)
{
    if (mk.timing) {
        mk_stream *first = NULL;
        double t = 0;
        for (int i = 0; i < mk.nstreams; i++)
            if (ready(mk.streams[i])) {
                double ti = mk_time_start(mk.streams[i], mk.streams[i]->head);
                if (first == NULL || ti < t) {
                    first = mk.streams[i];
                    t = ti;
                }
            }
        if (first == NULL)
            return 0;
        execute(first);
        return 1;
    }
    int nready = 0;
    for (int i = 0; i < mk.nstreams; i++)
        nready += ready(mk.streams[i]);
    if (nready == 0)
        return 0;
    int pick = (int)(mk_rand() % (uint64_t)nready);
    for (int i = 0; i < mk.nstreams; i++)
        if (ready(mk.streams[i]) && pick-- == 0) {
            execute(mk.streams[i]);
            return 1;
        }
    return 0;
}

void mk_run_until(int (*done)(void *), void *arg)
{
    mk_exec_begin();
    while (!done(arg)) {
        if (!run_one()) {
            fprintf(stderr, "mock_cuda: internal error: waiting for work that can never run "
                            "(%ld ops pending)\n", mk.pending);
            abort();
        }
    }
    mk_exec_end();
}

void mk_progress(int k)
{
    mk_exec_begin();
    for (int i = 0; i < k && run_one(); i++)
        continue;
    mk_exec_end();
}

static int dep_reached(void *arg) { return mk_dep_done(*(const mk_dep *)arg); }

static int nothing_pending(void *arg)
{
    (void)arg;
    return mk.pending == 0;
}

void mockcuda_drain(void)
{
    mk_lock();
    mk_run_until(nothing_pending, NULL);
    mk_unlock();
}

/* ------------------------------------------------------------------------------------------ */
/* Streams                                                                                     */

/* The priority range of every mock device: 0 (least, the default) to -5 (greatest), as on
 * recent GPUs; out-of-range priorities are clamped, as CUDA does. */
#define MK_LEAST_PRIORITY 0
#define MK_GREATEST_PRIORITY (-5)

cudaError_t cudaDeviceGetStreamPriorityRange(int *least, int *greatest)
{
    mk_lock();
    if (least != NULL)
        *least = MK_LEAST_PRIORITY;
    if (greatest != NULL)
        *greatest = MK_GREATEST_PRIORITY;
    return mk_leave(mk.devices == 0 ? cudaErrorNoDevice : cudaSuccess);
}

cudaError_t cudaStreamGetPriority(cudaStream_t stream, int *priority)
{
    mk_lock();
    cudaError_t e = cudaSuccess;
    mk_stream *s = mk_stream_get(stream, &e);
    if (s != NULL && priority == NULL)
        e = cudaErrorInvalidValue;
    else if (s != NULL)
        *priority = s->priority;
    return mk_leave(e);
}

static cudaError_t stream_create(cudaStream_t *stream, unsigned int flags, int priority)
{
    cudaError_t e = mk_enter(MOCKCUDA_STREAM_CREATE);
    if (e == cudaSuccess && stream == NULL)
        e = cudaErrorInvalidValue;
    if (e == cudaSuccess && mk.devices == 0)
        e = cudaErrorNoDevice;
    if (e != cudaSuccess)
        return mk_leave(e);
    mk_stream *s = calloc(1, sizeof *s);
    if (s == NULL || add_stream(s) != 0) {
        free(s);
        return mk_leave(cudaErrorMemoryAllocation);
    }
    s->id = ++mk.next_stream_id;
    s->device = mk_current_device();
    s->blocking = (flags & cudaStreamNonBlocking) == 0;
    s->priority = priority < MK_GREATEST_PRIORITY ? MK_GREATEST_PRIORITY
                  : priority > MK_LEAST_PRIORITY  ? MK_LEAST_PRIORITY
                                                  : priority;
    *stream = (cudaStream_t)s;
    return mk_leave(cudaSuccess);
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *stream, unsigned int flags)
{
    return stream_create(stream, flags, 0);
}

cudaError_t cudaStreamCreateWithPriority(cudaStream_t *stream, unsigned int flags, int priority)
{
    return stream_create(stream, flags, priority);
}

cudaError_t cudaStreamCreate(cudaStream_t *stream) { return cudaStreamCreateWithFlags(stream, 0); }

cudaError_t cudaStreamDestroy(cudaStream_t stream)
{
    cudaError_t e = mk_enter(MOCKCUDA_STREAM_DESTROY);
    mk_stream *s = e == cudaSuccess ? mk_stream_get(stream, &e) : NULL;
    if (s != NULL && s->legacy) {
        mk_violation("cudaStreamDestroy of the legacy default stream");
        e = cudaErrorInvalidResourceHandle;
    } else if (s != NULL) {
        /* As in CUDA: returns at once; the queued work still runs, then the stream goes. */
        mk_capture_forget_stream(s);
        s->destroyed = 1;
        if (s->head == NULL)
            retire(s);
    }
    return mk_leave(e);
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream)
{
    cudaError_t e = mk_enter(MOCKCUDA_STREAM_SYNCHRONIZE);
    mk_stream *s = e == cudaSuccess ? mk_stream_get(stream, &e) : NULL;
    if (s != NULL && s->cap != NULL) { /* a capturing stream has nothing to run */
        mk_capture_invalidate_stream(s, "cudaStreamSynchronize of a capturing stream");
        e = cudaErrorStreamCaptureUnsupported;
        s = NULL;
    } else if (s != NULL && (e = mk_capture_unsafe("cudaStreamSynchronize")) != cudaSuccess) {
        s = NULL;
    }
    if (s != NULL) {
        mk_dep d = {s->id, s->enqueued};
        mk_run_until(dep_reached, &d);
        mk_time_waited(d);
    }
    return mk_leave(e);
}

cudaError_t cudaStreamQuery(cudaStream_t stream)
{
    mk_lock();
    cudaError_t e = cudaSuccess;
    mk_stream *s = mk_stream_get(stream, &e);
    if (s != NULL && s->cap != NULL) {
        mk_capture_invalidate_stream(s, "cudaStreamQuery of a capturing stream");
        return mk_leave(cudaErrorStreamCaptureUnsupported);
    }
    if (s != NULL && s->head != NULL)
        e = cudaErrorNotReady;
    if (e != cudaSuccess && e != cudaErrorNotReady)
        return mk_leave(e);
    mk_unlock(); /* NotReady is not an error to remember */
    return e;
}

cudaError_t cudaDeviceSynchronize(void)
{
    cudaError_t e = mk_enter(MOCKCUDA_DEVICE_SYNCHRONIZE);
    if (e == cudaSuccess && mk.devices == 0)
        e = cudaErrorNoDevice;
    if (e == cudaSuccess && mk_capture_active(mk_current_device())) {
        /* synchronising the device synchronises its capturing streams: always invalid */
        for (int i = 0; i < mk.nstreams; i++)
            if (mk.streams[i]->device == mk_current_device())
                mk_capture_invalidate_stream(mk.streams[i], "cudaDeviceSynchronize");
        e = cudaErrorStreamCaptureUnsupported;
    }
    if (e == cudaSuccess)
        e = mk_capture_unsafe("cudaDeviceSynchronize");
    if (e == cudaSuccess) {
        mk_run_until(nothing_pending, NULL);
        mk_time_waited_all();
    }
    return mk_leave(e);
}

/* ------------------------------------------------------------------------------------------ */
/* Events                                                                                      */

static mk_event *event_get(cudaEvent_t handle, cudaError_t *err)
{
    for (int i = 0; i < mk.nevents; i++)
        if ((cudaEvent_t)mk.events[i] == handle)
            return mk.events[i];
    mk_violation("event %p is not a live event", (void *)handle);
    *err = cudaErrorInvalidResourceHandle;
    return NULL;
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *event, unsigned int flags)
{
    cudaError_t e = mk_enter(MOCKCUDA_EVENT_CREATE);
    if (e == cudaSuccess && event == NULL)
        e = cudaErrorInvalidValue;
    if (e == cudaSuccess && mk.devices == 0)
        e = cudaErrorNoDevice;
    if (e != cudaSuccess)
        return mk_leave(e);
    if (mk.nevents == mk.cap_events) {
        int cap = mk.cap_events ? 2 * mk.cap_events : 64;
        mk_event **n = realloc(mk.events, (size_t)cap * sizeof *n);
        if (n == NULL)
            return mk_leave(cudaErrorMemoryAllocation);
        mk.events = n;
        mk.cap_events = cap;
    }
    mk_event *ev = calloc(1, sizeof *ev);
    if (ev == NULL)
        return mk_leave(cudaErrorMemoryAllocation);
    ev->device = mk_current_device();
    ev->flags = flags;
    mk.events[mk.nevents++] = ev;
    *event = (cudaEvent_t)ev;
    return mk_leave(cudaSuccess);
}

cudaError_t cudaEventCreate(cudaEvent_t *event) { return cudaEventCreateWithFlags(event, 0); }

cudaError_t cudaEventDestroy(cudaEvent_t event)
{
    cudaError_t e = mk_enter(MOCKCUDA_EVENT_DESTROY);
    mk_event *ev = e == cudaSuccess ? event_get(event, &e) : NULL;
    if (ev != NULL) {
        /* Queued records and waits refer to stream positions, not to the event: safe. */
        for (int i = 0; i < mk.nevents; i++)
            if (mk.events[i] == ev) {
                mk.events[i] = mk.events[--mk.nevents];
                break;
            }
        mk_capture_forget_event(ev);
        free(ev);
    }
    return mk_leave(e);
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream)
{
    cudaError_t e = mk_enter(MOCKCUDA_EVENT_RECORD);
    mk_event *ev = e == cudaSuccess ? event_get(event, &e) : NULL;
    mk_stream *s = ev != NULL ? mk_stream_get(stream, &e) : NULL;
    if (s != NULL && s->device != ev->device) {
        mk_violation("cudaEventRecord: event of device %d, stream of device %d", ev->device,
                     s->device);
        e = cudaErrorInvalidResourceHandle;
    } else if (s != NULL && (e = mk_capture_gate(s)) != cudaSuccess) {
        s = NULL;
    } else if (s != NULL && s->cap != NULL) {
        e = mk_capture_record(ev, s);
    } else if (s != NULL) {
        mk_op *op = calloc(1, sizeof *op);
        op->kind = MK_OP_RECORD;
        mk_enqueue(s, op, NULL, 0);
        ev->recorded = 1;
        ev->captured = 0;
        ev->last = (mk_dep){s->id, op->seq};
    }
    return mk_leave(e);
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags)
{
    (void)flags;
    cudaError_t e = mk_enter(MOCKCUDA_STREAM_WAIT_EVENT);
    mk_event *ev = e == cudaSuccess ? event_get(event, &e) : NULL;
    mk_stream *s = ev != NULL ? mk_stream_get(stream, &e) : NULL;
    if (s != NULL && (e = mk_capture_gate(s)) != cudaSuccess)
        s = NULL;
    if (s != NULL && (s->cap != NULL || ev->captured)) {
        e = mk_capture_wait(s, ev);
    } else if (s != NULL && ev->recorded) { /* never recorded: nothing to wait for */
        mk_op *op = calloc(1, sizeof *op);
        op->kind = MK_OP_WAIT;
        mk_enqueue(s, op, &ev->last, 1);
    }
    return mk_leave(e);
}

cudaError_t cudaEventSynchronize(cudaEvent_t event)
{
    cudaError_t e = mk_enter(MOCKCUDA_EVENT_SYNCHRONIZE);
    mk_event *ev = e == cudaSuccess ? event_get(event, &e) : NULL;
    if (ev != NULL && ((e = mk_capture_event_usable(ev)) != cudaSuccess ||
                       (e = mk_capture_unsafe("cudaEventSynchronize")) != cudaSuccess))
        ev = NULL;
    if (ev != NULL && ev->recorded) {
        if (!(ev->flags & cudaEventBlockingSync))
            mk.spin_waits++;
        mk_dep d = ev->last;
        mk_run_until(dep_reached, &d);
        mk_time_waited(d);
    }
    return mk_leave(e);
}

/* The time between two completed records: simulated time (mockcuda_set_timing), else 0. */
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end)
{
    mk_lock();
    cudaError_t e = cudaSuccess;
    mk_event *a = event_get(start, &e), *b = a != NULL ? event_get(end, &e) : NULL;
    if (b != NULL && ms == NULL)
        e = cudaErrorInvalidValue;
    else if (b != NULL && ((a->flags | b->flags) & cudaEventDisableTiming))
        e = cudaErrorInvalidResourceHandle;
    else if (b != NULL && (!a->recorded || !b->recorded))
        e = cudaErrorInvalidResourceHandle;
    else if (b != NULL && (!mk_dep_done(a->last) || !mk_dep_done(b->last)))
        e = cudaErrorNotReady;
    if (e == cudaSuccess)
        *ms = mk.timing ? (float)((mk_time_of(b->last) - mk_time_of(a->last)) * 1e-6) : 0.0f;
    if (e != cudaSuccess && e != cudaErrorNotReady)
        return mk_leave(e);
    mk_unlock();
    return e;
}

cudaError_t cudaEventQuery(cudaEvent_t event)
{
    mk_lock();
    cudaError_t e = cudaSuccess;
    mk_event *ev = event_get(event, &e);
    if (ev != NULL && (e = mk_capture_event_usable(ev)) != cudaSuccess)
        return mk_leave(e);
    if (ev != NULL && ev->recorded && !mk_dep_done(ev->last))
        e = cudaErrorNotReady;
    if (e != cudaSuccess && e != cudaErrorNotReady)
        return mk_leave(e);
    mk_unlock();
    return e;
}

/* ------------------------------------------------------------------------------------------ */
/* Copies                                                                                      */

static const char *KIND_NAMES[] = {"HostToHost", "HostToDevice", "DeviceToHost",
                                   "DeviceToDevice", "Default"};

/* Checks and queues a copy on s; *sync set when the host must wait for it (CUDA's rules for
 * pageable memory). */
cudaError_t mk_queue_copy(void *dst, const void *src, size_t n, enum cudaMemcpyKind kind,
                          mk_stream *s, int *sync)
{
    const char *kname = (unsigned)kind <= 4 ? KIND_NAMES[kind] : "?";
    if ((unsigned)kind > 4)
        return cudaErrorInvalidMemcpyDirection;
    if (dst == NULL || src == NULL) {
        mk_violation("copy of %zu bytes (%s) with a NULL pointer", n, kname);
        return cudaErrorInvalidValue;
    }
    const mk_alloc *da = mk_find_start(dst), *sa = mk_find_start(src);
    if ((da && mk_find(dst, n) == NULL) || (sa && mk_find(src, n) == NULL)) {
        mk_violation("copy of %zu bytes (%s) %p -> %p runs past the end of an allocation", n,
                     kname, src, dst);
        return cudaErrorInvalidValue;
    }
    int dev_dst = da && da->kind == MK_MEM_DEVICE, dev_src = sa && sa->kind == MK_MEM_DEVICE;
    int ok = kind == cudaMemcpyDefault ||
             (kind == cudaMemcpyHostToDevice && !dev_src && dev_dst) ||
             (kind == cudaMemcpyDeviceToHost && dev_src && !dev_dst) ||
             (kind == cudaMemcpyDeviceToDevice && dev_src && dev_dst) ||
             (kind == cudaMemcpyHostToHost && !dev_src && !dev_dst);
    if (!ok) {
        mk_violation("cudaMemcpy%s: source is %s memory, destination %s memory", kname,
                     dev_src ? "device" : "host", dev_dst ? "device" : "host");
        return cudaErrorInvalidValue;
    }
    const char *d = dst, *c = src;
    if (d < c + n && c < d + n) {
        mk_violation("copy of %zu bytes between overlapping ranges %p, %p", n, src, dst);
        return cudaErrorInvalidValue;
    }
    if (s->cap != NULL && (sa == NULL || da == NULL)) {
        /* a graph cannot hold a copy with pageable host memory */
        mk_capture_invalidate_stream(s, "a copy with pageable host memory");
        return cudaErrorStreamCaptureUnsupported;
    }
    mk_op *op = calloc(1, sizeof *op);
    op->kind = MK_OP_COPY;
    op->dst = dst;
    op->src = src;
    op->n = n;
    *sync = 0;
    if (sa == NULL && dev_dst) {
        /* From pageable memory: CUDA stages the source before returning; the DMA is later. */
        op->staging = malloc(n);
        memcpy(op->staging, src, n);
        mk.pageable++;
    } else if (da == NULL || (sa == NULL && !dev_dst)) {
        /* Into pageable memory (or host to host): returns once the copy is done. */
        *sync = 1;
        mk.pageable += da == NULL && dev_src;
    }
    mk_enqueue(s, op, NULL, 0);
    return cudaSuccess;
}

void mk_wait_stream(mk_stream *s)
{
    mk_dep d = {s->id, s->enqueued};
    mk_run_until(dep_reached, &d);
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, enum cudaMemcpyKind kind,
                            cudaStream_t stream)
{
    cudaError_t e = mk_enter(MOCKCUDA_MEMCPY_ASYNC);
    mk_stream *s = e == cudaSuccess ? mk_stream_get(stream, &e) : NULL;
    if (s != NULL && (e = mk_capture_gate(s)) != cudaSuccess)
        s = NULL;
    int sync = 0;
    if (s != NULL && n > 0)
        e = mk_queue_copy(dst, src, n, kind, s, &sync);
    if (e == cudaSuccess && sync) {
        mk_dep d = {s->id, s->enqueued};
        mk_run_until(dep_reached, &d);
        mk_time_waited(d);
    }
    return mk_leave(e);
}

/* A stream-ordered fill of device memory (only: a host pointer is an error, as in CUDA for
 * memory the device cannot address as its own). Queued as a copy from a staged buffer of the
 * value, so that it runs, waits and is captured as copies are. */
cudaError_t cudaMemsetAsync(void *dst, int value, size_t n, cudaStream_t stream)
{
    cudaError_t e = mk_enter(MOCKCUDA_MEMSET_ASYNC);
    mk_stream *s = e == cudaSuccess ? mk_stream_get(stream, &e) : NULL;
    if (s != NULL && (e = mk_capture_gate(s)) != cudaSuccess)
        s = NULL;
    if (s != NULL && n > 0) {
        const mk_alloc *a = mk_find(dst, n);
        if (a == NULL || a->kind != MK_MEM_DEVICE) {
            mk_violation("cudaMemsetAsync of %zu bytes at %p: not within one device allocation", n, dst);
            return mk_leave(cudaErrorInvalidValue);
        }
        mk_op *op = calloc(1, sizeof *op);
        op->kind = MK_OP_COPY;
        op->dst = dst;
        op->src = dst;
        op->n = n;
        op->staging = malloc(n);
        memset(op->staging, value, n);
        mk_enqueue(s, op, NULL, 0);
    }
    return mk_leave(e);
}

/* cudaMemsetAsync on the legacy stream, then waited for. */
cudaError_t cudaMemset(void *dst, int value, size_t n)
{
    cudaError_t e = cudaMemsetAsync(dst, value, n, NULL);
    return e == cudaSuccess ? cudaStreamSynchronize(NULL) : e;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t n, enum cudaMemcpyKind kind)
{
    cudaError_t e = mk_enter(MOCKCUDA_MEMCPY);
    if (e == cudaSuccess)
        e = mk_capture_unsafe("cudaMemcpy");
    mk_stream *s = e == cudaSuccess ? mk_stream_get(NULL, &e) : NULL;
    int sync = 0;
    if (s != NULL && n > 0)
        e = mk_queue_copy(dst, src, n, kind, s, &sync);
    if (e == cudaSuccess && s != NULL) {
        mk_dep d = {s->id, s->enqueued};
        mk_run_until(dep_reached, &d);
        mk_time_waited(d);
    }
    return mk_leave(e);
}
