/* transfer.c — the staged round trip (see transfer.h). */
#include "cpu_parallel.h"
#include "error.h"
#include "kernel_launch.h"
#include "nvtx.h"
#include "plan_build.h"
#include "transfer.h"

typedef enum host_kind { HOST_PAGEABLE, HOST_PINNED, NOT_HOST } host_kind;

/* Page-locked (cudaHostAlloc'd or registered) host memory can be the DMA's source or target
 * directly; pageable or managed memory goes through the pinned chunks; device memory is not
 * a host buffer at all. */
static host_kind host_kind_of(const void *p)
{
    struct cudaPointerAttributes attr;
    if (cudaPointerGetAttributes(&attr, p) != cudaSuccess) {
        (void)cudaGetLastError();
        return HOST_PAGEABLE;
    }
    return attr.type == cudaMemoryTypeHost ? HOST_PINNED
           : attr.type == cudaMemoryTypeDevice ? NOT_HOST
                                               : HOST_PAGEABLE;
}

/* Every stream of the context waits for the work already on the caller's stream. */
static cudaError_t join_after(fsd_context *ctx, cudaStream_t stream)
{
    cudaError_t e;
    if ((e = cudaEventRecord(ctx->start, stream)) != cudaSuccess ||
        (e = cudaStreamWaitEvent(ctx->pack_stream, ctx->start, 0)) != cudaSuccess)
        return e;
    return cudaStreamWaitEvent(ctx->copy_stream, ctx->start, 0);
}

/* The caller's stream waits for everything the context's streams did for this call. */
static cudaError_t join_back(fsd_context *ctx, cudaStream_t stream)
{
    cudaError_t e;
    if ((e = cudaEventRecord(ctx->pack_done, ctx->pack_stream)) != cudaSuccess ||
        (e = cudaEventRecord(ctx->copy_done, ctx->copy_stream)) != cudaSuccess ||
        (e = cudaStreamWaitEvent(stream, ctx->pack_done, 0)) != cudaSuccess)
        return e;
    return cudaStreamWaitEvent(stream, ctx->copy_done, 0);
}

typedef struct chunk {
    int slot;
    uint64_t begin, end; /* packed bytes */
} chunk;

static chunk chunk_of(const fsd_context *ctx, uint64_t k, uint64_t total)
{
    chunk c;
    c.slot = (int)(k % (uint64_t)ctx->chunks);
    c.begin = k * ctx->chunk_bytes;
    c.end = c.begin + ctx->chunk_bytes < total ? c.begin + ctx->chunk_bytes : total;
    return c;
}

/* Enqueues the pack or unpack kernel of one chunk on the pack stream. */
static cudaError_t chunk_kernel(fsd_context *ctx, const fsd_layout *l, chunk c, fsd_direction dir)
{
    fsd_plan plan;
    char *dev = ctx->device_chunks + (size_t)c.slot * ctx->chunk_bytes;
    fsd_plan_build_range(l, dev, c.begin, c.end, dir, (uint32_t)ctx->sm_count, &plan);
    FSD_RANGE_PUSH(FSD_NVTX_CHUNK_KERNEL, c.end - c.begin);
    cudaError_t e = fsdk_launch(&plan, ctx->pack_stream);
    FSD_RANGE_POP();
    return e;
}

/* Waits for chunk c's D2H and copies its pinned chunk into host_dst. */
static cudaError_t drain_to_host(fsd_context *ctx, chunk c, char *host_dst)
{
    FSD_RANGE_PUSH(FSD_NVTX_CHUNK_WAIT, c.end - c.begin);
    cudaError_t e = cudaEventSynchronize(ctx->copy_ev[c.slot]);
    FSD_RANGE_POP();
    if (e != cudaSuccess)
        return e;
    FSD_RANGE_PUSH(FSD_NVTX_CHUNK_HOST, c.end - c.begin);
    fsd_cpu_memcpy_parallel(ctx->pool, host_dst + c.begin,
                            ctx->pinned + (size_t)c.slot * ctx->chunk_bytes, c.end - c.begin);
    FSD_RANGE_POP();
    return cudaSuccess;
}

static cudaError_t pack_chunks(fsd_context *ctx, const fsd_layout *l, char *host_dst, int contig,
                               int direct)
{
    const uint64_t total = l->total_bytes;
    const uint64_t n = (total + ctx->chunk_bytes - 1) / ctx->chunk_bytes;
    const uint64_t lag = (uint64_t)ctx->chunks;
    cudaError_t e = cudaSuccess;
    for (uint64_t k = 0; k < n && e == cudaSuccess; k++) {
        chunk c = chunk_of(ctx, k, total);
        /* Free pinned slot c.slot: copy out the chunk that used it, `chunks` ago. */
        if (!direct && k >= lag && (e = drain_to_host(ctx, chunk_of(ctx, k - lag, total), host_dst)) != cudaSuccess)
            break;
        const char *from = l->base + c.begin; /* contiguous: the tensor's own bytes */
        if (!contig) {
            from = ctx->device_chunks + (size_t)c.slot * ctx->chunk_bytes;
            if ((e = cudaStreamWaitEvent(ctx->pack_stream, ctx->copy_ev[c.slot], 0)) != cudaSuccess ||
                (e = chunk_kernel(ctx, l, c, FSD_DIR_PACK)) != cudaSuccess ||
                (e = cudaEventRecord(ctx->kernel_ev[c.slot], ctx->pack_stream)) != cudaSuccess ||
                (e = cudaStreamWaitEvent(ctx->copy_stream, ctx->kernel_ev[c.slot], 0)) != cudaSuccess)
                break;
        }
        char *to = direct ? host_dst + c.begin : ctx->pinned + (size_t)c.slot * ctx->chunk_bytes;
        FSD_RANGE_PUSH(FSD_NVTX_CHUNK_D2H, c.end - c.begin);
        e = cudaMemcpyAsync(to, from, c.end - c.begin, cudaMemcpyDeviceToHost, ctx->copy_stream);
        FSD_RANGE_POP();
        if (e == cudaSuccess)
            e = cudaEventRecord(ctx->copy_ev[c.slot], ctx->copy_stream);
    }
    /* The chunks still in pinned memory. */
    for (uint64_t k = n > lag ? n - lag : 0; !direct && k < n && e == cudaSuccess; k++)
        e = drain_to_host(ctx, chunk_of(ctx, k, total), host_dst);
    return e;
}

