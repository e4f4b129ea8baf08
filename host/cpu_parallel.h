/*
 * cpu_parallel.h — the CPU path on a context's threads: the packed bytes are cut into one
 * contiguous share per thread (so each thread writes or reads the packed side sequentially),
 * each share planned as a range (plan.h) and run by fsd_cpu_execute.
 */
#ifndef FSD_CPU_PARALLEL_H
#define FSD_CPU_PARALLEL_H

#include "layout.h"
#include "thread_pool.h"

/* Below this many packed bytes per thread, extra threads cost more than they bring. */
#define FSD_CPU_MIN_BYTES_PER_THREAD ((uint64_t)256 << 10)

/* Copies between the host tensor `layout` and `packed` on the pool's threads. */
void fsd_cpu_execute_parallel(fsd_pool *pool, const fsd_layout *layout, void *packed,
                              fsd_direction dir);

/* memcpy on the pool's threads (large copies between pinned chunks and user memory). */
void fsd_cpu_memcpy_parallel(fsd_pool *pool, void *dst, const void *src, size_t n);

#endif
