/* transfer.c — the staged round trip (see transfer.h). */
#include "cpu_parallel.h"
#include "error.h"
#include "frame.h"
#include "kernel_launch.h"
#include "memkind.h"
#include "nvtx.h"
#include "plan_build.h"
#include "transfer.h"

/* One call: what it moves, where, and whether it is being captured into a graph. */
typedef struct call {
    fsd_context *ctx;
    const fsd_layout *l;
    char *host;
    int contig;   /* the tensor's bytes are one run: no kernel, the DMA reads/writes it */
    int direct;   /* host is pinned: the DMA reads/writes it, no pinned chunks */
    int captured; /* the caller's stream is capturing: nothing runs during the call */
    uint64_t *sum; /* NULL, or the frame checksum's S of the packed bytes (see transfer.h) */
} call;

/* Every stream of the context waits for the work already on the caller's stream, and (outside
 * a capture) for the context's previous call, whichever stream that call was made on: its
 * DMAs may still read device chunks this call's kernels write, and its kernels read device
 * chunks this call's DMAs write. Inside a capture only events recorded in the same capture may
 * be waited on: the graph's own order replaces the second wait (see fastserde.h). */
static cudaError_t join_after(const call *c, cudaStream_t stream)
{
    fsd_context *ctx = c->ctx;
    cudaError_t e;
    if ((e = cudaEventRecord(ctx->start, stream)) != cudaSuccess ||
        (e = cudaStreamWaitEvent(ctx->pack_stream, ctx->start, 0)) != cudaSuccess ||
        (e = cudaStreamWaitEvent(ctx->copy_stream, ctx->start, 0)) != cudaSuccess)
        return e;
    if (!c->captured && ctx->copy_done_live &&
        (e = cudaStreamWaitEvent(ctx->pack_stream, ctx->copy_done, 0)) != cudaSuccess)
        return e;
    if (!c->captured && ctx->pack_done_live &&
        (e = cudaStreamWaitEvent(ctx->copy_stream, ctx->pack_done, 0)) != cudaSuccess)
        return e;
    return cudaSuccess;
}

