/*
 * mock_fsdk_launch.c — the library's kernel entries (host/gpu/kernel_launch.h, host/gpu/gather_launch.h)
 * for the stand-in runtime (fsd_mock_runtime): instead of kernels/launch.cu and
 * kernels/gather_launch.cu, the plan goes straight to the mock's kernel launch (mock_launch.c,
 * mock_gather.c) and runs on the emulated grid with 32- or 64-bit indices drawn at random.
 * fsd_mock_runtime_kernels links the real kernels instead (mock_kernel_api.c).
 */
#include "gather_launch.h"
#include "kernel_launch.h"
#include "mock_internal.h"

cudaError_t fsdk_launch(const fsd_plan *plan, cudaStream_t stream)
{
    cudaError_t e = mk_enter(MOCKCUDA_LAUNCH);
    if (e == cudaSuccess)
        e = mk_launch_plan(plan, stream, -1);
    return mk_leave(e);
}

cudaError_t fsdk_launch_checksum(const fsd_plan *plan, uint64_t *sum, cudaStream_t stream)
{
    cudaError_t e = mk_enter(MOCKCUDA_LAUNCH);
    if (e == cudaSuccess)
        e = mk_launch_checksum(plan, sum, stream);
    return mk_leave(e);
}

cudaError_t fsdk_launch_gather(const fsd_gather_plan *plan, cudaStream_t stream)
{
    cudaError_t e = mk_enter(MOCKCUDA_LAUNCH);
    if (e == cudaSuccess)
        e = mk_launch_gather(plan, stream, NULL);
    return mk_leave(e);
}
