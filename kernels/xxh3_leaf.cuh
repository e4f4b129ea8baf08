/*
 * xxh3_leaf.cuh — the frame checksum's building blocks (docs/frames.md, "xxh3-1k") in additive
 * form: plain functions, FSD_HD, in the common subset of C11 and CUDA C++, so that the host
 * tests prove them equal to libxxhash and the pack kernels can compute the same values.
 *
 * What they reproduce (xxhash 0.8, xxhash.h: XXH3_hashLong_internal_loop, XXH3_accumulate_512,
 * XXH3_mergeAccs, XXH3_len_4to8_64b). XXH3_64bits of an input of 241..1024 bytes (seed 0, the
 * default 192-byte secret) takes the "long" path with no full block (a block is 16 stripes of
 * 64 bytes, and (len - 1) / 1024 = 0), so no scrambling happens:
 *     acc = the 8 initial values
 *     for stripe n in 0 .. (len - 1) / 64 - 1, lane i in 0..7:     v = LE64(input + 64n + 8i)
 *         acc[i ^ 1] += v;   k = v ^ LE64(secret + 8n + 8i);   acc[i] += lo32(k) * hi32(k)
 *     the last stripe, input + len - 64, lane i, with key LE64(secret + 121 + 8i), the same way
 *     hash = avalanche(len * PRIME64_1 + sum over j < 4 of
 *                      fold64(mul128(acc[2j] ^ LE64(secret + 11 + 16j),
 *                                    acc[2j + 1] ^ LE64(secret + 19 + 16j))))
 * Every step before the merge is an addition modulo 2^64 of a term that depends only on one
 * 8-byte value and its position. So any number of threads may each add the terms of the
 * values they hold into their own zeroed accumulators (fsd_xxh3_acc_add), the partial
 * accumulators are summed (fsd_xxh3_acc_sum, in any order), and one thread finishes the leaf
 * (fsd_xxh3_merge, which adds the initial values). For a whole 1 KiB leaf every value at an
 * offset that is a multiple of 8 counts exactly once (stripes 0..14 cover bytes 0..959, the
 * last stripe 960..1023): fsd_xxh3_leaf_add. Lengths below 1024 overlap the last stripe with
 * the one before at offsets that are not multiples of 8 (fsd_xxh3_long_hash shows it); the
 * frame checksum never hashes them: its last leaf is zero-padded to 1 KiB.
 */
#ifndef FSD_XXH3_LEAF_CUH
#define FSD_XXH3_LEAF_CUH

#include <stdint.h>

#include "fsd_hd.h"

#define FSD_XXH3_LEAF_BYTES 1024u  /* bytes of a leaf of the frame checksum             */
#define FSD_XXH3_STRIPE 64u        /* bytes of a stripe                                  */
#define FSD_XXH3_SECRET_BYTES 192u /* XXH3's default secret                              */
#define FSD_XXH3_LAST_KEY 121u     /* secret offset of the last stripe's keys: 192-64-7  */
#define FSD_XXH3_MERGE_KEY 11u     /* secret offset of the merge keys                    */

#define FSD_XXH3_PRIME32_1 0x9E3779B1u
#define FSD_XXH3_PRIME32_2 0x85EBCA77u
#define FSD_XXH3_PRIME32_3 0xC2B2AE3Du
#define FSD_XXH3_PRIME64_1 0x9E3779B185EBCA87ull
#define FSD_XXH3_PRIME64_2 0xC2B2AE3D27D4EB4Full
#define FSD_XXH3_PRIME64_3 0x165667B19E3779F9ull
#define FSD_XXH3_PRIME64_4 0x85EBCA77C2B2AE63ull
#define FSD_XXH3_PRIME64_5 0x27D4EB2F165667C5ull

/* The eight accumulators of one leaf, or one thread's share of them (zero-based). */
typedef struct fsd_xxh3_acc {
    uint64_t v[8];
} fsd_xxh3_acc;

/* XXH3's default secret (XXH3_kSecret, the constant of the algorithm's specification) as 24
 * little-endian 64-bit words. */
