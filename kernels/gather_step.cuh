/*
 * gather_step.cuh — the step function of the paged gather and scatter (host/plan/gather_plan.h): one
 * kernel for every layer and token of a KV-cache chunk, reading the slots and the layer table on
 * the GPU.
 *
 * Groups of plan.group lanes take units (segments of runs, see gather_plan.h) grid-stride, UB at
 * a time: for each unit the group resolves the run's cache address (the slot and the layer
 * base are read here), then every lane issues the loads of all its words of the UB units, then
 * the stores. At batch position k the groups of a warp hold consecutive units, so a warp's
 * accesses on the packed side are contiguous.
 *
 * T is the access word (plan.word bytes), LW the words per lane per unit (plan.lane_words),
 * NDIM the outer dims (FSD_GATHER_UNROLLED_DIMS: the unrolled loop; -1: plan.ndim at run time),
 * I the index type (uint32_t when plan.index64 is 0).
 */
#ifndef FSD_GATHER_STEP_CUH
#define FSD_GATHER_STEP_CUH

#include "gather_plan.h"
#include "step_common.cuh"

#if defined(__CUDA_ARCH__)
#define FSD_GATHER_UNROLL _Pragma("unroll")
#else
#define FSD_GATHER_UNROLL
#endif

FSD_HD void fsd_gather_count(unsigned long long *counter)
{
#if defined(__CUDA_ARCH__)
    atomicAdd(counter, 1ull);
#else
    __atomic_fetch_add(counter, 1ull, __ATOMIC_RELAXED);
#endif
}

/* Slot t (int32 or int64, in memory the GPU reads). */
FSD_HD int64_t fsd_gather_slot(const fsd_gather_plan &p, uint64_t t)
{
    const char *a = p.slots + (int64_t)t * p.slot_stride;
    return p.slot_size == 4 ? (int64_t)fsd_load_as<int32_t>(a) : fsd_load_as<int64_t>(a);
}

/* The cache address of run `run`, or NULL when its slot is skipped: negative, or past the
 * cache. A slot past the cache is counted once per call: by the thread that passes `first`
 * (lane 0 of segment 0) on the slot's first run (every other coordinate 0). */
template <int NDIM, typename I>
FSD_HD char *fsd_gather_cache_addr(const fsd_gather_plan &p, I run, bool first)
{
    /* The coordinates, innermost first, without a branch per dim: the indirect dims have
     * stride 0 in the plan, and their coordinates are picked out by selects (an array indexed
     * at run time would live in local memory). */
    const int nd = NDIM >= 0 ? NDIM : p.ndim;
    int64_t off = 0;
    I r = run, token = 0, layer = 0;
    FSD_GATHER_UNROLL
    for (int d = nd - 1; d >= 0; d--) {
        const I q = fsd_div(p.div[d], r);
        const I c = r - q * (I)p.shape[d];
        r = q;
        off += (int64_t)c * p.stride[d];
        token = d == p.token_dim ? c : token;
        layer = d == p.layer_dim ? c : layer;
    }
    const int64_t s = fsd_gather_slot(p, token);
    if (s < 0)
        return NULL;
    if ((uint64_t)s >= p.slot_limit) {
        if (first && p.invalid != NULL && (uint64_t)run == (uint64_t)token * p.token_runs)
            fsd_gather_count(p.invalid);
        return NULL;
    }
    const uint64_t block = p.slot_limit <= UINT32_MAX ? fsd_div32(&p.block_div, (uint32_t)s)
                                                      : fsd_div64(&p.block_div, (uint64_t)s);
    const uint64_t pos = (uint64_t)s - block * p.block_div.divisor;
    off += (int64_t)block * p.block_stride + (int64_t)pos * p.offset_stride;
    char *base = p.layer_table == NULL ? p.layer0
                                       : (char *)(uintptr_t)(fsd_load_as<uint64_t>(
                                             (const char *)(p.layer_table + layer)) + p.layer_offset);
    return base + off;
}

