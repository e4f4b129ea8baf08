/*
 * kernel_launch.h — the one door from host/ into kernels/: enqueues the kernel of a plan's path
 * on a stream. Implemented in kernels/launch.cu; no CUDA type crosses but the stream.
 */
#ifndef FSD_KERNEL_LAUNCH_H
#define FSD_KERNEL_LAUNCH_H

#include <cuda_runtime_api.h>

#include "plan.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * fsdk_launch: enqueues the copy described by `plan` (built for the current device) on
 * `stream`. Returns cudaSuccess, or the error of this launch: never an error the caller's code
 * left pending before (kernels/launch_check.cuh; turn it into a status with fsd_cuda_failure).
 * Does not synchronise, does not allocate.
 */
cudaError_t fsdk_launch(const fsd_plan *plan, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
