/* roundtrip.c — fsd_pack_to_host and fsd_unpack_from_host: host tensors on the context's CPU
 * threads, CUDA tensors through the staged transfer (transfer.c). */
#include "context.h"
#include "cpu_parallel.h"
#include "error.h"
#include "layout.h"
#include "memkind.h"
#include "transfer.h"

/* The host buffer of a host tensor must not be device memory (the CPU would fault on it). A
 * context without a GPU has no device memory to tell apart: nothing to ask. */
static fsd_status check_host_buffer(const fsd_context *ctx, const void *p, uint64_t n,
                                   const char *what)
{
    return ctx->device < 0 ? FSD_SUCCESS : fsd_check_host_access(p, (size_t)n, what);
}

fsd_status fsd_pack_to_host(fsd_context *ctx, const DLTensor *src, void *host_dst,
                            size_t host_dst_size, cudaStream_t stream)
{
    if (ctx == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "ctx is NULL");
    fsd_layout l;
    fsd_status st = fsd_layout_for_pack(src, host_dst, host_dst_size, &l);
    if (st == FSD_SUCCESS && l.total_bytes > 0) {
        if (l.place == FSD_PLACE_HOST) {
            if ((st = check_host_buffer(ctx, host_dst, l.total_bytes, "host_dst")) == FSD_SUCCESS)
                fsd_cpu_execute_parallel(ctx->pool, &l, host_dst, FSD_DIR_PACK);
        } else {
            st = fsd_transfer_pack(ctx, &l, host_dst, NULL, stream);
        }
    }
    if (st == FSD_SUCCESS)
        fsd_clear_error();
    return st;
}

fsd_status fsd_unpack_from_host(fsd_context *ctx, const void *host_src, size_t host_src_size,
                                const DLTensor *dst, cudaStream_t stream)
{
    if (ctx == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "ctx is NULL");
    fsd_layout l;
    fsd_status st = fsd_layout_for_unpack(host_src, host_src_size, dst, &l);
    if (st == FSD_SUCCESS && l.total_bytes > 0) {
        if (l.place == FSD_PLACE_HOST) {
            if ((st = check_host_buffer(ctx, host_src, l.total_bytes, "host_src")) == FSD_SUCCESS)
                fsd_cpu_execute_parallel(ctx->pool, &l, (void *)host_src, FSD_DIR_UNPACK);
        } else {
            st = fsd_transfer_unpack(ctx, &l, host_src, NULL, stream);
        }
    }
    if (st == FSD_SUCCESS)
        fsd_clear_error();
    return st;
}
