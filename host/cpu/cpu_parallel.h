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
 * split over all threads, 16 KiB .. 32 MiB, the benchmark's layouts, pack and unpack) on the
 * 2-vCPU EPYC VM this project is measured on. Below 256 KiB a second thread costs more than it
 * gives (waking and joining a worker takes tens of microseconds). With the strided side
 * prefetched (cpu_copy.c) and the machine quiet, six runs of the tool found 256-byte runs and
 * the KV permute crossing over at 1.5-8 MiB of tensor, 2 KiB runs at 4-32 MiB, and suggested
 * 4-16 MiB per thread (median 8). The late crossovers are the tool's: it calls in a tight
 * loop, so an 8 MiB tensor stays in L3 for the one thread (25 GB/s for 2 KiB runs there,
 * past what DRAM gives it). Timed a call at a time (in one process,
 * median of 15), 2 KiB runs on 2 threads beat one at 8 MiB (1.55-1.78 x memcpy against
 * 1.10-1.21 x) and at 4 MiB (1.19-1.72 x against 0.76-1.04 x), and fastserde-bench's 8 and
 * 14 MiB KV-cache chunks (head-subset, permute, token slice, pack and unpack; three runs
 * interleaved) ran 1.06-1.9 x faster on the context with 4 MiB per thread than with 8 in 17
 * of 18 comparisons (0.92 x in one): 4 MiB. (Before the
 * prefetch, with other sessions' builds sharing the cores, no size up to 32 MiB had paid and
 * this was 32 MiB.) Machines with more memory bandwidth per core gain from threads earlier:
 * re-run the tool there.
 */
#define FSD_CPU_MIN_BYTES_PER_THREAD ((uint64_t)4 << 20)

/*
 * The same for the cache-blocked transposes (cpu_transpose.h), which are bound by their
 * in-register shuffles more than by memory and so gain from a second thread at smaller sizes:
 * in the six runs above their pack and unpack crossed over at 1.5-4 MiB of tensor (1.5-1.8 x
 * from 8 MiB on), suggesting 1 MiB per thread in five of them and 2 MiB in one: 1 MiB.
 */
#define FSD_CPU_MIN_BYTES_PER_THREAD_TILES ((uint64_t)1 << 20)

/* min_bytes_per_thread value of fsd_cpu_execute_parallel_ex: the threshold of the plan's path
 * (FSD_CPU_MIN_BYTES_PER_THREAD_TILES for transposes, FSD_CPU_MIN_BYTES_PER_THREAD else). */
#define FSD_CPU_MIN_BYTES_BY_PATH UINT64_MAX

/* Copies between the host tensor `layout` and `packed` on the pool's threads. */
void fsd_cpu_execute_parallel(fsd_pool *pool, const fsd_layout *layout, void *packed,
                              fsd_direction dir);

/* fsd_cpu_execute_parallel with an explicit threshold (bytes per thread; 0 = split over every
 * thread whatever the size; FSD_CPU_MIN_BYTES_BY_PATH = the measured one of the plan's path)
 * and options (NULL: the defaults). For tests and measurements. */
void fsd_cpu_execute_parallel_ex(fsd_pool *pool, const fsd_layout *layout, void *packed,
                                 fsd_direction dir, uint64_t min_bytes_per_thread,
                                 const fsd_cpu_opts *opts);

/* How a copy of `total` bytes is cut for the pool's threads: returns the number of shares
 * (1: the calling thread copies alone, fewer than two threads' worth of min_bytes_per_thread),
 * each *per_share bytes (a multiple of `granule`; the last may be shorter), up to 8 shares per
 * thread, each of at least 64 KiB. */
int fsd_cpu_shares(fsd_pool *pool, uint64_t total, uint64_t granule, uint64_t min_bytes_per_thread,
                   uint64_t *per_share);

/* memcpy on the pool's threads (large copies between pinned chunks and user memory); streaming
 * stores from FSD_CPU_STREAM_MIN_BYTES on. */
void fsd_cpu_memcpy_parallel(fsd_pool *pool, void *dst, const void *src, size_t n);
/* The same, split over the threads from `min_bytes_per_thread` bytes per thread (the round
 * trip's chunks: host/context/transfer.c). */
void fsd_cpu_memcpy_parallel_ex(fsd_pool *pool, void *dst, const void *src, size_t n,
                                uint64_t min_bytes_per_thread);

#endif
