/* gpu_dispatch.c — the GPU side of fsd_pack / fsd_unpack (see gpu_dispatch.h). */
#include "device.h"
#include "error.h"
#include "gpu_dispatch.h"
#include "kernel_launch.h"
#include "plan_build.h"

fsd_status fsd_gpu_enter(int device_id, int *prev, uint32_t *sm_count)
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        (void)cudaGetLastError();
        return fsd_fail(FSD_ERROR_NO_GPU, "a CUDA tensor, but no usable GPU: cudaGetDeviceCount: %s",
                        e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
    }
    if (device_id < 0 || device_id >= count)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "device_id %d, but there are %d CUDA devices",
                        device_id, count);
    fsd_status st = fsd_device_enter(device_id, prev);
    if (st != FSD_SUCCESS)
        return st;
    int sms = 0;
    if ((e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device_id)) != cudaSuccess) {
        fsd_device_leave(device_id, *prev);
        return fsd_cuda_failure(e, "cudaDeviceGetAttribute");
    }
    *sm_count = (uint32_t)sms;
    return FSD_SUCCESS;
}

fsd_status fsd_gpu_execute(const fsd_layout *l, void *packed, fsd_direction dir,
                           cudaStream_t stream)
{
    int prev = 0;
    uint32_t sms = 0;
    fsd_status st = fsd_gpu_enter(l->device_id, &prev, &sms);
    if (st != FSD_SUCCESS)
        return st;
    fsd_plan plan;
    fsd_plan_build(l, packed, dir, sms, &plan);
    cudaError_t e = fsdk_launch(&plan, stream);
    if (e != cudaSuccess)
        st = fsd_cuda_failure(e, "kernel launch");
    fsd_device_leave(l->device_id, prev);
    return st;
}
