/* api.c — the public entry points of fastserde.h: validate, plan, dispatch to CPU or GPU. */
#include "cpu_copy.h"
#include "error.h"
#include "gpu_dispatch.h"
#include "layout.h"
#include "plan_build.h"

unsigned fsd_version(void)
{
    return FSD_VERSION_NUMBER;
}

fsd_status fsd_packed_size(const DLTensor *t, size_t *nbytes)
{
    uint32_t esize;
    uint64_t bytes;
    fsd_place place;
    if (nbytes == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "nbytes is NULL");
    fsd_status st = fsd_check_shape(t, "tensor", &esize, &bytes, &place);
    if (st != FSD_SUCCESS)
        return st;
    if (bytes > SIZE_MAX)
        return fsd_fail(FSD_ERROR_OVERFLOW, "the packed size does not fit in size_t");
    *nbytes = (size_t)bytes;
    fsd_clear_error();
    return FSD_SUCCESS;
}

static fsd_status execute(const fsd_layout *l, void *packed, fsd_direction dir, cudaStream_t stream)
{
    if (l->total_bytes == 0) {
        fsd_clear_error();
        return FSD_SUCCESS;
    }
    if (l->place == FSD_PLACE_GPU) {
        fsd_status st = fsd_gpu_execute(l, packed, dir, stream);
        if (st == FSD_SUCCESS)
            fsd_clear_error();
        return st;
    }
    fsd_plan plan;
    fsd_plan_build(l, packed, dir, 0, &plan);
    fsd_cpu_execute(&plan);
    fsd_clear_error();
    return FSD_SUCCESS;
}

fsd_status fsd_pack(const DLTensor *src, void *dst, size_t dst_size, cudaStream_t stream)
{
    fsd_layout l;
    fsd_status st = fsd_layout_for_pack(src, dst, dst_size, &l);
    return st != FSD_SUCCESS ? st : execute(&l, dst, FSD_DIR_PACK, stream);
}

fsd_status fsd_unpack(const void *src, size_t src_size, const DLTensor *dst, cudaStream_t stream)
{
    fsd_layout l;
    fsd_status st = fsd_layout_for_unpack(src, src_size, dst, &l);
    return st != FSD_SUCCESS ? st : execute(&l, (void *)src, FSD_DIR_UNPACK, stream);
}
