/*
 * bench_views.h — the tensors the benchmarks copy: views of a compact "storage" tensor.
 *
 * KV-cache views (fastserde-bench): LMCache hands over chunks of 256 tokens of a model's KV
 * cache, [2 (K and V), layers, tokens, kv_heads * head_dim]. The five layouts are the views a
 * cache actually holds; each packs into the same bytes as the contiguous chunk:
 *   contiguous    [2,L,T,H*D], compact
 *   token-slice   tokens T/2 .. T/2+T of a cache of 2T tokens: [2,L,T,H*D] in [2,L,2T,H*D]
 *   head-subset   every other head of 2H heads: [2,L,T,H,D] in [2,L,T,2H,D]
 *   permute       [L,T,H,D] -> [L,H,T,D]: [2,L,H,T,D], a permuted view of [2,L,T,H,D]
 *   transpose     the last two dims swapped: [2,L,H*D,T] of [2,L,T,H*D]
 *
 * Synthetic views (the Google Benchmark suites): the same five layouts for any total size (a
 * power of two of at least 4 KiB) and element size (a power of two up to 16 bytes).
 */
#ifndef FSDB_VIEWS_H
#define FSDB_VIEWS_H

#include <stddef.h>
#include <stdint.h>

#include <dlpack/dlpack.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FSDB_MAX_DIMS 8

typedef struct fsdb_model {
    const char *name;   /* "llama3-8b" */
    const char *title;  /* "Llama-3-8B" */
    int64_t layers, tokens, heads, head_dim; /* KV heads */
} fsdb_model;

typedef enum fsdb_layout {
    FSDB_CONTIG = 0,
    FSDB_TOKEN_SLICE,
    FSDB_HEAD_SUBSET,
    FSDB_PERMUTE,
    FSDB_TRANSPOSE,
    FSDB_LAYOUT_COUNT
} fsdb_layout;

/* A view of a compact storage tensor of storage_bytes bytes. Strides are in elements. */
typedef struct fsdb_view {
    int ndim;
    int64_t shape[FSDB_MAX_DIMS];
    int64_t strides[FSDB_MAX_DIMS];
    uint64_t byte_offset;   /* of element [0,...,0] from the storage's start */
    size_t storage_bytes;
    size_t packed_bytes;
    uint32_t elem_size;
    char desc[96];          /* "[2,32,256,1024] in [2,32,512,1024]" */
} fsdb_view;

/* The view as contiguous runs: num_runs runs of run_bytes bytes; run r starts at the byte
 * offset sum_d c_d * stride_bytes[d] from element 0, where (c_0..c_{ndim-1}) is r in row-major
 * order over shape[] (the view's outer dimensions). */
typedef struct fsdb_runs {
    int ndim;
    int64_t shape[FSDB_MAX_DIMS];
    int64_t stride_bytes[FSDB_MAX_DIMS];
    uint64_t run_bytes;
    uint64_t num_runs;
} fsdb_runs;

/* The built-in models (LMCache's shapes). */
extern const fsdb_model fsdb_models[];
extern const int fsdb_model_count;

const char *fsdb_layout_name(fsdb_layout l);
/* Layout by name; FSDB_LAYOUT_COUNT when unknown. */
fsdb_layout fsdb_layout_parse(const char *name);

/* The KV-cache view of `m` in layout `l` with elements of elem_size bytes. */
void fsdb_view_kv(const fsdb_model *m, fsdb_layout l, uint32_t elem_size, fsdb_view *v);

/* A synthetic view of `bytes` packed bytes (a power of two >= 4096) in layout `l`;
 * elem_size a power of two <= 16. */
void fsdb_view_synthetic(fsdb_layout l, size_t bytes, uint32_t elem_size, fsdb_view *v);

/* The runs of a view (the innermost dimensions merged while they are contiguous). */
void fsdb_view_runs(const fsdb_view *v, fsdb_runs *r);

/* The reference copy, independent of the library: element by element in packed order (an
 * odometer over the view's dims). unpack == 0: storage -> packed; else packed -> storage. */
void fsdb_view_naive_copy(const fsdb_view *v, unsigned char *storage, unsigned char *packed,
                          int unpack);

/* The references a runner checks against: storage filled with the pattern of `seed`, ref its
 * naive pack, expect a storage of 0xA5 bytes after the naive unpack of ref (what an unpack into
 * a storage of 0xA5 must leave). */
void fsdb_view_references(const fsdb_view *v, uint32_t seed, unsigned char *storage,
                          unsigned char *ref, unsigned char *expect);

/* The view as a DLTensor over `storage` (shape and strides point into *v). */
DLTensor fsdb_view_tensor(const fsdb_view *v, void *storage, DLDevice dev, DLDataType dtype);

#ifdef __cplusplus
}
#endif

#endif
