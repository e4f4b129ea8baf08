/*
 * kernel_launch.h — the one door from host/ into kernels/: enqueues the kernel of a plan's path
 * on a stream. Implemented in kernels/launch.cu; no CUDA type crosses but the stream.
 */
#ifndef FSD_KERNEL_LAUNCH_H
#define FSD_KERNEL_LAUNCH_H

#include <cuda_runtime_api.h>
#include <stdint.h>

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

/*
 * fsdk_launch_checksum: enqueues the checksum pack of `plan` (a whole-tensor pack plan with
 * fsd_plan_checksum's geometry) on `stream`: the packed bytes at plan->packed, and the sum S of
 * the frame checksum's leaf terms added to *sum (device memory; the caller zeroes it first:
 * the kernel's blocks add their parts atomically). A plan of 0 bytes enqueues nothing (S = 0).
 * Same error rules as fsdk_launch; does not synchronise, does not allocate.
 */
cudaError_t fsdk_launch_checksum(const fsd_plan *plan, uint64_t *sum, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
