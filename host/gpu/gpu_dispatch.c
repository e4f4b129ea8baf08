/* gpu_dispatch.c — the GPU side of fsd_pack / fsd_unpack (see gpu_dispatch.h). */
#include <stdatomic.h>

#include "device.h"
#include "error.h"
#include "gpu_dispatch.h"
#include "kernel_launch.h"
#include "memkind.h"
#include "plan_build.h"

/*
 * What a call asks the runtime. The current device, to put it back afterwards: every call (it
 * is the calling thread's, and may change). The device count: only to explain a failure, never
 * on the way to a launch (a device that cudaSetDevice accepts exists). The multiprocessor count
 * of the tensor's device: once per device and process, in the table below.
 *
 * The table is the library's only process-wide state: one int per device index, 0 until the
 * first call on that device stores the count the runtime gave. A device's multiprocessor count
 * does not change while the process runs (a MIG instance or CUDA_VISIBLE_DEVICES is fixed when
 * the runtime starts). Threads racing on a first call both ask and both store the same value,
 * so relaxed atomics suffice. Devices beyond the table are asked every time.
 */
#define FSD_CACHED_DEVICES 64
static _Atomic int sm_counts[FSD_CACHED_DEVICES];

static cudaError_t multiprocessors(int device, int *sms)
{
    if (device < FSD_CACHED_DEVICES) {
        int v = atomic_load_explicit(&sm_counts[device], memory_order_relaxed);
        if (v > 0) {
            *sms = v;
            return cudaSuccess;
        }
    }
    cudaError_t e = cudaDeviceGetAttribute(sms, cudaDevAttrMultiProcessorCount, device);
    if (e == cudaSuccess && *sms > 0 && device < FSD_CACHED_DEVICES)
        atomic_store_explicit(&sm_counts[device], *sms, memory_order_relaxed);
    return e;
}

/* After `call` failed with `e` (cudaSuccess: no call was made, the index is negative): no
 * usable GPU at all (FSD_ERROR_NO_GPU), a device index out of range
 * (FSD_ERROR_INVALID_ARGUMENT), or that call's failure. The runtime's last error is forgotten
 * only where it is fastserde's own (fsd_cuda_forget). */
static fsd_status explain(cudaError_t e, const char *call, int device)
{
    fsd_cuda_forget(e);
    int count = 0;
    cudaError_t ce = cudaGetDeviceCount(&count);
    if (ce != cudaSuccess || count == 0) {
        fsd_cuda_forget(ce);
        return fsd_fail(FSD_ERROR_NO_GPU, "a CUDA tensor, but no usable GPU: cudaGetDeviceCount: %s",
                        ce != cudaSuccess ? cudaGetErrorString(ce) : "0 devices");
    }
    if (device < 0 || device >= count)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "device_id %d, but there are %d CUDA devices",
                        device, count);
    return fsd_cuda_failure(e, call);
}

fsd_status fsd_gpu_enter(int device, int *prev, uint32_t *sm_count)
{
    if (device < 0)
        return explain(cudaSuccess, "cudaSetDevice", device);
    cudaError_t e = cudaGetDevice(prev);
    if (e != cudaSuccess)
        return explain(e, "cudaGetDevice", device);
    if (*prev != device && (e = cudaSetDevice(device)) != cudaSuccess)
        return explain(e, "cudaSetDevice", device);
    int sms = 0;
    if ((e = multiprocessors(device, &sms)) != cudaSuccess) {
        fsd_status st = explain(e, "cudaDeviceGetAttribute", device);
        fsd_device_leave(device, *prev);
        return st;
    }
    *sm_count = (uint32_t)sms;
    return FSD_SUCCESS;
}

/* The one launch path of both entries below: on the layout's device, the memory checked before
 * anything is enqueued, then the plain kernel or (sum not NULL) the checksum pack. */
static fsd_status launch_on_device(const fsd_layout *l, void *packed, fsd_direction dir,
                                   uint64_t *sum, cudaStream_t stream)
{
    int prev = 0;
    uint32_t sms = 0;
    fsd_status st = fsd_gpu_enter(l->device_id, &prev, &sms);
    if (st != FSD_SUCCESS)
        return st;
    /* Memory the GPU cannot reach is refused before anything is enqueued. */
    st = fsd_check_gpu_access(packed, l->total_bytes, l->device_id, dir == FSD_DIR_PACK ? "dst" : "src");
    if (st == FSD_SUCCESS && sum != NULL)
        st = fsd_check_gpu_access(sum, sizeof *sum, l->device_id, "checksum sum");
    if (st == FSD_SUCCESS) {
        fsd_plan plan;
        fsd_plan_build(l, packed, dir, sms, &plan);
        cudaError_t e;
        if (sum != NULL) {
            fsd_plan_checksum(&plan, sms);
            e = fsdk_launch_checksum(&plan, sum, stream);
        } else {
            e = fsdk_launch(&plan, stream);
        }
        if (e != cudaSuccess)
            st = fsd_cuda_failure(e, sum != NULL ? "checksum kernel launch" : "kernel launch");
    }
    fsd_device_leave(l->device_id, prev);
    return st;
}

fsd_status fsd_gpu_execute(const fsd_layout *l, void *packed, fsd_direction dir,
                           cudaStream_t stream)
{
    return launch_on_device(l, packed, dir, NULL, stream);
}

fsd_status fsd_gpu_pack_checksum(const fsd_layout *l, void *packed, uint64_t *sum,
                                 cudaStream_t stream)
{
    return launch_on_device(l, packed, FSD_DIR_PACK, sum, stream);
}
