/*
 * model_internal.h — what the recorder (model_trace.cu) hands the analysis (model_predict.c).
 */
#ifndef FSDM_MODEL_INTERNAL_H
#define FSDM_MODEL_INTERNAL_H

#include "access_model.h"
#include "model_sass.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Totals over the traced blocks. Index [0] loads, [1] stores. */
typedef struct fsdm_totals {
    double g_requests[2], g_sectors[2], g_bytes[2], g_lanes[2];
    double s_requests[2], s_wavefronts[2], s_ideal[2];
    double batches, batch_bytes;          /* batches of global loads (ended by a store/barrier) */
    double batch_hist[5][FSDM_MAX_BATCH + 1]; /* [log2 widest load][loads in the batch]       */
    double active_threads;                /* threads with at least one batch                    */
    double inflight_sum;                  /* sum over them of their mean batch bytes            */
    double threads_with_accesses;
    double iterations;                    /* FSD_MODEL_ITERATION marks                          */
    double per_thread[2][2][5];           /* accesses [space][store][log2 width]                */
    double ld_width_bytes[5];             /* global load bytes by log2 width                    */
} fsdm_totals;

/* Fills the rest of *r (kernel, grid, block, resources and balance already set) from the
 * totals of `traced_blocks` blocks: ratios, loads in flight, occupancy, SASS, prediction. */
void fsdm_finish_report(const fsdm_totals *t, unsigned traced_blocks, const char *kernel,
                        const fsdm_gpu *gpu, fsdm_report *r);

/* 1 when the ptxas table has `kernel` (demangled, up to the '('). */
int fsdm_kernel_known(const char *kernel);

#ifdef __cplusplus
}
#endif

#endif
