/*
 * launch.cu — the __global__ wrappers around the step functions, and fsdk_launch, the one
 * entry from host/ (kernel_launch.h). The wrappers only map CUDA's block and thread indices
 * (and the barrier between TRANSPOSE's phases) onto the step functions. Kernels are launched
 * through fsdk_launch_kernel (launch_check.cuh): each launch reports its own error, never one
 * the caller left pending.
 */
#include "kernel_launch.h"
#include "launch_check.cuh"
#include "runs_step.cuh"
#include "transpose_step.cuh"

template <int NDIM, typename I>
__global__ void __launch_bounds__(FSD_BLOCK_THREADS, FSD_BLOCKS_PER_SM) fsd_runs_kernel(const fsd_plan p)
{
    fsd_runs_step<NDIM, I>(p, blockIdx.x, threadIdx.x);
}

template <typename I>
__global__ void __launch_bounds__(FSD_BLOCK_THREADS, FSD_BLOCKS_PER_SM) fsd_transpose_kernel(const fsd_plan p)
{
    __shared__ __align__(16) unsigned char tile[FSD_TILE_BUFFER_BYTES];
    for (I t = blockIdx.x; t < (I)p.num_tiles; t += gridDim.x) {
        fsd_transpose_load_step<I>(p, t, threadIdx.x, tile);
        __syncthreads();
        fsd_transpose_store_step<I>(p, t, threadIdx.x, tile);
        __syncthreads();
    }
}

template <typename I>
static cudaError_t launch_runs(fsd_plan &p, cudaStream_t s)
{
    const dim3 grid(p.grid), block(p.block);
    switch (p.path == FSD_PATH_GENERIC ? -1 : p.ndim) {
    case 1: return fsdk_launch_kernel(fsd_runs_kernel<1, I>, grid, block, 0, s, p);
    case 2: return fsdk_launch_kernel(fsd_runs_kernel<2, I>, grid, block, 0, s, p);
    case 3: return fsdk_launch_kernel(fsd_runs_kernel<3, I>, grid, block, 0, s, p);
    case 4: return fsdk_launch_kernel(fsd_runs_kernel<4, I>, grid, block, 0, s, p);
    default: return fsdk_launch_kernel(fsd_runs_kernel<-1, I>, grid, block, 0, s, p);
    }
}

template <typename I>
static cudaError_t launch_transpose(fsd_plan &p, cudaStream_t s)
{
    return fsdk_launch_kernel(fsd_transpose_kernel<I>, dim3(p.grid), dim3(p.block), 0, s, p);
}

extern "C" cudaError_t fsdk_launch(const fsd_plan *plan, cudaStream_t stream)
{
    fsd_plan copy = *plan; /* the kernels' parameter, passed by address */
    const fsd_plan *p = &copy;
    switch (p->path) {
    case FSD_PATH_EMPTY:
        return cudaSuccess;
    case FSD_PATH_CONTIG: {
        /* One contiguous copy. cudaMemcpyAsync rather than the runs kernel with no outer dim:
         * device to device it is the driver's tuned copy kernel, and when one side is mapped
         * pinned host memory it uses the copy engines and leaves the SMs free. */
        char *to = p->dir == FSD_DIR_PACK ? p->packed : p->strided;
        const char *from = p->dir == FSD_DIR_PACK ? p->strided : p->packed;
        return cudaMemcpyAsync(to, from, p->total_bytes, cudaMemcpyDefault, stream);
    }
    case FSD_PATH_RUNS:
    case FSD_PATH_GENERIC:
        return p->index64 ? launch_runs<uint64_t>(copy, stream) : launch_runs<uint32_t>(copy, stream);
    case FSD_PATH_TRANSPOSE:
        return p->index64 ? launch_transpose<uint64_t>(copy, stream)
                          : launch_transpose<uint32_t>(copy, stream);
    default:
        return cudaErrorInvalidValue;
    }
}
