/*
 * fastserde.h — turn strided tensors into contiguous bytes and back.
 *
 * Introduction
 * ------------
 * fastserde packs any strided tensor, described by a DLPack `DLTensor`, into contiguous bytes in
 * row-major order of its logical shape (byte-identical to PyTorch's
 * `t.contiguous().view(torch.uint8)`), and unpacks such bytes into any non-overlapping strided
 * tensor. Host tensors (`kDLCPU`, `kDLCUDAHost`) are copied by the CPU; CUDA tensors (`kDLCUDA`,
 * `kDLCUDAManaged`) by CUDA kernels enqueued on the caller's stream.
 *
 * Conventions that hold for every function below:
 *  1. Every function that can fail returns an `fsd_status`; `FSD_SUCCESS` is 0. The calling
 *     thread's detailed message for the last call is read with `fsd_last_error()`.
 *  2. Tensors are borrowed (`const DLTensor *`): fastserde never frees or keeps them.
 *  3. `DLTensor.strides` are in elements and may be NULL (compact row-major), negative, or zero.
 *     `byte_offset` is honoured; `data` need not be aligned. The strides of size-1 dimensions
 *     are ignored. The element size is `dtype.bits / 8 * dtype.lanes` bytes; any `dtype.code`
 *     is accepted, `bits` must be a positive multiple of 8 and `lanes` at least 1.
 *  4. A `cudaStream_t` is always the last argument, passed by value; NULL is the legacy default
 *     stream. It is ignored for host tensors. For CUDA tensors the work is enqueued on it and
 *     the call returns without waiting. The current CUDA device is saved and restored.
 *  4a. CUDA graphs: a call "may be captured" when, made on a stream that is being captured
 *     (cudaStreamBeginCapture, any cudaStreamCaptureMode), it enqueues its work into the
 *     capture without synchronising, allocating or waiting on work outside the capture, and
 *     each launch of the graph made from it does the call's work again (on the memory named
 *     in the call: refill it between launches). These may: fsd_pack and fsd_unpack of CUDA
 *     tensors, fsd_pack_to_host / fsd_unpack_from_host of CUDA tensors with a pinned host
 *     buffer, and fsd_gather / fsd_scatter of CUDA caches on the kernel engine (which reads
 *     the slots and layer_ptrs on the GPU at each launch). The round trip through pageable
 *     host memory cannot be (the CPU copies it during the call), nor can the copy engines of
 *     fsd_gather / fsd_scatter (the host reads the slots during the call, and
 *     cudaMemcpyBatchAsync has no graph node): on a capturing stream these return
 *     FSD_ERROR_INVALID_ARGUMENT, capture nothing, and leave the capture usable.
 *     fsd_to_bytes, fsd_from_bytes, context creation and destruction and a deleter of
 *     fsd_from_bytes synchronise or allocate: never call them on a capturing stream, and not
 *     while the calling thread captures in global or thread-local mode (CUDA fails such calls
 *     and invalidates the capture). When a call
 *     fails inside a capture it synchronises nothing; either it captured nothing, or the
 *     capture is left unjoined, so that cudaStreamEndCapture fails instead of making a graph
 *     of part of a call.
 *  5. On any error found by checking the arguments (every status but FSD_ERROR_CUDA and
 *     FSD_ERROR_OUT_OF_MEMORY from the GPU), nothing is written to any output buffer or
 *     tensor. When a CUDA call fails partway through a round trip, part of the output may have
 *     been written, but nothing the call enqueued still runs when it returns.
 *  6. Thread safety: the functions without a context (fsd_packed_size, fsd_pack, fsd_unpack,
 *     fsd_status_string, fsd_last_error, fsd_version, fsd_bytes_free) keep no shared state
 *     and may be called from any number of threads at once, provided that no two calls write
 *     the same memory (the current CUDA device they save and restore is per thread). A context
 *     is used by one thread at a time; each context function states its rule.
 *  7. fastserde never prints.
 *  8. Errors belong to their call. The CUDA runtime keeps one "last error" per host thread
 *     (cudaGetLastError). fastserde tells its own failures from the return values of its own
 *     runtime calls (kernels are launched with cudaLaunchKernel), never from that slot: an
 *     error your code left there is never reported as fastserde's, and is still there after a
 *     call that succeeds. When a runtime call of fastserde fails, fastserde reports it in its
 *     status and message and clears the last error that call set (only that one), so that
 *     your cudaGetLastError does not take it for yours. (A failing runtime call replaces the
 *     thread's last error: an error of yours pending before a call of fastserde that fails is
 *     gone, as with any CUDA call that fails.)
 */
#ifndef FASTSERDE_H
#define FASTSERDE_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h> /* cudaStream_t */
#include <dlpack/dlpack.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define FSD_API
#else
#define FSD_API __attribute__((visibility("default")))
#endif

#define FSD_VERSION_MAJOR 0
#define FSD_VERSION_MINOR 1
#define FSD_VERSION_PATCH 0
/* One number: major * 10000 + minor * 100 + patch. */
#define FSD_VERSION_NUMBER \
    (FSD_VERSION_MAJOR * 10000 + FSD_VERSION_MINOR * 100 + FSD_VERSION_PATCH)

/*
 * Status codes. The values are pinned: they never change between versions, so that callers
 * through ctypes or other FFIs may hard-code them. New codes get new numbers.
 */
typedef enum fsd_status {
    FSD_SUCCESS = 0,
    FSD_ERROR_INVALID_ARGUMENT = 1, /* NULL pointer, ndim < 0, negative dim, lanes 0, ...   */
    FSD_ERROR_UNSUPPORTED = 2,      /* device type or dtype fastserde does not handle        */
    FSD_ERROR_SIZE_MISMATCH = 3,    /* buffer too small (pack) or not the packed size (unpack) */
    FSD_ERROR_OVERFLOW = 4,         /* sizes or byte offsets do not fit in 63 bits / address  */
    FSD_ERROR_ALIASING = 5,         /* unpack destination whose elements may overlap          */
    FSD_ERROR_NO_GPU = 6,           /* a CUDA tensor, but no usable GPU or driver             */
    FSD_ERROR_CUDA = 7,             /* a CUDA runtime call or kernel launch failed            */
    FSD_ERROR_OUT_OF_MEMORY = 8,    /* an allocation failed                                   */
    FSD_ERROR_INTERNAL = 9,         /* a bug in fastserde: please report it                   */
    FSD_ERROR_CORRUPT = 10          /* a frame that fails its checks: a header that does not
                                     * parse, offsets that do not cover the data exactly, a
                                     * checksum that does not match (fsd_frame_*)              */
} fsd_status;

/*
 * fsd_version: the library's version as FSD_VERSION_NUMBER of the build (major * 10000 +
 * minor * 100 + patch). Compare with FSD_VERSION_NUMBER to detect a header/library mismatch.
 */
FSD_API unsigned fsd_version(void);

/*
 * fsd_status_string: a static, human-readable name for `s` ("FSD_ERROR_ALIASING: ...").
 * Never NULL; unknown values give a string saying so. Thread-safe.
 */
FSD_API const char *fsd_status_string(fsd_status s);

