/*
 * bench_kernels_step.cuh — the bodies of fastserde-bench's hand-written GPU baselines as
 * __host__ __device__ step functions (see bench_kernels.h): bench_kernels.cu wraps them in
 * __global__ kernels, and the access model (tests/kernels/model) runs them on the CPU. Their
 * accesses go through step_common.cuh's helpers, like the library's kernels.
 */
#ifndef FSDB_KERNELS_STEP_CUH
#define FSDB_KERNELS_STEP_CUH

#include <stddef.h>
#include <stdint.h>

#include "bench_views.h"
#include "step_common.cuh"

#define FSDB_THREADS 256
#define FSDB_UNROLL 4

/* Thread `i` of `stride` threads copies words i, i + stride, ...: FSDB_UNROLL independent
 * 16-byte loads in flight before their stores. */
FSD_HD void fsdb_copy16_step(uint4 *__restrict__ dst, const uint4 *__restrict__ src, size_t words,
                             size_t i, size_t stride)
{
    for (; i + (FSDB_UNROLL - 1) * stride < words; i += FSDB_UNROLL * stride) {
        FSD_MODEL_ITERATION();
        uint4 v[FSDB_UNROLL];
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
        for (int k = 0; k < FSDB_UNROLL; k++)
            v[k] = fsd_load_as<uint4>((const char *)(src + i + k * stride));
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
        for (int k = 0; k < FSDB_UNROLL; k++)
            fsd_store_as<uint4>((char *)(dst + i + k * stride), v[k]);
    }
    for (; i < words; i += stride) {
        FSD_MODEL_ITERATION();
        fsd_copy_as<uint4>((char *)(dst + i), (const char *)(src + i));
    }
}

/* The view's shape and strides, by value. */
struct naive_view {
    int ndim;
    uint32_t elem_size;
    int64_t shape[FSDB_MAX_DIMS];
    int64_t stride[FSDB_MAX_DIMS]; /* elements */
};

/* Element i of the packed order -> its element offset in the strided view. */
FSD_HD int64_t naive_offset(const naive_view &v, uint64_t i)
{
    int64_t off = 0;
    for (int d = v.ndim - 1; d >= 0; d--) {
        const uint64_t n = (uint64_t)v.shape[d];
        off += (int64_t)(i % n) * v.stride[d];
        i /= n;
    }
    return off;
}

/* One element per thread: thread i copies element i of the packed order, as one access of T. */
template <typename T>
FSD_HD void fsdb_naive_step(const naive_view &v, char *strided, char *packed, int unpack,
                            uint64_t elems, uint64_t i)
{
    if (i >= elems)
        return;
    char *s = strided + naive_offset(v, i) * (int64_t)sizeof(T);
    char *p = packed + i * sizeof(T);
    if (unpack)
        fsd_copy_as<T>(s, p);
    else
        fsd_copy_as<T>(p, s);
}

#endif
