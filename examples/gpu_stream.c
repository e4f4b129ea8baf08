/*
 * gpu_stream.c — the intended GPU use of fastserde: move a strided slice of a KV cache living
 * on the GPU to host bytes and back, ordered by the caller's CUDA stream.
 *
 * The cache is [2, LAYERS, TOKENS, HIDDEN] bf16 (kept as uint16 bits) in device memory; the
 * slice is tokens [T0, T0 + NT) of every layer: a view with the cache's strides and a byte
 * offset, not contiguous. The steps:
 *
 *   1. fsd_pack_to_host into PINNED host memory: the call enqueues the work after what is already
 *      on `stream` (here: the upload of the cache) and returns without waiting; the bytes are
 *      ready once `stream` reaches the point of the call (cudaStreamSynchronize below).
 *   2. fsd_pack_to_host into PAGEABLE memory (malloc): same bytes, ready when the call returns.
 *   3. fsd_unpack_from_host from the pinned bytes into the same token slice of a second, zeroed
 *      cache; the D2H download of that cache, enqueued next on `stream`, sees the result without
 *      any host synchronisation in between.
 *   4. fsd_pack straight into device memory (no context, one kernel on `stream`), then a
 *      cudaMemcpyAsync on the same stream.
 *
 * Every result is compared with a plain loop on the host. Without a CUDA device it prints a
 * skip line and exits 77 (ctest reports it as skipped). Exit status 0 when every check holds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>
#include <fastserde.h>

#define LAYERS 4
#define TOKENS 256
#define HIDDEN 512 /* heads * head_dim */
#define T0 40
#define NT 100

#define CACHE_ELEMS ((size_t)2 * LAYERS * TOKENS * HIDDEN)
#define SLICE_ELEMS ((size_t)2 * LAYERS * NT * HIDDEN)

static int failures;

static int fsd_ok(fsd_status st, const char *what)
{
    if (st == FSD_SUCCESS)
        return 1;
    char msg[256];
    fsd_last_error(msg, sizeof msg);
    fprintf(stderr, "FAIL: %s: %s (%s)\n", what, fsd_status_string(st), msg);
    failures++;
    return 0;
}

static int cuda_ok(cudaError_t e, const char *what)
{
    if (e == cudaSuccess)
        return 1;
    fprintf(stderr, "FAIL: %s: %s\n", what, cudaGetErrorString(e));
    failures++;
    return 0;
}

/* The slice's elements in row-major order, from the host copy of the cache. */
static void reference_slice(const uint16_t *cache, uint16_t *out)
{
    size_t k = 0;
    for (size_t kv = 0; kv < 2; kv++)
        for (size_t l = 0; l < LAYERS; l++)
            for (size_t t = T0; t < T0 + NT; t++)
                for (size_t h = 0; h < HIDDEN; h++)
                    out[k++] = cache[((kv * LAYERS + l) * TOKENS + t) * HIDDEN + h];
}

static void compare(const char *what, const void *got, const void *want, size_t n)
{
    if (memcmp(got, want, n) != 0) {
        fprintf(stderr, "FAIL: %s: bytes differ from the reference\n", what);
        failures++;
    } else {
        printf("  %-46s %zu bytes, identical to the reference\n", what, n);
    }
}

