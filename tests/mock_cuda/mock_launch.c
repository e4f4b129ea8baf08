/*
 * mock_launch.c — a kernel launch of a plan for the stand-in runtime, shared by the two ways
 * kernels reach it (mock_fsdk_launch.c: the mock's own fsdk_launch; mock_kernel_api.c:
 * cudaLaunchKernel from the library's real kernels/launch.cu): the plan is checked the way the
 * GPU would fault on it (both sides must be memory the stream's device can reach: its device
 * memory or pinned host memory), copied, and queued as a kernel op that runs on the emulated
 * grid (tests/kernels/emulated_grid.h) when the scheduler gets to it.
 */
#include <stdlib.h>
#include <string.h>

#include "kernel_launch.h"
#include "mock_internal.h"

/* 1 when [p + lo, p + hi) lies in one allocation the GPU of `device` can reach. */
static int reachable(const char *p, int64_t lo, int64_t hi, int device, const char *what)
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

cudaError_t mk_launch_plan(const fsd_plan *plan, cudaStream_t stream, int index64)
{
    cudaError_t e = cudaSuccess;
    mk_stream *s = mk_stream_get(stream, &e);
    if (s != NULL && (e = mk_capture_gate(s)) != cudaSuccess)
        s = NULL;
    if (s == NULL || plan->path == FSD_PATH_EMPTY)
        return e;
    if ((unsigned)plan->path >= FSD_PATH_COUNT)
        return cudaErrorInvalidValue;
    if (s->device != mk_current_device()) {
        mk_violation("kernel launched on a stream of device %d while device %d is current",
                     s->device, mk_current_device());
        return cudaErrorInvalidResourceHandle;
    }
    if (plan->grid == 0 || plan->block == 0 || plan->block > 1024) {
        mk_violation("kernel with grid %u, block %u", plan->grid, plan->block);
        return cudaErrorInvalidConfiguration;
    }
    /* The strided side's extent over the whole tensor, the packed side's over [begin, end). */
    int64_t lo = 0, hi = (int64_t)plan->run_bytes;
    for (int d = 0; d < plan->ndim; d++) {
        int64_t span = (int64_t)(plan->shape[d] - 1) * plan->stride[d];
        if (span < 0)
            lo += span;
        else
            hi += span;
    }
    if (!reachable(plan->strided, lo, hi, s->device, "strided") ||
        !reachable(plan->packed, 0, (int64_t)(plan->end - plan->begin), s->device, "packed"))
        return cudaErrorIllegalAddress;
    mk_op *op = calloc(1, sizeof *op);
    op->kind = MK_OP_KERNEL;
    op->plan = malloc(sizeof *op->plan);
    memcpy(op->plan, plan, sizeof *plan);
    op->index64 = index64;
    mk_enqueue(s, op, NULL, 0);
    return cudaSuccess;
}