template <typename T, int LW, int NDIM, typename I>
FSD_HD void fsd_gather_step(const fsd_gather_plan &p, uint32_t block, uint32_t thread)
{
    constexpr int UB = FSD_GATHER_UNITS(LW, sizeof(I) > 4); /* units per batch */
    const I gid = (I)block * p.block + thread;
    const I group = p.group;
    const I lane = gid & (group - 1);
    const I groups = ((I)p.grid * p.block) >> p.group_log2;
    const I units = (I)p.num_units;
    const I segs = (I)p.segs.divisor;
    const I seg_words = (I)p.seg_words;
    const I words = (I)p.words_per_run;
    for (I u0 = gid >> p.group_log2; u0 < units; u0 += groups * UB) {
        FSD_MODEL_ITERATION();
        /* Per unit: its segment's first word on each side and its words (0: skipped). */
        const char *from[UB];
        char *to[UB];
        uint32_t n[UB];
        FSD_GATHER_UNROLL
        for (int k = 0; k < UB; k++) {
            from[k] = NULL;
            to[k] = NULL;
            n[k] = 0;
            const I u = u0 + (I)k * groups;
            if (u >= units)
                continue;
            const I run = segs == 1 ? u : fsd_div(p.segs, u);
            const I seg = u - run * segs;
            char *cache = fsd_gather_cache_addr<NDIM, I>(p, run, seg == 0 && lane == 0);
            if (cache == NULL)
                continue;
            const I a = seg * seg_words;
            const uint32_t len = (uint32_t)(a + seg_words < words ? seg_words : words - a);
            char *packed = p.packed + (uint64_t)run * p.run_bytes + (uint64_t)a * sizeof(T);
            cache += (uint64_t)a * sizeof(T);
            to[k] = p.dir == FSD_DIR_PACK ? packed : cache;
            from[k] = p.dir == FSD_DIR_PACK ? cache : packed;
            if (((uintptr_t)cache & (sizeof(T) - 1)) != 0) {
                /* A layer base from the table that is not aligned to the word: bytes. */
                const uint32_t bytes = len * (uint32_t)sizeof(T);
                for (uint32_t x = (uint32_t)lane; x < bytes; x += (uint32_t)group)
                    fsd_copy_as<uint8_t>(to[k] + x, from[k] + x);
                continue;
            }
            n[k] = len;
        }
        T v[UB * LW];
        FSD_GATHER_UNROLL
        for (int k = 0; k < UB; k++) {
            FSD_GATHER_UNROLL
            for (int i = 0; i < LW; i++) {
                const uint32_t w = (uint32_t)lane + (uint32_t)(i * group);
                if (w < n[k])
                    v[k * LW + i] = fsd_load_as<T>(from[k] + (uint64_t)w * sizeof(T));
            }
        }
        FSD_GATHER_UNROLL
        for (int k = 0; k < UB; k++) {
            FSD_GATHER_UNROLL
            for (int i = 0; i < LW; i++) {
                const uint32_t w = (uint32_t)lane + (uint32_t)(i * group);
                if (w < n[k])
                    fsd_store_as<T>(to[k] + (uint64_t)w * sizeof(T), v[k * LW + i]);
            }
        }
    }
}

/*
 * The instantiation a plan needs: calls `f.template run<T, LW, NDIM, I>()`. Shared by the
 * kernel launch (gather_launch.cu) and the emulated grid, so that both run the same one.
 * 16-byte words come unrolled or not, with 1, 2 or FSD_GATHER_INFLIGHT words per lane; the
 * narrower words (odd run lengths or strides) with one word per lane and the run-time loop.
 */
template <typename I, typename F>
void fsd_gather_dispatch(const fsd_gather_plan &p, F &f)
{
    const bool unrolled = p.ndim == FSD_GATHER_UNROLLED_DIMS;
    switch (p.word) {
    case 16:
        if (p.lane_words == FSD_GATHER_INFLIGHT) {
            if (unrolled)
                f.template run<uint4, FSD_GATHER_INFLIGHT, FSD_GATHER_UNROLLED_DIMS, I>();
            else
                f.template run<uint4, FSD_GATHER_INFLIGHT, -1, I>();
        } else if (p.lane_words == 2) {
            if (unrolled)
                f.template run<uint4, 2, FSD_GATHER_UNROLLED_DIMS, I>();
            else
                f.template run<uint4, 2, -1, I>();
        } else if (unrolled) {
            f.template run<uint4, 1, FSD_GATHER_UNROLLED_DIMS, I>();
        } else {
            f.template run<uint4, 1, -1, I>();
        }
        break;
    case 8: f.template run<uint2, 1, -1, I>(); break;
    case 4: f.template run<uint32_t, 1, -1, I>(); break;
    case 2: f.template run<uint16_t, 1, -1, I>(); break;
    default: f.template run<uint8_t, 1, -1, I>(); break;
    }
}

#endif
