/*
 * test_kernels_gpu.c — the random cases of fsd_cases through fsd_pack / fsd_unpack on a real
 * GPU: device storage and device packed buffers with guard bytes (checked after a copy back),
 * on the default stream and on a created stream, and with the packed buffer in mapped pinned
 * host memory. Exits 77 (reported "skipped" by ctest) when there is no usable GPU.
 *
 * FSD_TEST_SEED replays a run; FSD_TEST_CASES sets the number of cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cuda_runtime_api.h>

#include "fastserde.h"
#include "fsd_cases.h"
#include "fsdt_cuda_ok.h"

#define SKIP_CODE 77

typedef enum where { ON_DEVICE, ON_MAPPED_HOST } where;

/* A guarded buffer of n bytes in device memory or mapped pinned host memory. `host` mirrors
 * the whole allocation (guards included) for set-up and checks. */
typedef struct gbuf {
    where at;
    size_t n;
    unsigned char *alloc; /* device pointer, or host pointer of the mapped allocation */
    unsigned char *host;  /* FSDT_GUARD + n + FSDT_GUARD bytes                        */
} gbuf;

static unsigned char *gbuf_ptr(const gbuf *b) /* what the GPU uses for byte 0 */
{
    unsigned char *p = b->alloc;
    if (b->at == ON_MAPPED_HOST) {
        void *dev = NULL;
        CUDA_OK(cudaHostGetDevicePointer(&dev, b->alloc, 0));
        p = dev;
    }
    return p + FSDT_GUARD;
}

static void gbuf_make(gbuf *b, where at, const unsigned char *init, size_t n, unsigned char fill)
{
    b->at = at;
    b->n = n;
    b->host = fsdt_guarded_alloc(n, fill);
    if (init)
        memcpy(b->host, init, n);
    size_t total = n + 2 * FSDT_GUARD;
    if (at == ON_DEVICE) {
        CUDA_OK(cudaMalloc((void **)&b->alloc, total));
        CUDA_OK(cudaMemcpy(b->alloc, b->host - FSDT_GUARD, total, cudaMemcpyHostToDevice));
    } else {
        CUDA_OK(cudaHostAlloc((void **)&b->alloc, total, cudaHostAllocMapped));
        memcpy(b->alloc, b->host - FSDT_GUARD, total);
    }
}

/* Copies the buffer back into b->host (guards included). */
static void gbuf_fetch(gbuf *b)
{
    size_t total = b->n + 2 * FSDT_GUARD;
    if (b->at == ON_DEVICE)
        CUDA_OK(cudaMemcpy(b->host - FSDT_GUARD, b->alloc, total, cudaMemcpyDeviceToHost));
    else
        memcpy(b->host - FSDT_GUARD, b->alloc, total);
}

static void gbuf_free(gbuf *b)
{
    if (b->at == ON_DEVICE)
        CUDA_OK(cudaFree(b->alloc));
    else
        CUDA_OK(cudaFreeHost(b->alloc));
    fsdt_guarded_free(b->host);
}

static void check_status(fsd_status st, const char *what, const fsdt_case *c)
{
    if (st != FSD_SUCCESS) {
        char msg[256];
        fsd_last_error(msg, sizeof msg);
        fail_msg("%s: %s (%s)\n  %s", what, fsd_status_string(st), msg, c->desc);
    }
}

static void run_case(const fsdt_case *c, cudaStream_t stream, where packed_at)
{
    /* The view's storage lives on the device; the view itself is the case's, moved there. */
    gbuf storage, packed;
    gbuf_make(&storage, ON_DEVICE, c->storage, c->storage_size, 0);
    DLTensor t = c->t;
    t.data = gbuf_ptr(&storage);
    t.device.device_type = kDLCUDA;
    t.device.device_id = 0;

    unsigned char *want = malloc(c->packed_size + 1);
    fsdt_reference_pack(c, c->storage, want);
    gbuf_make(&packed, packed_at, NULL, c->packed_size, 0x5A);
    check_status(fsd_pack(&t, gbuf_ptr(&packed), c->packed_size, stream), "fsd_pack", c);
    CUDA_OK(cudaStreamSynchronize(stream));
    gbuf_fetch(&packed);
    long diff = fsdt_first_diff(want, packed.host, c->packed_size);
    if (diff >= 0)
        fail_msg("pack: byte %ld differs: want %02x got %02x\n  %s", diff, want[diff],
                 packed.host[diff], c->desc);
    if (!fsdt_guards_intact(packed.host, c->packed_size))
        fail_msg("pack: guard bytes overwritten\n  %s", c->desc);

    if (c->nests) {
        /* Unpack other bytes into the view; the whole storage is compared. */
        for (size_t i = 0; i < c->packed_size; i++)
            want[i] = (unsigned char)(i * 77 + 3);
        gbuf_free(&packed);
        gbuf_make(&packed, packed_at, want, c->packed_size, 0);
        unsigned char *want_storage = malloc(c->storage_size);
        memcpy(want_storage, c->storage, c->storage_size);
        fsdt_reference_unpack(c, want, want_storage);
        check_status(fsd_unpack(gbuf_ptr(&packed), c->packed_size, &t, stream), "fsd_unpack", c);
        CUDA_OK(cudaStreamSynchronize(stream));
        gbuf_fetch(&storage);
        diff = fsdt_first_diff(want_storage, storage.host, c->storage_size);
        if (diff >= 0)
            fail_msg("unpack: storage byte %ld differs: want %02x got %02x\n  %s", diff,
                     want_storage[diff], storage.host[diff], c->desc);
        if (!fsdt_guards_intact(storage.host, c->storage_size))
            fail_msg("unpack: guard bytes around the storage overwritten\n  %s", c->desc);
        free(want_storage);
    }
    free(want);
    gbuf_free(&packed);
    gbuf_free(&storage);
}

static void run_cases(cudaStream_t stream, where packed_at, int salt)
{
    uint64_t seed = fsdt_seed();
    long n = fsdt_env_long("FSD_TEST_CASES", 1500);
    for (long i = 0; i < n; i++) {
        fsdt_case c;
        fsdt_case_make(&c, seed, (int)i + salt * 1000003);
        run_case(&c, stream, packed_at);
        fsdt_case_free(&c);
    }
}

static void test_default_stream(void **state)
{
    (void)state;
    run_cases(NULL, ON_DEVICE, 0);
}

static void test_created_stream(void **state)
{
    (void)state;
    cudaStream_t s;
    CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    run_cases(s, ON_DEVICE, 1);
    CUDA_OK(cudaStreamDestroy(s));
}

static void test_mapped_pinned_packed(void **state)
{
    (void)state;
    cudaStream_t s;
    CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    run_cases(s, ON_MAPPED_HOST, 2);
    CUDA_OK(cudaStreamDestroy(s));
}

int main(void)
{
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
        printf("no usable GPU: skipped\n");
        return SKIP_CODE;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_stream),
        cmocka_unit_test(test_created_stream),
        cmocka_unit_test(test_mapped_pinned_packed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
