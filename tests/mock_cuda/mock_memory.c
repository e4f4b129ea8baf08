/*
 * mock_memory.c — the stand-in runtime's memory (see README.md):
 *   device   cudaMalloc: an mmap'd block, PROT_NONE whenever no op is executing (so host code
 *            that touches device memory faults; the SIGSEGV handler names it), with 256 bytes
 *            of red zone before and after (checked when freed) and a guard page behind;
 *   pinned   cudaHostAlloc: malloc'd host memory with red zones, reported cudaMemoryTypeHost;
 *   registered  cudaHostRegister'ed ranges, reported cudaMemoryTypeHost.
 * Anything else is pageable (cudaMemoryTypeUnregistered).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mock_internal.h"

#define RED 256 /* red zone bytes before and after */

static size_t page;

static unsigned char red_byte(size_t i) { return (unsigned char)(0x3Cu ^ (i * 91u)); }

static void red_fill(char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (char)red_byte(i);
}

static long red_broken(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] != red_byte(i))
            return (long)i;
    return -1;
}

/* SIGSEGV inside device memory: the host touched it outside an op. */
static struct sigaction previous;

static void on_segv(int sig, siginfo_t *info, void *uctx)
{
    (void)uctx;
    const char *addr = info->si_addr;
    for (int i = 0; i < mk.nallocs; i++) {
        const mk_alloc *a = &mk.allocs[i];
        if (a->kind == MK_MEM_DEVICE && addr >= a->base && addr < a->base + a->rw_size + page) {
            static const char msg[] = "mock_cuda: VIOLATION: the host touched device memory "
                                      "(a cudaMalloc block) outside a queued op: SIGSEGV\n";
            (void)!write(2, msg, sizeof msg - 1);
            break;
        }
    }
    sigaction(sig, &previous, NULL); /* the fault repeats and is reported as usual */
}

void mk_memory_init(void)
{
    page = (size_t)sysconf(_SC_PAGESIZE);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &previous);
}

static void protect_one(const mk_alloc *a, int prot)
{
    if (a->kind == MK_MEM_DEVICE && mprotect(a->base, a->rw_size, prot) != 0)
        mk_violation("mprotect failed");
}

void mk_exec_begin(void)
{
    if (mk.unprotected++ == 0 && mk.protect)
        for (int i = 0; i < mk.nallocs; i++)
            protect_one(&mk.allocs[i], PROT_READ | PROT_WRITE);
}

void mk_exec_end(void)
{
    if (--mk.unprotected == 0 && mk.protect)
        for (int i = 0; i < mk.nallocs; i++)
            protect_one(&mk.allocs[i], PROT_NONE);
}

void mockcuda_set_protect(int on)
{
    mk_lock();
    if (mk.unprotected == 0 && mk.protect != (on != 0))
        for (int i = 0; i < mk.nallocs; i++)
            protect_one(&mk.allocs[i], on ? PROT_NONE : PROT_READ | PROT_WRITE);
    mk.protect = on != 0;
    mk_unlock();
}

mk_alloc *mk_find_start(const void *p)
{
    const char *c = p;
    for (int i = 0; i < mk.nallocs; i++) {
        mk_alloc *a = &mk.allocs[i];
        if (c >= a->user && c < a->user + a->size)
            return a;
    }
    return NULL;
}

mk_alloc *mk_find(const void *p, size_t n)
{
    mk_alloc *a = mk_find_start(p);
    if (a != NULL && (size_t)((const char *)p - a->user) + n > a->size)
        return NULL;
    return a;
}

static mk_alloc *add_alloc(void)
{
    if (mk.nallocs == mk.cap_allocs) {
        int cap = mk.cap_allocs ? 2 * mk.cap_allocs : 16;
        mk_alloc *n = realloc(mk.allocs, (size_t)cap * sizeof *n);
        if (n == NULL)
            return NULL;
        mk.allocs = n;
        mk.cap_allocs = cap;
    }
    mk_alloc *a = &mk.allocs[mk.nallocs++];
    memset(a, 0, sizeof *a);
    return a;
}

static void remove_alloc(mk_alloc *a) { *a = mk.allocs[--mk.nallocs]; }

/* 1 when n more bytes of device or pinned memory stay within the memory limit. */
int mk_memory_fits(size_t n)
{
    if (mk.memory_limit == 0)
        return 1;
    size_t live = 0;
    for (int i = 0; i < mk.nallocs; i++)
        if (mk.allocs[i].kind != MK_MEM_REGISTERED)
            live += mk.allocs[i].size;
    return n <= mk.memory_limit && live <= mk.memory_limit - n;
}

/* Free and total device memory: the memory limit (mockcuda_set_memory_limit), or 80 GiB when
 * there is none, less the live device and pinned bytes. */
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes)
{
    if (free_bytes == NULL || total_bytes == NULL)
        return cudaErrorInvalidValue;
    mk_lock();
    size_t total = mk.memory_limit ? mk.memory_limit : (size_t)80 << 30, live = 0;
    for (int i = 0; i < mk.nallocs; i++)
        if (mk.allocs[i].kind != MK_MEM_REGISTERED)
            live += mk.allocs[i].size;
    *total_bytes = total;
    *free_bytes = live < total ? total - live : 0;
    mk_unlock();
    return cudaSuccess;
}

