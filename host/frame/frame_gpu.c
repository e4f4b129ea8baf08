/*
 * frame_gpu.c — the data of a frame of CUDA tensors (fsd_frame_write): each tensor packed by
 * the GPU on the caller's stream into memory the GPU reaches, its checksum's S computed by the
 * same kernel (the checksum pack, kernels/checksum_step.cuh), then the sums brought back to
 * the host, which finishes the checksums and writes the header.
 */

#include "device.h"
#include "error.h"
#include "frame.h"
#include "gpu_dispatch.h"
#include "memkind.h"

fsd_status fsd_frame_pack_gpu(const fsd_layout *layouts, size_t count, char *data, int checksum,
                              uint64_t *sums, cudaStream_t stream)
{
    if (count == 0)
        return FSD_SUCCESS;
    const int device = layouts[0].device_id;
    int prev = 0;
    uint32_t sms = 0;
    fsd_status st = fsd_gpu_enter(device, &prev, &sms);
    if (st != FSD_SUCCESS)
        return st;
    cudaError_t e = cudaSuccess;
    uint64_t *scratch = NULL;
    if (checksum) { /* the sums, zeroed, in device memory on the stream */
        if ((e = cudaMallocAsync((void **)&scratch, count * sizeof *scratch, stream)) != cudaSuccess) {
            scratch = NULL;
            st = fsd_cuda_failure(e, "cudaMallocAsync (checksum sums)");
        } else if ((e = cudaMemsetAsync(scratch, 0, count * sizeof *scratch, stream)) != cudaSuccess) {
            st = fsd_cuda_failure(e, "cudaMemsetAsync (checksum sums)");
        }
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < count && st == FSD_SUCCESS; i++) {
        if (checksum)
            st = fsd_gpu_pack_checksum(&layouts[i], data + offset, scratch + i, stream);
        else
            st = fsd_gpu_execute(&layouts[i], data + offset, FSD_DIR_PACK, stream);
        offset += layouts[i].total_bytes;
    }
    if (st == FSD_SUCCESS && checksum &&
        (e = cudaMemcpyAsync(sums, scratch, count * sizeof *sums, cudaMemcpyDeviceToHost, stream)) != cudaSuccess)
        st = fsd_cuda_failure(e, "cudaMemcpyAsync (checksum sums)");
    if (scratch != NULL && (e = cudaFreeAsync(scratch, stream)) != cudaSuccess && st == FSD_SUCCESS)
        st = fsd_cuda_failure(e, "cudaFreeAsync (checksum sums)");
    /* Whatever was enqueued has finished before returning (also after a failure). */
    if ((e = cudaStreamSynchronize(stream)) != cudaSuccess && st == FSD_SUCCESS)
        st = fsd_cuda_failure(e, "cudaStreamSynchronize");
    fsd_device_leave(device, prev);
    return st;
}

fsd_status fsd_frame_put_gpu(int device, void *dst, const void *src, size_t n, cudaStream_t stream)
{
    int prev = 0;
    uint32_t sms = 0;
    fsd_status st = fsd_gpu_enter(device, &prev, &sms);
    if (st != FSD_SUCCESS)
        return st;
    /* Default: dst is device memory or pinned host memory (the runtime tells them apart). */
    cudaError_t e = cudaMemcpyAsync(dst, src, n, cudaMemcpyDefault, stream);
    if (e != cudaSuccess)
        st = fsd_cuda_failure(e, "cudaMemcpyAsync (frame header)");
    if ((e = cudaStreamSynchronize(stream)) != cudaSuccess && st == FSD_SUCCESS)
        st = fsd_cuda_failure(e, "cudaStreamSynchronize");
    fsd_device_leave(device, prev);
    return st;
}
