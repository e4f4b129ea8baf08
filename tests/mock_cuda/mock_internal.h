/*
 * mock_internal.h — the state shared by the stand-in runtime's files:
 *   mock_core.c     state, settings, failure injection, errors, devices
 *   mock_memory.c   device / pinned allocations, pointer attributes, protection
 *   mock_streams.c  streams, events, the op queues and the seeded scheduler, copies
 *   mock_launch.c   fsdk_launch: kernel ops run on the emulated grid
 *   mock_gather.c   fsdk_launch_gather (the paged-gather kernel) and cudaMemcpyBatchAsync
 * One process-wide mutex guards it all; ops execute on the thread that makes the API call that
 * runs them, with the mutex held.
 */
#ifndef MOCK_INTERNAL_H
#define MOCK_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "mock_cuda.h"
#include "plan.h"

#define MK_MAX_DEVICES 8

/* Op B depends on op `seq` of stream `stream_id` (1-based; done when completed >= seq). */
typedef struct mk_dep {
    uint64_t stream_id, seq;
} mk_dep;

typedef enum mk_op_kind { MK_OP_COPY, MK_OP_KERNEL, MK_OP_RECORD, MK_OP_WAIT, MK_OP_CALL } mk_op_kind;

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
    /* MK_OP_CALL: call(arg) runs the op (another kernel of the library); arg is freed after */
    void (*call)(void *arg);
    void *arg;
} mk_op;

typedef struct mk_stream {
    uint64_t id;
    int device;
    int legacy;    /* the legacy default stream of `device` */
    int blocking;  /* synchronises with the legacy stream (not cudaStreamNonBlocking) */
    int destroyed; /* cudaStreamDestroy'd: retired once empty */
    mk_op *head, *tail;
    uint64_t enqueued, completed;
} mk_stream;

typedef struct mk_event {
    int device;
    int recorded;
    mk_dep last; /* the most recent record */
} mk_event;

typedef enum mk_mem_kind { MK_MEM_DEVICE, MK_MEM_PINNED, MK_MEM_REGISTERED } mk_mem_kind;

typedef struct mk_alloc {
    mk_mem_kind kind;
    int device;
    char *user;     /* the pointer handed out */
    size_t size;
    char *base;     /* the mapping / malloc block */
    size_t rw_size; /* device: readable part of the mapping (a guard page follows) */
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

/* Streams (mock_streams.c). */
mk_stream *mk_stream_get(cudaStream_t s, cudaError_t *err); /* NULL: error in *err */
/* Appends op (allocated by the caller) to s with `extra` explicit dependencies. */
void mk_enqueue(mk_stream *s, mk_op *op, const mk_dep *extra, int nextra);
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

#endif
