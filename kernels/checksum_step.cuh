/*
 * checksum_step.cuh — the checksum pack: packs a whole tensor and computes, in the same pass,
 * the sum S of its frame checksum's leaf terms (docs/frames.md, "xxh3-1k": S = sum over leaves
 * k of fsd_xxh3_8b(XXH3_64bits(leaf k), k) mod 2^64, the last leaf zero-padded to 1 KiB). The
 * packed bytes are never read back from global memory: a block gathers a tile of FSD_CS_TILE
 * packed bytes (32 whole leaves) into shared memory, then hashes it from there while it stores
 * it out. Why this form, and what it costs: docs/frames.md, "On the GPU".
 *
 * A block takes tiles grid-stride; each tile goes through four phases, split by barriers:
 *   1. fsd_cs_gather_step   strided source -> shared tile, in words of plan.cs_word bytes (the
 *                           kernel's template parameter W), packed order (a warp's loads read
 *                           consecutive packed words: each run's bytes coalesced); each thread
 *                           issues FSD_CS_SLOTS loads before its stores. The rest of the
 *                           tensor's last leaf is zero-filled. (Transposes whose rows fit the
 *                           leaves: fsd_cst_gather_step, checksum_transpose_step.cuh.)
 *   2. fsd_cs_hash_step     shared tile -> destination, 16-byte words; each thread adds the XXH3
 *                           terms of the two 8-byte values of each word it stores (its
 *                           position in the leaf, so its two keys, is the same for all its
 *                           words: 16 x (thread mod 64)) and writes the word's two sums (the
 *                           even and the odd accumulator of its lane pair) over the word in
 *                           the tile.
 *   3. fsd_cs_pairs_step    128 threads, one per (leaf, lane pair): each sums the 16 words of
 *                           its pair in its leaf.
 *   4. fsd_cs_leaf_step     32 threads, one per leaf: the merge (fsd_xxh3_merge) and the
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
#define FSD_CS_WORDS (FSD_CS_TILE / 16)        /* 16-byte words of a tile: 2048     */
#define FSD_CS_LEAVES (FSD_CS_TILE / FSD_CS_LEAF) /* leaves of a tile: 32         */
#define FSD_CS_LEAF_WORDS (FSD_CS_LEAF / 16)   /* 16-byte words of a leaf: 64       */

#if FSD_CS_WORDS % FSD_BLOCK_THREADS != 0 || FSD_BLOCK_THREADS % FSD_CS_LEAF_WORDS != 0
#error "phase 2 gives every thread words at one position of their leaves"
#endif

/* Where a tile's leaves go: leaf r of the tile is packed bytes [base + r step, + 1024), and the
 * tile holds `bytes` bytes of data (whole leaves but for the tensor's last one). Tiles of runs
 * (this file) are consecutive: base = tile x FSD_CS_TILE, step 1024; tiles of a transpose
 * (checksum_transpose_step.cuh) are up to 32 packed rows of 1 KiB, step the row's stride. */
typedef struct fsd_cs_tile {
    uint64_t base, step;
    uint32_t bytes;
} fsd_cs_tile;

/* The packed bytes of tile `tile` of runs that hold data. */
template <typename P>
FSD_HD uint32_t fsd_cs_tile_bytes(const P &p, uint64_t tile)
{
    const uint64_t rest = p.total - tile * FSD_CS_TILE;
    return rest < FSD_CS_TILE ? (uint32_t)rest : FSD_CS_TILE;
}

template <typename P>
FSD_HD fsd_cs_tile fsd_cs_runs_tile(const P &p, uint64_t tile)
{
    fsd_cs_tile t;
    t.base = tile * FSD_CS_TILE;
    t.step = FSD_CS_LEAF;
    t.bytes = fsd_cs_tile_bytes(p, tile);
    return t;
}

/* Where tile byte b lies in shared memory: a swizzle, per kind of tile S, so that lanes that
 * read or write the same place of different leaves hit different banks, while 16-byte chunks
 * and 128-byte lines stay whole (the coalesced phases, lanes on consecutive words of one leaf,
 * stay conflict-free). S = 0 (tiles of runs): the 64-byte groups of leaf l XORed with l mod
 * 16 (phases 3 and 4; cheap where the index is a multiple of 16 plus a constant). S = 1
 * (transpose tiles, whose phase-1 stores also go to leaves 8 apart): each 16-byte chunk's bank
 * group (its index mod 8) XORed with (l ^ l >> 2) mod 8. */
template <int S>
FSD_HD uint32_t fsd_cs_sw(uint32_t b)
{
    if (S == 0)
        return b ^ (((b >> 10) & 15u) << 6);
    return b ^ (((b >> 6) ^ (b >> 8)) & 0x70u);
}

