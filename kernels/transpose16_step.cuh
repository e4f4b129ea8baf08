/*
 * transpose16_step.cuh — the TRANSPOSE path with 16-byte accesses on both sides (plan.tiles16),
 * for elements of E = 1, 2, 4, 8 or 16 bytes (a compile-time parameter), when every row of
 * every tile starts on 16 bytes on both sides.
 *
 * Source and destination are seen as rows: the source holds rows r (128 of them per tile), each
 * contiguous along c for 128 bytes (128 / E elements); the destination holds rows c, contiguous
 * along r. Pack: the strided side is the source (r = b along the innermost outer dim, c = a
 * along plan.tdim); unpack: the packed side is (r = a, c = b). A tile is 128 x 128 / E elements,
 * 16 KiB, in shared memory as the destination's rows: element (r, c) at byte
 * c * 128 E + r E, its 16-byte chunk XORed with (c / (16 / E)) mod 8 (a swizzle: no padding,
 * and no bank conflict on either side, below).
 *
 * Load (a full tile): thread t takes the chunk column t mod 8 of rows 4 (t / 8) .. + 3: four
 * 16-byte loads, all issued before any shared store (64 bytes in flight per thread). The four
 * rows are then transposed in registers: 1- and 2-byte elements are paired across the rows into
 * 4- and 8-byte pieces with byte_perm, 4 to 16-byte elements are regrouped as they are; each
 * piece (4 E bytes: element c of the four rows) is one shared store of 4, 8 or 16 bytes. Store:
 * every thread moves four 16-byte chunks of the destination rows, shared -> global.
 * Banks: a store instruction's lanes are 8 chunk columns x 4 row groups; within each phase of
 * the hardware (32 lanes of 4 bytes, 16 of 8, 8 of 16) the swizzle sends the 8 columns to the 8
 * chunks of one aligned 128-byte line, and the row groups to different words of them; a load
 * instruction's 8-lane phases read 8 consecutive chunks of one row, which the swizzle permutes
 * within their line. Tiles cut by the tensor's edge or the plan's range [begin, end) go element
 * by element through the same layout.
 */
#ifndef FSD_TRANSPOSE16_STEP_CUH
#define FSD_TRANSPOSE16_STEP_CUH

#include "step_common.cuh"

#define FSD_T16_ROWS 128          /* source rows per tile                                 */
#define FSD_T16_TILE_BYTES 16384  /* 128 rows x 128 bytes                                 */

/* One tile, as the phases see it. */
typedef struct fsd_t16_tile {
    const char *src;          /* element (0, 0) on the source side                       */
    char *dst;                /* element (0, 0) on the destination side                  */
    int64_t src_step, dst_step; /* bytes between source rows (r), destination rows (c)  */
    uint32_t nr, nc;          /* rows and columns of this tile                            */
    int fast;                 /* full size, and every element inside [begin, end)          */
    int full;                 /* every element inside [begin, end)                        */
    int none;                 /* no element inside it: skipped                            */
    int64_t rel_r, rel_c;     /* packed offset of element (r, c) = r rel_r + c rel_c ...  */
    int64_t lo, hi;           /* ... relative to element (0, 0); the range is [lo, hi)    */
} fsd_t16_tile;

template <uint32_t E> struct fsd_elem;
template <> struct fsd_elem<1> { typedef uint8_t type; };
template <> struct fsd_elem<2> { typedef uint16_t type; };
template <> struct fsd_elem<4> { typedef uint32_t type; };
template <> struct fsd_elem<8> { typedef uint2 type; };
template <> struct fsd_elem<16> { typedef uint4 type; };

/* __byte_perm: byte i of the result is byte (s >> 4i) & 7 of y:x. */
FSD_HD uint32_t fsd_byte_perm(uint32_t x, uint32_t y, uint32_t s)
{
#if defined(__CUDA_ARCH__)
    return __byte_perm(x, y, s);
#else
    const uint64_t v = ((uint64_t)y << 32) | x;
    uint32_t r = 0;
    for (int i = 0; i < 4; i++)
        r |= (uint32_t)((v >> (8 * ((s >> (4 * i)) & 7))) & 0xff) << (8 * i);
    return r;
#endif
}

FSD_HD uint32_t fsd_u4(const uint4 &x, int q)
{
    return q == 0 ? x.x : q == 1 ? x.y : q == 2 ? x.z : x.w;
}

