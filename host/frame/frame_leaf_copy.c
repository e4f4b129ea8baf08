/*
 * frame_leaf_copy.c — fsd_frame_copy_leaves (frame_leaf.h): the fused AVX2 loop where the
 * compiler can build it and the CPU runs it, otherwise the copy and then libxxhash's hash of the
 * copied bytes (which are still in L1 or L2 for the pieces frame_cpu.c hands in).
 */
#include <string.h>

#include "cpu_simd.h"
#include "frame.h"
#include "frame_leaf.h"

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
#endif

uint64_t fsd_frame_copy_leaves(char *dst, const char *src, uint64_t n, uint64_t first, int stream)
{
    if (fsd_frame_have_avx2())
        return fsd_frame_copy_leaves_avx2(dst, src, n, first, stream);
    return fsd_frame_copy_leaves_portable(dst, src, n, first, stream);
}
