/* frame_read.c — fsd_frame_verify, fsd_frame_read, fsd_frame_read_new (see fastserde.h): a
 * parsed frame's tensors checked against their checksums in the pass that copies them. */
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "cpu_copy.h"
#include "cpu_parallel.h"
#include "error.h"
#include "frame.h"
#include "plan_build.h"
#include "transfer.h"

static fsd_status get_entry(const fsd_frame *f, size_t index, const fsd_frame_entry **e)
{
    if (f == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "frame is NULL");
    if (index >= f->count)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "tensor %zu of a frame of %zu", index, f->count);
    *e = &f->entries[index];
    return FSD_SUCCESS;
}

/* FSD_ERROR_CORRUPT unless `sum` (the sum of the bytes' leaf terms) gives e's checksum. */
static fsd_status check_sum(const fsd_frame_entry *e, uint64_t sum)
{
    uint64_t seed = fsd_frame_tensor_seed(e->name, e->name_len, e->dtype_name, e->shape, e->ndim);
    uint64_t got = fsd_frame_finish(sum, seed);
    if (got != e->checksum)
        return fsd_fail(FSD_ERROR_CORRUPT, "tensor \"%.48s\": checksum %016llx, the frame says "
                        "%016llx", e->name, (unsigned long long)got, (unsigned long long)e->checksum);
    return FSD_SUCCESS;
}

static fsd_pool *pool_of(fsd_context *ctx)
{
    return ctx != NULL ? ctx->pool : NULL;
}

fsd_status fsd_frame_verify(fsd_context *ctx, const fsd_frame *f, size_t index)
{
    const fsd_frame_entry *e = NULL;
    fsd_status st = get_entry(f, index, &e);
    if (st == FSD_SUCCESS && e->has_checksum)
        st = check_sum(e, fsd_frame_sum(pool_of(ctx), f->data + e->begin, e->end - e->begin));
    if (st == FSD_SUCCESS)
        fsd_clear_error();
    return st;
}

/* Copies the entry's bytes into the host layout `l` (validated against them), verifying. */
static fsd_status copy_out(fsd_context *ctx, const fsd_frame *f, const fsd_frame_entry *e,
                           const fsd_layout *l, int verify)
{
    const char *src = f->data + e->begin;
    fsd_pool *pool = pool_of(ctx);
    if (verify && e->has_checksum)
        return check_sum(e, fsd_frame_unpack_sum(pool, l, src));
    if (l->total_bytes == 0)
        return FSD_SUCCESS;
    if (pool != NULL) {
        fsd_cpu_execute_parallel(pool, l, (void *)src, FSD_DIR_UNPACK);
    } else {
        fsd_plan plan;
        fsd_plan_build(l, (void *)src, FSD_DIR_UNPACK, 0, &plan);
        fsd_cpu_execute(&plan);
    }
    return FSD_SUCCESS;
}

/* A CUDA destination: the bytes go to the GPU through the context's ring (fsd_transfer_unpack:
 * its host copies into the pinned chunks hash them on the way, one read of the frame), or by
 * DMA from a pinned frame (hashed by the CPU meanwhile), and are unpacked on `stream`; the
 * checksum is known when the last chunk has been copied, so dst is written either way. */
static fsd_status read_to_gpu(fsd_context *ctx, const fsd_frame *f, const fsd_frame_entry *e,
                              const fsd_layout *l, int verify, cudaStream_t stream)
{
    if (ctx == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "a CUDA destination needs a context (its "
                        "staging ring and pool carry the frame's bytes to the GPU)");
    const int check = verify && e->has_checksum;
    uint64_t sum = 0; /* no bytes: S is 0, and the checksum still covers name, dtype, shape */
    fsd_status st = l->total_bytes == 0 ? FSD_SUCCESS
                                        : fsd_transfer_unpack(ctx, l, f->data + e->begin,
                                                              check ? &sum : NULL, stream);
    if (st == FSD_SUCCESS && check)
        st = check_sum(e, sum);
    return st;
}

