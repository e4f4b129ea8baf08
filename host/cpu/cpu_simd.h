/*
 * cpu_simd.h — the CPU path's inline moves: small copies of any length without a call, 16-byte
 * words, and non-temporal ("streaming") stores. SSE2 where the compiler targets it (every
 * x86-64); plain C elsewhere, and whenever a caller asks for the portable loops (`simd` 0),
 * which the tests use to run both on x86.
 *
 * Non-temporal stores write whole lines to memory without reading them first and without
 * evicting the caches' contents; they pay for outputs larger than the last-level cache. Every
 * function that issues them ends with a store fence, so a caller that hands the bytes to another
 * thread (the pool's join) sees them ordered like ordinary stores.
 */
#ifndef FSD_CPU_SIMD_H
#define FSD_CPU_SIMD_H

#include <stdint.h>
#include <string.h>

#if defined(__SSE2__) && !defined(FSD_CPU_NO_SSE2)
#include <emmintrin.h>
#define FSD_CPU_HAVE_SSE2 1
#else
#define FSD_CPU_HAVE_SSE2 0
#endif

#if defined(__GNUC__)
#define FSD_CPU_INLINE static inline __attribute__((always_inline))
#else
#define FSD_CPU_INLINE static inline
#endif

/* Copies n bytes, w <= n <= 2w, as two words of w (1..8) bytes that overlap when n < 2w: with
 * a constant w, two loads and two stores of that width. */
FSD_CPU_INLINE void fsd_cpu_copy_pair(char *d, const char *s, uint64_t n, unsigned w)
{
    uint64_t a, b;
    memcpy(&a, s, w);
    memcpy(&b, s + n - w, w);
    memcpy(d, &a, w);
    memcpy(d + n - w, &b, w);
}

/* Copies n bytes, 0 <= n <= 16, with at most two overlapping loads and stores of 1, 2, 4 or
 * 8 bytes (no call for the lengths runs usually have). */
FSD_CPU_INLINE void fsd_cpu_copy_upto16(char *d, const char *s, uint64_t n)
{
    if (n >= 8)
        fsd_cpu_copy_pair(d, s, n, 8);
    else if (n >= 4)
        fsd_cpu_copy_pair(d, s, n, 4);
    else if (n >= 2)
        fsd_cpu_copy_pair(d, s, n, 2);
    else if (n == 1)
        *d = *s;
}

/* Copies n >= 16 bytes in 16-byte words, the last one overlapping its neighbour when n is not
 * a multiple of 16. For the runs of 16..255 bytes that are too short for a call to memcpy. */
FSD_CPU_INLINE void fsd_cpu_copy_16plus(char *d, const char *s, uint64_t n)
{
#if FSD_CPU_HAVE_SSE2
    __m128i last = _mm_loadu_si128((const __m128i *)(s + n - 16));
    uint64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(s + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(s + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(s + i + 32));
        __m128i e = _mm_loadu_si128((const __m128i *)(s + i + 48));
        _mm_storeu_si128((__m128i *)(d + i), a);
        _mm_storeu_si128((__m128i *)(d + i + 16), b);
        _mm_storeu_si128((__m128i *)(d + i + 32), c);
        _mm_storeu_si128((__m128i *)(d + i + 48), e);
    }
    for (; i + 16 <= n; i += 16)
        _mm_storeu_si128((__m128i *)(d + i), _mm_loadu_si128((const __m128i *)(s + i)));
    _mm_storeu_si128((__m128i *)(d + n - 16), last);
#else
    uint64_t i = 0;
    for (; i + 16 <= n; i += 16)
        memcpy(d + i, s + i, 16);
    if (i < n)
        memcpy(d + n - 16, s + n - 16, 16);
#endif
}

/* From this run length on, runs are copied by memcpy rather than the inline moves. */
#ifndef FSD_CPU_MEMCPY_MIN_RUN
#define FSD_CPU_MEMCPY_MIN_RUN 256
#endif

