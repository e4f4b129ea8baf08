/*
 * emulated_grid.h — runs the CUDA kernels' step functions on the CPU over the grid the plan
 * chose: every block, every thread, phase by phase, with a per-block shared tile. The code is
 * the kernels' own (the .cuh files in kernels/), compiled for the host by nvcc (emulated_grid.cu).
 */
#ifndef FSDT_EMULATED_GRID_H
#define FSDT_EMULATED_GRID_H

#include <stddef.h>
#include <stdint.h>

#include "plan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Executes `plan` as the GPU would. index64: 1 runs the 64-bit-index instantiations even when
 * the plan says 32 bits suffice (both must give the same bytes). Returns 0, or -1 for a path
 * the emulator does not know. */
int fsdt_emulate(const fsd_plan *plan, int index64);

/* Executes the checksum pack of `plan` (a whole-tensor pack plan; with sm_count != 0, or when
 * the plan has none yet, fsd_plan_checksum gives a copy its geometry for sm_count SMs) as the
 * GPU would: the packed bytes at plan->packed, and *sum = S,
 * the sum of the frame checksum's leaf terms (0 for 0 bytes). index64 as above. Returns 0, or
 * -1 for a plan it does not take. */
int fsdt_emulate_checksum(const fsd_plan *plan, uint32_t sm_count, int index64, uint64_t *sum);

/* The bytes of kernel parameters kernels/launch.cu passes for `plan` (kernel_args.cuh; 0 for a
 * path that launches no kernel of the library). */
size_t fsdt_kernel_args_bytes(const fsd_plan *plan);

#ifdef __cplusplus
}
#endif

#endif
