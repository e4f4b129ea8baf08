/* alloc.c — allocation through the hooks or the defaults (see alloc.h). */
#include <stdlib.h>

#include "alloc.h"
#include "error.h"

static void *hook_alloc(const fsd_alloc *a, fsd_alloc_kind kind, size_t n, int device)
{
    return a->hooks.alloc(a->hooks.user, kind, n, device);
}

void *fsd_alloc_host(const fsd_alloc *a, size_t n)
{
    return a->hooks.alloc ? hook_alloc(a, FSD_ALLOC_HOST, n, -1) : malloc(n);
}

void *fsd_alloc_pinned(const fsd_alloc *a, size_t n)
{
    if (a->hooks.alloc)
        return hook_alloc(a, FSD_ALLOC_PINNED, n, -1);
    void *p = NULL;
    cudaError_t e = cudaHostAlloc(&p, n, cudaHostAllocDefault);
    if (e != cudaSuccess) {
        fsd_cuda_forget(e);
        return NULL;
    }
    return p;
}

void *fsd_alloc_device(const fsd_alloc *a, size_t n, int device)
{
    if (a->hooks.alloc)
        return hook_alloc(a, FSD_ALLOC_DEVICE, n, device);
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, n);
    if (e != cudaSuccess) {
        fsd_cuda_forget(e);
        return NULL;
    }
    return p;
}

void fsd_free_host(const fsd_alloc *a, void *p)
{
    if (p == NULL)
        return;
    if (a->hooks.free)
        a->hooks.free(a->hooks.user, FSD_ALLOC_HOST, p, -1);
    else
        free(p);
}

void fsd_free_pinned(const fsd_alloc *a, void *p)
{
    if (p == NULL)
        return;
    if (a->hooks.free)
        a->hooks.free(a->hooks.user, FSD_ALLOC_PINNED, p, -1);
    else
        fsd_cuda_forget(cudaFreeHost(p));
}

void fsd_free_device(const fsd_alloc *a, void *p, int device)
{
    if (p == NULL)
        return;
    if (a->hooks.free)
        a->hooks.free(a->hooks.user, FSD_ALLOC_DEVICE, p, device);
    else
        fsd_cuda_forget(cudaFree(p));
}
