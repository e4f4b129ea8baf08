/*
 * bench_frames.h — what the CPU and GPU rows of fastserde-bench's frames group share
 * (bench_frames.c, bench_frames_gpu.c; the runners are declared in bench.h).
 */
#ifndef FSDB_FRAMES_H
#define FSDB_FRAMES_H

#include "bench.h"

/* The one tensor of every frame. */
#define FSDB_FRAME_TENSOR "kv"

/* The frames' options: the default checksum (cs), and none (nocs). */
void fsdb_frame_options_pair(fsd_frame_options *cs, fsd_frame_options *nocs);

/* malloc that exits on failure (a benchmark has nothing to recover). */
void *fsdb_frame_xmalloc(size_t n);

/* n bytes in t seconds, in GB/s (0 when t is 0). */
double fsdb_frame_gbps(size_t n, double t);

/*
 * Checks a frame of one tensor in host memory: its data (the last n bytes) equal ref, it opens,
 * it carries a checksum exactly when `cs`, its one tensor is FSDB_FRAME_TENSOR of n bytes,
 * fsd_frame_verify succeeds and, when scratch (size bytes) is given and the frame has a
 * checksum, a copy with one byte of data flipped fails verification with FSD_ERROR_CORRUPT.
 * Returns 1 when all hold, else 0 with what is wrong in why.
 */
int fsdb_frame_check(const unsigned char *frame, size_t size, const unsigned char *ref, size_t n, int cs,
                     unsigned char *scratch, char *why, size_t why_len);

/* The row's check column: "MISMATCH: why" when why is not empty, else "not timed: ..." when
 * `untimed` (a call failed, so nothing was timed), else "ok (baseline wrong: bad_base)" when
 * bad_base is not NULL, else "ok". */
void fsdb_frame_set_check(fsdb_result *r, const char *why, int untimed, const char *bad_base);

/* A new row of one view (bytes: the packed bytes), without baselines. */
fsdb_result *fsdb_frame_row(fsdb_results *rs, const char *device, const fsdb_model *m, fsdb_layout l,
                            const fsdb_dtype *dt, const fsdb_view *v, const char *op, const char *host_mem,
                            const char *timing, int threads, double t);

/* Runs operation `op` on buffer set `set` and returns when it is done. */
typedef void (*fsdb_frame_op_fn)(void *arg, int op, int set);

/*
 * Median seconds (host clock) of `iters` runs of each of ops[0..n), after one warm-up run of
 * each on every set; interleaved as bench_cpu.c's time_ops: round i runs every operation once,
 * each call on the next set.
 */
void fsdb_frame_time(fsdb_frame_op_fn run, void *arg, const int *ops, int n, int sets, int iters,
                     double *median);

#endif
