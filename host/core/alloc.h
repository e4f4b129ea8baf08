/*
 * alloc.h — every allocation a context makes goes through here: the caller's hooks
 * (fsd_allocator) when set, else malloc; portable pinned memory (cudaHostAlloc with
 * cudaHostAllocPortable, or on the GPU's NUMA node: numa.h); cudaMalloc, or stream-ordered
 * from the context's pool (cudaMallocFromPoolAsync / cudaFreeAsync) for fsd_from_bytes.
 */
#ifndef FSD_ALLOC_H
#define FSD_ALLOC_H

#include <stddef.h>

#include "fastserde.h"

typedef struct fsd_alloc {
    fsd_allocator hooks; /* both NULL: the defaults */
} fsd_alloc;

/* NULL on failure (the runtime's last error of a failed CUDA allocation is forgotten:
 * fsd_cuda_forget). */
void *fsd_alloc_host(const fsd_alloc *a, size_t n);
void *fsd_alloc_device(const fsd_alloc *a, size_t n, int device); /* current device: `device` */

/* How a pinned or device block was obtained: fsd_free_* must be told. */
typedef enum fsd_alloc_how {
    FSD_HOW_HOOK = 0,    /* the caller's hooks                                   */
    FSD_HOW_DEFAULT,     /* cudaHostAlloc(Portable) / cudaMalloc                 */
    FSD_HOW_NUMA,        /* mmap + mbind + cudaHostRegister(Portable) (numa.h)   */
    FSD_HOW_POOL         /* cudaMallocFromPoolAsync (freed with cudaFreeAsync)   */
} fsd_alloc_how;

/* Pinned memory, portable across devices; on NUMA node `node` when node >= 0 and that can be
 * had, else wherever cudaHostAlloc puts it. *how says which. */
void *fsd_alloc_pinned(const fsd_alloc *a, size_t n, int node, fsd_alloc_how *how);

/* Device memory on `device` (current): from `pool` in stream order on `stream` when there
 * are no hooks and pool is not NULL (usable by work ordered after it on `stream`), else as
 * fsd_alloc_device. *how says which. */
void *fsd_alloc_device_ordered(const fsd_alloc *a, size_t n, int device, cudaMemPool_t pool,
                               cudaStream_t stream, fsd_alloc_how *how);

/* NULL is fine. */
void fsd_free_host(const fsd_alloc *a, void *p);
void fsd_free_pinned(const fsd_alloc *a, void *p, size_t n, fsd_alloc_how how);
void fsd_free_device(const fsd_alloc *a, void *p, int device);
/* Frees device memory of fsd_alloc_device_ordered; a pool's block in stream order on the
 * legacy default stream of `device` (current). */
void fsd_free_device_ordered(const fsd_alloc *a, void *p, int device, fsd_alloc_how how);

#endif