/*
 * fsd_last_error: copies the calling thread's detailed message of its last fastserde call into
 * `buf` (at most `len` bytes, always NUL-terminated when len > 0) and returns the message's
 * full length without the NUL, like snprintf: a return >= len means it was cut. The message
 * is empty after a call that succeeded. `buf` may be NULL when `len` is 0 (to query the
 * length). Each thread has its own message: thread-safe.
 */
FSD_API size_t fsd_last_error(char *buf, size_t len);

/*
 * fsd_packed_size: the number of bytes `t` packs into: the product of its shape times the
 * element size (0 for a tensor with a zero-size dimension; one element for 0-d).
 *
 * @param t       the tensor; only ndim, shape and dtype are read (and device, which must be
 *                one of the four supported types).
 * @param nbytes  out: the packed size.
 * @return FSD_SUCCESS;
 *         FSD_ERROR_INVALID_ARGUMENT  t or nbytes NULL, ndim < 0, shape NULL with ndim > 0, a
 *                                     negative dimension, dtype.bits 0 or dtype.lanes 0;
 *         FSD_ERROR_UNSUPPORTED       bits not a multiple of 8, or another device type;
 *         FSD_ERROR_OVERFLOW          the size does not fit in 2^63 - 1 bytes.
 */
FSD_API fsd_status fsd_packed_size(const DLTensor *t, size_t *nbytes);

/*
 * fsd_pack: writes the elements of `src` into `dst` as contiguous row-major bytes, exactly
 * fsd_packed_size(src) bytes; bytes of `dst` past that are not touched.
 *
 * @param src       the strided tensor to read. Zero strides (broadcasts) and negative strides
 *                  are fine. `data` may be NULL when the tensor has no elements.
 * @param dst       the packed bytes. For a host `src`: host memory (not checked). For a CUDA
 *                  `src`: memory the GPU of `src` can write: its device memory, managed
 *                  memory, or pinned host memory (cudaHostAlloc / cudaHostRegister); pageable
 *                  memory only where that GPU reports cudaDevAttrPageableMemoryAccess. This is
 *                  checked before anything is enqueued, from the kinds of the first and the
 *                  last byte (two cudaPointerGetAttributes lookups, nothing cached). May be
 *                  NULL when the packed size is 0. Must not overlap `src`.
 * @param dst_size  the size of `dst` in bytes; at least the packed size.
 * @param stream    CUDA tensors: the stream the kernel is enqueued on (the copy is complete
 *                  when the stream reaches it). Host tensors: ignored, the copy is done on
 *                  return.
 * @return FSD_SUCCESS; the codes of fsd_packed_size, and
 *         FSD_ERROR_INVALID_ARGUMENT  data or dst NULL while there are bytes to copy; for a
 *                                     CUDA src, a dst the GPU cannot write (pageable, memory
 *                                     of another GPU, a range not of one kind);
 *         FSD_ERROR_SIZE_MISMATCH     dst_size smaller than the packed size;
 *         FSD_ERROR_OVERFLOW          a byte offset of an element does not fit in the address
 *                                     space;
 *         FSD_ERROR_NO_GPU            a CUDA tensor without a usable GPU;
 *         FSD_ERROR_CUDA              a CUDA call failed (the message names it).
 */
FSD_API fsd_status fsd_pack(const DLTensor *src, void *dst, size_t dst_size, cudaStream_t stream);

/*
 * fsd_unpack: the inverse of fsd_pack: reads fsd_packed_size(dst) bytes from `src` and writes
 * them into the elements of `dst`. Exactly the bytes of the view's elements are written, no
 * other byte of the underlying storage.
 *
 * @param src       the packed bytes (same memory rules and check as fsd_pack's dst). Must
 *                  not overlap the elements of `dst`.
 * @param src_size  must equal the packed size of `dst`.
 * @param dst       the strided tensor to write. Its elements must not alias: a zero stride on
 *                  a dimension longer than 1, or strides that do not nest (sorted by |stride|,
 *                  each must exceed the span of the smaller ones) are rejected.
 * @param stream    as for fsd_pack.
 * @return FSD_SUCCESS; the codes of fsd_pack, with FSD_ERROR_SIZE_MISMATCH when src_size is
 *         not the packed size, and FSD_ERROR_ALIASING for a destination that may alias (checked
 *         before anything is written).
 */
FSD_API fsd_status fsd_unpack(const void *src, size_t src_size, const DLTensor *dst,
                              cudaStream_t stream);


/* ------------------------------------------------------------------------------------------
 * Contexts and the round trip: CUDA tensor <-> bytes in host memory.
 *
 * A context owns what moving bytes between the GPU and host memory needs, allocated once at
 * creation and never per call: non-blocking streams, events, a ring of pinned host chunks and
 * device chunks (bounded by the configuration, whatever the tensor size), and CPU worker
 * threads. Use one context from one thread at a time; separate contexts are independent and
 * may be used from different threads at once. Without a GPU a context still serves host
 * tensors; GPU operations then return FSD_ERROR_NO_GPU.
 * ------------------------------------------------------------------------------------------ */

/* Opaque context. */
typedef struct fsd_context fsd_context;

/* What an allocation hook is asked for. */
typedef enum fsd_alloc_kind {
    FSD_ALLOC_HOST = 0,   /* pageable host memory (like malloc)                   */
    FSD_ALLOC_PINNED = 1, /* page-locked host memory (like cudaHostAlloc)         */
    FSD_ALLOC_DEVICE = 2  /* memory on CUDA device `device` (like cudaMalloc)     */
} fsd_alloc_kind;

/*
 * Allocation hooks. Leave both NULL for the defaults: malloc; pinned chunks with
 * cudaHostAlloc(cudaHostAllocPortable), or, on a machine with several NUMA nodes where sysfs
 * names the GPU's, mmap'd with that node preferred and cudaHostRegister'ed (portable); device
 * chunks with cudaMalloc; fsd_from_bytes' CUDA tensors stream-ordered from a pool of the
 * context (cudaMallocFromPoolAsync, freed with cudaFreeAsync; cudaMalloc where the device has
 * no memory pools). With hooks, every one of these goes through them (synchronously).
 * `alloc` returns NULL on failure; `free` is never called with NULL. The hooks (and `user`)
 * must stay valid until the context is destroyed and every tensor fsd_from_bytes made with
 * it has been deleted. For FSD_ALLOC_DEVICE the current device is `device` during the call.
 */
typedef struct fsd_allocator {
    void *(*alloc)(void *user, fsd_alloc_kind kind, size_t size, int device);
    void (*free)(void *user, fsd_alloc_kind kind, void *ptr, int device);
    void *user;
} fsd_allocator;

#define FSD_CONFIG_MAGIC 0x46534443u /* "FSDC" */
#define FSD_CONFIG_VERSION 2u
/* Derived from a model of the three-stage pipeline for 1-256 MiB tensors: docs/architecture.md,
 * "Chunk size and ring depth". */
#define FSD_DEFAULT_CHUNK_BYTES ((size_t)4 << 20)
#define FSD_DEFAULT_CHUNKS 3
/* Limits of a configuration, the same with or without a GPU (fsd_context_create refuses what
 * exceeds them with FSD_ERROR_INVALID_ARGUMENT, before allocating anything). */
