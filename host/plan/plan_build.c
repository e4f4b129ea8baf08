/* plan_build.c — coalescing, path choice, word width, tiles and grid (see plan.h). */
#include <string.h>

#include "bits.h"
#include "plan_build.h"

/* TRANSPOSE only pays when both tile axes are at least this long; below, RUNS moves elements. */
#define FSD_TRANSPOSE_MIN_EXTENT 8

const char *fsd_path_name(fsd_path path)
{
    switch (path) {
    case FSD_PATH_EMPTY: return "empty";
    case FSD_PATH_CONTIG: return "contig";
    case FSD_PATH_RUNS: return "runs";
    case FSD_PATH_GENERIC: return "generic";
    case FSD_PATH_TRANSPOSE: return "transpose";
    default: return "unknown";
    }
}

/* Merges the layout's dims with the element (an innermost dim of elem_size bytes, stride 1):
 * outer dims go to plan->shape/stride, the innermost contiguous bytes to plan->run_bytes. */
static void coalesce(const fsd_layout *l, fsd_plan *p)
{
    uint64_t run = l->elem_size;
    int n = 0;
    /* Walk from the innermost dim outwards, building the outer dims innermost-first. */
    uint64_t shape[FSD_PLAN_MAX_DIMS];
    int64_t stride[FSD_PLAN_MAX_DIMS];
    int in_run = 1;
    for (int d = l->ndim - 1; d >= 0; d--) {
        if (in_run && l->stride[d] == (int64_t)run) {
            run *= l->shape[d];
            continue;
        }
        in_run = 0;
        /* Merge with the inner neighbour when stride[d] == its stride times its shape; a
         * product past 64 bits cannot be a valid stride, so those dims never merge. */
        int64_t span;
        if (n > 0 && !__builtin_mul_overflow(stride[n - 1], (int64_t)shape[n - 1], &span) &&
            l->stride[d] == span) {
            shape[n - 1] *= l->shape[d];
            continue;
        }
        shape[n] = l->shape[d];
        stride[n] = l->stride[d];
        n++;
    }
    p->run_bytes = run;
    p->ndim = n;
    uint64_t pstride = run;
    for (int k = 0; k < n; k++) { /* k-th from the inside is dim n - 1 - k */
        int d = n - 1 - k;
        p->shape[d] = shape[k];
        p->stride[d] = stride[k];
        p->pstride[d] = pstride;
        pstride *= shape[k];
        fsd_divider_init(&p->div[d], shape[k]);
    }
}

/* Blocks for `items` pieces of work, `per_block` at a time, at most FSD_BLOCKS_PER_SM per SM
 * (one wave). When the pieces outnumber the wave, each block takes ceil(items / (cap *
 * per_block)) rounds of them grid-stride, and the grid shrinks to just what those rounds need:
 * every block then has the same number of pieces, give or take one (a kernel lasts as long as
 * its busiest block). */
static uint32_t grid_for(uint64_t items, uint64_t per_block, uint32_t sm_count)
{
    uint64_t blocks = (items + per_block - 1) / per_block;
    uint64_t cap = sm_count == 0 ? 1 : (uint64_t)sm_count * FSD_BLOCKS_PER_SM;
    if (blocks > cap) {
        uint64_t rounds = (blocks + cap - 1) / cap;
        blocks = (blocks + rounds - 1) / rounds;
    }
    return blocks == 0 ? 1 : (uint32_t)blocks;
}

/* The outer dim that is contiguous on the strided side, when tiling pays; else -1. Tiles
 * move whole elements, so the range must not cut one. */
static int transpose_dim(const fsd_plan *p)
{
    uint32_t e = p->elem_size;
    if (p->run_bytes != e || p->ndim < 2 || (e & (e - 1)) != 0 || e > 16)
        return -1;
    if (p->begin % e != 0 || p->end % e != 0)
        return -1;
    if (p->shape[p->ndim - 1] < FSD_TRANSPOSE_MIN_EXTENT)
        return -1;
    for (int d = p->ndim - 2; d >= 0; d--)
        if (p->stride[d] == (int64_t)e && p->shape[d] >= FSD_TRANSPOSE_MIN_EXTENT)
            return d;
    return -1;
}

