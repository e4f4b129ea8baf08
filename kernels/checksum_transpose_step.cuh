/*
 * checksum_transpose_step.cuh — phase 1 of the checksum pack for TRANSPOSE plans whose packed
 * rows are whole leaves (plan.cs_transpose, fsd_plan_checksum): the tiles of checksum_step.cuh,
 * shaped as the transpose needs them.
 *
 * With a = plan.tdim (contiguous on the strided side, elements of E bytes) and b the innermost
 * outer dim (contiguous when packed), a packed row (fixed a and other coords, all of b) is
 * shape[b] x E bytes. A tile is A = plan.cs_rows_a values of a (a0 ..) x plan.cs_row bytes of
 * b (b0 ..) at fixed other coords, 32 KiB, laid out as the packed bytes: element (a0 + r,
 * b0 + c) at r cs_row + c E. Either the row is a multiple of 1 KiB: cs_row = 1024, A = 32, and
 * leaf r of the tile is row piece r (packed stride: a's); or the row divides 1 KiB and a is the
 * dim just outside b: cs_row = the row, A = 32 KiB / row, the tile is contiguous when packed
 * and each leaf is 1024 / row rows. Its source is cs_row / E rows (b) of A E contiguous bytes
 * (a0 ..): A E / 16 chunks of 16 bytes per row; 512 units of 4 rows x 1 chunk in all.
 *
 * Load: thread t takes units t and t + 256 (unit u = chunk column u mod (A E / 16) of the four
 * source rows 4 (u / (A E / 16)) .. + 3): four 16-byte loads, then the four rows transposed in
 * registers (as transpose16_step.cuh does): for each element k of the chunk (a = a0 + 16 ch / E
 * + k), the element of the four rows side by side is one piece of 4E bytes, stored at its
 * place in the tile. A warp's load instruction reads 32 chunks: whole 32-byte sectors. The
 * rest of the tensor's last leaf (a tile of fewer rows) is zero-filled.
 * Conditions (fsd_plan_checksum): every row and stride but a's 16-byte aligned, shape[a] x E
 * a multiple of 16 (a chunk is all inside the tensor or all past it).
 */
#ifndef FSD_CHECKSUM_TRANSPOSE_STEP_CUH
#define FSD_CHECKSUM_TRANSPOSE_STEP_CUH

#include "checksum_step.cuh"
#include "transpose16_step.cuh"

/* A transpose tile: its leaves, and its source. */
typedef struct fsd_cst_tile {
    fsd_cs_tile t;
    const char *src;   /* element (a0, b0) on the strided side */
    int64_t src_step;  /* bytes between source rows (b)        */
    uint32_t na;       /* values of a in the tile              */
    uint32_t row;      /* bytes of a tile row (plan.cs_row)    */
    uint32_t chunks;   /* 16-byte chunks per source row        */
} fsd_cst_tile;

template <uint32_t E, typename I, typename P>
FSD_HD fsd_cst_tile fsd_cst_tile_of(const P &p, uint64_t tile)
{
    const int ta = p.tdim, tb = p.ndim - 1;
    I rest = fsd_div(p.cs_tb, (I)tile);
    const I ib = (I)tile - rest * (I)p.cs_tb.divisor;
    I batch = fsd_div(p.cs_ta, rest);
    const I ia = rest - batch * (I)p.cs_ta.divisor;
    int64_t soff = 0;
    uint64_t poff = 0;
    for (int d = p.ndim - 1; d >= 0; d--) {
        if (d == ta || d == tb)
            continue;
        const I q = fsd_div(p.div[d], batch);
        const I c = batch - q * (I)p.div[d].divisor;
        batch = q;
        soff += (int64_t)c * p.stride[d];
        poff += (uint64_t)c * p.pstride[d];
    }
    const uint32_t rows_a = p.cs_rows_a, row = p.cs_row;
    const uint64_t a0 = (uint64_t)ia * rows_a, b0 = (uint64_t)ib * (row / E);
    const uint64_t ra = p.div[ta].divisor - a0;
    fsd_cst_tile o;
    o.na = (uint32_t)(ra < rows_a ? ra : rows_a);
    o.t.base = poff + a0 * p.pstride[ta] + b0 * E;
    o.t.step = row == FSD_CS_LEAF ? p.pstride[ta] : FSD_CS_LEAF;
    o.t.bytes = o.na * row;
    o.row = row;
    o.chunks = rows_a * E / 16;
    o.src = p.strided + soff + (int64_t)a0 * E + (int64_t)b0 * p.stride[tb];
    o.src_step = p.stride[tb];
    return o;
}

