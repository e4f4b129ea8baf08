/*
 * bench.h — fastserde-bench's pieces: the run's settings, the result rows every measurement
 * adds, the CPU and GPU runners, and the report (table on stdout, JSON file).
 *
 * A result row is one operation on one view: its median time, its throughput in GB/s (packed
 * bytes / median time, 1 GB = 1e9 bytes), and the baselines measured in the same run on the
 * same bytes, the first of which is the row's roof (the ratio printed in the table).
 */
#ifndef FSDB_BENCH_H
#define FSDB_BENCH_H

#include <stddef.h>
#include <stdio.h>

#include "access_model.h"
#include "bench_util.h"
#include "bench_views.h"
#include "fastserde.h"

#define FSDB_MAX_BASES 6

typedef struct fsdb_dtype {
    char name[8];
    DLDataType dl;
    uint32_t size;
} fsdb_dtype;

typedef struct fsdb_cfg {
    int cpu_iters;      /* timed runs per CPU measurement (after one warm-up)         */
    int gpu_iters;      /* timed samples per GPU measurement (after warm-up)          */
    int threads;        /* the context's CPU threads (fsd_context_config.cpu_threads) */
    int quick;
    int verbose;        /* progress on stderr                                          */
} fsdb_cfg;

typedef struct fsdb_base {
    char name[24];      /* "memcpy", "memcpy-2t", "copy16", "memcpy-d2d", "naive", "cub" */
    double gbps;        /* 0: not measured (the reason is in the row's note)          */
} fsdb_base;

typedef struct fsdb_result {
    const char *device;  /* "cpu" or "gpu"                                            */
    const fsdb_model *model;
    fsdb_dtype dtype;
    fsdb_layout layout;
    char view[96];
    const char *op;      /* pack, unpack, pack_to_host, unpack_from_host, to_bytes,
                          * from_bytes; the frames group: frame_write, frame_write_nocs,
                          * frame_read_verify, frame_read (fsdb_is_frame_op)            */
    const char *host_mem; /* GPU round trip: "pinned" or "pageable"; else "" (device
                          * memory for GPU rows)                                        */
    const char *timing;  /* "wall" (host clock) or "cuda-events"                       */
    int threads;         /* CPU threads the operation used (CPU rows)                  */
    size_t bytes;
    double median_s, gbps;
    int nbase;
    fsdb_base base[FSDB_MAX_BASES]; /* base[0]: the roof                              */
    char check[80];      /* "ok", or what went wrong                                   */
} fsdb_result;

typedef struct fsdb_results {
    fsdb_result *r;
    int n, cap;
} fsdb_results;

/* What the report says about the machine. */
typedef struct fsdb_meta {
    char date[40];
    char cpu[128];
    int cores;
    int threads;         /* the context's CPU threads                                 */
    int gpu;             /* 1: GPU rows were run                                      */
    char gpu_note[200];  /* why there are no GPU rows                                  */
    char gpu_name[256];
    int gpu_sms, cc_major, cc_minor, driver, runtime;
    size_t gpu_mem, gpu_l2;
    int gpu_clock_khz, mem_clock_khz, bus_bits;
} fsdb_meta;

/* A new zeroed row at the end of rs (exits on out-of-memory). */
fsdb_result *fsdb_results_add(fsdb_results *rs);
/* The row of (device, model, dtype, layout, op, host_mem), or NULL. */
const fsdb_result *fsdb_results_find(const fsdb_results *rs, const char *device,
                                     const fsdb_model *m, const char *dtype, fsdb_layout l,
                                     const char *op, const char *host_mem);
/* Sets row->gbps from bytes and median_s, and adds a baseline. */
void fsdb_result_base(fsdb_result *row, const char *name, double gbps);

/* CPU rows of one view: pack, unpack (1 thread), and through `ctx` pack_to_host,
 * unpack_from_host, to_bytes and (contiguous layout only) from_bytes. 0: all checks passed. */
int fsdb_run_cpu(const fsdb_cfg *cfg, fsd_context *ctx, fsdb_mtcopy *mt, const fsdb_model *m,
                 fsdb_layout l, const fsdb_dtype *dt, fsdb_results *rs);

