/*
 * runs_step.cuh — the step function of the CONTIG, RUNS and GENERIC paths: a gather (pack) or
 * scatter (unpack) of runs of contiguous bytes in words of plan.word bytes.
 *
 * Threads form groups of plan.group lanes (a power of two up to a warp). A unit of work is one
 * segment of one run (at most plan.seg_words words); groups take units grid-stride, and the
 * lanes of a group take consecutive words, so a warp reads and writes contiguous bytes. Only
 * the words inside the plan's packed range [begin, end) are copied.
 * NDIM >= 0 fixes the number of outer dims (the loop unrolls: RUNS); NDIM < 0 reads it from the
 * plan (GENERIC). I is the index type: uint32_t when plan.index64 is 0, else uint64_t.
 */
#ifndef FSD_RUNS_STEP_CUH
#define FSD_RUNS_STEP_CUH

#include "step_common.cuh"

/* Byte offset on the strided side of run `run`. */
template <int NDIM, typename I>
FSD_HD int64_t fsd_run_offset(const fsd_plan &p, I run)
{
    const int nd = NDIM >= 0 ? NDIM : p.ndim;
    int64_t off = 0;
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
    for (int d = nd - 1; d >= 0; d--) {
        I q = fsd_div(p.div[d], run);
        I c = run - q * (I)p.shape[d];
        run = q;
        off += (int64_t)c * p.stride[d];
    }
    return off;
}

/* Words [w0, w1) of a run, lane `lane` of `group`, as accesses of sizeof(T) bytes. Four
 * loads are issued before their stores, so that each thread keeps several in flight (the
 * compiler may not reorder them itself: source and destination could alias for all it knows). */
template <typename T, typename I>
FSD_HD void fsd_copy_words(char *to, const char *from, I w0, I w1, I lane, I group)
{
    const uint64_t size = sizeof(T);
    I w = w0 + lane;
    for (; w + 3 * group < w1; w += 4 * group) {
        const T a = fsd_load_as<T>(from + (uint64_t)w * size);
        const T b = fsd_load_as<T>(from + (uint64_t)(w + group) * size);
        const T c = fsd_load_as<T>(from + (uint64_t)(w + 2 * group) * size);
        const T d = fsd_load_as<T>(from + (uint64_t)(w + 3 * group) * size);
        fsd_store_as<T>(to + (uint64_t)w * size, a);
        fsd_store_as<T>(to + (uint64_t)(w + group) * size, b);
        fsd_store_as<T>(to + (uint64_t)(w + 2 * group) * size, c);
        fsd_store_as<T>(to + (uint64_t)(w + 3 * group) * size, d);
    }
    for (; w < w1; w += group)
        fsd_copy_as<T>(to + (uint64_t)w * size, from + (uint64_t)w * size);
}

template <int NDIM, typename I>
FSD_HD void fsd_runs_step(const fsd_plan &p, uint32_t block, uint32_t thread)
{
    const I gid = (I)block * p.block + thread;
    const I group = p.group;
    const I lane = gid & (group - 1);
    const I groups = ((I)p.grid * p.block) >> p.group_log2;
    const I units = (I)p.num_units;
    const I segs = (I)p.segs.divisor;
    const I seg_words = (I)p.seg_words;
    const I words = (I)p.words_per_run;
    for (I u = gid >> p.group_log2; u < units; u += groups) {
        FSD_MODEL_ITERATION();
        const I k = fsd_div(p.segs, u);
        const I run = (I)p.first_run + k;
        I w0 = (u - k * segs) * seg_words;
        I w1 = w0 + seg_words < words ? w0 + seg_words : words;
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
        char *to = p.dir == FSD_DIR_PACK ? packed : strided;
        const char *from = p.dir == FSD_DIR_PACK ? strided : packed;
        switch (p.word) {
        case 16: fsd_copy_words<uint4, I>(to, from, w0, w1, lane, group); break;
        case 8: fsd_copy_words<uint2, I>(to, from, w0, w1, lane, group); break;
        case 4: fsd_copy_words<uint32_t, I>(to, from, w0, w1, lane, group); break;
        case 2: fsd_copy_words<uint16_t, I>(to, from, w0, w1, lane, group); break;
        default: fsd_copy_words<uint8_t, I>(to, from, w0, w1, lane, group); break;
        }
    }
}

#endif