/* Red zones of a live allocation; the block must be readable. */
static void check_red(const mk_alloc *a, const char *what)
{
    long i;
    if ((i = red_broken(a->user - RED, RED)) >= 0)
        mk_violation("%s: red zone before %p (%zu bytes) overwritten at byte %ld", what,
                     (void *)a->user, a->size, (long)RED - i);
    if ((i = red_broken(a->user + a->size, RED)) >= 0)
        mk_violation("%s: red zone after %p (%zu bytes) overwritten at byte %ld past the end",
                     what, (void *)a->user, a->size, i);
}

/* Frees everything queued first: cudaFree and cudaFreeHost synchronise in CUDA too. */
static int all_done(void *arg)
{
    (void)arg;
    return mk.pending == 0;
}

mk_alloc *mk_device_alloc(size_t size, int device)
{
    size_t rw = (RED + size + RED + page - 1) / page * page;
    char *base = mmap(NULL, rw + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mk_alloc *a = base == MAP_FAILED ? NULL : add_alloc();
    if (a == NULL) {
        if (base != MAP_FAILED)
            munmap(base, rw + page);
        return NULL;
    }
    a->kind = MK_MEM_DEVICE;
    a->device = device;
    a->base = base;
    a->rw_size = rw;
    a->user = base + RED;
    a->size = size;
    /* Fresh device memory is not zeroed in CUDA either. */
    for (size_t i = 0; i < size; i++)
        a->user[i] = (char)(0xD0 ^ (i & 0x0F));
    red_fill(a->user - RED, RED);
    red_fill(a->user + size, RED);
    mprotect(base + rw, page, PROT_NONE);
    if (mk.protect && mk.unprotected == 0)
        protect_one(a, PROT_NONE);
    mk_trace("device allocation of %zu bytes at %p on device %d", size, (void *)a->user, device);
    return a;
}

void mk_device_release(mk_alloc *a, const char *what)
{
    mk_exec_begin();
    check_red(a, what);
    mk_exec_end();
    munmap(a->base, a->rw_size + page);
    remove_alloc(a);
}

cudaError_t cudaMalloc(void **ptr, size_t size)
{
    cudaError_t e = mk_enter(MOCKCUDA_MALLOC);
    if (e == cudaSuccess)
        e = mk_capture_unsafe("cudaMalloc");
    if (e == cudaSuccess && ptr == NULL)
        e = cudaErrorInvalidValue;
    if (e == cudaSuccess && mk.devices == 0)
        e = cudaErrorNoDevice;
    if (ptr != NULL)
        *ptr = NULL;
    if (e == cudaSuccess && !mk_memory_fits(size))
        e = cudaErrorMemoryAllocation;
    if (e != cudaSuccess || size == 0)
        return mk_leave(e);
    mk_alloc *a = mk_device_alloc(size, mk_current_device());
    if (a == NULL)
        return mk_leave(cudaErrorMemoryAllocation);
    *ptr = a->user;
    return mk_leave(cudaSuccess);
}

cudaError_t cudaFree(void *ptr)
{
    cudaError_t e = mk_enter(MOCKCUDA_FREE);
    if (e == cudaSuccess)
        e = mk_capture_unsafe("cudaFree");
    if (e != cudaSuccess || ptr == NULL)
        return mk_leave(e);
    mk_run_until(all_done, NULL);
    mk_alloc *a = mk_find_start(ptr);
    if (a == NULL || a->kind != MK_MEM_DEVICE || a->user != (char *)ptr) {
        mk_violation("cudaFree(%p): not a cudaMalloc pointer", ptr);
        return mk_leave(cudaErrorInvalidValue);
    }
    mk_device_release(a, "cudaFree");
    return mk_leave(cudaSuccess);
}

cudaError_t cudaHostAlloc(void **ptr, size_t size, unsigned int flags)
{
    cudaError_t e = mk_enter(MOCKCUDA_HOST_ALLOC);
    if (e == cudaSuccess)
        e = mk_capture_unsafe("cudaHostAlloc");
    if (e == cudaSuccess && ptr == NULL)
        e = cudaErrorInvalidValue;
    if (e == cudaSuccess && mk.devices == 0)
        e = cudaErrorNoDevice;
    if (ptr != NULL)
        *ptr = NULL;
    if (e == cudaSuccess && !mk_memory_fits(size))
        e = cudaErrorMemoryAllocation;
    if (e != cudaSuccess)
        return mk_leave(e);
    char *base = aligned_alloc(RED, RED + (size + RED - 1) / RED * RED + RED);
    mk_alloc *a = base == NULL ? NULL : add_alloc();
    if (a == NULL) {
        free(base);
        return mk_leave(cudaErrorMemoryAllocation);
    }
    a->kind = MK_MEM_PINNED;
    a->device = mk_current_device();
    a->flags = flags;
    a->base = base;
    a->user = base + RED;
    a->size = size;
    red_fill(a->user - RED, RED);
    red_fill(a->user + size, RED);
    *ptr = a->user;
    return mk_leave(cudaSuccess);
}

cudaError_t cudaMallocHost(void **ptr, size_t size) { return cudaHostAlloc(ptr, size, 0); }

cudaError_t cudaFreeHost(void *ptr)
{
    cudaError_t e = mk_enter(MOCKCUDA_FREE_HOST);
    if (e == cudaSuccess)
        e = mk_capture_unsafe("cudaFreeHost");
    if (e != cudaSuccess || ptr == NULL)
        return mk_leave(e);
    mk_run_until(all_done, NULL);
    mk_alloc *a = mk_find_start(ptr);
    if (a == NULL || a->kind != MK_MEM_PINNED || a->user != (char *)ptr) {
        mk_violation("cudaFreeHost(%p): not a cudaHostAlloc pointer", ptr);
        return mk_leave(cudaErrorInvalidValue);
    }
    check_red(a, "cudaFreeHost");
    free(a->base);
    remove_alloc(a);
    return mk_leave(cudaSuccess);
}

cudaError_t cudaHostRegister(void *ptr, size_t size, unsigned int flags)
{
    mk_lock();
    cudaError_t e = mk_capture_unsafe("cudaHostRegister");
    if (e != cudaSuccess)
        return mk_leave(e);
    if (ptr == NULL || size == 0 || mk_find_start(ptr) != NULL)
        return mk_leave(cudaErrorInvalidValue);
    mk_alloc *a = add_alloc();
    if (a == NULL)
        return mk_leave(cudaErrorMemoryAllocation);
    a->kind = MK_MEM_REGISTERED;
    a->device = mk_current_device();
    a->user = ptr;
    a->size = size;
    a->flags = flags;
    return mk_leave(cudaSuccess);
}

cudaError_t cudaHostUnregister(void *ptr)
{
    mk_lock();
    cudaError_t e = mk_capture_unsafe("cudaHostUnregister");
    if (e != cudaSuccess)
        return mk_leave(e);
    mk_run_until(all_done, NULL);
    mk_alloc *a = mk_find_start(ptr);
    if (a == NULL || a->kind != MK_MEM_REGISTERED || a->user != (char *)ptr)
        return mk_leave(cudaErrorHostMemoryNotRegistered);
    remove_alloc(a);
    return mk_leave(cudaSuccess);
}

cudaError_t cudaHostGetDevicePointer(void **dev, void *host, unsigned int flags)
{
    (void)flags;
    mk_lock();
    mk_alloc *a = host ? mk_find_start(host) : NULL;
    if (dev == NULL || a == NULL || a->kind == MK_MEM_DEVICE)
        return mk_leave(cudaErrorInvalidValue);
    *dev = host; /* unified addressing: the same address */
    return mk_leave(cudaSuccess);
}

cudaError_t cudaPointerGetAttributes(struct cudaPointerAttributes *attr, const void *ptr)
{
    cudaError_t e = mk_enter(MOCKCUDA_POINTER_GET_ATTRIBUTES);
    if (e == cudaSuccess && attr == NULL)
        e = cudaErrorInvalidValue;
    if (e != cudaSuccess)
        return mk_leave(e);
    memset(attr, 0, sizeof *attr);
    const mk_alloc *a = ptr ? mk_find_start(ptr) : NULL;
    if (a == NULL) {
        attr->type = cudaMemoryTypeUnregistered;
        attr->device = -2;
        attr->hostPointer = (void *)ptr;
    } else if (a->kind == MK_MEM_DEVICE) {
        attr->type = cudaMemoryTypeDevice;
        attr->device = a->device;
        attr->devicePointer = (void *)ptr;
    } else {
        attr->type = cudaMemoryTypeHost;
        attr->device = a->device;
        attr->devicePointer = (void *)ptr;
        attr->hostPointer = (void *)ptr;
    }
    return mk_leave(cudaSuccess);
}

/* ------------------------------------------------------------------------------------------ */

int mockcuda_is_device(const void *p, size_t n)
{
    mk_lock();
    const mk_alloc *a = mk_find(p, n);
    int r = a != NULL && a->kind == MK_MEM_DEVICE;
    mk_unlock();
    return r;
}

int mockcuda_is_pinned(const void *p, size_t n)
{
    mk_lock();
    const mk_alloc *a = mk_find(p, n);
    int r = a != NULL && a->kind != MK_MEM_DEVICE;
    mk_unlock();
    return r;
}

long mockcuda_host_flags(const void *p)
{
    mk_lock();
    const mk_alloc *a = mk_find_start(p);
    long f = a != NULL && a->kind != MK_MEM_DEVICE ? (long)a->flags : -1;
    mk_unlock();
    return f;
}

void mockcuda_peek(void *dst, const void *src, size_t n)
{
    mk_lock();
    mk_exec_begin();
    memcpy(dst, src, n);
    mk_exec_end();
    mk_unlock();
}

void mockcuda_poke(void *dst, const void *src, size_t n)
{
    mk_lock();
    mk_exec_begin();
    memcpy(dst, src, n);
    mk_exec_end();
    mk_unlock();
}
