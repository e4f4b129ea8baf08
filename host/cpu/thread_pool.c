/* thread_pool.c — persistent workers on pthreads (see thread_pool.h). */
#include <pthread.h>

#include "error.h"
#include "thread_pool.h"

struct fsd_pool {
    const fsd_alloc *alloc;
    int threads;          /* workers + the caller       */
    int started;          /* workers running            */
    pthread_t *workers;
    pthread_mutex_t mu;
    pthread_cond_t wake;  /* a batch or stop for workers */
    pthread_cond_t done;  /* the batch is finished       */
    unsigned long batch;  /* number of the current batch */
    fsd_task_fn fn;
    void *arg;
    int count, next, pending;
    int stop;
};

/* Takes and runs tasks of the current batch until none is left; called with mu held. */
static void drain(fsd_pool *p)
{
    while (p->next < p->count) {
        int i = p->next++;
        pthread_mutex_unlock(&p->mu);
        p->fn(p->arg, i);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0)
            pthread_cond_broadcast(&p->done);
    }
}

static void *worker(void *arg)
{
    fsd_pool *p = arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->batch == seen)
            pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop)
            break;
        seen = p->batch;
        drain(p);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

fsd_status fsd_pool_create(fsd_pool **pool, int threads, const fsd_alloc *a)
{
    *pool = NULL;
    fsd_pool *p = fsd_alloc_host(a, sizeof *p);
    if (p == NULL)
        return fsd_fail(FSD_ERROR_OUT_OF_MEMORY, "thread pool: no memory for the pool");
    *p = (fsd_pool){.alloc = a, .threads = threads};
    p->workers = threads > 1 ? fsd_alloc_host(a, sizeof(pthread_t) * (size_t)(threads - 1)) : NULL;
    if (threads > 1 && p->workers == NULL) {
        fsd_free_host(a, p);
        return fsd_fail(FSD_ERROR_OUT_OF_MEMORY, "thread pool: no memory for %d threads", threads);
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    for (; p->started < threads - 1; p->started++) {
        if (pthread_create(&p->workers[p->started], NULL, worker, p) != 0) {
            int failed = p->started + 1; /* p is gone after the destroy */
            fsd_pool_destroy(p);
            return fsd_fail(FSD_ERROR_OUT_OF_MEMORY, "thread pool: cannot start thread %d of %d",
                            failed, threads - 1);
        }
    }
    *pool = p;
    return FSD_SUCCESS;
}

void fsd_pool_destroy(fsd_pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->started; i++)
        pthread_join(p->workers[i], NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    if (p->workers)
        fsd_free_host(p->alloc, p->workers);
    fsd_free_host(p->alloc, p);
}

int fsd_pool_threads(const fsd_pool *p)
{
    return p->threads;
}

void fsd_pool_run(fsd_pool *p, fsd_task_fn fn, void *arg, int count)
{
    if (count <= 0)
        return;
    if (p->started == 0 || count == 1) {
        for (int i = 0; i < count; i++)
            fn(arg, i);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->count = count;
    p->next = 0;
    p->pending = count;
    p->batch++;
    pthread_cond_broadcast(&p->wake);
    drain(p);
    while (p->pending > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