static void plan_transpose(fsd_plan *p, int tdim, uint32_t sm_count)
{
    uint32_t e = p->elem_size;
    int inner = p->ndim - 1;
    p->path = FSD_PATH_TRANSPOSE;
    p->tdim = tdim;
    /* Words of 4 bytes for 1- and 2-byte elements when every word would be aligned: the
     * strided side moves along tdim, the packed side along the innermost dim. */
    uint64_t align = (uintptr_t)p->strided | (uintptr_t)p->packed | p->begin | p->end;
    for (int d = 0; d < p->ndim; d++) {
        if (d != tdim)
            align |= (uint64_t)p->stride[d];
        if (d != inner)
            align |= p->pstride[d];
    }
    p->tile_vec = (e < 4 && (align & 3) == 0) ? 4 / e : 1;
    /* Bytes per global access: a 4-byte word of 1- or 2-byte elements, else the widest
     * access (up to the element) that every element's address allows. */
    p->word = p->tile_vec > 1 ? 4 : fsd_word_of(align | e);
    p->tile = FSD_TILE_WORDS * p->tile_vec;
    p->tile_pitch = p->tile + (e < 4 ? 4 / e : 1);
    p->tile_a = p->tile_b = p->tile;
    /* 16-byte tiles: 128 source rows of 128 bytes (source: the strided side for pack, rows
     * along the innermost dim; the packed side for unpack, rows along tdim). Every row of
     * every tile must start on 16 bytes on both sides: the bases (the packed side's byte 0
     * is at packed - begin) and every stride but the elements' own; and one whole tile must
     * fit, else the word tiles do better. */
    uint64_t a16 = (uintptr_t)p->strided | ((uintptr_t)p->packed - p->begin);
    for (int d = 0; d < p->ndim; d++) {
        if (d != tdim)
            a16 |= (uint64_t)p->stride[d];
        if (d != inner)
            a16 |= p->pstride[d];
    }
    uint32_t along_a = p->dir == FSD_DIR_PACK ? 128 / e : 128, along_b = p->dir == FSD_DIR_PACK ? 128 : 128 / e;
    if ((a16 & 15) == 0 && p->shape[tdim] >= along_a && p->shape[inner] >= along_b) {
        p->tiles16 = 1;
        p->word = 16;
        p->tile_a = along_a;
        p->tile_b = along_b;
    }
    uint64_t ta = (p->shape[tdim] + p->tile_a - 1) / p->tile_a;
    uint64_t tb = (p->shape[inner] + p->tile_b - 1) / p->tile_b;
    fsd_divider_init(&p->tiles_a, ta);
    fsd_divider_init(&p->tiles_b, tb);
    uint64_t batch = p->num_runs / (p->shape[tdim] * p->shape[inner]);
    p->num_tiles = batch * ta * tb;
    p->grid = grid_for(p->num_tiles, 1, sm_count);
}

static void plan_runs(fsd_plan *p, uint32_t sm_count)
{
    uint64_t align = p->run_bytes | (uintptr_t)p->strided | (uintptr_t)p->packed | p->begin | p->end;
    for (int d = 0; d < p->ndim; d++)
        align |= (uint64_t)p->stride[d];
    p->word = fsd_word_of(align);
    p->word_log2 = fsd_log2_u32(p->word);
    p->words_per_run = p->run_bytes / p->word;
    p->group = fsd_ceil_pow2(p->words_per_run, FSD_GROUP_MAX);
    p->group_log2 = fsd_log2_u32(p->group);
    /* Words per lane per unit: as many of FSD_RUNS_SLOTS as the run fills (a power of two);
     * the rest of a batch's slots go to the next units. */
    uint64_t per_lane = (p->words_per_run + p->group - 1) / p->group;
    p->wpl_log2 = fsd_log2_u32(fsd_ceil_pow2(per_lane, FSD_RUNS_SLOTS));
    p->batch_log2 = fsd_log2_u32(FSD_RUNS_SLOTS) - p->wpl_log2;
    p->seg_words = (uint64_t)p->group << p->wpl_log2;
    uint64_t segs = (p->words_per_run + p->seg_words - 1) / p->seg_words;
    fsd_divider_init(&p->segs, segs);
    /* Only the runs that [begin, end) touches. */
    p->first_run = p->begin / p->run_bytes;
    uint64_t last_run = (p->end + p->run_bytes - 1) / p->run_bytes;
    p->num_units = (last_run - p->first_run) * segs;
    /* Whole warps of batches: (32 / group) << batch_log2 units each. */
    uint32_t warp_log2 = fsd_log2_u32(FSD_GROUP_MAX) - p->group_log2;
    uint64_t per_warp = (uint64_t)1 << (warp_log2 + p->batch_log2);
    p->num_batches = ((p->num_units + per_warp - 1) / per_warp) << warp_log2;
    if (p->ndim == 0)
        p->path = FSD_PATH_CONTIG;
    else
        p->path = p->ndim <= FSD_RUNS_MAX_DIMS ? FSD_PATH_RUNS : FSD_PATH_GENERIC;
    p->grid = grid_for(p->num_batches, FSD_BLOCK_THREADS >> p->group_log2, sm_count);
}

