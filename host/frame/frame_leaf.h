/*
 * frame_leaf.h — a copy that hashes the frame checksum's 1 KiB leaves on the way
 * (docs/frames.md, "On the CPU"): each 32-byte vector is loaded once, stored, and its XXH3
 * stripe terms added (xxh3_leaf.cuh has the additive form), so that the hash's arithmetic runs
 * while the copy waits on memory.
 *   frame_leaf_copy.c  the dispatch (AVX2 where the CPU has it) and the portable form
 *                      (memcpy or streaming copy, then fsd_frame_leaves: libxxhash)
 *   frame_leaf_avx2.c  the fused AVX2 loop
 */
#ifndef FSD_FRAME_LEAF_H
#define FSD_FRAME_LEAF_H

#include <stdint.h>

/*
 * Copies n bytes from src to dst (the ranges do not overlap; any alignment) and returns
 * fsd_frame_leaves(src, n, first): the sum of the terms of leaves first, first + 1, ... of
 * those bytes, the last leaf zero-padded when n is not a multiple of 1 KiB. stream 1: dst's
 * whole 64-byte lines get streaming stores, the partial lines at either end ordinary ones (the
 * caller fences, fsd_cpu_stream_fence); stream 0: ordinary stores. dst NULL: hash only.
 */
uint64_t fsd_frame_copy_leaves(char *dst, const char *src, uint64_t n, uint64_t first, int stream);

/* The same, by the portable form (libxxhash) and by the AVX2 loop, for the tests and the
 * benchmark; fsd_frame_copy_leaves_avx2 only where fsd_frame_have_avx2() is 1. */
uint64_t fsd_frame_copy_leaves_portable(char *dst, const char *src, uint64_t n, uint64_t first,
                                        int stream);
int fsd_frame_have_avx2(void);
uint64_t fsd_frame_copy_leaves_avx2(char *dst, const char *src, uint64_t n, uint64_t first,
                                    int stream);

/*
 * nleaves whole leaves whose 64-byte stripes lie at their own addresses on the strided side
 * (stripes[16 j + s]: stripe s of leaf j) and back to back at `packed`: pack 1 copies the
 * stripes to packed, pack 0 packed to the stripes; returns the sum of the leaves' terms (first
 * the index of leaf 0). stream 1: streaming stores where the destination side of a leaf is
 * 64-byte aligned throughout (ordinary stores for the other leaves, but see below; the caller
 * fences).
 * prefetch: NULL, or as many addresses as stripes, whose lines are prefetched into L1 as the
 * stripe of the same index is moved (the AVX2 loop; the portable form ignores them). A scatter
 * (pack 0) with stream 1 whose 16 stripes all sit the same m > 0 bytes past a line streams
 * the lines across consecutive stripes of a run and stores the runs' partial first and last
 * lines ordinarily (the AVX2 loop; there only the partial lines of the stripes prefetch names
 * are prefetched).
 */
uint64_t fsd_frame_stripes(char *packed, char *const *stripes, char *const *prefetch,
                           uint64_t nleaves, uint64_t first, int pack, int stream);
uint64_t fsd_frame_stripes_portable(char *packed, char *const *stripes, char *const *prefetch,
                                    uint64_t nleaves, uint64_t first, int pack, int stream);
uint64_t fsd_frame_stripes_avx2(char *packed, char *const *stripes, char *const *prefetch,
                                uint64_t nleaves, uint64_t first, int pack, int stream);

#endif
