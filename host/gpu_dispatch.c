/* gpu_dispatch.c — the GPU side of fsd_pack / fsd_unpack (see gpu_dispatch.h). */
#include "device.h"
#include "error.h"
#include "gpu_dispatch.h"
#include "kernel_launch.h"
#include "memkind.h"
#include "plan_build.h"

fsd_status fsd_gpu_execute(const fsd_layout *l, void *packed, fsd_direction dir,
                           cudaStream_t stream)
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        fsd_cuda_forget(e);
        return fsd_fail(FSD_ERROR_NO_GPU, "a CUDA tensor, but no usable GPU: cudaGetDeviceCount: %s",
                        e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
    }
    if (l->device_id < 0 || l->device_id >= count)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "device_id %d, but there are %d CUDA devices",
                        l->device_id, count);
    int prev = 0;
    fsd_status st = fsd_device_enter(l->device_id, &prev);
    if (st != FSD_SUCCESS)
        return st;
    int sms = 0;
    if ((st = fsd_check_gpu_access(packed, l->total_bytes, l->device_id,
                                   dir == FSD_DIR_PACK ? "dst" : "src")) != FSD_SUCCESS) {
        /* memory the GPU cannot reach: refused before anything is enqueued */
    } else if ((e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, l->device_id)) != cudaSuccess) {
        st = fsd_cuda_failure(e, "cudaDeviceGetAttribute");
    } else {
        fsd_plan plan;
        fsd_plan_build(l, packed, dir, (uint32_t)sms, &plan);
        if ((e = fsdk_launch(&plan, stream)) != cudaSuccess)
            st = fsd_cuda_failure(e, "kernel launch");
    }
    fsd_device_leave(l->device_id, prev);
    return st;
}
