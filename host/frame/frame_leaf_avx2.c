/*
 * frame_leaf_avx2.c — fsd_frame_copy_leaves_avx2 and fsd_frame_stripes_avx2 (frame_leaf.h): a
 * copy, or a gather or scatter of 64-byte stripes, that adds each 32-byte vector's XXH3 terms (xxh3_leaf.cuh; xxHash's XXH3_accumulate_512_avx2 without the scramble,
 * which a 1 KiB input never reaches) as it passes, then merges each leaf as XXH3_64bits of 1024
 * bytes does. For lane i of a stripe with key word w, the vector form of
 *     acc[i ^ 1] += v;   acc[i] += lo32(v ^ w) * hi32(v ^ w)
 * is acc += shuffle(v, swap 64-bit halves) + mul_epu32(v ^ w, (v ^ w) >> 32). The terms add in
 * any order, so even and odd stripes go to two accumulators (two dependency chains instead of
 * one) that are summed before the merge. Compiled for AVX2 by function attributes; called only
 * where the CPU has it (frame_leaf_copy.c).
 */
#if defined(__x86_64__) && defined(__GNUC__)

#include <immintrin.h>
#include <string.h>

#include "cpu_simd.h"
#include "frame_leaf.h"
#include "xxh3_leaf.cuh"

#define FSD_AVX2 __attribute__((target("avx2")))
#define FSD_AVX2_INLINE static inline __attribute__((always_inline, target("avx2")))

/* XXH3's default secret (XXH3_kSecret) as little-endian words: the bytes in memory on x86. The
 * same constants as fsd_xxh3_secret_word; tests/frame/test_frame_leaf proves the result equal to
 * libxxhash. Stripe s (0..14) of a leaf takes its keys at byte 8s, the last stripe at byte 121. */
static const uint64_t secret_words[24] __attribute__((aligned(64))) = {
    0xbe4ba423396cfeb8ull, 0x1cad21f72c81017cull, 0xdb979083e96dd4deull, 0x1f67b3b7a4a44072ull,
    0x78e5c0cc4ee679cbull, 0x2172ffcc7dd05a82ull, 0x8e2443f7744608b8ull, 0x4c263a81e69035e0ull,
    0xcb00c391bb52283cull, 0xa32e531b8b65d088ull, 0x4ef90da297486471ull, 0xd8acdea946ef1938ull,
    0x3f349ce33f76faa8ull, 0x1d4f0bc7c7bbdcf9ull, 0x3159b4cd4be0518aull, 0x647378d9c97e9fc8ull,
    0xc3ebd33483acc5eaull, 0xeb6313faffa081c5ull, 0x49daf0b751dd0d17ull, 0x9e68d429265516d3ull,
    0xfca1477d58be162bull, 0xce31d07ad1b8f88full, 0x280416958f3acb45ull, 0x7e404bbbcafbd7afull,
};

/* What happens to each vector besides its hash. */
enum {
    STORE_NONE,   /* hash only                                                      */
    STORE_PLAIN,  /* ordinary stores, any alignment                                  */
    STORE_STREAM, /* streaming stores; dst 64-byte aligned                           */
    STORE_SHIFT   /* streaming stores of the vectors `shift` bytes further on (dst +
                     shift is 64-byte aligned): a second load, from L1               */
};

/* The terms of one vector: 4 values at lanes 4h..4h+3 of a stripe, keys at `key`. */
FSD_AVX2_INLINE __m256i add_terms(__m256i acc, __m256i v, const char *key)
{
    __m256i k = _mm256_xor_si256(v, _mm256_loadu_si256((const __m256i *)(const void *)key));
    __m256i prod = _mm256_mul_epu32(k, _mm256_srli_epi64(k, 32));
    return _mm256_add_epi64(acc, _mm256_add_epi64(prod, _mm256_shuffle_epi32(v, 0x4E)));
}

/* A leaf's accumulators: lanes 0-3 and 4-7 of the even stripes (a) and of the odd ones (b). */
typedef struct leaf_acc {
    __m256i a0, a1, b0, b1;
} leaf_acc;

/* XXH3's keys of stripe st (0..15) of a leaf: the last stripe has its own. */
FSD_AVX2_INLINE const char *stripe_key(unsigned st)
{
    const char *secret = (const char *)secret_words;
    return st < 15 ? secret + 8 * st : secret + FSD_XXH3_LAST_KEY;
}

