/*
 * checksum_step.cuh — the checksum pack: packs a whole tensor and computes, in the same pass,
 * the sum S of its frame checksum's leaf terms (docs/frames.md, "xxh3-1k": S = sum over leaves
 * k of fsd_xxh3_8b(XXH3_64bits(leaf k), k) mod 2^64, the last leaf zero-padded to 1 KiB). The
 * packed bytes are never read back from global memory: a block gathers a tile of FSD_CS_TILE
 * packed bytes (16 whole leaves) into shared memory, then hashes it from there while it stores
 * it out. Why this form, and what it costs: docs/frames.md, "On the GPU".
 *
 * A block takes tiles grid-stride; each tile goes through four phases, split by barriers:
 *   1. fsd_cs_gather_step   strided source -> shared tile, in words of plan.cs_word bytes, packed
 *                           order (a warp's loads read consecutive packed words: each run's
 *                           bytes coalesced); each thread issues FSD_CS_SLOTS loads before its
 *                           stores. The rest of the tensor's last leaf is zero-filled.
 *   2. fsd_cs_hash_step     shared tile -> destination, 16-byte words; each thread adds the XXH3
 *                           terms of the two 8-byte values of each word it stores (its
 *                           position in the leaf, so its two keys, is the same for all its
 *                           words: 16 x (thread mod 64)) and writes the word's two sums (the
 *                           even and the odd accumulator of its lane pair) over the word in
 *                           the tile.
 *   3. fsd_cs_pairs_step    64 threads, one per (leaf, lane pair) of 4 leaves x 4 pairs ... in
 *                           all 16 x 4 = 64: each sums the 16 words of its pair in its leaf.
 *   4. fsd_cs_leaf_step     16 threads, one per leaf: the merge (fsd_xxh3_merge) and the
 *                           leaf's index-keyed term fsd_xxh3_8b(h, k), returned to the kernel,
 *                           which sums them per thread and adds the sum to *plan.sum once
 *                           (fsd_cs_add_sum: an atomic add on the device).
 * The tile is reused by the next tile only after a barrier. The step functions run per thread
 * (no warp intrinsics): the emulated grid runs them unchanged. P is fsd_cs_args (kernel_args.cuh).
 */
#ifndef FSD_CHECKSUM_STEP_CUH
#define FSD_CHECKSUM_STEP_CUH

#include "runs_step.cuh"
#include "step_common.cuh"
#include "xxh3_leaf.cuh"

#define FSD_CS_SLOTS 4  /* words each thread loads before it stores any (phase 1) */
#define FSD_CS_WORDS (FSD_CS_TILE / 16)        /* 16-byte words of a tile: 1024     */
#define FSD_CS_LEAVES (FSD_CS_TILE / FSD_CS_LEAF) /* leaves of a tile: 16         */
#define FSD_CS_LEAF_WORDS (FSD_CS_LEAF / 16)   /* 16-byte words of a leaf: 64       */

#if FSD_CS_WORDS % FSD_BLOCK_THREADS != 0 || FSD_BLOCK_THREADS % FSD_CS_LEAF_WORDS != 0
#error "phase 2 gives every thread words at one position of their leaves"
#endif

/* The packed bytes of tile `tile` that hold data, and those rounded up to whole leaves. */
template <typename P>
FSD_HD uint32_t fsd_cs_tile_bytes(const P &p, uint64_t tile)
{
    const uint64_t rest = p.total - tile * FSD_CS_TILE;
    return rest < FSD_CS_TILE ? (uint32_t)rest : FSD_CS_TILE;
}

FSD_HD uint32_t fsd_cs_padded(uint32_t bytes)
{
    return (bytes + FSD_CS_LEAF - 1) / FSD_CS_LEAF * FSD_CS_LEAF;
}

