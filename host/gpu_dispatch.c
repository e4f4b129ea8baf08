/* gpu_dispatch.c — the GPU side of fsd_pack / fsd_unpack (see gpu_dispatch.h). */
#include "error.h"
#include "gpu_dispatch.h"
#include "kernel_launch.h"
#include "plan_build.h"

/* A failed runtime call: clear the sticky error and say which call failed. */
static fsd_status cuda_failure(cudaError_t e, const char *call)
{
    (void)cudaGetLastError();
    if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver)
        return fsd_fail(FSD_ERROR_NO_GPU, "%s: %s", call, cudaGetErrorString(e));
    if (e == cudaErrorMemoryAllocation)
        return fsd_fail(FSD_ERROR_OUT_OF_MEMORY, "%s: %s", call, cudaGetErrorString(e));
    return fsd_fail(FSD_ERROR_CUDA, "%s: %s (%d)", call, cudaGetErrorString(e), (int)e);
}

fsd_status fsd_gpu_execute(const fsd_layout *l, void *packed, fsd_direction dir,
                           cudaStream_t stream)
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        (void)cudaGetLastError();
        return fsd_fail(FSD_ERROR_NO_GPU, "a CUDA tensor, but no usable GPU: cudaGetDeviceCount: %s",
                        e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
    }
    if (l->device_id < 0 || l->device_id >= count)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "device_id %d, but there are %d CUDA devices",
                        l->device_id, count);
    int prev = 0;
    if ((e = cudaGetDevice(&prev)) != cudaSuccess)
        return cuda_failure(e, "cudaGetDevice");
    if (prev != l->device_id && (e = cudaSetDevice(l->device_id)) != cudaSuccess)
        return cuda_failure(e, "cudaSetDevice");

    fsd_status st = FSD_SUCCESS;
    int sms = 0;
    if ((e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, l->device_id)) != cudaSuccess) {
        st = cuda_failure(e, "cudaDeviceGetAttribute");
    } else {
        fsd_plan plan;
        fsd_plan_build(l, packed, dir, (uint32_t)sms, &plan);
        if ((e = fsdk_launch(&plan, stream)) != cudaSuccess)
            st = cuda_failure(e, "kernel launch");
    }
    if (prev != l->device_id)
        (void)cudaSetDevice(prev);
    return st;
}