#define FSD_MAX_CHUNKS 64
#define FSD_MAX_CHUNK_BYTES ((size_t)1 << 30)    /* 1 GiB per chunk                        */
#define FSD_MAX_RING_BYTES ((uint64_t)4 << 30)   /* chunk_bytes * chunks: 4 GiB of pinned
                                                  * memory (and as much on the device)     */
#define FSD_MAX_CPU_THREADS 256

/*
 * Context configuration. Start from FSD_CONTEXT_CONFIG_INIT and set what you need, so that
 * fields added in later versions get their defaults:
 *     fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
 *     cfg.chunk_bytes = 4 << 20;
 * A struct from an older header is accepted as it was (version 1: `size` up to and including
 * `allocator`); the fields it lacks get their defaults.
 */
typedef struct fsd_context_config {
    size_t size;          /* sizeof(fsd_context_config), set by the initializer              */
    uint32_t magic;       /* FSD_CONFIG_MAGIC                                                 */
    uint32_t version;     /* FSD_CONFIG_VERSION                                               */
    int device;           /* CUDA device of the staging buffers; -1: the current device      */
    size_t chunk_bytes;   /* bytes per pinned / device chunk: 0 = FSD_DEFAULT_CHUNK_BYTES;
                           * else a multiple of 4096, at most FSD_MAX_CHUNK_BYTES, and
                           * chunk_bytes * chunks at most FSD_MAX_RING_BYTES                  */
    int chunks;           /* chunks in the ring, 2..FSD_MAX_CHUNKS; 0 = FSD_DEFAULT_CHUNKS    */
    int cpu_threads;      /* threads for host copies, the caller's included, at most
                           * FSD_MAX_CPU_THREADS: 0 = one per core (at most 64), 1 = the
                           * calling thread only                                              */
    fsd_allocator allocator;
    /* version 2 */
    int stream_priority;  /* priority of the context's two streams (cudaStreamCreateWith-
                           * Priority): 0 = the default; lower numbers are higher priorities;
                           * CUDA clamps a value outside the device's range (see
                           * cudaDeviceGetStreamPriorityRange, e.g. -5..0)                    */
} fsd_context_config;

#define FSD_CONTEXT_CONFIG_INIT \
    { sizeof(fsd_context_config), FSD_CONFIG_MAGIC, FSD_CONFIG_VERSION, -1, 0, 0, 0, { NULL, NULL, NULL }, 0 }

/* What a context holds (fsd_context_memory). */
typedef struct fsd_context_usage {
    size_t pinned_bytes;  /* pinned host chunks                           */
    size_t device_bytes;  /* device chunks                                */
    size_t chunk_bytes;   /* bytes per chunk                              */
    int chunks;           /* chunks in the ring (0 without a GPU)         */
    int cpu_threads;      /* threads for host copies, the caller included */
    int device;           /* CUDA device, or -1 without a GPU             */
} fsd_context_usage;

/*
 * fsd_context_create: makes a context. With a usable GPU it allocates the pinned and device
 * chunks, two streams (of config->stream_priority), events (cudaEventBlockingSync: a thread
 * waiting for the GPU sleeps rather than spin a core) and, without hooks, a memory pool, on
 * config->device; without one it makes a host-only context. Not capturable (4a).
 * @param ctx     out: the new context (NULL on failure).
 * @param config  NULL for the defaults, else a struct from FSD_CONTEXT_CONFIG_INIT.
 * @return FSD_SUCCESS;
 *         FSD_ERROR_INVALID_ARGUMENT  ctx NULL; config with a wrong size, magic or version, a
 *                                     chunk size that is not a multiple of 4096 or above
 *                                     FSD_MAX_CHUNK_BYTES, chunks out of 2..FSD_MAX_CHUNKS,
 *                                     chunk_bytes * chunks above FSD_MAX_RING_BYTES (however
 *                                     large the product: no wrap-around), cpu_threads
 *                                     negative or above FSD_MAX_CPU_THREADS, only one of the
 *                                     hooks set, or (when there is a GPU) a device that does
 *                                     not exist; all checked before anything is allocated,
 *                                     all but the last the same way with or without a GPU;
 *         FSD_ERROR_OUT_OF_MEMORY     an allocation failed (everything made so far is freed);
 *         FSD_ERROR_CUDA              a stream or event could not be made.
 * Thread-safe.
 */
FSD_API fsd_status fsd_context_create(fsd_context **ctx, const fsd_context_config *config);

/* fsd_context_destroy: waits for the context's GPU work, then frees everything. NULL is fine.
 * Not while another thread uses the context. Destroying a context twice (or using it after)
 * is undefined behaviour, as for free(): fastserde cannot tell a destroyed context from
 * memory reused for something else. */
FSD_API void fsd_context_destroy(fsd_context *ctx);

/* fsd_context_memory: what `ctx` holds; it does not grow after creation (the pool that
 * fsd_from_bytes' CUDA tensors come from is not counted: it holds what they use, and keeps up
 * to 256 MiB of what they freed for the next ones).
 * @return FSD_SUCCESS; FSD_ERROR_INVALID_ARGUMENT when ctx or usage is NULL.
 * Reads only what creation wrote: may be called from any thread. */
FSD_API fsd_status fsd_context_memory(const fsd_context *ctx, fsd_context_usage *usage);

/*
 * fsd_pack_to_host: packs `src` into host memory `host_dst` (fsd_pack's bytes).
 *  - Host tensor: fsd_pack with the context's CPU threads; `stream` is ignored; the bytes are
 *    ready on return. A host_dst in device memory is refused (checked on a context with a
 *    GPU: two cudaPointerGetAttributes lookups).
 *  - CUDA tensor (on the context's device), `host_dst` pageable (or managed, or pinned at one
 *    end only): chunk by chunk, the pack
 *    kernel fills a device chunk, a D2H copy moves it into a pinned chunk, and the CPU threads
 *    copy it into host_dst, the three stages of consecutive chunks overlapping. The work starts
 *    after everything already enqueued on `stream`, and the bytes are ready on return.
 *  - CUDA tensor, `host_dst` pinned (cudaHostAlloc'd or cudaHostRegister'ed): the chunks are
 *    copied straight into host_dst; the call returns once everything is enqueued, without
 *    waiting: the bytes are ready when `stream` reaches the point of the call.
 *  In both CUDA cases `stream` waits (through an event) for the context's work, so work
 *  enqueued on it afterwards sees the result. Calls of one context on different streams are
 *  ordered by the context itself where they share its chunks.
 *  - Captured in a graph (pinned host_dst only, see 4a): the graph uses the context's chunks
 *    each time it runs, so it must not run at the same time as another call of the same
 *    context or another launch of such a graph: launch it on the stream of the context's other
 *    calls, or order it with events (the context cannot order work it does not see). Until
 *    the capture ends, use the context only in that capture.
 * `stream` must belong to the context's device (or be NULL).
 * @return FSD_SUCCESS; the codes of fsd_pack; FSD_ERROR_INVALID_ARGUMENT for a NULL ctx, a
 *         CUDA tensor on another device than the context's, a host_dst in device memory, or
 *         a pageable host_dst on a capturing stream; FSD_ERROR_NO_GPU for a CUDA tensor with a
 *         host-only context; FSD_ERROR_CUDA (also for a stream whose capture was invalidated).
 * Not thread-safe on one context (one thread at a time); different contexts are independent.
 */
