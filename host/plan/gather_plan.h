/*
 * gather_plan.h — the plan of the paged-gather kernel (kernels/gather_step.cuh): a validated
 * fsd_kv (kv_layout.h) with the launch geometry. Plain C; passed by value as the kernel's only
 * parameter (about 750 bytes), and run on the CPU by the emulated grid.
 *
 * Model. The packed bytes are num_runs runs of run_bytes, in packed order; run r's cache
 * address comes from its coordinates over the outer dims: plain dims add index * stride, the
 * layer dim picks the base (layer_table[index] + layer_offset, or layer0), the token dim reads
 * slot s = slots[index] and adds (s / B) * block_stride + (s % B) * offset_stride. A negative
 * slot skips the run; a slot >= slot_limit skips it too and is counted in *invalid.
 *
 * Work. A unit is one segment of one run: group * lane_words words of `word` bytes, lane i of
 * the group moving words i, i + group, ... A group takes `batch` units at a time and issues all
 * their loads before any store, so that each thread has lane_words * batch words in flight:
 *   lane_words 1:   segments of `group` words (group = the run's words rounded up to a power of
 *                   two, at most 32), batch = FSD_GATHER_INFLIGHT units — short runs;
 *   lane_words 2/4: 16-byte words of runs longer than 32 words: groups of 32, segments of
 *                   32 * lane_words words (the run's words per lane rounded up to a power of
 *                   two, at most FSD_GATHER_INFLIGHT), FSD_GATHER_INFLIGHT / lane_words units.
 */
#ifndef FSD_GATHER_PLAN_H
#define FSD_GATHER_PLAN_H

#include "divider.h"
#include "kv_layout.h"
#include "plan.h"

/* Words each thread has loaded before it stores (more spill registers at 64 per thread). */
#define FSD_GATHER_INFLIGHT 4
/* Units a group batches: FSD_GATHER_INFLIGHT / lane_words, halved for one word per lane with
 * 64-bit indices (four units' 64-bit state would spill at 64 registers). */
#define FSD_GATHER_UNITS(lane_words, index64) \
    (FSD_GATHER_INFLIGHT / (lane_words) / ((index64) && (lane_words) == 1 ? 2 : 1))
/* Outer dims the unrolled kernel handles (plans with fewer are padded with size-1 dims);
 * plans with more take the kernel with the run-time loop. */
#define FSD_GATHER_UNROLLED_DIMS 4
/* Blocks per multiprocessor the grid is sized for (the kernel's __launch_bounds__). */
#define FSD_GATHER_BLOCKS_PER_SM 4

typedef struct fsd_gather_plan {
    fsd_direction dir;     /* PACK: gather (cache -> packed); UNPACK: scatter               */
    int ndim;              /* outer dims, outermost first                                   */
    int layer_dim, token_dim;
    int index64;           /* 1: unit indices need 64 bits                                  */
    uint64_t shape[FSD_GATHER_MAX_DIMS];
    int64_t stride[FSD_GATHER_MAX_DIMS];   /* bytes; plain dims only                       */
    fsd_divider div[FSD_GATHER_MAX_DIMS];  /* divides by shape[d]                          */
    uint64_t run_bytes, num_runs;
    uint64_t token_runs;   /* runs per index of the token dim (product of the inner shapes)  */
    char *packed;

    const uint64_t *layer_table; /* device-readable; NULL: one layer at layer0              */
    uint64_t layer_offset;
    char *layer0;
    uint64_t layer_below, layer_end; /* a layer's bytes: [base - below, base + end) (checks) */
    const char *slots;     /* device-readable                                               */
    int64_t slot_stride;   /* bytes                                                         */
    uint32_t slot_size;    /* 4 or 8                                                        */
    uint64_t slot_limit;
    fsd_divider block_div; /* divides by B                                                  */
    int64_t block_stride, offset_stride;
    unsigned long long *invalid; /* counter of slots >= slot_limit, or NULL                 */

    /* Geometry (see above). */
    uint32_t word, lane_words, batch;
    uint32_t group, group_log2;
    uint64_t words_per_run, seg_words, num_units;
    fsd_divider segs;      /* divides by the segments per run                               */
    uint32_t grid, block;
} fsd_gather_plan;

#ifdef __cplusplus
extern "C" {
#endif

/*
 * fsd_gather_plan_build: the kernel's plan for `kv` (engine FSD_KV_KERNEL, total_bytes > 0)
 * to or from `packed`. sm_count sizes the grid (one wave of FSD_GATHER_BLOCKS_PER_SM blocks per
 * multiprocessor), capped at max_blocks when > 0. Never fails.
 */
void fsd_gather_plan_build(const fsd_kv *kv, void *packed, fsd_direction dir,
                           unsigned long long *invalid, uint32_t sm_count, int max_blocks,
                           fsd_gather_plan *plan);

#ifdef __cplusplus
}
#endif

#endif
