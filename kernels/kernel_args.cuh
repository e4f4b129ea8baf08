/*
 * kernel_args.cuh — the kernels' parameters: for each path only the plan's members its kernel
 * reads, with room for D outer dims, D the smallest of 4, 16 or 64 that holds the plan's
 * (launch.cu picks it, the emulated grid the same). The plan itself is ~3.3 KB, most of it four
 * arrays of 64 dims, and a kernel's parameters are copied at every launch; these hold 0.3 KB for
 * up to 4 dims. The step functions take either the plan or these (same member names); the
 * shape of dim d is div[d].divisor.
 */
#ifndef FSD_KERNEL_ARGS_CUH
#define FSD_KERNEL_ARGS_CUH

#include "plan.h"

/* RUNS / GENERIC (runs_step.cuh). */
template <int D>
struct fsd_runs_args {
    char *strided, *packed;
    uint64_t begin, end, run_bytes, first_run, num_units, num_batches, seg_words, words_per_run;
    fsd_divider segs;
    uint32_t grid, word, group_log2, word_log2, wpl_log2, batch_log2;
    int dir, ndim;
    fsd_divider div[D];
    int64_t stride[D];
};

/* TRANSPOSE, both tile kernels (transpose_step.cuh, transpose16_step.cuh). */
template <int D>
struct fsd_transpose_args {
    char *strided, *packed;
    uint64_t begin, end, num_tiles;
    fsd_divider tiles_a, tiles_b;
    uint32_t grid, elem_size, word, tile_vec, tile_pitch, tile_a, tile_b;
    int dir, ndim, tdim;
    fsd_divider div[D];
    int64_t stride[D];
    uint64_t pstride[D];
};

/* The checksum pack (checksum_step.cuh): the plan's outer dims and runs, the tiles, where S
 * goes. packed is the destination's byte 0; dst_align the largest power of two <= 16 dividing
 * its address. */
template <int D>
struct fsd_cs_args {
    const char *strided;
    char *packed;
    unsigned long long *sum;
    uint64_t total, num_tiles;
    fsd_divider cs_run, cs_ta, cs_tb;
    uint32_t grid, cs_word, dst_align, cs_rows_a, cs_row;
    int ndim, tdim, cs_transpose;
    fsd_divider div[D];
    int64_t stride[D];
    uint64_t pstride[D];
};

/* The dims bucket of a plan: 4, 16 or FSD_PLAN_MAX_DIMS. */
static inline int fsd_args_dims(const fsd_plan &p)
{
    return p.ndim <= 4 ? 4 : p.ndim <= 16 ? 16 : FSD_PLAN_MAX_DIMS;
}

template <int D>
static inline fsd_runs_args<D> fsd_runs_args_of(const fsd_plan &p)
{
    fsd_runs_args<D> a = {};
    a.strided = p.strided;
    a.packed = p.packed;
    a.begin = p.begin;
    a.end = p.end;
    a.run_bytes = p.run_bytes;
    a.first_run = p.first_run;
    a.num_units = p.num_units;
    a.num_batches = p.num_batches;
    a.seg_words = p.seg_words;
    a.words_per_run = p.words_per_run;
    a.segs = p.segs;
    a.grid = p.grid;
    a.word = p.word;
    a.group_log2 = p.group_log2;
    a.word_log2 = p.word_log2;
    a.wpl_log2 = p.wpl_log2;
    a.batch_log2 = p.batch_log2;
    a.dir = p.dir;
    a.ndim = p.ndim;
    for (int d = 0; d < p.ndim && d < D; d++) {
        a.div[d] = p.div[d];
        a.stride[d] = p.stride[d];
    }
    return a;
}

template <int D>
static inline fsd_transpose_args<D> fsd_transpose_args_of(const fsd_plan &p)
{
    fsd_transpose_args<D> a = {};
    a.strided = p.strided;
    a.packed = p.packed;
    a.begin = p.begin;
    a.end = p.end;
    a.num_tiles = p.num_tiles;
    a.tiles_a = p.tiles_a;
    a.tiles_b = p.tiles_b;
    a.grid = p.grid;
    a.elem_size = p.elem_size;
    a.word = p.word;
    a.tile_vec = p.tile_vec;
    a.tile_pitch = p.tile_pitch;
    a.tile_a = p.tile_a;
    a.tile_b = p.tile_b;
    a.dir = p.dir;
    a.ndim = p.ndim;
    a.tdim = p.tdim;
    for (int d = 0; d < p.ndim && d < D; d++) {
        a.div[d] = p.div[d];
        a.stride[d] = p.stride[d];
        a.pstride[d] = p.pstride[d];
    }
    return a;
}

template <int D>
static inline fsd_cs_args<D> fsd_cs_args_of(const fsd_plan &p, unsigned long long *sum)
{
    fsd_cs_args<D> a = {};
    a.strided = p.strided;
    a.packed = p.packed;
    a.sum = sum;
    a.total = p.total_bytes;
    a.num_tiles = p.cs_tiles;
    a.cs_run = p.cs_run;
    a.cs_ta = p.cs_ta;
    a.cs_tb = p.cs_tb;
    a.tdim = p.tdim;
    a.cs_transpose = p.cs_transpose;
    a.cs_rows_a = p.cs_rows_a;
    a.cs_row = p.cs_row;
    a.grid = p.cs_grid;
    a.cs_word = p.cs_word;
    uint32_t al = 16;
    while (al > 1 && ((uintptr_t)p.packed & (al - 1)) != 0)
        al >>= 1;
    a.dst_align = al;
    a.ndim = p.ndim;
    for (int d = 0; d < p.ndim && d < D; d++) {
        a.div[d] = p.div[d];
        a.stride[d] = p.stride[d];
        a.pstride[d] = p.pstride[d];
    }
    return a;
}

#endif
