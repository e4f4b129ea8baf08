/*
 * mock_cuda.h — the test-facing controls of the stand-in CUDA runtime (tests/mock_cuda, see
 * README.md there). The runtime itself is the cudart API (cuda_runtime_api.h): link
 * fsd_mock_runtime instead of CUDA::cudart and the library's host code runs on the CPU, its
 * kernels on the emulated grid.
 *
 * Every setting also has an environment variable, read at the first call into the mock:
 *   MOCK_CUDA_DEVICES=n    devices reported (default 1; 0: cudaGetDeviceCount fails NoDevice)
 *   MOCK_CUDA_SEED=n       scheduler seed (default 1)
 *   MOCK_CUDA_EAGER=p      percent of API calls that also run a few ready ops (default 25)
 *   MOCK_CUDA_SMS=n        cudaDevAttrMultiProcessorCount (default 3)
 *   MOCK_CUDA_PROTECT=0|1  device memory PROT_NONE outside op execution (default 1)
 *   MOCK_CUDA_FAIL=api:n[,api:n...]  the n-th call of `api` (its cudart name, or fsdk_launch)
 *                          fails with that call's default injected error
 *   MOCK_CUDA_VERBOSE=1    prints every enqueued and executed op on stderr
 */
#ifndef MOCK_CUDA_H
#define MOCK_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The calls the mock counts and can make fail. */
typedef enum mockcuda_api {
    MOCKCUDA_GET_DEVICE_COUNT = 0,
    MOCKCUDA_GET_DEVICE,
    MOCKCUDA_SET_DEVICE,
    MOCKCUDA_DEVICE_GET_ATTRIBUTE,
    MOCKCUDA_STREAM_CREATE,       /* cudaStreamCreate, cudaStreamCreateWithFlags / WithPriority */
    MOCKCUDA_STREAM_DESTROY,
    MOCKCUDA_STREAM_SYNCHRONIZE,
    MOCKCUDA_STREAM_WAIT_EVENT,
    MOCKCUDA_EVENT_CREATE,        /* cudaEventCreate and cudaEventCreateWithFlags */
    MOCKCUDA_EVENT_DESTROY,
    MOCKCUDA_EVENT_RECORD,
    MOCKCUDA_EVENT_SYNCHRONIZE,
    MOCKCUDA_MEMCPY_ASYNC,        /* cudaMemcpyAsync (cudaMemcpy is counted apart) */
    MOCKCUDA_MEMCPY,
    MOCKCUDA_MALLOC,
    MOCKCUDA_FREE,
    MOCKCUDA_HOST_ALLOC,          /* cudaHostAlloc and cudaMallocHost */
    MOCKCUDA_FREE_HOST,
    MOCKCUDA_POINTER_GET_ATTRIBUTES,
    MOCKCUDA_DEVICE_SYNCHRONIZE,
    MOCKCUDA_LAUNCH,              /* a kernel of the library: fsdk_launch, fsdk_launch_gather;
                                   * cudaLaunchKernel with the real kernels */
    MOCKCUDA_MEMCPY_BATCH_ASYNC,  /* cudaMemcpyBatchAsync */
    MOCKCUDA_MALLOC_ASYNC,        /* cudaMallocAsync and cudaMallocFromPoolAsync */
    MOCKCUDA_FREE_ASYNC,
    MOCKCUDA_MEM_POOL_CREATE,
    MOCKCUDA_MEMSET_ASYNC,        /* cudaMemsetAsync */
    MOCKCUDA_API_COUNT
} mockcuda_api;

/* The cudart name of an API ("cudaMalloc"), or "fsdk_launch". */
const char *mockcuda_api_name(mockcuda_api api);

/* Number of devices (0..8). Only while nothing is allocated, queued or created (else it
 * returns -1 and changes nothing); the calling thread's current device becomes 0. */
int mockcuda_set_devices(int n);

/* Seeds the scheduler's choices (which ready op runs next, eager progress, the emulator's
 * index width). */
void mockcuda_set_seed(uint64_t seed);

/* Percent (0..100) of API calls that also run 1..3 ready ops. 0: ops run only when the host
 * waits for them (the most deferred schedule). */
void mockcuda_set_eager(int percent);

/* cudaDevAttrMultiProcessorCount of every device (>= 1). */
void mockcuda_set_sm_count(int sms);

/* Makes the n-th call of `api` from now fail with `error` (n >= 1; n = 0 disarms). Once it has
 * fired it is disarmed. `error` cudaSuccess picks the API's default: cudaErrorMemoryAllocation
 * for allocations, cudaErrorLaunchOutOfResources for fsdk_launch, cudaErrorNoDevice for
 * cudaGetDeviceCount, cudaErrorUnknown otherwise. */
void mockcuda_fail_nth(mockcuda_api api, long n, cudaError_t error);
/* Disarms every injected failure. */
void mockcuda_fail_none(void);
/* 1 when an armed failure has fired since it was armed. */
int mockcuda_fail_fired(void);