/* Byte offset of element (r, c) in the shared tile. */
template <uint32_t E>
FSD_HD uint32_t fsd_t16_at(uint32_t r, uint32_t c)
{
    constexpr uint32_t per_chunk = E < 16 ? 16 / E : 1;
    const uint32_t byte = r * E;
    return c * (128 * E) + ((((byte >> 4) ^ ((c / per_chunk) & 7)) << 4) | (byte & 15));
}

template <uint32_t E, typename I, typename P>
FSD_HD fsd_t16_tile fsd_t16_tile_of(const P &p, I tile_index)
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
    const uint32_t na = (uint32_t)(ra < p.tile_a ? ra : p.tile_a);
    const uint32_t nb = (uint32_t)(rb < p.tile_b ? rb : p.tile_b);
    const int64_t stride_b = p.stride[tb], pstride_a = (int64_t)p.pstride[ta];
    poff += a0 * p.pstride[ta] + b0 * E;
    char *strided = p.strided + soff + (int64_t)a0 * E + (int64_t)b0 * stride_b;
    char *packed = p.packed + ((int64_t)poff - (int64_t)p.begin);
    const uint64_t last = poff + (na - 1) * p.pstride[ta] + (uint64_t)nb * E;
    fsd_t16_tile o;
    o.full = poff >= p.begin && last <= p.end;
    o.none = last <= p.begin || poff >= p.end;
    o.lo = (int64_t)p.begin - (int64_t)poff;
    o.hi = (int64_t)p.end - (int64_t)poff;
    if (p.dir == FSD_DIR_PACK) { /* source rows b of the strided side, along a */
        o.src = strided;
        o.src_step = stride_b;
        o.dst = packed;
        o.dst_step = pstride_a;
        o.nr = nb;
        o.nc = na;
        o.rel_r = E;
        o.rel_c = pstride_a;
    } else { /* source rows a of the packed side, along b */
        o.src = packed;
        o.src_step = pstride_a;
        o.dst = strided;
        o.dst_step = stride_b;
        o.nr = na;
        o.nc = nb;
        o.rel_r = pstride_a;
        o.rel_c = E;
    }
    o.fast = o.full && o.nr == FSD_T16_ROWS && o.nc == 128 / E;
    return o;
}

/* Four source rows (x[i]: 16 bytes of row 4 rg + i at chunk column cc) -> the shared tile. */
template <uint32_t E>
FSD_HD void fsd_t16_put(const uint4 *x, uint32_t cc, uint32_t rg, unsigned char *tile)
{
    char *t = (char *)tile;
    const uint32_t r0 = 4 * rg;
    if constexpr (E == 1) {
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
        for (int q = 0; q < 4; q++) { /* bytes 4q .. 4q+3 of each row */
            const uint32_t a = fsd_u4(x[0], q), b = fsd_u4(x[1], q), c = fsd_u4(x[2], q), d = fsd_u4(x[3], q);
            const uint32_t t0 = fsd_byte_perm(a, b, 0x5140), t1 = fsd_byte_perm(a, b, 0x7362);
            const uint32_t t2 = fsd_byte_perm(c, d, 0x5140), t3 = fsd_byte_perm(c, d, 0x7362);
            const uint32_t col = cc * 16 + 4 * q;
            fsd_store_as<uint32_t>(t + fsd_t16_at<1>(r0, col), fsd_byte_perm(t0, t2, 0x5410));
            fsd_store_as<uint32_t>(t + fsd_t16_at<1>(r0, col + 1), fsd_byte_perm(t0, t2, 0x7632));
            fsd_store_as<uint32_t>(t + fsd_t16_at<1>(r0, col + 2), fsd_byte_perm(t1, t3, 0x5410));
            fsd_store_as<uint32_t>(t + fsd_t16_at<1>(r0, col + 3), fsd_byte_perm(t1, t3, 0x7632));
        }
    } else if constexpr (E == 2) {
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
        for (int v = 0; v < 8; v++) { /* element v: half v % 2 of word v / 2 */
            const uint32_t s = (v & 1) ? 0x7632 : 0x5410;
            uint2 piece;
            piece.x = fsd_byte_perm(fsd_u4(x[0], v / 2), fsd_u4(x[1], v / 2), s);
            piece.y = fsd_byte_perm(fsd_u4(x[2], v / 2), fsd_u4(x[3], v / 2), s);
            fsd_store_as<uint2>(t + fsd_t16_at<2>(r0, cc * 8 + v), piece);
        }
    } else if constexpr (E == 4) {
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
        for (int v = 0; v < 4; v++)
            fsd_store_as<uint4>(t + fsd_t16_at<4>(r0, cc * 4 + v),
                                make_uint4(fsd_u4(x[0], v), fsd_u4(x[1], v), fsd_u4(x[2], v), fsd_u4(x[3], v)));
    } else if constexpr (E == 8) {
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
        for (int v = 0; v < 2; v++) {
            const int q = 2 * v;
            fsd_store_as<uint4>(t + fsd_t16_at<8>(r0, cc * 2 + v),
                                make_uint4(fsd_u4(x[0], q), fsd_u4(x[0], q + 1), fsd_u4(x[1], q), fsd_u4(x[1], q + 1)));
            fsd_store_as<uint4>(t + fsd_t16_at<8>(r0 + 2, cc * 2 + v),
                                make_uint4(fsd_u4(x[2], q), fsd_u4(x[2], q + 1), fsd_u4(x[3], q), fsd_u4(x[3], q + 1)));
        }
    } else {
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
        for (int i = 0; i < 4; i++)
            fsd_store_as<uint4>(t + fsd_t16_at<16>(r0 + i, cc), x[i]);
    }
}

