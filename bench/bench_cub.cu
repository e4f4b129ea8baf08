/*
 * bench_cub.cu — the off-the-shelf baseline: cub::DeviceMemcpy::Batched over the contiguous
 * runs of a view (see bench_kernels.h). The source, destination and size of run r come from
 * transform iterators over a counting iterator, so no per-run arrays are read from memory.
 * Kept apart from bench_kernels.cu so that the kernel report lists only hand-written kernels.
 */
#include <cub/device/device_memcpy.cuh>
#include <thrust/iterator/constant_iterator.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>

#include "bench_kernels.h"

namespace {

/* Address of run r on the strided side. */
struct strided_run {
    char *base;
    int ndim;
    int64_t shape[FSDB_MAX_DIMS];
    int64_t stride[FSDB_MAX_DIMS]; /* bytes */
    __host__ __device__ void *operator()(int64_t r) const
    {
        int64_t off = 0;
        for (int d = ndim - 1; d >= 0; d--) {
            off += (r % shape[d]) * stride[d];
            r /= shape[d];
        }
        return base + off;
    }
};

/* Address of run r on the packed side. */
struct packed_run {
    char *base;
    int64_t run_bytes;
    __host__ __device__ void *operator()(int64_t r) const { return base + r * run_bytes; }
};

template <typename In, typename Out>
cudaError_t batched(void *temp, size_t &temp_bytes, In in, Out out, const fsdb_runs *r,
                    cudaStream_t stream)
{
    auto sizes = thrust::make_constant_iterator<uint32_t>((uint32_t)r->run_bytes);
    return cub::DeviceMemcpy::Batched(temp, temp_bytes, in, out, sizes, (int64_t)r->num_runs, stream);
}

cudaError_t run(const fsdb_runs *r, char *strided, char *packed, int unpack, void *temp,
                size_t &temp_bytes, cudaStream_t stream)
{
    if (r->run_bytes > UINT32_MAX || r->ndim > FSDB_MAX_DIMS)
        return cudaErrorInvalidValue;
    strided_run s;
    s.base = strided;
    s.ndim = r->ndim;
    for (int d = 0; d < FSDB_MAX_DIMS; d++) {
        s.shape[d] = d < r->ndim ? r->shape[d] : 1;
        s.stride[d] = d < r->ndim ? r->stride_bytes[d] : 0;
    }
    const packed_run p = {packed, (int64_t)r->run_bytes};
    thrust::counting_iterator<int64_t> idx(0);
    auto sit = thrust::make_transform_iterator(idx, s);
    auto pit = thrust::make_transform_iterator(idx, p);
    return unpack ? batched(temp, temp_bytes, pit, sit, r, stream)
                  : batched(temp, temp_bytes, sit, pit, r, stream);
}

} // namespace

extern "C" cudaError_t fsdb_cub_temp_bytes(const fsdb_runs *r, size_t *bytes)
{
    size_t pack = 0, unpack = 0;
    *bytes = 0;
    cudaError_t e = run(r, nullptr, nullptr, 0, nullptr, pack, 0);
    if (e == cudaSuccess)
        e = run(r, nullptr, nullptr, 1, nullptr, unpack, 0);
    if (e == cudaSuccess)
        *bytes = pack > unpack ? pack : unpack;
    return e;
}

extern "C" cudaError_t fsdb_cub_copy(const fsdb_runs *r, char *strided, char *packed, int unpack,
                                     void *temp, size_t temp_bytes, cudaStream_t stream)
{
    if (temp == nullptr)
        return cudaErrorInvalidValue;
    cudaError_t e = run(r, strided, packed, unpack, temp, temp_bytes, stream);
    return e != cudaSuccess ? e : cudaPeekAtLastError();
}
