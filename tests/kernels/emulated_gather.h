/*
 * emulated_gather.h — runs the paged-gather kernel's step function (kernels/gather_step.cuh)
 * on the CPU over the plan's grid, every block and thread, with the instantiation the kernel
 * launch would pick (fsd_gather_dispatch).
 */
#ifndef FSDT_EMULATED_GATHER_H
#define FSDT_EMULATED_GATHER_H

#include "gather_plan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Executes `plan` as the GPU would; index64 1 runs the 64-bit-index instantiation even when
 * the plan says 32 bits suffice. */
void fsdt_emulate_gather(const fsd_gather_plan *plan, int index64);

#ifdef __cplusplus
}
#endif

#endif