/* Phase 1 in words of T: packed word q of the tile comes from run (x + q w) / run_bytes. */
template <typename I, typename T, typename P>
FSD_HD void fsd_cs_gather_words(const P &p, uint64_t tile, uint32_t thread, unsigned char *sh,
                                uint32_t bytes)
{
    const I x = (I)(tile * FSD_CS_TILE), run_bytes = (I)p.cs_run.divisor;
    const uint32_t words = bytes / (uint32_t)sizeof(T);
    for (uint32_t q0 = thread; q0 < words; q0 += FSD_BLOCK_THREADS * FSD_CS_SLOTS) {
        FSD_MODEL_ITERATION();
        T v[FSD_CS_SLOTS];
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
        for (int s = 0; s < FSD_CS_SLOTS; s++) {
            const uint32_t q = q0 + (uint32_t)s * FSD_BLOCK_THREADS;
            if (q < words) {
                const I at = x + (I)q * (I)sizeof(T);
                const I run = fsd_div(p.cs_run, at);
                const I in_run = at - run * run_bytes;
                v[s] = fsd_load_as<T>(p.strided + fsd_run_offset<-1, I>(p, run) + (int64_t)in_run);
            }
        }
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
        for (int s = 0; s < FSD_CS_SLOTS; s++) {
            const uint32_t q = q0 + (uint32_t)s * FSD_BLOCK_THREADS;
            if (q < words)
                fsd_store_as<T>((char *)sh + q * sizeof(T), v[s]);
        }
    }
}

/* Phase 1: the tile's packed bytes into shared memory, the last leaf's padding zeroed. */
template <typename I, typename P>
FSD_HD void fsd_cs_gather_step(const P &p, uint64_t tile, uint32_t thread, unsigned char *sh)
{
    const uint32_t bytes = fsd_cs_tile_bytes(p, tile);
    switch (p.cs_word) {
    case 16: fsd_cs_gather_words<I, uint4>(p, tile, thread, sh, bytes); break;
    case 8: fsd_cs_gather_words<I, uint2>(p, tile, thread, sh, bytes); break;
    case 4: fsd_cs_gather_words<I, uint32_t>(p, tile, thread, sh, bytes); break;
    case 2: fsd_cs_gather_words<I, uint16_t>(p, tile, thread, sh, bytes); break;
    default: fsd_cs_gather_words<I, uint8_t>(p, tile, thread, sh, bytes); break;
    }
    const uint32_t padded = fsd_cs_padded(bytes);
    for (uint32_t b = bytes + thread; b < padded; b += FSD_BLOCK_THREADS)
        fsd_store_as<uint8_t>((char *)sh + b, 0);
}

/* XXH3's key of the 8-byte value at byte `pos` (a multiple of 8) of a 1 KiB leaf. */
FSD_HD uint64_t fsd_cs_key(uint32_t pos)
{
    const unsigned lane = (pos >> 3) & 7u;
    return pos < FSD_CS_LEAF - FSD_XXH3_STRIPE ? fsd_xxh3_stripe_key(pos >> 6, lane)
                                                : fsd_xxh3_last_key(lane);
}

/* The two keys of the thread's words in phase 2 (the same for every tile): once per kernel. */
typedef struct fsd_cs_keys {
    uint64_t k0, k1;
} fsd_cs_keys;

FSD_HD fsd_cs_keys fsd_cs_keys_of(uint32_t thread)
{
    const uint32_t pos = 16u * (thread % FSD_CS_LEAF_WORDS);
    fsd_cs_keys k;
    k.k0 = fsd_cs_key(pos);
    k.k1 = fsd_cs_key(pos + 8);
    return k;
}

FSD_HD uint64_t fsd_cs_mul32(uint64_t k)
{
    return (k & 0xFFFFFFFFull) * (k >> 32);
}

/* Stores `len` (1..16) bytes of the tile at `src` (16-byte aligned) to `dst`, in words of the
 * destination's alignment `a` (a power of two <= 16 that divides dst), the tail byte by byte. */
FSD_HD void fsd_cs_store_out(char *dst, const char *src, uint32_t len, uint32_t a)
{
    const uint32_t main = len / a * a;
    fsd_copy_elem(dst, src, main, a);
    for (uint32_t b = main; b < len; b++)
        fsd_copy_as<uint8_t>(dst + b, src + b);
}

/* Phase 2: thread t stores words t + 256 i of the tile and leaves, in their place, the sums of
 * their terms for the accumulators 2j and 2j + 1 (j = t mod 4, the lane pair of positions
 * 16 (t mod 64) and + 8). */
