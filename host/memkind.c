/* memkind.c — memory kinds and who can reach a range (see memkind.h). */
#include "error.h"
#include "memkind.h"

static const char *kind_name(fsd_memkind k)
{
    switch (k) {
    case FSD_MEM_PINNED: return "pinned host memory";
    case FSD_MEM_DEVICE: return "device memory";
    case FSD_MEM_MANAGED: return "managed memory";
    default: return "pageable host memory";
    }
}

cudaError_t fsd_memkind_of(const void *p, fsd_mem *out)
{
    out->kind = FSD_MEM_PAGEABLE;
    out->device = -1;
    if (p == NULL)
        return cudaSuccess;
    struct cudaPointerAttributes a;
    cudaError_t e = cudaPointerGetAttributes(&a, p);
    if (e != cudaSuccess) {
        fsd_cuda_forget(e);
        /* No runtime: nothing can be device or pinned memory. Before CUDA 11 an unknown
         * pointer was an error too. */
        return e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver || e == cudaErrorInvalidValue
                   ? cudaSuccess
                   : e;
    }
    switch (a.type) {
    case cudaMemoryTypeHost: out->kind = FSD_MEM_PINNED; break;
    case cudaMemoryTypeDevice:
        out->kind = FSD_MEM_DEVICE;
        out->device = a.device;
        break;
    case cudaMemoryTypeManaged: out->kind = FSD_MEM_MANAGED; break;
    default: break;
    }
    return cudaSuccess;
}

cudaError_t fsd_memkind_of_range(const void *p, size_t n, fsd_mem *out)
{
    cudaError_t e = fsd_memkind_of(p, out);
    if (e != cudaSuccess || n <= 1)
        return e;
    fsd_mem last;
    if ((e = fsd_memkind_of((const char *)p + (n - 1), &last)) != cudaSuccess)
        return e;
    if (out->kind == last.kind && (out->kind != FSD_MEM_DEVICE || out->device == last.device))
        return cudaSuccess;
    if (out->kind != FSD_MEM_DEVICE && last.kind == FSD_MEM_DEVICE)
        *out = last;
    else if (out->kind != FSD_MEM_DEVICE)
        out->kind = FSD_MEM_PAGEABLE;
    return cudaSuccess;
}

fsd_status fsd_check_gpu_access(const void *p, size_t n, int device, const char *what)
{
    if (n == 0)
        return FSD_SUCCESS;
    fsd_mem m;
    cudaError_t e = fsd_memkind_of_range(p, n, &m);
    if (e != cudaSuccess)
        return fsd_cuda_failure(e, "cudaPointerGetAttributes");
    switch (m.kind) {
    case FSD_MEM_PINNED:
    case FSD_MEM_MANAGED:
        return FSD_SUCCESS;
    case FSD_MEM_DEVICE:
        if (m.device == device)
            return FSD_SUCCESS;
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "%s is memory of device %d, the tensor is on "
                        "device %d", what, m.device, device);
    default: {
        int pageable_ok = 0;
        e = cudaDeviceGetAttribute(&pageable_ok, cudaDevAttrPageableMemoryAccess, device);
        if (e != cudaSuccess) {
            fsd_cuda_forget(e);
            pageable_ok = 0;
        }
        if (pageable_ok)
            return FSD_SUCCESS;
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "%s is %s, which GPU %d cannot access: use "
                        "device memory or pinned host memory (cudaHostAlloc / cudaHostRegister)",
                        what, kind_name(m.kind), device);
    }
    }
}

fsd_status fsd_check_host_access(const void *p, size_t n, const char *what)
{
    if (n == 0)
        return FSD_SUCCESS;
    fsd_mem m;
    cudaError_t e = fsd_memkind_of_range(p, n, &m);
    if (e != cudaSuccess)
        return fsd_cuda_failure(e, "cudaPointerGetAttributes");
    if (m.kind == FSD_MEM_DEVICE)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "%s is device memory (of device %d), not host "
                        "memory", what, m.device);
    return FSD_SUCCESS;
}
