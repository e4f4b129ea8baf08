/*
 * frame.h — frames (fastserde.h, docs/frames.md): what the modules share.
 *   frame_format.c    dtype names, the v1 metadata keys, UTF-8 and name checks
 *   frame_checksum.c  the "xxh3-1k" checksum: leaves, terms, the tensor's and the metadata's value
 *   frame_cpu.c       pack + checksum and checksum + unpack in one pass, on a context's threads
 *   frame_leaf_*.c    the fused copy that hashes 1 KiB leaves on the way (AVX2, chosen at run
 *                     time; frame_leaf_copy.c: the portable form and the dispatch)
 *   frame_gpu.c       the data of a frame of CUDA tensors: the checksum pack on the caller's stream
 *   frame_write.c     fsd_frame_size, fsd_frame_write: validation, the header's JSON
 *   frame_parse.c     fsd_frame_open and the accessors: the header through jansson
 *   frame_read.c      fsd_frame_verify, fsd_frame_read, fsd_frame_read_new
 */
#ifndef FSD_FRAME_H
#define FSD_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "fastserde.h"
#include "layout.h"
#include "thread_pool.h"

/* v1 metadata (docs/frames.md). */
#define FSD_FRAME_KEY_PREFIX "fastserde."
#define FSD_FRAME_KEY_FORMAT "fastserde.frame"
#define FSD_FRAME_KEY_ALGORITHM "fastserde.checksum"
#define FSD_FRAME_KEY_CHECKSUM "fastserde.checksum."  /* + tensor name or "__metadata__" */
#define FSD_FRAME_KEY_KV_LAYOUT "fastserde.kv_layout"
#define FSD_FRAME_KEY_KV_TOKENS "fastserde.kv_tokens"
#define FSD_FRAME_METADATA "__metadata__"
#define FSD_FRAME_VERSION "1"
#define FSD_FRAME_ALGO_XXH3 "xxh3-1k"
#define FSD_FRAME_ALGO_NONE "none"
/* A checksum's value: "xxh3-1k:" and 16 lowercase hex digits, with the NUL. */
#define FSD_FRAME_CHECKSUM_CHARS (sizeof FSD_FRAME_ALGO_XXH3 + 1 + 16)
#define FSD_FRAME_MAX_NAME 65535
#define FSD_FRAME_MAX_KV_LAYOUT 64
/* The writer pads the header so that the data starts at a multiple of this from the frame's
 * start. */
#define FSD_FRAME_DATA_ALIGN 64

/* ---- frame_format.c ---------------------------------------------------------------------- */

/* The safetensors name of a DLPack type (NULL: none) and the reverse (0: unknown name). */
const char *fsd_frame_dtype_name(DLDataType t);
int fsd_frame_dtype_from_name(const char *name, size_t len, DLDataType *t);

/* 1 when s[0, n) is well-formed UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF) without a NUL byte: what jansson accepts in a JSON string. */
int fsd_frame_utf8_ok(const char *s, size_t n);

/* "xxh3-1k:%016llx" into out (FSD_FRAME_CHECKSUM_CHARS bytes with the NUL); parse: 1 when
 * s[0, n) is such a value. */
void fsd_frame_format_checksum(uint64_t value, char *out);
int fsd_frame_parse_checksum(const char *s, size_t n, uint64_t *value);

/* ---- frame_checksum.c -------------------------------------------------------------------- */

/* The terms of leaves [first, first + count) (1 KiB each, the last one of the tensor zero-
 * padded: `bytes` is the packed bytes of those leaves, `len` of them) summed: the part of S that
 * those leaves contribute (docs/frames.md). */
uint64_t fsd_frame_leaves(const void *bytes, uint64_t len, uint64_t first);

/* The seed of a tensor's checksum from its name, dtype and shape, and the checksum from the
 * sum S of its leaves' terms. */
uint64_t fsd_frame_tensor_seed(const char *name, size_t name_len, const char *dtype,
                               const int64_t *shape, int ndim);
uint64_t fsd_frame_finish(uint64_t sum, uint64_t seed);

/* The checksum of __metadata__ (docs/frames.md): XXH3_64bits of key, 0x00, value, 0x00 of
 * every pair in the order of their keys (strcmp), the pairs whose key starts with
 * "fastserde.checksum." left out. `order` is scratch for n pointers. */
typedef struct fsd_frame_kv {
    const char *key;
    const char *value;
} fsd_frame_kv;
uint64_t fsd_frame_metadata_checksum(const fsd_frame_kv *pairs, size_t n, const fsd_frame_kv **order);

/* ---- frame_cpu.c ------------------------------------------------------------------------- */

/* Packs the host layout `l` into `dst` (l->total_bytes bytes) and returns the sum S of its
 * leaves' terms, on the pool's threads (NULL pool: the calling thread). */
uint64_t fsd_frame_pack_sum(fsd_pool *pool, const fsd_layout *l, char *dst);

/* Unpacks `src` into the host layout `l` and returns S of the bytes read (computed as they are
 * copied). */
uint64_t fsd_frame_unpack_sum(fsd_pool *pool, const fsd_layout *l, const char *src);

/* S of n bytes at src, on the pool's threads: a pass that only reads, to hash (NVTX range
 * "frame hash"). */
uint64_t fsd_frame_sum(fsd_pool *pool, const char *src, uint64_t n);

/* Copies n bytes from src to dst (not overlapping), packed bytes [offset, offset + n) of a
 * tensor (offset a multiple of 1 KiB, n reaching the tensor's end or a multiple of 1 KiB), and
 * returns the part of S that their leaves contribute: the ring's host copies (transfer.c). On
 * the pool's threads from min_bytes_per_thread bytes per thread; streaming stores as
 * fsd_cpu_memcpy_parallel. */
uint64_t fsd_frame_copy_sum(fsd_pool *pool, char *dst, const char *src, uint64_t n,
                            uint64_t offset, uint64_t min_bytes_per_thread);

/* ---- frame_gpu.c ------------------------------------------------------------------------- */

/* Packs the CUDA tensors `layouts` (all of one device) back to back into `data` (memory that
 * device reaches) on `stream`; with `checksum`, each tensor's S into sums[i] (host), summed by
 * the kernels' atomics in count words of device memory allocated on the stream (so never in
 * pinned host memory, where a GPU's atomics need the platform's PCIe atomics). Returns when
 * the work has finished. */
fsd_status fsd_frame_pack_gpu(const fsd_layout *layouts, size_t count, char *data, int checksum,
                              uint64_t *sums, cudaStream_t stream);

/* Copies n host bytes to dst (memory device `device` reaches) on `stream`; returns when done. */
fsd_status fsd_frame_put_gpu(int device, void *dst, const void *src, size_t n, cudaStream_t stream);

/* ---- frame_parse.c: the parsed frame ------------------------------------------------------ */

typedef struct fsd_frame_entry {
    const char *name;
    size_t name_len;
    DLDataType dtype;
    const char *dtype_name; /* static */
    int32_t ndim;
    int64_t *shape;
    uint64_t begin, end;    /* from the start of the frame */
    int has_checksum;
    uint64_t checksum;
} fsd_frame_entry;

struct fsd_frame {
    const char *data;
    size_t size;
    size_t header_bytes;
    size_t data_start;      /* 8 + header_bytes */
    size_t count;
    fsd_frame_entry *entries;
    size_t meta_count;
    fsd_frame_kv *meta;
    int fastserde;
    int checksums;
    const char *kv_layout;
    int64_t kv_tokens;
};

#endif
