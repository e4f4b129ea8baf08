/*
 * model_driver.h — how a kernel enters the access model (C++; for .cu files of the model only).
 *
 * Include this header BEFORE any header of kernels/: it defines the hooks that step_common.cuh
 * leaves empty elsewhere (FSD_ACCESS_HOOK, FSD_MODEL_ITERATION), so every fsd_load_as /
 * fsd_store_as / fsd_copy_as of the step functions compiled in that translation unit reports
 * its address, width and call site to the trace being recorded.
 *
 * A driver then runs the kernel's step functions over its grid as the GPU would, block by block,
 * thread by thread, phase by phase (the emulated grid's own loops), and says where it is:
 *
 *     fsdm::trace tr("fsd_gather_kernel<unsigned int>", grid, FSD_BLOCK_THREADS, opt);
 *     for (uint32_t b = 0; b < grid; b++)
 *         for (uint32_t t = 0; t < FSD_BLOCK_THREADS; t++) {
 *             tr.thread(b, t);                   // the accesses that follow are (b, t)'s
 *             fsd_gather_step<uint32_t>(args, b, t);
 *         }
 *     tr.finish(report);
 *
 * The kernel name must be how c++filt prints the __global__ function's template (what ptxas -v
 * reported for it, see model_resources.h), up to the "(": it finds the registers and the SASS.
 * Kernels with shared memory declare the block's buffer (tr.shared(ptr, bytes): accesses inside
 * it are shared, all others global) and call tr.barrier() where __syncthreads() is. A grid-stride
 * loop marks each of its iterations with FSD_MODEL_ITERATION() in the step function (a no-op in
 * the library): the SASS figures are per iteration. That is all a new kernel needs.
 */
#ifndef FSDM_MODEL_DRIVER_H
#define FSDM_MODEL_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include "access_model.h"

void fsdm_hook_access(const void *p, unsigned bytes, int store, const char *file, int line);
void fsdm_hook_iteration(void);

#if defined(__CUDA_ARCH__) /* nvcc's device pass: the model runs on the host only */
#define FSD_ACCESS_HOOK(p, bytes, store, file, line) ((void)0)
#define FSD_MODEL_ITERATION() ((void)0)
#else
#define FSD_ACCESS_HOOK(p, bytes, store, file, line) \
    fsdm_hook_access((const void *)(p), (unsigned)(bytes), (store), (file), (line))
#define FSD_MODEL_ITERATION() fsdm_hook_iteration()
#endif

namespace fsdm {

struct state; /* model_trace.cu */

/* One kernel launch being traced. Not copyable; one at a time per host thread. */
class trace {
public:
    trace(const char *kernel, uint32_t grid, uint32_t block, const fsdm_options *opt);
    ~trace();
    trace(const trace &) = delete;
    trace &operator=(const trace &) = delete;

    /* The block's shared memory (the emulator's buffer): accesses inside are shared. */
    void shared(const void *p, size_t bytes);
    /* The accesses that follow are thread t of block b's. Blocks must come in order. */
    void thread(uint32_t b, uint32_t t);
    /* __syncthreads() of the current block: every thread's loads before it have been used. */
    void barrier();
    /* Ends the trace: the analysis, occupancy, SASS and prediction go into *r. */
    void finish(fsdm_report *r);

private:
    state *s_;
};

} // namespace fsdm

#endif
