/*
 * emulated_grid.cu — the emulated grid (see emulated_grid.h).
 *
 * The access model (tests/kernels/model/model_grid.cu) compiles this file again with FSDT_TRACE
 * defined and the hooks of model_driver.h: then each emulated launch names its kernel
 * (FSDT_LAUNCH: the kernel's kind, its first template parameter, its room for dims D, the
 * index width, the plan), says which thread runs
 * (FSDT_THREAD), where the block's shared memory is (FSDT_SHARED) and where __syncthreads() is
 * (FSDT_BARRIER), and the entry point is called FSDT_EMULATE. Here they cost nothing.
 */
#ifndef FSDT_TRACE
#define FSDT_LAUNCH(kind, tparam, dims, index_bytes, plan) ((void)0)
#define FSDT_EMULATE fsdt_emulate
#define FSDT_EMULATE_CHECKSUM fsdt_emulate_checksum
#endif

#include "emulated_grid.h"
#include "emulated_steps.cuh"
#include "plan_build.h"

/* Each launch runs on the argument struct launch.cu would pass (kernel_args.cuh), built the
 * same way, with the same room for dims D, through the kernel's loops (emulated_steps.cuh). */
template <int NDIM, typename I, int D>
static void emulate_runs(const fsd_plan &p)
{
    FSDT_LAUNCH("runs", NDIM, D, sizeof(I), p);
    fsdt_grid_runs<NDIM, I, D>(fsd_runs_args_of<D>(p), p.grid, p.block);
}

template <typename I>
static void emulate_runs_rank(const fsd_plan &p)
{
    /* The same choice as launch.cu: unrolled ranks for RUNS, the run-time loop for GENERIC.
     * A CONTIG plan (no outer dim) runs the step function with NDIM 0: on the GPU that copy is
     * cudaMemcpyAsync, so this checks the step function's own handling of a single run (the
     * form every range of a contiguous tensor would take in the kernel). */
    if (p.path == FSD_PATH_GENERIC) {
        if (p.ndim <= 16)
            emulate_runs<-1, I, 16>(p);
        else
            emulate_runs<-1, I, FSD_PLAN_MAX_DIMS>(p);
        return;
    }
    switch (p.ndim) {
    case 0: emulate_runs<0, I, FSD_RUNS_MAX_DIMS>(p); break;
    case 1: emulate_runs<1, I, FSD_RUNS_MAX_DIMS>(p); break;
    case 2: emulate_runs<2, I, FSD_RUNS_MAX_DIMS>(p); break;
    case 3: emulate_runs<3, I, FSD_RUNS_MAX_DIMS>(p); break;
    default: emulate_runs<4, I, FSD_RUNS_MAX_DIMS>(p); break;
    }
}

template <typename I, int D>
static void emulate_transpose(const fsd_plan &p)
{
    FSDT_LAUNCH("transpose", 0, D, sizeof(I), p);
    fsdt_grid_transpose<I, D>(fsd_transpose_args_of<D>(p), p.grid, p.block);
}

template <uint32_t E, typename I, int D>
static void emulate_transpose16(const fsd_plan &p)
{
    FSDT_LAUNCH("transpose16", E, D, sizeof(I), p);
    fsdt_grid_transpose16<E, I, D>(fsd_transpose_args_of<D>(p), p.grid, p.block);
}

template <typename I, int D>
static void emulate_transpose_kind(const fsd_plan &p)
{
    if (!p.tiles16) {
        emulate_transpose<I, D>(p);
        return;
    }
    switch (p.elem_size) {
    case 1: emulate_transpose16<1, I, D>(p); break;
    case 2: emulate_transpose16<2, I, D>(p); break;
    case 4: emulate_transpose16<4, I, D>(p); break;
    case 8: emulate_transpose16<8, I, D>(p); break;
    default: emulate_transpose16<16, I, D>(p); break;
    }
}

template <typename I>
static void emulate_transpose_dims(const fsd_plan &p)
{
    if (p.ndim <= 4)
        emulate_transpose_kind<I, 4>(p);
    else
        emulate_transpose_kind<I, FSD_PLAN_MAX_DIMS>(p);
}

