/*
 * model_grid.cu — the library's kernels in the access model: the emulated grid
 * (tests/kernels/emulated_grid.cu) compiled again with the access hooks, each emulated launch
 * traced under the name of the __global__ wrapper that kernels/launch.cu launches for it.
 */
#include <cstdio>
#include <cstring>

#include "model_driver.h"

#define FSDT_TRACE 1
#define FSDT_LAUNCH(kind, tparam, dims, index_bytes, plan) \
    fsdm_grid_launch((kind), (tparam), (dims), (index_bytes), (plan))
#define FSDT_THREAD(block, thread) fsdm_grid_thread((block), (thread))
#define FSDT_SHARED(ptr, bytes) fsdm_grid_shared((ptr), (bytes))
#define FSDT_BARRIER() fsdm_grid_barrier()
#define FSDT_EMULATE fsdm_emulate_traced
#define FSDT_EMULATE_CHECKSUM fsdm_emulate_checksum_traced

#include "plan.h"

static thread_local fsdm::trace *grid_trace = nullptr;
static thread_local const fsdm_options *grid_opt = nullptr;

/* The kernel of kernels/launch.cu that runs this emulated launch, as c++filt names it. */
static void fsdm_grid_launch(const char *kind, int tparam, int dims, size_t index_bytes, const fsd_plan &p)
{
    const char *index = index_bytes == 4 ? "unsigned int" : "unsigned long";
    char name[160];
    if (kind[0] == 'r') /* runs: NDIM (GENERIC: -1), index type, dims */
        std::snprintf(name, sizeof name, "fsd_runs_kernel<%d, %s, %d>", tparam, index, dims);
    else if (std::strcmp(kind, "checksum") == 0) /* gather word, index type, dims */
        std::snprintf(name, sizeof name, "fsd_cs_kernel<%du, %s, %d>", tparam, index, dims);
    else if (std::strcmp(kind, "checksum_t") == 0) /* element size, index type, dims */
        std::snprintf(name, sizeof name, "fsd_cst_kernel<%du, %s, %d>", tparam, index, dims);
    else if (std::strcmp(kind, "transpose16") == 0) /* element size, index type, dims */
        std::snprintf(name, sizeof name, "fsd_transpose16_kernel<%du, %s, %d>", tparam, index, dims);
    else
        std::snprintf(name, sizeof name, "fsd_transpose_kernel<%s, %d>", index, dims);
    delete grid_trace;
    const uint32_t grid = std::strncmp(kind, "checksum", 8) == 0 ? p.cs_grid : p.grid;
    grid_trace = new fsdm::trace(name, grid, p.block, grid_opt);
}

static void fsdm_grid_thread(uint32_t b, uint32_t t)
{
    grid_trace->thread(b, t);
}

static void fsdm_grid_shared(const void *p, size_t bytes)
{
    grid_trace->shared(p, bytes);
}

static void fsdm_grid_barrier()
{
    grid_trace->barrier();
}

#include "../emulated_grid.cu"

extern "C" int fsdm_model_plan(const fsd_plan *plan, const fsdm_options *opt, fsdm_report *r)
{
    if (plan->path == FSD_PATH_CONTIG || plan->path == FSD_PATH_EMPTY) {
        std::memset(r, 0, sizeof *r);
        std::snprintf(r->kernel, sizeof r->kernel, "%s",
                      plan->path == FSD_PATH_CONTIG ? "cudaMemcpyAsync" : "none");
        std::snprintf(r->note, sizeof r->note, "%s",
                      plan->path == FSD_PATH_CONTIG ? "one contiguous copy: the driver's copy, not traced"
                                                     : "nothing to copy");
        return 0;
    }
    grid_opt = opt;
    const int rc = fsdm_emulate_traced(plan, 0);
    if (rc == 0 && grid_trace)
        grid_trace->finish(r);
    delete grid_trace;
    grid_trace = nullptr;
    grid_opt = nullptr;
    return rc;
}

extern "C" int fsdm_model_checksum(const fsd_plan *plan, const fsdm_options *opt, fsdm_report *r)
{
    const fsdm_gpu *g = opt && opt->gpu ? opt->gpu : &fsdm_h200;
    if (plan->path == FSD_PATH_EMPTY || plan->total_bytes == 0) {
        std::memset(r, 0, sizeof *r);
        std::snprintf(r->kernel, sizeof r->kernel, "none");
        std::snprintf(r->note, sizeof r->note, "nothing to copy");
        return 0;
    }
    grid_opt = opt;
    uint64_t sum = 0;
    const int rc = fsdm_emulate_checksum_traced(plan, (uint32_t)g->sms, 0, &sum);
    if (rc == 0 && grid_trace)
        grid_trace->finish(r);
    delete grid_trace;
    grid_trace = nullptr;
    grid_opt = nullptr;
    return rc;
}
