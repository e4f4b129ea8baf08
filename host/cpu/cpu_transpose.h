/*
 * cpu_transpose.h — the CPU path's cache-blocked transpose: plans whose runs are single
 * elements while an outer dimension has stride elem_size (TRANSPOSE plans, and RUNS / GENERIC
 * plans that the CPU tiles as well; see cpu_copy.h).
 *
 * Blocks of FSD_CPU_TILE_X_BYTES x FSD_CPU_TILE_Y_BYTES bytes stay in L1; inside a block,
 * elements of 1, 2, 4 and 8 bytes are transposed in SSE2 registers, 16 x 16, 8 x 8, 4 x 4 and
 * 2 x 2 at a time (16-byte elements are moved whole); other element sizes, and the ragged
 * edges, are moved one element at a time inside the same blocks. Large copies whose output
 * rows are 64-byte aligned stage blocks in an L1 buffer and write each output row's line with
 * streaming stores (cpu_transpose.c; docs/cpu-path.md).
 */
#ifndef FSD_CPU_TRANSPOSE_H
#define FSD_CPU_TRANSPOSE_H

#include <stdint.h>

#include "plan.h"

/* A block: FSD_CPU_TILE_X_BYTES of each input row (the side contiguous in the source) times
 * FSD_CPU_TILE_Y_BYTES of each output row, walked in columns FSD_CPU_TILE_COLUMN_BYTES wide;
 * multiples of 16. Measured on the benchmark's transposes (docs/cpu-path.md): one input line
 * by four output lines beat square blocks of 128 and 256 bytes, by up to a quarter for 4-byte
 * elements whose rows are 4 KiB apart. */
#ifndef FSD_CPU_TILE_X_BYTES
#define FSD_CPU_TILE_X_BYTES 64
#endif
#ifndef FSD_CPU_TILE_Y_BYTES
#define FSD_CPU_TILE_Y_BYTES 256
#endif
#ifndef FSD_CPU_TILE_COLUMN_BYTES
#define FSD_CPU_TILE_COLUMN_BYTES 4096
#endif

/*
 * Transposes a matrix of elements of `e` bytes: `in` holds ny rows `is` bytes apart, each of
 * nx contiguous elements; element (x, y) goes to out + x * os + y * e. Any e >= 1, any strides
 * (negative too), any alignment; in and out must not overlap.
 * @param stream  1: a large copy: streaming stores where the output rows allow (then fenced)
 * @param simd    0: element moves only
 */
void fsd_cpu_transpose(char *out, int64_t os, const char *in, int64_t is, uint64_t nx,
                       uint64_t ny, uint32_t e, int stream, int simd);

/*
 * The outer dimension the CPU tiles a plan along (stride elem_size on the strided side), or -1
 * when the plan is not a transpose for the CPU: TRANSPOSE plans give their tdim; RUNS and
 * GENERIC plans whose run is one element and whose range does not cut an element give their
 * innermost outer dimension (other than the last) of stride elem_size, whatever its extent.
 */
int fsd_cpu_transpose_dim(const fsd_plan *plan);

/* Copies the plan's range [begin, end) tile by tile along dimension `ta`
 * (fsd_cpu_transpose_dim) and the plan's innermost outer dimension; `stream` and `simd` as
 * for fsd_cpu_transpose. */
void fsd_cpu_copy_transpose(const fsd_plan *plan, int ta, int stream, int simd);

#endif
