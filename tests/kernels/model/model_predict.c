/*
 * model_predict.c — from a traced launch's totals to the report: Nsight-style ratios, loads in
 * flight, occupancy, SASS instructions, and the predicted fraction of a device copy:
 *
 *   predicted = min(1 (the copy roof), Little's-law bound, issue bound, shared bound)
 *               x sector efficiency / block balance
 *
 *   Little's law: bytes in flight on the GPU / DRAM latency, as a fraction of the bytes per
 *     second a device copy reads; latency swept over [latency_us_lo, latency_us_hi] (the high
 *     latency gives predicted_lo);
 *   issue: SMs x warp instructions per cycle x clock x bytes a warp loads per main-loop
 *     iteration / instructions per iteration, swept over [ipc_lo, ipc_hi];
 *   shared: one wavefront per cycle per SM;
 *   sector efficiency: 2 / (1 / load efficiency + 1 / store efficiency), the copy's DRAM
 *     traffic over this kernel's;
 *   block balance: the busiest block's bytes / the mean (the kernel lasts as long as its
 *     busiest block when every block runs at the same speed).
 * Not modeled: DRAM timing and refresh, L2 hits and set conflicts, TLB misses, clocks and power,
 * launch gaps, the order in which the GPU runs blocks.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model_internal.h"

const fsdm_gpu fsdm_h200 = {
    .name = "H200 SXM (modeled)",
    .sms = 132,
    .regs_per_sm = 65536,
    .reg_unit = 256,
    .max_threads_per_sm = 2048,
    .max_blocks_per_sm = 32,
    .smem_per_sm = 233472,
    .smem_per_block_reserved = 1024,
    .clock_ghz = 1.98,
    /* A device-to-device copy moved ~4.3 TB/s counting bytes read and written on this
     * workplace's H200s (/work/.library/device/KINDS.md): ~2.15 TB/s read. */
    .copy_read_gbps = 2150.0,
    .latency_us_lo = 0.5,
    .latency_us_hi = 1.0,
    .ipc_lo = 2.0,
    .ipc_hi = 4.0,
};

const char *fsdm_limits(void)
{
    return "modeled, not measured: addresses from the kernels' own step functions on the emulated "
           "grid; no DRAM timing, L2, TLB, clocks or launch gaps; DRAM latency 0.5-1 us, 2-4 warp "
           "instructions per cycle, 1.98 GHz, a device copy reading 2.15 TB/s (H200)";
}

static double ratio(double a, double b)
{
    return b > 0 ? a / b : 0.0;
}

static double min2(double a, double b)
{
    return a < b ? a : b;
}

static void occupancy(const fsdm_gpu *g, fsdm_report *r)
{
    const int warps = (int)((r->block + 31) / 32);
    const int by_threads = g->max_threads_per_sm / (int)(r->block ? r->block : 1);
    int best = by_threads < g->max_blocks_per_sm ? by_threads : g->max_blocks_per_sm;
    const char *limit = by_threads < g->max_blocks_per_sm ? "threads" : "blocks";
    if (!r->resources_known) {
        r->blocks_per_sm = best;
        snprintf(r->occupancy_limit, sizeof r->occupancy_limit, "%s (regs ?)", limit);
        return;
    }
    const int per_warp = ((r->regs * 32 + g->reg_unit - 1) / g->reg_unit) * g->reg_unit;
    const int by_regs = per_warp > 0 ? g->regs_per_sm / (per_warp * warps) : best;
    const int by_smem = g->smem_per_sm / (r->smem + g->smem_per_block_reserved);
    if (by_regs < best) {
        best = by_regs;
        limit = "registers";
    }
    if (by_smem < best) {
        best = by_smem;
        limit = "shared memory";
    }
    r->blocks_per_sm = best;
    snprintf(r->occupancy_limit, sizeof r->occupancy_limit, "%s", limit);
}

