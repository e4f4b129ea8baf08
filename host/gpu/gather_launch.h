/*
 * gather_launch.h — the door from host/ into the paged-gather kernel (kernels/gather_launch.cu):
 * enqueues the kernel of a plan on a stream. No CUDA type crosses but the stream.
 */
#ifndef FSD_GATHER_LAUNCH_H
#define FSD_GATHER_LAUNCH_H

#include <cuda_runtime_api.h>

#include "gather_plan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* fsdk_launch_gather: enqueues the gather or scatter of `plan` (built for the current device)
 * on `stream`: one kernel launch. Returns cudaSuccess or the launch's error. Does not
 * synchronise, does not allocate. */
cudaError_t fsdk_launch_gather(const fsd_gather_plan *plan, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
