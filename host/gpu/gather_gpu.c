/* gather_gpu.c — the kernel and copy-engine paths of paged gathers (see gather_gpu.h). */
#include <string.h>

#include "device.h"
#include "error.h"
#include "gather_gpu.h"
#include "gather_launch.h"
#include "gpu_dispatch.h"
#include "kv_walk.h"
#include "memkind.h"

fsd_status fsd_gather_kernel(const fsd_kv *kv, void *packed, fsd_direction dir,
                             const fsd_gather_options *opts, cudaStream_t stream)
{
    int prev = 0;
    uint32_t sms = 0;
    fsd_status st = fsd_gpu_enter(kv->device_id, &prev, &sms);
    if (st != FSD_SUCCESS)
        return st;
    /* A packed side the GPU cannot reach is refused before anything is enqueued. */
    st = fsd_check_gpu_access(packed, (size_t)kv->total_bytes, kv->device_id,
                              dir == FSD_DIR_PACK ? "dst" : "src");
    if (st == FSD_SUCCESS) {
        fsd_gather_plan plan;
        fsd_gather_plan_build(kv, packed, dir, opts ? opts->invalid_slots : NULL, sms,
                              opts ? opts->max_blocks : 0, &plan);
        cudaError_t e = fsdk_launch_gather(&plan, stream);
        if (e != cudaSuccess)
            st = fsd_cuda_failure(e, "gather kernel launch");
    }
    fsd_device_leave(kv->device_id, prev);
    return st;
}

/* The pieces of one batch, and how they are submitted. */
typedef struct ce_job {
    char *packed;
    int pack;
    int batched;       /* cudaMemcpyBatchAsync (not on the legacy default stream) */
    cudaStream_t stream;
    size_t n;
    void *dst[FSD_GATHER_BATCH];
    const void *src[FSD_GATHER_BATCH];
    size_t size[FSD_GATHER_BATCH];
    cudaError_t error; /* the first failure; nothing more is submitted after it */
    const char *call;
} ce_job;

static void submit(ce_job *j)
{
    if (j->n == 0 || j->error != cudaSuccess)
        return;
    if (j->batched) {
        struct cudaMemcpyAttributes attr;
        memset(&attr, 0, sizeof attr);
        attr.srcAccessOrder = cudaMemcpySrcAccessOrderStream;
        attr.flags = cudaMemcpyFlagPreferOverlapWithCompute;
        size_t first = 0;
        cudaError_t e = cudaMemcpyBatchAsync(j->dst, j->src, j->size, j->n, &attr, &first, 1, j->stream);
        if (e == cudaSuccess) {
            j->n = 0;
            return;
        }
        if (e != cudaErrorNotSupported && e != cudaErrorCallRequiresNewerDriver) {
            j->error = e;
            j->call = "cudaMemcpyBatchAsync";
            return;
        }
        /* A driver without batched copies: one call per copy from here on. The error is
         * this call's: forgotten only if it is still the thread's last one. */
        fsd_cuda_forget(e);
        j->batched = 0;
    }
    for (size_t i = 0; i < j->n; i++) {
        cudaError_t e = cudaMemcpyAsync(j->dst[i], j->src[i], j->size[i], cudaMemcpyDefault, j->stream);
        if (e != cudaSuccess) {
            j->error = e;
            j->call = "cudaMemcpyAsync";
            return;
        }
    }
    j->n = 0;
}

static void add_piece(void *arg, char *cache, uint64_t packed_off, uint64_t bytes)
{
    ce_job *j = arg;
    char *packed = j->packed + packed_off;
    j->dst[j->n] = j->pack ? packed : cache;
    j->src[j->n] = j->pack ? cache : packed;
    j->size[j->n] = (size_t)bytes;
    if (++j->n == FSD_GATHER_BATCH)
        submit(j);
}

/* The copy engines may not be captured: the host reads the slots during the call, so a graph
 * would replay the blocks of the capture's slots whatever the slots hold later, and
 * cudaMemcpyBatchAsync has no graph node (it fails on a capturing stream). Refused before
 * anything is enqueued, the capture left as it was (as the round trip through pageable
 * memory is). */
static fsd_status refuse_capture(cudaStream_t stream, const char *fn)
{
    enum cudaStreamCaptureStatus cs = cudaStreamCaptureStatusNone;
    cudaError_t e = cudaStreamIsCapturing(stream, &cs);
    if (e != cudaSuccess)
        return fsd_cuda_failure(e, "cudaStreamIsCapturing");
    if (cs == cudaStreamCaptureStatusActive)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "%s on a capturing stream with the copy engines: "
                        "they read the slots on the host during the call and cannot be captured; "
                        "use FSD_ENGINE_KERNEL with the slots in memory the GPU reads", fn);
    if (cs == cudaStreamCaptureStatusInvalidated)
        return fsd_fail(FSD_ERROR_CUDA, "%s: the stream's capture has been invalidated by an "
                        "earlier error; end it (cudaStreamEndCapture) first", fn);
    return FSD_SUCCESS;
}

fsd_status fsd_gather_copy_engines(const fsd_kv *kv, void *packed, fsd_direction dir,
                                   cudaStream_t stream)
{
    int prev = 0;
    uint32_t sms = 0;
    fsd_status st = fsd_gpu_enter(kv->device_id, &prev, &sms);
    if (st != FSD_SUCCESS)
        return st;
    if ((st = refuse_capture(stream, dir == FSD_DIR_PACK ? "fsd_gather" : "fsd_scatter")) != FSD_SUCCESS) {
        fsd_device_leave(kv->device_id, prev);
        return st;
    }
    ce_job j;
    j.packed = packed;
    j.pack = dir == FSD_DIR_PACK;
    j.batched = stream != NULL && stream != cudaStreamLegacy;
    j.stream = stream;
    j.n = 0;
    j.error = cudaSuccess;
    j.call = NULL;
    fsd_kv_walk(kv, 0, kv->num_runs, add_piece, &j);
    submit(&j);
    if (j.error != cudaSuccess)
        st = fsd_cuda_failure(j.error, j.call);
    fsd_device_leave(kv->device_id, prev);
    return st;
}