FSD_HD uint32_t fsd_cs_padded(uint32_t bytes)
{
    return (bytes + FSD_CS_LEAF - 1) / FSD_CS_LEAF * FSD_CS_LEAF;
}

/* Byte offset on the strided side of run `run` (fsd_run_offset): for D = 4 (the plan has at most
 * 4 outer dims) unrolled, each dim predicated on ndim. */
template <typename I, typename P>
FSD_HD int64_t fsd_cs_run_offset(const P &p, I run)
{
    if (sizeof(p.stride) / sizeof(p.stride[0]) > 4)
        return fsd_run_offset<-1, I>(p, run);
    int64_t off = 0;
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
    for (int d = 3; d >= 0; d--) {
        if (d < p.ndim) {
            const I q = fsd_div(p.div[d], run);
            const I c = run - q * (I)p.div[d].divisor;
            run = q;
            off += (int64_t)c * p.stride[d];
        }
    }
    return off;
}

/* Phase 1: the tile's packed bytes into shared memory, in words of T (plan.cs_word bytes):
 * packed word q of the tile comes from run (x + q w) / run_bytes. The last leaf's padding is
 * zeroed. */
template <typename T, typename I, typename P>
FSD_HD void fsd_cs_gather_step(const P &p, uint64_t tile, uint32_t thread, unsigned char *sh)
{
    const uint32_t bytes = fsd_cs_tile_bytes(p, tile);
    const I x = (I)(tile * FSD_CS_TILE), run_bytes = (I)p.cs_run.divisor;
    const uint32_t words = bytes / (uint32_t)sizeof(T);
    for (uint32_t q0 = thread; q0 < words; q0 += FSD_BLOCK_THREADS * FSD_CS_SLOTS) {
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
                v[s] = fsd_load_as<T>(p.strided + fsd_cs_run_offset<I>(p, run) + (int64_t)in_run);
            }
        }
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
        for (int s = 0; s < FSD_CS_SLOTS; s++) {
            const uint32_t q = q0 + (uint32_t)s * FSD_BLOCK_THREADS;
            if (q < words)
                fsd_store_as<T>((char *)sh + fsd_cs_sw<0>(q * (uint32_t)sizeof(T)), v[s]);
        }
    }
    const uint32_t padded = fsd_cs_padded(bytes);
    for (uint32_t b = bytes + thread; b < padded; b += FSD_BLOCK_THREADS)
        fsd_store_as<uint8_t>((char *)sh + fsd_cs_sw<0>(b), 0);
}

/* The word type of W bytes. */
template <uint32_t W> struct fsd_cs_word;
template <> struct fsd_cs_word<1> { typedef uint8_t type; };
template <> struct fsd_cs_word<2> { typedef uint16_t type; };
template <> struct fsd_cs_word<4> { typedef uint32_t type; };
template <> struct fsd_cs_word<8> { typedef uint2 type; };
template <> struct fsd_cs_word<16> { typedef uint4 type; };

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
    const uint32_t main = len & ~(a - 1);
    fsd_copy_elem(dst, src, main, a);
    for (uint32_t b = main; b < len; b++)
        fsd_copy_as<uint8_t>(dst + b, src + b);
}

/* The terms of one 16-byte word at positions 16 (t mod 64) and + 8 of its leaf, written over
 * the word: the sums for accumulators 2j and 2j + 1 (fsd_xxh3_acc_add: v0 in lane 2j adds v0 to
 * 2j + 1 and its product to 2j; v1 in lane 2j + 1 adds v1 to 2j and its product to 2j + 1). */
FSD_HD void fsd_cs_terms(char *s, const uint4 &w, const fsd_cs_keys &k)
{
    const uint64_t v0 = (uint64_t)w.x | ((uint64_t)w.y << 32);
    const uint64_t v1 = (uint64_t)w.z | ((uint64_t)w.w << 32);
    const uint64_t even = fsd_cs_mul32(v0 ^ k.k0) + v1;
    const uint64_t odd = v0 + fsd_cs_mul32(v1 ^ k.k1);
    fsd_store_as<uint4>(s, make_uint4((uint32_t)even, (uint32_t)(even >> 32), (uint32_t)odd,
                                      (uint32_t)(odd >> 32)));
}

/* Phase 2: thread t stores words t + 256 i of the tile and leaves, in their place, the sums of
 * their terms for the accumulators 2j and 2j + 1 (j = t mod 4, the lane pair of positions
 * 16 (t mod 64) and + 8). A full tile into a 16-byte aligned destination: one 16-byte store a
 * word; else (the tensor's last tile, a misaligned destination) each word's bytes inside the
 * tensor go out in the widest words the destination allows. */