FSD_API fsd_status fsd_pack_to_host(fsd_context *ctx, const DLTensor *src, void *host_dst,
                                    size_t host_dst_size, cudaStream_t stream);

/*
 * fsd_unpack_from_host: the reverse: writes the packed bytes `host_src` into `dst`.
 *  - Host tensor: fsd_unpack with the context's CPU threads; done on return. A host_src in
 *    device memory is refused, as for fsd_pack_to_host.
 *  - CUDA tensor: chunk by chunk, the CPU copies host_src into a pinned chunk, a H2D copy
 *    fills a device chunk, the unpack kernel scatters it into dst (a contiguous dst skips the
 *    kernel), the stages of consecutive chunks overlapping. The work starts after everything
 *    already enqueued on `stream`; dst is written when `stream` reaches the point of the call.
 *    A pageable host_src has been read when the call returns (it may be reused at once); a
 *    pinned host_src is read by DMA directly and must stay unchanged until `stream` reaches
 *    the point of the call. Capture in a graph: as fsd_pack_to_host (pinned host_src only).
 * @return as fsd_pack_to_host, with fsd_unpack's size and aliasing checks.
 * Not thread-safe on one context (one thread at a time); different contexts are independent.
 */
FSD_API fsd_status fsd_unpack_from_host(fsd_context *ctx, const void *host_src,
                                        size_t host_src_size, const DLTensor *dst,
                                        cudaStream_t stream);

/*
 * fsd_to_bytes: the seed's FastSerializer.to_bytes: a new host buffer holding exactly the
 * bytes of `t.contiguous().view(uint8)`. Blocking: for a CUDA tensor, it waits for the
 * legacy default stream's earlier work and returns with the bytes in place. Not capturable
 * (4a).
 * @param bytes  out: the buffer (free it with fsd_bytes_free); NULL for an empty tensor.
 * @param size   out: its size in bytes.
 * @return FSD_SUCCESS; the codes of fsd_pack_to_host; FSD_ERROR_OUT_OF_MEMORY. On error
 *         *bytes is NULL and *size 0.
 * Not thread-safe on one context (one thread at a time); different contexts are independent.
 */
FSD_API fsd_status fsd_to_bytes(fsd_context *ctx, const DLTensor *src, void **bytes, size_t *size);

/* fsd_bytes_free: frees a buffer from fsd_to_bytes; NULL is fine. Thread-safe (no context). */
FSD_API void fsd_bytes_free(void *bytes);

/*
 * fsd_from_bytes: the seed's FastDeserializer(dtype).from_bytes: a new 1-D tensor of
 * size / element-size elements of `dtype` with compact strides, on `device` (kDLCPU, or
 * kDLCUDA with the context's device id), holding a copy of `bytes`. Blocking; not
 * capturable (4a). The tensor owns its memory: call (*out)->deleter(*out) when done (a DLPack
 * consumer such as torch.utils.dlpack.from_dlpack does so itself). A CUDA tensor's memory
 * comes from the context's pool in stream order (see fsd_allocator), and its deleter frees it
 * in stream order on the legacy default stream of its device: the memory is reused only after
 * the work enqueued before the deleter on that stream or on any blocking stream of the
 * device; work on a non-blocking stream (cudaStreamNonBlocking) that still reads the tensor
 * must be complete, or ordered before the legacy stream, when the deleter runs.
 * @return FSD_SUCCESS;
 *         FSD_ERROR_INVALID_ARGUMENT  ctx, out NULL, bytes NULL with size > 0, a bad dtype;
 *         FSD_ERROR_SIZE_MISMATCH     size not a multiple of the element size;
 *         FSD_ERROR_UNSUPPORTED       another device type, or a sub-byte dtype;
 *         FSD_ERROR_NO_GPU, FSD_ERROR_CUDA, FSD_ERROR_OUT_OF_MEMORY.
 *         On error *out is NULL.
 * Not thread-safe on one context (one thread at a time); different contexts are independent.
 * The returned tensor's deleter may run on any thread, after the context is destroyed too.
 */
FSD_API fsd_status fsd_from_bytes(fsd_context *ctx, const void *bytes, size_t size,
                                  DLDataType dtype, DLDevice device, DLManagedTensor **out);


/* ------------------------------------------------------------------------------------------
 * Paged KV caches: one chunk of tokens gathered from every layer of a paged cache into packed
 * bytes, and scattered back, in one call.
 *
 * A paged cache is one tensor per layer, all of one layout. A slot names one cache entry: slot
 * s is block s / B on `block_dim` and position s % B on `offset_dim` (B = the layer's extent
 * on offset_dim), or entry s on `block_dim` when offset_dim is -1 (token-level pools). For T
 * slots and L layers, the virtual tensor V has the dimensions [L, d...]: the layers, then the
 * layer's own dimensions in order with block_dim replaced by the T slots and offset_dim
 * removed. The packed bytes are V permuted by `order`, row-major. As torch (the tests' oracle),
 * with b the position of block_dim once offset_dim is removed:
 *     rows = lambda x: x.movedim((block_dim, offset_dim), (0, 1)).flatten(0, 1)  # [blocks*B, ...]
 *     V = torch.stack([rows(x).index_select(0, slots).movedim(0, b) for x in layers])
 *     packed = V.permute(order).contiguous().view(torch.uint8)
 * (with offset_dim -1, rows(x) is x.movedim(block_dim, 0)).
 * Examples: vLLM's flash-attention layer [2, blocks, block_size, heads, head_dim] with
 * block_dim 1, offset_dim 2 gives V = [L, 2, T, heads, head_dim]; order {1, 0, 2, 3, 4} packs
 * LMCache's KV_2LTD [2, L, T, heads * head_dim]. An SGLang token pool [size, heads, head_dim]
 * with offset_dim -1 and its K and V buffers as 2L entries of layer_ptrs gives [2L, T, ...]
 * (layer-first), or [T, 2L, ...] with order {1, 0, 2, 3} (page-first).
 *
 * A negative slot is skipped: gather leaves its packed bytes untouched, scatter its cache
 * entries. Slots past the cache (>= blocks * B, or >= blocks when offset_dim is -1) are errors
 * where the host reads the slots (host caches, the copy engines): FSD_ERROR_INVALID_ARGUMENT
 * before anything is written. The kernel reads them on the GPU, where no error can be returned:
 * it skips such a slot (no byte outside a layer is read or written) and, when
 * fsd_gather_options.invalid_slots is set, adds the number of such slots to that counter.
 * ------------------------------------------------------------------------------------------ */

typedef struct fsd_kv_layout {
    DLTensor layer;             /* one layer: shape, strides, dtype, device. layer.data is the
                                 * base of layer 0, used when layer_ptrs is NULL. byte_offset
                                 * applies to every layer's base.                            */
    int block_dim;              /* the dimension a slot's block number indexes               */
    int offset_dim;             /* the dimension of the position inside a block, or -1 when a
                                 * slot indexes block_dim directly (token-level pools)       */
    const DLTensor *layer_ptrs; /* 1-D uint64 (kDLUInt, 64 bits, 1 lane), stride 1: the base
                                 * address of each layer, in memory the copying side reads
                                 * (below); NULL: one layer at layer.data                    */
} fsd_kv_layout;

