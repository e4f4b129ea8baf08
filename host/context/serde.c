/* serde.c — the seed's API: fsd_to_bytes / fsd_bytes_free and fsd_from_bytes, on top of the
 * round trip (roundtrip.c). */
#define _DEFAULT_SOURCE /* madvise */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "context.h"
#include "cpu_parallel.h"
#include "error.h"
#include "frame.h"
#include "layout.h"
#include "transfer.h"

/* Large new buffers come fresh from the kernel (glibc maps them), so their first write faults
 * every page in: asking for transparent huge pages (where the system grants them on request)
 * makes that 512 times fewer faults. Advice only; nothing changes where it is refused. */
static void advise_huge_pages(void *p, size_t n)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (p != NULL && n >= 2 * huge) {
        uintptr_t first = ((uintptr_t)p + huge - 1) & ~(huge - 1);
        uintptr_t last = ((uintptr_t)p + n) & ~(huge - 1);
        if (last > first)
            (void)madvise((void *)first, last - first, MADV_HUGEPAGE);
    }
#else
    (void)p;
    (void)n;
#endif
}

/* A new buffer for fsd_to_bytes: malloc, not the context's hooks (fsd_bytes_free has no
 * context). */
static void *alloc_bytes(size_t n)
{
    void *p = malloc(n);
    advise_huge_pages(p, n);
    return p;
}

fsd_status fsd_to_bytes(fsd_context *ctx, const DLTensor *src, void **bytes, size_t *size)
{
    if (bytes == NULL || size == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "bytes or size is NULL");
    *bytes = NULL;
    *size = 0;
    if (ctx == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "ctx is NULL");
    size_t n;
    fsd_status st = fsd_packed_size(src, &n);
    if (st != FSD_SUCCESS || n == 0)
        return st;
    void *buf = alloc_bytes(n);
    if (buf == NULL)
        return fsd_fail(FSD_ERROR_OUT_OF_MEMORY, "fsd_to_bytes: cannot allocate %zu bytes", n);
    /* Pageable destination: the bytes are in place when this returns. */
    st = fsd_pack_to_host(ctx, src, buf, n, NULL);
    if (st != FSD_SUCCESS) {
        free(buf);
        return st;
    }
    *bytes = buf;
    *size = n;
    return FSD_SUCCESS;
}

void fsd_bytes_free(void *bytes)
{
    free(bytes);
}

/* One host block holds the DLManagedTensor and what its deleter needs. */
typedef struct owned_tensor {
    DLManagedTensor managed;
    int64_t shape[1];
    int64_t strides[1];
    fsd_alloc alloc;   /* how data and this block were allocated */
    int on_device;     /* data from FSD_ALLOC_DEVICE on managed.dl_tensor.device.device_id */
    fsd_alloc_how how; /* on_device: hooks, cudaMalloc, or the context's pool */
} owned_tensor;

static void free_owned(owned_tensor *o)
{
    void *data = o->managed.dl_tensor.data;
    if (o->on_device) {
        int prev = -1, dev = o->managed.dl_tensor.device.device_id;
        /* errors are not reported (a deleter has no status) and not left for the caller's
         * cudaGetLastError; an error the caller left pending is kept */
        fsd_cuda_forget(cudaGetDevice(&prev));
        if (prev != dev)
            fsd_cuda_forget(cudaSetDevice(dev));
        fsd_free_device_ordered(&o->alloc, data, dev, o->how);
        if (prev >= 0 && prev != dev)
            fsd_cuda_forget(cudaSetDevice(prev));
    } else {
        fsd_free_host(&o->alloc, data);
    }
    fsd_alloc a = o->alloc;
    fsd_free_host(&a, o);
}

static void owned_deleter(DLManagedTensor *self)
{
    free_owned((owned_tensor *)self); /* `managed` is the first member */
}

/* Allocates the tensor's data: host memory, or device memory on the context's GPU. */
static fsd_status alloc_data(fsd_context *ctx, owned_tensor *o, size_t n)
{
    size_t want = n ? n : 1; /* a valid pointer even for no elements */
    if (!o->on_device) {
        o->managed.dl_tensor.data = fsd_alloc_host(&ctx->alloc, want);
        if (ctx->alloc.hooks.alloc == NULL) /* the caller's hooks place their memory themselves */
            advise_huge_pages(o->managed.dl_tensor.data, want);
    } else {
        int prev;
        fsd_status st = fsd_context_enter(ctx, &prev);
        if (st != FSD_SUCCESS)
            return st;
        /* stream-ordered on the copy stream, which the H2D into it follows */
        o->managed.dl_tensor.data = fsd_alloc_device_ordered(&ctx->alloc, want, ctx->device,
                                                             ctx->mem_pool, ctx->copy_stream,
                                                             &o->how);
        fsd_context_leave(ctx, prev);
    }
    if (o->managed.dl_tensor.data == NULL)
        return fsd_fail(FSD_ERROR_OUT_OF_MEMORY, "fsd_from_bytes: cannot allocate %zu bytes%s", want,
                        o->on_device ? " on the GPU" : "");
    return FSD_SUCCESS;
}

