/* context.c — creating, querying and destroying contexts (see fastserde.h and context.h). */
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "context.h"
#include "device.h"
#include "error.h"
#include "numa.h"
#include "nvtx.h"

#define FSD_DEFAULT_MAX_THREADS 64 /* cpu_threads 0: one per core, at most this many */

/* The size of a version-1 config: everything up to and including `allocator`. */
#define FSD_CONFIG_V1_SIZE offsetof(fsd_context_config, stream_priority)

fsd_status fsd_context_enter(const fsd_context *ctx, int *prev)
{
    return fsd_device_enter(ctx->device, prev);
}

void fsd_context_leave(const fsd_context *ctx, int prev)
{
    fsd_device_leave(ctx->device, prev);
}

/* Copies the caller's config into *out (the defaults where an older version has no field),
 * after checking its size, magic and version: only what the caller's struct holds is read. */
static fsd_status read_config(const fsd_context_config *in, fsd_context_config *out)
{
    const fsd_context_config defaults = FSD_CONTEXT_CONFIG_INIT;
    *out = defaults;
    if (in == NULL)
        return FSD_SUCCESS;
    /* size, magic and version first: every version starts with them */
    size_t size = in->size;
    uint32_t magic = in->magic, version = in->version;
    int known = magic == FSD_CONFIG_MAGIC &&
                ((version == 1 && size == FSD_CONFIG_V1_SIZE) ||
                 (version == FSD_CONFIG_VERSION && size == sizeof(fsd_context_config)));
    if (!known)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "config: size %zu, magic %#x, version %u: "
                        "start from FSD_CONTEXT_CONFIG_INIT", size, magic, version);
    memcpy(out, in, size);
    out->size = sizeof *out;
    out->version = FSD_CONFIG_VERSION;
    return FSD_SUCCESS;
}

static fsd_status check_config(const fsd_context_config *c)
{
    if (c->chunk_bytes % 4096 != 0 || c->chunk_bytes > FSD_MAX_CHUNK_BYTES)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "config: chunk_bytes %zu is not a multiple of "
                        "4096 up to FSD_MAX_CHUNK_BYTES (%zu)", c->chunk_bytes, FSD_MAX_CHUNK_BYTES);
    if (c->chunks != 0 && (c->chunks < 2 || c->chunks > FSD_MAX_CHUNKS))
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "config: chunks %d is not in 2..%d", c->chunks,
                        FSD_MAX_CHUNKS);
    /* both factors are bounded now: the product fits in 64 bits */
    uint64_t ring = (uint64_t)(c->chunk_bytes ? c->chunk_bytes : FSD_DEFAULT_CHUNK_BYTES) *
                    (uint64_t)(c->chunks ? c->chunks : FSD_DEFAULT_CHUNKS);
    if (ring > FSD_MAX_RING_BYTES || ring > SIZE_MAX)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "config: chunk_bytes x chunks is %llu bytes, "
                        "above FSD_MAX_RING_BYTES (%llu)", (unsigned long long)ring,
                        (unsigned long long)FSD_MAX_RING_BYTES);
    if (c->cpu_threads < 0 || c->cpu_threads > FSD_MAX_CPU_THREADS)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "config: cpu_threads %d is not in 0..%d",
                        c->cpu_threads, FSD_MAX_CPU_THREADS);
    if ((c->allocator.alloc == NULL) != (c->allocator.free == NULL))
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "config: set both allocator hooks or neither");
    if (c->device < -1)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "config: device %d", c->device);
    return FSD_SUCCESS;
}

static int default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > FSD_DEFAULT_MAX_THREADS ? FSD_DEFAULT_MAX_THREADS : (int)n;
}

/* The pool fsd_from_bytes allocates its CUDA tensors from, in stream order: without hooks and
 * where the device has memory pools (else fsd_from_bytes uses cudaMalloc). It keeps up to
 * FSD_POOL_KEEP_BYTES of freed memory for the next tensors (the release threshold); the rest
 * goes back to the device. Its memory is not counted by fsd_context_memory. */
#define FSD_POOL_KEEP_BYTES ((uint64_t)256 << 20)

