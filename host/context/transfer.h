/*
 * transfer.h — the staged round trip between a CUDA tensor and host memory, through a
 * context's ring of device and pinned chunks on its two streams (see fastserde.h,
 * fsd_pack_to_host / fsd_unpack_from_host, for the contract).
 *
 * Pack, chunk k of chunk_bytes packed bytes, slot s = k mod chunks:
 *   pack stream:  wait copy_ev[s] (the DMA that last read device chunk s); pack kernel for
 *                 the bytes of chunk k into device chunk s; record kernel_ev[s].
 *   copy stream:  wait kernel_ev[s]; D2H device chunk s -> pinned chunk s (or straight into
 *                 host_dst when it is pinned); record copy_ev[s].
 *   host:         before reusing pinned chunk s, wait copy_ev[s] and copy pinned chunk s
 *                 into host_dst on the CPU threads, while later chunks are in flight.
 * A contiguous tensor skips the kernel: the DMA reads the tensor itself. Unpack mirrors it.
 */
#ifndef FSD_TRANSFER_H
#define FSD_TRANSFER_H

#include "context.h"
#include "layout.h"

/* The layout is a validated CUDA tensor on ctx->device; the sizes have been checked. */
fsd_status fsd_transfer_pack(fsd_context *ctx, const fsd_layout *layout, void *host_dst,
                             cudaStream_t stream);
fsd_status fsd_transfer_unpack(fsd_context *ctx, const fsd_layout *layout, const void *host_src,
                               cudaStream_t stream);

#endif