/* The transpose tiles of the checksum pack fit the plan: a TRANSPOSE plan whose packed rows
 * are whole leaves, or divide a leaf with tdim just outside the row (and rows of one batch
 * index fill whole leaves, unless there is one batch index); whose source chunks of 16 bytes
 * along tdim are all inside or all outside the tensor; whose rows and strides (but tdim's)
 * start on 16 bytes. Sets cs_rows_a and cs_row. */
static int checksum_transpose(fsd_plan *p)
{
    const uint64_t e = p->elem_size;
    if (p->path != FSD_PATH_TRANSPOSE || p->dir != FSD_DIR_PACK || (e & (e - 1)) != 0 || e > 16)
        return 0;
    const int ta = p->tdim, tb = p->ndim - 1;
    const uint64_t row = p->shape[tb] * e, batch = p->num_runs / (p->shape[ta] * p->shape[tb]);
    if ((p->shape[ta] * e) % 16 != 0)
        return 0;
    uint64_t align = (uintptr_t)p->strided;
    for (int d = 0; d < p->ndim; d++)
        if (d != ta)
            align |= (uint64_t)p->stride[d];
    if ((align & 15) != 0)
        return 0;
    if (row % FSD_CS_LEAF == 0) {
        p->cs_row = FSD_CS_LEAF;
        p->cs_rows_a = FSD_CS_TILE / FSD_CS_LEAF;
        return 1;
    }
    if (FSD_CS_LEAF % row != 0 || ta != tb - 1 || (row / e) % 4 != 0 ||
        ((p->shape[ta] * row) % FSD_CS_LEAF != 0 && batch != 1))
        return 0;
    p->cs_row = (uint32_t)row;
    p->cs_rows_a = (uint32_t)(FSD_CS_TILE / row);
    return 1;
}

void fsd_plan_checksum(fsd_plan *p, uint32_t sm_count)
{
    p->cs_tiles = (p->total_bytes + FSD_CS_TILE - 1) / FSD_CS_TILE;
    p->cs_transpose = checksum_transpose(p);
    if (p->cs_transpose) {
        const int ta = p->tdim, tb = p->ndim - 1;
        const uint64_t tiles_a = (p->shape[ta] + p->cs_rows_a - 1) / p->cs_rows_a;
        const uint64_t tiles_b = p->shape[tb] * p->elem_size / p->cs_row;
        fsd_divider_init(&p->cs_ta, tiles_a);
        fsd_divider_init(&p->cs_tb, tiles_b);
        p->cs_tiles = p->num_runs / (p->shape[ta] * p->shape[tb]) * tiles_a * tiles_b;
    }
    p->cs_grid = grid_for(p->cs_tiles, 1, sm_count);
    /* The gather reads words that every run and stride of the strided side keeps aligned; the
     * packed side is the block's shared tile (aligned) and the tile's store out chooses its own
     * width from the destination's alignment. */
    uint64_t align = p->run_bytes | (uintptr_t)p->strided;
    for (int d = 0; d < p->ndim; d++)
        align |= (uint64_t)p->stride[d];
    p->cs_word = fsd_word_of(align);
    fsd_divider_init(&p->cs_run, p->run_bytes > 0 ? p->run_bytes : 1);
}

void fsd_plan_build(const fsd_layout *l, void *packed, fsd_direction dir, uint32_t sm_count,
                    fsd_plan *p)
{
    fsd_plan_build_range(l, packed, 0, l->total_bytes, dir, sm_count, p);
}

void fsd_plan_build_range(const fsd_layout *l, void *packed, uint64_t begin, uint64_t end,
                          fsd_direction dir, uint32_t sm_count, fsd_plan *p)
{
    memset(p, 0, sizeof *p);
    p->dir = dir;
    p->elem_size = l->elem_size;
    p->total_bytes = l->total_bytes;
    p->begin = begin;
    p->end = end;
    p->strided = l->base;
    p->packed = (char *)packed;
    p->block = FSD_BLOCK_THREADS;
    p->grid = 1;
    p->word = 1;
    p->tdim = -1;
    /* 32-bit indices when every index (and a grid's worth past it) stays below 2^32. */
    p->index64 = l->total_bytes >= ((uint64_t)1 << 31);
    if (begin >= end) {
        p->path = FSD_PATH_EMPTY;
        return;
    }
    coalesce(l, p);
    p->num_runs = p->total_bytes / p->run_bytes;
    int tdim = transpose_dim(p);
    if (tdim >= 0)
        plan_transpose(p, tdim, sm_count);
    else
        plan_runs(p, sm_count);
}
