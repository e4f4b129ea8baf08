/*
 * gather_cpu.h — paged gathers and scatters of host caches (and the packed side of nothing
 * else): the merged pieces of kv_walk.h copied by the CPU, on a pool's threads when the chunk
 * is large enough (cpu_parallel.h's thresholds), with streaming stores for large copies
 * (cpu_copy.h's threshold).
 */
#ifndef FSD_GATHER_CPU_H
#define FSD_GATHER_CPU_H

#include "kv_layout.h"
#include "plan.h"
#include "thread_pool.h"

/* Copies between the host cache of `kv` and `packed`; pool NULL: the calling thread. The slots
 * must have passed fsd_kv_check_slots. */
void fsd_gather_cpu(const fsd_kv *kv, char *packed, fsd_direction dir, fsd_pool *pool);

#endif