/* Calls of `api` since the start of the process (failed ones included). */
long mockcuda_calls(mockcuda_api api);

typedef struct mockcuda_stats {
    long device_allocs;    /* live cudaMalloc allocations                                   */
    long pinned_allocs;    /* live cudaHostAlloc allocations                                */
    long registered;       /* live cudaHostRegister ranges                                  */
    size_t device_bytes, pinned_bytes;
    long streams;          /* live created streams (not the legacy ones)                    */
    long events;           /* live events                                                   */
    long pending_ops;      /* ops enqueued and not yet executed                             */
    long executed_ops;     /* ops executed since the start                                  */
    long kernels;          /* kernel ops executed                                           */
    long pageable_copies;  /* async copies with a pageable host side (synchronous in CUDA)  */
    long violations;       /* misuses detected (printed on stderr as they happen)           */
} mockcuda_stats;

void mockcuda_get_stats(mockcuda_stats *s);

/* Runs every queued op (as cudaDeviceSynchronize on every device). */
void mockcuda_drain(void);

/* Device memory protection (PROT_NONE outside op execution). */
void mockcuda_set_protect(int on);

/* 1 when [p, p + n) lies in one live cudaMalloc allocation. */
int mockcuda_is_device(const void *p, size_t n);
/* 1 when [p, p + n) lies in one live cudaHostAlloc / cudaHostRegister range. */
int mockcuda_is_pinned(const void *p, size_t n);

/* Copies n bytes of device memory (or any memory) at `src` to the host buffer `dst` right now,
 * without queueing anything (tests only: looks at memory the way a debugger would). */
void mockcuda_peek(void *dst, const void *src, size_t n);
/* Writes n bytes into device memory (or any memory) at `dst` right now (tests only). */
void mockcuda_poke(void *dst, const void *src, size_t n);

/* A finite memory: a cudaMalloc / cudaMallocAsync / cudaHostAlloc that would bring the live
 * device and pinned bytes above `bytes` fails with cudaErrorMemoryAllocation (0: no limit, the
 * default; environment MOCK_CUDA_MEMORY). */
void mockcuda_set_memory_limit(size_t bytes);

/* Simulated time. Off by default (ops take no time). On: every op gets a duration by its kind
 * (fixed ns + ns per byte: a kernel's packed bytes, a copy's bytes), the host's clock advances
 * by api_ns per runtime call, by each host copy of the library (its NVTX "chunk host copy"
 * ranges, with the byte count as payload: nothing without FSD_NVTX) and to the end of what it
 * waits for; an op starts when its stream, its dependencies, the host's enqueue and its engine
 * (one per kind) allow, and the scheduler runs the op that can start first. Use with eager 0. */
typedef enum mockcuda_span_kind {
    MOCKCUDA_SPAN_KERNEL = 0,
    MOCKCUDA_SPAN_H2D,
    MOCKCUDA_SPAN_D2H,
    MOCKCUDA_SPAN_COPY, /* device to device, host to host */
    MOCKCUDA_SPAN_HOST, /* a host copy of the library */
    MOCKCUDA_SPAN_KINDS
} mockcuda_span_kind;

typedef struct mockcuda_timing {
    double ns[MOCKCUDA_SPAN_KINDS];
    double ns_per_byte[MOCKCUDA_SPAN_KINDS];
    double api_ns;
} mockcuda_timing;

typedef struct mockcuda_span {
    mockcuda_span_kind kind;
    size_t bytes;
    double start, end; /* ns */
} mockcuda_span;

/* Turns simulated time on with `t` (NULL: off); clears the timeline; the host's clock at 0. */
void mockcuda_set_timing(const mockcuda_timing *t);
/* The spans run since timing was turned on, in the order they ran (at most `max`; returns how
 * many there are). */
size_t mockcuda_timeline(mockcuda_span *out, size_t max);
/* The host's simulated time, ns. */
double mockcuda_host_now(void);

/* The library's NVTX ranges (domain "fastserde", with FSD_NVTX) of one name, e.g. "chunk host
 * copy" or "frame hash", ended so far on any thread: how many, and their payloads' bytes
 * summed (timing on or off). */
uint64_t mockcuda_range_bytes(const char *name, uint64_t *count);

/* Memory pools alive (cudaMemPoolCreate'd, not destroyed). */
long mockcuda_pools(void);

/* cudaEventSynchronize calls so far on events made without cudaEventBlockingSync (a host
 * thread spinning on a core while it waits). */
long mockcuda_spin_waits(void);

/* The flags cudaHostAlloc or cudaHostRegister was given for the pinned range holding p (-1:
 * p is not pinned host memory). */
long mockcuda_host_flags(const void *p);

/* fsd_mock_runtime_kernels only: the kernels the real objects registered, and in *runnable
 * how many of them the mock can run (has an emulator for; each missing one is named on
 * stderr). */
int mockcuda_kernels_registered(int *runnable);

#ifdef __cplusplus
}
#endif

#endif
