/*
 * fsdt_faulty_alloc.h — allocation hooks (fsd_allocator) for the fault-injection tests: they
 * log every allocation (kind, size, the test's current phase), make the fail_at-th call return
 * NULL, and track what they granted, so a test can check that every granted block came back.
 * Pinned and device memory come from cudaHostAlloc / cudaMalloc (the real runtime, or the
 * mock in tests/mock_cuda). Include after <cmocka.h> and "fastserde.h".
 */
#ifndef FSDT_FAULTY_ALLOC_H
#define FSDT_FAULTY_ALLOC_H

#include <stdlib.h>

#define FSDT_FAULTY_MAX_LIVE 1024
#define FSDT_FAULTY_MAX_SITES 256

static const char *const FSDT_ALLOC_KIND[] = {"host", "pinned", "device"};

typedef struct fsdt_alloc_site {
    fsd_alloc_kind kind;
    size_t size;
    const char *phase;
} fsdt_alloc_site;

typedef struct fsdt_faulty {
    long calls, fail_at; /* fail_at > 0: that call returns NULL      */
    const char *phase;   /* what the test is doing, for the site log */
    int live;            /* granted and not yet freed                */
    void *ptr[FSDT_FAULTY_MAX_LIVE];
    fsdt_alloc_site sites[FSDT_FAULTY_MAX_SITES];
    int nsites;
} fsdt_faulty;

static inline void *fsdt_faulty_alloc(void *user, fsd_alloc_kind kind, size_t size, int device)
{
    fsdt_faulty *f = user;
    f->calls++;
    if (f->nsites < FSDT_FAULTY_MAX_SITES)
        f->sites[f->nsites++] = (fsdt_alloc_site){kind, size, f->phase};
    if (f->calls == f->fail_at || f->live == FSDT_FAULTY_MAX_LIVE)
        return NULL;
    int cur = -1;
    if (kind == FSD_ALLOC_DEVICE && (cudaGetDevice(&cur) != cudaSuccess || cur != device))
        fail_msg("device allocation for device %d while device %d is current", device, cur);
    void *p = NULL;
    if (kind == FSD_ALLOC_HOST)
        p = malloc(size ? size : 1);
    else if (kind == FSD_ALLOC_PINNED && cudaHostAlloc(&p, size, cudaHostAllocDefault) != cudaSuccess)
        p = NULL;
    else if (kind == FSD_ALLOC_DEVICE && cudaMalloc(&p, size) != cudaSuccess)
        p = NULL;
    if (p != NULL)
        f->ptr[f->live++] = p;
    return p;
}

static inline void fsdt_faulty_free(void *user, fsd_alloc_kind kind, void *ptr, int device)
{
    (void)device;
    fsdt_faulty *f = user;
    for (int i = 0; i < f->live; i++)
        if (f->ptr[i] == ptr) {
            f->ptr[i] = f->ptr[--f->live];
            cudaError_t e = cudaSuccess;
            if (kind == FSD_ALLOC_HOST)
                free(ptr);
            else if (kind == FSD_ALLOC_PINNED)
                e = cudaFreeHost(ptr);
            else
                e = cudaFree(ptr);
            if (e != cudaSuccess)
                fail_msg("free hook: freeing %s memory %p: %s", FSDT_ALLOC_KIND[kind], ptr,
                         cudaGetErrorString(e));
            return;
        }
    fail_msg("free hook: %p (%s) was not granted by the alloc hook", ptr, FSDT_ALLOC_KIND[kind]);
}

#endif
