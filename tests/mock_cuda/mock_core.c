/* mock_core.c — the stand-in runtime's state, settings, failure injection, errors and devices
 * (see mock_internal.h, README.md). */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_internal.h"

mk_state mk = {.mu = PTHREAD_MUTEX_INITIALIZER};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static _Thread_local cudaError_t last_error = cudaSuccess;
static _Thread_local int current_device = 0;

static const char *const API_NAMES[] = {
    "cudaGetDeviceCount", "cudaGetDevice", "cudaSetDevice", "cudaDeviceGetAttribute",
    "cudaStreamCreateWithFlags", "cudaStreamDestroy", "cudaStreamSynchronize",
    "cudaStreamWaitEvent", "cudaEventCreateWithFlags", "cudaEventDestroy", "cudaEventRecord",
    "cudaEventSynchronize", "cudaMemcpyAsync", "cudaMemcpy", "cudaMalloc", "cudaFree",
    "cudaHostAlloc", "cudaFreeHost", "cudaPointerGetAttributes", "cudaDeviceSynchronize",
    "fsdk_launch", "cudaMemcpyBatchAsync", "cudaMallocAsync", "cudaFreeAsync",
    "cudaMemPoolCreate", "cudaMemsetAsync",
};
_Static_assert(sizeof API_NAMES / sizeof API_NAMES[0] == MOCKCUDA_API_COUNT,
               "one name per mockcuda_api, in the enum's order");

const char *mockcuda_api_name(mockcuda_api api)
{
    return (unsigned)api < MOCKCUDA_API_COUNT ? API_NAMES[api] : "?";
}

static cudaError_t default_error(mockcuda_api api)
{
    switch (api) {
    case MOCKCUDA_MALLOC:
    case MOCKCUDA_HOST_ALLOC:
    case MOCKCUDA_MALLOC_ASYNC:
        return cudaErrorMemoryAllocation;
    case MOCKCUDA_LAUNCH:
        return cudaErrorLaunchOutOfResources;
    case MOCKCUDA_GET_DEVICE_COUNT:
        return cudaErrorNoDevice;
    default:
        return cudaErrorUnknown;
    }
}

static long env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0')
        return dflt;
    char *end;
    long x = strtol(v, &end, 0);
    return *end == '\0' ? x : dflt;
}

static void parse_failures(const char *spec)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(tok, ':');
        if (colon == NULL)
            continue;
        *colon = '\0';
        for (int a = 0; a < MOCKCUDA_API_COUNT; a++)
            if (strcmp(tok, API_NAMES[a]) == 0) {
                mk.fail_in[a] = strtol(colon + 1, NULL, 0);
                mk.fail_err[a] = default_error((mockcuda_api)a);
            }
    }
}

static void init(void)
{
    mk.devices = (int)env_long("MOCK_CUDA_DEVICES", 1);
    if (mk.devices < 0 || mk.devices > MK_MAX_DEVICES)
        mk.devices = 1;
    mk.rng = (uint64_t)env_long("MOCK_CUDA_SEED", 1);
    mk.eager = (int)env_long("MOCK_CUDA_EAGER", 25);
    mk.sms = (int)env_long("MOCK_CUDA_SMS", 3);
    if (mk.sms < 1)
        mk.sms = 1;
    mk.protect = (int)env_long("MOCK_CUDA_PROTECT", 1) != 0;
    mk.verbose = (int)env_long("MOCK_CUDA_VERBOSE", 0) != 0;
    mk.memory_limit = (size_t)env_long("MOCK_CUDA_MEMORY", 0);
    const char *f = getenv("MOCK_CUDA_FAIL");
    if (f != NULL)
        parse_failures(f);
    mk_memory_init();
    mk_streams_reset();
}

void mk_lock(void)
{
    pthread_once(&once, init);
    pthread_mutex_lock(&mk.mu);
}

void mk_unlock(void) { pthread_mutex_unlock(&mk.mu); }

