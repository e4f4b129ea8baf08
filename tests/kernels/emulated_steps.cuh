/*
 * emulated_steps.cuh — each __global__ wrapper of kernels/ (launch.cu, gather_launch.cu) as a
 * host function of the kernel's own parameter and a grid: the step functions run for every
 * block and thread, phase by phase, with a per-block shared tile filled with garbage between
 * tiles. The emulated grid runs plans through these (emulated_grid.cu, emulated_gather.cu);
 * the stand-in runtime's real-kernels variant runs the parameter a launch of the real kernels
 * passed (tests/mock_cuda/mock_kernels.cu).
 *
 * The access model's hooks (FSDT_THREAD, FSDT_SHARED, FSDT_BARRIER: see emulated_grid.cu) are
 * empty unless the includer defines them first.
 */
#ifndef FSDT_EMULATED_STEPS_CUH
#define FSDT_EMULATED_STEPS_CUH

#include <string.h>

#include "checksum_step.cuh"
#include "checksum_transpose_step.cuh"
#include "gather_step.cuh"
#include "kernel_args.cuh"
#include "runs_step.cuh"
#include "transpose16_step.cuh"
#include "transpose_step.cuh"

#ifndef FSDT_THREAD
#define FSDT_THREAD(block, thread) ((void)0)
#endif
#ifndef FSDT_SHARED
#define FSDT_SHARED(ptr, bytes) ((void)0)
#endif
#ifndef FSDT_BARRIER
#define FSDT_BARRIER() ((void)0)
#endif

/* fsd_runs_kernel<NDIM, I, D> */
template <int NDIM, typename I, int D>
static void fsdt_grid_runs(const fsd_runs_args<D> &a, uint32_t grid, uint32_t block)
{
    for (uint32_t b = 0; b < grid; b++)
        for (uint32_t t = 0; t < block; t++) {
            FSDT_THREAD(b, t);
            fsd_runs_step<NDIM, I>(a, b, t);
        }
}

/* fsd_transpose_kernel<I, D> */
template <typename I, int D>
static void fsdt_grid_transpose(const fsd_transpose_args<D> &a, uint32_t grid, uint32_t block)
{
    alignas(16) static unsigned char tile[FSD_TILE_BUFFER_BYTES];
    FSDT_SHARED(tile, sizeof tile);
    for (uint32_t b = 0; b < grid; b++) {
        for (I t = b; t < (I)a.num_tiles; t += grid) {
            /* Garbage in the tile: a store that reads an element no load wrote shows up. */
            memset(tile, 0xCD ^ (int)(t & 0xff), sizeof tile);
            for (uint32_t th = 0; th < block; th++) {
                FSDT_THREAD(b, th);
                FSD_MODEL_ITERATION();
                fsd_transpose_load_step<I>(a, t, th, tile);
            }
            FSDT_BARRIER(); /* __syncthreads() */
            for (uint32_t th = 0; th < block; th++) {
                FSDT_THREAD(b, th);
                fsd_transpose_store_step<I>(a, t, th, tile);
            }
            FSDT_BARRIER();
        }
    }
}

/* fsd_transpose16_kernel<E, I, D> */
template <uint32_t E, typename I, int D>
static void fsdt_grid_transpose16(const fsd_transpose_args<D> &a, uint32_t grid, uint32_t block)
{
    alignas(16) static unsigned char tile[FSD_T16_TILE_BYTES];
    FSDT_SHARED(tile, sizeof tile);
    for (uint32_t b = 0; b < grid; b++) {
        for (I t = b; t < (I)a.num_tiles; t += grid) {
            const fsd_t16_tile o = fsd_t16_tile_of<E, I>(a, t);
            memset(tile, 0xCD ^ (int)(t & 0xff), sizeof tile);
            for (uint32_t th = 0; th < block; th++) {
                FSDT_THREAD(b, th);
                FSD_MODEL_ITERATION();
                fsd_transpose16_load_step<E>(o, th, tile);
            }
            FSDT_BARRIER(); /* __syncthreads() */
            for (uint32_t th = 0; th < block; th++) {
                FSDT_THREAD(b, th);
                fsd_transpose16_store_step<E>(o, th, tile);
            }
            FSDT_BARRIER();
        }
    }
}

/* fsd_cs_kernel<W, I, D> (T = 0) and fsd_cst_kernel<E = W, I, D> (T = 1): the block's threads
 * run each phase in turn; *a.sum gets each thread's sum of leaf terms at the end, as the
 * kernel's atomic adds do. */
template <int T, uint32_t W, typename I, int D>
static void fsdt_grid_checksum(const fsd_cs_args<D> &a, uint32_t grid, uint32_t block)
{
    alignas(16) static unsigned char tile[FSD_CS_TILE];
    FSDT_SHARED(tile, sizeof tile);
    for (uint32_t b = 0; b < grid; b++) {
        uint64_t sum[FSD_BLOCK_THREADS] = {0};
        for (uint64_t t = b; t < a.num_tiles; t += grid) {
            memset(tile, 0xCD ^ (int)(t & 0xff), sizeof tile);
            fsd_cs_tile tl;
            if constexpr (T == 1) {
                const fsd_cst_tile o = fsd_cst_tile_of<W, I>(a, t);
                tl = o.t;
                for (uint32_t th = 0; th < block; th++) {
                    FSDT_THREAD(b, th);
                    fsd_cst_gather_step<W>(o, th, tile);
                }
            } else {
                tl = fsd_cs_runs_tile(a, t);
                for (uint32_t th = 0; th < block; th++) {
                    FSDT_THREAD(b, th);
                    fsd_cs_gather_step<typename fsd_cs_word<W>::type, I>(a, t, th, tile);
                }
            }
            FSDT_BARRIER();
            for (uint32_t th = 0; th < block; th++) {
                FSDT_THREAD(b, th);
                FSD_MODEL_ITERATION();
                fsd_cs_hash_step<T>(a, tl, th, tile, fsd_cs_keys_of(th));
            }
            FSDT_BARRIER();
            for (uint32_t th = 0; th < block; th++) {
                FSDT_THREAD(b, th);
                fsd_cs_pairs_step<T>(tl, th, tile);
            }
            FSDT_BARRIER();
            for (uint32_t th = 0; th < block; th++) {
                FSDT_THREAD(b, th);
                sum[th] += fsd_cs_leaf_step<T>(tl, th, tile);
            }
            FSDT_BARRIER();
        }
        for (uint32_t th = 0; th < block && th < FSD_CS_LEAVES; th++)
            fsd_cs_add_sum(a.sum, sum[th]);
    }
}

/* fsd_gather_kernel<T, LW, NDIM, I> */
template <typename T, int LW, int NDIM, typename I>
static void fsdt_grid_gather(const fsd_gather_plan &p, uint32_t grid, uint32_t block)
{
    for (uint32_t b = 0; b < grid; b++)
        for (uint32_t t = 0; t < block; t++)
            fsd_gather_step<T, LW, NDIM, I>(p, b, t);
}

#endif
