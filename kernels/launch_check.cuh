/*
 * launch_check.cuh — the one way kernels/ launches a kernel: fsdk_launch_kernel enqueues a
 * __global__ function through cudaLaunchKernel and returns that launch's own result.
 *
 * Why not <<<...>>> followed by cudaPeekAtLastError() (or cudaGetLastError())? The runtime keeps
 * one "last error" per host thread, set by any failing runtime call and kept until someone reads
 * it with cudaGetLastError. An error the caller's own code left there before calling fastserde
 * would then be reported as fastserde's launch failure (and, read with cudaGetLastError, taken
 * away from the caller), although the kernel was enqueued. cudaLaunchKernel returns the error of
 * this launch only. On failure the runtime has also set it as the thread's last error: the
 * caller of an fsdk_ entry turns it into a status with fsd_cuda_failure (host/core/error.h), which
 * clears it only if it is still that error.
 *
 * Every launch entry of kernels/ (fsdk_launch in launch.cu, and any later one) launches through
 * this, never with <<<...>>>.
 */
#ifndef FSD_LAUNCH_CHECK_CUH
#define FSD_LAUNCH_CHECK_CUH

#include <cuda_runtime.h>
#include <type_traits>

/* Enqueues kernel<<<grid, block, shared_bytes, stream>>>(args...) and returns the launch's
 * result. The argument types must be exactly the kernel's parameter types (they are passed by
 * address, as cudaLaunchKernel requires). */
template <typename... Params, typename... Args>
static inline cudaError_t fsdk_launch_kernel(void (*kernel)(Params...), dim3 grid, dim3 block,
                                             size_t shared_bytes, cudaStream_t stream,
                                             Args &...args)
{
    static_assert(sizeof...(Params) == sizeof...(Args), "one argument per kernel parameter");
    static_assert((std::is_same<typename std::remove_cv<Args>::type, Params>::value && ...),
                  "each argument has its parameter's type: the kernel reads it by address");
    void *argv[sizeof...(Args) > 0 ? sizeof...(Args) : 1] = {(void *)&args...};
    return cudaLaunchKernel((const void *)kernel, grid, block, argv, shared_bytes, stream);
}

#endif
