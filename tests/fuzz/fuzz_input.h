/*
 * fuzz_input.h — reads typed values off a libFuzzer input, front to back. Past the end every
 * read gives 0, so that any input (the empty one included) is a valid program for a target.
 */
#ifndef FSDF_FUZZ_INPUT_H
#define FSDF_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct fsdf_input {
    const uint8_t *p;
    size_t n;
} fsdf_input;

static inline uint8_t fsdf_u8(fsdf_input *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

static inline uint16_t fsdf_u16(fsdf_input *in)
{
    uint16_t v = fsdf_u8(in);
    return (uint16_t)(v | (uint16_t)fsdf_u8(in) << 8);
}

static inline uint32_t fsdf_u32(fsdf_input *in)
{
    uint32_t v = fsdf_u16(in);
    return v | (uint32_t)fsdf_u16(in) << 16;
}

static inline uint64_t fsdf_u64(fsdf_input *in)
{
    uint64_t v = fsdf_u32(in);
    return v | (uint64_t)fsdf_u32(in) << 32;
}

/* A value in [0, n) (n >= 1) from one byte. */
static inline unsigned fsdf_pick(fsdf_input *in, unsigned n)
{
    return fsdf_u8(in) % n;
}

/* 64-bit values that matter at the edges of the checks, chosen by one byte; the byte's values
 * past the table read 8 raw bytes instead. */
static inline int64_t fsdf_edgy_i64(fsdf_input *in)
{
    static const int64_t table[] = {
        0, 1, 2, 3, 4, 5, 7, 8, 16, 31, 32, 33, 64, 255, 256, 4096, 65536,
        -1, -2, -3, -8, -4096,
        INT64_MAX, INT64_MAX - 1, INT64_MAX / 2, INT64_MAX / 2 + 1, INT64_MAX / 3,
        INT64_MIN, INT64_MIN + 1, -INT64_MAX / 2,
        (int64_t)1 << 31, ((int64_t)1 << 31) - 1, (int64_t)1 << 32, ((int64_t)1 << 32) + 1,
        (int64_t)1 << 61, (int64_t)1 << 62, ((int64_t)1 << 62) - 1, ((int64_t)1 << 62) + 1,
        -((int64_t)1 << 62), (int64_t)3 << 61,
    };
    const unsigned count = sizeof table / sizeof table[0];
    uint8_t b = fsdf_u8(in);
    if (b < count)
        return table[b];
    if (b < 192) /* a small number */
        return (int64_t)(b - count) - 8;
    return (int64_t)fsdf_u64(in);
}

#endif