fsd_status fsd_frame_read(fsd_context *ctx, const fsd_frame *f, size_t index, const DLTensor *dst,
                          int verify, cudaStream_t stream)
{
    const fsd_frame_entry *e = NULL;
    fsd_status st = get_entry(f, index, &e);
    if (st != FSD_SUCCESS)
        return st;
    if (verify != 0 && verify != 1)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "verify is %d (0 or 1)", verify);
    if (dst == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "dst is NULL");
    if (dst->dtype.code != e->dtype.code || dst->dtype.bits != e->dtype.bits || dst->dtype.lanes != 1)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "dst: dtype (code %u, %u bits, %u lanes), the "
                        "frame's \"%.48s\" is %s", (unsigned)dst->dtype.code, (unsigned)dst->dtype.bits,
                        (unsigned)dst->dtype.lanes, e->name, e->dtype_name);
    if (dst->ndim != e->ndim || (e->ndim > 0 && dst->shape == NULL))
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "dst: %d dimensions, the frame's \"%.48s\" has %d",
                        dst->ndim, e->name, e->ndim);
    for (int d = 0; d < e->ndim; d++)
        if (dst->shape[d] != e->shape[d])
            return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "dst: shape[%d] is %lld, the frame's "
                            "\"%.48s\" has %lld", d, (long long)dst->shape[d], e->name,
                            (long long)e->shape[d]);
    fsd_layout l;
    if ((st = fsd_layout_for_unpack(f->data + e->begin, (size_t)(e->end - e->begin), dst, &l)) != FSD_SUCCESS)
        return st;
    st = l.place == FSD_PLACE_GPU ? read_to_gpu(ctx, f, e, &l, verify, stream)
                                  : copy_out(ctx, f, e, &l, verify);
    if (st == FSD_SUCCESS)
        fsd_clear_error();
    return st;
}

/* A tensor fsd_frame_read_new made: one block with its shape; the data apart. */
typedef struct frame_tensor {
    DLManagedTensor managed;
    fsd_alloc alloc;
    int64_t shape[]; /* ndim */
} frame_tensor;

static void frame_tensor_free(frame_tensor *t)
{
    fsd_alloc a = t->alloc;
    fsd_free_host(&a, t->managed.dl_tensor.data);
    fsd_free_host(&a, t);
}

static void frame_tensor_deleter(DLManagedTensor *self)
{
    frame_tensor_free((frame_tensor *)(void *)self); /* `managed` is the first member */
}

/* A CUDA tensor fsd_frame_read_new made: the entry's shape over the flat tensor fsd_from_bytes
 * made (which owns the device memory and frees it in stream order). */
typedef struct frame_cuda_tensor {
    DLManagedTensor managed;
    DLManagedTensor *flat;
    fsd_alloc alloc;
    int64_t shape[]; /* ndim */
} frame_cuda_tensor;

static void frame_cuda_deleter(DLManagedTensor *self)
{
    frame_cuda_tensor *t = (frame_cuda_tensor *)(void *)self; /* `managed` is the first member */
    fsd_alloc a = t->alloc;
    t->flat->deleter(t->flat);
    fsd_free_host(&a, t);
}

/* fsd_frame_read_new on a CUDA device: the bytes copied to the device as fsd_from_bytes copies
 * them (the context's pool, blocking), hashed on the way; the tensor, shaped as the entry, is
 * freed again when they do not match. */