/* Who copies a CUDA cache. */
typedef enum fsd_engine {
    FSD_ENGINE_AUTO = 0,   /* the kernel when the slots are in memory the GPU reads (kDLCUDA,
                            * kDLCUDAManaged, kDLCUDAHost); the copy engines for kDLCPU slots */
    FSD_ENGINE_KERNEL = 1, /* one kernel launch on the SMs                                     */
    FSD_ENGINE_COPY = 2    /* the copy engines: no SM. The host reads slots and layer_ptrs
                            * (kDLCPU or kDLCUDAHost) at the call, merges them into the fewest
                            * contiguous copies and submits those with cudaMemcpyBatchAsync
                            * (a loop of cudaMemcpyAsync on the legacy default stream, or where
                            * the driver lacks it)                                             */
} fsd_engine;

/* Which way bytes move (fsd_gather_runs). */
typedef enum fsd_kv_direction {
    FSD_KV_GATHER = 0,  /* cache -> packed */
    FSD_KV_SCATTER = 1  /* packed -> cache */
} fsd_kv_direction;

#define FSD_GATHER_OPTIONS_MAGIC 0x46534447u /* "FSDG" */
#define FSD_GATHER_OPTIONS_VERSION 1u

/*
 * Options of fsd_gather / fsd_scatter. Start from FSD_GATHER_OPTIONS_INIT; NULL options are the
 * defaults.
 */
typedef struct fsd_gather_options {
    size_t size;          /* sizeof(fsd_gather_options), set by the initializer                 */
    uint32_t magic;       /* FSD_GATHER_OPTIONS_MAGIC                                            */
    uint32_t version;     /* FSD_GATHER_OPTIONS_VERSION                                          */
    fsd_engine engine;    /* CUDA caches: who copies (FSD_ENGINE_AUTO)                          */
    int max_blocks;       /* kernel: at most this many thread blocks of 256 threads, so that a
                           * copy beside the model's kernels takes a bounded share of the SMs;
                           * 0: as many as fill the GPU once                                     */
    fsd_context *context; /* host caches: copy on this context's CPU threads (then the context's
                           * one-thread-at-a-time rule applies); NULL: the calling thread     */
    unsigned long long *invalid_slots; /* kernel: a counter in memory the GPU writes, to which
                           * the kernel adds the number of slots past the cache (each counted
                           * once per call); the caller zeroes and reads it in stream order.
                           * NULL: not counted. Unused by the other engines, which refuse such
                           * slots.                                                             */
} fsd_gather_options;

#define FSD_GATHER_OPTIONS_INIT \
    { sizeof(fsd_gather_options), FSD_GATHER_OPTIONS_MAGIC, FSD_GATHER_OPTIONS_VERSION, \
      FSD_ENGINE_AUTO, 0, NULL, NULL }

/*
 * fsd_gather_size: the packed size of a gather of `slots` from `kv`: L * T * the product of the
 * layer's dimensions other than block_dim and offset_dim * the element size.
 * @return FSD_SUCCESS; FSD_ERROR_INVALID_ARGUMENT for a NULL argument or any layout error listed
 *         under fsd_gather; FSD_ERROR_OVERFLOW when the size exceeds 2^63 - 1. Thread-safe.
 */
FSD_API fsd_status fsd_gather_size(const fsd_kv_layout *kv, const DLTensor *slots, size_t *nbytes);

/*
 * fsd_gather: packs the cache entries of `slots` over every layer of `kv` into `dst` (see the
 * section's introduction for the layout). Exactly fsd_gather_size bytes of dst are written,
 * less those of negative slots.
 *
 * @param kv        the cache. Host caches (kDLCPU, kDLCUDAHost) are copied by the CPU; CUDA
 *                  caches (kDLCUDA, kDLCUDAManaged) by the engine of `opts`.
 * @param slots     1-D kDLInt 32 or 64 bits, any stride: T slots. Host caches and the copy
 *                  engines: host memory (kDLCPU, kDLCUDAHost). The kernel: memory the GPU of
 *                  the cache reads (kDLCUDA / kDLCUDAManaged of that device, or kDLCUDAHost).
 *                  layer_ptrs follows the same rule.
 * @param order     V.ndim ints, a permutation: packed dimension i is V's dimension order[i].
 *                  NULL: the identity.
 * @param dst       the packed bytes: host memory for a host cache; for a CUDA cache memory the
 *                  GPU writes (device memory of the cache's GPU, managed or pinned host memory,
 *                  checked at both ends as for fsd_pack) for the kernel, any memory
 *                  cudaMemcpyAsync takes for the copy engines. Must not overlap the cache.
 * @param dst_size  at least fsd_gather_size.
 * @param opts      NULL, or from FSD_GATHER_OPTIONS_INIT.
 * @param stream    CUDA caches: the work is enqueued on it. The kernel reads slots and
 *                  layer_ptrs on the GPU in stream order: the call neither waits nor allocates
 *                  and may be captured in a CUDA graph (each launch of the graph reads the
 *                  slots and layer_ptrs again). The copy engines read them on the host during
 *                  the call: they may not be captured (FSD_ERROR_INVALID_ARGUMENT on a
 *                  capturing stream, nothing captured, the capture left usable; see 4a).
 *                  Host caches: ignored; done on return.
 * @return FSD_SUCCESS;
 *         FSD_ERROR_INVALID_ARGUMENT  a NULL argument; block_dim or offset_dim out of range or
 *                                     equal; order not a permutation of V.ndim; slots not 1-D
 *                                     int32/int64 or on the wrong side; layer_ptrs not 1-D
 *                                     uint64 with stride 1 or on the wrong side; an engine
 *                                     other than AUTO/KERNEL/COPY; options with a wrong size,
 *                                     magic or version, or max_blocks < 0; a slot past the
 *                                     cache (read on the host); slots or layer_ptrs whose
 *                                     address or stride is not a multiple of their element
 *                                     size (every framework aligns them; the kernel reads
 *                                     them as whole words); on the kernel engine, a dst the
 *                                     GPU cannot write (pageable host memory, memory of
 *                                     another GPU), found before anything is enqueued; the
 *                                     copy engines on a capturing stream;
 *         FSD_ERROR_SIZE_MISMATCH     dst_size too small;
 *         FSD_ERROR_UNSUPPORTED       as fsd_pack for the layer tensor; a layer of more than
 *                                     63 dimensions, or more than 12 dimensions of V left
 *                                     after dropping size-1 ones and merging those that are
 *                                     contiguous with each other;
 *         FSD_ERROR_OVERFLOW          as fsd_pack for the layer tensor;
 *         FSD_ERROR_NO_GPU, FSD_ERROR_CUDA.
 * Thread-safe as fsd_pack, except with opts->context (one thread at a time per context).
 */
FSD_API fsd_status fsd_gather(const fsd_kv_layout *kv, const DLTensor *slots, const int *order,
                              void *dst, size_t dst_size, const fsd_gather_options *opts,
                              cudaStream_t stream);