void fsdm_finish_report(const fsdm_totals *t, unsigned traced_blocks, const char *kernel,
                        const fsdm_gpu *g, fsdm_report *r)
{
    r->ld_requests = t->g_requests[0];
    r->ld_sectors = t->g_sectors[0];
    r->ld_bytes = t->g_bytes[0];
    r->st_requests = t->g_requests[1];
    r->st_sectors = t->g_sectors[1];
    r->st_bytes = t->g_bytes[1];
    r->ld_sectors_per_request = ratio(r->ld_sectors, r->ld_requests);
    r->st_sectors_per_request = ratio(r->st_sectors, r->st_requests);
    r->ld_efficiency = ratio(r->ld_bytes, 32.0 * r->ld_sectors);
    r->st_efficiency = ratio(r->st_bytes, 32.0 * r->st_sectors);
    r->sh_requests = t->s_requests[0] + t->s_requests[1];
    r->sh_wavefronts = t->s_wavefronts[0] + t->s_wavefronts[1];
    r->sh_ideal = t->s_ideal[0] + t->s_ideal[1];
    r->sh_wavefronts_per_request = ratio(r->sh_wavefronts, r->sh_requests);
    r->sh_ld_wavefronts_per_request = ratio(t->s_wavefronts[0], t->s_requests[0]);
    r->sh_st_wavefronts_per_request = ratio(t->s_wavefronts[1], t->s_requests[1]);
    r->sh_conflict = r->sh_ideal > 0 ? r->sh_wavefronts / r->sh_ideal : 1.0;
    if (r->ld_efficiency > 0 && r->st_efficiency > 0)
        r->sector_efficiency = 2.0 / (1.0 / r->ld_efficiency + 1.0 / r->st_efficiency);
    else
        r->sector_efficiency = r->ld_efficiency > 0 ? r->ld_efficiency : r->st_efficiency;

    /* Loads in flight. */
    r->load_bytes_per_batch = ratio(t->batch_bytes, t->batches);
    r->active_threads_per_block = ratio(t->active_threads, traced_blocks);
    r->bytes_in_flight_per_block = ratio(t->inflight_sum, traced_blocks);
    occupancy(g, r);
    const double per_sm = (double)r->grid / g->sms;
    r->resident_blocks_per_sm = per_sm < r->blocks_per_sm ? per_sm : r->blocks_per_sm;
    if (per_sm < r->blocks_per_sm)
        snprintf(r->occupancy_limit, sizeof r->occupancy_limit, "grid");
    r->bytes_in_flight_per_sm = r->bytes_in_flight_per_block * r->resident_blocks_per_sm;

    /* SASS: the main loop's instructions per iteration. */
    const double iters = t->iterations > 0 ? t->iterations : t->threads_with_accesses;
    r->iterations = ratio(iters, t->threads_with_accesses);
    fsdm_sass_query q;
    memset(&q, 0, sizeof q);
    q.kernel = kernel;
    int wl = 0;
    for (int w = 1; w < 5; w++)
        if (t->ld_width_bytes[w] > t->ld_width_bytes[wl])
            wl = w;
    q.load_width = 1 << wl;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
            for (int w = 0; w < 5; w++)
                q.per_iter[a][b][w] = ratio(t->per_thread[a][b][w], iters);
    for (int w = 0; w < 5; w++)
        for (int n = 0; n <= FSDM_MAX_BATCH; n++)
            q.batches[w][n] = ratio(t->batch_hist[w][n], iters);
    fsdm_sass_result sr;
    const double bytes_per_iter = ratio(t->g_bytes[0], iters); /* per thread */
    r->instructions_per_16b = -1;
    if (fsdm_sass_main_loop(&q, &sr) == 0 && sr.instructions > 0 && bytes_per_iter > 0) {
        r->loop_instructions = sr.instructions;
        r->instructions_per_16b = sr.instructions / (bytes_per_iter / 16.0);
    }
    snprintf(r->sass_note, sizeof r->sass_note, "%s", sr.note);

    /* Bounds, as fractions of a copy. */
    const double copy = g->copy_read_gbps * 1e9;
    const double inflight = r->bytes_in_flight_per_sm * g->sms;
    r->bound_latency_lo = min2(1.0, inflight / (g->latency_us_hi * 1e-6) / copy);
    r->bound_latency_hi = min2(1.0, inflight / (g->latency_us_lo * 1e-6) / copy);
    r->bound_issue_lo = r->bound_issue_hi = 1.0;
    if (r->instructions_per_16b > 0) {
        const double lanes = ratio(t->g_lanes[0], t->g_requests[0]);
        const double warp_bytes = lanes * bytes_per_iter;
        const double per_ipc = g->sms * g->clock_ghz * 1e9 * warp_bytes / r->loop_instructions;
        r->bound_issue_lo = min2(1.0, per_ipc * g->ipc_lo / copy);
        r->bound_issue_hi = min2(1.0, per_ipc * g->ipc_hi / copy);
    }
    r->bound_shared = 1.0;
    if (r->sh_wavefronts > 0 && r->ld_bytes > 0)
        r->bound_shared = min2(1.0, g->sms * g->clock_ghz * 1e9 * r->ld_bytes / r->sh_wavefronts / copy);
    double lo = 1.0;
    const char *limiter = "copy roof";
    if (r->bound_latency_lo < lo) {
        lo = r->bound_latency_lo;
        limiter = "latency";
    }
    if (r->bound_issue_lo < lo) {
        lo = r->bound_issue_lo;
        limiter = "issue";
    }
    if (r->bound_shared < lo) {
        lo = r->bound_shared;
        limiter = "shared";
    }
    const double hi = min2(min2(r->bound_latency_hi, r->bound_issue_hi), r->bound_shared);
    const double bal = r->block_balance > 0 ? r->block_balance : 1.0;
    r->predicted_lo = lo * r->sector_efficiency / bal;
    r->predicted_hi = hi * r->sector_efficiency / bal;
    snprintf(r->limiter, sizeof r->limiter, "%s", limiter);
}
