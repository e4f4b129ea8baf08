/*
 * bench_cuda.h — what fastserde-bench's GPU runners share: CU(call), which exits naming the
 * call on a CUDA failure (a benchmark has nothing to recover), and the CUDA-event timing of an
 * operation.
 */
#ifndef FSDB_CUDA_H
#define FSDB_CUDA_H

#include <stdio.h>
#include <stdlib.h>

#include <cuda_runtime_api.h>

#define CU(call)                                                                              \
    do {                                                                                      \
        cudaError_t e_ = (call);                                                              \
        if (e_ != cudaSuccess) {                                                              \
            fprintf(stderr, "fastserde-bench: %s: %s (%s:%d)\n", #call, cudaGetErrorString(e_), \
                    __FILE__, __LINE__);                                                      \
            exit(1);                                                                          \
        }                                                                                     \
    } while (0)

/* Enqueues one run of the operation on copy `set` of its buffers. */
typedef void (*fsdb_enqueue_fn)(void *arg, int set);

/* GPU seconds per run of `run`: the median over `samples` batches, each timed with a pair of
 * CUDA events on `stream` around back-to-back runs (as many as make a batch last >= 200 us, at
 * most 64), rotating over `sets` copies of the buffers; warmed up on every set first. */
double fsdb_time_events(cudaStream_t stream, fsdb_enqueue_fn run, void *arg, int sets, int samples);

/* How many copies of `set_bytes` of buffers a GPU runner rotates over: enough that together
 * they exceed 4 x the L2 cache of `device`, within a quarter of its free memory, 1..max_sets. */
int fsdb_gpu_sets(int device, size_t set_bytes, int max_sets);

#endif