static cudaError_t unpack_chunks(fsd_context *ctx, const fsd_layout *l, const char *host_src,
                                 int contig, int direct)
{
    const uint64_t total = l->total_bytes;
    const uint64_t n = (total + ctx->chunk_bytes - 1) / ctx->chunk_bytes;
    cudaError_t e = cudaSuccess;
    for (uint64_t k = 0; k < n && e == cudaSuccess; k++) {
        chunk c = chunk_of(ctx, k, total);
        char *pinned = ctx->pinned + (size_t)c.slot * ctx->chunk_bytes;
        const char *from = host_src + c.begin;
        if (!direct) {
            /* Pinned chunk c.slot is free once the H2D that last read it is done. */
            FSD_RANGE_PUSH(FSD_NVTX_CHUNK_WAIT, c.end - c.begin);
            e = cudaEventSynchronize(ctx->copy_ev[c.slot]);
            FSD_RANGE_POP();
            if (e != cudaSuccess)
                break;
            FSD_RANGE_PUSH(FSD_NVTX_CHUNK_HOST, c.end - c.begin);
            fsd_cpu_memcpy_parallel(ctx->pool, pinned, from, c.end - c.begin);
            FSD_RANGE_POP();
            from = pinned;
        }
        char *to = l->base + c.begin; /* contiguous: straight into the tensor */
        if (!contig) {
            to = ctx->device_chunks + (size_t)c.slot * ctx->chunk_bytes;
            /* Device chunk c.slot is free once the kernel that last read it is done. */
            if ((e = cudaStreamWaitEvent(ctx->copy_stream, ctx->kernel_ev[c.slot], 0)) != cudaSuccess)
                break;
        }
        FSD_RANGE_PUSH(FSD_NVTX_CHUNK_H2D, c.end - c.begin);
        e = cudaMemcpyAsync(to, from, c.end - c.begin, cudaMemcpyHostToDevice, ctx->copy_stream);
        FSD_RANGE_POP();
        if (e == cudaSuccess)
            e = cudaEventRecord(ctx->copy_ev[c.slot], ctx->copy_stream);
        if (e == cudaSuccess && !contig) {
            if ((e = cudaStreamWaitEvent(ctx->pack_stream, ctx->copy_ev[c.slot], 0)) != cudaSuccess ||
                (e = chunk_kernel(ctx, l, c, FSD_DIR_UNPACK)) != cudaSuccess)
                break;
            e = cudaEventRecord(ctx->kernel_ev[c.slot], ctx->pack_stream);
        }
    }
    return e;
}

/* The calls' common frame: the context's device, the kind of host buffer, the caller's stream
 * joined at both ends, and on an error both streams drained, so that nothing the call
 * enqueued runs on after it returns. */
static fsd_status transfer(fsd_context *ctx, const fsd_layout *l, char *host, cudaStream_t stream,
                           fsd_direction dir)
{
    const int pack = dir == FSD_DIR_PACK;
    int prev;
    fsd_status st = fsd_context_enter(ctx, &prev);
    if (st != FSD_SUCCESS)
        return st;
    const host_kind kind = host_kind_of(host);
    if (kind == NOT_HOST) {
        fsd_context_leave(ctx, prev);
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "%s is device memory, not host memory",
                        pack ? "host_dst" : "host_src");
    }
    const int contig = fsd_layout_contiguous(l);
    const int direct = kind == HOST_PINNED;
    FSD_RANGE_PUSH(pack ? FSD_NVTX_PACK : FSD_NVTX_UNPACK, l->total_bytes);
    cudaError_t e = join_after(ctx, stream);
    if (e == cudaSuccess) {
        if (contig && direct) /* one DMA, no staging */
            e = pack ? cudaMemcpyAsync(host, l->base, l->total_bytes, cudaMemcpyDeviceToHost, ctx->copy_stream)
                     : cudaMemcpyAsync(l->base, host, l->total_bytes, cudaMemcpyHostToDevice, ctx->copy_stream);
        else
            e = pack ? pack_chunks(ctx, l, host, contig, direct) : unpack_chunks(ctx, l, host, contig, direct);
    }
    if (e == cudaSuccess)
        e = join_back(ctx, stream);
    FSD_RANGE_POP();
    if (e != cudaSuccess) {
        (void)cudaStreamSynchronize(ctx->pack_stream);
        (void)cudaStreamSynchronize(ctx->copy_stream);
        st = fsd_cuda_failure(e, pack ? "fsd_pack_to_host" : "fsd_unpack_from_host");
    }
    fsd_context_leave(ctx, prev);
    return st;
}

fsd_status fsd_transfer_pack(fsd_context *ctx, const fsd_layout *l, void *host_dst, cudaStream_t stream)
{
    return transfer(ctx, l, host_dst, stream, FSD_DIR_PACK);
}

fsd_status fsd_transfer_unpack(fsd_context *ctx, const fsd_layout *l, const void *host_src,
                               cudaStream_t stream)
{
    return transfer(ctx, l, (char *)host_src, stream, FSD_DIR_UNPACK);
}
