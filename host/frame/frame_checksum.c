/*
 * frame_checksum.c — the frame checksum "xxh3-1k" (docs/frames.md has the definition and the
 * reasons). With B the n packed bytes of a tensor:
 *     leaf k = B[1024k, 1024k + 1024), the last one zero-padded to 1024 bytes
 *     h_k    = XXH3_64bits(leaf k)                          (seed 0, 1024 bytes)
 *     S      = sum over k of XXH3_64bits_withSeed(LE64(h_k), 8, k)   mod 2^64   (0 for n = 0)
 *     seed   = XXH3_64bits(name, 0x00, dtype name, 0x00, LE64 of each dimension)
 *     value  = XXH3_64bits_withSeed(LE64(S), 8, seed)
 * Leaves are hashed by libxxhash; the 8-byte terms by kernels/xxh3_leaf.cuh's fsd_xxh3_8b, the
 * same function the pack kernels use (the tests prove it equal to libxxhash's).
 */
#include <stdlib.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "frame.h"
#include "xxh3_leaf.cuh"

/* Debian's libxxhash (0.8.1) carries the x86 dispatcher: the AVX2 loop where the CPU has it. */
#if defined(__x86_64__) && defined(FSD_XXH3_DISPATCH)
XXH64_hash_t XXH3_64bits_dispatch(const void *input, size_t len);
#define FSD_XXH3_LEAF(p) XXH3_64bits_dispatch((p), FSD_XXH3_LEAF_BYTES)
#else
#define FSD_XXH3_LEAF(p) XXH3_64bits((p), FSD_XXH3_LEAF_BYTES)
#endif

uint64_t fsd_frame_leaves(const void *bytes, uint64_t len, uint64_t first)
{
    const unsigned char *p = bytes;
    uint64_t sum = 0, k = first;
    for (; len >= FSD_XXH3_LEAF_BYTES; len -= FSD_XXH3_LEAF_BYTES, p += FSD_XXH3_LEAF_BYTES, k++)
        sum += fsd_xxh3_8b(FSD_XXH3_LEAF(p), k);
    if (len > 0) {
        _Alignas(64) unsigned char last[FSD_XXH3_LEAF_BYTES];
        memcpy(last, p, len);
        memset(last + len, 0, FSD_XXH3_LEAF_BYTES - len);
        sum += fsd_xxh3_8b(FSD_XXH3_LEAF(last), k);
    }
    return sum;
}

static void put_le64(unsigned char *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
}

uint64_t fsd_frame_tensor_seed(const char *name, size_t name_len, const char *dtype,
                               const int64_t *shape, int ndim)
{
    XXH3_state_t st;
    XXH3_INITSTATE(&st);
    (void)XXH3_64bits_reset(&st);
    const unsigned char zero = 0;
    (void)XXH3_64bits_update(&st, name, name_len);
    (void)XXH3_64bits_update(&st, &zero, 1);
    (void)XXH3_64bits_update(&st, dtype, strlen(dtype));
    (void)XXH3_64bits_update(&st, &zero, 1);
    for (int d = 0; d < ndim; d++) {
        unsigned char b[8];
        put_le64(b, (uint64_t)shape[d]);
        (void)XXH3_64bits_update(&st, b, 8);
    }
    return XXH3_64bits_digest(&st);
}

uint64_t fsd_frame_finish(uint64_t sum, uint64_t seed)
{
    unsigned char b[8];
    put_le64(b, sum);
    return XXH3_64bits_withSeed(b, 8, seed);
}

static int by_key(const void *a, const void *b)
{
    return strcmp((*(const fsd_frame_kv *const *)a)->key, (*(const fsd_frame_kv *const *)b)->key);
}

static int excluded(const char *key)
{
    return strncmp(key, FSD_FRAME_KEY_CHECKSUM, sizeof FSD_FRAME_KEY_CHECKSUM - 1) == 0;
}

uint64_t fsd_frame_metadata_checksum(const fsd_frame_kv *pairs, size_t n, const fsd_frame_kv **order)
{
    for (size_t i = 0; i < n; i++)
        order[i] = &pairs[i];
    if (n > 1)
        qsort(order, n, sizeof *order, by_key);
    XXH3_state_t st;
    XXH3_INITSTATE(&st);
    (void)XXH3_64bits_reset(&st);
    for (size_t i = 0; i < n; i++) {
        if (excluded(order[i]->key))
            continue;
        (void)XXH3_64bits_update(&st, order[i]->key, strlen(order[i]->key) + 1);
        (void)XXH3_64bits_update(&st, order[i]->value, strlen(order[i]->value) + 1);
    }
    return XXH3_64bits_digest(&st);
}
