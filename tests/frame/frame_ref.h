/*
 * frame_ref.h — the frame checksum "xxh3-1k" written again straight from its definition
 * (docs/frames.md) with libxxhash only, for the tests to hold the library against; and the
 * mapped dtypes. Include after "fastserde.h".
 */
#ifndef FSDT_FRAME_REF_H
#define FSDT_FRAME_REF_H

#include <stdint.h>
#include <string.h>

#include <xxhash.h>

static inline void fsdt_le64(unsigned char *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
}

/* The terms of the leaves of n bytes, the first being leaf `first` of its tensor, summed:
 * XXH3_64bits_withSeed(LE64(XXH3_64bits(leaf k, zero-padded to 1 KiB)), 8, first + k). */
static inline uint64_t fsdt_ref_leaves(const unsigned char *p, uint64_t n, uint64_t first)
{
    uint64_t s = 0;
    for (uint64_t k = 0; k * 1024 < n; k++) {
        unsigned char leaf[1024] = {0}, b[8];
        uint64_t len = n - k * 1024 < 1024 ? n - k * 1024 : 1024;
        memcpy(leaf, p + k * 1024, len);
        fsdt_le64(b, XXH3_64bits(leaf, 1024));
        s += XXH3_64bits_withSeed(b, 8, first + k);
    }
    return s;
}

/* S of a tensor's n packed bytes: its leaves from leaf 0. */
static inline uint64_t fsdt_ref_sum(const unsigned char *p, uint64_t n)
{
    return fsdt_ref_leaves(p, n, 0);
}

/* The tensor's checksum: XXH3_64bits_withSeed(LE64(S), 8, XXH3_64bits(name \0 dtype \0 LE64
 * dims)). */
static inline uint64_t fsdt_ref_checksum(const char *name, const char *dtype, const int64_t *shape,
                                         int ndim, const unsigned char *p, uint64_t n)
{
    size_t nl = strlen(name), dl = strlen(dtype);
    unsigned char desc[1024];
    if (nl + dl + 2 + 8 * (size_t)ndim > sizeof desc)
        return 0; /* the tests use short names */
    memcpy(desc, name, nl);
    desc[nl] = 0;
    memcpy(desc + nl + 1, dtype, dl);
    desc[nl + 1 + dl] = 0;
    size_t at = nl + dl + 2;
    for (int d = 0; d < ndim; d++, at += 8)
        fsdt_le64(desc + at, (uint64_t)shape[d]);
    unsigned char b[8];
    fsdt_le64(b, fsdt_ref_sum(p, n));
    return XXH3_64bits_withSeed(b, 8, XXH3_64bits(desc, at));
}

/* The types with a safetensors name: DLPack type, name. */
typedef struct fsdt_frame_dtype {
    DLDataType t;
    const char *name;
} fsdt_frame_dtype;

static const fsdt_frame_dtype FSDT_FRAME_DTYPES[] = {
    {{kDLFloat, 64, 1}, "F64"},  {{kDLFloat, 32, 1}, "F32"},  {{kDLFloat, 16, 1}, "F16"},
    {{kDLBfloat, 16, 1}, "BF16"}, {{kDLInt, 64, 1}, "I64"},   {{kDLInt, 32, 1}, "I32"},
    {{kDLInt, 16, 1}, "I16"},    {{kDLInt, 8, 1}, "I8"},     {{kDLUInt, 64, 1}, "U64"},
    {{kDLUInt, 32, 1}, "U32"},   {{kDLUInt, 16, 1}, "U16"},  {{kDLUInt, 8, 1}, "U8"},
    {{FSD_DL_BOOL, 8, 1}, "BOOL"}, {{FSD_DL_FLOAT8_E4M3FN, 8, 1}, "F8_E4M3"},
    {{FSD_DL_FLOAT8_E5M2, 8, 1}, "F8_E5M2"},
};
#define FSDT_FRAME_NDTYPES (sizeof FSDT_FRAME_DTYPES / sizeof FSDT_FRAME_DTYPES[0])

#endif
