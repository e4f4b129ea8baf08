/* gather_api.c — the paged-gather entry points of fastserde.h: validate, then the CPU, the
 * kernel or the copy engines. */
#include "context.h"
#include "error.h"
#include "gather_cpu.h"
#include "gather_gpu.h"
#include "kv_walk.h"
#include "nvtx.h"

fsd_status fsd_gather_size(const fsd_kv_layout *layout, const DLTensor *slots, size_t *nbytes)
{
    if (nbytes == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "nbytes is NULL");
    fsd_kv kv;
    fsd_status st = fsd_kv_from_args(layout, slots, NULL, NULL, &kv);
    if (st != FSD_SUCCESS)
        return st;
    if (kv.total_bytes > SIZE_MAX)
        return fsd_fail(FSD_ERROR_OVERFLOW, "the gather size does not fit in size_t");
    *nbytes = (size_t)kv.total_bytes;
    fsd_clear_error();
    return FSD_SUCCESS;
}

/* Validates and copies between the cache and `packed` (size `size`). */
static fsd_status run(const fsd_kv_layout *layout, const DLTensor *slots, const int *order,
                      void *packed, size_t size, fsd_direction dir, const fsd_gather_options *opts,
                      cudaStream_t stream)
{
    const int pack = dir == FSD_DIR_PACK;
    const char *what = pack ? "dst" : "src";
    fsd_kv kv;
    fsd_status st = fsd_kv_from_args(layout, slots, order, opts, &kv);
    if (st != FSD_SUCCESS)
        return st;
    if (packed == NULL && kv.total_bytes > 0)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "%s is NULL but the gather has %llu bytes", what,
                        (unsigned long long)kv.total_bytes);
    if (pack ? size < kv.total_bytes : size != kv.total_bytes)
        return fsd_fail(FSD_ERROR_SIZE_MISMATCH, "%s_size is %zu bytes, the gather has %llu", what,
                        size, (unsigned long long)kv.total_bytes);
    if (kv.total_bytes == 0) {
        fsd_clear_error();
        return FSD_SUCCESS;
    }
    if (!pack && (st = fsd_kv_check_unaliased(layout, &kv)) != FSD_SUCCESS)
        return st;
    if (kv.engine != FSD_KV_KERNEL && (st = fsd_kv_check_slots(&kv)) != FSD_SUCCESS)
        return st;
    FSD_RANGE_PUSH(pack ? FSD_NVTX_GATHER : FSD_NVTX_SCATTER, kv.total_bytes);
    switch (kv.engine) {
    case FSD_KV_CPU:
        fsd_gather_cpu(&kv, packed, dir, opts && opts->context ? opts->context->pool : NULL);
        break;
    case FSD_KV_KERNEL:
        st = fsd_gather_kernel(&kv, packed, dir, opts, stream);
        break;
    case FSD_KV_COPY:
        st = fsd_gather_copy_engines(&kv, packed, dir, stream);
        break;
    }
    FSD_RANGE_POP();
    if (st == FSD_SUCCESS)
        fsd_clear_error();
    return st;
}

fsd_status fsd_gather(const fsd_kv_layout *kv, const DLTensor *slots, const int *order, void *dst,
                      size_t dst_size, const fsd_gather_options *opts, cudaStream_t stream)
{
    return run(kv, slots, order, dst, dst_size, FSD_DIR_PACK, opts, stream);
}

fsd_status fsd_scatter(const void *src, size_t src_size, const fsd_kv_layout *kv,
                       const DLTensor *slots, const int *order, const fsd_gather_options *opts,
                       cudaStream_t stream)
{
    return run(kv, slots, order, (void *)src, src_size, FSD_DIR_UNPACK, opts, stream);
}

/* Counts the pieces, or writes them into runs[]. */
typedef struct runs_job {
    char *packed;
    int gather;
    fsd_copy_run *runs;
    size_t n;
} runs_job;

static void list_piece(void *arg, char *cache, uint64_t packed_off, uint64_t bytes)
{
    runs_job *j = arg;
    if (j->runs != NULL) {
        /* Integer arithmetic: packed may be NULL (offsets from 0). */
        char *packed = (char *)((uintptr_t)j->packed + packed_off);
        fsd_copy_run *r = &j->runs[j->n];
        r->dst = j->gather ? packed : cache;
        r->src = j->gather ? cache : packed;
        r->bytes = (size_t)bytes;
    }
    j->n++;
}

fsd_status fsd_gather_runs(const fsd_kv_layout *layout, const DLTensor *slots, const int *order,
                           fsd_kv_direction direction, void *packed, fsd_copy_run *runs,
                           size_t capacity, size_t *count)
{
    if (count == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "count is NULL");
    if (direction != FSD_KV_GATHER && direction != FSD_KV_SCATTER)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "direction %d", (int)direction);
    if (runs == NULL && capacity > 0)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "runs is NULL with capacity %zu", capacity);
    fsd_kv kv;
    fsd_status st = fsd_kv_for_runs(layout, slots, order, &kv);
    if (st != FSD_SUCCESS)
        return st;
    if (kv.total_bytes == 0) {
        *count = 0;
        fsd_clear_error();
        return FSD_SUCCESS;
    }
    if ((st = fsd_kv_check_slots(&kv)) != FSD_SUCCESS)
        return st;
    runs_job j = {packed, direction == FSD_KV_GATHER, NULL, 0};
    fsd_kv_walk(&kv, 0, kv.num_runs, list_piece, &j);
    *count = j.n;
    if (runs == NULL && capacity == 0) {
        fsd_clear_error();
        return FSD_SUCCESS;
    }
    if (capacity < j.n)
        return fsd_fail(FSD_ERROR_SIZE_MISMATCH, "%zu runs, capacity %zu", j.n, capacity);
    j.runs = runs;
    j.n = 0;
    fsd_kv_walk(&kv, 0, kv.num_runs, list_piece, &j);
    fsd_clear_error();
    return FSD_SUCCESS;
}