/* Copies n bytes, any n: the inline moves below FSD_CPU_MEMCPY_MIN_RUN, memcpy above. */
FSD_CPU_INLINE void fsd_cpu_copy_any(char *d, const char *s, uint64_t n)
{
    if (n <= 16)
        fsd_cpu_copy_upto16(d, s, n);
    else if (n < FSD_CPU_MEMCPY_MIN_RUN)
        fsd_cpu_copy_16plus(d, s, n);
    else
        memcpy(d, s, n);
}

/*
 * Software prefetch of the lines of [p + ahead, p + ahead + n), for the strided side of a large
 * copy of runs (cpu_copy.c): the hardware prefetchers follow a sequential stream but lose a
 * stream of runs with gaps. _l2 brings the lines into L2 only, _l1 into L1 as well. The address
 * is computed as an integer and prefetches never fault, so it may lie past the tensor.
 * No-ops where the compiler has no __builtin_prefetch.
 */
#if defined(__GNUC__)
#define FSD_CPU_PREFETCH_LINES(p, ahead, n, locality)                                  \
    do {                                                                              \
        uintptr_t fsd_pf_ = (uintptr_t)(p) + (uintptr_t)(ahead);                      \
        uintptr_t fsd_pf_end_ = fsd_pf_ + (n);                                        \
        for (fsd_pf_ &= ~(uintptr_t)63; fsd_pf_ < fsd_pf_end_; fsd_pf_ += 64)         \
            __builtin_prefetch((const void *)fsd_pf_, 0, locality);                   \
    } while (0)
#else
#define FSD_CPU_PREFETCH_LINES(p, ahead, n, locality) ((void)(p), (void)(ahead), (void)(n))
#endif

FSD_CPU_INLINE void fsd_cpu_prefetch_l2(const void *p, int64_t ahead, uint64_t n)
{
    FSD_CPU_PREFETCH_LINES(p, ahead, n, 2);
}

FSD_CPU_INLINE void fsd_cpu_prefetch_l1(const void *p, int64_t ahead, uint64_t n)
{
    FSD_CPU_PREFETCH_LINES(p, ahead, n, 3);
}

/* Orders the streaming stores before the stores that follow (a no-op without SSE2). */
FSD_CPU_INLINE void fsd_cpu_stream_fence(void)
{
#if FSD_CPU_HAVE_SSE2
    _mm_sfence();
#endif
}

/*
 * Copies n bytes to d with streaming stores for every whole 64-byte line of d inside
 * [d, d + n), and ordinary stores for the partial lines at either end (a streamed partial line
 * costs the write-combining buffer a read of the rest). Loads may be unaligned. Without SSE2
 * (or simd 0), or with no whole line to stream, a plain memcpy. The caller fences
 * (fsd_cpu_stream_fence) before it returns to code that publishes the bytes.
 */
FSD_CPU_INLINE void fsd_cpu_stream_copy(char *d, const char *s, uint64_t n, int simd)
{
#if FSD_CPU_HAVE_SSE2
    if (simd && n >= 128) {
        uint64_t head = (uint64_t)(-(uintptr_t)d & 63);
        fsd_cpu_copy_any(d, s, head);
        d += head;
        s += head;
        n -= head;
        uint64_t i = 0;
        for (; i + 64 <= n; i += 64) {
            __m128i a = _mm_loadu_si128((const __m128i *)(s + i));
            __m128i b = _mm_loadu_si128((const __m128i *)(s + i + 16));
            __m128i c = _mm_loadu_si128((const __m128i *)(s + i + 32));
            __m128i e = _mm_loadu_si128((const __m128i *)(s + i + 48));
            _mm_stream_si128((__m128i *)(d + i), a);
            _mm_stream_si128((__m128i *)(d + i + 16), b);
            _mm_stream_si128((__m128i *)(d + i + 32), c);
            _mm_stream_si128((__m128i *)(d + i + 48), e);
        }
        fsd_cpu_copy_any(d + i, s + i, n - i);
        return;
    }
#endif
    (void)simd;
    memcpy(d, s, n);
}

#endif
