/*
 * fsdt_configs.h — the context configurations fsd_context_create must refuse (with
 * FSD_ERROR_INVALID_ARGUMENT, a message, a NULL context, before allocating anything), and some
 * it must accept, as one table for every runtime: test_context.c runs it on the real runtime
 * (with or without a GPU), tests/mock_cuda/test_config_mock.c on the stand-in runtime with one
 * GPU and with none, so that the rules are shown to be the same with and without a GPU.
 * fsdt_config_expected() is the rule written out independently of the library (the config
 * fuzzer, tests/fuzz/fuzz_config.c, uses it as its oracle).
 */
#ifndef FSDT_CONFIGS_H
#define FSDT_CONFIGS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "fastserde.h"

/* A context whose ring is three chunks of 4 KiB on 2 CPU threads: several chunks for most test
 * tensors, so that the ring's edges are crossed (the device: the default). */
static inline fsd_context_config fsdt_small_ring_config(void)
{
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.chunk_bytes = 4096;
    cfg.chunks = 3;
    cfg.cpu_threads = 2;
    return cfg;
}

/* The struct a caller compiled against the version-1 header passes (its fields, its size). */
typedef struct fsdt_config_v1 {
    size_t size;
    uint32_t magic;
    uint32_t version;
    int device;
    size_t chunk_bytes;
    int chunks;
    int cpu_threads;
    fsd_allocator allocator;
} fsdt_config_v1;
_Static_assert(sizeof(fsdt_config_v1) == offsetof(fsd_context_config, stream_priority),
               "version 2 appends to version 1");

static inline fsdt_config_v1 fsdt_config_v1_init(void)
{
    fsdt_config_v1 c = {sizeof(fsdt_config_v1), FSD_CONFIG_MAGIC, 1u, -1, 0, 0, 0, {NULL, NULL, NULL}};
    return c;
}

/* What fsd_context_create must return for `c`, from the header's rules, with `devices` GPUs
 * (a config that passes the rules makes a context: FSD_SUCCESS, or FSD_ERROR_OUT_OF_MEMORY
 * when the allocations fail, which this does not predict). */
static inline fsd_status fsdt_config_expected(const fsd_context_config *c, int devices)
{
    const size_t v1 = offsetof(fsd_context_config, stream_priority);
    if (c->magic != FSD_CONFIG_MAGIC ||
        !((c->version == 1 && c->size == v1) ||
          (c->version == FSD_CONFIG_VERSION && c->size == sizeof *c)))
        return FSD_ERROR_INVALID_ARGUMENT;
    if (c->chunk_bytes % 4096 != 0 || c->chunk_bytes > FSD_MAX_CHUNK_BYTES)
        return FSD_ERROR_INVALID_ARGUMENT;
    if (c->chunks != 0 && (c->chunks < 2 || c->chunks > FSD_MAX_CHUNKS))
        return FSD_ERROR_INVALID_ARGUMENT;
    unsigned __int128 ring = (unsigned __int128)(c->chunk_bytes ? c->chunk_bytes : FSD_DEFAULT_CHUNK_BYTES) *
                             (unsigned)(c->chunks ? c->chunks : FSD_DEFAULT_CHUNKS);
    if (ring > FSD_MAX_RING_BYTES)
        return FSD_ERROR_INVALID_ARGUMENT;
    if (c->cpu_threads < 0 || c->cpu_threads > FSD_MAX_CPU_THREADS)
        return FSD_ERROR_INVALID_ARGUMENT;
    if ((c->allocator.alloc == NULL) != (c->allocator.free == NULL))
        return FSD_ERROR_INVALID_ARGUMENT;
    if (c->device < -1)
        return FSD_ERROR_INVALID_ARGUMENT;
    if (devices > 0 && c->device >= devices)
        return FSD_ERROR_INVALID_ARGUMENT;
    return FSD_SUCCESS;
}

/* Sets the k-th refused configuration into *c (from FSD_CONTEXT_CONFIG_INIT) and returns what
 * it is; NULL past the last. `alloc_hook` / `free_hook` are valid hooks (only one is set). */
static inline const char *fsdt_bad_config(int k, fsd_context_config *c,
                                   void *(*alloc_hook)(void *, fsd_alloc_kind, size_t, int),
                                   void (*free_hook)(void *, fsd_alloc_kind, void *, int))
{
    const fsd_context_config init = FSD_CONTEXT_CONFIG_INIT;
    *c = init;
    switch (k) {
    case 0: c->size = sizeof *c - 1; return "size - 1";
    case 1: c->size = 0; return "size 0";
    case 2: c->size = sizeof *c + 8; return "size + 8";
    case 3: c->magic = 0; return "magic 0";
    case 4: c->magic = FSD_CONFIG_MAGIC + 1; return "magic + 1";
    case 5: c->version = 0; return "version 0";
    case 6: c->version = FSD_CONFIG_VERSION + 1; return "version + 1";
    case 7: c->version = 1; return "version 1 with the size of version 2";
    case 8: c->size = offsetof(fsd_context_config, stream_priority); return "the size of version 1 as version 2";
    case 9: c->chunk_bytes = 4097; return "chunk_bytes 4097";
    case 10: c->chunk_bytes = 100; return "chunk_bytes 100";
    case 11: c->chunk_bytes = 2048; return "chunk_bytes 2048";
    case 12: c->chunks = 1; return "chunks 1";
    case 13: c->chunks = FSD_MAX_CHUNKS + 1; return "chunks FSD_MAX_CHUNKS + 1";
    case 14: c->chunks = -1; return "chunks -1";
    case 15: c->cpu_threads = -1; return "cpu_threads -1";
    case 16: c->cpu_threads = FSD_MAX_CPU_THREADS + 1; return "cpu_threads FSD_MAX_CPU_THREADS + 1";
    case 17: c->cpu_threads = 20000; return "cpu_threads 20000";
    case 18: c->cpu_threads = INT_MAX; return "cpu_threads INT_MAX";
    case 19:
        c->chunk_bytes = ((size_t)1 << 62) + 4096; /* x 4 wraps size_t to a 16 KiB ring */
        c->chunks = 4;
        return "chunk_bytes 2^62 + 4096 x 4 chunks (wraps size_t)";
    case 20: c->chunk_bytes = SIZE_MAX - 4095; return "chunk_bytes SIZE_MAX - 4095";
    case 21: c->chunk_bytes = FSD_MAX_CHUNK_BYTES + 4096; return "chunk_bytes FSD_MAX_CHUNK_BYTES + 4096";
    case 22:
        c->chunk_bytes = FSD_MAX_CHUNK_BYTES;
        c->chunks = (int)(FSD_MAX_RING_BYTES / FSD_MAX_CHUNK_BYTES) + 1;
        return "chunk_bytes x chunks FSD_MAX_RING_BYTES + one chunk";
    case 23: c->allocator.alloc = alloc_hook; return "alloc hook only";
    case 24: c->allocator.free = free_hook; return "free hook only";
    case 25: c->device = -2; return "device -2";
    default: return NULL;
    }
}

#endif
