/*
 * gather_launch.cu — the __global__ wrapper of the paged gather's step function and
 * fsdk_launch_gather, its entry from host/ (gather_launch.h). The kernel is launched through
 * fsdk_launch_kernel (launch_check.cuh): the launch reports its own error, never one the
 * caller left pending.
 */
#include "gather_launch.h"
#include "gather_step.cuh"
#include "launch_check.cuh"

template <typename T, int LW, int NDIM, typename I>
__global__ void __launch_bounds__(FSD_BLOCK_THREADS, FSD_GATHER_BLOCKS_PER_SM)
    fsd_gather_kernel(const fsd_gather_plan p)
{
    fsd_gather_step<T, LW, NDIM, I>(p, blockIdx.x, threadIdx.x);
}

namespace {
struct launcher {
    fsd_gather_plan p; /* the kernel's parameter, passed by address */
    cudaStream_t stream;
    cudaError_t result;
    template <typename T, int LW, int NDIM, typename I>
    void run()
    {
        result = fsdk_launch_kernel(fsd_gather_kernel<T, LW, NDIM, I>, dim3(p.grid), dim3(p.block), 0,
                                    stream, p);
    }
};
} // namespace

extern "C" cudaError_t fsdk_launch_gather(const fsd_gather_plan *p, cudaStream_t stream)
{
    launcher l{*p, stream, cudaErrorInvalidValue};
    if (p->index64)
        fsd_gather_dispatch<uint64_t>(l.p, l);
    else
        fsd_gather_dispatch<uint32_t>(l.p, l);
    return l.result;
}
