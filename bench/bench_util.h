/*
 * bench_util.h — what every benchmark program shares: a monotonic clock, medians, a pool of
 * threads for the multi-threaded memcpy baseline, and buffer filling. C11; C++ includes it too.
 */
#ifndef FSDB_UTIL_H
#define FSDB_UTIL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Seconds on CLOCK_MONOTONIC. */
double fsdb_now(void);

/* Median of t[0..n) (sorts t in place); 0 for n == 0. */
double fsdb_median(double *t, int n);

/* Fills n bytes with a pattern that differs between neighbouring elements (never all zero). */
void fsdb_fill_pattern(void *p, size_t n, uint32_t seed);

/* Size of the last-level cache in bytes (sysconf), or 32 MiB when the system does not say. */
size_t fsdb_llc_bytes(void);

/* Logical CPUs online. */
int fsdb_cpu_count(void);

/* The CPU's model name from /proc/cpuinfo ("unknown" when absent), copied into buf. */
void fsdb_cpu_name(char *buf, size_t len);

/*
 * A memcpy split into up to `threads` contiguous shares of at least FSDB_MTCOPY_MIN_SHARE bytes
 * on persistent threads (the caller takes one share; a copy too small for two shares is one
 * memcpy on the caller): the baseline of the operations that run on a context's CPU threads.
 * Threads wait on a barrier between copies, so a copy costs no thread creation.
 */
#define FSDB_MTCOPY_MIN_SHARE ((size_t)256 << 10)
typedef struct fsdb_mtcopy fsdb_mtcopy;
fsdb_mtcopy *fsdb_mtcopy_create(int threads); /* NULL on failure; threads < 1 means 1 */
void fsdb_mtcopy_run(fsdb_mtcopy *m, void *dst, const void *src, size_t n);
void fsdb_mtcopy_destroy(fsdb_mtcopy *m);

/* The element size of a dtype name ("bf16", "fp16", "fp32", "fp64", "fp8", "u8", "i64", ...)
 * and its DLPack code and bits; returns 0 for an unknown name. */
int fsdb_dtype_parse(const char *name, uint8_t *code, uint8_t *bits);

#ifdef __cplusplus
}
#endif

#endif
