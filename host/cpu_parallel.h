/*
 * cpu_parallel.h — the CPU path on a context's threads: the packed bytes are cut into
 * contiguous shares (so each thread writes or reads the packed side sequentially), up to 8 per
 * thread that the threads take in turn, each share planned as a range (plan.h) and run by
 * fsd_cpu_execute_opts. Transposes are cut between packed rows, so that no share cuts a row.
 */
#ifndef FSD_CPU_PARALLEL_H
#define FSD_CPU_PARALLEL_H

#include "cpu_copy.h"
#include "layout.h"
#include "thread_pool.h"

/*
 * Threads are used from this many packed bytes per thread on; below, the calling thread copies
 * alone. Measured with tests/cpu's cpu_threshold (docs/cpu-path.md: 1 thread against the
 * split over all threads, 16 KiB .. 32 MiB, the benchmark's layouts, pack and unpack): on the
 * 2-vCPU EPYC VM this project is measured on, a second thread did not pay consistently at any
 * size up to 32 MiB (0.05-0.56 x below 256 KiB, where waking and joining a worker costs tens
 * of microseconds; mostly 0.8-1.0 x from a few MiB on, where one thread already uses what
 * memory bandwidth the VM gets), so the figure is the tool's answer for "no crossover up to
 * 32 MiB": 32 MiB per thread. Machines with more memory bandwidth per core gain from threads
 * much earlier: re-run the tool there.
 */
#define FSD_CPU_MIN_BYTES_PER_THREAD ((uint64_t)32 << 20)

/* Copies between the host tensor `layout` and `packed` on the pool's threads. */
void fsd_cpu_execute_parallel(fsd_pool *pool, const fsd_layout *layout, void *packed,
                              fsd_direction dir);

/* fsd_cpu_execute_parallel with an explicit threshold (bytes per thread; 0 = split over every
 * thread whatever the size) and options (NULL: the defaults). For tests and measurements. */
void fsd_cpu_execute_parallel_ex(fsd_pool *pool, const fsd_layout *layout, void *packed,
                                 fsd_direction dir, uint64_t min_bytes_per_thread,
                                 const fsd_cpu_opts *opts);

/* memcpy on the pool's threads (large copies between pinned chunks and user memory); streaming
 * stores from FSD_CPU_STREAM_MIN_BYTES on. */
void fsd_cpu_memcpy_parallel(fsd_pool *pool, void *dst, const void *src, size_t n);

#endif
