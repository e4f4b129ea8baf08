/* alloc.c — allocation through the hooks or the defaults (see alloc.h). */
#include <stdlib.h>

#include "alloc.h"
#include "error.h"
#include "numa.h"

static void *hook_alloc(const fsd_alloc *a, fsd_alloc_kind kind, size_t n, int device)
{
    return a->hooks.alloc(a->hooks.user, kind, n, device);
}

void *fsd_alloc_host(const fsd_alloc *a, size_t n)
{
    return a->hooks.alloc ? hook_alloc(a, FSD_ALLOC_HOST, n, -1) : malloc(n);
}

void *fsd_alloc_pinned(const fsd_alloc *a, size_t n, int node, fsd_alloc_how *how)
{
    *how = FSD_HOW_HOOK;
    if (a->hooks.alloc)
        return hook_alloc(a, FSD_ALLOC_PINNED, n, -1);
    void *p = NULL;
    if (node >= 0 && (p = fsd_numa_alloc_pinned(n, node)) != NULL) {
        *how = FSD_HOW_NUMA;
        return p;
    }
    *how = FSD_HOW_DEFAULT;
    /* Portable: pinned for every device's context, not only the current one's. */
    cudaError_t e = cudaHostAlloc(&p, n, cudaHostAllocPortable);
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

void fsd_free_pinned(const fsd_alloc *a, void *p, size_t n, fsd_alloc_how how)
{
    if (p == NULL)
        return;
    if (how == FSD_HOW_HOOK)
        a->hooks.free(a->hooks.user, FSD_ALLOC_PINNED, p, -1);
    else if (how == FSD_HOW_NUMA)
        fsd_numa_free_pinned(p, n);
    else
        fsd_cuda_forget(cudaFreeHost(p));
}

void *fsd_alloc_device_ordered(const fsd_alloc *a, size_t n, int device, cudaMemPool_t pool,
                               cudaStream_t stream, fsd_alloc_how *how)
{
    if (a->hooks.alloc || pool == NULL) {
        *how = a->hooks.alloc ? FSD_HOW_HOOK : FSD_HOW_DEFAULT;
        return fsd_alloc_device(a, n, device);
    }
    *how = FSD_HOW_POOL;
    void *p = NULL;
    cudaError_t e = cudaMallocFromPoolAsync(&p, n, pool, stream);
    if (e != cudaSuccess) {
        fsd_cuda_forget(e);
        return NULL;
    }
    return p;
}

void fsd_free_device_ordered(const fsd_alloc *a, void *p, int device, fsd_alloc_how how)
{
    if (p == NULL)
        return;
    if (how == FSD_HOW_POOL)
        fsd_cuda_forget(cudaFreeAsync(p, cudaStreamLegacy));
    else
        fsd_free_device(a, p, device);
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