/* The terms of stripes st (v0, v1) and st + 1 (v2, v3), st even. */
FSD_AVX2_INLINE void add_stripes(leaf_acc *acc, unsigned st, __m256i v0, __m256i v1, __m256i v2,
                                 __m256i v3)
{
    const char *k0 = stripe_key(st), *k1 = stripe_key(st + 1);
    acc->a0 = add_terms(acc->a0, v0, k0);
    acc->a1 = add_terms(acc->a1, v1, k0 + 32);
    acc->b0 = add_terms(acc->b0, v2, k1);
    acc->b1 = add_terms(acc->b1, v3, k1 + 32);
}

/* XXH3_64bits of the leaf: the even and odd accumulators summed, then XXH3's merge. */
FSD_AVX2_INLINE uint64_t leaf_merge(const leaf_acc *acc)
{
    fsd_xxh3_acc t;
    _mm256_storeu_si256((__m256i *)(void *)&t.v[0], _mm256_add_epi64(acc->a0, acc->b0));
    _mm256_storeu_si256((__m256i *)(void *)&t.v[4], _mm256_add_epi64(acc->a1, acc->b1));
    return fsd_xxh3_merge(&t, FSD_XXH3_LEAF_BYTES);
}

FSD_AVX2_INLINE void put(int mode, char *d, const char *s, uint64_t off, uint64_t shift, __m256i v)
{
    if (mode == STORE_PLAIN)
        _mm256_storeu_si256((__m256i *)(void *)(d + off), v);
    else if (mode == STORE_STREAM)
        _mm256_stream_si256((__m256i *)(void *)(d + off), v);
    else if (mode == STORE_SHIFT)
        _mm256_stream_si256((__m256i *)(void *)(d + off + shift),
                            _mm256_loadu_si256((const __m256i *)(const void *)(s + off + shift)));
}

/* The leaf at s (1 KiB): its stores (mode) and the XXH3_64bits of its bytes. */
FSD_AVX2_INLINE uint64_t leaf(int mode, char *d, const char *s, uint64_t shift)
{
    const __m256i z = _mm256_setzero_si256();
    leaf_acc acc = {z, z, z, z};
#pragma GCC unroll 8
    for (unsigned st = 0; st < 16; st += 2) {
        uint64_t o = 64u * st;
        __m256i v0 = _mm256_loadu_si256((const __m256i *)(const void *)(s + o));
        __m256i v1 = _mm256_loadu_si256((const __m256i *)(const void *)(s + o + 32));
        __m256i v2 = _mm256_loadu_si256((const __m256i *)(const void *)(s + o + 64));
        __m256i v3 = _mm256_loadu_si256((const __m256i *)(const void *)(s + o + 96));
        put(mode, d, s, o, shift, v0);
        put(mode, d, s, o + 32, shift, v1);
        put(mode, d, s, o + 64, shift, v2);
        put(mode, d, s, o + 96, shift, v3);
        add_stripes(&acc, st, v0, v1, v2, v3);
    }
    return leaf_merge(&acc);
}

/* Leaves [k, k_end) of the range with stores of the given mode; returns the sum of terms. */
FSD_AVX2_INLINE uint64_t leaves(int mode, char *dst, const char *src, uint64_t k, uint64_t k_end,
                                uint64_t first, uint64_t shift)
{
    uint64_t sum = 0;
    for (; k < k_end; k++) {
        uint64_t o = k * FSD_XXH3_LEAF_BYTES;
        sum += fsd_xxh3_8b(leaf(mode, dst + o, src + o, shift), first + k);
    }
    return sum;
}

