/*
 * mock_launch.c — a kernel launch of a plan for the stand-in runtime, shared by the two ways
 * kernels reach it (mock_fsdk_launch.c: the mock's own fsdk_launch; mock_kernel_api.c:
 * cudaLaunchKernel from the library's real kernels/launch.cu): the plan is checked the way the
 * GPU would fault on it (both sides must be memory the stream's device can reach: its device
 * memory or pinned host memory), copied, and queued as an op that runs on the emulated grid
 * when the scheduler gets to it: the plan itself (tests/kernels/emulated_grid.h) for the
 * mock's fsdk_launch, the launched kernel over the parameter it was given for the real ones.
 */
#include <stdlib.h>
#include <string.h>

#include "emulated_grid.h"
#include "kernel_launch.h"
#include "mock_internal.h"

int mk_reachable(const char *p, int64_t lo, int64_t hi, int device, const char *what)
{
    const mk_alloc *a = mk_find(p + lo, (size_t)(hi - lo));
    if (a == NULL) {
        mk_violation("kernel: the %s side [%p, +%lld) is not in one device or pinned allocation",
                     what, (void *)(p + lo), (long long)(hi - lo));
        return 0;
    }
    if (a->kind == MK_MEM_DEVICE && a->device != device) {
        mk_violation("kernel on device %d: the %s side is memory of device %d", device, what,
                     a->device);
        return 0;
    }
    return 1;
}

cudaError_t mk_check_launch(const mk_stream *s, uint32_t grid, uint32_t block)
{
    if (s->device != mk_current_device()) {
        mk_violation("kernel launched on a stream of device %d while device %d is current",
                     s->device, mk_current_device());
        return cudaErrorInvalidResourceHandle;
    }
    if (grid == 0 || block == 0 || block > 1024) {
        mk_violation("kernel with grid %u, block %u", grid, block);
        return cudaErrorInvalidConfiguration;
    }
    return cudaSuccess;
}

mk_stream *mk_launch_stream(cudaStream_t stream, cudaError_t *err)
{
    *err = cudaSuccess;
    mk_stream *s = mk_stream_get(stream, err);
    if (s != NULL && (*err = mk_capture_gate(s)) != cudaSuccess)
        return NULL;
    return s;
}

/* What a GPU would fault on before a kernel of `plan` runs on s. */
static cudaError_t check_plan(const mk_stream *s, const fsd_plan *plan)
{
    if ((unsigned)plan->path >= FSD_PATH_COUNT)
        return cudaErrorInvalidValue;
    cudaError_t e = mk_check_launch(s, plan->grid, plan->block);
    if (e != cudaSuccess)
        return e;
    /* The strided side's extent over the whole tensor, the packed side's over [begin, end). */
    int64_t lo = 0, hi = (int64_t)plan->run_bytes;
    for (int d = 0; d < plan->ndim; d++) {
        int64_t span = (int64_t)(plan->shape[d] - 1) * plan->stride[d];
        if (span < 0)
            lo += span;
        else
            hi += span;
    }
    if (!mk_reachable(plan->strided, lo, hi, s->device, "strided") ||
        !mk_reachable(plan->packed, 0, (int64_t)(plan->end - plan->begin), s->device, "packed"))
        return cudaErrorIllegalAddress;
    return cudaSuccess;
}

cudaError_t mk_launch_plan(const fsd_plan *plan, cudaStream_t stream, int index64)
{
    cudaError_t e;
    mk_stream *s = mk_launch_stream(stream, &e);
    if (s == NULL || plan->path == FSD_PATH_EMPTY)
        return e;
    if ((e = check_plan(s, plan)) != cudaSuccess)
        return e;
    mk_op *op = calloc(1, sizeof *op);
    op->kind = MK_OP_KERNEL;
    op->plan = malloc(sizeof *op->plan);
    memcpy(op->plan, plan, sizeof *plan);
    op->index64 = index64;
    mk_enqueue(s, op, NULL, 0);
    return cudaSuccess;
}

