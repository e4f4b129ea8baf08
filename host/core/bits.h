/* bits.h — the small power-of-two helpers the planners share (word widths, group sizes). */
#ifndef FSD_BITS_H
#define FSD_BITS_H

#include <stdint.h>

/* Largest power of two <= 16 that divides x (16 for x == 0): the widest aligned access. */
static inline uint32_t fsd_word_of(uint64_t x)
{
    uint32_t w = 16;
    while (w > 1 && (x & (w - 1)) != 0)
        w >>= 1;
    return w;
}

/* Smallest power of two >= x, at most cap (a power of two). */
static inline uint32_t fsd_ceil_pow2(uint64_t x, uint32_t cap)
{
    uint32_t g = 1;
    while (g < cap && g < x)
        g <<= 1;
    return g;
}

/* ceil(log2(x)) for x >= 1: the exponent of a power of two. */
static inline uint32_t fsd_log2_u32(uint32_t x)
{
    uint32_t s = 0;
    while ((1u << s) < x)
        s++;
    return s;
}

#endif