static fsd_status create_mem_pool(fsd_context *ctx)
{
    int supported = 0;
    cudaError_t e = cudaDeviceGetAttribute(&supported, cudaDevAttrMemoryPoolsSupported, ctx->device);
    if (e != cudaSuccess) {
        fsd_cuda_forget(e);
        supported = 0;
    }
    if (ctx->alloc.hooks.alloc != NULL || !supported)
        return FSD_SUCCESS;
    struct cudaMemPoolProps props;
    memset(&props, 0, sizeof props);
    props.allocType = cudaMemAllocationTypePinned;
    props.location.type = cudaMemLocationTypeDevice;
    props.location.id = ctx->device;
    if ((e = cudaMemPoolCreate(&ctx->mem_pool, &props)) != cudaSuccess) {
        ctx->mem_pool = NULL;
        return fsd_cuda_failure(e, "cudaMemPoolCreate");
    }
    uint64_t keep = FSD_POOL_KEEP_BYTES;
    if ((e = cudaMemPoolSetAttribute(ctx->mem_pool, cudaMemPoolAttrReleaseThreshold, &keep)) != cudaSuccess)
        return fsd_cuda_failure(e, "cudaMemPoolSetAttribute");
    return FSD_SUCCESS;
}

/* Streams, events and chunks on ctx->device (already current). */
static fsd_status create_gpu_side(fsd_context *ctx)
{
    cudaError_t e;
    if ((e = cudaDeviceGetAttribute(&ctx->sm_count, cudaDevAttrMultiProcessorCount, ctx->device)) != cudaSuccess)
        return fsd_cuda_failure(e, "cudaDeviceGetAttribute");
    if ((e = cudaStreamCreateWithPriority(&ctx->pack_stream, cudaStreamNonBlocking,
                                          ctx->stream_priority)) != cudaSuccess ||
        (e = cudaStreamCreateWithPriority(&ctx->copy_stream, cudaStreamNonBlocking,
                                          ctx->stream_priority)) != cudaSuccess)
        return fsd_cuda_failure(e, "cudaStreamCreateWithPriority");
    FSD_NAME_STREAM(ctx->pack_stream, "fastserde pack");
    FSD_NAME_STREAM(ctx->copy_stream, "fastserde copy");
    cudaEvent_t *events[3 + 3 * FSD_MAX_CHUNKS];
    int n = 0;
    events[n++] = &ctx->start;
    events[n++] = &ctx->pack_done;
    events[n++] = &ctx->copy_done;
    for (int i = 0; i < ctx->chunks; i++) {
        events[n++] = &ctx->kernel_ev[i];
        events[n++] = &ctx->copy_ev[i];
        events[n++] = &ctx->host_ev[i];
    }
    /* Blocking sync: a host thread that waits on one sleeps instead of spinning a core (the
     * CPU threads copying chunks need the cores); no timing. */
    for (int i = 0; i < n; i++)
        if ((e = cudaEventCreateWithFlags(events[i], cudaEventDisableTiming | cudaEventBlockingSync)) !=
            cudaSuccess)
            return fsd_cuda_failure(e, "cudaEventCreateWithFlags");
    size_t bytes = ctx->chunk_bytes * (size_t)ctx->chunks;
    ctx->numa_node = fsd_numa_node_of_device(ctx->device, "/sys");
    if ((ctx->pinned = fsd_alloc_pinned(&ctx->alloc, bytes, ctx->numa_node, &ctx->pinned_how)) == NULL)
        return fsd_fail(FSD_ERROR_OUT_OF_MEMORY, "context: cannot allocate %zu bytes of pinned memory", bytes);
    if ((ctx->device_chunks = fsd_alloc_device(&ctx->alloc, bytes, ctx->device)) == NULL)
        return fsd_fail(FSD_ERROR_OUT_OF_MEMORY, "context: cannot allocate %zu bytes on device %d",
                        bytes, ctx->device);
    return create_mem_pool(ctx);
}

/* With a usable GPU: *device from the config; without one: -1. Allocates nothing. */
static fsd_status pick_device(int *device, int wanted)
{
    int count = 0;
    *device = -1;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        fsd_cuda_forget(e);
        return FSD_SUCCESS;
    }
    if (wanted == -1) {
        e = cudaGetDevice(&wanted);
        if (e != cudaSuccess)
            return fsd_cuda_failure(e, "cudaGetDevice");
    }
    if (wanted >= count)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "config: device %d, but there are %d CUDA devices",
                        wanted, count);
    *device = wanted;
    return FSD_SUCCESS;
}

