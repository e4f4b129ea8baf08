/* device.c — saving and restoring the current CUDA device (see device.h). */
#include "device.h"
#include "error.h"

fsd_status fsd_device_enter(int device, int *prev)
{
    cudaError_t e = cudaGetDevice(prev);
    if (e != cudaSuccess)
        return fsd_cuda_failure(e, "cudaGetDevice");
    if (*prev != device && (e = cudaSetDevice(device)) != cudaSuccess)
        return fsd_cuda_failure(e, "cudaSetDevice");
    return FSD_SUCCESS;
}

void fsd_device_leave(int device, int prev)
{
    if (prev != device)
        fsd_cuda_forget(cudaSetDevice(prev));
}
