/* cpu_transpose.c — cache-blocked tiles with in-register transposes (see cpu_transpose.h). */
#include <string.h>

#include "cpu_simd.h"
#include "cpu_transpose.h"

/* ------------------------------------------------------------------------------------------ */
/* One element at a time: the ragged edges, odd element sizes, and the portable path.          */

#define FSD_ELEM_LOOP(E)                                          \
    for (uint64_t y = 0; y < ny; y++) {                           \
        const char *s = in + (int64_t)y * is;                     \
        char *d = out + y * (uint64_t)(E);                        \
        for (uint64_t x = 0; x < nx; x++)                         \
            memcpy(d + (int64_t)x * os, s + x * (uint64_t)(E), (E)); \
    }

static void tile_elems(char *out, int64_t os, const char *in, int64_t is, uint64_t nx,
                       uint64_t ny, uint32_t e)
{
    switch (e) {
    case 1: FSD_ELEM_LOOP(1); break;
    case 2: FSD_ELEM_LOOP(2); break;
    case 4: FSD_ELEM_LOOP(4); break;
    case 8: FSD_ELEM_LOOP(8); break;
    case 16: FSD_ELEM_LOOP(16); break;
    default:
        for (uint64_t y = 0; y < ny; y++) {
            const char *s = in + (int64_t)y * is;
            char *d = out + y * e;
            for (uint64_t x = 0; x < nx; x++)
                fsd_cpu_copy_any(d + (int64_t)x * os, s + x * e, e);
        }
        break;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* In registers: an n x n square of 16-byte rows (n = 16 / e) in log2(n) rounds of unpacks.   */
/* Round k interleaves rows 2j and 2j+1 in units of e << k bytes: register j gets the low     */
/* halves, register j + n/2 the high halves. After the last round register r holds column    */
/* bitreverse(r) of the square, every row in order.                                            */

#if FSD_CPU_HAVE_SSE2

#define LD(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
#define ST(p, v) _mm_storeu_si128((__m128i *)(void *)(p), (v))

#define FSD_ROUND(n, from, to, LO, HI)                   \
    for (int j = 0; j < (n) / 2; j++) {                  \
        to[j] = LO(from[2 * j], from[2 * j + 1]);        \
        to[j + (n) / 2] = HI(from[2 * j], from[2 * j + 1]); \
    }

FSD_CPU_INLINE void square1(char *out, int64_t os, const char *in, int64_t is)
{
    static const unsigned char rev[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};
    __m128i a[16], b[16];
    for (int r = 0; r < 16; r++)
        a[r] = LD(in + r * is);
    FSD_ROUND(16, a, b, _mm_unpacklo_epi8, _mm_unpackhi_epi8);
    FSD_ROUND(16, b, a, _mm_unpacklo_epi16, _mm_unpackhi_epi16);
    FSD_ROUND(16, a, b, _mm_unpacklo_epi32, _mm_unpackhi_epi32);
    FSD_ROUND(16, b, a, _mm_unpacklo_epi64, _mm_unpackhi_epi64);
    for (int r = 0; r < 16; r++)
        ST(out + rev[r] * os, a[r]);
}

FSD_CPU_INLINE void square2(char *out, int64_t os, const char *in, int64_t is)
{
    static const unsigned char rev[8] = {0, 4, 2, 6, 1, 5, 3, 7};
    __m128i a[8], b[8];
    for (int r = 0; r < 8; r++)
        a[r] = LD(in + r * is);
    FSD_ROUND(8, a, b, _mm_unpacklo_epi16, _mm_unpackhi_epi16);
    FSD_ROUND(8, b, a, _mm_unpacklo_epi32, _mm_unpackhi_epi32);
    FSD_ROUND(8, a, b, _mm_unpacklo_epi64, _mm_unpackhi_epi64);
    for (int r = 0; r < 8; r++)
        ST(out + rev[r] * os, b[r]);
}

FSD_CPU_INLINE void square4(char *out, int64_t os, const char *in, int64_t is)
{
    __m128i r0 = LD(in), r1 = LD(in + is), r2 = LD(in + 2 * is), r3 = LD(in + 3 * is);
    __m128i s0 = _mm_unpacklo_epi32(r0, r1), s1 = _mm_unpacklo_epi32(r2, r3);
    __m128i s2 = _mm_unpackhi_epi32(r0, r1), s3 = _mm_unpackhi_epi32(r2, r3);
    ST(out, _mm_unpacklo_epi64(s0, s1));
    ST(out + os, _mm_unpackhi_epi64(s0, s1));
    ST(out + 2 * os, _mm_unpacklo_epi64(s2, s3));
    ST(out + 3 * os, _mm_unpackhi_epi64(s2, s3));
}

FSD_CPU_INLINE void square8(char *out, int64_t os, const char *in, int64_t is)
{
    __m128i r0 = LD(in), r1 = LD(in + is);
    ST(out, _mm_unpacklo_epi64(r0, r1));
    ST(out + os, _mm_unpackhi_epi64(r0, r1));
}

FSD_CPU_INLINE void square16(char *out, int64_t os, const char *in, int64_t is)
{
    (void)os;
    (void)is;
    ST(out, LD(in));
}

/* A tile of nx x ny elements: whole squares in registers, the edges element by element. */
#define FSD_TILE_FN(name, E, SQUARE)                                                      \
    static void name(char *out, int64_t os, const char *in, int64_t is, uint64_t nx,      \
                     uint64_t ny)                                                         \
    {                                                                                     \
        const uint64_t n = 16 / (E);                                                      \
        const uint64_t mx = nx - nx % n, my = ny - ny % n;                                \
        for (uint64_t y = 0; y < my; y += n)                                              \
            for (uint64_t x = 0; x < mx; x += n)                                          \
                SQUARE(out + (int64_t)x * os + y * (E), os, in + (int64_t)y * is + x * (E), is); \
        if (mx < nx)                                                                      \
            tile_elems(out + (int64_t)mx * os, os, in + mx * (E), is, nx - mx, my, (E));  \
        if (my < ny)                                                                      \
            tile_elems(out + my * (E), os, in + (int64_t)my * is, is, nx, ny - my, (E));  \
    }

FSD_TILE_FN(tile1, 1, square1)
FSD_TILE_FN(tile2, 2, square2)
FSD_TILE_FN(tile4, 4, square4)
FSD_TILE_FN(tile8, 8, square8)
FSD_TILE_FN(tile16, 16, square16)

#endif /* FSD_CPU_HAVE_SSE2 */

static void tile(char *out, int64_t os, const char *in, int64_t is, uint64_t nx, uint64_t ny,
                 uint32_t e, int simd)
{
#if FSD_CPU_HAVE_SSE2
    if (simd) {
        switch (e) {
        case 1: tile1(out, os, in, is, nx, ny); return;
        case 2: tile2(out, os, in, is, nx, ny); return;
        case 4: tile4(out, os, in, is, nx, ny); return;
        case 8: tile8(out, os, in, is, nx, ny); return;
        case 16: tile16(out, os, in, is, nx, ny); return;
        default: break;
        }
    }
#else
    (void)simd;
#endif
    tile_elems(out, os, in, is, nx, ny, e);
}

/*
 * Streamed blocks: FSD_CPU_STAGE_IN_BYTES of each of FSD_CPU_STAGE_OUT_BYTES / e input rows
 * are transposed into an L1 buffer, whose rows are then each one whole line of an output row:
 * streaming stores write it without reading it first. Used for large copies (streaming by
 * size) of elements of 1-16 bytes when the output rows are a multiple of 64 bytes apart; the
 * bands start at the rows' line boundaries, and the pieces shorter than a line (the first band
 * of a misaligned output, the last band) are stored ordinarily. fp16, [32, 1024, 1024]
 * (64 MiB), against the ordinary blocks, in one process: 1.35-1.55 x on one thread, 1.25-1.3 x
 * on two; staged without streaming stores it was slower than the ordinary blocks (a buffer
 * alone gains nothing: the reads saved are the output lines').
 */
#if FSD_CPU_HAVE_SSE2
#define FSD_CPU_STAGE_OUT_BYTES 64
#ifndef FSD_CPU_STAGE_IN_BYTES
#define FSD_CPU_STAGE_IN_BYTES 256
#endif

/* Output rows whose pieces can be whole lines: rows a multiple of 64 bytes apart, and a
 * line boundary that falls between elements (malloc's 16-byte alignment will do). */
static int streams_rows(const char *out, int64_t os, uint32_t e)
{
    return e <= 16 && FSD_CPU_STAGE_OUT_BYTES % e == 0 && ((uintptr_t)out & 63) % e == 0 &&
           os % 64 == 0;
}

static void transpose_streamed(char *out, int64_t os, const char *in, int64_t is, uint64_t nx,
                               uint64_t ny, uint32_t e)
{
    _Alignas(64) char buf[FSD_CPU_STAGE_IN_BYTES * FSD_CPU_STAGE_OUT_BYTES];
    const uint64_t sx = FSD_CPU_STAGE_IN_BYTES / e, sy = FSD_CPU_STAGE_OUT_BYTES / e;
    /* A first band up to the output rows' next line boundary, then bands of one line. */
    const uint64_t head = (64 - ((uintptr_t)out & 63)) % 64 / e;
    for (uint64_t y0 = 0, ty; y0 < ny; y0 += ty) {
        const uint64_t band = y0 == 0 && head > 0 ? head : sy;
        ty = ny - y0 < band ? ny - y0 : band;
        const uint64_t piece = ty * e; /* bytes of each output row in this band */
        for (uint64_t x0 = 0; x0 < nx; x0 += sx) {
            const uint64_t tx = nx - x0 < sx ? nx - x0 : sx;
            tile(buf, FSD_CPU_STAGE_OUT_BYTES, in + (int64_t)y0 * is + x0 * e, is, tx, ty, e, 1);
            for (uint64_t r = 0; r < tx; r++) {
                char *d = out + (int64_t)(x0 + r) * os + y0 * e;
                const __m128i *b =
                    (const __m128i *)(const void *)(buf + r * FSD_CPU_STAGE_OUT_BYTES);
                if (piece == FSD_CPU_STAGE_OUT_BYTES) {
                    __m128i *q = (__m128i *)(void *)d;
                    _mm_stream_si128(q, _mm_load_si128(b));
                    _mm_stream_si128(q + 1, _mm_load_si128(b + 1));
                    _mm_stream_si128(q + 2, _mm_load_si128(b + 2));
                    _mm_stream_si128(q + 3, _mm_load_si128(b + 3));
                } else {
                    memcpy(d, b, piece);
                }
            }
        }
    }
    fsd_cpu_stream_fence();
}
#endif

/*
 * The block order: the input is taken in columns of FSD_CPU_TILE_COLUMN_BYTES (the whole row
 * when shorter) and each column in bands of sy rows, block after block across the band. A
 * block reads one line of each of its sy input rows and writes FSD_CPU_TILE_Y_BYTES of each
 * of its sx output rows, so every line it touches on either side is used whole before it
 * leaves L1, even when the rows are a multiple of 4 KiB apart and all map to the same sets.
 */
void fsd_cpu_transpose(char *out, int64_t os, const char *in, int64_t is, uint64_t nx,
                       uint64_t ny, uint32_t e, int stream, int simd)
{
#if FSD_CPU_HAVE_SSE2
    if (stream && simd && streams_rows(out, os, e)) {
        transpose_streamed(out, os, in, is, nx, ny, e);
        return;
    }
#else
    (void)stream;
#endif
    /* Elements per block side, at least one. */
    const uint64_t sx = e < FSD_CPU_TILE_X_BYTES ? FSD_CPU_TILE_X_BYTES / e : 1;
    const uint64_t sy = e < FSD_CPU_TILE_Y_BYTES ? FSD_CPU_TILE_Y_BYTES / e : 1;
    const uint64_t col = FSD_CPU_TILE_COLUMN_BYTES / FSD_CPU_TILE_X_BYTES * sx;
    for (uint64_t c0 = 0; c0 < nx; c0 += col) {
        const uint64_t cx = nx - c0 < col ? nx - c0 : col;
        for (uint64_t y0 = 0; y0 < ny; y0 += sy) {
            const uint64_t ty = ny - y0 < sy ? ny - y0 : sy;
            for (uint64_t x0 = c0; x0 < c0 + cx; x0 += sx) {
                const uint64_t tx = c0 + cx - x0 < sx ? c0 + cx - x0 : sx;
                tile(out + (int64_t)x0 * os + y0 * e, os, in + (int64_t)y0 * is + x0 * e, is, tx,
                     ty, e, simd);
            }
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Plans.                                                                                      */

int fsd_cpu_transpose_dim(const fsd_plan *p)
{
    if (p->path == FSD_PATH_TRANSPOSE)
        return p->tdim;
    if ((p->path != FSD_PATH_RUNS && p->path != FSD_PATH_GENERIC) || p->ndim < 2 ||
        p->run_bytes != p->elem_size)
        return -1;
    if (p->begin % p->elem_size != 0 || p->end % p->elem_size != 0)
        return -1;
    for (int d = p->ndim - 2; d >= 0; d--)
        if (p->stride[d] == (int64_t)p->elem_size)
            return d;
    return -1;
}

/* Strided offset of the dims [lo, hi) at flat index idx (row-major over those dims). */
static int64_t offset_of(const fsd_plan *p, int lo, int hi, uint64_t idx)
{
    int64_t off = 0;
    for (int d = hi - 1; d >= lo; d--) {
        uint64_t q = fsd_div64(&p->div[d], idx);
        off += (int64_t)(idx - q * p->shape[d]) * p->stride[d];
        idx = q;
    }
    return off;
}

/* Steps an odometer over dims [lo, hi) by one; returns the change of the strided offset. */
static int64_t odometer_step(const fsd_plan *p, int lo, int hi, uint64_t *coord)
{
    int64_t delta = 0;
    for (int d = hi - 1; d >= lo; d--) {
        if (++coord[d] < p->shape[d])
            return delta + p->stride[d];
        coord[d] = 0;
        delta -= (int64_t)(p->shape[d] - 1) * p->stride[d];
    }
    return delta;
}

static void set_coords(const fsd_plan *p, int lo, int hi, uint64_t idx, uint64_t *coord)
{
    for (int d = hi - 1; d >= lo; d--) {
        uint64_t q = fsd_div64(&p->div[d], idx);
        coord[d] = idx - q * p->shape[d];
        idx = q;
    }
}

/* Elements [b0, b1) of packed row r, one by one (a row the range cuts). */
static void copy_part_row(const fsd_plan *p, int ta, uint64_t r, uint64_t b0, uint64_t b1)
{
    const int tb = p->ndim - 1;
    const uint32_t e = p->elem_size;
    const uint64_t n_in = p->pstride[ta] / (p->shape[tb] * e);
    /* r = (o * na + a) * n_in + i */
    uint64_t i = r % n_in, oa = r / n_in;
    uint64_t a = oa % p->shape[ta], o = oa / p->shape[ta];
    int64_t soff = offset_of(p, 0, ta, o) + offset_of(p, ta + 1, tb, i) + (int64_t)a * p->stride[ta];
    char *s = p->strided + soff + (int64_t)b0 * p->stride[tb];
    char *q = p->packed + (r * p->shape[tb] * e + b0 * e - p->begin);
    const int64_t sb = p->stride[tb];
    if (p->dir == FSD_DIR_PACK)
        for (uint64_t b = b0; b < b1; b++, s += sb, q += e)
            fsd_cpu_copy_any(q, s, e);
    else
        for (uint64_t b = b0; b < b1; b++, s += sb, q += e)
            fsd_cpu_copy_any(s, q, e);
}

void fsd_cpu_copy_transpose(const fsd_plan *p, int ta, int stream, int simd)
{
    const int tb = p->ndim - 1;
    const uint32_t e = p->elem_size;
    const uint64_t na = p->shape[ta], nb = p->shape[tb];
    const uint64_t row = nb * e;                 /* packed bytes per row (fixed all but tb) */
    const uint64_t n_in = p->pstride[ta] / row;  /* rows per step of ta: dims (ta, tb)      */
    const uint64_t pa = p->pstride[ta];
    const int64_t sb = p->stride[tb];
    const int pack = p->dir == FSD_DIR_PACK;
    /* Rows wholly inside [begin, end): [r0, r1); the cut rows at either end go one by one. */
    const uint64_t r0 = (p->begin + row - 1) / row, r1 = p->end / row;
    if (r0 > r1) { /* begin and end inside one row */
        copy_part_row(p, ta, p->begin / row, p->begin % row / e, p->end % row / e);
        return;
    }
    if (p->begin % row != 0)
        copy_part_row(p, ta, p->begin / row, p->begin % row / e, nb);
    if (p->end % row != 0)
        copy_part_row(p, ta, p->end / row, 0, p->end % row / e);
    if (r0 == r1)
        return;
    /* Rows r = (o * na + a) * n_in + i: for each (o, i) the whole rows form an interval of a. */
    const uint64_t per_o = na * n_in;
    const uint64_t o_first = r0 / per_o, o_last = (r1 - 1) / per_o;
    uint64_t oc[FSD_PLAN_MAX_DIMS], ic[FSD_PLAN_MAX_DIMS];
    set_coords(p, 0, ta, o_first, oc);
    int64_t soff_o = offset_of(p, 0, ta, o_first);
    for (uint64_t o = o_first; o <= o_last; o++) {
        int64_t soff_i = 0;
        memset(ic + ta + 1, 0, sizeof(uint64_t) * (size_t)(tb - ta - 1));
        for (uint64_t i = 0; i < n_in; i++) {
            /* a in [a0, a1): r0 <= (o * na + a) * n_in + i < r1 */
            const int64_t base = (int64_t)(o * per_o + i);
            int64_t lo = (int64_t)r0 - base, hi = (int64_t)r1 - 1 - base;
            int64_t a0 = lo <= 0 ? 0 : (lo + (int64_t)n_in - 1) / (int64_t)n_in;
            int64_t a1 = hi < 0 ? 0 : hi / (int64_t)n_in + 1;
            if (a1 > (int64_t)na)
                a1 = (int64_t)na;
            if (a0 < a1) {
                char *s = p->strided + soff_o + soff_i + a0 * p->stride[ta];
                char *q = p->packed + ((uint64_t)(base + a0 * (int64_t)n_in) * row - p->begin);
                uint64_t n = (uint64_t)(a1 - a0);
                if (pack)
                    fsd_cpu_transpose(q, (int64_t)pa, s, sb, n, nb, e, stream, simd);
                else
                    fsd_cpu_transpose(s, sb, q, (int64_t)pa, nb, n, e, stream, simd);
            }
            if (i + 1 < n_in)
                soff_i += odometer_step(p, ta + 1, tb, ic);
        }
        if (o < o_last)
            soff_o += odometer_step(p, 0, ta, oc);
    }
}
