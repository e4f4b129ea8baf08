/*
 * alloc.h — every allocation a context makes goes through here: the caller's hooks
 * (fsd_allocator) when set, else malloc, cudaHostAlloc and cudaMalloc.
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
void *fsd_alloc_pinned(const fsd_alloc *a, size_t n);
void *fsd_alloc_device(const fsd_alloc *a, size_t n, int device); /* current device: `device` */

/* NULL is fine. */
void fsd_free_host(const fsd_alloc *a, void *p);
void fsd_free_pinned(const fsd_alloc *a, void *p);
void fsd_free_device(const fsd_alloc *a, void *p, int device);

#endif