#define FSD_XXH3_SECRET_WORDS                                                                  \
    0xbe4ba423396cfeb8ull, 0x1cad21f72c81017cull, 0xdb979083e96dd4deull, 0x1f67b3b7a4a44072ull, \
    0x78e5c0cc4ee679cbull, 0x2172ffcc7dd05a82ull, 0x8e2443f7744608b8ull, 0x4c263a81e69035e0ull, \
    0xcb00c391bb52283cull, 0xa32e531b8b65d088ull, 0x4ef90da297486471ull, 0xd8acdea946ef1938ull, \
    0x3f349ce33f76faa8ull, 0x1d4f0bc7c7bbdcf9ull, 0x3159b4cd4be0518aull, 0x647378d9c97e9fc8ull, \
    0xc3ebd33483acc5eaull, 0xeb6313faffa081c5ull, 0x49daf0b751dd0d17ull, 0x9e68d429265516d3ull, \
    0xfca1477d58be162bull, 0xce31d07ad1b8f88full, 0x280416958f3acb45ull, 0x7e404bbbcafbd7afull

#if defined(__CUDACC__)
/* On the device the secret lives in constant memory: a function-local table indexed at run time
 * would be put in local memory (256 bytes of stack per thread). Each translation unit has its
 * own copy (static). */
static __constant__ uint64_t fsd_xxh3_secret_c[24] = {FSD_XXH3_SECRET_WORDS};
#endif

/* Little-endian 64-bit word m (0..23) of the secret. */
FSD_HD uint64_t fsd_xxh3_secret_word(unsigned m)
{
#if defined(__CUDA_ARCH__)
    return fsd_xxh3_secret_c[m];
#else
    const uint64_t w[24] = {FSD_XXH3_SECRET_WORDS};
    return w[m];
#endif
}

/* LE64(secret + byte), byte in 0..184. */
FSD_HD uint64_t fsd_xxh3_secret64(unsigned byte)
{
    unsigned m = byte / 8, r = byte % 8;
    uint64_t lo = fsd_xxh3_secret_word(m);
    if (r == 0)
        return lo;
    return (lo >> (8 * r)) | (fsd_xxh3_secret_word(m + 1) << (64 - 8 * r));
}

FSD_HD void fsd_xxh3_acc_zero(fsd_xxh3_acc *a)
{
    for (int i = 0; i < 8; i++)
        a->v[i] = 0;
}

/* The term of the 8-byte little-endian value v in `lane` (0..7) with secret word `key`. */
FSD_HD void fsd_xxh3_acc_add(fsd_xxh3_acc *a, unsigned lane, uint64_t v, uint64_t key)
{
    uint64_t k = v ^ key;
    a->v[lane ^ 1u] += v;
    a->v[lane] += (k & 0xFFFFFFFFull) * (k >> 32);
}

/* a += b: joins two partial accumulators of one leaf. */
FSD_HD void fsd_xxh3_acc_sum(fsd_xxh3_acc *a, const fsd_xxh3_acc *b)
{
    for (int i = 0; i < 8; i++)
        a->v[i] += b->v[i];
}

/* The key of lane `lane` of stripe `stripe` (0..15) and of the last stripe. */
FSD_HD uint64_t fsd_xxh3_stripe_key(unsigned stripe, unsigned lane)
{
    return fsd_xxh3_secret64(8u * stripe + 8u * lane);
}

FSD_HD uint64_t fsd_xxh3_last_key(unsigned lane)
{
    return fsd_xxh3_secret64(FSD_XXH3_LAST_KEY + 8u * lane);
}

/* The term of the value at byte `pos` (a multiple of 8, < 1024) of a whole 1 KiB leaf. */
FSD_HD void fsd_xxh3_leaf_add(fsd_xxh3_acc *a, uint32_t pos, uint64_t v)
{
    unsigned lane = (pos >> 3) & 7u;
    if (pos < FSD_XXH3_LEAF_BYTES - FSD_XXH3_STRIPE)
        fsd_xxh3_acc_add(a, lane, v, fsd_xxh3_stripe_key(pos >> 6, lane));
    else
        fsd_xxh3_acc_add(a, lane, v, fsd_xxh3_last_key(lane));
}

/* The high and low 64 bits of a * b, folded by XOR (XXH3_mul128_fold64), in 32-bit pieces:
 * for compilers without a 128-bit integer (the tests compare it with the other forms). */
FSD_HD uint64_t fsd_xxh3_mul_fold_portable(uint64_t a, uint64_t b)
{
    uint64_t lo_lo = (a & 0xFFFFFFFFull) * (b & 0xFFFFFFFFull);
    uint64_t hi_lo = (a >> 32) * (b & 0xFFFFFFFFull);
    uint64_t lo_hi = (a & 0xFFFFFFFFull) * (b >> 32);
    uint64_t hi_hi = (a >> 32) * (b >> 32);
    uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xFFFFFFFFull) + lo_hi;
    uint64_t hi = (hi_lo >> 32) + (cross >> 32) + hi_hi;
    uint64_t lo = (cross << 32) | (lo_lo & 0xFFFFFFFFull);
    return lo ^ hi;
}

