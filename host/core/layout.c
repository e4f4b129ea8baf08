/* layout.c — validation of DLTensors into layouts (see layout.h). */
#include <stdlib.h>

#include "error.h"
#include "layout.h"

static int place_of(DLDeviceType type, fsd_place *place)
{
    switch (type) {
    case kDLCPU:
    case kDLCUDAHost: *place = FSD_PLACE_HOST; return 1;
    case kDLCUDA:
    case kDLCUDAManaged: *place = FSD_PLACE_GPU; return 1;
    default: return 0;
    }
}

fsd_status fsd_check_shape(const DLTensor *t, const char *what, uint32_t *elem_size,
                           uint64_t *total_bytes, fsd_place *place)
{
    if (t == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "%s: tensor is NULL", what);
    if (t->ndim < 0)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "%s: ndim is %d", what, t->ndim);
    if (t->ndim > 0 && t->shape == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "%s: shape is NULL with ndim %d", what, t->ndim);
    if (!place_of(t->device.device_type, place))
        return fsd_fail(FSD_ERROR_UNSUPPORTED, "%s: device type %d is not CPU, CUDA host, CUDA or CUDA managed",
                        what, (int)t->device.device_type);
    if (t->dtype.bits == 0 || t->dtype.lanes == 0)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "%s: dtype has %u bits and %u lanes", what,
                        (unsigned)t->dtype.bits, (unsigned)t->dtype.lanes);
    if (t->dtype.bits % 8 != 0)
        return fsd_fail(FSD_ERROR_UNSUPPORTED, "%s: dtype of %u bits is not a whole number of bytes",
                        what, (unsigned)t->dtype.bits);
    uint64_t esize = (uint64_t)(t->dtype.bits / 8) * t->dtype.lanes; /* <= 32 * 65535 */
    int zero = 0;
    for (int d = 0; d < t->ndim; d++) {
        if (t->shape[d] < 0)
            return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "%s: shape[%d] is %lld", what, d, (long long)t->shape[d]);
        if (t->shape[d] == 0)
            zero = 1;
    }
    uint64_t bytes = 0;
    if (!zero) {
        bytes = esize;
        for (int d = 0; d < t->ndim; d++) {
            uint64_t n = (uint64_t)t->shape[d];
            if (bytes > (uint64_t)INT64_MAX / n)
                return fsd_fail(FSD_ERROR_OVERFLOW, "%s: the packed size exceeds 2^63 - 1 bytes (at dim %d)", what, d);
            bytes *= n;
        }
    }
    *elem_size = (uint32_t)esize;
    *total_bytes = bytes;
    return FSD_SUCCESS;
}

/* |a| * b for a stride a and an extent b, or -1 when it exceeds INT64_MAX. */
static int64_t span_bytes(int64_t stride_elems, uint64_t esize, uint64_t extent)
{
    uint64_t s = stride_elems < 0 ? (uint64_t)0 - (uint64_t)stride_elems : (uint64_t)stride_elems;
    if (s != 0 && esize > (uint64_t)INT64_MAX / s)
        return -1;
    s *= esize; /* |stride| in bytes */
    if (s != 0 && extent > (uint64_t)INT64_MAX / s)
        return -1;
    return (int64_t)(s * extent);
}

/* Stride of dim d in elements (compact row-major when t->strides is NULL). */
static int64_t stride_of(const DLTensor *t, int d)
{
    if (t->strides != NULL)
        return t->strides[d];
    uint64_t inner = 1;
    for (int k = d + 1; k < t->ndim; k++)
        inner *= (uint64_t)t->shape[k]; /* bounded by the checked packed size */
    return (int64_t)inner;
}

fsd_status fsd_tensor_extent(const DLTensor *t, const char *what, uint32_t elem_size,
                             int64_t *stride_bytes, uint64_t *below, uint64_t *above)
{
    *below = *above = 0; /* both stay <= INT64_MAX */
    for (int d = 0; d < t->ndim; d++) {
        uint64_t n = (uint64_t)t->shape[d];
        if (stride_bytes != NULL)
            stride_bytes[d] = 0;
        if (n <= 1)
            continue;
        int64_t stride = stride_of(t, d);
        int64_t span = span_bytes(stride, elem_size, n - 1);
        if (span < 0)
            return fsd_fail(FSD_ERROR_OVERFLOW, "%s: stride[%d] = %lld times shape %llu overflows",
                            what, d, (long long)stride, (unsigned long long)n);
        uint64_t *side = stride < 0 ? below : above;
        if (*side > (uint64_t)INT64_MAX - (uint64_t)span)
            return fsd_fail(FSD_ERROR_OVERFLOW, "%s: byte offsets exceed 2^63 - 1 at dim %d", what, d);
        *side += (uint64_t)span;
        if (stride_bytes != NULL)
            stride_bytes[d] = stride * (int64_t)elem_size; /* fits: checked by span_bytes */
    }
    return FSD_SUCCESS;
}

