/*
 * fuzz_config.c — libFuzzer target (d): context configurations on the stand-in CUDA runtime
 * (tests/mock_cuda, with 0, 1 or 2 GPUs and 64 MiB of memory): create, a round trip, destroy.
 *
 * The input chooses every field of fsd_context_config (size and version among the valid pairs
 * or raw, magic, device, chunk_bytes and chunks from edge values or raw 64-bit ones,
 * cpu_threads, the hooks (none, both, one), stream_priority), the number of GPUs, and the round
 * trip (a contiguous or transposed int16 tensor of up to 6000 elements, pinned or pageable host
 * memory, the stream, the mock's schedule). What must hold:
 *  - fsd_context_create returns what the header's rules give (tests/fsdt_configs.h, written
 *    apart from the library): FSD_ERROR_INVALID_ARGUMENT with a NULL context and no allocation
 *    for a refused config; else FSD_SUCCESS, or FSD_ERROR_OUT_OF_MEMORY exactly when the ring
 *    does not fit in the mock's memory;
 *  - a context that was made round-trips the tensor (fsd_pack_to_host, fsd_unpack_from_host)
 *    with the reference bytes, then fsd_context_destroy leaves nothing behind: no stream,
 *    event, device or pinned allocation, hook allocation, misuse of the runtime; ASan and
 *    UBSan check every byte the library touches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastserde.h"
#include "fsdt_configs.h"
#include "fuzz_input.h"
#include "mock_cuda.h"
#include "mock_hooks.h"

#define MEMORY ((size_t)64 << 20) /* the mock GPU's memory (device + pinned) */

#define FSDF_TARGET "fuzz_config"
#include "fuzz_check.h"

FSDF_ALLOCATOR_MAY_RETURN_NULL()

static size_t pick_chunk_bytes(fsdf_input *in)
{
    switch (fsdf_pick(in, 4)) {
    case 0: return (size_t)fsdf_pick(in, 9) * 4096; /* 0 (default) .. 32 KiB */
    case 1: return (size_t)fsdf_edgy_i64(in);
    case 2: return (size_t)fsdf_u64(in);
    default: return ((size_t)1 << fsdf_pick(in, 64)) + (size_t)(int8_t)fsdf_u8(in) * 4096;
    }
}

static int pick_int(fsdf_input *in, int small_range)
{
    switch (fsdf_pick(in, 3)) {
    case 0: return (int)fsdf_pick(in, (unsigned)small_range);
    case 1: return (int)(int8_t)fsdf_u8(in);
    default: return (int)fsdf_u32(in);
    }
}

/* The tensor of the round trip: int16 [rows, cols], contiguous or the transpose of a compact
 * [cols, rows] matrix. */
typedef struct tensor {
    int64_t shape[2], strides[2];
    size_t bytes;
    int transposed;
} tensor;

static void reference_pack(const tensor *t, const unsigned char *storage, unsigned char *out)
{
    int64_t rows = t->shape[0], cols = t->shape[1];
    for (int64_t i = 0, k = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++, k++) {
            int64_t e = t->transposed ? j * rows + i : i * cols + j;
            memcpy(out + 2 * k, storage + 2 * e, 2);
        }
}

/* The round trip's tensor and buffers, made before the context (so that what is left of the
 * mock's memory for the ring is known). */
typedef struct trip {
    tensor t;
    int gpu, pinned, stream_kind;
    unsigned char *storage, *ref, *fresh, *host, *dev;
} trip;

static void trip_make(trip *r, int devices, fsdf_input *in)
{
    memset(r, 0, sizeof *r);
    tensor *t = &r->t;
    t->shape[0] = 1 + fsdf_pick(in, 60);
    t->shape[1] = 1 + fsdf_pick(in, 100);
    t->transposed = fsdf_pick(in, 2);
    t->strides[0] = t->transposed ? 1 : t->shape[1];
    t->strides[1] = t->transposed ? t->shape[0] : 1;
    t->bytes = (size_t)(t->shape[0] * t->shape[1]) * 2;
    r->gpu = devices > 0;
    r->pinned = r->gpu && fsdf_pick(in, 2);
    r->stream_kind = fsdf_pick(in, 3);
    r->storage = malloc(t->bytes);
    r->ref = malloc(t->bytes);
    r->fresh = malloc(t->bytes);
    for (size_t i = 0; i < t->bytes; i++) {
        r->storage[i] = (unsigned char)(i * 13 + 7);
        r->fresh[i] = (unsigned char)(i * 5 + 1);
    }
    reference_pack(t, r->storage, r->ref);
    if (r->pinned)
        CHECK(cudaHostAlloc((void **)&r->host, t->bytes, 0) == cudaSuccess, "pinned host buffer");
    else
        r->host = malloc(t->bytes);
    if (r->gpu) {
        CHECK(cudaMalloc((void **)&r->dev, t->bytes) == cudaSuccess, "device tensor");
        CHECK(cudaMemcpy(r->dev, r->storage, t->bytes, cudaMemcpyHostToDevice) == cudaSuccess,
              "upload");
    }
}