/* Blocks until the context's streams have done the work of the call that just returned (its
 * end events, made with cudaEventBlockingSync: the thread sleeps rather than spin). Not the
 * legacy stream: that one belongs to whichever device is current, which need not be the
 * context's. */
static fsd_status wait_for_context(fsd_context *ctx)
{
    int prev;
    fsd_status st = fsd_context_enter(ctx, &prev);
    if (st != FSD_SUCCESS)
        return st;
    cudaError_t e = cudaEventSynchronize(ctx->copy_done);
    if (e == cudaSuccess)
        e = cudaEventSynchronize(ctx->pack_done);
    if (e != cudaSuccess)
        st = fsd_cuda_failure(e, "fsd_from_bytes: cudaEventSynchronize");
    fsd_context_leave(ctx, prev);
    return st;
}

static fsd_status check_from_bytes(const fsd_context *ctx, const void *bytes, size_t size,
                                   DLDataType dtype, DLDevice device)
{
    if (ctx == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "ctx is NULL");
    if (bytes == NULL && size > 0)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "bytes is NULL but size is %zu", size);
    if (dtype.bits == 0 || dtype.lanes == 0)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "dtype has %u bits and %u lanes",
                        (unsigned)dtype.bits, (unsigned)dtype.lanes);
    if (dtype.bits % 8 != 0)
        return fsd_fail(FSD_ERROR_UNSUPPORTED, "dtype of %u bits is not a whole number of bytes",
                        (unsigned)dtype.bits);
    size_t esize = (size_t)(dtype.bits / 8) * dtype.lanes;
    if (size % esize != 0)
        return fsd_fail(FSD_ERROR_SIZE_MISMATCH, "%zu bytes are not a whole number of %zu-byte elements",
                        size, esize);
    if (device.device_type == kDLCUDA) {
        if (ctx->device < 0)
            return fsd_fail(FSD_ERROR_NO_GPU, "a CUDA device, but the context has no GPU");
        if (device.device_id != ctx->device)
            return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "device %d, the context is on %d",
                            device.device_id, ctx->device);
    } else if (device.device_type != kDLCPU) {
        return fsd_fail(FSD_ERROR_UNSUPPORTED, "fsd_from_bytes makes CPU or CUDA tensors, not device type %d",
                        (int)device.device_type);
    }
    return FSD_SUCCESS;
}

/* The bytes into the new tensor `t` (compact, on the context's GPU or the host), hashed on
 * the way with sum. Blocking. */
static fsd_status fill(fsd_context *ctx, const void *bytes, size_t size, const DLTensor *t,
                       int on_device, uint64_t *sum)
{
    if (!on_device) {
        if (sum != NULL)
            *sum = fsd_frame_copy_sum(ctx->pool, t->data, bytes, size, 0, FSD_CPU_MIN_BYTES_PER_THREAD);
        else
            fsd_cpu_memcpy_parallel(ctx->pool, t->data, bytes, size);
        return FSD_SUCCESS;
    }
    fsd_layout l;
    fsd_status st = fsd_layout_for_unpack(bytes, size, t, &l);
    if (st == FSD_SUCCESS)
        st = fsd_transfer_unpack(ctx, &l, bytes, sum, NULL);
    if (st == FSD_SUCCESS)
        st = wait_for_context(ctx);
    return st;
}

fsd_status fsd_from_bytes(fsd_context *ctx, const void *bytes, size_t size, DLDataType dtype,
                          DLDevice device, DLManagedTensor **out)
{
    return fsd_from_bytes_sum(ctx, bytes, size, dtype, device, out, NULL);
}

fsd_status fsd_from_bytes_sum(fsd_context *ctx, const void *bytes, size_t size, DLDataType dtype,
                              DLDevice device, DLManagedTensor **out, uint64_t *sum)
{
    if (out == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    fsd_status st = check_from_bytes(ctx, bytes, size, dtype, device);
    if (st != FSD_SUCCESS)
        return st;
    owned_tensor *o = fsd_alloc_host(&ctx->alloc, sizeof *o);
    if (o == NULL)
        return fsd_fail(FSD_ERROR_OUT_OF_MEMORY, "fsd_from_bytes: no memory for the tensor");
    memset(o, 0, sizeof *o);
    o->alloc = ctx->alloc;
    o->on_device = device.device_type == kDLCUDA;
    o->shape[0] = (int64_t)(size / ((size_t)(dtype.bits / 8) * dtype.lanes));
    o->strides[0] = 1;
    DLTensor *t = &o->managed.dl_tensor;
    t->device = device;
    t->ndim = 1;
    t->dtype = dtype;
    t->shape = o->shape;
    t->strides = o->strides;
    o->managed.manager_ctx = o;
    o->managed.deleter = owned_deleter;
    if ((st = alloc_data(ctx, o, size)) != FSD_SUCCESS) {
        free_owned(o);
        return st;
    }
    if (sum != NULL)
        *sum = 0;
    if (size > 0)
        st = fill(ctx, bytes, size, t, o->on_device, sum);
    if (st != FSD_SUCCESS) {
        free_owned(o);
        return st;
    }
    *out = &o->managed;
    fsd_clear_error();
    return FSD_SUCCESS;
}
