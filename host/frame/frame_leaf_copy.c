/*
 * frame_leaf_copy.c — fsd_frame_copy_leaves (frame_leaf.h): the fused AVX2 loop where the
 * compiler can build it and the CPU runs it, otherwise the copy and then libxxhash's hash of the
 * copied bytes (which are still in L1 or L2 for the pieces frame_cpu.c hands in).
 */
#include <string.h>

#include "cpu_simd.h"
#include "frame.h"
#include "frame_leaf.h"
#include "xxh3_leaf.cuh"

uint64_t fsd_frame_copy_leaves_portable(char *dst, const char *src, uint64_t n, uint64_t first,
                                        int stream)
{
    uint64_t sum = fsd_frame_leaves(src, n, first);
    if (dst != NULL && stream)
        fsd_cpu_stream_copy(dst, src, n, 1);
    else if (dst != NULL)
        memcpy(dst, src, n);
    return sum;
}

uint64_t fsd_frame_stripes_portable(char *packed, char *const *stripes, char *const *prefetch,
                                    uint64_t nleaves, uint64_t first, int pack, int stream)
{
    (void)prefetch;
    (void)stream; /* ordinary stores: the portable form is the fallback, not the fast path */
    const uint64_t n = nleaves * FSD_XXH3_LEAF_BYTES;
    if (!pack) {
        for (uint64_t i = 0; i < nleaves * 16; i++)
            memcpy(stripes[i], packed + 64 * i, 64);
        return fsd_frame_leaves(packed, n, first);
    }
    for (uint64_t i = 0; i < nleaves * 16; i++)
        memcpy(packed + 64 * i, stripes[i], 64);
    return fsd_frame_leaves(packed, n, first);
}

#if defined(__x86_64__) && defined(__GNUC__)
int fsd_frame_have_avx2(void)
{
    __builtin_cpu_init(); /* idempotent; needed only before constructors have run */
    return __builtin_cpu_supports("avx2") != 0;
}
#else
int fsd_frame_have_avx2(void)
{
    return 0;
}

uint64_t fsd_frame_copy_leaves_avx2(char *dst, const char *src, uint64_t n, uint64_t first,
                                    int stream)
{
    return fsd_frame_copy_leaves_portable(dst, src, n, first, stream);
}

uint64_t fsd_frame_stripes_avx2(char *packed, char *const *stripes, char *const *prefetch,
                                uint64_t nleaves, uint64_t first, int pack, int stream)
{
    return fsd_frame_stripes_portable(packed, stripes, prefetch, nleaves, first, pack, stream);
}
#endif

uint64_t fsd_frame_copy_leaves(char *dst, const char *src, uint64_t n, uint64_t first, int stream)
{
    if (dst != NULL && fsd_frame_have_avx2())
        return fsd_frame_copy_leaves_avx2(dst, src, n, first, stream);
    return fsd_frame_copy_leaves_portable(dst, src, n, first, stream);
}

uint64_t fsd_frame_stripes(char *packed, char *const *stripes, char *const *prefetch,
                           uint64_t nleaves, uint64_t first, int pack, int stream)
{
    if (fsd_frame_have_avx2())
        return fsd_frame_stripes_avx2(packed, stripes, prefetch, nleaves, first, pack, stream);
    return fsd_frame_stripes_portable(packed, stripes, prefetch, nleaves, first, pack, stream);
}
