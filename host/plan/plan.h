/*
 * plan.h — the plan: everything the CPU path and the CUDA kernels need to copy one tensor,
 * computed once on the host from a validated DLTensor. Plain C, no pointers to host-only data:
 * the struct is passed by value as the kernels' only parameter.
 *
 * Model. The strided side is a list of "outer" dimensions (outermost first) over "runs" of
 * `run_bytes` contiguous bytes. The packed side is the same list in row-major order. Building
 * the plan treats the element itself as an innermost dimension of `elem_size` bytes with
 * stride 1, drops size-1 dimensions and merges each dimension into its inner neighbour when
 * stride[outer] == stride[inner] * shape[inner]; the innermost merged dimension is the run.
 *
 * Paths:
 *   EMPTY      nothing to copy (zero elements, or an empty range).
 *   CONTIG     no outer dimension: one copy of total_bytes.
 *   RUNS       1..FSD_RUNS_MAX_DIMS outer dims: groups of `group` lanes copy runs in `word`-byte
 *              words; long runs are cut into segments of `seg_words` words.
 *   GENERIC    the same kernel body for any number of outer dims (loop bound at run time).
 *   TRANSPOSE  the run is one element (innermost source stride != 1) and an outer dimension
 *              `tdim` has stride elem_size: tiles through shared memory, read along tdim and
 *              written along the innermost dimension. When every tile row starts on 16 bytes
 *              on both sides and a whole tile fits (tiles16): tiles of 16 KiB moved in 16-byte
 *              accesses (kernels/transpose16_step.cuh); else 32 x 32-word tiles.
 *
 * A plan may cover only the packed bytes [begin, end) of the tensor: a chunk of the staged
 * round trip, or one thread's share on the CPU. Boundaries may fall inside an element.
 */
#ifndef FSD_PLAN_H
#define FSD_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "divider.h"

/* Enough for any tensor: every kept dimension has size >= 2 and the packed size is < 2^63. */
#define FSD_PLAN_MAX_DIMS 64
/* RUNS handles up to this many outer dims with the loop unrolled; GENERIC takes the rest. */
#define FSD_RUNS_MAX_DIMS 4
/* Threads per block of every kernel, and the tile geometry of TRANSPOSE. */
#define FSD_BLOCK_THREADS 256
/* The grid is at most one wave: this many blocks per multiprocessor, which the kernels'
 * __launch_bounds__ guarantee can be resident at once (<= 64 registers a thread). */
#define FSD_BLOCKS_PER_SM 4
#define FSD_TILE_WORDS 32                 /* words per tile side                */
#define FSD_TILE_ROWS (FSD_BLOCK_THREADS / FSD_TILE_WORDS) /* thread rows: 8   */
/* Shared tile buffer: the largest tile is 32 x 33 elements of 16 bytes (or 128 x 132 bytes). */
#define FSD_TILE_BUFFER_BYTES (32 * 33 * 16)
/* Lanes of a group (RUNS / GENERIC), and words each lane loads before it stores any: a lane
 * issues FSD_RUNS_SLOTS loads (of one or several units) before their stores. */
#define FSD_GROUP_MAX 32
#define FSD_RUNS_SLOTS 4
/* The checksum pack (kernels/checksum_step.cuh): a block packs tiles of this many packed bytes,
 * whole leaves of the frame checksum (1 KiB, docs/frames.md), through its shared memory. */
#define FSD_CS_LEAF 1024
#define FSD_CS_TILE 32768

typedef enum fsd_path {
    FSD_PATH_EMPTY = 0,
    FSD_PATH_CONTIG = 1,
    FSD_PATH_RUNS = 2,
    FSD_PATH_GENERIC = 3,
    FSD_PATH_TRANSPOSE = 4,
    FSD_PATH_COUNT = 5
} fsd_path;

typedef enum fsd_direction {
    FSD_DIR_PACK = 0,   /* strided -> packed */
    FSD_DIR_UNPACK = 1  /* packed  -> strided */
} fsd_direction;

