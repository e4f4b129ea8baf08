/*
 * bench_kernels.cu — the hand-written GPU baselines: a 16-byte vectorised copy and the naive
 * one-element-per-thread gather/scatter (see bench_kernels.h). tools/kernel-report.sh lists
 * these kernels beside the library's.
 */
#include <stdint.h>

#include "bench_kernels.h"
#include "bench_kernels_step.cuh"

/* Each thread keeps FSDB_UNROLL independent 16-byte loads in flight before storing. */
__global__ void __launch_bounds__(FSDB_THREADS)
    fsdb_copy16_kernel(uint4 *__restrict__ dst, const uint4 *__restrict__ src, size_t words)
{
    fsdb_copy16_step(dst, src, words, (size_t)blockIdx.x * FSDB_THREADS + threadIdx.x,
                     (size_t)gridDim.x * FSDB_THREADS);
}

__global__ void fsdb_copy_tail_kernel(char *dst, const char *src, size_t n)
{
    for (size_t i = threadIdx.x; i < n; i += blockDim.x)
        dst[i] = src[i];
}

extern "C" cudaError_t fsdb_copy16(void *dst, const void *src, size_t n, unsigned blocks,
                                   cudaStream_t stream)
{
    if (((uintptr_t)dst | (uintptr_t)src) % 16 != 0)
        return cudaErrorInvalidValue;
    const size_t words = n / 16;
    if (blocks == 0) {
        int dev = 0, sms = 0;
        cudaGetDevice(&dev);
        cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
        blocks = (unsigned)(sms > 0 ? sms : 1) * 8;
    }
    const size_t needed = (words + FSDB_THREADS - 1) / FSDB_THREADS;
    if (needed < blocks)
        blocks = needed > 0 ? (unsigned)needed : 1;
    if (words > 0)
        fsdb_copy16_kernel<<<blocks, FSDB_THREADS, 0, stream>>>((uint4 *)dst, (const uint4 *)src, words);
    if (n % 16)
        fsdb_copy_tail_kernel<<<1, 32, 0, stream>>>((char *)dst + words * 16,
                                                    (const char *)src + words * 16, n % 16);
    return cudaPeekAtLastError();
}

/* ------------------------------------------------------------------------------------------ */

template <typename T>
__global__ void __launch_bounds__(FSDB_THREADS)
    fsdb_naive_kernel(naive_view v, char *strided, char *packed, int unpack, uint64_t elems)
{
    fsdb_naive_step<T>(v, strided, packed, unpack, elems, (uint64_t)blockIdx.x * FSDB_THREADS + threadIdx.x);
}

/* Elements of other sizes: one element per thread, byte by byte. */
__global__ void __launch_bounds__(FSDB_THREADS)
    fsdb_naive_bytes_kernel(naive_view v, char *strided, char *packed, int unpack, uint64_t elems)
{
    const uint64_t i = (uint64_t)blockIdx.x * FSDB_THREADS + threadIdx.x;
    if (i >= elems)
        return;
    char *s = strided + naive_offset(v, i) * (int64_t)v.elem_size;
    char *p = packed + i * v.elem_size;
    for (uint32_t b = 0; b < v.elem_size; b++) {
        if (unpack)
            s[b] = p[b];
        else
            p[b] = s[b];
    }
}

extern "C" cudaError_t fsdb_naive(const fsdb_view *fv, char *strided, char *packed, int unpack,
                                  cudaStream_t stream)
{
    naive_view v;
    v.ndim = fv->ndim;
    v.elem_size = fv->elem_size;
    uint64_t elems = 1;
    for (int d = 0; d < FSDB_MAX_DIMS; d++) {
        v.shape[d] = d < fv->ndim ? fv->shape[d] : 1;
        v.stride[d] = d < fv->ndim ? fv->strides[d] : 0;
        if (d < fv->ndim)
            elems *= (uint64_t)fv->shape[d];
    }
    if (elems == 0)
        return cudaSuccess;
    const uint64_t blocks = (elems + FSDB_THREADS - 1) / FSDB_THREADS;
    if (blocks > 0x7fffffffu)
        return cudaErrorInvalidConfiguration;
    const dim3 grid((unsigned)blocks), block(FSDB_THREADS);
    switch (v.elem_size) {
    case 1: fsdb_naive_kernel<uint8_t><<<grid, block, 0, stream>>>(v, strided, packed, unpack, elems); break;
    case 2: fsdb_naive_kernel<uint16_t><<<grid, block, 0, stream>>>(v, strided, packed, unpack, elems); break;
    case 4: fsdb_naive_kernel<uint32_t><<<grid, block, 0, stream>>>(v, strided, packed, unpack, elems); break;
    case 8: fsdb_naive_kernel<uint2><<<grid, block, 0, stream>>>(v, strided, packed, unpack, elems); break;
    case 16: fsdb_naive_kernel<uint4><<<grid, block, 0, stream>>>(v, strided, packed, unpack, elems); break;
    default: fsdb_naive_bytes_kernel<<<grid, block, 0, stream>>>(v, strided, packed, unpack, elems); break;
    }
    return cudaPeekAtLastError();
}
