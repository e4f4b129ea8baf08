/*
 * gather_launch.cu — the __global__ wrapper of the paged gather's step function and
 * fsdk_launch_gather, its entry from host/ (gather_launch.h).
 */
#include "gather_launch.h"
#include "gather_step.cuh"

template <typename T, int LW, int NDIM, typename I>
__global__ void __launch_bounds__(FSD_BLOCK_THREADS, FSD_GATHER_BLOCKS_PER_SM)
    fsd_gather_kernel(const fsd_gather_plan p)
{
    fsd_gather_step<T, LW, NDIM, I>(p, blockIdx.x, threadIdx.x);
}

namespace {
struct launcher {
    const fsd_gather_plan &p;
    cudaStream_t stream;
    template <typename T, int LW, int NDIM, typename I>
    void run()
    {
        fsd_gather_kernel<T, LW, NDIM, I><<<p.grid, p.block, 0, stream>>>(p);
    }
};
} // namespace

extern "C" cudaError_t fsdk_launch_gather(const fsd_gather_plan *p, cudaStream_t stream)
{
    launcher l{*p, stream};
    if (p->index64)
        fsd_gather_dispatch<uint64_t>(*p, l);
    else
        fsd_gather_dispatch<uint32_t>(*p, l);
    return cudaPeekAtLastError();
}
