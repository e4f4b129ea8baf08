/*
 * cpu_copy.h — the CPU path: executes a plan (plan.h) with host loads and stores. Used for
 * kDLCPU and kDLCUDAHost tensors, on the calling thread (fsd_pack / fsd_unpack) or once per
 * thread share (cpu_parallel.h).
 *
 *   CONTIG            one memcpy, or streaming stores for large outputs.
 *   RUNS / GENERIC    runs of >= 256 bytes by memcpy, shorter ones by inline 16-byte moves (no
 *                     call per run); with streaming stores, pack streams aligned runs of
 *                     >= 64 bytes straight out and gathers the others into a small buffer that
 *                     stays in L1 and leaves it in whole lines; unpack streams runs of >= 256
 *                     bytes; large copies prefetch the strided side ahead.
 *   TRANSPOSE         cache-blocked tiles with in-register transposes (cpu_transpose.h). The
 *                     CPU also tiles plans the planner sent to RUNS with one-element runs when
 *                     an outer dimension has stride elem_size (any extent): the planner's
 *                     minimum extent is a GPU choice.
 *
 * The plan's range semantics hold on every path: exactly the packed bytes [begin, end) are
 * copied, and on unpack no byte of the strided side outside them is written.
 */
#ifndef FSD_CPU_COPY_H
#define FSD_CPU_COPY_H

#include "plan.h"

/*
 * Streaming (non-temporal) stores write whole lines without reading them first, and leave the
 * caches alone. Measured with tests/cpu's cpu_threshold --stream (docs/cpu-path.md: ordinary
 * against streaming stores, one thread, 256 KiB .. 64 MiB, where the CPU path streams): on the
 * 2-vCPU EPYC VM this project is measured on, streaming won from 1-4 MiB for runs and from
 * 8 MiB for a contiguous copy, by 1.2-4.6 x at 16-64 MiB, even with the destination rewritten
 * in a loop (which favours the caches). Below this size the output stays in the caches for
 * whoever reads it next.
 */
#define FSD_CPU_STREAM_MIN_BYTES ((uint64_t)8 << 20)

/* How stores are made. */
typedef enum fsd_cpu_store {
    FSD_CPU_STORE_AUTO = 0,   /* streaming when the plan's whole tensor (total_bytes) is at
                               * least FSD_CPU_STREAM_MIN_BYTES                            */
    FSD_CPU_STORE_CACHED = 1, /* ordinary stores                                          */
    FSD_CPU_STORE_STREAM = 2  /* streaming at any size wherever a path streams (the run
                               * length and spread rules of cpu_copy.c still apply; tests
                               * force it on small buffers so that CI runs those paths)   */
} fsd_cpu_store;

typedef struct fsd_cpu_opts {
    fsd_cpu_store store;
    int simd;                 /* 1: SSE2 moves and transposes where compiled in; 0: the
                               * portable C loops (tests run both)                        */
} fsd_cpu_opts;

#define FSD_CPU_OPTS_INIT { FSD_CPU_STORE_AUTO, 1 }

/* Copies everything the plan describes, on the calling thread, with FSD_CPU_OPTS_INIT. */
void fsd_cpu_execute(const fsd_plan *plan);

/* fsd_cpu_execute with explicit options; opts NULL means FSD_CPU_OPTS_INIT. */
void fsd_cpu_execute_opts(const fsd_plan *plan, const fsd_cpu_opts *opts);

/* 1 when `opts` (NULL: the defaults) makes a copy of a `total_bytes` tensor stream. */
int fsd_cpu_streams(const fsd_cpu_opts *opts, uint64_t total_bytes);

/* memcpy of n bytes, streaming when `stream` is set (then fenced before return). */
void fsd_cpu_memcpy(void *dst, const void *src, size_t n, int stream);

#endif
