/*
 * checksum_launch.cu — the checksum pack's __global__ wrapper around its step functions
 * (checksum_step.cuh) and fsdk_launch_checksum (kernel_launch.h). The wrapper maps CUDA's block
 * and thread indices onto the step functions, puts the barriers between their phases, and adds
 * each thread's sum of leaf terms to S once at the end.
 */
#include "checksum_step.cuh"
#include "checksum_transpose_step.cuh"
#include "kernel_args.cuh"
#include "kernel_launch.h"
#include "launch_check.cuh"

template <uint32_t W, typename I, int D>
__global__ void __launch_bounds__(FSD_BLOCK_THREADS, FSD_BLOCKS_PER_SM) fsd_cs_kernel(const fsd_cs_args<D> a)
{
    __shared__ __align__(16) unsigned char tile[FSD_CS_TILE];
    const fsd_cs_keys k = fsd_cs_keys_of(threadIdx.x);
    uint64_t sum = 0;
    for (uint64_t t = blockIdx.x; t < a.num_tiles; t += gridDim.x) {
        const fsd_cs_tile tl = fsd_cs_runs_tile(a, t);
        fsd_cs_gather_step<typename fsd_cs_word<W>::type, I>(a, t, threadIdx.x, tile);
        __syncthreads();
        fsd_cs_hash_step<0>(a, tl, threadIdx.x, tile, k);
        __syncthreads();
        fsd_cs_pairs_step<0>(tl, threadIdx.x, tile);
        __syncthreads();
        sum += fsd_cs_leaf_step<0>(tl, threadIdx.x, tile);
        __syncthreads();
    }
    if (threadIdx.x < FSD_CS_LEAVES)
        fsd_cs_add_sum(a.sum, sum);
}

/* The transpose tiles (checksum_transpose_step.cuh): elements of E bytes. */
template <uint32_t E, typename I, int D>
__global__ void __launch_bounds__(FSD_BLOCK_THREADS, FSD_BLOCKS_PER_SM) fsd_cst_kernel(const fsd_cs_args<D> a)
{
    __shared__ __align__(16) unsigned char tile[FSD_CS_TILE];
    const fsd_cs_keys k = fsd_cs_keys_of(threadIdx.x);
    uint64_t sum = 0;
    for (uint64_t t = blockIdx.x; t < a.num_tiles; t += gridDim.x) {
        const fsd_cst_tile o = fsd_cst_tile_of<E, I>(a, t);
        fsd_cst_gather_step<E>(o, threadIdx.x, tile);
        __syncthreads();
        fsd_cs_hash_step<1>(a, o.t, threadIdx.x, tile, k);
        __syncthreads();
        fsd_cs_pairs_step<1>(o.t, threadIdx.x, tile);
        __syncthreads();
        sum += fsd_cs_leaf_step<1>(o.t, threadIdx.x, tile);
        __syncthreads();
    }
    if (threadIdx.x < FSD_CS_LEAVES)
        fsd_cs_add_sum(a.sum, sum);
}

template <typename I, int D>
static cudaError_t launch_cs(const fsd_plan &p, unsigned long long *sum, cudaStream_t s)
{
    fsd_cs_args<D> a = fsd_cs_args_of<D>(p, sum);
    const dim3 grid(p.cs_grid), block(p.block);
    switch (p.cs_word) {
    case 16: return fsdk_launch_kernel(fsd_cs_kernel<16, I, D>, grid, block, 0, s, a);
    case 8: return fsdk_launch_kernel(fsd_cs_kernel<8, I, D>, grid, block, 0, s, a);
    case 4: return fsdk_launch_kernel(fsd_cs_kernel<4, I, D>, grid, block, 0, s, a);
    case 2: return fsdk_launch_kernel(fsd_cs_kernel<2, I, D>, grid, block, 0, s, a);
    default: return fsdk_launch_kernel(fsd_cs_kernel<1, I, D>, grid, block, 0, s, a);
    }
}

template <typename I, int D>
static cudaError_t launch_cst(const fsd_plan &p, unsigned long long *sum, cudaStream_t s)
{
    fsd_cs_args<D> a = fsd_cs_args_of<D>(p, sum);
    const dim3 grid(p.cs_grid), block(p.block);
    switch (p.elem_size) {
    case 1: return fsdk_launch_kernel(fsd_cst_kernel<1, I, D>, grid, block, 0, s, a);
    case 2: return fsdk_launch_kernel(fsd_cst_kernel<2, I, D>, grid, block, 0, s, a);
    case 4: return fsdk_launch_kernel(fsd_cst_kernel<4, I, D>, grid, block, 0, s, a);
    case 8: return fsdk_launch_kernel(fsd_cst_kernel<8, I, D>, grid, block, 0, s, a);
    default: return fsdk_launch_kernel(fsd_cst_kernel<16, I, D>, grid, block, 0, s, a);
    }
}

template <typename I>
static cudaError_t launch_cs_dims(const fsd_plan &p, unsigned long long *sum, cudaStream_t s)
{
    if (p.cs_transpose)
        return p.ndim <= 4 ? launch_cst<I, 4>(p, sum, s) : launch_cst<I, FSD_PLAN_MAX_DIMS>(p, sum, s);
    if (p.ndim <= 4)
        return launch_cs<I, 4>(p, sum, s);
    if (p.ndim <= 16)
        return launch_cs<I, 16>(p, sum, s);
    return launch_cs<I, FSD_PLAN_MAX_DIMS>(p, sum, s);
}

extern "C" cudaError_t fsdk_launch_checksum(const fsd_plan *p, uint64_t *sum, cudaStream_t stream)
{
    if (p->path == FSD_PATH_EMPTY || p->total_bytes == 0)
        return cudaSuccess;
    if (p->dir != FSD_DIR_PACK || p->begin != 0 || p->end != p->total_bytes || p->cs_tiles == 0)
        return cudaErrorInvalidValue;
    unsigned long long *s = (unsigned long long *)sum;
    return p->index64 ? launch_cs_dims<uint64_t>(*p, s, stream) : launch_cs_dims<uint32_t>(*p, s, stream);
}