/* The caller's stream waits for everything the context's streams did for this call. */
static cudaError_t join_back(const call *c, cudaStream_t stream)
{
    fsd_context *ctx = c->ctx;
    cudaError_t e;
    if ((e = cudaEventRecord(ctx->pack_done, ctx->pack_stream)) != cudaSuccess)
        return e;
    ctx->pack_done_live = !c->captured;
    if ((e = cudaEventRecord(ctx->copy_done, ctx->copy_stream)) != cudaSuccess)
        return e;
    ctx->copy_done_live = !c->captured;
    if ((e = cudaStreamWaitEvent(stream, ctx->pack_done, 0)) != cudaSuccess)
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

static char *device_chunk(const fsd_context *ctx, int slot)
{
    return ctx->device_chunks + (size_t)slot * ctx->chunk_bytes;
}

static char *pinned_chunk(const fsd_context *ctx, int slot)
{
    return ctx->pinned + (size_t)slot * ctx->chunk_bytes;
}

/* Enqueues the pack or unpack kernel of one chunk on the pack stream. */
static cudaError_t chunk_kernel(fsd_context *ctx, const fsd_layout *l, chunk c, fsd_direction dir)
{
    fsd_plan plan;
    fsd_plan_build_range(l, device_chunk(ctx, c.slot), c.begin, c.end, dir,
                         (uint32_t)ctx->sm_count, &plan);
    FSD_RANGE_PUSH(FSD_NVTX_CHUNK_KERNEL, c.end - c.begin);
    cudaError_t e = fsdk_launch(&plan, ctx->pack_stream);
    FSD_RANGE_POP();
    return e;
}

/* The host waits until pinned chunk `slot` is free (its last DMA is done). */
static cudaError_t wait_pinned(fsd_context *ctx, chunk c)
{
    FSD_RANGE_PUSH(FSD_NVTX_CHUNK_WAIT, c.end - c.begin);
    cudaError_t e = cudaEventSynchronize(ctx->host_ev[c.slot]);
    FSD_RANGE_POP();
    return e;
}

/* One chunk's host copy between a pinned chunk and the caller's memory, on the context's
 * threads; with cl->sum, hashing the chunk's leaves as it copies (chunks begin at multiples of
 * chunk_bytes, a multiple of 4096: on a leaf of the checksum). */
static void host_copy(const call *cl, chunk c, char *dst, const char *src)
{
    const uint64_t n = c.end - c.begin;
    FSD_RANGE_PUSH(FSD_NVTX_CHUNK_HOST, n);
    if (cl->sum != NULL)
        *cl->sum += fsd_frame_copy_sum(cl->ctx->pool, dst, src, n, c.begin,
                                       FSD_RING_MIN_BYTES_PER_THREAD);
    else
        fsd_cpu_memcpy_parallel_ex(cl->ctx->pool, dst, src, n, FSD_RING_MIN_BYTES_PER_THREAD);
    FSD_RANGE_POP();
}

/* Waits for chunk c's D2H and copies its pinned chunk into the caller's memory. */
static cudaError_t drain_to_host(const call *cl, chunk c)
{
    cudaError_t e = wait_pinned(cl->ctx, c);
    if (e == cudaSuccess)
        host_copy(cl, c, cl->host + c.begin, pinned_chunk(cl->ctx, c.slot));
    return e;
}

static cudaError_t pack_chunks(const call *cl)
{
    fsd_context *ctx = cl->ctx;
    const fsd_layout *l = cl->l;
    const uint64_t total = l->total_bytes;
    const uint64_t n = (total + ctx->chunk_bytes - 1) / ctx->chunk_bytes;
    const uint64_t lag = (uint64_t)ctx->chunks;
    cudaError_t e = cudaSuccess;
    for (uint64_t k = 0; k < n && e == cudaSuccess; k++) {
        chunk c = chunk_of(ctx, k, total);
        /* Free pinned slot c.slot: copy out the chunk that used it, `chunks` ago. */
        if (!cl->direct && k >= lag &&
            (e = drain_to_host(cl, chunk_of(ctx, k - lag, total))) != cudaSuccess)
            break;
        const char *from = l->base + c.begin; /* contiguous: the tensor's own bytes */
        if (!cl->contig) {
            from = device_chunk(ctx, c.slot);
            /* device chunk c.slot is free once the D2H that last read it (this call's) is done */
            if ((k >= lag &&
                 (e = cudaStreamWaitEvent(ctx->pack_stream, ctx->copy_ev[c.slot], 0)) != cudaSuccess) ||
                (e = chunk_kernel(ctx, l, c, FSD_DIR_PACK)) != cudaSuccess ||
                (e = cudaEventRecord(ctx->kernel_ev[c.slot], ctx->pack_stream)) != cudaSuccess ||
                (e = cudaStreamWaitEvent(ctx->copy_stream, ctx->kernel_ev[c.slot], 0)) != cudaSuccess)
                break;
        }
        char *to = cl->direct ? cl->host + c.begin : pinned_chunk(ctx, c.slot);
        FSD_RANGE_PUSH(FSD_NVTX_CHUNK_D2H, c.end - c.begin);
        e = cudaMemcpyAsync(to, from, c.end - c.begin, cudaMemcpyDeviceToHost, ctx->copy_stream);
        FSD_RANGE_POP();
        if (e == cudaSuccess && !cl->contig)
            e = cudaEventRecord(ctx->copy_ev[c.slot], ctx->copy_stream);
        if (e == cudaSuccess && !cl->direct)
            e = cudaEventRecord(ctx->host_ev[c.slot], ctx->copy_stream);
    }
    /* The chunks still in pinned memory. */
    for (uint64_t k = n > lag ? n - lag : 0; !cl->direct && k < n && e == cudaSuccess; k++)
        e = drain_to_host(cl, chunk_of(ctx, k, total));
    return e;
}

static cudaError_t unpack_chunks(const call *cl)
{
    fsd_context *ctx = cl->ctx;
    const fsd_layout *l = cl->l;
    const uint64_t total = l->total_bytes;
    const uint64_t n = (total + ctx->chunk_bytes - 1) / ctx->chunk_bytes;
    const uint64_t lag = (uint64_t)ctx->chunks;
    cudaError_t e = cudaSuccess;
    for (uint64_t k = 0; k < n && e == cudaSuccess; k++) {
        chunk c = chunk_of(ctx, k, total);
        const char *from = cl->host + c.begin;
        if (!cl->direct) {
            /* Pinned chunk c.slot is free once the H2D that last read it (of this call or an
             * earlier one) is done. */
            if ((e = wait_pinned(ctx, c)) != cudaSuccess)
                break;
            host_copy(cl, c, pinned_chunk(ctx, c.slot), from);
            from = pinned_chunk(ctx, c.slot);
        }
        char *to = l->base + c.begin; /* contiguous: straight into the tensor */
        if (!cl->contig) {
            to = device_chunk(ctx, c.slot);
            /* Device chunk c.slot is free once the kernel that last read it (this call's) is done. */
            if (k >= lag &&
                (e = cudaStreamWaitEvent(ctx->copy_stream, ctx->kernel_ev[c.slot], 0)) != cudaSuccess)
                break;
        }
        FSD_RANGE_PUSH(FSD_NVTX_CHUNK_H2D, c.end - c.begin);
        e = cudaMemcpyAsync(to, from, c.end - c.begin, cudaMemcpyHostToDevice, ctx->copy_stream);
        FSD_RANGE_POP();
        if (e == cudaSuccess && !cl->direct)
            e = cudaEventRecord(ctx->host_ev[c.slot], ctx->copy_stream);
        if (e == cudaSuccess && !cl->contig) {
            if ((e = cudaEventRecord(ctx->copy_ev[c.slot], ctx->copy_stream)) != cudaSuccess ||
                (e = cudaStreamWaitEvent(ctx->pack_stream, ctx->copy_ev[c.slot], 0)) != cudaSuccess ||
                (e = chunk_kernel(ctx, l, c, FSD_DIR_UNPACK)) != cudaSuccess)
                break;
            e = cudaEventRecord(ctx->kernel_ev[c.slot], ctx->pack_stream);
        }
    }
    return e;
}

/* Whether `stream` is being captured; an invalidated capture, or a stream the runtime will not
 * answer for (the legacy stream while a blocking stream captures), is an error. */
static fsd_status capture_state(cudaStream_t stream, int *captured, const char *fn)
{
    enum cudaStreamCaptureStatus cs = cudaStreamCaptureStatusNone;
    cudaError_t e = cudaStreamIsCapturing(stream, &cs);
    if (e != cudaSuccess)
        return fsd_cuda_failure(e, fn);
    if (cs == cudaStreamCaptureStatusInvalidated)
        return fsd_fail(FSD_ERROR_CUDA, "%s: the stream's capture has been invalidated by an "
                        "earlier error; end it (cudaStreamEndCapture) first", fn);
    *captured = cs == cudaStreamCaptureStatusActive;
    return FSD_SUCCESS;
}

/* A pinned host buffer has no host copy to hash in: the CPU hashes it, for a pack once the
 * DMAs into it have finished (the call then blocks), for an unpack while they read it. */
static cudaError_t sum_direct(const call *cl, int pack)
{
    cudaError_t e = cudaSuccess;
    if (pack && (e = cudaEventSynchronize(cl->ctx->copy_done)) != cudaSuccess)
        return e;
    *cl->sum = fsd_frame_sum(cl->ctx->pool, cl->host, cl->l->total_bytes);
    return e;
}

/* The calls' common frame: the context's device, the kind of host buffer, the caller's stream
 * joined at both ends, and on an error outside a capture both streams drained, so that nothing
 * the call enqueued runs on after it returns (inside a capture nothing ran: the capture is
 * left unjoined, so that cudaStreamEndCapture fails rather than make a graph of part of it). */
static fsd_status transfer(fsd_context *ctx, const fsd_layout *l, char *host, uint64_t *sum,
                           cudaStream_t stream, fsd_direction dir)
{
    const int pack = dir == FSD_DIR_PACK;
    const char *fn = pack ? "fsd_pack_to_host" : "fsd_unpack_from_host";
    const char *what = pack ? "host_dst" : "host_src";
    if (ctx->device < 0)
        return fsd_fail(FSD_ERROR_NO_GPU, "a CUDA tensor, but the context has no GPU");
    if (l->device_id != ctx->device)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "the tensor is on device %d, the context on %d",
                        l->device_id, ctx->device);
    int prev;
    fsd_status st = fsd_context_enter(ctx, &prev);
    if (st != FSD_SUCCESS)
        return st;
    if (sum != NULL)
        *sum = 0;
    call cl = {ctx, l, host, fsd_layout_contiguous(l), 0, 0, sum};
    /* Pinned at both ends: the DMA reaches it directly; device memory at either end: not a
     * host buffer; else (pageable, managed, mixed) through the pinned chunks. */
    fsd_mem m, last;
    cudaError_t e = fsd_memkind_of_range(host, l->total_bytes, &m, &last);
    if (e != cudaSuccess)
        st = fsd_cuda_failure(e, "cudaPointerGetAttributes");
    else if (m.kind == FSD_MEM_DEVICE || last.kind == FSD_MEM_DEVICE)
        st = fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "%s is device memory, not host memory", what);
    if (st == FSD_SUCCESS)
        st = capture_state(stream, &cl.captured, fn);
    cl.direct = m.kind == FSD_MEM_PINNED && last.kind == FSD_MEM_PINNED;
    if (st == FSD_SUCCESS && cl.captured && !cl.direct)
        st = fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "%s: %s is pageable memory, which the CPU copies "
                      "during the call: a stream capture cannot hold that; use pinned memory "
                      "(cudaHostAlloc / cudaHostRegister)", fn, what);
    if (st == FSD_SUCCESS && cl.captured && sum != NULL)
        st = fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "%s: a checksum is computed on the CPU during "
                      "the call: a stream capture cannot hold that", fn);
    if (st != FSD_SUCCESS) {
        fsd_context_leave(ctx, prev);
        return st;
    }
    FSD_RANGE_PUSH(pack ? FSD_NVTX_PACK : FSD_NVTX_UNPACK, l->total_bytes);
    e = join_after(&cl, stream);
    if (e == cudaSuccess) {
        if (cl.contig && cl.direct) /* one DMA, no staging */
            e = pack ? cudaMemcpyAsync(host, l->base, l->total_bytes, cudaMemcpyDeviceToHost, ctx->copy_stream)
                     : cudaMemcpyAsync(l->base, host, l->total_bytes, cudaMemcpyHostToDevice, ctx->copy_stream);
        else
            e = pack ? pack_chunks(&cl) : unpack_chunks(&cl);
    }
    if (e == cudaSuccess)
        e = join_back(&cl, stream);
    if (e == cudaSuccess && sum != NULL && cl.direct)
        e = sum_direct(&cl, pack);
    FSD_RANGE_POP();
    if (e != cudaSuccess) {
        st = fsd_cuda_failure(e, fn);
        if (!cl.captured) {
            cudaError_t e2 = cudaStreamSynchronize(ctx->pack_stream);
            fsd_cuda_forget(e2);
            e2 = cudaStreamSynchronize(ctx->copy_stream);
            fsd_cuda_forget(e2);
        }
    }
    fsd_context_leave(ctx, prev);
    return st;
}

fsd_status fsd_transfer_pack(fsd_context *ctx, const fsd_layout *l, void *host_dst, uint64_t *sum,
                             cudaStream_t stream)
{
    return transfer(ctx, l, host_dst, sum, stream, FSD_DIR_PACK);
}

fsd_status fsd_transfer_unpack(fsd_context *ctx, const fsd_layout *l, const void *host_src,
                               uint64_t *sum, cudaStream_t stream)
{
    return transfer(ctx, l, (char *)host_src, sum, stream, FSD_DIR_UNPACK);
}
