/*
 * mock_internal.h — the state shared by the stand-in runtime's files:
 *   mock_core.c     state, settings, failure injection, errors, devices
 *   mock_memory.c   device / pinned allocations, pointer attributes, protection
 *   mock_streams.c  streams, events, the op queues and the seeded scheduler, copies
 *   mock_launch.c   fsdk_launch: kernel ops run on the emulated grid
 *   mock_gather.c   fsdk_launch_gather's launch (the paged-gather kernel) and cudaMemcpyBatchAsync
 *   mock_capture.c  stream capture, graphs (instantiate, launch), the capture rules
 *   mock_pools.c    memory pools, stream-ordered allocation
 *   mock_timing.c   simulated time
 *   mock_fsdk_launch.c  fsd_mock_runtime: fsdk_launch and fsdk_launch_gather on the emulated grid
 *   mock_kernel_api.c   fsd_mock_runtime_kernels: cudaLaunchKernel for the real kernels
 *   mock_kernels.cu     ... and the emulator of each kernel instantiation it may launch
 * One process-wide mutex guards it all; ops execute on the thread that makes the API call that
 * runs them, with the mutex held.
 */
#ifndef MOCK_INTERNAL_H
#define MOCK_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "gather_plan.h"
#include "mock_cuda.h"
#include "plan.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MK_MAX_DEVICES 8

/* Op B depends on op `seq` of stream `stream_id` (1-based; done when completed >= seq). */
typedef struct mk_dep {
    uint64_t stream_id, seq;
} mk_dep;

typedef enum mk_op_kind {
    MK_OP_COPY,
    MK_OP_KERNEL, /* a plan on the emulated grid (the mock's own fsdk_launch) */
    MK_OP_RECORD,
    MK_OP_WAIT,
    MK_OP_ALLOC, /* cudaMallocAsync: the allocation (dst) may be used from here on */
    MK_OP_FREE,  /* cudaFreeAsync: the allocation (dst) goes back to its pool */
    MK_OP_CALL   /* call(arg): another kernel of the library, a batch of copies */
} mk_op_kind;

typedef struct mk_op {
    mk_op_kind kind;
    struct mk_op *next;
    uint64_t seq;
    int ndeps;
    mk_dep *deps;
    /* MK_OP_COPY: reads src (or the staging snapshot) when it executes */
    void *dst;
    const void *src;
    size_t n;
    void *staging;
    /* MK_OP_KERNEL */
    fsd_plan *plan;
    int index64; /* the kernel's index width: 1 64-bit, 0 32-bit, -1 drawn when it runs */
    /* MK_OP_CALL: call(arg) runs the op; arg (arg_size bytes, malloc'd) is copied by
     * mk_op_clone and freed by mk_op_free. With `timed`, it takes simulated time as a span of
     * `span` over span_bytes (a kernel's packed bytes, a batch's bytes). */
    void (*call)(void *arg);
    void *arg;
    size_t arg_size;
    int timed;
    mockcuda_span_kind span;
    size_t span_bytes;
    double t_enq; /* simulated time (mock_timing.c): the host enqueued it */
} mk_op;

typedef struct mk_stream {
    uint64_t id;
    int device;
    int legacy;    /* the legacy default stream of `device` */
    int blocking;  /* synchronises with the legacy stream (not cudaStreamNonBlocking) */
    int destroyed; /* cudaStreamDestroy'd: retired once empty */
    mk_op *head, *tail;
    uint64_t enqueued, completed;
    /* stream capture (mock_capture.c): the capture it records into (NULL: none), and the
     * nodes the next captured op depends on */
    struct mk_capture *cap;
    int *tips;
    int ntips, cap_tips;
    int priority;
    /* simulated time (mock_timing.c): end of the last op run, ends of recent ops by seq */
    double t_last;
    double t_hist[256];
} mk_stream;

typedef struct mk_event {
    int device;
    int recorded;
    mk_dep last; /* the most recent record */
    /* last recorded in a capture (cudaErrorCapturedEvent outside it): which one, and the
     * nodes the record stands for */
    int captured;
    uint64_t cap_id;
    int *nodes;
    int nnodes;
    unsigned flags; /* cudaEventCreateWithFlags' */
} mk_event;

typedef enum mk_mem_kind { MK_MEM_DEVICE, MK_MEM_PINNED, MK_MEM_REGISTERED } mk_mem_kind;

typedef struct mk_alloc {
    mk_mem_kind kind;
    int device;
    char *user;     /* the pointer handed out */
    size_t size;
    char *base;     /* the mapping / malloc block */
    size_t rw_size; /* device: readable part of the mapping (a guard page follows) */
    unsigned flags;  /* cudaHostAlloc / cudaHostRegister flags */
    int pooled;      /* from cudaMallocAsync: usable once its ALLOC op has run (`ready`) */
    int ready;
} mk_alloc;