/* Device and pinned bytes the trip holds. */
static size_t trip_gpu_bytes(const trip *r)
{
    return (r->gpu ? r->t.bytes : 0) + (r->pinned ? r->t.bytes : 0);
}

static void trip_free(trip *r)
{
    if (r->dev != NULL)
        (void)cudaFree(r->dev);
    if (r->pinned)
        (void)cudaFreeHost(r->host);
    else
        free(r->host);
    free(r->storage);
    free(r->ref);
    free(r->fresh);
}

/* Pack into host memory, then unpack fresh bytes back, both compared with the reference; on a
 * context of device 0 the tensor is the CUDA one, else the host one. */
static void trip_run(trip *r, fsd_context *ctx, int on_gpu, fsdf_input *in)
{
    const tensor *t = &r->t;
    mockcuda_set_seed(fsdf_u8(in));
    mockcuda_set_eager((int)fsdf_pick(in, 3) * 40);
    cudaStream_t s = NULL;
    if (on_gpu && r->stream_kind > 0)
        CHECK(cudaStreamCreateWithFlags(&s, r->stream_kind == 1 ? cudaStreamDefault
                                                                : cudaStreamNonBlocking) == cudaSuccess,
              "stream");
    DLTensor x = {r->storage, {kDLCPU, 0}, 2, {kDLInt, 16, 1}, (int64_t *)t->shape,
                  (int64_t *)t->strides, 0};
    if (on_gpu) {
        x.data = r->dev;
        x.device = (DLDevice){kDLCUDA, 0};
    }
    char msg[256];
    fsd_status st = fsd_pack_to_host(ctx, &x, r->host, t->bytes, s);
    fsd_last_error(msg, sizeof msg);
    CHECK(st == FSD_SUCCESS, "fsd_pack_to_host: %s (%s)", fsd_status_string(st), msg);
    if (on_gpu)
        CHECK(cudaStreamSynchronize(s) == cudaSuccess, "sync");
    CHECK(memcmp(r->host, r->ref, t->bytes) == 0, "fsd_pack_to_host: wrong bytes (%s %lldx%lld, %s)",
          t->transposed ? "transposed" : "contiguous", (long long)t->shape[0],
          (long long)t->shape[1], r->pinned ? "pinned" : "pageable");
    memcpy(r->host, r->fresh, t->bytes);
    st = fsd_unpack_from_host(ctx, r->host, t->bytes, &x, s);
    CHECK(st == FSD_SUCCESS, "fsd_unpack_from_host: %s", fsd_status_string(st));
    if (on_gpu) {
        CHECK(cudaStreamSynchronize(s) == cudaSuccess, "sync");
        mockcuda_peek(r->storage, r->dev, t->bytes);
    }
    reference_pack(t, r->storage, r->ref);
    CHECK(memcmp(r->ref, r->fresh, t->bytes) == 0, "fsd_unpack_from_host: wrong bytes");
    if (s != NULL)
        (void)cudaStreamDestroy(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fsdf_input in = {data, size};
    const int devices = (int)fsdf_pick(&in, 3);
    mockcuda_drain();
    CHECK(mockcuda_set_devices(devices) == 0, "something of the previous input is still alive");
    mockcuda_set_memory_limit(MEMORY);

    fsd_context_config c = FSD_CONTEXT_CONFIG_INIT;
    switch (fsdf_pick(&in, 4)) {
    case 0: break;                                               /* version 2 */
    case 1: c.version = 1; c.size = offsetof(fsd_context_config, stream_priority); break;
    case 2: c.version = fsdf_u32(&in); break;
    default: c.size = (size_t)fsdf_edgy_i64(&in); break;
    }
    if (fsdf_pick(&in, 8) == 0)
        c.magic = fsdf_u32(&in);
    c.device = fsdf_pick(&in, 4) == 0 ? (int)(int8_t)fsdf_u8(&in) : -1;
    c.chunk_bytes = pick_chunk_bytes(&in);
    c.chunks = pick_int(&in, 6);
    c.cpu_threads = fsdf_pick(&in, 4) == 0 ? (int)fsdf_u32(&in) : (int)fsdf_pick(&in, 9);
    mockcuda_hooks h = MOCKCUDA_HOOKS_INIT;
    h.refuse_from = MEMORY + 1;
    switch (fsdf_pick(&in, 5)) {
    case 1: c.allocator.alloc = mockcuda_hook_alloc; c.allocator.free = mockcuda_hook_free; break;
    case 2: c.allocator.alloc = mockcuda_hook_alloc; break;
    case 3: c.allocator.free = mockcuda_hook_free; break;
    default: break;
    }
    c.allocator.user = &h;
    c.stream_priority = (int)(int8_t)fsdf_u8(&in);

    /* a version-1 caller's struct is only that long: pass exactly its bytes */
    fsd_context_config *arg = &c;
    fsdt_config_v1 *old = NULL;
    if (c.version == 1 && c.size == sizeof(fsdt_config_v1)) {
        old = malloc(sizeof *old);
        memcpy(old, &c, sizeof *old);
        arg = (fsd_context_config *)old;
    }
    trip r;
    trip_make(&r, devices, &in);
    fsd_status want = fsdt_config_expected(&c, devices);
    const size_t ring = (c.chunk_bytes ? c.chunk_bytes : FSD_DEFAULT_CHUNK_BYTES) *
                        (size_t)(c.chunks ? c.chunks : FSD_DEFAULT_CHUNKS);
    if (want == FSD_SUCCESS && devices > 0 && 2 * ring > MEMORY - trip_gpu_bytes(&r))
        want = FSD_ERROR_OUT_OF_MEMORY; /* the pinned and device chunks cannot both fit */

    fsd_context *ctx = (fsd_context *)1;
    fsd_status st = fsd_context_create(&ctx, arg);
    free(old);
    char msg[256];
    fsd_last_error(msg, sizeof msg);
    CHECK(st == want, "fsd_context_create: %s (%s), expected %s; %d GPUs, size %zu, version %u, "
          "magic %#x, device %d, chunk_bytes %zu, chunks %d, cpu_threads %d, hooks %d/%d",
          fsd_status_string(st), msg, fsd_status_string(want), devices, c.size, c.version,
          c.magic, c.device, c.chunk_bytes, c.chunks, c.cpu_threads, c.allocator.alloc != NULL,
          c.allocator.free != NULL);
    if (st == FSD_ERROR_INVALID_ARGUMENT)
        CHECK(h.calls == 0, "a refused config allocated");
    if (st != FSD_SUCCESS) {
        CHECK(ctx == NULL && msg[0] != '\0', "failed create: context %p, message '%s'",
              (void *)ctx, msg);
    } else {
        fsd_context_usage u;
        CHECK(fsd_context_memory(ctx, &u) == FSD_SUCCESS, "fsd_context_memory");
        CHECK(u.cpu_threads >= 1 && u.cpu_threads <= FSD_MAX_CPU_THREADS, "threads %d", u.cpu_threads);
        CHECK(u.device == (devices > 0 ? (c.device >= 0 ? c.device : 0) : -1), "device %d", u.device);
        trip_run(&r, ctx, u.device == 0, &in);
        fsd_context_destroy(ctx);
    }
    trip_free(&r);
    mockcuda_stats s;
    mockcuda_drain();
    mockcuda_get_stats(&s);
    CHECK(h.live == 0, "%ld hook allocations never freed", h.live);
    CHECK(s.device_allocs == 0 && s.pinned_allocs == 0 && s.streams == 0 && s.events == 0,
          "left %ld device and %ld pinned allocations, %ld streams, %ld events", s.device_allocs,
          s.pinned_allocs, s.streams, s.events);
    CHECK(s.violations == 0, "%ld misuses of the CUDA runtime", s.violations);
    (void)cudaGetLastError();
    return 0;
}
