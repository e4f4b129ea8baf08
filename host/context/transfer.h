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
 * Frames (frame_write.c, frame_read.c) have the host copies hash the bytes on the way.
 */
#ifndef FSD_TRANSFER_H
#define FSD_TRANSFER_H

#include "context.h"
#include "layout.h"

/* A chunk's host copy is split over the context's threads from this many bytes per thread:
 * with the default 4 MiB chunks, up to 16 threads copy one chunk. The CPU path's threshold
 * (FSD_CPU_MIN_BYTES_PER_THREAD, 4 MiB) would leave a chunk to one thread, and one core's
 * memcpy (~10 GB/s) to a fifth of PCIe's 50 GB/s (the model: docs/architecture.md). Waking the
 * threads costs tens of microseconds; 256 KiB is 25 us of one core's copying. */
#define FSD_RING_MIN_BYTES_PER_THREAD ((uint64_t)256 << 10)

/*
 * The layout is a validated CUDA tensor (FSD_ERROR_NO_GPU for a context without a GPU,
 * FSD_ERROR_INVALID_ARGUMENT for a tensor on another device); the sizes have been checked.
 * sum: NULL, or where the frame checksum's S of the tensor's packed bytes goes (frame.h): the
 * host copies through the pinned chunks hash the bytes as they move them (one pass); a pinned
 * host buffer, which the DMAs reach directly, is hashed by the CPU, for a pack after the DMAs
 * (the call then blocks) and for an unpack while they run. Refused in a stream capture.
 */
fsd_status fsd_transfer_pack(fsd_context *ctx, const fsd_layout *layout, void *host_dst,
                             uint64_t *sum, cudaStream_t stream);
fsd_status fsd_transfer_unpack(fsd_context *ctx, const fsd_layout *layout, const void *host_src,
                               uint64_t *sum, cudaStream_t stream);

#endif
