/*
 * mock_pools.c — stream-ordered allocation for the stand-in runtime: memory pools
 * (cudaMemPoolCreate / cudaMemPoolDestroy / cudaMemPoolSetAttribute), cudaMallocAsync,
 * cudaMallocFromPoolAsync and cudaFreeAsync, with CUDA's stream-ordered semantics:
 *  - an allocation is made at the call (its address is returned) but may only be used by work
 *    ordered after the allocation on its stream: an ALLOC op queued there marks it ready, and a
 *    copy or kernel that runs before that op has run is a misuse ("used before its
 *    stream-ordered allocation");
 *  - cudaFreeAsync queues a FREE op: the memory goes away when that op runs (work still using
 *    it then reads unmapped memory: the process faults), nothing synchronises;
 *  - a pool destroyed while allocations from it are alive lets them live until freed.
 * Pools are counted (mockcuda_pools) so that tests can see none is left.
 */
#include <stdlib.h>
#include <string.h>

#include "mock_internal.h"

typedef struct mk_pool {
    int device;
    uint64_t threshold;
} mk_pool;

static long live_pools;

long mockcuda_pools(void)
{
    mk_lock();
    long n = live_pools;
    mk_unlock();
    return n;
}

cudaError_t cudaMemPoolCreate(cudaMemPool_t *pool, const struct cudaMemPoolProps *props)
{
    cudaError_t e = mk_enter(MOCKCUDA_MEM_POOL_CREATE);
    if (e == cudaSuccess && (pool == NULL || props == NULL))
        e = cudaErrorInvalidValue;
    if (e == cudaSuccess && mk.devices == 0)
        e = cudaErrorNoDevice;
    if (e == cudaSuccess && (props->allocType != cudaMemAllocationTypePinned ||
                             props->location.type != cudaMemLocationTypeDevice ||
                             props->location.id < 0 || props->location.id >= mk.devices))
        e = cudaErrorInvalidValue;
    if (e != cudaSuccess)
        return mk_leave(e);
    mk_pool *p = calloc(1, sizeof *p);
    if (p == NULL)
        return mk_leave(cudaErrorMemoryAllocation);
    p->device = props->location.id;
    live_pools++;
    *pool = (cudaMemPool_t)p;
    return mk_leave(cudaSuccess);
}

cudaError_t cudaMemPoolDestroy(cudaMemPool_t pool)
{
    mk_lock();
    if (pool == NULL)
        return mk_leave(cudaErrorInvalidValue);
    free((mk_pool *)pool); /* its live allocations stay until they are freed */
    live_pools--;
    return mk_leave(cudaSuccess);
}

cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t pool, enum cudaMemPoolAttr attr, void *value)
{
    mk_lock();
    if (pool == NULL || value == NULL)
        return mk_leave(cudaErrorInvalidValue);
    if (attr == cudaMemPoolAttrReleaseThreshold)
        ((mk_pool *)pool)->threshold = *(uint64_t *)value;
    return mk_leave(cudaSuccess);
}

static cudaError_t malloc_async(void **ptr, size_t size, int device, cudaStream_t stream)
{
    cudaError_t e = mk_enter(MOCKCUDA_MALLOC_ASYNC);
    if (ptr != NULL)
        *ptr = NULL;
    mk_stream *s = e == cudaSuccess ? mk_stream_get(stream, &e) : NULL;
    if (s != NULL && (e = mk_capture_gate(s)) != cudaSuccess)
        s = NULL;
    if (s != NULL && s->cap != NULL) {
        mk_violation("cudaMallocAsync in a capture (graph memory nodes are not modelled)");
        e = cudaErrorNotSupported;
        s = NULL;
    }
    if (s != NULL && ptr == NULL)
        e = cudaErrorInvalidValue;
    if (s != NULL && e == cudaSuccess && (device < 0 ? mk_current_device() : device) != s->device) {
        mk_violation("cudaMallocFromPoolAsync: a pool of device %d, a stream of device %d", device,
                     s->device);
        e = cudaErrorInvalidValue;
    }
    if (s == NULL || e != cudaSuccess || size == 0)
        return mk_leave(e);
    if (!mk_memory_fits(size))
        return mk_leave(cudaErrorMemoryAllocation);
    mk_alloc *a = mk_device_alloc(size, s->device);
    if (a == NULL)
        return mk_leave(cudaErrorMemoryAllocation);
    a->pooled = 1;
    a->ready = 0;
    mk_op *op = calloc(1, sizeof *op);
    op->kind = MK_OP_ALLOC;
    op->dst = a->user;
    mk_enqueue(s, op, NULL, 0);
    *ptr = a->user;
    return mk_leave(cudaSuccess);
}

cudaError_t cudaMallocAsync(void **ptr, size_t size, cudaStream_t stream)
{
    return malloc_async(ptr, size, -1, stream);
}

cudaError_t cudaMallocFromPoolAsync(void **ptr, size_t size, cudaMemPool_t pool, cudaStream_t stream)
{
    if (pool == NULL)
        return cudaErrorInvalidValue;
    return malloc_async(ptr, size, ((mk_pool *)pool)->device, stream);
}

cudaError_t cudaFreeAsync(void *ptr, cudaStream_t stream)
{
    cudaError_t e = mk_enter(MOCKCUDA_FREE_ASYNC);
    mk_stream *s = e == cudaSuccess ? mk_stream_get(stream, &e) : NULL;
    if (s != NULL && (e = mk_capture_gate(s)) != cudaSuccess)
        s = NULL;
    if (s == NULL || ptr == NULL)
        return mk_leave(e);
    mk_alloc *a = mk_find_start(ptr);
    if (a == NULL || a->kind != MK_MEM_DEVICE || a->user != (char *)ptr) {
        mk_violation("cudaFreeAsync(%p): not a device allocation", ptr);
        return mk_leave(cudaErrorInvalidValue);
    }
    if (s->cap != NULL) {
        mk_violation("cudaFreeAsync in a capture (graph memory nodes are not modelled)");
        return mk_leave(cudaErrorNotSupported);
    }
    mk_op *op = calloc(1, sizeof *op);
    op->kind = MK_OP_FREE;
    op->dst = ptr;
    mk_enqueue(s, op, NULL, 0);
    return mk_leave(cudaSuccess);
}

void mk_check_ready(const void *p, const char *what)
{
    const mk_alloc *a = p != NULL ? mk_find_start(p) : NULL;
    if (a != NULL && a->pooled && !a->ready)
        mk_violation("%s: memory at %p used before its stream-ordered allocation (cudaMallocAsync) "
                     "was reached", what, p);
}