fsd_status fsd_tensor_base(const void *data, uint64_t byte_offset, uint64_t below, uint64_t above,
                           uint32_t elem_size, const char *what, char **base)
{
    /* Offsets from `data` fit in 63 bits, and no address wraps around. */
    if (above > (uint64_t)INT64_MAX - elem_size ||
        byte_offset > (uint64_t)INT64_MAX - above - elem_size)
        return fsd_fail(FSD_ERROR_OVERFLOW, "%s: byte_offset %llu plus the tensor's extent exceeds 2^63 - 1",
                        what, (unsigned long long)byte_offset);
    uintptr_t p = (uintptr_t)data;
    if (byte_offset > UINTPTR_MAX - p)
        return fsd_fail(FSD_ERROR_OVERFLOW, "%s: data + byte_offset overflows the address space", what);
    uintptr_t first = p + (uintptr_t)byte_offset;
    if (below > first || above + elem_size > UINTPTR_MAX - first)
        return fsd_fail(FSD_ERROR_OVERFLOW, "%s: element addresses leave the address space", what);
    *base = (char *)first;
    return FSD_SUCCESS;
}

fsd_status fsd_layout_from_tensor(const DLTensor *t, const char *what, fsd_layout *l)
{
    fsd_status st = fsd_check_shape(t, what, &l->elem_size, &l->total_bytes, &l->place);
    if (st != FSD_SUCCESS)
        return st;
    l->device_id = t->device.device_id;
    l->ndim = 0;
    l->base = NULL;
    if (l->total_bytes == 0)
        return FSD_SUCCESS;
    if (t->data == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "%s: data is NULL but the tensor has %llu bytes",
                        what, (unsigned long long)l->total_bytes);
    uint64_t below, above;
    if ((st = fsd_tensor_extent(t, what, l->elem_size, NULL, &below, &above)) != FSD_SUCCESS)
        return st;
    /* Kept dims: at most 62, since each has size >= 2 and total_bytes < 2^63. */
    for (int d = 0; d < t->ndim; d++) {
        if (t->shape[d] == 1)
            continue;
        l->shape[l->ndim] = (uint64_t)t->shape[d];
        l->stride[l->ndim] = stride_of(t, d) * (int64_t)l->elem_size; /* checked above */
        l->ndim++;
    }
    return fsd_tensor_base(t->data, t->byte_offset, below, above, l->elem_size, what, &l->base);
}

static int by_abs_stride(const void *a, const void *b)
{
    const int64_t *x = a, *y = b; /* pairs (|stride|, shape) */
    return (x[0] > y[0]) - (x[0] < y[0]);
}

fsd_status fsd_layout_check_unaliased(const fsd_layout *l, const char *what)
{
    int64_t dims[FSD_PLAN_MAX_DIMS][2];
    for (int d = 0; d < l->ndim; d++) {
        if (l->stride[d] == 0)
            return fsd_fail(FSD_ERROR_ALIASING, "%s: dimension %d of size %llu has stride 0",
                            what, d, (unsigned long long)l->shape[d]);
        dims[d][0] = l->stride[d] < 0 ? -l->stride[d] : l->stride[d];
        dims[d][1] = (int64_t)l->shape[d];
    }
    qsort(dims, (size_t)l->ndim, sizeof dims[0], by_abs_stride);
    /* Elements occupy elem_size bytes: the innermost dimension must step past one element,
     * each further one past the whole span of the smaller ones. Each dim's span fits in 63
     * bits (checked); their sum may not, and then saturates: no stride can step past it. */
    uint64_t span = l->elem_size;
    for (int d = 0; d < l->ndim; d++) {
        if ((uint64_t)dims[d][0] < span)
            return fsd_fail(FSD_ERROR_ALIASING, "%s: a stride of %lld bytes does not step past the "
                            "%llu bytes spanned by the smaller strides", what,
                            (long long)dims[d][0], (unsigned long long)span);
        if (__builtin_add_overflow(span, (uint64_t)(dims[d][0] * (dims[d][1] - 1)), &span))
            span = UINT64_MAX;
    }
    return FSD_SUCCESS;
}

int fsd_layout_contiguous(const fsd_layout *l)
{
    int64_t expect = (int64_t)l->elem_size;
    for (int d = l->ndim - 1; d >= 0; d--) {
        if (l->stride[d] != expect)
            return 0;
        expect *= (int64_t)l->shape[d]; /* within the validated 63-bit extent */
    }
    return 1;
}

fsd_status fsd_layout_for_pack(const DLTensor *src, const void *dst, size_t dst_size, fsd_layout *l)
{
    fsd_status st = fsd_layout_from_tensor(src, "src", l);
    if (st != FSD_SUCCESS)
        return st;
    if (dst == NULL && l->total_bytes > 0)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "dst is NULL but src packs into %llu bytes",
                        (unsigned long long)l->total_bytes);
    if (dst_size < l->total_bytes)
        return fsd_fail(FSD_ERROR_SIZE_MISMATCH, "dst_size is %zu bytes, src packs into %llu",
                        dst_size, (unsigned long long)l->total_bytes);
    return FSD_SUCCESS;
}

fsd_status fsd_layout_for_unpack(const void *src, size_t src_size, const DLTensor *dst, fsd_layout *l)
{
    fsd_status st = fsd_layout_from_tensor(dst, "dst", l);
    if (st != FSD_SUCCESS)
        return st;
    if (src == NULL && l->total_bytes > 0)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "src is NULL but dst holds %llu bytes",
                        (unsigned long long)l->total_bytes);
    if (src_size != l->total_bytes)
        return fsd_fail(FSD_ERROR_SIZE_MISMATCH, "src_size is %zu bytes, dst holds %llu",
                        src_size, (unsigned long long)l->total_bytes);
    return fsd_layout_check_unaliased(l, "dst");
}
