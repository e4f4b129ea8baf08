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

int fsd_mem_same(fsd_mem a, fsd_mem b)
{
    return a.kind == b.kind && (a.kind != FSD_MEM_DEVICE || a.device == b.device);
}

cudaError_t fsd_memkind_of_range(const void *p, size_t n, fsd_mem *first, fsd_mem *last)
{
    cudaError_t e = fsd_memkind_of(p, first);
    *last = *first;
    if (e != cudaSuccess || n <= 1)
        return e;
    return fsd_memkind_of((const char *)p + (n - 1), last);
}

fsd_status fsd_check_gpu_access(const void *p, size_t n, int device, const char *what)
{
    if (n == 0)
        return FSD_SUCCESS;
    fsd_mem m, last;
    cudaError_t e = fsd_memkind_of_range(p, n, &m, &last);
    if (e != cudaSuccess)
        return fsd_cuda_failure(e, "cudaPointerGetAttributes");
    if (!fsd_mem_same(m, last))
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "%s (%zu bytes) starts in %s and ends in %s: "
                        "not one buffer GPU %d can access", what, n, kind_name(m.kind),
                        kind_name(last.kind), device);
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
    fsd_mem m, last;
    cudaError_t e = fsd_memkind_of_range(p, n, &m, &last);
    if (e != cudaSuccess)
        return fsd_cuda_failure(e, "cudaPointerGetAttributes");
    if (m.kind == FSD_MEM_DEVICE || last.kind == FSD_MEM_DEVICE)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "%s is device memory (of device %d), not host "
                        "memory", what, m.kind == FSD_MEM_DEVICE ? m.device : last.device);
    return FSD_SUCCESS;
}