/* The frames group (bench_frames.c): one frame of one tensor per view. CPU rows through `ctx`:
 * frame_write and frame_write_nocs (checksum on, off) against fsd_pack_to_host,
 * frame_read_verify and frame_read against fsd_unpack_from_host. 0: all checks passed. */
int fsdb_run_frames_cpu(const fsdb_cfg *cfg, fsd_context *ctx, const fsdb_model *m, fsdb_layout l,
                        const fsdb_dtype *dt, fsdb_results *rs);
/* GPU rows of the frames group (bench_frames_gpu.c): the writes into device memory against
 * fsd_pack, and through `ctx` the writes into and the reads from pageable host memory against
 * fsd_pack_to_host / fsd_unpack_from_host. 0: all checks passed. */
int fsdb_run_frames_gpu(const fsdb_cfg *cfg, fsd_context *ctx, const fsdb_model *m, fsdb_layout l,
                        const fsdb_dtype *dt, fsdb_results *rs);
/* 1 when op is one of the frames group's operations. */
int fsdb_is_frame_op(const char *op);

/* GPU: fills meta's GPU fields and returns 1 when device `dev` is usable, else 0 with
 * meta->gpu_note saying why. */
int fsdb_gpu_probe(int dev, fsdb_meta *meta);
/* GPU rows of one view (device pack/unpack against the copy kernels, naive and CUB; the round
 * trip against pinned and pageable cudaMemcpy). 0: all checks passed. */
int fsdb_run_gpu(const fsdb_cfg *cfg, fsd_context *ctx, const fsdb_model *m, fsdb_layout l,
                 const fsdb_dtype *dt, fsdb_results *rs);

/* --model: one row per view and operation, the access model's report of its kernel. */
typedef struct fsdb_model_row {
    const fsdb_model *model;
    fsdb_dtype dtype;
    fsdb_layout layout;
    const char *op;      /* "pack" or "unpack"                                          */
    const char *path;    /* the plan's path ("runs", "transpose", "contig", "gather")   */
    const char *label;   /* the layout's name when not a view of fsdb_layout ("paged")  */
    char view[96];
    fsdm_report r;
    /* Rows of the checksum pack ("pack+cs"): its predicted fraction over the plain pack's
     * (the row before it), low and high; 0 elsewhere. */
    double vs_plain_lo, vs_plain_hi;
} fsdb_model_row;

typedef struct fsdb_model_rows {
    fsdb_model_row *r;
    int n, cap;
} fsdb_model_rows;

/* Models pack and unpack of one view (bench_model.c); 0 when both were modeled. */
int fsdb_model_view(const fsdb_cfg *cfg, const fsdb_model *m, fsdb_layout l, const fsdb_dtype *dt,
                    fsdb_model_rows *rows);
/* Models the paged gather and scatter of model m's chunk (bench_paged.h's cache: vLLM's flash
 * layout, blocks of bs, into KV_2LTD); 0 when both were modeled. */
int fsdb_model_paged(const fsdb_cfg *cfg, const fsdb_model *m, int bs, fsdb_model_rows *rows);
/* 1 when the row meets issue 13's targets (sector efficiency, bank conflicts, loads in flight,
 * predicted fraction). */
int fsdb_model_meets(const fsdb_model_row *row);
/* The model's table (stdout), and its JSON members "model_limits", "model_gpu", "model". */
void fsdb_model_print(FILE *f, const fsdb_model_rows *rows);
void fsdb_model_json(FILE *f, const fsdb_model_rows *rows);

/* The readable tables (stdout). */
void fsdb_print_tables(FILE *f, const fsdb_results *rs, const fsdb_meta *meta, const fsdb_cfg *cfg);
/* The JSON report (the paged group's rows under "paged" when not NULL, the model's rows under
 * "model" when `model` is not NULL); 0 on success. */
struct fsdb_paged_results;
int fsdb_write_json(const char *path, const fsdb_results *rs, const struct fsdb_paged_results *paged,
                    const fsdb_meta *meta, const fsdb_cfg *cfg, const fsdb_model_rows *model);

/* Reports a failed fastserde call on stderr; returns 1 when st is not FSD_SUCCESS. */
int fsdb_check_status(fsd_status st, const char *what);

#endif
