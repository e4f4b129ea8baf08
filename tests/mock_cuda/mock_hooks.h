/*
 * mock_hooks.h — allocation hooks (fsd_allocator) over the stand-in runtime that count what
 * the library asks for and what it still holds, for tests and fuzzers that check a context's
 * allocations go through the caller's hooks and all come back.
 */
#ifndef MOCKCUDA_HOOKS_H
#define MOCKCUDA_HOOKS_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fastserde.h"
#include "mock_cuda.h"

typedef struct mockcuda_hooks {
    long calls;         /* allocations asked for                                         */
    long live;          /* allocations made and not yet freed                            */
    long device;        /* device allocations asked for                                  */
    size_t refuse_from; /* allocations of this size and more fail (SIZE_MAX: none)       */
} mockcuda_hooks;

#define MOCKCUDA_HOOKS_INIT { 0, 0, 0, SIZE_MAX }

/* malloc, cudaHostAlloc or cudaMalloc by kind; NULL when refused or when the runtime fails
 * (its error is cleared: a hook leaves no error behind for the library's next call). */
static inline void *mockcuda_hook_alloc(void *user, fsd_alloc_kind kind, size_t size, int device)
{
    mockcuda_hooks *h = (mockcuda_hooks *)user;
    (void)device;
    h->calls++;
    h->device += kind == FSD_ALLOC_DEVICE;
    if (size >= h->refuse_from)
        return NULL;
    void *p = NULL;
    if (kind == FSD_ALLOC_HOST)
        p = malloc(size);
    else if (kind == FSD_ALLOC_PINNED)
        p = cudaHostAlloc(&p, size, 0) == cudaSuccess ? p : NULL;
    else
        p = cudaMalloc(&p, size) == cudaSuccess ? p : NULL;
    if (p == NULL && kind != FSD_ALLOC_HOST)
        (void)cudaGetLastError();
    h->live += p != NULL;
    return p;
}

static inline void mockcuda_hook_free(void *user, fsd_alloc_kind kind, void *p, int device)
{
    mockcuda_hooks *h = (mockcuda_hooks *)user;
    (void)device;
    h->live--;
    if (kind == FSD_ALLOC_HOST)
        free(p);
    else if (kind == FSD_ALLOC_PINNED)
        (void)cudaFreeHost(p);
    else
        (void)cudaFree(p);
}

#endif