typedef struct mk_state {
    pthread_mutex_t mu;
    int devices;
    uint64_t rng;
    int eager;
    int sms;
    int protect;
    int verbose;

    mk_stream **streams; /* live streams, legacy ones included */
    int nstreams, cap_streams;
    mk_stream *legacy[MK_MAX_DEVICES];
    uint64_t next_stream_id;

    mk_event **events;
    int nevents, cap_events;

    mk_alloc *allocs;
    int nallocs, cap_allocs;
    int unprotected; /* nesting depth of mk_exec_begin */

    long calls[MOCKCUDA_API_COUNT];
    long fail_in[MOCKCUDA_API_COUNT]; /* > 0: that many calls until the failure */
    cudaError_t fail_err[MOCKCUDA_API_COUNT];
    int fired;

    long pending, executed, kernels, pageable, violations;
    long spin_waits; /* cudaEventSynchronize of events made without cudaEventBlockingSync */
    size_t memory_limit; /* device + pinned bytes live at once (0: no limit) */
    int timing;          /* simulated time on (mock_timing.c) */
    double host_now;     /* the host's simulated time, ns */
} mk_state;

extern mk_state mk;

/* Locks, initialises on first use, counts the call, applies an armed failure (returned, else
 * cudaSuccess) and runs some ready ops at random. */
cudaError_t mk_enter(mockcuda_api api);
/* Locks without counting (queries and test controls). */
void mk_lock(void);
void mk_unlock(void);
/* Sets the calling thread's last error to `e` when it is an error, unlocks, returns e. */
cudaError_t mk_leave(cudaError_t e);
/* Records a misuse: prints it and counts it. */
void mk_violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mk_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t mk_rand(void);
int mk_current_device(void);

/* Checks a kernel's launch the way the GPU would fault on it: the stream's device current,
 * a sane grid (mock_launch.c). */
cudaError_t mk_check_launch(const mk_stream *s, uint32_t grid, uint32_t block);
/* 1 when [p + lo, p + hi) lies in one allocation the GPU of `device` can reach; else a
 * violation naming `what` (mock_launch.c). */
int mk_reachable(const char *p, int64_t lo, int64_t hi, int device, const char *what);

/* Memory (mock_memory.c). */
mk_alloc *mk_find(const void *p, size_t n); /* the allocation holding [p, p+n), or NULL */
mk_alloc *mk_find_start(const void *p);     /* the allocation holding byte p, or NULL */
void mk_exec_begin(void);                   /* device memory readable and writable */
void mk_exec_end(void);
void mk_memory_init(void);
int mk_memory_fits(size_t n);               /* within the memory limit with n more bytes */
mk_alloc *mk_device_alloc(size_t size, int device); /* NULL: no memory */
void mk_device_release(mk_alloc *a, const char *what); /* checks the red zones, unmaps */
/* At execution of an op touching p: a stream-ordered allocation must be ready. */
void mk_check_ready(const void *p, const char *what);

/* Streams (mock_streams.c). */
mk_stream *mk_stream_get(cudaStream_t s, cudaError_t *err); /* NULL: error in *err */
/* Appends op (allocated by the caller) to s with `extra` explicit dependencies. */
void mk_enqueue(mk_stream *s, mk_op *op, const mk_dep *extra, int nextra);
/* Appends an MK_OP_CALL op running call(arg) (arg: malloc'd, arg_size bytes, owned by the op
 * from here on; timed: a span of `span` over span_bytes in simulated time). */
void mk_enqueue_call(mk_stream *s, void (*call)(void *), void *arg, size_t arg_size, int timed,
                     mockcuda_span_kind span, size_t span_bytes);
/* Runs ops (randomly chosen among the ready ones) until done(arg) holds. */
void mk_run_until(int (*done)(void *), void *arg);
/* Queues a copy of n bytes as cudaMemcpyAsync does (its checks and pageable rules); *sync is
 * set when the call must wait for it. */
cudaError_t mk_queue_copy(void *dst, const void *src, size_t n, enum cudaMemcpyKind kind,
                          mk_stream *s, int *sync);
/* Runs ops until everything queued so far on s has run. */
void mk_wait_stream(mk_stream *s);
/* Runs up to k ready ops. */
void mk_progress(int k);
int mk_dep_done(mk_dep d);
void mk_streams_reset(void);
long mk_live_streams(void);
/* A stream made by the runtime itself (a graph launch's node): non-blocking, retired once
 * its ops have run. */
mk_stream *mk_stream_internal(int device);
mk_op *mk_op_clone(const mk_op *op); /* a copy (call ops: their arg too) */
void mk_op_free(mk_op *op);
const char *mk_op_name(const mk_op *op); /* "copy", "kernel", ... */

/* Kernels (mock_launch.c, mock_gather.c). The caller holds the lock (mk_enter). */
/* The stream a kernel is launched on, its capture not invalidated; NULL with the error. */
mk_stream *mk_launch_stream(cudaStream_t stream, cudaError_t *err);
/* The mock's own fsdk_launch: checks `plan` as the GPU would fault on it and queues it on
 * `stream` to run on the emulated grid with `index64` (-1: drawn when it runs). */