/* The checksum pack: the plan (its own copy) and where S goes. */
typedef struct checksum_op {
    fsd_plan plan;
    uint64_t *sum;
} checksum_op;

static void run_checksum(void *arg)
{
    const checksum_op *o = arg;
    mk_check_ready(o->plan.packed, "checksum kernel");
    mk_check_ready(o->plan.strided, "checksum kernel");
    mk_check_ready((const char *)o->sum, "checksum kernel");
    uint64_t s = 0;
    if (fsdt_emulate_checksum(&o->plan, 0, (int)(mk_rand() & 1), &s) != 0)
        mk_violation("checksum kernel: the emulator refused the plan");
    *o->sum += s;
    mk.kernels++;
}

cudaError_t mk_launch_checksum(const fsd_plan *plan, uint64_t *sum, cudaStream_t stream)
{
    cudaError_t e;
    mk_stream *s = mk_launch_stream(stream, &e);
    if (s == NULL || plan->path == FSD_PATH_EMPTY || plan->total_bytes == 0)
        return e;
    if (plan->dir != FSD_DIR_PACK || plan->begin != 0 || plan->end != plan->total_bytes ||
        plan->cs_tiles == 0)
        return cudaErrorInvalidValue;
    if ((e = check_plan(s, plan)) != cudaSuccess)
        return e;
    if (!mk_reachable((const char *)sum, 0, (int64_t)sizeof *sum, s->device, "sum"))
        return cudaErrorIllegalAddress;
    /* The kernels add S with atomicAdd: on host memory (pinned, mapped) a GPU's atomics are
     * atomic only where the platform has PCIe atomics (cudaDevAttrHostNativeAtomicSupported),
     * which the library may not assume. */
    const mk_alloc *sa = mk_find(sum, sizeof *sum);
    if (sa == NULL || sa->kind != MK_MEM_DEVICE) {
        mk_violation("checksum kernel: S (%p) is added with device atomics into host memory, "
                     "atomic only with the platform's PCIe atomics", (void *)sum);
        return cudaErrorInvalidValue;
    }
    checksum_op *o = malloc(sizeof *o);
    if (o == NULL)
        abort();
    o->plan = *plan;
    o->sum = sum;
    mk_enqueue_call(s, run_checksum, o, sizeof *o, 1, MOCKCUDA_SPAN_KERNEL, (size_t)plan->total_bytes);
    return cudaSuccess;
}

/* A launched kernel of the real launch.cu: the kernel, its grid, the plan's two sides (for
 * the stream-ordered allocation checks) and a copy of the parameter it was given. */
typedef struct kernel_op {
    const mk_kernel *k;
    uint32_t grid, block;
    const char *strided, *packed;
    unsigned char args[];
} kernel_op;

static void run_kernel(void *arg)
{
    const kernel_op *o = arg;
    mk_check_ready(o->packed, "kernel");
    mk_check_ready(o->strided, "kernel");
    o->k->run(o->args, o->grid, o->block);
    mk.kernels++;
}

cudaError_t mk_launch_kernel(const fsd_plan *plan, cudaStream_t stream, const mk_kernel *k,
                             uint32_t grid, uint32_t block, const void *args)
{
    cudaError_t e;
    mk_stream *s = mk_launch_stream(stream, &e);
    if (s == NULL)
        return e;
    if ((e = check_plan(s, plan)) != cudaSuccess)
        return e;
    const size_t size = sizeof(kernel_op) + k->args_bytes;
    kernel_op *o = malloc(size);
    if (o == NULL)
        abort();
    o->k = k;
    o->grid = grid;
    o->block = block;
    o->strided = plan->strided;
    o->packed = plan->packed;
    memcpy(o->args, args, k->args_bytes);
    mk_enqueue_call(s, run_kernel, o, size, 1, MOCKCUDA_SPAN_KERNEL, (size_t)(plan->end - plan->begin));
    return cudaSuccess;
}