fsd_status fsd_context_create(fsd_context **out, const fsd_context_config *config)
{
    if (out == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "ctx is NULL");
    *out = NULL;
    fsd_context_config cfg;
    int device = -1;
    fsd_status st = read_config(config, &cfg);
    if (st == FSD_SUCCESS)
        st = check_config(&cfg);
    if (st == FSD_SUCCESS)
        st = pick_device(&device, cfg.device);
    if (st != FSD_SUCCESS)
        return st; /* nothing allocated yet */
    fsd_alloc a = {cfg.allocator};
    fsd_context *ctx = fsd_alloc_host(&a, sizeof *ctx);
    if (ctx == NULL)
        return fsd_fail(FSD_ERROR_OUT_OF_MEMORY, "context: no memory for the context");
    memset(ctx, 0, sizeof *ctx);
    ctx->alloc = a;
    ctx->chunk_bytes = cfg.chunk_bytes ? cfg.chunk_bytes : FSD_DEFAULT_CHUNK_BYTES;
    ctx->chunks = cfg.chunks ? cfg.chunks : FSD_DEFAULT_CHUNKS;
    ctx->stream_priority = cfg.stream_priority;
    ctx->device = -1;
    st = fsd_pool_create(&ctx->pool, cfg.cpu_threads ? cfg.cpu_threads : default_threads(), &ctx->alloc);
    if (st == FSD_SUCCESS)
        ctx->device = device;
    if (st == FSD_SUCCESS && ctx->device >= 0) {
        int prev;
        if ((st = fsd_context_enter(ctx, &prev)) == FSD_SUCCESS) {
            st = create_gpu_side(ctx);
            fsd_context_leave(ctx, prev);
        }
    }
    if (st != FSD_SUCCESS) {
        fsd_context_destroy(ctx);
        return st;
    }
    *out = ctx;
    fsd_clear_error();
    return FSD_SUCCESS;
}

void fsd_context_destroy(fsd_context *ctx)
{
    if (ctx == NULL)
        return;
    int prev = ctx->device;
    if (ctx->device >= 0) {
        if (fsd_context_enter(ctx, &prev) != FSD_SUCCESS) {
            prev = ctx->device; /* unknown: free on the context's device, restore nothing */
            fsd_cuda_forget(cudaSetDevice(ctx->device));
        }
        /* Errors here are not reported (there is no status to return) and not left for the
         * caller's cudaGetLastError either; an error the caller left pending is kept. */
        if (ctx->pack_stream)
            fsd_cuda_forget(cudaStreamSynchronize(ctx->pack_stream));
        if (ctx->copy_stream)
            fsd_cuda_forget(cudaStreamSynchronize(ctx->copy_stream));
        cudaEvent_t *singles[] = {&ctx->start, &ctx->pack_done, &ctx->copy_done};
        for (int i = 0; i < 3; i++)
            if (*singles[i])
                fsd_cuda_forget(cudaEventDestroy(*singles[i]));
        for (int i = 0; i < FSD_MAX_CHUNKS; i++) {
            if (ctx->kernel_ev[i])
                fsd_cuda_forget(cudaEventDestroy(ctx->kernel_ev[i]));
            if (ctx->copy_ev[i])
                fsd_cuda_forget(cudaEventDestroy(ctx->copy_ev[i]));
            if (ctx->host_ev[i])
                fsd_cuda_forget(cudaEventDestroy(ctx->host_ev[i]));
        }
        if (ctx->pack_stream)
            fsd_cuda_forget(cudaStreamDestroy(ctx->pack_stream));
        if (ctx->copy_stream)
            fsd_cuda_forget(cudaStreamDestroy(ctx->copy_stream));
        fsd_free_pinned(&ctx->alloc, ctx->pinned, ctx->chunk_bytes * (size_t)ctx->chunks,
                        ctx->pinned_how);
        fsd_free_device(&ctx->alloc, ctx->device_chunks, ctx->device);
        /* tensors of fsd_from_bytes still alive keep their memory until their deleter */
        if (ctx->mem_pool)
            fsd_cuda_forget(cudaMemPoolDestroy(ctx->mem_pool));
        fsd_context_leave(ctx, prev);
    }
    fsd_pool_destroy(ctx->pool);
    fsd_alloc a = ctx->alloc;
    fsd_free_host(&a, ctx);
}

fsd_status fsd_context_memory(const fsd_context *ctx, fsd_context_usage *u)
{
    if (ctx == NULL || u == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "ctx or usage is NULL");
    int gpu = ctx->device >= 0;
    u->chunk_bytes = ctx->chunk_bytes;
    u->chunks = gpu ? ctx->chunks : 0;
    u->pinned_bytes = gpu ? ctx->chunk_bytes * (size_t)ctx->chunks : 0;
    u->device_bytes = u->pinned_bytes;
    u->cpu_threads = fsd_pool_threads(ctx->pool);
    u->device = ctx->device;
    fsd_clear_error();
    return FSD_SUCCESS;
}