cudaError_t mk_launch_plan(const fsd_plan *plan, cudaStream_t stream, int index64);

/* A kernel of the library that the real-kernels variant can run (mock_kernels.cu): one per
 * template instantiation of kernels/launch.cu and kernels/gather_launch.cu. */
typedef struct mk_kernel {
    char name[96];     /* its mangled name up to the end of its template arguments, e.g.
                        * _Z15fsd_runs_kernelILi2EjLi4EE (the parameter list follows)       */
    size_t args_bytes; /* the size of its one parameter                                    */
    /* Runs its __global__ wrapper's loops over grid x block, `args` its parameter. */
    void (*run)(const void *args, uint32_t grid, uint32_t block);
    /* The parameter launch.cu builds for `plan` (kernel_args.cuh) into out (args_bytes);
     * NULL for the gather kernel, whose parameter is the fsd_gather_plan itself. */
    void (*args_of)(const fsd_plan *plan, void *out);
} mk_kernel;
/* The kernel whose mangled name is `mangled` (a name __cudaRegisterFunction gave), or NULL. */
const mk_kernel *mk_kernel_by_name(const char *mangled);
/* The real-kernels variant's launch of k with parameter `args` for `plan` (already checked to
 * be the kernel the plan calls for): the checks of mk_launch_plan, then an op running k. */
cudaError_t mk_launch_kernel(const fsd_plan *plan, cudaStream_t stream, const mk_kernel *k,
                             uint32_t grid, uint32_t block, const void *args);
/* The mock's checksum pack of a plan (fsdk_launch_checksum): the checks of mk_launch_plan and
 * that *sum is reachable, then an op running the emulated grid's checksum pack, which adds S
 * to *sum. */
cudaError_t mk_launch_checksum(const fsd_plan *plan, uint64_t *sum, cudaStream_t stream);
/* A launch of the paged-gather kernel: what it reads before any layer must be reachable (else
 * cudaErrorIllegalAddress); the op checks every layer when it runs, then runs k over the plan
 * (NULL: the emulated grid's choice of instantiation, with the index width drawn). */
cudaError_t mk_launch_gather(const fsd_gather_plan *plan, cudaStream_t stream,
                             const mk_kernel *k);

/* Simulated time (mock_timing.c); every hook is a no-op while timing is off. */
mk_stream *mk_stream_by_id(uint64_t id);
void mk_time_enqueue(mk_op *op);
double mk_time_start(const mk_stream *s, const mk_op *op); /* when op would start now */
double mk_time_of(mk_dep d); /* when the op d names ended (simulated ns; 0: not known) */
void mk_time_execute(mk_stream *s, mk_op *op);            /* before it runs */
void mk_time_waited(mk_dep d);                            /* the host waited for d */
void mk_time_waited_all(void);                            /* ... for everything */
void mk_time_call(void);                                  /* a runtime call's host time */

/* Stream capture (mock_capture.c). */
typedef struct mk_capture mk_capture;
uint64_t mk_thread_id(void);
/* An op for a capturing stream: becomes a node of its capture (deps: the stream's tips). */
void mk_capture_add(mk_stream *s, mk_op *op);
/* cudaErrorStreamCaptureInvalidated when s records into an invalidated capture, else
 * cudaSuccess: every enqueueing call asks first. */
cudaError_t mk_capture_gate(const mk_stream *s);
/* The legacy stream of `device` while a blocking stream of it captures: the captures are
 * invalidated, cudaErrorStreamCaptureImplicit (else cudaSuccess). */
cudaError_t mk_capture_legacy(int device, int invalidate);
/* A potentially unsafe call (allocation, synchronisation) by this thread: when a capture
 * prohibits it (the capture modes' rules), those captures are invalidated and
 * cudaErrorStreamCaptureUnsupported is returned; else cudaSuccess. */
cudaError_t mk_capture_unsafe(const char *call);
/* Marks s's capture (if any) invalid. */
void mk_capture_invalidate_stream(const mk_stream *s, const char *why);
/* Event record / wait on a capturing stream (or a wait on a captured event). */
cudaError_t mk_capture_record(mk_event *ev, mk_stream *s);
cudaError_t mk_capture_wait(mk_stream *s, mk_event *ev);
/* cudaErrorCapturedEvent when ev was last recorded in a capture (invalidating it while it
 * runs), else cudaSuccess: for synchronising with or querying an event. */
cudaError_t mk_capture_event_usable(const mk_event *ev);
/* A stream or event is going away. */
void mk_capture_forget_stream(mk_stream *s);
void mk_capture_forget_event(mk_event *ev);
/* 1 while any capture is active on `device` (-1: any device). */
int mk_capture_active(int device);

#ifdef __cplusplus
}
#endif

#endif
