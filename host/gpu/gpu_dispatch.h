/*
 * gpu_dispatch.h — runs a plan on the GPU of a CUDA tensor: finds the device, saves and
 * restores the caller's current device, sizes the grid for it and launches the kernel.
 */
#ifndef FSD_GPU_DISPATCH_H
#define FSD_GPU_DISPATCH_H

#include <stdint.h>

#include "layout.h"

/* Checks that CUDA device `device_id` exists, makes it current (the caller's device saved in
 * *prev) and reads its multiprocessor count. FSD_ERROR_NO_GPU without a usable GPU. On success
 * the caller ends with fsd_device_leave(device_id, *prev). */
fsd_status fsd_gpu_enter(int device_id, int *prev, uint32_t *sm_count);

/* Enqueues the copy between `layout` (a CUDA tensor) and `packed` on `stream`. */
fsd_status fsd_gpu_execute(const fsd_layout *layout, void *packed, fsd_direction dir,
                           cudaStream_t stream);

/* Enqueues the checksum pack of `layout` (a CUDA tensor) into `packed` on `stream`: the packed
 * bytes, and the sum S of the frame checksum's leaf terms (docs/frames.md) added to *sum, 8
 * bytes of memory the device can reach, which the caller has zeroed (stream-ordered before). */
fsd_status fsd_gpu_pack_checksum(const fsd_layout *layout, void *packed, uint64_t *sum,
                                 cudaStream_t stream);

#endif
