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
 * `stream`. Returns cudaSuccess, or the error of the launch (the sticky error state is left
 * to the caller). Does not synchronise, does not allocate.
 */
cudaError_t fsdk_launch(const fsd_plan *plan, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
