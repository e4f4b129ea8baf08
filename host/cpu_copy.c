/* cpu_copy.c — the CPU path (see cpu_copy.h). No call per element: fixed-size copies of 1, 2,
 * 4, 8 and 16 bytes are expanded inline by the compiler. */
#include <string.h>

#include "cpu_copy.h"

/* Side of the square blocks TRANSPOSE walks: 64 x 64 elements of up to 16 bytes stay in L1/L2. */
#define FSD_CPU_TILE 64

/* n copies of `size` bytes: dst and src advance by their own steps. */
#define FSD_COPY_LOOP(size)                                       \
    for (uint64_t i = 0; i < n; i++, dst += dstep, src += sstep) \
        memcpy(dst, src, size)

static inline void copy_strided(char *dst, int64_t dstep, const char *src, int64_t sstep,
                                uint64_t n, uint64_t size)
{
    switch (size) {
    case 1: FSD_COPY_LOOP(1); break;
    case 2: FSD_COPY_LOOP(2); break;
    case 4: FSD_COPY_LOOP(4); break;
    case 8: FSD_COPY_LOOP(8); break;
    case 16: FSD_COPY_LOOP(16); break;
    default: FSD_COPY_LOOP(size); break;
    }
}

/* Byte offset on the strided side of outer index `idx` over dims [0, ndim) except `skip_a`
 * and `skip_b` (-1: none), whose packed offset goes to *poff. */
static int64_t decompose(const fsd_plan *p, uint64_t idx, int skip_a, int skip_b, uint64_t *poff)
{
    int64_t soff = 0;
    uint64_t pk = 0;
    for (int d = p->ndim - 1; d >= 0; d--) {
        if (d == skip_a || d == skip_b)
            continue;
        uint64_t q = fsd_div64(&p->div[d], idx);
        uint64_t c = idx - q * p->shape[d];
        idx = q;
        soff += (int64_t)c * p->stride[d];
        pk += c * p->pstride[d];
    }
    *poff = pk;
    return soff;
}

/* Moves n bytes between the strided side and the packed side. */
static inline void move_bytes(int pack, char *strided, char *packed, uint64_t n)
{
    if (pack)
        memcpy(packed, strided, n);
    else
        memcpy(strided, packed, n);
}

/* RUNS / GENERIC / CONTIG over the plan's packed range: a partial run at either end, and
 * between them whole runs along the innermost outer dim, walked with an odometer. */
static void copy_runs(const fsd_plan *p)
{
    const int pack = p->dir == FSD_DIR_PACK;
    const int last = p->ndim - 1;
    const uint64_t run = p->run_bytes;
    const uint64_t inner_n = p->ndim > 0 ? p->shape[last] : 1;
    const int64_t inner_stride = p->ndim > 0 ? p->stride[last] : 0;
    uint64_t coord[FSD_PLAN_MAX_DIMS];
    /* Coordinates and strided offset of the first run. */
    uint64_t r = p->begin / run, idx = r;
    int64_t soff = 0;
    for (int d = last; d >= 0; d--) {
        uint64_t q = fsd_div64(&p->div[d], idx);
        coord[d] = idx - q * p->shape[d];
        idx = q;
        soff += (int64_t)coord[d] * p->stride[d];
    }
    uint64_t off = p->begin;
    char *packed = p->packed;
    while (off < p->end) {
        uint64_t in = off - r * run; /* offset inside run r */
        uint64_t n = 0;              /* runs finished in this step */
        if (in == 0 && p->end - off >= run) {
            /* Whole runs, up to the end of this row of the innermost dim or of the range. */
            uint64_t row_left = p->ndim > 0 ? inner_n - coord[last] : 1;
            uint64_t fit = (p->end - off) / run;
            n = fit < row_left ? fit : row_left;
            if (pack)
                copy_strided(packed, (int64_t)run, p->strided + soff, inner_stride, n, run);
            else
                copy_strided(p->strided + soff, inner_stride, packed, (int64_t)run, n, run);
            packed += n * run;
            off += n * run;
        } else {
            /* Part of one run: the range starts or ends inside it. */
            uint64_t len = run - in < p->end - off ? run - in : p->end - off;
            move_bytes(pack, p->strided + soff + in, packed, len);
            packed += len;
            off += len;
            n = in + len == run;
        }
        if (n == 0 || p->ndim == 0)
            continue;
        /* Advance the odometer by n runs along the innermost dim (n never passes its end). */
        r += n;
        coord[last] += n;
        soff += (int64_t)n * inner_stride;
        for (int d = last; d > 0 && coord[d] == p->shape[d]; d--) {
            soff -= (int64_t)p->shape[d] * p->stride[d];
            coord[d] = 0;
            coord[d - 1]++;
            soff += p->stride[d - 1];
        }
    }
}

/* TRANSPOSE: square blocks over (tdim, innermost dim) for every batch index; each block row
 * (fixed a) is clipped to the plan's range, whose ends fall between elements. */
static void copy_transpose(const fsd_plan *p)
{
    const int ta = p->tdim, tb = p->ndim - 1;
    const uint64_t na = p->shape[ta], nb = p->shape[tb];
    const int64_t sa = p->stride[ta], sb = p->stride[tb]; /* sa == elem_size */
    const uint64_t pa = p->pstride[ta], e = p->elem_size;  /* packed stride of b is elem_size */
    const uint64_t batches = p->num_runs / (na * nb);
    const int pack = p->dir == FSD_DIR_PACK;
    for (uint64_t bt = 0; bt < batches; bt++) {
        uint64_t poff;
        int64_t soff = decompose(p, bt, ta, tb, &poff);
        /* Skip batches whose packed bytes [poff, poff + span) miss the range. */
        if (poff >= p->end || poff + (na - 1) * pa + nb * e <= p->begin)
            continue;
        for (uint64_t a0 = 0; a0 < na; a0 += FSD_CPU_TILE) {
            uint64_t a1 = a0 + FSD_CPU_TILE < na ? a0 + FSD_CPU_TILE : na;
            for (uint64_t b0 = 0; b0 < nb; b0 += FSD_CPU_TILE) {
                uint64_t b1 = b0 + FSD_CPU_TILE < nb ? b0 + FSD_CPU_TILE : nb;
                for (uint64_t a = a0; a < a1; a++) {
                    /* Elements [lo, hi) of this row inside [begin, end). */
                    uint64_t row = poff + a * pa, lo = b0, hi = b1;
                    if (row + lo * e < p->begin)
                        lo = (p->begin - row + e - 1) / e;
                    if (row + hi * e > p->end)
                        hi = p->end > row ? (p->end - row) / e : 0;
                    if (lo >= hi)
                        continue;
                    char *s = p->strided + soff + (int64_t)a * sa + (int64_t)lo * sb;
                    char *q = p->packed + (row + lo * e - p->begin);
                    if (pack)
                        copy_strided(q, (int64_t)e, s, sb, hi - lo, e);
                    else
                        copy_strided(s, sb, q, (int64_t)e, hi - lo, e);
                }
            }
        }
    }
}

void fsd_cpu_execute(const fsd_plan *p)
{
    switch (p->path) {
    case FSD_PATH_EMPTY:
        break;
    case FSD_PATH_CONTIG:
        move_bytes(p->dir == FSD_DIR_PACK, p->strided + p->begin, p->packed, p->end - p->begin);
        break;
    case FSD_PATH_RUNS:
    case FSD_PATH_GENERIC:
        copy_runs(p);
        break;
    case FSD_PATH_TRANSPOSE:
        copy_transpose(p);
        break;
    default:
        break;
    }
}
