/*
 * model_sass.h — the SASS side of the access model: a kernel's sm_90 machine code, read with
 * cuobjdump -sass from the running executable (which holds the library's and the benchmarks'
 * kernels), and the instructions of its main loop.
 *
 * Read with cuobjdump -fun, one kernel at a time, on first use.
 * The main loop is the outermost loop (a backward branch) that holds a global load of the
 * width the kernel mostly loads. Its instructions are counted once per iteration, with two
 * corrections from the trace: a basic block holding a memory instruction whose kind and width
 * the trace never executed is not counted (another case of a switch on the word width, a path
 * this view does not take), and a loop nested in the main loop counts as many times as the trace
 * says it ran per main-loop iteration: for a loop with n global loads, the batches of exactly n
 * loads per iteration; none when all its memory instructions are of kinds the trace never ran;
 * else once per iteration of the loop around it. Other blocks with memory instructions count as
 * often as the trace ran their kinds, shared evenly among the kinds' live instances. An
 * estimate: predicated and branched-over code inside a counted block is counted, and nothing
 * outside the main loop is.
 */
#ifndef FSDM_MODEL_SASS_H
#define FSDM_MODEL_SASS_H

#ifdef __cplusplus
extern "C" {
#endif

#define FSDM_MAX_BATCH 64

/* What the trace saw, per main-loop iteration of one thread. Widths as log2 of bytes (0..4). */
typedef struct fsdm_sass_query {
    const char *kernel;          /* demangled name up to the '(' ("fsd_runs_kernel<2, unsigned int>") */
    int load_width;              /* bytes of the global loads that move most bytes            */
    double per_iter[2][2][5];    /* [space: 0 global, 1 shared][0 load, 1 store][log2 width]   */
    double batches[5][FSDM_MAX_BATCH + 1]; /* [log2 width][n]: batches of n global loads       */
} fsdm_sass_query;

typedef struct fsdm_sass_result {
    int found;                   /* the kernel's SASS was read                                  */
    int static_instructions;     /* in the main loop                                            */
    double instructions;         /* estimated per main-loop iteration                           */
    int nested_loops;
    char note[200];
} fsdm_sass_result;

/* 1 when cuobjdump and nvdisasm were found; *why: where they were looked for. */
int fsdm_sass_tools(const char **why);

/* Analyses the kernel's main loop. Returns 0 with r->found = 1, or -1 (r->note says why). */
int fsdm_sass_main_loop(const fsdm_sass_query *q, fsdm_sass_result *r);

#ifdef __cplusplus
}
#endif

#endif
