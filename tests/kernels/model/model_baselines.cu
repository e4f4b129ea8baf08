/*
 * model_baselines.cu — fastserde-bench's GPU baselines (bench/bench_kernels_step.cuh) in the
 * access model: the 16-byte copy kernel and the naive one-element-per-thread kernel, over the
 * grids bench_kernels.cu launches them with. Two small drivers: the pattern a new kernel follows.
 */
#include <cstring>

#include "model_driver.h"

#include "bench_kernels_step.cuh"

extern "C" int fsdm_model_copy16(void *dst, const void *src, size_t n, unsigned blocks,
                                 const fsdm_options *opt, fsdm_report *r)
{
    const fsdm_gpu *g = opt && opt->gpu ? opt->gpu : &fsdm_h200;
    const size_t words = n / 16;
    if (blocks == 0)
        blocks = (unsigned)g->sms * 8; /* as fsdb_copy16 picks */
    const size_t needed = (words + FSDB_THREADS - 1) / FSDB_THREADS;
    if (needed < blocks)
        blocks = needed > 0 ? (unsigned)needed : 1;
    fsdm::trace tr("fsdb_copy16_kernel", blocks, FSDB_THREADS, opt);
    const size_t stride = (size_t)blocks * FSDB_THREADS;
    for (uint32_t b = 0; b < blocks; b++)
        for (uint32_t t = 0; t < FSDB_THREADS; t++) {
            tr.thread(b, t);
            fsdb_copy16_step((uint4 *)dst, (const uint4 *)src, words, (size_t)b * FSDB_THREADS + t, stride);
        }
    tr.finish(r);
    return 0;
}

template <typename T>
static void naive_grid(fsdm::trace &tr, const naive_view &v, char *strided, char *packed, int unpack,
                       uint64_t elems, uint32_t blocks)
{
    for (uint32_t b = 0; b < blocks; b++)
        for (uint32_t t = 0; t < FSDB_THREADS; t++) {
            tr.thread(b, t);
            fsdb_naive_step<T>(v, strided, packed, unpack, elems, (uint64_t)b * FSDB_THREADS + t);
        }
}

extern "C" int fsdm_model_naive(int ndim, const int64_t *shape, const int64_t *strides,
                                uint32_t elem_size, char *strided, char *packed, int unpack,
                                const fsdm_options *opt, fsdm_report *r)
{
    if (ndim < 0 || ndim > FSDB_MAX_DIMS)
        return -1;
    naive_view v;
    std::memset(&v, 0, sizeof v);
    v.ndim = ndim;
    v.elem_size = elem_size;
    uint64_t elems = 1;
    for (int d = 0; d < FSDB_MAX_DIMS; d++) {
        v.shape[d] = d < ndim ? shape[d] : 1;
        v.stride[d] = d < ndim ? strides[d] : 0;
        if (d < ndim)
            elems *= (uint64_t)shape[d];
    }
    const uint32_t blocks = (uint32_t)((elems + FSDB_THREADS - 1) / FSDB_THREADS);
    const char *names[] = {"fsdb_naive_kernel<unsigned char>", "fsdb_naive_kernel<unsigned short>",
                           "fsdb_naive_kernel<unsigned int>", "fsdb_naive_kernel<uint2>",
                           "fsdb_naive_kernel<uint4>"};
    int k = elem_size == 1 ? 0 : elem_size == 2 ? 1 : elem_size == 4 ? 2 : elem_size == 8 ? 3 : elem_size == 16 ? 4 : -1;
    if (k < 0 || blocks == 0)
        return -1;
    fsdm::trace tr(names[k], blocks, FSDB_THREADS, opt);
    switch (k) {
    case 0: naive_grid<uint8_t>(tr, v, strided, packed, unpack, elems, blocks); break;
    case 1: naive_grid<uint16_t>(tr, v, strided, packed, unpack, elems, blocks); break;
    case 2: naive_grid<uint32_t>(tr, v, strided, packed, unpack, elems, blocks); break;
    case 3: naive_grid<uint2>(tr, v, strided, packed, unpack, elems, blocks); break;
    default: naive_grid<uint4>(tr, v, strided, packed, unpack, elems, blocks); break;
    }
    tr.finish(r);
    return 0;
}
