/*
 * context.h — the fsd_context struct: what a context owns (see fastserde.h). Shared by the
 * modules that drive it: context.c (create/destroy), transfer.c (the staged round trip),
 * serde.c (to_bytes / from_bytes).
 */
#ifndef FSD_CONTEXT_H
#define FSD_CONTEXT_H

#include "alloc.h"
#include "fastserde.h"
#include "thread_pool.h"

struct fsd_context {
    fsd_alloc alloc;
    size_t chunk_bytes;
    int chunks;
    fsd_pool *pool;

    /* GPU staging; device < 0 for a host-only context (no GPU). */
    int device;
    int sm_count;
    int stream_priority;                      /* of both streams (the config's)             */
    cudaStream_t pack_stream;                 /* pack / unpack kernels          */
    cudaStream_t copy_stream;                 /* D2H / H2D copies               */
    /* Events, all made with cudaEventBlockingSync (a host that waits sleeps, it does not spin
     * a core) and cudaEventDisableTiming. A call waits only on events it recorded itself, and
     * on the previous call's pack_done / copy_done when that call was not captured in a graph
     * (an event last recorded in a capture cannot be waited on outside it). */
    cudaEvent_t start;                        /* recorded on the caller's stream              */
    cudaEvent_t pack_done, copy_done;         /* end of a call on each stream                 */
    int pack_done_live, copy_done_live;       /* last recorded outside a capture: the next
                                               * call waits on it                             */
    cudaEvent_t kernel_ev[FSD_MAX_CHUNKS];    /* this call's last kernel on device chunk i    */
    cudaEvent_t copy_ev[FSD_MAX_CHUNKS];      /* this call's last DMA on device chunk i       */
    cudaEvent_t host_ev[FSD_MAX_CHUNKS];      /* the last DMA on pinned chunk i (never in a
                                               * capture: pageable round trips are refused
                                               * there); the host waits on it before reusing
                                               * pinned chunk i                               */
    char *pinned;                             /* chunks * chunk_bytes                         */
    fsd_alloc_how pinned_how;                 /* hooks, cudaHostAlloc, or on the GPU's node   */
    int numa_node;                            /* of the pinned chunks, -1: not placed         */
    char *device_chunks;                      /* chunks * chunk_bytes                         */
    cudaMemPool_t mem_pool;                   /* fsd_from_bytes' tensors (NULL: hooks, or no
                                               * pools on the device: cudaMalloc)             */
};

/* Makes ctx->device current, saving the caller's device in *prev. */
fsd_status fsd_context_enter(const fsd_context *ctx, int *prev);
/* Restores the caller's device saved by fsd_context_enter. */
void fsd_context_leave(const fsd_context *ctx, int prev);

/* fsd_from_bytes (serde.c) with, when sum is not NULL, the frame checksum's S of the bytes
 * (frame.h) computed by the copy that carries them (fsd_frame_read_new). */
fsd_status fsd_from_bytes_sum(fsd_context *ctx, const void *bytes, size_t size, DLDataType dtype,
                              DLDevice device, DLManagedTensor **out, uint64_t *sum);

#endif
