/*
 * access_model.h — the memory-access model of the CUDA kernels, without a GPU (C interface).
 *
 * The emulated grid runs a kernel's own step functions on the CPU with a hook on every global
 * and shared access (kernels/step_common.cuh). The model runs the 32 lanes of each warp, groups
 * the n-th access of every lane at one source site into one warp instruction, and derives what
 * Nsight Compute would count and what limits a memory-bound kernel:
 *   - global load/store sectors per request and sector efficiency (bytes used / 32-byte sectors
 *     touched), as Nsight Compute's l1tex counters count them;
 *   - shared-memory wavefronts per request (32 banks of 4 bytes; 8-byte accesses in half-warps,
 *     16-byte ones in quarter-warps), and the ratio to the conflict-free count (1.0 = none);
 *   - the bytes of global loads a thread issues before its first store (or barrier), i.e. what
 *     it keeps in flight, and per SM at the occupancy that ptxas's registers and shared memory
 *     allow (from a table made at build time by ptxas -v for sm_90, fsdm_resources.c);
 *   - SASS instructions per 16 bytes moved in the main loop, from cuobjdump (when found);
 *   - block balance (the busiest block's bytes / the mean);
 *   - a predicted fraction of a device copy's speed, as a range (see fsdm_predict below).
 * All figures are MODELED, not measured: no DRAM timing, no L2 or TLB, no clocks, no launch gaps.
 *
 * Kernels: fsdm_model_plan (the library's kernels, through the plan's own path), fsdm_model_copy16
 * and fsdm_model_naive (fastserde-bench's baselines). Adding a kernel: see model_driver.h.
 */
#ifndef FSDM_ACCESS_MODEL_H
#define FSDM_ACCESS_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "plan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The GPU the model predicts for. fsdm_h200 holds the H200 SXM's figures. */
typedef struct fsdm_gpu {
    const char *name;
    int sms;                    /* multiprocessors                                          */
    int regs_per_sm;            /* 32-bit registers                                         */
    int reg_unit;               /* registers are allocated per warp in units of this many   */
    int max_threads_per_sm;
    int max_blocks_per_sm;
    int smem_per_sm;            /* bytes of shared memory a multiprocessor can give blocks  */
    int smem_per_block_reserved;/* bytes the runtime reserves per block                      */
    double clock_ghz;           /* SM clock                                                  */
    double copy_read_gbps;      /* GB/s read by a device-to-device copy (half its traffic)   */
    double latency_us_lo, latency_us_hi; /* the sweep of DRAM latency under load            */
    double ipc_lo, ipc_hi;      /* warp instructions issued per cycle per SM (of at most 4)  */
} fsdm_gpu;

extern const fsdm_gpu fsdm_h200;