FSD_AVX2 uint64_t fsd_frame_copy_leaves_avx2(char *dst, const char *src, uint64_t n, uint64_t first,
                                             int stream)
{
    const uint64_t full = n / FSD_XXH3_LEAF_BYTES;
    uint64_t done = full * FSD_XXH3_LEAF_BYTES; /* bytes copied by the loops below */
    uint64_t sum;
    if (dst == NULL) {
        sum = leaves(STORE_NONE, dst, src, 0, full, first, 0);
    } else if (!stream) {
        sum = leaves(STORE_PLAIN, dst, src, 0, full, first, 0);
    } else if (((uintptr_t)dst & 63) == 0) {
        sum = leaves(STORE_STREAM, dst, src, 0, full, first, 0);
    } else {
        /* The stores run `shift` bytes ahead of the leaves, on dst's lines: the first partial
         * line by ordinary stores, then whole lines, as long as a leaf's shifted stores stay
         * inside the range; the rest streams by fsd_cpu_stream_copy after the leaves. */
        uint64_t shift = (uint64_t)(-(uintptr_t)dst & 63);
        memcpy(dst, src, shift < n ? shift : n);
        uint64_t k_fused = n >= shift ? (n - shift) / FSD_XXH3_LEAF_BYTES : 0;
        sum = leaves(STORE_SHIFT, dst, src, 0, k_fused, first, shift);
        sum += leaves(STORE_NONE, dst, src, k_fused, full, first, 0);
        done = k_fused * FSD_XXH3_LEAF_BYTES + shift;
        if (done > n)
            done = n;
    }
    if (n > full * FSD_XXH3_LEAF_BYTES) { /* the last leaf, zero-padded */
        _Alignas(64) char last[FSD_XXH3_LEAF_BYTES];
        uint64_t rest = n - full * FSD_XXH3_LEAF_BYTES;
        memcpy(last, src + full * FSD_XXH3_LEAF_BYTES, rest);
        memset(last + rest, 0, FSD_XXH3_LEAF_BYTES - rest);
        sum += fsd_xxh3_8b(leaf(STORE_NONE, NULL, last, 0), first + full);
    }
    if (dst != NULL && done < n) {
        if (stream)
            fsd_cpu_stream_copy(dst + done, src + done, n - done, 1);
        else
            memcpy(dst + done, src + done, n - done);
    }
    return sum;
}

/* ---- stripes at their own addresses ---------------------------------------------------- */

enum { GATHER_PLAIN, GATHER_STREAM, SCATTER_PLAIN, SCATTER_STREAM };

/* One leaf whose 16 stripes are at sp[0..15] on the strided side and at q (contiguous) on the
 * packed side: GATHER copies sp -> q, SCATTER q -> sp; _STREAM with streaming stores. */
FSD_AVX2_INLINE uint64_t stripes_leaf(int mode, char *q, char *const *sp, char *const *pf)
{
    const int gather = mode == GATHER_PLAIN || mode == GATHER_STREAM;
    const int stream = mode == GATHER_STREAM || mode == SCATTER_STREAM;
    const __m256i z = _mm256_setzero_si256();
    leaf_acc acc = {z, z, z, z};
#pragma GCC unroll 8
    for (unsigned st = 0; st < 16; st += 2) {
        if (pf != NULL) {
            _mm_prefetch(pf[st], _MM_HINT_T0);
            _mm_prefetch(pf[st + 1], _MM_HINT_T0);
        }
        const char *s0 = gather ? sp[st] : q + 64u * st;
        const char *s1 = gather ? sp[st + 1] : q + 64u * st + 64;
        char *d0 = gather ? q + 64u * st : sp[st];
        char *d1 = gather ? q + 64u * st + 64 : sp[st + 1];
        __m256i v0 = _mm256_loadu_si256((const __m256i *)(const void *)s0);
        __m256i v1 = _mm256_loadu_si256((const __m256i *)(const void *)(s0 + 32));
        __m256i v2 = _mm256_loadu_si256((const __m256i *)(const void *)s1);
        __m256i v3 = _mm256_loadu_si256((const __m256i *)(const void *)(s1 + 32));
        if (stream) {
            _mm256_stream_si256((__m256i *)(void *)d0, v0);
            _mm256_stream_si256((__m256i *)(void *)(d0 + 32), v1);
            _mm256_stream_si256((__m256i *)(void *)d1, v2);
            _mm256_stream_si256((__m256i *)(void *)(d1 + 32), v3);
        } else {
            _mm256_storeu_si256((__m256i *)(void *)d0, v0);
            _mm256_storeu_si256((__m256i *)(void *)(d0 + 32), v1);
            _mm256_storeu_si256((__m256i *)(void *)d1, v2);
            _mm256_storeu_si256((__m256i *)(void *)(d1 + 32), v3);
        }
        add_stripes(&acc, st, v0, v1, v2, v3);
    }
    return leaf_merge(&acc);
}

