/*
 * thread_pool.h — persistent CPU worker threads owned by a context: created once, woken per
 * call, never created per call. fsd_pool_run hands out task indices to the workers and to the
 * calling thread, and returns when every task is done.
 */
#ifndef FSD_THREAD_POOL_H
#define FSD_THREAD_POOL_H

#include "alloc.h"
#include "fastserde.h"

typedef struct fsd_pool fsd_pool;

/* Runs task `index` of a batch. */
typedef void (*fsd_task_fn)(void *arg, int index);

/* A pool with `threads` - 1 workers (the caller is the last thread); threads >= 1. Memory
 * comes from `a`. FSD_ERROR_OUT_OF_MEMORY when memory or a thread cannot be had. */
fsd_status fsd_pool_create(fsd_pool **pool, int threads, const fsd_alloc *a);
void fsd_pool_destroy(fsd_pool *pool);

/* Threads of the pool, the caller included. */
int fsd_pool_threads(const fsd_pool *pool);

/* Runs fn(arg, i) for i in [0, count) on the workers and the calling thread; returns when all
 * are done. One batch at a time per pool. */
void fsd_pool_run(fsd_pool *pool, fsd_task_fn fn, void *arg, int count);

#endif
