/*
 * runs_step.cuh — the step function of the CONTIG, RUNS and GENERIC paths: a gather (pack) or
 * scatter (unpack) of runs of contiguous bytes in words of p.word bytes.
 *
 * Threads form groups of p.group lanes (a power of two up to a warp). A unit is one segment of
 * one run (p.seg_words words); the lanes of a group take consecutive words, so a warp reads and
 * writes contiguous bytes. A group takes a batch of units at a time, grid-stride: each lane
 * loads its FSD_RUNS_SLOTS words of the whole batch (1 << wpl_log2 words in each of the batch's
 * units), and only then stores them, so that every thread keeps FSD_RUNS_SLOTS loads in flight
 * even when a run gives each lane a single word (runs of 256 bytes in 16-byte words). The
 * groups of a warp interleave their batches' units (plan.h), so that a warp's load of slot s
 * reads neighbouring units, however small the groups. The compiler may not reorder loads and stores itself: source and destination could
 * alias for all it knows. Only the words inside the plan's packed range [begin, end) move.
 *
 * NDIM >= 0 fixes the number of outer dims (the loop unrolls: RUNS); NDIM < 0 reads it from the
 * plan (GENERIC). I is the index type: uint32_t when p.index64 is 0, else uint64_t. P is the
 * plan or a kernel argument struct with the same members (kernel_args.cuh).
 */
#ifndef FSD_RUNS_STEP_CUH
#define FSD_RUNS_STEP_CUH

#include "step_common.cuh"

/* Byte offset on the strided side of run `run`. */
template <int NDIM, typename I, typename P>
FSD_HD int64_t fsd_run_offset(const P &p, I run)
{
    const int nd = NDIM >= 0 ? NDIM : p.ndim;
    int64_t off = 0;
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
    for (int d = nd - 1; d >= 0; d--) {
        I q = fsd_div(p.div[d], run);
        I c = run - q * (I)p.div[d].divisor;
        run = q;
        off += (int64_t)c * p.stride[d];
    }
    return off;
}

/* The batches of thread gid, in words of T. */
template <int NDIM, typename I, typename T, typename P>
FSD_HD void fsd_runs_batches(const P &p, I gid)
{
    const I lane = gid & (((I)1 << p.group_log2) - 1);
    const I groups = ((I)p.grid * FSD_BLOCK_THREADS) >> p.group_log2;
    const I batches = (I)p.num_batches, units = (I)p.num_units;
    const I segs = (I)p.segs.divisor, seg_words = (I)p.seg_words, words = (I)p.words_per_run;
    const uint32_t wpl_log2 = p.wpl_log2;
    const I wpl_mask = ((I)1 << wpl_log2) - 1;
    const uint32_t warp_log2 = 5 - p.group_log2; /* groups per warp, log2 */
    const I in_warp = (gid >> p.group_log2) & (((I)1 << warp_log2) - 1); /* = bt mod that */
    const uint64_t size = sizeof(T);
    for (I bt = gid >> p.group_log2; bt < batches; bt += groups) {
        FSD_MODEL_ITERATION();
        T v[FSD_RUNS_SLOTS];
        char *to[FSD_RUNS_SLOTS];
        /* The unit of the previous slot: a batch's slots walk its units in order. */
        I cur = ~(I)0, ws = 0, w0 = 0, w1 = 0;
        const char *from_run = nullptr;
        char *to_run = nullptr;
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
        for (int s = 0; s < FSD_RUNS_SLOTS; s++) {
            /* unit j = s / wpl of the batch: j * (groups per warp) + this group, from the
             * warp's first unit (bt is this group's batch: groups stride by whole warps) */
            const I u = (((bt >> warp_log2) << p.batch_log2) + ((I)s >> wpl_log2)) * ((I)1 << warp_log2) + in_warp;
            to[s] = nullptr;
            if (u >= units)
                continue;
            if (u != cur) {
                cur = u;
                const I k = fsd_div(p.segs, u);
                const I run = (I)p.first_run + k;
                ws = (u - k * segs) * seg_words;
                w0 = ws;
                w1 = ws + seg_words < words ? ws + seg_words : words;
                /* Clip to the plan's packed range [begin, end) (word-aligned: the plan saw to it). */
                const uint64_t start = (uint64_t)run * p.run_bytes;
                if (start < p.begin) {
                    const I lo = (I)((p.begin - start) >> p.word_log2);
                    w0 = w0 > lo ? w0 : lo;
                }
                if (start + p.run_bytes > p.end) {
                    const I hi = (I)((p.end - start) >> p.word_log2);
                    w1 = w1 < hi ? w1 : hi;
                }
                char *strided = p.strided + fsd_run_offset<NDIM, I>(p, run);
                char *packed = p.packed + ((int64_t)start - (int64_t)p.begin);
                to_run = p.dir == FSD_DIR_PACK ? packed : strided;
                from_run = p.dir == FSD_DIR_PACK ? strided : packed;
            }
            const I w = ws + (((I)s & wpl_mask) << p.group_log2) + lane;
            if (w >= w0 && w < w1) {
                v[s] = fsd_load_as<T>(from_run + (uint64_t)w * size);
                to[s] = to_run + (uint64_t)w * size;
            }
        }
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
        for (int s = 0; s < FSD_RUNS_SLOTS; s++)
            if (to[s] != nullptr)
                fsd_store_as<T>(to[s], v[s]);
    }
}

template <int NDIM, typename I, typename P>
FSD_HD void fsd_runs_step(const P &p, uint32_t block, uint32_t thread)
{
    const I gid = (I)block * FSD_BLOCK_THREADS + thread;
    switch (p.word) {
    case 16: fsd_runs_batches<NDIM, I, uint4>(p, gid); break;
    case 8: fsd_runs_batches<NDIM, I, uint2>(p, gid); break;
    case 4: fsd_runs_batches<NDIM, I, uint32_t>(p, gid); break;
    case 2: fsd_runs_batches<NDIM, I, uint16_t>(p, gid); break;
    default: fsd_runs_batches<NDIM, I, uint8_t>(p, gid); break;
    }
}

#endif
