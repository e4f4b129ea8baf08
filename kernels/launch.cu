/*
 * launch.cu — the __global__ wrappers around the step functions, and fsdk_launch, the one
 * entry from host/ (kernel_launch.h). The wrappers only map CUDA's block and thread indices
 * (and the barrier between TRANSPOSE's phases) onto the step functions. Kernels are launched
 * through fsdk_launch_kernel (launch_check.cuh): each launch reports its own error, never one
 * the caller left pending.
 */
#include "kernel_args.cuh"
#include "kernel_launch.h"
#include "launch_check.cuh"
#include "runs_step.cuh"
#include "transpose16_step.cuh"
#include "transpose_step.cuh"

/* The parameters are the path's argument struct (kernel_args.cuh), not the plan: a few hundred
 * bytes instead of ~3.3 KB, copied at every launch. D: outer dims it has room for. */
template <int NDIM, typename I, int D>
__global__ void __launch_bounds__(FSD_BLOCK_THREADS, FSD_BLOCKS_PER_SM) fsd_runs_kernel(const fsd_runs_args<D> a)
{
    fsd_runs_step<NDIM, I>(a, blockIdx.x, threadIdx.x);
}

template <typename I, int D>
__global__ void __launch_bounds__(FSD_BLOCK_THREADS, FSD_BLOCKS_PER_SM) fsd_transpose_kernel(const fsd_transpose_args<D> a)
{
    __shared__ __align__(16) unsigned char tile[FSD_TILE_BUFFER_BYTES];
    for (I t = blockIdx.x; t < (I)a.num_tiles; t += gridDim.x) {
        fsd_transpose_load_step<I>(a, t, threadIdx.x, tile);
        __syncthreads();
        fsd_transpose_store_step<I>(a, t, threadIdx.x, tile);
        __syncthreads();
    }
}

template <uint32_t E, typename I, int D>
__global__ void __launch_bounds__(FSD_BLOCK_THREADS, FSD_BLOCKS_PER_SM) fsd_transpose16_kernel(const fsd_transpose_args<D> a)
{
    __shared__ __align__(16) unsigned char tile[FSD_T16_TILE_BYTES];
    for (I t = blockIdx.x; t < (I)a.num_tiles; t += gridDim.x) {
        const fsd_t16_tile o = fsd_t16_tile_of<E, I>(a, t);
        fsd_transpose16_load_step<E>(o, threadIdx.x, tile);
        __syncthreads();
        fsd_transpose16_store_step<E>(o, threadIdx.x, tile);
        __syncthreads();
    }
}

template <typename I, int D>
static cudaError_t launch_transpose(const fsd_plan &p, cudaStream_t s)
{
    fsd_transpose_args<D> a = fsd_transpose_args_of<D>(p);
    const dim3 grid(p.grid), block(p.block);
    if (!p.tiles16)
        return fsdk_launch_kernel(fsd_transpose_kernel<I, D>, grid, block, 0, s, a);
    switch (p.elem_size) {
    case 1: return fsdk_launch_kernel(fsd_transpose16_kernel<1, I, D>, grid, block, 0, s, a);
    case 2: return fsdk_launch_kernel(fsd_transpose16_kernel<2, I, D>, grid, block, 0, s, a);
    case 4: return fsdk_launch_kernel(fsd_transpose16_kernel<4, I, D>, grid, block, 0, s, a);
    case 8: return fsdk_launch_kernel(fsd_transpose16_kernel<8, I, D>, grid, block, 0, s, a);
    default: return fsdk_launch_kernel(fsd_transpose16_kernel<16, I, D>, grid, block, 0, s, a);
    }
}

template <typename I, int D>
static cudaError_t launch_generic(const fsd_plan &p, cudaStream_t s)
{
    fsd_runs_args<D> a = fsd_runs_args_of<D>(p);
    return fsdk_launch_kernel(fsd_runs_kernel<-1, I, D>, dim3(p.grid), dim3(p.block), 0, s, a);
}

template <typename I>
static cudaError_t launch_runs(const fsd_plan &p, cudaStream_t s)
{
    if (p.path == FSD_PATH_GENERIC)
        return p.ndim <= 16 ? launch_generic<I, 16>(p, s) : launch_generic<I, FSD_PLAN_MAX_DIMS>(p, s);
    fsd_runs_args<FSD_RUNS_MAX_DIMS> a = fsd_runs_args_of<FSD_RUNS_MAX_DIMS>(p);
    const dim3 grid(p.grid), block(p.block);
    switch (p.ndim) {
    case 1: return fsdk_launch_kernel(fsd_runs_kernel<1, I, FSD_RUNS_MAX_DIMS>, grid, block, 0, s, a);
    case 2: return fsdk_launch_kernel(fsd_runs_kernel<2, I, FSD_RUNS_MAX_DIMS>, grid, block, 0, s, a);
    case 3: return fsdk_launch_kernel(fsd_runs_kernel<3, I, FSD_RUNS_MAX_DIMS>, grid, block, 0, s, a);
    default: return fsdk_launch_kernel(fsd_runs_kernel<4, I, FSD_RUNS_MAX_DIMS>, grid, block, 0, s, a);
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
        return p->index64 ? launch_runs<uint64_t>(*p, stream) : launch_runs<uint32_t>(*p, stream);
    case FSD_PATH_TRANSPOSE:
        if (p->ndim <= 4)
            return p->index64 ? launch_transpose<uint64_t, 4>(*p, stream)
                              : launch_transpose<uint32_t, 4>(*p, stream);
        return p->index64 ? launch_transpose<uint64_t, FSD_PLAN_MAX_DIMS>(*p, stream)
                          : launch_transpose<uint32_t, FSD_PLAN_MAX_DIMS>(*p, stream);
    default:
        return cudaErrorInvalidValue;
    }
}