/*
 * fsd_scatter: the inverse of fsd_gather: writes the packed bytes `src` into the cache entries
 * of `slots` (negative slots are skipped; their packed bytes are not read). With repeated
 * slots, one of the copies is written (which one is unspecified).
 * @param src       the packed bytes, in the memory fsd_gather's dst may be (checked the same
 *                  way on the kernel engine).
 * @param src_size  must equal fsd_gather_size.
 * Stream and graph capture: as fsd_gather.
 * @return the codes of fsd_gather, with FSD_ERROR_SIZE_MISMATCH when src_size is not the
 *         gather size, and FSD_ERROR_ALIASING for a layer whose elements may alias (as
 *         fsd_unpack) or, where the host reads layer_ptrs, layers whose extents overlap. On the
 *         kernel engine the layers in device memory are not checked: they must not overlap.
 */
FSD_API fsd_status fsd_scatter(const void *src, size_t src_size, const fsd_kv_layout *kv,
                               const DLTensor *slots, const int *order,
                               const fsd_gather_options *opts, cudaStream_t stream);

/* One contiguous copy of a gather or scatter (fsd_gather_runs). */
typedef struct fsd_copy_run {
    void *dst;
    const void *src;
    size_t bytes;
} fsd_copy_run;

/*
 * fsd_gather_runs: the copies the copy engines would make, for other transports (NIXL, UCX,
 * Mooncake): the slots merged into the fewest contiguous runs (adjacent slots of one block,
 * adjacent blocks, in packed order), each {dst, src, bytes}. FSD_KV_GATHER: src in the cache,
 * dst in `packed`; FSD_KV_SCATTER the reverse. Negative slots give no run.
 * Host-readable slots and layer_ptrs (kDLCPU, kDLCUDAHost); the cache may be on any device
 * (its memory is not touched).
 * @param packed    the packed buffer's address (only used to compute addresses; may be NULL,
 *                  then dst/src on the packed side are offsets from 0).
 * @param runs      the caller's array of `capacity` runs; NULL with capacity 0 to query.
 * @param count     out: the number of runs, on success and when the capacity is too small;
 *                  left alone on other errors.
 * @return FSD_SUCCESS; FSD_ERROR_SIZE_MISMATCH when capacity < *count (nothing written to runs);
 *         the validation codes of fsd_gather (slots past the cache included). Thread-safe.
 */
FSD_API fsd_status fsd_gather_runs(const fsd_kv_layout *kv, const DLTensor *slots,
                                   const int *order, fsd_kv_direction direction, void *packed,
                                   fsd_copy_run *runs, size_t capacity, size_t *count);

/* ------------------------------------------------------------------------------------------
 * Frames: named tensors in one self-describing buffer that any safetensors reader loads, with
 * a checksum per tensor computed while the tensor is packed (docs/frames.md).
 *
 * A frame is a safetensors file: 8 bytes of little-endian header length N, N bytes of JSON
 *     {"__metadata__": {str: str, ...},
 *      "<name>": {"dtype": "BF16", "shape": [2, 32, 256, 1024], "data_offsets": [begin, end]},
 *      ...}
 * padded with spaces (safetensors requires the data to start at a multiple of 8 bytes;
 * fastserde pads to 64, a cache line of a 64-byte aligned buffer), then every tensor's packed
 * bytes (row-major, little-endian, as fsd_pack writes them) back to back, in the order given,
 * offsets relative to the end of the header. fastserde's own facts are pairs of __metadata__ whose keys start with
 * "fastserde." (other readers ignore them): the format and its version, the checksum
 * algorithm, each tensor's checksum, a checksum of the metadata, and optional facts about a KV
 * chunk (its layout, such as "KV_2LTD", and its token count). Frames written by others (any
 * safetensors file) are read too; they carry no checksum.
 *
 * Checksum "xxh3-1k": XXH3-64 of each 1 KiB leaf of a tensor's packed bytes, combined in a way
 * that any number of threads (CPU shares, GPU blocks) can compute in one pass over the bytes
 * they pack; it covers the tensor's name, dtype and shape too (the definition is in
 * docs/frames.md). Reading verifies it while unpacking.
 *
 * Element types and their safetensors names: kDLFloat 64/32/16 (F64, F32, F16), kDLBfloat 16
 * (BF16), kDLInt 64/32/16/8 (I64 ... I8), kDLUInt 64/32/16/8 (U64 ... U8), and, with the
 * codes of DLPack 1.x that Debian's DLPack 0.6 header lacks, FSD_DL_BOOL 8 (BOOL),
 * FSD_DL_FLOAT8_E4M3FN 8 (F8_E4M3) and FSD_DL_FLOAT8_E5M2 8 (F8_E5M2); always one lane. Other
 * types have no safetensors name: FSD_ERROR_UNSUPPORTED.
 *
 * This version writes and reads host tensors (kDLCPU, kDLCUDAHost); CUDA tensors return
 * FSD_ERROR_UNSUPPORTED (the context and stream arguments are there for them). Frames are
 * read from and written to host memory.
 * ------------------------------------------------------------------------------------------ */

/* DLPack type codes of DLPack 1.x (the values are DLPack's ABI), for headers that lack them. */
#define FSD_DL_BOOL 6
#define FSD_DL_FLOAT8_E4M3FN 10
#define FSD_DL_FLOAT8_E5M2 12

/* The largest header a frame may have (safetensors' own limit), and the most dimensions a
 * frame's tensor may have. */
#define FSD_FRAME_MAX_HEADER ((size_t)100000000)
#define FSD_FRAME_MAX_DIMS 64

/* One tensor to write. */
typedef struct fsd_frame_tensor {
    const char *name;       /* NUL-terminated UTF-8, 0..65535 bytes, unique in the frame, not
                             * "__metadata__" (the empty name is allowed: safetensors readers
                             * take any string, and fsd_frame_open reads such files)       */
    const DLTensor *tensor; /* any strides (as fsd_pack), a type listed above                */
} fsd_frame_tensor;

/* One __metadata__ pair of the caller's. */
typedef struct fsd_frame_pair {
    const char *key;   /* NUL-terminated UTF-8, not starting with "fastserde.", unique        */
    const char *value; /* NUL-terminated UTF-8                                                */
} fsd_frame_pair;

typedef enum fsd_frame_checksum {
    FSD_FRAME_CHECKSUM_XXH3_1K = 0, /* "xxh3-1k" (the default)                                */
    FSD_FRAME_CHECKSUM_NONE = 1     /* no checksum: the plain pack's speed                    */
} fsd_frame_checksum;

#define FSD_FRAME_OPTIONS_MAGIC 0x46534446u /* "FSDF" */
#define FSD_FRAME_OPTIONS_VERSION 1u

/*
 * Options of fsd_frame_size / fsd_frame_write. Start from FSD_FRAME_OPTIONS_INIT; NULL options
 * are the defaults (checksums, no KV facts, no metadata of the caller's).
 */
