/*
 * mock_kernel_api.c — what nvcc-compiled kernels need from the runtime, for
 * fsd_mock_runtime_kernels: the library's real kernels/launch.cu and kernels/gather_launch.cu
 * linked against the stand-in runtime.
 *
 * Their host stubs register each kernel (__cudaRegisterFunction: the host stub's address and
 * the kernel's mangled name, recorded here) and they launch through cudaLaunchKernel, whose
 * one argument is the kernel's parameter (by address): an fsd_runs_args<D> or
 * fsd_transpose_args<D> (kernel_args.cuh) built from an fsd_plan, or the fsd_gather_plan.
 * The parameter does not say which plan it came from, so the mock learns the plan from the
 * call that launches: the test executables are linked with --wrap=fsdk_launch and
 * --wrap=fsdk_launch_gather (CMakeLists.txt; the mocking method cmocka documents), so the
 * library's calls reach __wrap_fsdk_launch / __wrap_fsdk_launch_gather here, which note the
 * plan for this thread and call the real entry (__real_...). cudaLaunchKernel then checks,
 * against that plan:
 *  - that the kernel launched is the one the plan calls for: its mangled name, written here
 *    from the plan by the rule launch.cu and gather_launch.cu must follow
 *    (fsd_runs_kernel<ndim, I, 4> for RUNS, <-1, I, 16 or 64> for GENERIC,
 *    fsd_transpose_kernel<I, 4 or 64> or fsd_transpose16_kernel<elem_size, I, 4 or 64> for
 *    TRANSPOSE, fsd_gather_kernel<word type, lane_words, 4 or -1, I>; I the plan's index
 *    width);
 *  - the grid and block (the plan's), and no dynamic shared memory;
 *  - for a plan's kernel, that the parameter is byte for byte the one kernel_args.cuh builds
 *    for the plan;
 * then queues the launch (mock_launch.c, mock_gather.c: the checks a GPU would fault on) as
 * an op that runs the launched kernel's loops over the parameter it was given, read as the
 * kernel's own parameter type (mock_kernels.cu, keyed by the mangled name). Calls are counted
 * as MOCKCUDA_LAUNCH. Launches written <<<...>>> come through __cudaPushCallConfiguration /
 * __cudaPopCallConfiguration / __cudaLaunchKernel to the same place (the library launches
 * through cudaLaunchKernel: launch_check.cuh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gather_launch.h"
#include "kernel_launch.h"
#include "mock_internal.h"

#define MAX_KERNELS 256

static struct {
    const void *host_fun;
    char name[128];
} kernels[MAX_KERNELS];
static int nkernels, unrecorded;

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
    if (nkernels < MAX_KERNELS && strlen(device_name) < sizeof kernels[0].name) {
        kernels[nkernels].host_fun = host_fun;
        snprintf(kernels[nkernels].name, sizeof kernels[nkernels].name, "%s", device_name);
        nkernels++;
    } else {
        unrecorded++;
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

int mockcuda_kernels_registered(int *runnable)
{
    mk_lock();
    int n = nkernels + unrecorded, ok = 0;
    for (int i = 0; i < nkernels; i++) {
        const mk_kernel *k = mk_kernel_by_name(kernels[i].name);
        if (k != NULL)
            ok++;
        else
            fprintf(stderr, "mock_cuda: no emulator for the registered kernel %s\n", kernels[i].name);
    }
    mk_unlock();
    *runnable = ok;
    return n;
}

/* The plan of the library's launch in progress on this thread. */
static _Thread_local const fsd_plan *launching_plan;
static _Thread_local const fsd_gather_plan *launching_gather;
static _Thread_local const fsd_plan *launching_checksum;

cudaError_t __real_fsdk_launch(const fsd_plan *plan, cudaStream_t stream);
cudaError_t __wrap_fsdk_launch(const fsd_plan *plan, cudaStream_t stream);
cudaError_t __real_fsdk_launch_gather(const fsd_gather_plan *plan, cudaStream_t stream);
cudaError_t __wrap_fsdk_launch_gather(const fsd_gather_plan *plan, cudaStream_t stream);

cudaError_t __wrap_fsdk_launch(const fsd_plan *plan, cudaStream_t stream)
{
    launching_plan = plan;
    launching_gather = NULL;
    cudaError_t e = __real_fsdk_launch(plan, stream);
    launching_plan = NULL;
    return e;
}

cudaError_t __real_fsdk_launch_checksum(const fsd_plan *plan, uint64_t *sum, cudaStream_t stream);
cudaError_t __wrap_fsdk_launch_checksum(const fsd_plan *plan, uint64_t *sum, cudaStream_t stream);

cudaError_t __wrap_fsdk_launch_checksum(const fsd_plan *plan, uint64_t *sum, cudaStream_t stream)
{
    launching_plan = NULL;
    launching_gather = NULL;
    launching_checksum = plan;
    /* The rule of mk_launch_checksum (mock_launch.c): S's atomics go to device memory. */
    mk_lock();
    const mk_alloc *a = mk_find(sum, sizeof *sum);
    const int host = a == NULL || a->kind != MK_MEM_DEVICE;
    if (host)
        mk_violation("checksum kernel: S (%p) is added with device atomics into host memory, "
                     "atomic only with the platform's PCIe atomics", (void *)sum);
    mk_unlock();
    if (host)
        return cudaErrorInvalidValue;
    cudaError_t e = __real_fsdk_launch_checksum(plan, sum, stream);
    launching_checksum = NULL;
    return e;
}

cudaError_t __wrap_fsdk_launch_gather(const fsd_gather_plan *plan, cudaStream_t stream)
{
    launching_plan = NULL;
    launching_gather = plan;
    cudaError_t e = __real_fsdk_launch_gather(plan, stream);
    launching_gather = NULL;
    return e;
}