template <int S, typename P>
FSD_HD void fsd_cs_hash_step(const P &p, const fsd_cs_tile &tl, uint32_t thread, unsigned char *sh,
                             const fsd_cs_keys &k)
{
    const uint32_t bytes = tl.bytes;
    /* byte o of the tile goes to dst + (o / 1024) step + o mod 1024 */
    char *dst = p.packed + tl.base;
    const uint64_t gap = tl.step - FSD_CS_LEAF;
    if (bytes == FSD_CS_TILE && p.dst_align == 16) {
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
        for (uint32_t i = 0; i < FSD_CS_WORDS / FSD_BLOCK_THREADS; i++) {
            const uint32_t o = 16u * (thread + i * FSD_BLOCK_THREADS);
            char *s = (char *)sh + fsd_cs_sw<S>(o);
            const uint4 w = fsd_load_as<uint4>(s);
            fsd_store_as<uint4>(dst + o + (o / FSD_CS_LEAF) * gap, w);
            fsd_cs_terms(s, w, k);
        }
        return;
    }
    const uint32_t padded = fsd_cs_padded(bytes);
#if defined(__CUDA_ARCH__)
#pragma unroll 1
#endif
    for (uint32_t o = 16u * thread; o < padded; o += 16u * FSD_BLOCK_THREADS) {
        char *s = (char *)sh + fsd_cs_sw<S>(o);
        const uint4 w = fsd_load_as<uint4>(s);
        if (o < bytes)
            fsd_cs_store_out(dst + o + (o / FSD_CS_LEAF) * gap, s, bytes - o < 16 ? bytes - o : 16,
                             p.dst_align);
        fsd_cs_terms(s, w, k);
    }
}

/* Phase 3: thread t < 128 takes one (leaf l, pair j): the sums of the 16 words of pair j in
 * leaf l, into the leaf's word j. */
template <int S>
FSD_HD void fsd_cs_pairs_step(const fsd_cs_tile &tl, uint32_t thread, unsigned char *sh)
{
    const uint32_t leaves = fsd_cs_padded(tl.bytes) / FSD_CS_LEAF;
    /* a quarter-warp: S = 0, 2 leaves x 4 pairs; S = 1, 8 leaves of one pair */
    const uint32_t l = S == 0 ? thread / 4 : thread % FSD_CS_LEAVES;
    const uint32_t j = S == 0 ? thread % 4 : thread / FSD_CS_LEAVES;
    if (thread >= 4 * FSD_CS_LEAVES || l >= leaves)
        return;
    const uint32_t leaf = l * FSD_CS_LEAF;
    uint64_t even = 0, odd = 0;
    for (uint32_t m = j; m < FSD_CS_LEAF_WORDS; m += 4) {
        const uint4 w = fsd_load_as<uint4>((const char *)sh + fsd_cs_sw<S>(leaf + 16 * m));
        even += (uint64_t)w.x | ((uint64_t)w.y << 32);
        odd += (uint64_t)w.z | ((uint64_t)w.w << 32);
    }
    fsd_store_as<uint4>((char *)sh + fsd_cs_sw<S>(leaf + 16 * j),
                        make_uint4((uint32_t)even, (uint32_t)(even >> 32), (uint32_t)odd, (uint32_t)(odd >> 32)));
}

/* Phase 4: thread l < 32 finishes leaf l of the tile: its term of S (0 past the tensor). */
template <int S>
FSD_HD uint64_t fsd_cs_leaf_step(const fsd_cs_tile &tl, uint32_t thread, const unsigned char *sh)
{
    const uint32_t leaves = fsd_cs_padded(tl.bytes) / FSD_CS_LEAF;
    if (thread >= leaves)
        return 0;
    const uint32_t leaf = thread * FSD_CS_LEAF;
    fsd_xxh3_acc a;
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
    for (uint32_t j = 0; j < 4; j++) { /* constant indices: the accumulators stay in registers */
        const uint4 w = fsd_load_as<uint4>((const char *)sh + fsd_cs_sw<S>(leaf + 16 * j));
        a.v[2 * j] = (uint64_t)w.x | ((uint64_t)w.y << 32);
        a.v[2 * j + 1] = (uint64_t)w.z | ((uint64_t)w.w << 32);
    }
    const uint64_t h = fsd_xxh3_merge(&a, FSD_CS_LEAF);
    return fsd_xxh3_8b(h, (tl.base + thread * tl.step) / FSD_CS_LEAF);
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