typedef struct fsd_frame_options {
    size_t size;                   /* sizeof(fsd_frame_options), set by the initializer       */
    uint32_t magic;                /* FSD_FRAME_OPTIONS_MAGIC                                  */
    uint32_t version;              /* FSD_FRAME_OPTIONS_VERSION                                */
    fsd_frame_checksum checksum;   /* FSD_FRAME_CHECKSUM_XXH3_1K                               */
    const char *kv_layout;         /* what the tensors are, e.g. "KV_2LTD" (1..64 printable
                                    * ASCII bytes), written as fastserde.kv_layout; NULL: none */
    int64_t kv_tokens;             /* tokens of a KV chunk, >= 0, written as
                                    * fastserde.kv_tokens; -1: none                            */
    const fsd_frame_pair *metadata; /* the caller's own __metadata__ pairs (may be NULL when
                                    * metadata_count is 0)                                     */
    size_t metadata_count;
} fsd_frame_options;

#define FSD_FRAME_OPTIONS_INIT \
    { sizeof(fsd_frame_options), FSD_FRAME_OPTIONS_MAGIC, FSD_FRAME_OPTIONS_VERSION, \
      FSD_FRAME_CHECKSUM_XXH3_1K, NULL, -1, NULL, 0 }

/*
 * fsd_frame_size: the exact size in bytes of the frame fsd_frame_write makes of `tensors`
 * with `opts`. Validates everything fsd_frame_write does, without touching any tensor's data.
 * @param tensors  `count` tensors (may be NULL when count is 0: a frame with no tensor).
 * @return FSD_SUCCESS;
 *         FSD_ERROR_INVALID_ARGUMENT  nbytes NULL; tensors NULL with count > 0; a NULL name,
 *                                     one of more than 65535 bytes, not valid UTF-8,
 *                                     "__metadata__", or repeated; a tensor's shape errors as
 *                                     fsd_packed_size; options with a wrong size, magic or
 *                                     version, an unknown checksum, a kv_layout that is empty,
 *                                     longer than 64 bytes or not printable ASCII, kv_tokens
 *                                     < -1; a metadata pair with a NULL or invalid string, a
 *                                     key starting with "fastserde." or repeated;
 *         FSD_ERROR_UNSUPPORTED       a type without a safetensors name, more than
 *                                     FSD_FRAME_MAX_DIMS dimensions, a device type fastserde
 *                                     does not handle;
 *         FSD_ERROR_OVERFLOW          the frame or its header would exceed FSD_FRAME_MAX_HEADER
 *                                     or 2^63 - 1 bytes;
 *         FSD_ERROR_OUT_OF_MEMORY     no memory for the temporary index of the names.
 * Thread-safe.
 */
FSD_API fsd_status fsd_frame_size(const fsd_frame_tensor *tensors, size_t count,
                                  const fsd_frame_options *opts, size_t *nbytes);

/*
 * fsd_frame_write: writes the frame of `tensors` into `dst`: exactly fsd_frame_size bytes,
 * header and packed bytes, each tensor's checksum computed in the same pass that packs it
 * (the bytes are read once). Bytes of dst past the frame are not touched.
 * Host tensors are packed by the CPU; CUDA tensors (all of one device) by their GPU, on
 * `stream`, the checksum computed by the pack kernel itself, into memory that GPU reaches.
 * @param ctx       NULL: the calling thread copies; else the context's CPU threads share
 *                  large host tensors (the context's one-thread-at-a-time rule applies).
 * @param dst       host tensors: host memory; CUDA tensors: device memory of their device,
 *                  pinned host memory, or, with a context, pageable host memory (each tensor
 *                  then goes through the context's ring as fsd_pack_to_host takes it, and its
 *                  checksum is computed by the CPU copies out of the pinned chunks, in the
 *                  pass that moves the bytes).
 *                  Not overlapping any tensor.
 * @param dst_size  at least fsd_frame_size.
 * @param stream    CUDA tensors: the stream the kernels and copies are enqueued on, which the
 *                  call then waits for; ignored for host tensors.
 * @return FSD_SUCCESS; the codes of fsd_frame_size;
 *         FSD_ERROR_INVALID_ARGUMENT  dst NULL; a tensor's data NULL while it has bytes; as
 *                                     fsd_pack for a tensor's strides; CUDA tensors and a dst
 *                                     their GPU cannot reach (pageable host memory) without
 *                                     a context;
 *         FSD_ERROR_SIZE_MISMATCH     dst_size smaller than the frame;
 *         FSD_ERROR_OVERFLOW          as fsd_pack for a tensor's byte offsets;
 *         FSD_ERROR_UNSUPPORTED       host and CUDA tensors in one frame; CUDA tensors of
 *                                     different devices;
 *         FSD_ERROR_NO_GPU, FSD_ERROR_CUDA  as fsd_pack for CUDA tensors.
 *         On any error before the first kernel nothing is written to dst. Done on return.
 * Thread-safe as fsd_pack without a context; one thread at a time per context.
 */
FSD_API fsd_status fsd_frame_write(fsd_context *ctx, const fsd_frame_tensor *tensors,
                                   size_t count, const fsd_frame_options *opts, void *dst,
                                   size_t dst_size, cudaStream_t stream);

/* A parsed frame: the header's facts, with a pointer to the caller's bytes (opaque). */
typedef struct fsd_frame fsd_frame;

/*
 * fsd_frame_open: parses and checks the header of the frame (or any safetensors file) in
 * `data`: the header length, the JSON (through jansson, UTF-8 checked, repeated keys refused),
 * every tensor's entry (dtype, shape, offsets: the tensors must cover the data exactly, back to
 * back, each exactly its dtype times its shape), and fastserde's metadata with its checksum.
 * The tensors' bytes are not read (fsd_frame_verify, fsd_frame_read do).
 * @param data   the frame; it must stay valid and unchanged until fsd_frame_close.
 * @param size   its size in bytes: exactly the frame (nothing after it).
 * @param frame  out: the parsed frame (NULL on failure); free it with fsd_frame_close.
 * @return FSD_SUCCESS;
 *         FSD_ERROR_INVALID_ARGUMENT  frame NULL; data NULL with size > 0;
 *         FSD_ERROR_CORRUPT           fewer than 8 bytes; a header longer than the rest of the
 *                                     data; JSON that does not parse, is not an object, or does
 *                                     not start with '{'; a repeated key; an entry without a
 *                                     string dtype, an array of non-negative integer dimensions
 *                                     or two offsets; offsets that overlap, leave a gap, run
 *                                     backwards or past the data; a tensor whose offsets do not
 *                                     span its dtype times its shape; __metadata__ that is not
 *                                     an object of strings; fastserde keys that are missing,
 *                                     malformed or unknown (a frame that has any has them
 *                                     all); a metadata checksum that does not match;
 *         FSD_ERROR_UNSUPPORTED       a header over FSD_FRAME_MAX_HEADER bytes; a dtype that
 *                                     fastserde does not map (a newer safetensors type); more
 *                                     than FSD_FRAME_MAX_DIMS dimensions; a fastserde frame
 *                                     version or checksum algorithm this library does not know;
 *         FSD_ERROR_OVERFLOW          a shape whose size exceeds 2^63 - 1 bytes;
 *         FSD_ERROR_OUT_OF_MEMORY.
 *         On failure nothing stays allocated.
 * Thread-safe; the frame may then be read from several threads at once (it is not modified).
 */
FSD_API fsd_status fsd_frame_open(const void *data, size_t size, fsd_frame **frame);

/* fsd_frame_close: frees a frame (not the bytes it points to). NULL is fine. */
FSD_API void fsd_frame_close(fsd_frame *frame);