/* The mangled name (up to its template arguments' end) of the kernel a plan calls for. */
static void plan_kernel(const fsd_plan *p, char *buf, size_t n)
{
    const char idx = p->index64 ? 'm' : 'j'; /* uint64_t, uint32_t */
    if (p->path == FSD_PATH_TRANSPOSE) {
        const int d = p->ndim <= 4 ? 4 : FSD_PLAN_MAX_DIMS;
        if (p->tiles16)
            snprintf(buf, n, "_Z22fsd_transpose16_kernelILj%uE%cLi%dEE", p->elem_size, idx, d);
        else
            snprintf(buf, n, "_Z20fsd_transpose_kernelI%cLi%dEE", idx, d);
    } else if (p->path == FSD_PATH_GENERIC) {
        snprintf(buf, n, "_Z15fsd_runs_kernelILin1E%cLi%dEE", idx, p->ndim <= 16 ? 16 : FSD_PLAN_MAX_DIMS);
    } else {
        snprintf(buf, n, "_Z15fsd_runs_kernelILi%dE%cLi%dEE", p->ndim, idx, FSD_RUNS_MAX_DIMS);
    }
}

static void gather_kernel(const fsd_gather_plan *p, char *buf, size_t n)
{
    const char *t = p->word == 16 ? "5uint4" : p->word == 8 ? "5uint2" : p->word == 4 ? "j"
                  : p->word == 2 ? "t" : "h";
    /* The unrolled loop exists for 16-byte words and FSD_GATHER_UNROLLED_DIMS dims. */
    const int unrolled = p->word == 16 && p->ndim == FSD_GATHER_UNROLLED_DIMS;
    char nd[16];
    snprintf(nd, sizeof nd, unrolled ? "Li%dE" : "Lin1E", FSD_GATHER_UNROLLED_DIMS);
    snprintf(buf, n, "_Z17fsd_gather_kernelI%sLi%uE%s%cE", t, p->lane_words, nd, p->index64 ? 'm' : 'j');
}

static int is_kernel(const char *name, const char *want)
{
    const size_t n = strlen(want);
    return strncmp(name, want, n) == 0 && name[n] == 'v';
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
    const mk_kernel *k = mk_kernel_by_name(name);
    if (k == NULL) {
        mk_violation("cudaLaunchKernel of %s: no emulator for it (tests/mock_cuda/mock_kernels.cu)", name);
        return mk_leave(cudaErrorInvalidDeviceFunction);
    }
    char want[128];
    uint32_t pgrid, pblock;
    if (launching_plan != NULL) {
        plan_kernel(launching_plan, want, sizeof want);
        pgrid = launching_plan->grid;
        pblock = launching_plan->block;
    } else if (launching_checksum != NULL) {
        /* fsd_cs_kernel<cs_word, I, D>, D the smallest of 4, 16, 64 that holds the plan's dims */
        const fsd_plan *p = launching_checksum;
        if (p->cs_transpose) /* fsd_cst_kernel<elem_size, I, 4 or 64> */
            snprintf(want, sizeof want, "_Z14fsd_cst_kernelILj%uE%cLi%dEE", p->elem_size,
                     p->index64 ? 'm' : 'j', p->ndim <= 4 ? 4 : FSD_PLAN_MAX_DIMS);
        else
            snprintf(want, sizeof want, "_Z13fsd_cs_kernelILj%uE%cLi%dEE", p->cs_word,
                     p->index64 ? 'm' : 'j', p->ndim <= 4 ? 4 : p->ndim <= 16 ? 16 : FSD_PLAN_MAX_DIMS);
        pgrid = p->cs_grid;
        pblock = p->block;
    } else if (launching_gather != NULL) {
        gather_kernel(launching_gather, want, sizeof want);
        pgrid = launching_gather->grid;
        pblock = launching_gather->block;
    } else {
        mk_violation("cudaLaunchKernel of %s outside fsdk_launch, fsdk_launch_checksum and "
                     "fsdk_launch_gather", name);
        return mk_leave(cudaErrorInvalidDeviceFunction);
    }
    if (!is_kernel(name, want)) {
        /* The wrong kernel would read its parameter as another type: not run. */
        mk_violation("cudaLaunchKernel: the plan calls for %s..., launched %s", want, name);
        return mk_leave(cudaErrorInvalidDeviceFunction);
    }
    if (grid.x != pgrid || grid.y != 1 || grid.z != 1 || block.x != pblock || block.y != 1 ||
        block.z != 1 || shared_bytes != 0)
        mk_violation("cudaLaunchKernel of %s: grid %ux%ux%u, block %ux%ux%u, %zu shared bytes; the "
                     "plan has grid %u, block %u", name, grid.x, grid.y, grid.z, block.x, block.y,
                     block.z, shared_bytes, pgrid, pblock);
    if (launching_plan != NULL) {
        unsigned char *built = malloc(k->args_bytes);
        if (built == NULL)
            abort();
        k->args_of(launching_plan, built);
        if (memcmp(args[0], built, k->args_bytes) != 0)
            mk_violation("cudaLaunchKernel of %s: its parameter is not the one kernel_args.cuh "
                         "builds for the plan", name);
        free(built);
        e = mk_launch_kernel(launching_plan, stream, k, grid.x, block.x, args[0]);
    } else if (launching_checksum != NULL) {
        /* Its parameter also holds where S goes: not compared with one built from the plan. */
        e = mk_launch_kernel(launching_checksum, stream, k, grid.x, block.x, args[0]);
    } else {
        e = mk_launch_gather((const fsd_gather_plan *)args[0], stream, k);
    }
    return mk_leave(e);
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