template <typename P>
FSD_HD void fsd_cs_hash_step(const P &p, uint64_t tile, uint32_t thread, unsigned char *sh,
                             const fsd_cs_keys &k)
{
    const uint32_t bytes = fsd_cs_tile_bytes(p, tile), padded = fsd_cs_padded(bytes);
    char *dst = p.packed + tile * FSD_CS_TILE;
    const int aligned = p.dst_align == 16;
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
    for (uint32_t i = 0; i < FSD_CS_WORDS / FSD_BLOCK_THREADS; i++) {
        const uint32_t o = 16u * (thread + i * FSD_BLOCK_THREADS);
        if (o >= padded)
            break;
        char *s = (char *)sh + o;
        const uint4 w = fsd_load_as<uint4>(s);
        if (o + 16 <= bytes && aligned)
            fsd_store_as<uint4>(dst + o, w);
        else if (o < bytes)
            fsd_cs_store_out(dst + o, s, bytes - o < 16 ? bytes - o : 16, p.dst_align);
        const uint64_t v0 = (uint64_t)w.x | ((uint64_t)w.y << 32);
        const uint64_t v1 = (uint64_t)w.z | ((uint64_t)w.w << 32);
        /* lanes 2j and 2j + 1 (fsd_xxh3_acc_add): v0 adds to 2j + 1, v1 to 2j */
        uint2 even_odd; /* written as two 8-byte halves of the word */
        const uint64_t even = fsd_cs_mul32(v0 ^ k.k0) + v1;
        const uint64_t odd = v0 + fsd_cs_mul32(v1 ^ k.k1);
        even_odd.x = (uint32_t)even;
        even_odd.y = (uint32_t)(even >> 32);
        fsd_store_as<uint2>(s, even_odd);
        even_odd.x = (uint32_t)odd;
        even_odd.y = (uint32_t)(odd >> 32);
        fsd_store_as<uint2>(s + 8, even_odd);
    }
}

FSD_HD uint64_t fsd_cs_load64(const unsigned char *s)
{
    const uint2 v = fsd_load_as<uint2>((const char *)s);
    return (uint64_t)v.x | ((uint64_t)v.y << 32);
}

FSD_HD void fsd_cs_store64(unsigned char *s, uint64_t v)
{
    uint2 w;
    w.x = (uint32_t)v;
    w.y = (uint32_t)(v >> 32);
    fsd_store_as<uint2>((char *)s, w);
}

/* Phase 3: thread (leaf l, pair j) = (t / 4, t mod 4), t < 64: the sums of the 16 words of pair
 * j in leaf l, into the leaf's word j. */
template <typename P>
FSD_HD void fsd_cs_pairs_step(const P &p, uint64_t tile, uint32_t thread, unsigned char *sh)
{
    const uint32_t leaves = fsd_cs_padded(fsd_cs_tile_bytes(p, tile)) / FSD_CS_LEAF;
    const uint32_t l = thread / 4, j = thread % 4;
    if (thread >= 4 * FSD_CS_LEAVES || l >= leaves)
        return;
    unsigned char *leaf = sh + l * FSD_CS_LEAF;
    uint64_t even = 0, odd = 0;
    for (uint32_t m = j; m < FSD_CS_LEAF_WORDS; m += 4) {
        even += fsd_cs_load64(leaf + 16 * m);
        odd += fsd_cs_load64(leaf + 16 * m + 8);
    }
    fsd_cs_store64(leaf + 16 * j, even);
    fsd_cs_store64(leaf + 16 * j + 8, odd);
}

/* Phase 4: thread l < 16 finishes leaf l of the tile: its term of S (0 past the tensor). */
template <typename P>
FSD_HD uint64_t fsd_cs_leaf_step(const P &p, uint64_t tile, uint32_t thread, const unsigned char *sh)
{
    const uint32_t leaves = fsd_cs_padded(fsd_cs_tile_bytes(p, tile)) / FSD_CS_LEAF;
    if (thread >= leaves)
        return 0;
    const unsigned char *leaf = sh + thread * FSD_CS_LEAF;
    fsd_xxh3_acc a;
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
    for (int i = 0; i < 8; i++)
        a.v[i] = fsd_cs_load64(leaf + 8 * i);
    const uint64_t h = fsd_xxh3_merge(&a, FSD_CS_LEAF);
    return fsd_xxh3_8b(h, tile * FSD_CS_LEAVES + thread);
}

/* Adds a thread's sum of leaf terms to S. */
FSD_HD void fsd_cs_add_sum(unsigned long long *sum, uint64_t s)
{
#if defined(__CUDA_ARCH__)
    atomicAdd(sum, (unsigned long long)s);
#else
    *sum += s;
#endif
}

#endif