#ifndef FSDT_TRACE
extern "C" size_t fsdt_kernel_args_bytes(const fsd_plan *p)
{
    switch (p->path) {
    case FSD_PATH_RUNS: return sizeof(fsd_runs_args<FSD_RUNS_MAX_DIMS>);
    case FSD_PATH_GENERIC:
        return p->ndim <= 16 ? sizeof(fsd_runs_args<16>) : sizeof(fsd_runs_args<FSD_PLAN_MAX_DIMS>);
    case FSD_PATH_TRANSPOSE:
        return p->ndim <= 4 ? sizeof(fsd_transpose_args<4>) : sizeof(fsd_transpose_args<FSD_PLAN_MAX_DIMS>);
    default: return 0;
    }
}
#endif

extern "C" int FSDT_EMULATE(const fsd_plan *p, int index64)
{
    const int wide = index64 || p->index64;
    switch (p->path) {
    case FSD_PATH_EMPTY:
        return 0;
    case FSD_PATH_CONTIG:
    case FSD_PATH_RUNS:
    case FSD_PATH_GENERIC:
        if (wide)
            emulate_runs_rank<uint64_t>(*p);
        else
            emulate_runs_rank<uint32_t>(*p);
        return 0;
    case FSD_PATH_TRANSPOSE:
        if (wide)
            emulate_transpose_dims<uint64_t>(*p);
        else
            emulate_transpose_dims<uint32_t>(*p);
        return 0;
    default:
        return -1;
    }
}

template <int T, uint32_t W, typename I, int D>
static void emulate_checksum(const fsd_plan &p, unsigned long long *sum)
{
    FSDT_LAUNCH(T ? "checksum_t" : "checksum", (int)W, D, sizeof(I), p);
    fsdt_grid_checksum<T, W, I, D>(fsd_cs_args_of<D>(p, sum), p.cs_grid, p.block);
}

/* W: the gather word (fsd_cs_kernel) or the element size (fsd_cst_kernel). */
template <int T, typename I, int D>
static void emulate_checksum_word(const fsd_plan &p, unsigned long long *sum)
{
    switch (T ? p.elem_size : p.cs_word) {
    case 16: emulate_checksum<T, 16, I, D>(p, sum); break;
    case 8: emulate_checksum<T, 8, I, D>(p, sum); break;
    case 4: emulate_checksum<T, 4, I, D>(p, sum); break;
    case 2: emulate_checksum<T, 2, I, D>(p, sum); break;
    default: emulate_checksum<T, 1, I, D>(p, sum); break;
    }
}

template <typename I>
static void emulate_checksum_dims(const fsd_plan &p, unsigned long long *sum)
{
    if (p.cs_transpose) {
        if (p.ndim <= 4)
            emulate_checksum_word<1, I, 4>(p, sum);
        else
            emulate_checksum_word<1, I, FSD_PLAN_MAX_DIMS>(p, sum);
        return;
    }
    if (p.ndim <= 4)
        emulate_checksum_word<0, I, 4>(p, sum);
    else if (p.ndim <= 16)
        emulate_checksum_word<0, I, 16>(p, sum);
    else
        emulate_checksum_word<0, I, FSD_PLAN_MAX_DIMS>(p, sum);
}

/* The same choices as fsdk_launch_checksum (kernels/checksum_launch.cu). */
extern "C" int FSDT_EMULATE_CHECKSUM(const fsd_plan *plan, uint32_t sm_count, int index64, uint64_t *sum)
{
    *sum = 0;
    if (plan->path == FSD_PATH_EMPTY || plan->total_bytes == 0)
        return 0;
    if (plan->dir != FSD_DIR_PACK || plan->begin != 0 || plan->end != plan->total_bytes)
        return -1;
    fsd_plan p = *plan;
    if (sm_count != 0 || p.cs_tiles == 0)
        fsd_plan_checksum(&p, sm_count);
    unsigned long long s = 0;
    if (index64 || p.index64)
        emulate_checksum_dims<uint64_t>(p, &s);
    else
        emulate_checksum_dims<uint32_t>(p, &s);
    *sum = s;
    return 0;
}
