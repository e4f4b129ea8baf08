/*
 * transpose_step.cuh — the two phases of the TRANSPOSE path, split by a barrier.
 *
 * A tile covers up to plan.tile x plan.tile elements (tile_a = tile_b = tile) of one batch
 * index: axis a runs along
 * dimension plan.tdim (contiguous on the strided side), axis b along the innermost outer
 * dimension (contiguous on the packed side). The shared tile holds element (a, b) at
 * (b * tile_pitch + a) * elem_size; the pitch pads each row against bank conflicts.
 *
 * Pack:   load  = strided side along a -> tile;  store = tile -> packed side along b.
 * Unpack: load  = packed side along b  -> tile;  store = tile -> strided side along a.
 * The 256 threads are 32 columns x 8 rows: a thread moves tile_vec consecutive elements (one
 * 4-byte word for 1- and 2-byte elements when the plan found every word aligned) at column
 * tx of rows ty, ty + 8, ...; partial words at the tile's edge go element by element.
 * P is the plan or fsd_transpose_args (kernel_args.cuh).
 */
#ifndef FSD_TRANSPOSE_STEP_CUH
#define FSD_TRANSPOSE_STEP_CUH

#include "step_common.cuh"

typedef struct fsd_tile_origin {
    char *strided;     /* element (a0, b0) of this tile on the strided side               */
    char *packed;      /* element (a0, b0) on the packed side                             */
    uint32_t na, nb;   /* extent of this tile: <= plan.tile on each axis                   */
    int full;          /* every element lies in the plan's packed range [begin, end)      */
    int none;          /* no element does: the tile is skipped                            */
    int64_t lo, hi;    /* the range relative to (a0, b0)'s packed offset                  */
} fsd_tile_origin;

template <typename I, typename P>
FSD_HD fsd_tile_origin fsd_tile_origin_of(const P &p, I tile_index)
{
    const int ta = p.tdim, tb = p.ndim - 1;
    I rest = fsd_div(p.tiles_b, tile_index);
    const I ib = tile_index - rest * (I)p.tiles_b.divisor;
    I batch = fsd_div(p.tiles_a, rest);
    const I ia = rest - batch * (I)p.tiles_a.divisor;
    int64_t soff = 0;
    uint64_t poff = 0;
    for (int d = p.ndim - 1; d >= 0; d--) {
        if (d == ta || d == tb)
            continue;
        I q = fsd_div(p.div[d], batch);
        I c = batch - q * (I)p.div[d].divisor;
        batch = q;
        soff += (int64_t)c * p.stride[d];
        poff += (uint64_t)c * p.pstride[d];
    }
    const uint64_t a0 = (uint64_t)ia * p.tile_a, b0 = (uint64_t)ib * p.tile_b;
    const uint64_t ra = p.div[ta].divisor - a0, rb = p.div[tb].divisor - b0;
    fsd_tile_origin o;
    o.na = (uint32_t)(ra < p.tile_a ? ra : p.tile_a);
    o.nb = (uint32_t)(rb < p.tile_b ? rb : p.tile_b);
    poff += a0 * p.pstride[ta] + b0 * p.elem_size;
    o.strided = p.strided + soff + (int64_t)a0 * p.stride[ta] + (int64_t)b0 * p.stride[tb];
    o.packed = p.packed + ((int64_t)poff - (int64_t)p.begin);
    /* The tile's packed bytes lie in [poff, last): element (0, 0) to element (na-1, nb-1). */
    const uint64_t last = poff + (o.na - 1) * p.pstride[ta] + (uint64_t)o.nb * p.elem_size;
    o.full = poff >= p.begin && last <= p.end;
    o.none = last <= p.begin || poff >= p.end;
    o.lo = (int64_t)p.begin - (int64_t)poff;
    o.hi = (int64_t)p.end - (int64_t)poff;
    return o;
}

/* Moves the tile's rows along the axis that is contiguous in global memory at `g` (element
 * step `e` along the row, `row_step` bytes between rows); `along_a` says which axis that is.
 * to_tile: global -> shared, else shared -> global. In a tile that the plan's range cuts,
 * elements go one by one and only those inside the range move. */
