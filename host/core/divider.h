/*
 * divider.h — division by a run-time constant with a multiply and a shift (Granlund and
 * Montgomery, "Division by invariant integers using multiplication", 1994, round-up method).
 *
 * For a divisor d >= 1 let s = ceil(log2 d) and m = floor(2^N * (2^s - d) / d) + 1 (N = 32 or
 * 64). Then for every n < 2^N:  n / d == (mulhi(n, m) + n) >> s. The sum is formed without
 * overflow. The plan computes (m, s) once on the host (fsd_divider_init in divider.c); the
 * kernels' step functions, the emulated grid and the CPU path divide with the same inline
 * functions.
 */
#ifndef FSD_DIVIDER_H
#define FSD_DIVIDER_H

#include <stdint.h>

#include "fsd_hd.h"

typedef struct fsd_divider {
    uint64_t divisor;
    uint64_t magic64;
    uint32_t magic32; /* valid when divisor <= UINT32_MAX */
    uint32_t shift;
} fsd_divider;

#ifdef __cplusplus
extern "C" {
#endif
/* d must be >= 1. */
void fsd_divider_init(fsd_divider *dv, uint64_t d);
#ifdef __cplusplus
}
#endif

FSD_HD uint64_t fsd_mulhi64(uint64_t a, uint64_t b)
{
#if defined(__CUDA_ARCH__)
    return __umul64hi(a, b);
#else
    return (uint64_t)(((unsigned __int128)a * b) >> 64);
#endif
}

/* n / d for any 64-bit n. */
FSD_HD uint64_t fsd_div64(const fsd_divider *dv, uint64_t n)
{
    uint64_t t = fsd_mulhi64(n, dv->magic64);
    /* (t + n) >> s, with t <= n so the halving below cannot overflow. */
    return dv->shift == 0 ? n : (t + ((n - t) >> 1)) >> (dv->shift - 1);
}

/* n / d for n < 2^32 and d <= 2^32 - 1. */
FSD_HD uint32_t fsd_div32(const fsd_divider *dv, uint32_t n)
{
#if defined(__CUDA_ARCH__)
    uint32_t t = __umulhi(n, dv->magic32);
#else
    uint32_t t = (uint32_t)(((uint64_t)n * dv->magic32) >> 32);
#endif
    return (uint32_t)(((uint64_t)t + n) >> dv->shift);
}

#endif
