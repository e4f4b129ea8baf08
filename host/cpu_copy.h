/*
 * cpu_copy.h — the CPU path: executes a plan with host loads and stores (memcpy of runs,
 * cache-blocked tiles for TRANSPOSE). Used for kDLCPU and kDLCUDAHost tensors.
 */
#ifndef FSD_CPU_COPY_H
#define FSD_CPU_COPY_H

#include "plan.h"

/* Copies everything the plan describes, on the calling thread. */
void fsd_cpu_execute(const fsd_plan *plan);

#endif