/*
 * A scatter whose destination stripes all sit m bytes past a line (0 < m < 64: a strided
 * buffer off a cache line, strides in whole lines): the hash as SCATTER_PLAIN's, and the
 * stores on the destination's lines. Stripe s covers the last 64 - m bytes of one line and the
 * first m of the next; where stripe s + 1 follows it in the destination (the same run), that
 * next line is stripe s's last m bytes and stripe s + 1's first 64 - m: packed bytes
 * 64 s + 64 - m .. 64 s + 128 - m, one unaligned load from the leaf just loaded (L1), one
 * streaming store. A run's first and last partial lines take ordinary stores.
 */
/* Stripe st's stores of stripes_leaf_shift. */
FSD_AVX2_INLINE void shift_store(const char *q, char *const *sp, unsigned st, uint64_t m)
{
    const char *src = q + 64u * st;
    char *d = sp[st];
    if (st == 0 || sp[st - 1] + 64 != d) /* a run's first line: its last 64 - m bytes */
        memcpy(d, src, 64 - m);
    if (st < 15 && sp[st + 1] == d + 64) { /* the line across stripes st and st + 1 */
        const char *x = src + 64 - m;
        char *line = d + 64 - m;
        _mm256_stream_si256((__m256i *)(void *)line,
                            _mm256_loadu_si256((const __m256i *)(const void *)x));
        _mm256_stream_si256((__m256i *)(void *)(line + 32),
                            _mm256_loadu_si256((const __m256i *)(const void *)(x + 32)));
    } else { /* a run's last line, or the leaf's: its first m bytes */
        memcpy(d + 64 - m, src + 64 - m, m);
    }
}

FSD_AVX2_INLINE uint64_t stripes_leaf_shift(char *q, char *const *sp, char *const *pf, uint64_t m)
{
    const __m256i z = _mm256_setzero_si256();
    leaf_acc acc = {z, z, z, z};
#pragma GCC unroll 8
    for (unsigned st = 0; st < 16; st += 2) {
        if (pf != NULL) { /* only the lines that take ordinary stores: a run's first and last */
            for (unsigned i = st; i < st + 2; i++) {
                if (i == 0 || pf[i - 1] + 64 != pf[i])
                    _mm_prefetch(pf[i], _MM_HINT_T0);
                if (i == 15 || pf[i + 1] != pf[i] + 64)
                    _mm_prefetch(pf[i] + 63, _MM_HINT_T0);
            }
        }
        const char *s0 = q + 64u * st;
        __m256i v0 = _mm256_loadu_si256((const __m256i *)(const void *)s0);
        __m256i v1 = _mm256_loadu_si256((const __m256i *)(const void *)(s0 + 32));
        __m256i v2 = _mm256_loadu_si256((const __m256i *)(const void *)(s0 + 64));
        __m256i v3 = _mm256_loadu_si256((const __m256i *)(const void *)(s0 + 96));
        add_stripes(&acc, st, v0, v1, v2, v3);
        shift_store(q, sp, st, m);
        shift_store(q, sp, st + 1, m);
    }
    return leaf_merge(&acc);
}

FSD_AVX2 uint64_t fsd_frame_stripes_avx2(char *packed, char *const *stripes,
                                         char *const *prefetch, uint64_t nleaves, uint64_t first,
                                         int pack, int stream)
{
    uint64_t sum = 0;
    for (uint64_t j = 0; j < nleaves; j++) {
        char *q = packed + j * FSD_XXH3_LEAF_BYTES;
        char *const *sp = stripes + 16 * j;
        char *const *pf = prefetch != NULL ? prefetch + 16 * j : NULL;
        uintptr_t lines = 0; /* the destination side's addresses, or-ed */
        if (pack)
            lines = (uintptr_t)q;
        else
            for (int i = 0; i < 16; i++)
                lines |= (uintptr_t)sp[i];
        const int st = stream && (lines & 63) == 0;
        uint64_t h;
        const uint64_t m = (uintptr_t)sp[0] & 63;
        int shift = !pack && stream && m != 0;
        for (int i = 1; shift && i < 16; i++)
            shift = ((uintptr_t)sp[i] & 63) == m;
        if (shift)
            h = stripes_leaf_shift(q, sp, pf, m);
        else if (pack)
            h = st ? stripes_leaf(GATHER_STREAM, q, sp, pf) : stripes_leaf(GATHER_PLAIN, q, sp, pf);
        else
            h = st ? stripes_leaf(SCATTER_STREAM, q, sp, pf)
                   : stripes_leaf(SCATTER_PLAIN, q, sp, pf);
        sum += fsd_xxh3_8b(h, first + j);
    }
    return sum;
}

#endif