template <typename P>
FSD_HD void fsd_tile_rows(const P &p, const fsd_tile_origin &o, char *g, int64_t row_step,
                          unsigned char *tile, int along_a, int to_tile, uint32_t thread)
{
    const uint32_t e = p.elem_size, pitch = p.tile_pitch, vec = p.tile_vec;
    const uint32_t ew = vec > 1 ? e : p.word; /* access width for single elements */
    const uint32_t n_along = along_a ? o.na : o.nb, n_rows = along_a ? o.nb : o.na;
    const uint64_t pa = p.pstride[p.tdim];
    const uint32_t tx = thread % FSD_TILE_WORDS, ty = thread / FSD_TILE_WORDS;
    const uint32_t x = tx * vec; /* first element of this thread along the row */
    if (x >= n_along)
        return;
    const uint32_t nx = n_along - x < vec ? n_along - x : vec;
    for (uint32_t r = ty; r < n_rows; r += FSD_TILE_ROWS) {
        char *gp = g + (int64_t)r * row_step + (int64_t)x * e;
        /* Shared address of element k of this thread's piece of row r. */
        const uint32_t a = along_a ? x : r, b = along_a ? r : x;
        const uint32_t k_step = along_a ? e : pitch * e; /* along a: next column; along b: next row */
        char *sp = (char *)tile + ((uint64_t)b * pitch + a) * e;
        if (nx == vec && vec > 1 && o.full) {
            /* One 4-byte global access, split into or assembled from `vec` elements of 1 or
             * 2 bytes (little-endian: element k holds bits [8ek, 8e(k+1)) of the word). */
            if (to_tile) {
                const uint32_t word = fsd_load_as<uint32_t>(gp);
                for (uint32_t k = 0; k < vec; k++) {
                    if (e == 1)
                        fsd_store_as<uint8_t>(sp + k * k_step, (uint8_t)(word >> (8 * k)));
                    else
                        fsd_store_as<uint16_t>(sp + k * k_step, (uint16_t)(word >> (16 * k)));
                }
            } else {
                uint32_t word = 0;
                for (uint32_t k = 0; k < vec; k++) {
                    const uint32_t v = e == 1 ? fsd_load_as<uint8_t>(sp + k * k_step)
                                              : fsd_load_as<uint16_t>(sp + k * k_step);
                    word |= v << (8 * e * k);
                }
                fsd_store_as<uint32_t>(gp, word);
            }
        } else {
            for (uint32_t k = 0; k < nx; k++) {
                if (!o.full) { /* packed offset of element k of the piece, from (a0, b0) */
                    const uint64_t ak = along_a ? a + k : a, bk = along_a ? b : b + k;
                    const int64_t rel = (int64_t)(ak * pa + bk * e);
                    if (rel < o.lo || rel >= o.hi)
                        continue;
                }
                if (to_tile)
                    fsd_copy_elem(sp + k * k_step, gp + k * e, e, ew);
                else
                    fsd_copy_elem(gp + k * e, sp + k * k_step, e, ew);
            }
        }
    }
}

/* Phase 1: global -> shared tile. */
template <typename I, typename P>
FSD_HD void fsd_transpose_load_step(const P &p, I tile_index, uint32_t thread,
                                    unsigned char *tile)
{
    const fsd_tile_origin o = fsd_tile_origin_of<I>(p, tile_index);
    if (o.none)
        return;
    if (p.dir == FSD_DIR_PACK) /* strided side, rows b, contiguous along a */
        fsd_tile_rows(p, o, o.strided, p.stride[p.ndim - 1], tile, 1, 1, thread);
    else /* packed side, rows a, contiguous along b */
        fsd_tile_rows(p, o, o.packed, (int64_t)p.pstride[p.tdim], tile, 0, 1, thread);
}

/* Phase 2 (after a barrier): shared tile -> global. */
template <typename I, typename P>
FSD_HD void fsd_transpose_store_step(const P &p, I tile_index, uint32_t thread,
                                     unsigned char *tile)
{
    const fsd_tile_origin o = fsd_tile_origin_of<I>(p, tile_index);
    if (o.none)
        return;
    if (p.dir == FSD_DIR_PACK)
        fsd_tile_rows(p, o, o.packed, (int64_t)p.pstride[p.tdim], tile, 0, 0, thread);
    else
        fsd_tile_rows(p, o, o.strided, p.stride[p.ndim - 1], tile, 1, 0, thread);
}

#endif
