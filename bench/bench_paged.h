/*
 * bench_paged.h — fastserde-bench's paged group: one chunk of 256 tokens gathered from every
 * layer of a paged KV cache into LMCache's KV_2LTD bytes [2, L, T, heads * head_dim], and
 * scattered back. The cache is vLLM's flash-attention layout, one tensor per layer
 * [2, blocks, block_size, heads, head_dim]; the chunk's tokens lie in whole blocks drawn in a
 * shuffled order from a cache of twice the chunk's blocks.
 *
 * Each operation is timed next to baselines measured in the same run on the same bytes: memcpy
 * (the faster of one thread and the context's threads) on the CPU, the 16-byte copy kernel or
 * cudaMemcpyAsync on the GPU (the roof), and the loop of one fsd_pack / fsd_unpack per (K or
 * V, layer, block) that a caller of the strided API writes today. Every result is first
 * checked against a naive copy token by token.
 */
#ifndef FSDB_PAGED_H
#define FSDB_PAGED_H

#include <stdio.h>

#include "bench.h"

typedef struct fsdb_paged_row {
    const char *device;   /* "cpu" or "gpu"                                                    */
    const fsdb_model *model;
    int block_size;
    const char *op;       /* "gather" or "scatter"                                             */
    const char *engine;   /* "cpu-1t" (calling thread), "cpu" (context threads), "kernel",
                           * "kernel-to-pinned" (into mapped pinned host memory), "copy"       */
    size_t bytes;
    double median_s, gbps;
    const char *roof_name; /* "memcpy", "memcpy-2t", "copy16", "memcpy-d2d", "d2h-pinned"     */
    double roof_gbps;
    double loop_gbps;     /* the per-(K/V, layer, block) fsd_pack / fsd_unpack loop            */
    long loop_calls;
    size_t runs;          /* merged contiguous runs of the chunk (copies the copy engines make) */
    char check[80];
} fsdb_paged_row;

typedef struct fsdb_paged_results {
    fsdb_paged_row *r;
    int n, cap;
} fsdb_paged_results;
/* (bench.h declares `struct fsdb_paged_results` for fsdb_write_json.) */

/* The chunk's geometry, shared by the CPU and GPU runners (bench_paged.c). */
typedef struct fsdb_paged_shape {
    const fsdb_model *m;
    int64_t layers, tokens, heads, head_dim, bs, blocks; /* blocks: of the cache (2x the chunk's) */
    uint32_t esize;
    size_t layer_bytes, packed_bytes, token_bytes;      /* token_bytes: heads * head_dim * esize */
    int64_t *slots;                                     /* malloc'd, T slots                     */
    int64_t layer_shape[5];
} fsdb_paged_shape;

void fsdb_paged_shape_init(fsdb_paged_shape *s, const fsdb_model *m, int bs);
void fsdb_paged_shape_free(fsdb_paged_shape *s);
/* A layer's DLTensor (compact [2, blocks, bs, heads, head_dim], bf16) at `data` on `dev`. */
DLTensor fsdb_paged_layer(const fsdb_paged_shape *s, void *data, DLDevice dev);
/* The naive copy, token by token: between the layers at bases[l] (host memory) and `packed`
 * (KV_2LTD); scatter 0: gather. */
void fsdb_paged_naive(const fsdb_paged_shape *s, char *const *bases, unsigned char *packed, int scatter);
/* The loop a caller of the strided API writes: one fsd_pack (fsd_unpack when unpack is set)
 * per (K or V, layer, block of the chunk), each a [bs, heads, head_dim] block of the layer at
 * layers[l] (on `dev`) to or from its place in KV_2LTD at `packed`, on `stream`. Returns the
 * number of calls; sets *failed when one fails. */
long fsdb_paged_loop(const fsdb_paged_shape *s, char *const *layers, char *packed, DLDevice dev,
                     cudaStream_t stream, int unpack, int *failed);
/* Adds a row for an operation on chunk `s` that took `sec` seconds, against a roof copy of
 * the same bytes that took `roof_s` (exits when out of memory); the caller sets the loop
 * columns, runs and check. */
fsdb_paged_row *fsdb_paged_add(fsdb_paged_results *rs, const char *device,
                               const fsdb_paged_shape *s, const char *op, const char *engine,
                               double sec, const char *roof, double roof_s);

/* Block sizes of the default run: 16 for every model, and a sweep for the first model. */
#define FSDB_PAGED_BLOCK 16

/* CPU rows of model m with blocks of `bs` tokens; 0 when every check passed. */
int fsdb_run_paged_cpu(const fsdb_cfg *cfg, fsd_context *ctx, fsdb_mtcopy *mt, const fsdb_model *m,
                       int bs, fsdb_paged_results *rs);
/* GPU rows (kernel, copy engines, the loop, the roofs); 0 when every check passed. */
int fsdb_run_paged_gpu(const fsdb_cfg *cfg, const fsdb_model *m, int bs, fsdb_paged_results *rs);

void fsdb_print_paged(FILE *f, const fsdb_paged_results *rs, int gpu, const char *gpu_note);
/* The rows as a JSON array (no trailing newline). */
void fsdb_write_paged_json(FILE *f, const fsdb_paged_results *rs);

#endif
