/*
 * test_roundtrip_mock.c — the GPU side of the round trip (fsd_pack_to_host,
 * fsd_unpack_from_host, fsd_to_bytes, fsd_from_bytes, and fsd_pack / fsd_unpack on device
 * tensors) run on the stand-in runtime (README.md here): the library's host code unchanged, its
 * streams and events queued and executed later in a seeded random order, its kernels on the
 * emulated grid. Every result is compared with the naive reference of fsd_cases.h.
 *
 * What each call is checked for, beyond the bytes:
 *  - the work starts after what is already queued on the caller's stream: the device tensor
 *    is filled by an asynchronous copy queued on that stream just before the call;
 *  - the caller's stream waits for the call's work: a read-back (unpack) or an overwrite of
 *    the source (pack) is queued on it just after the call;
 *  - a pageable destination holds the bytes on return (checked before any other CUDA call);
 *    a pageable source may be overwritten at once (it is, right after the call);
 *  - nothing outside the bytes of the view (guard zones around every buffer, device ones
 *    included, and the rest of the storage), no misuse of the runtime (mock violations), no
 *    copy with a pageable host side, no allocation left behind.
 * Small contexts (chunks of 4 or 8 KiB, 2..4 of them, 1..3 threads) make the ring wrap many
 * times; sizes k * chunk +- 1 element put elements across chunk edges. Each case runs under
 * several scheduler seeds, one of them with no eager progress at all (ops run only when the
 * host waits).
 *
 *   FSD_TEST_SEED=<n>     replay a run (the seed is printed first)
 *   FSD_TEST_CASES=<n>    random layouts (default 160)
 *   FSD_TEST_EDGES=<n>    chunk-edge layouts (default 120, or FSD_TEST_CASES if smaller)
 *   FSD_TEST_REPS=<n>     scheduler seeds per case (default 3)
 *   FSD_TEST_CASE=<i>     only case i (with FSD_TEST_SEED)
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastserde.h"
#include "fsd_cases.h"
#include "mock_cuda.h"

#include "roundtrip_checks.h"

static int rt_get_counts(rt_counts *c)
{
    mockcuda_stats s;
    mockcuda_get_stats(&s);
    c->device_allocs = s.device_allocs;
    c->pinned_allocs = s.pinned_allocs;
    c->streams = s.streams;
    c->events = s.events;
    c->executed_ops = s.executed_ops;
    c->pending_ops = s.pending_ops;
    c->kernels = s.kernels;
    c->pageable_copies = s.pageable_copies;
    c->violations = s.violations;
    return 1;
}

static void rt_peek(void *dst, const void *src, size_t n) { mockcuda_peek(dst, src, n); }

static int rt_is_device(const void *p, size_t n) { return mockcuda_is_device(p, n); }

static void rt_schedule(uint64_t seed, int eager)
{
    mockcuda_set_seed(seed);
    mockcuda_set_eager(eager);
}

static void rt_drain(void) { mockcuda_drain(); }

/* ------------------------------------------------------------------------------------------ */
/* Mock only: device counts                                                                    */

/* Two devices: the context on device 0 while device 1 is current; the caller's device is
 * restored by every call, and a tensor on device 1 is refused by the device-0 context. */