/* Element k (0 .. 16 / E - 1) of the four source rows' chunks x[0..3], side by side (4E bytes),
 * to shared byte `at` (fsd_cs_sw applied to each 16-byte piece). */
template <uint32_t E>
FSD_HD void fsd_cst_put(const uint4 *x, uint32_t k, unsigned char *sh, uint32_t at)
{
    char *t = (char *)sh;
    if constexpr (E == 1) { /* bytes k of the four rows: one 4-byte word */
        const uint32_t q = k / 4, m = k % 4;
        const uint32_t lo = fsd_byte_perm(fsd_u4(x[0], q), fsd_u4(x[1], q), 0x4040u + m * 0x1111u);
        const uint32_t hi = fsd_byte_perm(fsd_u4(x[2], q), fsd_u4(x[3], q), 0x4040u + m * 0x1111u);
        fsd_store_as<uint32_t>(t + fsd_cs_sw<1>(at), fsd_byte_perm(lo, hi, 0x5410));
    } else if constexpr (E == 2) {
        const uint32_t s = (k & 1) ? 0x7632 : 0x5410;
        uint2 piece;
        piece.x = fsd_byte_perm(fsd_u4(x[0], k / 2), fsd_u4(x[1], k / 2), s);
        piece.y = fsd_byte_perm(fsd_u4(x[2], k / 2), fsd_u4(x[3], k / 2), s);
        fsd_store_as<uint2>(t + fsd_cs_sw<1>(at), piece);
    } else if constexpr (E == 4) {
        fsd_store_as<uint4>(t + fsd_cs_sw<1>(at), make_uint4(fsd_u4(x[0], k), fsd_u4(x[1], k), fsd_u4(x[2], k), fsd_u4(x[3], k)));
    } else if constexpr (E == 8) {
        const int q = 2 * (int)k;
        fsd_store_as<uint4>(t + fsd_cs_sw<1>(at), make_uint4(fsd_u4(x[0], q), fsd_u4(x[0], q + 1), fsd_u4(x[1], q), fsd_u4(x[1], q + 1)));
        fsd_store_as<uint4>(t + fsd_cs_sw<1>(at + 16), make_uint4(fsd_u4(x[2], q), fsd_u4(x[2], q + 1), fsd_u4(x[3], q), fsd_u4(x[3], q + 1)));
    } else {
        for (uint32_t j = 0; j < 4; j++)
            fsd_store_as<uint4>(t + fsd_cs_sw<1>(at + 16 * j), x[j]);
    }
}

/* Phase 1 of a transpose tile. */
template <uint32_t E>
FSD_HD void fsd_cst_gather_step(const fsd_cst_tile &o, uint32_t thread, unsigned char *sh)
{
    constexpr uint32_t per_chunk = 16 / E; /* elements (values of a) per chunk */
    const uint32_t chunks = o.chunks, units = FSD_CS_TILE / 64;
#if defined(__CUDA_ARCH__)
#pragma unroll 1
#endif
    for (uint32_t u = thread; u < units; u += FSD_BLOCK_THREADS) {
        const uint32_t ch = u % chunks, g = u / chunks;
        if (ch * per_chunk >= o.na)
            continue;
        uint4 x[4];
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
        for (int j = 0; j < 4; j++)
            x[j] = fsd_load_as<uint4>(o.src + (int64_t)(4 * g + (uint32_t)j) * o.src_step + ch * 16);
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
        for (uint32_t k = 0; k < per_chunk; k++)
            fsd_cst_put<E>(x, k, sh, (ch * per_chunk + k) * o.row + 4 * g * E);
    }
    const uint32_t padded = fsd_cs_padded(o.t.bytes);
    for (uint32_t b = o.t.bytes + thread; b < padded; b += FSD_BLOCK_THREADS)
        fsd_store_as<uint8_t>((char *)sh + fsd_cs_sw<1>(b), 0);
}

#endif