/* Phase 1: source -> shared tile. */
template <uint32_t E>
FSD_HD void fsd_transpose16_load_step(const fsd_t16_tile &o, uint32_t thread, unsigned char *tile)
{
    if (o.none)
        return;
    if (o.fast) {
        const uint32_t cc = thread & 7, rg = thread >> 3;
        uint4 x[4];
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
        for (int i = 0; i < 4; i++)
            x[i] = fsd_load_as<uint4>(o.src + (int64_t)(4 * rg + i) * o.src_step + cc * 16);
        fsd_t16_put<E>(x, cc, rg, tile);
        return;
    }
    /* element by element, coalesced along the source rows */
    typedef typename fsd_elem<E>::type T;
    for (uint32_t r = thread / 32; r < o.nr; r += FSD_BLOCK_THREADS / 32) {
        for (uint32_t c = thread % 32; c < o.nc; c += 32) {
            const int64_t rel = (int64_t)r * o.rel_r + (int64_t)c * o.rel_c;
            if (!o.full && (rel < o.lo || rel >= o.hi))
                continue;
            fsd_copy_as<T>((char *)tile + fsd_t16_at<E>(r, c), o.src + (int64_t)r * o.src_step + (int64_t)c * E);
        }
    }
}

/* Phase 2 (after a barrier): shared tile -> destination. */
template <uint32_t E>
FSD_HD void fsd_transpose16_store_step(const fsd_t16_tile &o, uint32_t thread, const unsigned char *tile)
{
    if (o.none)
        return;
    constexpr uint32_t per_chunk = E < 16 ? 16 / E : 1, chunks = 8 * E; /* chunks per row */
    if (o.fast) {
        uint4 y[4];
        uint32_t c[4], d[4];
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
        for (int i = 0; i < 4; i++) {
            const uint32_t q = thread + FSD_BLOCK_THREADS * i;
            c[i] = q / chunks;
            d[i] = q % chunks;
            y[i] = fsd_load_as<uint4>((const char *)tile + c[i] * (128 * E) + ((d[i] ^ ((c[i] / per_chunk) & 7)) << 4));
        }
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
        for (int i = 0; i < 4; i++)
            fsd_store_as<uint4>(o.dst + (int64_t)c[i] * o.dst_step + d[i] * 16, y[i]);
        return;
    }
    typedef typename fsd_elem<E>::type T;
    for (uint32_t c = thread / 32; c < o.nc; c += FSD_BLOCK_THREADS / 32) {
        for (uint32_t r = thread % 32; r < o.nr; r += 32) {
            const int64_t rel = (int64_t)r * o.rel_r + (int64_t)c * o.rel_c;
            if (!o.full && (rel < o.lo || rel >= o.hi))
                continue;
            fsd_copy_as<T>(o.dst + (int64_t)c * o.dst_step + (int64_t)r * E, (const char *)tile + fsd_t16_at<E>(r, c));
        }
    }
}

#endif
