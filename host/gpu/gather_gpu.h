/*
 * gather_gpu.h — paged gathers and scatters of CUDA caches: the SM kernel (one launch, slots and
 * layer table read on the GPU) and the copy engines (the host walks the slots into merged
 * pieces, kv_walk.h, and submits them with cudaMemcpyBatchAsync).
 */
#ifndef FSD_GATHER_GPU_H
#define FSD_GATHER_GPU_H

#include "kv_layout.h"
#include "plan.h"

/* Copies submitted per cudaMemcpyBatchAsync call (the arrays live on the caller's stack:
 * 24 KiB). A chunk with more merged pieces takes more calls. */
#define FSD_GATHER_BATCH 1024

/* One kernel launch on `stream` (kv->engine FSD_KV_KERNEL, kv->total_bytes > 0), after the
 * packed side is found to be memory the GPU reaches (memkind.h; else FSD_ERROR_INVALID_ARGUMENT
 * and nothing enqueued). May be captured. */
fsd_status fsd_gather_kernel(const fsd_kv *kv, void *packed, fsd_direction dir,
                             const fsd_gather_options *opts, cudaStream_t stream);

/* The merged pieces as copies on `stream` (kv->engine FSD_KV_COPY, slots checked): batches of
 * FSD_GATHER_BATCH copies per cudaMemcpyBatchAsync call, or one cudaMemcpyAsync per copy on
 * the legacy default stream (which the batched call refuses) or where the driver lacks it.
 * On a capturing stream: FSD_ERROR_INVALID_ARGUMENT, nothing enqueued, the capture intact. */
fsd_status fsd_gather_copy_engines(const fsd_kv *kv, void *packed, fsd_direction dir,
                                   cudaStream_t stream);

#endif