int main(void)
{
    int ndev = 0;
    cudaError_t e = cudaGetDeviceCount(&ndev);
    if (e != cudaSuccess || ndev == 0) {
        printf("skip: no CUDA device (%s)\n", e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
        return 77;
    }

    const size_t cache_bytes = CACHE_ELEMS * sizeof(uint16_t);
    const size_t slice_bytes = SLICE_ELEMS * sizeof(uint16_t);
    uint16_t *host_cache = malloc(cache_bytes), *want = malloc(slice_bytes);
    uint16_t *host_back = malloc(cache_bytes), *pageable = malloc(slice_bytes);
    uint16_t *from_device = malloc(slice_bytes);
    void *dev_cache = NULL, *dev_cache2 = NULL, *dev_packed = NULL, *pinned = NULL;
    cudaStream_t stream = NULL;
    fsd_context *ctx = NULL;
    if (!host_cache || !want || !host_back || !pageable || !from_device) {
        fprintf(stderr, "FAIL: out of host memory\n");
        return 1;
    }
    for (size_t i = 0; i < CACHE_ELEMS; i++)
        host_cache[i] = (uint16_t)(i * 2654435761u >> 13);
    reference_slice(host_cache, want);

    /* A context on device 0: its pinned and device chunks are allocated once, here. */
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.device = 0;
    if (!fsd_ok(fsd_context_create(&ctx, &cfg), "fsd_context_create"))
        goto done;
    if (!cuda_ok(cudaSetDevice(0), "cudaSetDevice") ||
        !cuda_ok(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate") ||
        !cuda_ok(cudaMalloc(&dev_cache, cache_bytes), "cudaMalloc") ||
        !cuda_ok(cudaMalloc(&dev_cache2, cache_bytes), "cudaMalloc") ||
        !cuda_ok(cudaMalloc(&dev_packed, slice_bytes), "cudaMalloc") ||
        !cuda_ok(cudaHostAlloc(&pinned, slice_bytes, cudaHostAllocDefault), "cudaHostAlloc"))
        goto done;

    /* The upload is only enqueued: fastserde's work below is ordered after it by the stream. */
    if (!cuda_ok(cudaMemcpyAsync(dev_cache, host_cache, cache_bytes, cudaMemcpyHostToDevice, stream),
                 "upload") ||
        !cuda_ok(cudaMemsetAsync(dev_cache2, 0, cache_bytes, stream), "memset"))
        goto done;

    /* The token slice as a DLTensor: the cache's strides (in elements), the slice's start as a
     * byte offset. */
    int64_t shape[4] = {2, LAYERS, NT, HIDDEN};
    int64_t strides[4] = {(int64_t)LAYERS * TOKENS * HIDDEN, (int64_t)TOKENS * HIDDEN, HIDDEN, 1};
    DLTensor slice = {
        .data = dev_cache,
        .device = {kDLCUDA, 0},
        .ndim = 4,
        .dtype = {kDLBfloat, 16, 1},
        .shape = shape,
        .strides = strides,
        .byte_offset = (uint64_t)T0 * HIDDEN * sizeof(uint16_t),
    };
    printf("KV slice [2, %d, %d, %d] bf16 of a [2, %d, %d, %d] cache on the GPU:\n", LAYERS, NT,
           HIDDEN, LAYERS, TOKENS, HIDDEN);

    /* 1. Pinned destination: returns once enqueued; ready when the stream gets there. */
    if (fsd_ok(fsd_pack_to_host(ctx, &slice, pinned, slice_bytes, stream), "pack_to_host (pinned)") &&
        cuda_ok(cudaStreamSynchronize(stream), "sync"))
        compare("fsd_pack_to_host -> pinned, after sync", pinned, want, slice_bytes);

    /* 2. Pageable destination: ready when the call returns. */
    if (fsd_ok(fsd_pack_to_host(ctx, &slice, pageable, slice_bytes, stream), "pack_to_host (pageable)"))
        compare("fsd_pack_to_host -> pageable, on return", pageable, want, slice_bytes);

    /* 3. Back into the same slice of a zeroed cache; the download is ordered after it. */
    DLTensor slice2 = slice;
    slice2.data = dev_cache2;
    if (fsd_ok(fsd_unpack_from_host(ctx, pinned, slice_bytes, &slice2, stream), "unpack_from_host") &&
        cuda_ok(cudaMemcpyAsync(host_back, dev_cache2, cache_bytes, cudaMemcpyDeviceToHost, stream),
                "download") &&
        cuda_ok(cudaStreamSynchronize(stream), "sync")) {
        size_t wrong = 0;
        for (size_t kv = 0; kv < 2; kv++)
            for (size_t l = 0; l < LAYERS; l++)
                for (size_t t = 0; t < TOKENS; t++)
                    for (size_t h = 0; h < HIDDEN; h++) {
                        size_t i = ((kv * LAYERS + l) * TOKENS + t) * HIDDEN + h;
                        uint16_t expect = (t >= T0 && t < T0 + NT) ? host_cache[i] : 0;
                        wrong += host_back[i] != expect;
                    }
        if (wrong) {
            fprintf(stderr, "FAIL: unpack_from_host: %zu elements wrong\n", wrong);
            failures++;
        } else {
            printf("  %-46s slice restored, the rest untouched\n", "fsd_unpack_from_host -> 2nd cache");
        }
    }

    /* 4. Pack into device memory with no context: one kernel on the stream. */
    if (fsd_ok(fsd_pack(&slice, dev_packed, slice_bytes, stream), "fsd_pack (device)") &&
        cuda_ok(cudaMemcpyAsync(from_device, dev_packed, slice_bytes, cudaMemcpyDeviceToHost, stream),
                "download") &&
        cuda_ok(cudaStreamSynchronize(stream), "sync"))
        compare("fsd_pack -> device memory, then D2H", from_device, want, slice_bytes);

done:
    fsd_context_destroy(ctx);
    if (stream)
        cudaStreamDestroy(stream);
    cudaFree(dev_cache);
    cudaFree(dev_cache2);
    cudaFree(dev_packed);
    cudaFreeHost(pinned);
    free(host_cache);
    free(want);
    free(host_back);
    free(pageable);
    free(from_device);
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "OK", failures);
    return failures ? 1 : 0;
}