uint64_t mk_rand(void)
{
    uint64_t z = (mk.rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

cudaError_t mk_enter(mockcuda_api api)
{
    mk_lock();
    mk.calls[api]++;
    mk_time_call();
    if (mk.fail_in[api] > 0 && --mk.fail_in[api] == 0) {
        mk.fired = 1;
        mk_trace("injected failure: call %ld of %s", mk.calls[api], API_NAMES[api]);
        return mk.fail_err[api];
    }
    if (mk.eager > 0 && (int)(mk_rand() % 100) < mk.eager)
        mk_progress(1 + (int)(mk_rand() % 3));
    return cudaSuccess;
}

cudaError_t mk_leave(cudaError_t e)
{
    if (e != cudaSuccess)
        last_error = e;
    mk_unlock();
    return e;
}

void mk_violation(const char *fmt, ...)
{
    mk.violations++;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mock_cuda: VIOLATION: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

void mk_trace(const char *fmt, ...)
{
    if (!mk.verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mock_cuda: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

int mk_current_device(void) { return current_device; }

/* ------------------------------------------------------------------------------------------ */
/* Test controls                                                                               */

int mockcuda_set_devices(int n)
{
    mk_lock();
    int ok = n >= 0 && n <= MK_MAX_DEVICES && mk.nallocs == 0 && mk.nevents == 0 &&
             mk_live_streams() == 0 && mk.pending == 0;
    if (ok) {
        mk.devices = n;
        current_device = 0;
        mk_streams_reset();
    }
    mk_unlock();
    return ok ? 0 : -1;
}

void mockcuda_set_seed(uint64_t seed)
{
    mk_lock();
    mk.rng = seed;
    mk_unlock();
}

void mockcuda_set_eager(int percent)
{
    mk_lock();
    mk.eager = percent < 0 ? 0 : percent > 100 ? 100 : percent;
    mk_unlock();
}

void mockcuda_set_sm_count(int sms)
{
    mk_lock();
    mk.sms = sms < 1 ? 1 : sms;
    mk_unlock();
}

void mockcuda_fail_nth(mockcuda_api api, long n, cudaError_t error)
{
    mk_lock();
    mk.fail_in[api] = n;
    mk.fail_err[api] = error == cudaSuccess ? default_error(api) : error;
    mk.fired = 0;
    mk_unlock();
}

void mockcuda_fail_none(void)
{
    mk_lock();
    for (int a = 0; a < MOCKCUDA_API_COUNT; a++)
        mk.fail_in[a] = 0;
    mk.fired = 0;
    mk_unlock();
}

int mockcuda_fail_fired(void)
{
    mk_lock();
    int f = mk.fired;
    mk_unlock();
    return f;
}

long mockcuda_calls(mockcuda_api api)
{
    mk_lock();
    long c = mk.calls[api];
    mk_unlock();
    return c;
}

void mockcuda_get_stats(mockcuda_stats *s)
{
    mk_lock();
    memset(s, 0, sizeof *s);
    for (int i = 0; i < mk.nallocs; i++) {
        const mk_alloc *a = &mk.allocs[i];
        if (a->kind == MK_MEM_DEVICE) {
            s->device_allocs++;
            s->device_bytes += a->size;
        } else if (a->kind == MK_MEM_PINNED) {
            s->pinned_allocs++;
            s->pinned_bytes += a->size;
        } else {
            s->registered++;
        }
    }
    s->streams = mk_live_streams();
    s->events = mk.nevents;
    s->pending_ops = mk.pending;
    s->executed_ops = mk.executed;
    s->kernels = mk.kernels;
    s->pageable_copies = mk.pageable;
    s->violations = mk.violations;
    mk_unlock();
}

void mockcuda_set_memory_limit(size_t bytes)
{
    mk_lock();
    mk.memory_limit = bytes;
    mk_unlock();
}

long mockcuda_spin_waits(void)
{
    mk_lock();
    long n = mk.spin_waits;
    mk_unlock();
    return n;
}

/* ------------------------------------------------------------------------------------------ */
/* Errors and devices                                                                          */

cudaError_t cudaGetLastError(void)
{
    cudaError_t e = last_error;
    last_error = cudaSuccess;
    return e;
}

cudaError_t cudaPeekAtLastError(void) { return last_error; }

const char *cudaGetErrorName(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    case cudaErrorLaunchOutOfResources: return "cudaErrorLaunchOutOfResources";
    case cudaErrorUnknown: return "cudaErrorUnknown";
    case cudaErrorNotSupported: return "cudaErrorNotSupported";
    case cudaErrorIllegalState: return "cudaErrorIllegalState";
    case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
    case cudaErrorStreamCaptureInvalidated: return "cudaErrorStreamCaptureInvalidated";
    case cudaErrorStreamCaptureUnmatched: return "cudaErrorStreamCaptureUnmatched";
    case cudaErrorStreamCaptureUnjoined: return "cudaErrorStreamCaptureUnjoined";
    case cudaErrorStreamCaptureIsolation: return "cudaErrorStreamCaptureIsolation";
    case cudaErrorStreamCaptureImplicit: return "cudaErrorStreamCaptureImplicit";
    case cudaErrorCapturedEvent: return "cudaErrorCapturedEvent";
    case cudaErrorStreamCaptureWrongThread: return "cudaErrorStreamCaptureWrongThread";
    default: return "cudaError (mock: unnamed)";
    }
}

const char *cudaGetErrorString(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument (mock)";
    case cudaErrorMemoryAllocation: return "out of memory (mock)";
    case cudaErrorInvalidDevice: return "invalid device ordinal (mock)";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected (mock)";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle (mock)";
    case cudaErrorNotReady: return "device not ready (mock)";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered (mock)";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch (mock)";
    case cudaErrorUnknown: return "unknown error (mock)";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing (mock)";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture (mock)";
    case cudaErrorStreamCaptureUnjoined: return "capture sequence contains a fork that was not joined to the primary stream (mock)";
    case cudaErrorStreamCaptureIsolation: return "dependency created on uncaptured work in another stream (mock)";
    case cudaErrorStreamCaptureImplicit: return "operation would make the legacy stream depend on a capturing blocking stream (mock)";
    case cudaErrorCapturedEvent: return "operation not permitted on an event last recorded in a capturing stream (mock)";
    default: return "unrecognized error code (mock)";
    }
}

cudaError_t cudaGetDeviceCount(int *count)
{
    cudaError_t e = mk_enter(MOCKCUDA_GET_DEVICE_COUNT);
    if (count == NULL && e == cudaSuccess)
        e = cudaErrorInvalidValue;
    if (count != NULL)
        *count = 0;
    if (e == cudaSuccess && mk.devices == 0)
        e = cudaErrorNoDevice;
    if (e == cudaSuccess)
        *count = mk.devices;
    return mk_leave(e);
}

cudaError_t cudaGetDevice(int *device)
{
    cudaError_t e = mk_enter(MOCKCUDA_GET_DEVICE);
    if (e == cudaSuccess && device == NULL)
        e = cudaErrorInvalidValue;
    if (e == cudaSuccess && mk.devices == 0)
        e = cudaErrorNoDevice;
    if (e == cudaSuccess)
        *device = current_device;
    return mk_leave(e);
}

cudaError_t cudaSetDevice(int device)
{
    cudaError_t e = mk_enter(MOCKCUDA_SET_DEVICE);
    if (e == cudaSuccess && mk.devices == 0)
        e = cudaErrorNoDevice;
    if (e == cudaSuccess && (device < 0 || device >= mk.devices))
        e = cudaErrorInvalidDevice;
    if (e == cudaSuccess)
        current_device = device;
    return mk_leave(e);
}

cudaError_t cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr, int device)
{
    cudaError_t e = mk_enter(MOCKCUDA_DEVICE_GET_ATTRIBUTE);
    if (e == cudaSuccess && value == NULL)
        e = cudaErrorInvalidValue;
    if (e == cudaSuccess && (device < 0 || device >= mk.devices))
        e = cudaErrorInvalidDevice;
    if (e == cudaSuccess) {
        switch (attr) {
        case cudaDevAttrMultiProcessorCount: *value = mk.sms; break;
        case cudaDevAttrWarpSize: *value = 32; break;
        case cudaDevAttrMaxThreadsPerBlock: *value = 1024; break;
        case cudaDevAttrUnifiedAddressing: *value = 1; break;
        case cudaDevAttrCanMapHostMemory: *value = 1; break;
        case cudaDevAttrMemoryPoolsSupported: *value = 1; break;
        case cudaDevAttrPageableMemoryAccess: *value = 0; break;
        case cudaDevAttrL2CacheSize: *value = 50 << 20; break; /* an H100's or H200's */
        default: e = cudaErrorInvalidValue; break;
        }
    }
    return mk_leave(e);
}

/* Bus ids no machine has (so that sysfs knows nothing of them: no NUMA node). */
cudaError_t cudaDeviceGetPCIBusId(char *bus, int len, int device)
{
    mk_lock();
    if (bus == NULL || len < 13)
        return mk_leave(cudaErrorInvalidValue);
    if (device < 0 || device >= mk.devices)
        return mk_leave(mk.devices == 0 ? cudaErrorNoDevice : cudaErrorInvalidDevice);
    snprintf(bus, (size_t)len, "0000:F%X:1F.7", device & 0xF);
    return mk_leave(cudaSuccess);
}

/* ------------------------------------------------------------------------------------------ */
/* nvcc's host stubs in emulated_grid.cu register a (kernel-free) fat binary at start-up.       */

void **__cudaRegisterFatBinary(void *fat_cubin);
void __cudaRegisterFatBinaryEnd(void **handle);
void __cudaUnregisterFatBinary(void **handle);

static void *fat_binary_handle;

void **__cudaRegisterFatBinary(void *fat_cubin)
{
    (void)fat_cubin;
    return &fat_binary_handle;
}

void __cudaRegisterFatBinaryEnd(void **handle) { (void)handle; }

void __cudaUnregisterFatBinary(void **handle) { (void)handle; }

/* And their __constant__ variables (XXH3's secret, kernels/xxh3_leaf.cuh): device code only
 * reads them, and the host code of the emulated grid uses its own copy, so nothing to do. */
void __cudaRegisterVar(void **handle, char *host_var, char *device_address, const char *device_name,
                       int ext, size_t size, int constant, int global);

void __cudaRegisterVar(void **handle, char *host_var, char *device_address, const char *device_name,
                       int ext, size_t size, int constant, int global)
{
    (void)handle, (void)host_var, (void)device_address, (void)device_name, (void)ext, (void)size,
        (void)constant, (void)global;
}