static void test_two_devices(void **state)
{
    (void)state;
    mockcuda_drain();
    assert_int_equal(mockcuda_set_devices(2), 0);
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.chunk_bytes = 4096;
    cfg.chunks = 2;
    cfg.cpu_threads = 2;
    cfg.device = 2;
    fsd_context *ctx = NULL, *ctx1 = NULL;
    assert_int_equal(fsd_context_create(&ctx, &cfg), FSD_ERROR_INVALID_ARGUMENT);
    CUDA_OK(cudaSetDevice(1));
    cfg.device = -1; /* the current one */
    assert_int_equal(fsd_context_create(&ctx1, &cfg), FSD_SUCCESS);
    fsd_context_usage u;
    assert_int_equal(fsd_context_memory(ctx1, &u), FSD_SUCCESS);
    assert_int_equal(u.device, 1);
    cfg.device = 0;
    assert_int_equal(fsd_context_create(&ctx, &cfg), FSD_SUCCESS);
    int cur = -1;
    CUDA_OK(cudaGetDevice(&cur));
    assert_int_equal(cur, 1);

    CUDA_OK(cudaSetDevice(0));
    cudaStream_t s;
    CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    fsdt_case c;
    edge_case(&c, 3, 4096);
    dbuf dev = dbuf_make(c.storage_size);
    upload(&dev, c.storage, s);
    CUDA_OK(cudaSetDevice(1));
    unsigned char *ref = malloc(c.packed_size);
    fsdt_reference_pack(&c, c.storage, ref);
    hbuf h = hbuf_make(c.packed_size, 0, FILL);
    DLTensor t = device_view(&c, &dev, 0);
    assert_int_equal(fsd_pack_to_host(ctx, &t, h.p, c.packed_size, s), FSD_SUCCESS);
    assert_int_equal(memcmp(h.p, ref, c.packed_size), 0);
    CUDA_OK(cudaGetDevice(&cur));
    assert_int_equal(cur, 1);
    assert_int_equal(fsd_unpack_from_host(ctx, h.p, c.packed_size, &t, s), FSD_SUCCESS);
    CUDA_OK(cudaGetDevice(&cur));
    assert_int_equal(cur, 1);
    void *bytes = NULL;
    size_t size = 0;
    assert_int_equal(fsd_to_bytes(ctx, &t, &bytes, &size), FSD_SUCCESS);
    CUDA_OK(cudaGetDevice(&cur));
    assert_int_equal(cur, 1);
    assert_int_equal(size, c.packed_size);
    assert_int_equal(memcmp(bytes, ref, size), 0);
    fsd_bytes_free(bytes);
    DLManagedTensor *m = NULL;
    DLDevice d0 = {kDLCUDA, 0};
    mockcuda_set_eager(0); /* nothing runs unless waited for */
    assert_int_equal(fsd_from_bytes(ctx, ref, c.packed_size, c.t.dtype, d0, &m), FSD_SUCCESS);
    CUDA_OK(cudaGetDevice(&cur));
    assert_int_equal(cur, 1);
    struct cudaPointerAttributes a;
    CUDA_OK(cudaPointerGetAttributes(&a, m->dl_tensor.data));
    assert_int_equal(a.type, cudaMemoryTypeDevice);
    assert_int_equal(a.device, 0);
    unsigned char *got = malloc(c.packed_size);
    mockcuda_set_eager(0);
    mockcuda_peek(got, m->dl_tensor.data, c.packed_size); /* blocking: there on return */
    const int late = memcmp(got, ref, c.packed_size) != 0; /* reported after the clean-up */
    free(got);
    m->deleter(m);
    CUDA_OK(cudaGetDevice(&cur));
    assert_int_equal(cur, 1);
    /* the device-1 context refuses the device-0 tensor */
    assert_int_equal(fsd_pack_to_host(ctx1, &t, h.p, c.packed_size, NULL),
                     FSD_ERROR_INVALID_ARGUMENT);
    CUDA_OK(cudaStreamSynchronize(s));
    hbuf_free(&h);
    free(ref);
    free_later();
    dbuf_free(&dev);
    fsdt_case_free(&c);
    CUDA_OK(cudaStreamDestroy(s));
    fsd_context_destroy(ctx);
    fsd_context_destroy(ctx1);
    CUDA_OK(cudaGetDevice(&cur));
    assert_int_equal(cur, 1);
    mockcuda_drain();
    mockcuda_stats st;
    mockcuda_get_stats(&st);
    assert_int_equal(st.violations, 0);
    assert_int_equal(mockcuda_set_devices(1), 0);
    if (late)
        fail_msg("fsd_from_bytes into device 0 while device 1 is current: the data is not "
                 "there on return");
}

/* No device: a host-only context; CUDA tensors get FSD_ERROR_NO_GPU, host tensors work. */
static void test_host_only(void **state)
{
    (void)state;
    mockcuda_drain();
    assert_int_equal(mockcuda_set_devices(0), 0);
    fsd_context *ctx = NULL;
    assert_int_equal(fsd_context_create(&ctx, NULL), FSD_SUCCESS);
    fsd_context_usage u;
    assert_int_equal(fsd_context_memory(ctx, &u), FSD_SUCCESS);
    assert_int_equal(u.device, -1);
    assert_int_equal(u.chunks, 0);
    assert_int_equal(u.pinned_bytes, 0);
    assert_int_equal(u.device_bytes, 0);
    fsdt_case c;
    edge_case(&c, 11, 4096);
    unsigned char *ref = malloc(c.packed_size);
    fsdt_reference_pack(&c, c.storage, ref);
    unsigned char *h = fsdt_guarded_alloc(c.packed_size, FILL);
    assert_int_equal(fsd_pack_to_host(ctx, &c.t, h, c.packed_size, NULL), FSD_SUCCESS);
    assert_int_equal(memcmp(h, ref, c.packed_size), 0);
    DLTensor t = c.t;
    t.device.device_type = kDLCUDA;
    memset(h, FILL, c.packed_size);
    assert_int_equal(fsd_pack_to_host(ctx, &t, h, c.packed_size, NULL), FSD_ERROR_NO_GPU);
    assert_int_equal(fsd_unpack_from_host(ctx, ref, c.packed_size, &t, NULL), FSD_ERROR_NO_GPU);
    assert_true(fsdt_all_equal(h, c.packed_size, FILL));
    void *bytes = (void *)1;
    size_t size = 1;
    assert_int_equal(fsd_to_bytes(ctx, &t, &bytes, &size), FSD_ERROR_NO_GPU);
    assert_null(bytes);
    assert_int_equal(size, 0);
    DLManagedTensor *m = (DLManagedTensor *)1;
    DLDevice cuda = {kDLCUDA, 0};
    assert_int_equal(fsd_from_bytes(ctx, ref, c.packed_size, c.t.dtype, cuda, &m),
                     FSD_ERROR_NO_GPU);
    assert_null(m);
    assert_int_equal(fsd_pack(&t, h, c.packed_size, NULL), FSD_ERROR_NO_GPU);
    assert_true(fsdt_guards_intact(h, c.packed_size));
    fsd_context_destroy(ctx);
    fsdt_guarded_free(h);
    free(ref);
    fsdt_case_free(&c);
    assert_int_equal(mockcuda_set_devices(1), 0);
}

int main(void)
{
    rt_read_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_pipelined_calls),
        cmocka_unit_test(test_chunk_edges),
        cmocka_unit_test(test_random_cases),
        /* last: they change the number of devices */
        cmocka_unit_test(test_two_devices),
        cmocka_unit_test(test_host_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
