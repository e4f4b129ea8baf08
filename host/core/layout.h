/*
 * layout.h — validation of a DLTensor and its normalised form, the layout: size-1 dimensions
 * dropped, strides in bytes, the address of element [0, ..., 0], the packed size. Every check
 * that can reject a tensor lives here, so that nothing is planned or written for bad input.
 */
#ifndef FSD_LAYOUT_H
#define FSD_LAYOUT_H

#include <stdint.h>

#include "fastserde.h"
#include "plan.h"

typedef enum fsd_place {
    FSD_PLACE_HOST = 0, /* kDLCPU, kDLCUDAHost: the CPU path    */
    FSD_PLACE_GPU = 1   /* kDLCUDA, kDLCUDAManaged: the kernels */
} fsd_place;

typedef struct fsd_layout {
    fsd_place place;
    int device_id;
    uint32_t elem_size;
    uint64_t total_bytes;                   /* packed size                                  */
    char *base;                             /* data + byte_offset: element [0, ..., 0]      */
    int ndim;                               /* dimensions of size >= 2, outermost first     */
    uint64_t shape[FSD_PLAN_MAX_DIMS];
    int64_t stride[FSD_PLAN_MAX_DIMS];      /* bytes                                        */
} fsd_layout;

/* Checks ndim, shape, dtype and device; sets *elem_size, *total_bytes and *place. The `what`
 * string names the argument in messages ("src", "dst"). */
fsd_status fsd_check_shape(const DLTensor *t, const char *what, uint32_t *elem_size,
                           uint64_t *total_bytes, fsd_place *place);

/* The byte stride of every dimension of `t` into stride_bytes (t->ndim entries, or NULL: not
 * wanted; strides NULL means compact row-major; size-1 dimensions get 0) and the lowest and
 * highest byte offsets of an element relative to element [0, ..., 0]: its bytes lie in
 * [-below, above + elem_size). FSD_ERROR_OVERFLOW when a stride times its extent, or a sum of
 * them, exceeds 2^63 - 1. The shape must have passed fsd_check_shape. */
fsd_status fsd_tensor_extent(const DLTensor *t, const char *what, uint32_t elem_size,
                             int64_t *stride_bytes, uint64_t *below, uint64_t *above);

/* *base = data + byte_offset, checking that the extent around it (fsd_tensor_extent) stays in
 * the address space and within 2^63 - 1 bytes of data. */
fsd_status fsd_tensor_base(const void *data, uint64_t byte_offset, uint64_t below, uint64_t above,
                           uint32_t elem_size, const char *what, char **base);

/* fsd_check_shape, then strides, data and byte offsets: every byte of every element must have
 * an address that fits in the address space. Fills *layout. */
fsd_status fsd_layout_from_tensor(const DLTensor *t, const char *what, fsd_layout *layout);

/* FSD_ERROR_ALIASING when two elements of the layout may share bytes: a zero stride, or
 * strides that do not nest (sorted by |stride|, each exceeds the span of the smaller ones). */
fsd_status fsd_layout_check_unaliased(const fsd_layout *layout, const char *what);

/* 1 when the layout's elements lie densely in row-major order from `base` (a pack or unpack
 * is then one copy of total_bytes): for a layout with bytes, exactly when the plan's path is
 * FSD_PATH_CONTIG, without building a plan. An empty layout answers 1 (nothing to copy). */
int fsd_layout_contiguous(const fsd_layout *layout);

/* The checks of a pack call: fsd_layout_from_tensor(src), dst non-NULL when there are bytes,
 * dst_size at least the packed size. */
fsd_status fsd_layout_for_pack(const DLTensor *src, const void *dst, size_t dst_size,
                               fsd_layout *layout);

/* The checks of an unpack call: fsd_layout_from_tensor(dst), src non-NULL when there are
 * bytes, src_size equal to the packed size, and a destination that cannot alias. */
fsd_status fsd_layout_for_unpack(const void *src, size_t src_size, const DLTensor *dst,
                                 fsd_layout *layout);

#endif
