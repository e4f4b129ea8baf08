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

/* RUNS / GENERIC / CONTIG: rows of the innermost outer dim, walked with an odometer. */
static void copy_runs(const fsd_plan *p)
{
    int last = p->ndim - 1;
    uint64_t inner_n = p->ndim > 0 ? p->shape[last] : 1;
    int64_t inner_stride = p->ndim > 0 ? p->stride[last] : 0;
    uint64_t rows = p->num_runs / inner_n;
    int pack = p->dir == FSD_DIR_PACK;
    uint64_t coord[FSD_PLAN_MAX_DIMS] = {0};
    int64_t soff = 0;
    char *packed = p->packed;
    for (uint64_t r = 0; r < rows; r++) {
        char *strided = p->strided + soff;
        if (pack)
            copy_strided(packed, (int64_t)p->run_bytes, strided, inner_stride, inner_n, p->run_bytes);
        else
            copy_strided(strided, inner_stride, packed, (int64_t)p->run_bytes, inner_n, p->run_bytes);
        packed += inner_n * p->run_bytes;
        /* Odometer over dims [0, last). */
        for (int d = last - 1; d >= 0; d--) {
            soff += p->stride[d];
            if (++coord[d] < p->shape[d])
                break;
            soff -= (int64_t)p->shape[d] * p->stride[d];
            coord[d] = 0;
        }
    }
}

/* TRANSPOSE: square blocks over (tdim, innermost dim) for every batch index. */
static void copy_transpose(const fsd_plan *p)
{
    int ta = p->tdim, tb = p->ndim - 1;
    uint64_t na = p->shape[ta], nb = p->shape[tb];
    int64_t sa = p->stride[ta], sb = p->stride[tb]; /* sa == elem_size */
    uint64_t pa = p->pstride[ta], e = p->elem_size;  /* packed stride of b is elem_size */
    uint64_t batches = p->num_runs / (na * nb);
    int pack = p->dir == FSD_DIR_PACK;
    for (uint64_t bt = 0; bt < batches; bt++) {
        uint64_t poff;
        int64_t soff = decompose(p, bt, ta, tb, &poff);
        char *s0 = p->strided + soff, *p0 = p->packed + poff;
        for (uint64_t a0 = 0; a0 < na; a0 += FSD_CPU_TILE) {
            uint64_t a1 = a0 + FSD_CPU_TILE < na ? a0 + FSD_CPU_TILE : na;
            for (uint64_t b0 = 0; b0 < nb; b0 += FSD_CPU_TILE) {
                uint64_t b1 = b0 + FSD_CPU_TILE < nb ? b0 + FSD_CPU_TILE : nb;
                for (uint64_t a = a0; a < a1; a++) {
                    char *s = s0 + (int64_t)a * sa + (int64_t)b0 * sb;
                    char *q = p0 + a * pa + b0 * e;
                    if (pack)
                        copy_strided(q, (int64_t)e, s, sb, b1 - b0, e);
                    else
                        copy_strided(s, sb, q, (int64_t)e, b1 - b0, e);
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
        if (p->dir == FSD_DIR_PACK)
            memcpy(p->packed, p->strided, p->total_bytes);
        else
            memcpy(p->strided, p->packed, p->total_bytes);
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