/* What a frame holds (fsd_frame_describe). Strings belong to the frame. */
typedef struct fsd_frame_summary {
    size_t tensors;         /* number of tensors                                            */
    size_t metadata;        /* number of __metadata__ pairs, fastserde's included           */
    size_t header_bytes;    /* the JSON header's length N (the data starts at 8 + N)         */
    size_t data_bytes;      /* bytes of the tensors                                          */
    int fastserde;          /* 1: written by fastserde (has fastserde.frame); 0: by others    */
    int checksums;          /* 1: every tensor carries a checksum                            */
    const char *kv_layout;  /* fastserde.kv_layout, or NULL                                  */
    int64_t kv_tokens;      /* fastserde.kv_tokens, or -1                                    */
} fsd_frame_summary;

/* fsd_frame_describe: fills *summary. @return FSD_SUCCESS; FSD_ERROR_INVALID_ARGUMENT for a
 * NULL argument. Thread-safe. */
FSD_API fsd_status fsd_frame_describe(const fsd_frame *frame, fsd_frame_summary *summary);

/* One tensor of a frame (fsd_frame_tensor_info). Pointers belong to the frame. */
typedef struct fsd_frame_info {
    const char *name;
    DLDataType dtype;        /* as listed in the section's introduction                     */
    int32_t ndim;
    const int64_t *shape;    /* ndim dimensions (NULL when ndim is 0)                        */
    size_t offset;           /* where its bytes start, from the start of the frame            */
    size_t nbytes;           /* how many                                                     */
    int has_checksum;        /* 1: the frame carries its checksum                            */
} fsd_frame_info;

/*
 * fsd_frame_tensor_info: tensor `index` (0 .. summary.tensors - 1; tensors are numbered in the
 * order of their bytes in the frame, which is the order fsd_frame_write was given).
 * @return FSD_SUCCESS; FSD_ERROR_INVALID_ARGUMENT for a NULL argument or an index past the end.
 * Thread-safe.
 */
FSD_API fsd_status fsd_frame_tensor_info(const fsd_frame *frame, size_t index, fsd_frame_info *info);

/* fsd_frame_find: the index of the tensor named `name`.
 * @return FSD_SUCCESS; FSD_ERROR_INVALID_ARGUMENT for a NULL argument or no such tensor.
 * Thread-safe. */
FSD_API fsd_status fsd_frame_find(const fsd_frame *frame, const char *name, size_t *index);

/* fsd_frame_metadata: __metadata__ pair `index` (0 .. summary.metadata - 1, in the header's
 * order), fastserde's pairs included. The strings belong to the frame.
 * @return FSD_SUCCESS; FSD_ERROR_INVALID_ARGUMENT for a NULL argument or an index past the end.
 * Thread-safe. */
FSD_API fsd_status fsd_frame_metadata(const fsd_frame *frame, size_t index, const char **key,
                                      const char **value);

/*
 * fsd_frame_verify: checks tensor `index`'s bytes against its checksum, reading them once.
 * @param ctx  NULL: the calling thread; else the context's CPU threads.
 * @return FSD_SUCCESS (also for a tensor without a checksum: see has_checksum);
 *         FSD_ERROR_CORRUPT for a mismatch; FSD_ERROR_INVALID_ARGUMENT for a NULL frame or an
 *         index past the end.
 * Thread-safe without a context; one thread at a time per context.
 */
FSD_API fsd_status fsd_frame_verify(fsd_context *ctx, const fsd_frame *frame, size_t index);

/*
 * fsd_frame_read: unpacks tensor `index` into the caller's tensor `dst` (any strides that do
 * not alias, as fsd_unpack), verifying its checksum when `verify` is 1 and the frame carries
 * one, in the same pass that copies: for a CUDA dst the bytes go to the GPU as
 * fsd_unpack_from_host takes them, hashed by the CPU copies into the context's pinned ring
 * (or, for a frame in pinned memory, which the DMA reads directly, by the CPU while the DMA
 * runs), and are unpacked on `stream`. To have nothing written when a tensor is corrupt, call
 * fsd_frame_verify first and then fsd_frame_read with verify 0 (two reads of the bytes).
 * @param ctx     NULL: the calling thread (host dst only); else the context's CPU threads
 *                share the work, and its ring carries bytes for a CUDA dst (required then).
 * @param dst     a host or CUDA tensor of the entry's dtype (exactly: code, bits, one lane) and
 *                shape.
 * @param verify  1: check the checksum; 0: do not.
 * @param stream  CUDA destinations: as fsd_unpack_from_host's (dst is written when `stream`
 *                reaches the point of the call; a frame in pinned memory must stay unchanged
 *                until then); ignored for host tensors.
 * @return FSD_SUCCESS;
 *         FSD_ERROR_INVALID_ARGUMENT  a NULL frame, an index past the end, a dtype or shape
 *                                     other than the entry's, verify not 0 or 1; a CUDA dst
 *                                     without a context; as fsd_unpack;
 *         FSD_ERROR_ALIASING          as fsd_unpack;
 *         FSD_ERROR_CORRUPT           the bytes do not match the checksum. The check ends with
 *                                     the copy, so dst then holds (or, for a CUDA dst, gets in
 *                                     stream order) the frame's corrupt bytes: do not use
 *                                     them;
 *         FSD_ERROR_NO_GPU, FSD_ERROR_CUDA  as fsd_unpack_from_host for a CUDA dst.
 *         Other errors are found before anything is written.
 * Thread-safe without a context; one thread at a time per context.
 */
FSD_API fsd_status fsd_frame_read(fsd_context *ctx, const fsd_frame *frame, size_t index,
                                  const DLTensor *dst, int verify, cudaStream_t stream);

/*
 * fsd_frame_read_new: tensor `index` as a new compact tensor on `device`, verified when
 * `verify` is 1 and the frame carries a checksum. kDLCPU: verified while it is copied; its
 * memory comes from the context's allocator (malloc without a context). kDLCUDA (the
 * context's device; a context is required): copied as fsd_from_bytes copies (blocking; the
 * memory from the context's pool or hooks, freed by the deleter as fsd_from_bytes' tensors
 * are), verified in that pass (the CPU copies into the ring hash the bytes); a corrupt tensor
 * is freed again before the call returns. Call (*out)->deleter(*out) when done.
 * @return FSD_SUCCESS; FSD_ERROR_INVALID_ARGUMENT for a NULL frame or out, an index past the
 *         end, verify not 0 or 1, a CUDA device without a context; FSD_ERROR_UNSUPPORTED for
 *         another device type; FSD_ERROR_OUT_OF_MEMORY; FSD_ERROR_CORRUPT for a checksum
 *         mismatch; for kDLCUDA, the codes of fsd_from_bytes. On any error *out is NULL and
 *         nothing stays allocated.
 * Thread-safe without a context; one thread at a time per context. The deleter may run on any
 * thread, after the context is destroyed too.
 */
FSD_API fsd_status fsd_frame_read_new(fsd_context *ctx, const fsd_frame *frame, size_t index,
                                      DLDevice device, int verify, DLManagedTensor **out);

#ifdef __cplusplus
}
#endif

#endif /* FASTSERDE_H */
