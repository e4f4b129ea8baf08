/*
 * launch.cu — the __global__ wrappers around the step functions, and fsdk_launch, the one
 * entry from host/ (kernel_launch.h). The wrappers only map CUDA's block and thread indices
 * (and the barrier between TRANSPOSE's phases) onto the step functions.
 */
#include "kernel_launch.h"
#include "runs_step.cuh"
#include "transpose16_step.cuh"
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

template <uint32_t E, typename I>
__global__ void __launch_bounds__(FSD_BLOCK_THREADS, FSD_BLOCKS_PER_SM) fsd_transpose16_kernel(const fsd_plan p)
{
    __shared__ __align__(16) unsigned char tile[FSD_T16_TILE_BYTES];
    for (I t = blockIdx.x; t < (I)p.num_tiles; t += gridDim.x) {
        const fsd_t16_tile o = fsd_t16_tile_of<E, I>(p, t);
        fsd_transpose16_load_step<E>(o, threadIdx.x, tile);
        __syncthreads();
        fsd_transpose16_store_step<E>(o, threadIdx.x, tile);
        __syncthreads();
    }
}

template <typename I>
static void launch_transpose16(const fsd_plan &p, cudaStream_t s)
{
    const dim3 grid(p.grid), block(p.block);
    switch (p.elem_size) {
    case 1: fsd_transpose16_kernel<1, I><<<grid, block, 0, s>>>(p); break;
    case 2: fsd_transpose16_kernel<2, I><<<grid, block, 0, s>>>(p); break;
    case 4: fsd_transpose16_kernel<4, I><<<grid, block, 0, s>>>(p); break;
    case 8: fsd_transpose16_kernel<8, I><<<grid, block, 0, s>>>(p); break;
    default: fsd_transpose16_kernel<16, I><<<grid, block, 0, s>>>(p); break;
    }
}

template <typename I>
static void launch_runs(const fsd_plan &p, cudaStream_t s)
{
    const dim3 grid(p.grid), block(p.block);
    switch (p.path == FSD_PATH_GENERIC ? -1 : p.ndim) {
    case 1: fsd_runs_kernel<1, I><<<grid, block, 0, s>>>(p); break;
    case 2: fsd_runs_kernel<2, I><<<grid, block, 0, s>>>(p); break;
    case 3: fsd_runs_kernel<3, I><<<grid, block, 0, s>>>(p); break;
    case 4: fsd_runs_kernel<4, I><<<grid, block, 0, s>>>(p); break;
    default: fsd_runs_kernel<-1, I><<<grid, block, 0, s>>>(p); break;
    }
}

extern "C" cudaError_t fsdk_launch(const fsd_plan *p, cudaStream_t stream)
{
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
        if (p->index64)
            launch_runs<uint64_t>(*p, stream);
        else
            launch_runs<uint32_t>(*p, stream);
        break;
    case FSD_PATH_TRANSPOSE:
        if (p->tiles16 && p->index64)
            launch_transpose16<uint64_t>(*p, stream);
        else if (p->tiles16)
            launch_transpose16<uint32_t>(*p, stream);
        else if (p->index64)
            fsd_transpose_kernel<uint64_t><<<p->grid, p->block, 0, stream>>>(*p);
        else
            fsd_transpose_kernel<uint32_t><<<p->grid, p->block, 0, stream>>>(*p);
        break;
    default:
        return cudaErrorInvalidValue;
    }
    return cudaPeekAtLastError();
}