FSD_HD uint64_t fsd_xxh3_mul_fold(uint64_t a, uint64_t b)
{
#if defined(__CUDA_ARCH__)
    return (a * b) ^ __umul64hi(a, b);
#elif defined(__SIZEOF_INT128__)
    __extension__ typedef unsigned __int128 fsd_u128;
    fsd_u128 p = (fsd_u128)a * b;
    return (uint64_t)p ^ (uint64_t)(p >> 64);
#else
    return fsd_xxh3_mul_fold_portable(a, b);
#endif
}

/* Finishes a leaf of `len` bytes (241..1024) from the sum of its terms: adds XXH3's initial
 * accumulator values, merges, avalanches. Equals XXH3_64bits of the leaf. */
FSD_HD uint64_t fsd_xxh3_merge(const fsd_xxh3_acc *terms, uint32_t len)
{
    const uint64_t init[8] = {FSD_XXH3_PRIME32_3, FSD_XXH3_PRIME64_1, FSD_XXH3_PRIME64_2,
                              FSD_XXH3_PRIME64_3, FSD_XXH3_PRIME64_4, FSD_XXH3_PRIME32_2,
                              FSD_XXH3_PRIME64_5, FSD_XXH3_PRIME32_1};
    uint64_t h = (uint64_t)len * FSD_XXH3_PRIME64_1;
    for (unsigned j = 0; j < 4; j++) {
        uint64_t a0 = init[2 * j] + terms->v[2 * j];
        uint64_t a1 = init[2 * j + 1] + terms->v[2 * j + 1];
        h += fsd_xxh3_mul_fold(a0 ^ fsd_xxh3_secret64(FSD_XXH3_MERGE_KEY + 16u * j),
                               a1 ^ fsd_xxh3_secret64(FSD_XXH3_MERGE_KEY + 16u * j + 8u));
    }
    h ^= h >> 37; /* XXH3_avalanche */
    h *= 0x165667919E3779F9ull;
    h ^= h >> 32;
    return h;
}

FSD_HD uint64_t fsd_xxh3_load64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* XXH3_64bits of `len` bytes, 241 <= len <= 1024, written as the sum of terms above: every
 * stripe's values, then the last stripe's (which overlap the one before unless len is a
 * multiple of 64). The reference for the reading; the frame uses whole leaves only. */
FSD_HD uint64_t fsd_xxh3_long_hash(const unsigned char *p, uint32_t len)
{
    fsd_xxh3_acc t;
    fsd_xxh3_acc_zero(&t);
    uint32_t stripes = (len - 1) / FSD_XXH3_STRIPE;
    for (uint32_t n = 0; n < stripes; n++)
        for (unsigned i = 0; i < 8; i++)
            fsd_xxh3_acc_add(&t, i, fsd_xxh3_load64(p + 64 * n + 8 * i), fsd_xxh3_stripe_key(n, i));
    for (unsigned i = 0; i < 8; i++)
        fsd_xxh3_acc_add(&t, i, fsd_xxh3_load64(p + len - 64 + 8 * i), fsd_xxh3_last_key(i));
    return fsd_xxh3_merge(&t, len);
}

/* XXH3_64bits_withSeed of the 8 bytes LE64(v) (XXH3_len_4to8_64b). The frame checksum uses it
 * to key each leaf digest with its index and to finish a tensor's checksum. */
FSD_HD uint64_t fsd_xxh3_8b(uint64_t v, uint64_t seed)
{
    uint32_t s = (uint32_t)seed;
    uint32_t swapped = (s >> 24) | ((s >> 8) & 0xFF00u) | ((s << 8) & 0xFF0000u) | (s << 24);
    seed ^= (uint64_t)swapped << 32;
    uint64_t bitflip = (fsd_xxh3_secret64(8) ^ fsd_xxh3_secret64(16)) - seed;
    uint64_t input64 = (v >> 32) + (v << 32); /* readLE32(p + 4) + (readLE32(p) << 32) */
    uint64_t h = input64 ^ bitflip;
    h ^= ((h << 49) | (h >> 15)) ^ ((h << 24) | (h >> 40)); /* XXH3_rrmxmx */
    h *= 0x9FB21C651E98DF25ull;
    h ^= (h >> 35) + 8u;
    h *= 0x9FB21C651E98DF25ull;
    h ^= h >> 28;
    return h;
}

#endif
