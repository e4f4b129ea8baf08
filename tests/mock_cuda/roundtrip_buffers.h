/*
 * roundtrip_buffers.h — the buffers of the round-trip checks: host memory (pageable or pinned)
 * and device memory, each with guard zones around; uploads and read-backs queued on a stream
 * through pinned staging; the device view of a case. Part of roundtrip_checks.h: include that,
 * not this.
 */
#ifndef ROUNDTRIP_BUFFERS_H
#define ROUNDTRIP_BUFFERS_H

#include "roundtrip_runtime.h"

#define G FSDT_GUARD
#define FILL 0x5A

/* ------------------------------------------------------------------------------------------ */
/* Buffers. Pinned staging buffers live until the end of the case (cudaFreeHost would run the
 * queued work and hide a missing dependency).                                                 */

#define MAX_LATER 64
static void *g_later[MAX_LATER];
static int g_nlater;

static unsigned char *pinned_alloc(size_t n)
{
    void *p = NULL;
    CUDA_OK(cudaHostAlloc(&p, n ? n : 1, cudaHostAllocDefault));
    return p;
}

static unsigned char *pinned_later(size_t n)
{
    assert_true(g_nlater < MAX_LATER);
    return g_later[g_nlater++] = pinned_alloc(n);
}

static void free_later(void)
{
    for (int i = 0; i < g_nlater; i++)
        CUDA_OK(cudaFreeHost(g_later[i]));
    g_nlater = 0;
}

/* Host memory of n bytes (pageable or pinned) filled with `fill`, guard zones around. */
typedef struct hbuf {
    unsigned char *p;
    size_t n;
    int pinned;
} hbuf;

static hbuf hbuf_make(size_t n, int pinned, unsigned char fill)
{
    hbuf h = {fsdt_guarded_alloc(n, fill), n, pinned};
    if (pinned) {
        unsigned char *raw = pinned_alloc(n + 2 * G);
        memcpy(raw, h.p - G, n + 2 * G);
        fsdt_guarded_free(h.p);
        h.p = raw + G;
    }
    return h;
}

static void hbuf_free(hbuf *h)
{
    if (h->pinned)
        CUDA_OK(cudaFreeHost(h->p - G));
    else
        fsdt_guarded_free(h->p);
    h->p = NULL;
}

/* Device memory of n bytes with guard zones (the pattern of fsdt_guarded_alloc). */
typedef struct dbuf {
    unsigned char *p;
    size_t n;
} dbuf;

static dbuf dbuf_make(size_t n)
{
    void *raw = NULL;
    CUDA_OK(cudaMalloc(&raw, n + 2 * G));
    dbuf d = {(unsigned char *)raw + G, n};
    return d;
}

static void dbuf_free(dbuf *d)
{
    CUDA_OK(cudaFree(d->p - G));
    d->p = NULL;
}

/* Queues on s a copy of `data` (n bytes) and the guard zones into d. */
static void upload(const dbuf *d, const unsigned char *data, cudaStream_t s)
{
    unsigned char *mirror = fsdt_guarded_alloc(d->n, 0);
    memcpy(mirror, data, d->n);
    unsigned char *staging = pinned_later(d->n + 2 * G);
    memcpy(staging, mirror - G, d->n + 2 * G);
    fsdt_guarded_free(mirror);
    CUDA_OK(cudaMemcpyAsync(d->p - G, staging, d->n + 2 * G, cudaMemcpyHostToDevice, s));
}

/* Queues on s a copy of d (guards included) into pinned memory; read it with fetched(). */
static unsigned char *fetch(const dbuf *d, cudaStream_t s)
{
    unsigned char *staging = pinned_later(d->n + 2 * G);
    CUDA_OK(cudaMemcpyAsync(staging, d->p - G, d->n + 2 * G, cudaMemcpyDeviceToHost, s));
    return staging + G; /* guards around, like a guarded buffer */
}

/* The device tensor of a case: its view over device storage. */
static DLTensor device_view(const fsdt_case *c, const dbuf *d, int device_id)
{
    DLTensor t = c->t;
    t.data = d->p;
    t.device.device_type = kDLCUDA;
    t.device.device_id = device_id;
    return t;
}

#endif
