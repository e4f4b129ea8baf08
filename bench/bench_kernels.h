/*
 * bench_kernels.h — the GPU baselines fastserde is measured against, in the same run:
 *   fsdb_copy16   a contiguous device copy in 16-byte words, several loads in flight per thread
 *                 (the roof for a copy of the same bytes, beside cudaMemcpyAsync D2D);
 *   fsdb_naive    one element per thread, 64-bit index arithmetic, no tiling: what a first
 *                 attempt at a strided gather (pack) or scatter (unpack) gets;
 *   fsdb_cub_*    cub::DeviceMemcpy::Batched over the view's contiguous runs, the run
 *                 addresses computed by transform iterators: what CUB gives off the shelf.
 * All enqueue on `stream` and return the launch's error; none synchronises.
 * Implemented in bench_kernels.cu and bench_cub.cu (C++ there, a C interface here).
 */
#ifndef FSDB_KERNELS_H
#define FSDB_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#include "bench_views.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Copies n bytes; dst and src 16-byte aligned. blocks == 0: 8 blocks of 256 threads per SM. */
cudaError_t fsdb_copy16(void *dst, const void *src, size_t n, unsigned blocks, cudaStream_t stream);

/* Pack (unpack == 0): packed[i] = element i of the view at `strided` (element [0,..,0]);
 * unpack: the reverse. Elements of 1, 2, 4, 8 or 16 bytes as one access, others bytewise. */
cudaError_t fsdb_naive(const fsdb_view *v, char *strided, char *packed, int unpack,
                       cudaStream_t stream);

/* Temporary device storage that fsdb_cub_copy needs for these runs (0 on error). */
cudaError_t fsdb_cub_temp_bytes(const fsdb_runs *r, size_t *bytes);
/* One batched copy of all runs; temp: fsdb_cub_temp_bytes bytes of device memory. */
cudaError_t fsdb_cub_copy(const fsdb_runs *r, char *strided, char *packed, int unpack,
                          void *temp, size_t temp_bytes, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