static fsd_status read_new_gpu(fsd_context *ctx, const fsd_frame *f, const fsd_frame_entry *e,
                               DLDevice device, int verify, DLManagedTensor **out)
{
    if (ctx == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "a CUDA destination needs a context (its "
                        "staging ring and pool carry the frame's bytes to the GPU)");
    const int check = verify && e->has_checksum;
    uint64_t sum = 0;
    const char *src = f->data + e->begin;
    const size_t n = (size_t)(e->end - e->begin);
    fsd_alloc a = ctx->alloc;
    frame_cuda_tensor *t = fsd_alloc_host(&a, sizeof *t + (size_t)e->ndim * sizeof(int64_t));
    if (t == NULL)
        return fsd_fail(FSD_ERROR_OUT_OF_MEMORY, "fsd_frame_read_new: no memory for the tensor");
    memset(t, 0, sizeof *t);
    t->alloc = a;
    fsd_status st = fsd_from_bytes_sum(ctx, src, n, e->dtype, device, &t->flat, check ? &sum : NULL);
    if (st == FSD_SUCCESS && check && (st = check_sum(e, sum)) != FSD_SUCCESS)
        t->flat->deleter(t->flat);
    if (st != FSD_SUCCESS) {
        fsd_free_host(&a, t);
        return st;
    }
    for (int d = 0; d < e->ndim; d++)
        t->shape[d] = e->shape[d];
    t->managed.dl_tensor = t->flat->dl_tensor;
    t->managed.dl_tensor.ndim = e->ndim;
    t->managed.dl_tensor.shape = e->ndim ? t->shape : NULL;
    t->managed.dl_tensor.strides = NULL; /* compact row-major */
    t->managed.manager_ctx = t;
    t->managed.deleter = frame_cuda_deleter;
    *out = &t->managed;
    fsd_clear_error();
    return FSD_SUCCESS;
}

fsd_status fsd_frame_read_new(fsd_context *ctx, const fsd_frame *f, size_t index, DLDevice device,
                              int verify, DLManagedTensor **out)
{
    if (out == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    const fsd_frame_entry *e = NULL;
    fsd_status st = get_entry(f, index, &e);
    if (st != FSD_SUCCESS)
        return st;
    if (verify != 0 && verify != 1)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "verify is %d (0 or 1)", verify);
    if (device.device_type == kDLCUDA)
        return read_new_gpu(ctx, f, e, device, verify, out);
    if (device.device_type != kDLCPU)
        return fsd_fail(FSD_ERROR_UNSUPPORTED, "fsd_frame_read_new makes CPU or CUDA tensors, "
                        "not device type %d", (int)device.device_type);
    fsd_alloc a = {{NULL, NULL, NULL}};
    if (ctx != NULL)
        a = ctx->alloc;
    frame_tensor *t = fsd_alloc_host(&a, sizeof *t + (size_t)e->ndim * sizeof(int64_t));
    if (t == NULL)
        return fsd_fail(FSD_ERROR_OUT_OF_MEMORY, "fsd_frame_read_new: no memory for the tensor");
    memset(t, 0, sizeof *t);
    t->alloc = a;
    size_t n = (size_t)(e->end - e->begin);
    DLTensor *dl = &t->managed.dl_tensor;
    dl->data = fsd_alloc_host(&a, n ? n : 1); /* a valid pointer even for no elements */
    if (dl->data == NULL) {
        fsd_free_host(&a, t);
        return fsd_fail(FSD_ERROR_OUT_OF_MEMORY, "fsd_frame_read_new: cannot allocate %zu bytes", n);
    }
    for (int d = 0; d < e->ndim; d++)
        t->shape[d] = e->shape[d];
    dl->device = device;
    dl->ndim = e->ndim;
    dl->dtype = e->dtype;
    dl->shape = e->ndim ? t->shape : NULL;
    dl->strides = NULL; /* compact row-major */
    dl->byte_offset = 0;
    t->managed.manager_ctx = t;
    t->managed.deleter = frame_tensor_deleter;
    fsd_layout l;
    st = fsd_layout_for_unpack(f->data + e->begin, n, dl, &l);
    if (st == FSD_SUCCESS) {
        if (verify && e->has_checksum)
            st = copy_out(ctx, f, e, &l, verify);
        else if (n > 0 && ctx != NULL)
            fsd_cpu_memcpy_parallel(ctx->pool, dl->data, f->data + e->begin, n);
        else if (n > 0)
            fsd_cpu_memcpy(dl->data, f->data + e->begin, n, fsd_cpu_streams(NULL, n));
    }
    if (st != FSD_SUCCESS) {
        frame_tensor_free(t);
        return st;
    }
    *out = &t->managed;
    fsd_clear_error();
    return FSD_SUCCESS;
}
