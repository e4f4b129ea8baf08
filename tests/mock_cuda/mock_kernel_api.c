/*
 * mock_kernel_api.c — what nvcc-compiled kernels need from the runtime, for
 * fsd_mock_runtime_kernels: the library's real kernels/launch.cu linked against the stand-in
 * runtime. launch.cu's host stubs register each kernel (__cudaRegisterFunction: the host
 * stub's address and the kernel's mangled name, recorded here) and launch.cu launches them with
 * cudaLaunchKernel, whose only argument is the plan (by address). The mock checks that the
 * kernel launched is the one the plan calls for — fsd_runs_kernel<ndim, I> (ndim -1 for the
 * generic path) or fsd_transpose_kernel<I>, I the plan's index width — and that the grid and
 * block are the plan's, then queues the plan to run on the emulated grid with that index
 * width (mock_launch.c). Calls are counted as MOCKCUDA_LAUNCH. Launches written <<<...>>>
 * come through __cudaPushCallConfiguration / __cudaPopCallConfiguration / __cudaLaunchKernel
 * to the same place (the library launches through cudaLaunchKernel: launch_check.cuh).
 */
#include <stdio.h>
#include <string.h>

#include "mock_internal.h"

#define MAX_KERNELS 64

static struct {
    const void *host_fun;
    char name[96];
} kernels[MAX_KERNELS];
static int nkernels;

void __cudaRegisterFunction(void **handle, const char *host_fun, char *device_fun,
                            const char *device_name, int thread_limit, uint3 *tid, uint3 *bid,
                            dim3 *bdim, dim3 *gdim, int *wsize);

void __cudaRegisterFunction(void **handle, const char *host_fun, char *device_fun,
                            const char *device_name, int thread_limit, uint3 *tid, uint3 *bid,
                            dim3 *bdim, dim3 *gdim, int *wsize)
{
    (void)handle, (void)device_fun, (void)thread_limit, (void)tid, (void)bid, (void)bdim,
        (void)gdim, (void)wsize;
    mk_lock();
    if (nkernels < MAX_KERNELS) {
        kernels[nkernels].host_fun = host_fun;
        snprintf(kernels[nkernels].name, sizeof kernels[nkernels].name, "%s", device_name);
        nkernels++;
    }
    mk_unlock();
}

static const char *kernel_name(const void *func)
{
    for (int i = 0; i < nkernels; i++)
        if (kernels[i].host_fun == func)
            return kernels[i].name;
    return NULL;
}

/* The mangled name of the kernel the plan calls for, e.g. _Z15fsd_runs_kernelILi2EjEv8fsd_plan
 * (the part up to the template arguments' end is compared). */
static void expected_name(const fsd_plan *p, char *buf, size_t n)
{
    const char idx = p->index64 ? 'm' : 'j'; /* uint64_t, uint32_t */
    if (p->path == FSD_PATH_TRANSPOSE)
        snprintf(buf, n, "_Z20fsd_transpose_kernelI%cEv", idx);
    else if (p->path == FSD_PATH_GENERIC || p->ndim < 1 || p->ndim > 4)
        snprintf(buf, n, "_Z15fsd_runs_kernelILin1E%cEv", idx);
    else
        snprintf(buf, n, "_Z15fsd_runs_kernelILi%dE%cEv", p->ndim, idx);
}

cudaError_t cudaLaunchKernel(const void *func, dim3 grid, dim3 block, void **args,
                             size_t shared_bytes, cudaStream_t stream)
{
    cudaError_t e = mk_enter(MOCKCUDA_LAUNCH);
    if (e != cudaSuccess)
        return mk_leave(e);
    const char *name = kernel_name(func);
    if (name == NULL || args == NULL || args[0] == NULL) {
        mk_violation("cudaLaunchKernel of %p: not a registered kernel, or no arguments", func);
        return mk_leave(cudaErrorInvalidDeviceFunction);
    }
    const fsd_plan *plan = args[0];
    char want[96];
    expected_name(plan, want, sizeof want);
    if (strncmp(name, want, strlen(want)) != 0)
        mk_violation("cudaLaunchKernel: the plan (path %d, %d dims, %d-bit indices) calls for "
                     "%s..., launched %s", (int)plan->path, plan->ndim, plan->index64 ? 64 : 32,
                     want, name);
    if (grid.x != plan->grid || grid.y != 1 || grid.z != 1 || block.x != plan->block ||
        block.y != 1 || block.z != 1 || shared_bytes != 0)
        mk_violation("cudaLaunchKernel: grid %ux%ux%u, block %ux%ux%u, %zu shared bytes; the plan "
                     "has grid %u, block %u", grid.x, grid.y, grid.z, block.x, block.y, block.z,
                     shared_bytes, plan->grid, plan->block);
    return mk_leave(mk_launch_plan(plan, stream, plan->index64 ? 1 : 0));
}

/* <<<...>>>: the configuration pushed by the launch expression, popped by the host stub,
 * which launches through __cudaLaunchKernel (one configuration per thread at a time). */
static _Thread_local struct {
    int pushed;
    dim3 grid, block;
    size_t shared;
    void *stream;
} config;

unsigned __cudaPushCallConfiguration(dim3 grid, dim3 block, size_t shared, void *stream);
cudaError_t __cudaPopCallConfiguration(dim3 *grid, dim3 *block, size_t *shared, void *stream);
cudaError_t __cudaGetKernel(cudaKernel_t *kernel, const void *func);
cudaError_t __cudaLaunchKernel(cudaKernel_t kernel, dim3 grid, dim3 block, void **args,
                               size_t shared, cudaStream_t stream);

unsigned __cudaPushCallConfiguration(dim3 grid, dim3 block, size_t shared, void *stream)
{
    config.pushed = 1;
    config.grid = grid;
    config.block = block;
    config.shared = shared;
    config.stream = stream;
    return 0;
}

cudaError_t __cudaPopCallConfiguration(dim3 *grid, dim3 *block, size_t *shared, void *stream)
{
    if (!config.pushed)
        return cudaErrorMissingConfiguration;
    config.pushed = 0;
    *grid = config.grid;
    *block = config.block;
    *shared = config.shared;
    *(void **)stream = config.stream;
    return cudaSuccess;
}

cudaError_t __cudaGetKernel(cudaKernel_t *kernel, const void *func)
{
    *kernel = (cudaKernel_t)func;
    return cudaSuccess;
}

cudaError_t __cudaLaunchKernel(cudaKernel_t kernel, dim3 grid, dim3 block, void **args,
                               size_t shared, cudaStream_t stream)
{
    return cudaLaunchKernel((const void *)kernel, grid, block, args, shared, stream);
}
