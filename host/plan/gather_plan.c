/* gather_plan.c — the paged-gather kernel's plan and geometry (see gather_plan.h). */
#include <string.h>

#include "bits.h"
#include "gather_plan.h"

void fsd_gather_plan_build(const fsd_kv *kv, void *packed, fsd_direction dir,
                           unsigned long long *invalid, uint32_t sm_count, int max_blocks,
                           fsd_gather_plan *p)
{
    memset(p, 0, sizeof *p);
    p->dir = dir;
    /* Pad to the unrolled kernel's dims with size-1 dims in front. */
    const int pad = kv->ndim < FSD_GATHER_UNROLLED_DIMS ? FSD_GATHER_UNROLLED_DIMS - kv->ndim : 0;
    p->ndim = kv->ndim + pad;
    for (int d = 0; d < p->ndim; d++) {
        const int k = d - pad;
        p->shape[d] = k < 0 ? 1 : kv->shape[k];
        p->stride[d] = k < 0 ? 0 : kv->stride[k];
        fsd_divider_init(&p->div[d], p->shape[d]);
    }
    p->layer_dim = kv->layer_dim + pad;
    p->token_dim = kv->token_dim + pad;
    p->run_bytes = kv->run_bytes;
    p->num_runs = kv->num_runs;
    p->token_runs = 1;
    for (int d = p->token_dim + 1; d < p->ndim; d++)
        p->token_runs *= p->shape[d];
    p->packed = (char *)packed;
    p->layer_table = kv->layer_table;
    p->layer_offset = kv->layer_offset;
    p->layer0 = kv->layer0;
    p->layer_below = kv->below;
    p->layer_end = kv->above + kv->elem_size;
    p->slots = kv->slots;
    p->slot_stride = kv->slot_stride;
    p->slot_size = kv->slot_size;
    p->slot_limit = kv->slot_limit;
    fsd_divider_init(&p->block_div, kv->block_size);
    p->block_stride = kv->block_stride;
    p->offset_stride = kv->offset_stride;
    p->invalid = invalid;

    /* The widest word every run allows on both sides. The layer bases of a device table are
     * not known here: the kernel checks each run's cache address and copies a misaligned one
     * byte by byte. */
    uint64_t align = kv->run_bytes | (uintptr_t)packed | (uint64_t)kv->block_stride |
                     (uint64_t)kv->offset_stride;
    align |= kv->layer_table ? kv->layer_offset : (uintptr_t)kv->layer0;
    for (int d = 0; d < kv->ndim; d++)
        align |= (uint64_t)kv->stride[d];
    p->word = fsd_word_of(align);
    p->words_per_run = kv->run_bytes / p->word;
    const uint32_t inflight = FSD_GATHER_INFLIGHT;
    if (p->word == 16 && p->words_per_run > FSD_GROUP_MAX) {
        /* Runs longer than a warp's words: whole warps, 2 or 4 words per lane per unit (fewer
         * units, so fewer slot and layer-table reads per byte), the rest of the batch units. */
        const uint64_t per_lane = (p->words_per_run + FSD_GROUP_MAX - 1) / FSD_GROUP_MAX;
        p->group = FSD_GROUP_MAX;
        p->lane_words = fsd_ceil_pow2(per_lane, inflight);
    } else {
        p->group = fsd_ceil_pow2(p->words_per_run, FSD_GROUP_MAX);
        p->lane_words = 1;
    }
    p->group_log2 = fsd_log2_u32(p->group);
    p->seg_words = (uint64_t)p->group * p->lane_words;
    const uint64_t segs = (p->words_per_run + p->seg_words - 1) / p->seg_words;
    fsd_divider_init(&p->segs, segs);
    p->num_units = p->num_runs * segs;
    /* 32-bit indices while every unit and word index (and a grid's worth past it) fits. */
    p->index64 = p->num_units >= ((uint64_t)1 << 31) || p->words_per_run >= ((uint64_t)1 << 31);
    p->batch = FSD_GATHER_UNITS(p->lane_words, p->index64);

    const uint64_t threads = (p->num_units + p->batch - 1) / p->batch * p->group;
    uint64_t blocks = (threads + FSD_BLOCK_THREADS - 1) / FSD_BLOCK_THREADS;
    uint64_t cap = (uint64_t)(sm_count ? sm_count : 1) * FSD_GATHER_BLOCKS_PER_SM;
    if (max_blocks > 0 && cap > (uint64_t)max_blocks)
        cap = (uint64_t)max_blocks;
    if (blocks > cap) {
        /* More work than one wave: as many blocks as give each the same number of rounds (a
         * grid of the cap would leave some blocks one round more than the others). */
        const uint64_t rounds = (blocks + cap - 1) / cap;
        blocks = (blocks + rounds - 1) / rounds;
    }
    p->grid = blocks == 0 ? 1 : (uint32_t)blocks;
    p->block = FSD_BLOCK_THREADS;
}
