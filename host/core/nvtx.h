/*
 * nvtx.h — NVTX ranges in the "fastserde" domain, with byte counts as payloads, for Nsight
 * Systems. Compiled out when FSD_NVTX is not defined (CMake option FSD_NVTX=OFF).
 *
 *   FSD_RANGE_PUSH(FSD_NVTX_PACK, bytes); ... FSD_RANGE_POP();
 */
#ifndef FSD_NVTX_H
#define FSD_NVTX_H

#include <stdint.h>

#include <cuda_runtime_api.h>

typedef enum fsd_nvtx_name {
    FSD_NVTX_PACK = 0,       /* fsd_pack / fsd_pack_to_host            */
    FSD_NVTX_UNPACK,         /* fsd_unpack / fsd_unpack_from_host      */
    FSD_NVTX_CHUNK_KERNEL,   /* enqueue one chunk's pack/unpack kernel */
    FSD_NVTX_CHUNK_D2H,      /* enqueue one chunk's D2H copy           */
    FSD_NVTX_CHUNK_H2D,      /* enqueue one chunk's H2D copy           */
    FSD_NVTX_CHUNK_HOST,     /* one chunk's host copy (pinned <-> user) */
    FSD_NVTX_CHUNK_WAIT,     /* waiting for a chunk's DMA              */
    FSD_NVTX_GATHER,         /* fsd_gather                             */
    FSD_NVTX_SCATTER,        /* fsd_scatter                            */
    FSD_NVTX_FRAME_HASH,     /* a pass that reads bytes only to hash them */
    FSD_NVTX_NAME_COUNT
} fsd_nvtx_name;

#if defined(FSD_NVTX)
void fsd_nvtx_push(fsd_nvtx_name name, uint64_t bytes);
void fsd_nvtx_pop(void);
void fsd_nvtx_name_stream(cudaStream_t stream, const char *name);
#define FSD_RANGE_PUSH(name, bytes) fsd_nvtx_push((name), (bytes))
#define FSD_RANGE_POP() fsd_nvtx_pop()
#define FSD_NAME_STREAM(stream, name) fsd_nvtx_name_stream((stream), (name))
#else
#define FSD_RANGE_PUSH(name, bytes) ((void)(name), (void)(bytes))
#define FSD_RANGE_POP() ((void)0)
#define FSD_NAME_STREAM(stream, name) ((void)(stream), (void)(name))
#endif

#endif
