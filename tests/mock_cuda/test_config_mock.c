/*
 * test_config_mock.c — context configurations on the stand-in runtime, with one GPU and with
 * none: the refused configurations of ../fsdt_configs.h give FSD_ERROR_INVALID_ARGUMENT in both
 * cases, before any allocation (no hook call, nothing left on the runtime); a version-1 config
 * is read as such; the limits are accepted (shown with hooks that refuse the large chunk
 * allocations: FSD_ERROR_OUT_OF_MEMORY, not INVALID_ARGUMENT); and the stream priority of the
 * config is the priority of the context's streams (clamped by the runtime as CUDA does).
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

#include "context.h"
#include "fastserde.h"
#include "fsdt_configs.h"
#include "fsdt_cuda_ok.h"
#include "mock_cuda.h"
#include "mock_hooks.h"

static void expect_clean(const char *what)
{
    mockcuda_stats s;
    mockcuda_drain();
    mockcuda_get_stats(&s);
    if (s.device_allocs || s.pinned_allocs || s.streams || s.events || s.violations)
        fail_msg("%s: left %ld device and %ld pinned allocations, %ld streams, %ld events; %ld "
                 "misuses", what, s.device_allocs, s.pinned_allocs, s.streams, s.events,
                 s.violations);
}

static void refused_with(int devices)
{
    mockcuda_drain();
    assert_int_equal(mockcuda_set_devices(devices), 0);
    mockcuda_hooks h = MOCKCUDA_HOOKS_INIT;
    int n = 0;
    for (int k = 0;; k++, n++) {
        fsd_context_config c;
        const char *what = fsdt_bad_config(k, &c, mockcuda_hook_alloc, mockcuda_hook_free);
        if (what == NULL)
            break;
        c.allocator.user = &h;
        assert_int_equal(fsdt_config_expected(&c, devices), FSD_ERROR_INVALID_ARGUMENT);
        fsd_context *ctx = (fsd_context *)1;
        fsd_status st = fsd_context_create(&ctx, &c);
        char msg[256];
        if (st != FSD_ERROR_INVALID_ARGUMENT || ctx != NULL || fsd_last_error(msg, sizeof msg) == 0)
            fail_msg("%d GPUs, config with %s: %s, context %p", devices, what,
                     fsd_status_string(st), (void *)ctx);
        expect_clean(what);
    }
    assert_int_equal(h.calls, 0); /* refused before any allocation */
    assert_true(n > 20);
    if (devices > 0) { /* a device that does not exist: refused before allocating too */
        fsd_context_config c = FSD_CONTEXT_CONFIG_INIT;
        c.device = devices;
        c.allocator = (fsd_allocator){mockcuda_hook_alloc, mockcuda_hook_free, &h};
        fsd_context *ctx = (fsd_context *)1;
        assert_int_equal(fsd_context_create(&ctx, &c), FSD_ERROR_INVALID_ARGUMENT);
        assert_null(ctx);
        assert_int_equal(h.calls, 0);
    }
    assert_int_equal(mockcuda_set_devices(1), 0);
}

static void test_refused_with_a_gpu(void **state)
{
    (void)state;
    refused_with(1);
}

static void test_refused_without_a_gpu(void **state)
{
    (void)state;
    refused_with(0);
}

/* At the limits: accepted (the ring's allocations are refused by the hooks, to keep the test
 * small: FSD_ERROR_OUT_OF_MEMORY means the configuration itself passed). */
static void test_limits_accepted(void **state)
{
    (void)state;
    mockcuda_hooks h = MOCKCUDA_HOOKS_INIT;
    h.refuse_from = (size_t)64 << 20;
    fsd_context_config c = FSD_CONTEXT_CONFIG_INIT;
    c.allocator.alloc = mockcuda_hook_alloc;
    c.allocator.free = mockcuda_hook_free;
    c.allocator.user = &h;
    c.chunk_bytes = FSD_MAX_CHUNK_BYTES;
    c.chunks = (int)(FSD_MAX_RING_BYTES / FSD_MAX_CHUNK_BYTES);
    c.cpu_threads = FSD_MAX_CPU_THREADS;
    assert_int_equal(fsdt_config_expected(&c, 1), FSD_SUCCESS);
    fsd_context *ctx = (fsd_context *)1;
    assert_int_equal(fsd_context_create(&ctx, &c), FSD_ERROR_OUT_OF_MEMORY);
    assert_null(ctx);
    assert_int_equal(h.live, 0);
    c.chunk_bytes = 4096;
    c.chunks = FSD_MAX_CHUNKS;
    assert_int_equal(fsd_context_create(&ctx, &c), FSD_SUCCESS);
    fsd_context_usage u;
    assert_int_equal(fsd_context_memory(ctx, &u), FSD_SUCCESS);
    assert_int_equal(u.cpu_threads, FSD_MAX_CPU_THREADS);
    assert_int_equal(u.chunks, FSD_MAX_CHUNKS);
    fsd_context_destroy(ctx);
    assert_int_equal(h.live, 0);
    expect_clean("limits");
}

/* A version-1 config (the previous header's struct, its size): only its bytes are read, the
 * new fields get their defaults. */
static void test_version_1(void **state)
{
    (void)state;
    fsdt_config_v1 *old = malloc(sizeof *old); /* exactly its size: a read past it is seen by ASan */
    *old = fsdt_config_v1_init();
    old->chunk_bytes = 8192;
    old->chunks = 5;
    fsd_context *ctx = NULL;
    assert_int_equal(fsd_context_create(&ctx, (const fsd_context_config *)old), FSD_SUCCESS);
    free(old);
    fsd_context_usage u;
    assert_int_equal(fsd_context_memory(ctx, &u), FSD_SUCCESS);
    assert_int_equal(u.chunk_bytes, 8192);
    assert_int_equal(u.chunks, 5);
    int prio = 7;
    CUDA_OK(cudaStreamGetPriority(ctx->pack_stream, &prio));
    assert_int_equal(prio, 0);
    fsd_context_destroy(ctx);
    expect_clean("version 1");
}

static void test_stream_priority(void **state)
{
    (void)state;
    int least = 1, greatest = 1;
    CUDA_OK(cudaDeviceGetStreamPriorityRange(&least, &greatest));
    const int asked[] = {0, -1, greatest, greatest - 100, 3};
    for (size_t i = 0; i < sizeof asked / sizeof asked[0]; i++) {
        fsd_context_config c = FSD_CONTEXT_CONFIG_INIT;
        c.chunk_bytes = 4096;
        c.stream_priority = asked[i];
        fsd_context *ctx = NULL;
        assert_int_equal(fsd_context_create(&ctx, &c), FSD_SUCCESS);
        int want = asked[i] < greatest ? greatest : asked[i] > least ? least : asked[i];
        int p1 = 99, p2 = 99;
        CUDA_OK(cudaStreamGetPriority(ctx->pack_stream, &p1));
        CUDA_OK(cudaStreamGetPriority(ctx->copy_stream, &p2));
        assert_int_equal(p1, want);
        assert_int_equal(p2, want);
        fsd_context_destroy(ctx);
    }
    expect_clean("priorities");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_with_a_gpu),
        cmocka_unit_test(test_refused_without_a_gpu),
        cmocka_unit_test(test_limits_accepted),
        cmocka_unit_test(test_version_1),
        cmocka_unit_test(test_stream_priority),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