typedef struct fsdm_report {
    char kernel[160];            /* the kernel (template arguments as ptxas/c++filt print them) */
    char note[160];              /* what was modeled, when not the kernel itself                 */
    uint32_t grid, block;
    int modeled;                 /* 0: nothing was traced (e.g. cudaMemcpyAsync): no figures   */

    /* Global memory, totals over the grid and ratios. */
    double ld_requests, ld_sectors, ld_bytes;
    double st_requests, st_sectors, st_bytes;
    double ld_sectors_per_request, st_sectors_per_request;
    double ld_efficiency, st_efficiency; /* bytes requested / (32 x sectors); 0 when no access */
    /* Shared memory. */
    double sh_requests, sh_wavefronts, sh_ideal;
    double sh_wavefronts_per_request;    /* as Nsight Compute counts (16-byte lanes: >= 4)      */
    double sh_conflict;                  /* wavefronts / conflict-free wavefronts: 1.0 = none   */
    double sh_ld_wavefronts_per_request, sh_st_wavefronts_per_request; /* loads, stores apart  */
    /* Loads in flight. */
    double load_bytes_per_batch;  /* mean bytes of global loads a thread issues before its next
                                   * store or barrier (a dependent use)                       */
    double active_threads_per_block; /* threads that issued a global load, per block (mean)    */
    double bytes_in_flight_per_block;
    int regs, smem, spill_bytes, resources_known; /* ptxas -v, sm_90                           */
    int blocks_per_sm;            /* occupancy: blocks that fit on one SM                       */
    char occupancy_limit[24];     /* "registers", "shared memory", "threads", "grid", ...       */
    double resident_blocks_per_sm;/* min(occupancy, grid / SMs)                                 */
    double bytes_in_flight_per_sm;
    /* Instructions (SASS, sm_90). */
    double instructions_per_16b;  /* < 0: unknown (no cuobjdump, or the kernel not found)      */
    double loop_instructions;     /* estimated instructions per main-loop iteration             */
    double iterations;            /* main-loop iterations per thread (mean)                    */
    char sass_note[200];
    /* Balance. */
    double block_balance;         /* busiest block's global bytes / mean over the grid          */
    /* Bounds, as fractions of a device copy, and the prediction. */
    double sector_efficiency;     /* 2 / (1/ld_eff + 1/st_eff): the copy's traffic over ours    */
    double bound_latency_lo, bound_latency_hi; /* Little's law at latency_us_hi / _lo         */
    double bound_issue_lo, bound_issue_hi;     /* at ipc_lo / ipc_hi; 1 when unknown          */
    double bound_shared;                       /* one wavefront per cycle per SM              */
    double predicted_lo, predicted_hi;
    char limiter[24];             /* what bounds predicted_lo: "latency", "issue", "shared",
                                   * "copy roof"                                              */
} fsdm_report;

/* Options of a model run. */
typedef struct fsdm_options {
    const fsdm_gpu *gpu;          /* NULL: fsdm_h200                                            */
    int sample;                   /* trace every sample-th block in detail (1 or 0: all); the
                                   * others run and count bytes only (balance stays exact)    */
} fsdm_options;

/* Runs `plan` on the emulated grid with the access hooks (the plan's memory is really read and
 * written, as fsdt_emulate does) and fills *r. CONTIG plans: cudaMemcpyAsync on the GPU, nothing
 * to trace: r->modeled = 0 and r->note says so. Returns 0, or -1 for an unknown path. */
int fsdm_model_plan(const fsd_plan *plan, const fsdm_options *opt, fsdm_report *r);

/* The checksum pack (kernels/checksum_step.cuh, fsd_cs_kernel) of `plan`, a whole-tensor pack
 * plan, with the grid fsd_plan_checksum gives for the model's GPU; the plan's memory is really
 * read and written. Returns 0, or -1 for a plan the kernel does not take. */
int fsdm_model_checksum(const fsd_plan *plan, const fsdm_options *opt, fsdm_report *r);

/* The paged gather's kernel (kernels/gather_step.cuh) for `plan`, with the instantiation the
 * launch picks; the plan's memory (host memory laid out like the GPU's) is really read and
 * written. Returns 0. */
struct fsd_gather_plan;
int fsdm_model_gather(const struct fsd_gather_plan *plan, const fsdm_options *opt, fsdm_report *r);

/* fastserde-bench's 16-byte copy kernel (bench/bench_kernels.cu) on n bytes, `blocks` blocks
 * (0: 8 per SM, as fsdb_copy16 picks). dst and src 16-byte aligned. */
int fsdm_model_copy16(void *dst, const void *src, size_t n, unsigned blocks,
                      const fsdm_options *opt, fsdm_report *r);

/* fastserde-bench's naive one-element-per-thread kernel on a view given as ndim, shape and
 * strides (elements), elem_size 1, 2, 4, 8 or 16 bytes: element i of the packed order. */
int fsdm_model_naive(int ndim, const int64_t *shape, const int64_t *strides, uint32_t elem_size,
                     char *strided, char *packed, int unpack, const fsdm_options *opt,
                     fsdm_report *r);

/* The limits every figure carries (one line, for tables and JSON). */
const char *fsdm_limits(void);

/* 1 when SASS could be read (cuobjdump and nvdisasm found); *why says what was looked for. */
int fsdm_sass_available(const char **why);

#ifdef __cplusplus
}
#endif

#endif