typedef struct fsd_plan {
    fsd_path path;
    fsd_direction dir;
    int ndim;              /* outer dimensions, outermost first                                */
    int index64;           /* 1: indices need 64 bits; 0: every index fits in 32 bits         */
    uint32_t elem_size;    /* bytes per element                                               */
    uint32_t word;         /* bytes per global access: 16, 8, 4, 2 or 1 (TRANSPOSE: <= 4 for
                            * elements of 1-2 bytes, <= elem_size otherwise)                */
    uint64_t total_bytes;  /* packed size                                                     */
    uint64_t begin, end;   /* the packed bytes [begin, end) this plan copies (a chunk of the
                            * round trip, a thread's share); `packed` is the address of byte
                            * `begin`. [0, total_bytes) for a whole tensor.                   */
    uint64_t run_bytes;    /* contiguous bytes per run (TRANSPOSE: elem_size)                 */
    uint64_t num_runs;     /* total_bytes / run_bytes                                         */
    char *strided;         /* address of element [0, ..., 0] of the strided tensor            */
    char *packed;          /* where packed byte `begin` is                                    */

    uint64_t shape[FSD_PLAN_MAX_DIMS];   /* outer dims                                      */
    int64_t stride[FSD_PLAN_MAX_DIMS];   /* bytes, strided side                             */
    uint64_t pstride[FSD_PLAN_MAX_DIMS]; /* bytes, packed side: run_bytes * inner shapes    */
    fsd_divider div[FSD_PLAN_MAX_DIMS];  /* divides by shape[d]                             */

    /* RUNS / GENERIC. A unit is one segment of one run: seg_words = group << wpl_log2 words,
     * each lane's words at lane, lane + group, ... A batch is 1 << batch_log2 units, FSD_RUNS_SLOTS
     * words per lane in all (wpl_log2 + batch_log2 = log2 FSD_RUNS_SLOTS): a lane issues the
     * loads of a whole batch before its stores. The 32 / group groups of a warp take their
     * batches' units interleaved (unit j of group g: j * (32 / group) + g from the warp's first),
     * so that each load instruction of the warp reads neighbouring units. Groups take batches
     * grid-stride; num_batches is a multiple of the groups per warp. */
    uint32_t group;        /* lanes per run: a power of two <= FSD_GROUP_MAX                  */
    uint32_t group_log2;
    uint32_t word_log2;
    uint32_t wpl_log2;     /* words per lane per unit, log2                                   */
    uint32_t batch_log2;   /* units per batch, log2                                           */
    uint64_t first_run;    /* first run that [begin, end) touches                            */
    uint64_t seg_words;    /* words per segment; a run has segs_per_run segments             */
    uint64_t words_per_run;
    uint64_t num_units;    /* segments of the runs [begin, end) touches                      */
    uint64_t num_batches;  /* ceil(num_units / units per batch)                               */
    fsd_divider segs;      /* divides by segs_per_run                                        */

    /* TRANSPOSE: tile axis a runs along dimension tdim (stride elem_size on the strided side),
     * axis b along the innermost outer dimension ndim - 1 (stride elem_size when packed). */
    int tdim;
    int tiles16;           /* 1: 16-byte tiles (transpose16_step.cuh); 0: word tiles below   */
    uint32_t tile_vec;     /* word tiles: elements per global access: 4 (1 B), 2 (2 B), else 1 */
    uint32_t tile;         /* word tiles: elements per tile side: FSD_TILE_WORDS * tile_vec   */
    uint32_t tile_pitch;   /* word tiles: elements per shared-tile row (tile + padding)      */
    uint32_t tile_a;       /* elements per tile along tdim (word tiles: tile)                 */
    uint32_t tile_b;       /* elements per tile along the innermost outer dim                 */
    uint64_t num_tiles;    /* batch * tiles_a * tiles_b (tiles outside [begin, end) are
                            * skipped, elements outside it left alone)                      */
    fsd_divider tiles_a;   /* divides by ceil(shape[tdim] / tile_a)                           */
    fsd_divider tiles_b;   /* divides by ceil(shape[ndim-1] / tile_b)                         */

    /* The checksum pack of a whole tensor (fsd_plan_checksum; 0 until it is called): tiles of
     * FSD_CS_TILE packed bytes, each gathered from the outer dims and runs above in words of
     * cs_word bytes (what the strided side's alignment allows), hashed and stored out. */
    uint32_t cs_word;
    uint32_t cs_grid;      /* blocks of the checksum kernel                                   */
    uint64_t cs_tiles;     /* ceil(total_bytes / FSD_CS_TILE)                                 */
    fsd_divider cs_run;    /* divides by run_bytes                                            */
    /* 1: a TRANSPOSE plan packed in tiles of cs_rows_a values of tdim x cs_row bytes of the
     * innermost dim (kernels/checksum_transpose_step.cuh): packed rows that are whole leaves
     * (cs_row 1024, 32 values of tdim) or that divide a leaf (cs_row the whole row, tdim just
     * outside it, 32 KiB of rows). cs_tiles of them: batch x cs_ta x cs_tb. */
    int cs_transpose;
    uint32_t cs_rows_a, cs_row;
    fsd_divider cs_ta;     /* divides by ceil(shape[tdim] / cs_rows_a)                        */
    fsd_divider cs_tb;     /* divides by shape[ndim - 1] x elem_size / cs_row                 */

    /* Launch geometry (kernels and the emulated grid). */
    uint32_t grid;         /* blocks                                                          */
    uint32_t block;        /* threads per block: FSD_BLOCK_THREADS                            */
} fsd_plan;

#ifdef __cplusplus
extern "C" {
#endif

/* Name of a path, for messages, tests and benchmarks ("runs", "transpose", ...). */
const char *fsd_path_name(fsd_path path);

#ifdef __cplusplus
}
#endif

#endif
