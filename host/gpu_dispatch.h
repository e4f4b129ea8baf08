/*
 * gpu_dispatch.h — runs a plan on the GPU of a CUDA tensor: finds the device, saves and
 * restores the caller's current device, sizes the grid for it and launches the kernel.
 */
#ifndef FSD_GPU_DISPATCH_H
#define FSD_GPU_DISPATCH_H

#include "layout.h"

/* Enqueues the copy between `layout` (a CUDA tensor) and `packed` on `stream`. */
fsd_status fsd_gpu_execute(const fsd_layout *layout, void *packed, fsd_direction dir,
                           cudaStream_t stream);

#endif
