/*
 * test_fault_injection.c — every allocation a context makes fails in turn, and every thread it
 * starts: a clean FSD_ERROR_OUT_OF_MEMORY, a NULL result, and nothing left behind (every
 * allocation the hooks granted is freed, every started thread joined).
 *
 * The allocations are counted first on a run where nothing fails (context creation, then
 * fsd_from_bytes into a CPU tensor, round trips, the deleter, destruction); then for
 * N = 1..count the N-th fails. The list of sites (kind, size, the call that made it) is printed.
 * Threads: pthread_create is interposed here (the library's calls resolve to this executable's
 * definition, which forwards to the real one unless told to fail).
 *
 * This binary uses the real CUDA runtime; without a GPU the contexts are host-only. The same
 * is done with pinned and device allocations, and failing CUDA calls, on the stand-in runtime
 * (tests/mock_cuda/test_fault_mock.c).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "fastserde.h"
#include "fsd_cases.h"

/* ------------------------------------------------------------------------------------------ */
/* pthread_create, interposed                                                                  */

static int g_thread_fail_at; /* > 0: the N-th call from now fails with EAGAIN */
static int g_thread_calls;

int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    static int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "pthread_create");
    g_thread_calls++;
    if (g_thread_fail_at > 0 && g_thread_calls == g_thread_fail_at)
        return 11; /* EAGAIN */
    return real(th, attr, fn, arg);
}

/* ------------------------------------------------------------------------------------------ */
/* Hooks that fail the N-th allocation and keep the granted ones                              */

#include "fsdt_faulty_alloc.h"

/* The scenario: create, from_bytes + use + deleter, host round trip, destroy. Returns the
 * status of the first failing call (FSD_SUCCESS when none failed); *where names it. */
static fsd_status scenario(fsdt_faulty *f, int threads, const char **where)
{
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.cpu_threads = threads;
    cfg.chunk_bytes = 8192;
    cfg.chunks = 2;
    cfg.allocator.alloc = fsdt_faulty_alloc;
    cfg.allocator.free = fsdt_faulty_free;
    cfg.allocator.user = f;
    fsd_context *ctx = (fsd_context *)1;
    *where = f->phase = "fsd_context_create";
    fsd_status st = fsd_context_create(&ctx, &cfg);
    if (st != FSD_SUCCESS) {
        assert_null(ctx);
        return st;
    }
    unsigned char bytes[4096];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (unsigned char)(i * 7);
    DLManagedTensor *m = (DLManagedTensor *)1;
    *where = f->phase = "fsd_from_bytes";
    st = fsd_from_bytes(ctx, bytes, sizeof bytes, (DLDataType){kDLFloat, 32, 1},
                        (DLDevice){kDLCPU, 0}, &m);
    if (st == FSD_SUCCESS) {
        unsigned char out[4096];
        *where = f->phase = "fsd_pack_to_host";
        st = fsd_pack_to_host(ctx, &m->dl_tensor, out, sizeof out, NULL);
        if (st == FSD_SUCCESS)
            assert_memory_equal(out, bytes, sizeof out);
        f->phase = "deleter";
        m->deleter(m);
    } else {
        assert_null(m);
    }
    f->phase = "fsd_context_destroy";
    fsd_context_destroy(ctx);
    return st;
}

static fsdt_faulty g_f;

static void test_every_allocation_fails(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 3; threads += 2) {
        const char *where;
        memset(&g_f, 0, sizeof g_f);
        assert_int_equal(scenario(&g_f, threads, &where), FSD_SUCCESS);
        assert_int_equal(g_f.live, 0);
        long count = g_f.calls;
        fsdt_alloc_site sites[FSDT_FAULTY_MAX_SITES];
        int nsites = g_f.nsites;
        memcpy(sites, g_f.sites, sizeof sites);
        assert_true(count >= 3); /* context, pool, tensor (at least) */
        printf("%d thread(s): %ld allocations; each fails in turn:\n", threads, count);
        for (long n = 1; n <= count; n++) {
            memset(&g_f, 0, sizeof g_f);
            g_f.fail_at = n;
            fsd_status st = scenario(&g_f, threads, &where);
            const fsdt_alloc_site *s = n <= nsites ? &sites[n - 1] : NULL;
            printf("  #%ld %-6s %8zu bytes in %-20s -> %s from %s\n", n, s ? FSDT_ALLOC_KIND[s->kind] : "?",
                   s ? s->size : 0, s ? s->phase : "?", fsd_status_string(st), where);
            if (st != FSD_ERROR_OUT_OF_MEMORY)
                fail_msg("allocation %ld failed, but the scenario returned %s", n,
                         fsd_status_string(st));
            if (g_f.live != 0)
                fail_msg("allocation %ld failed: %d granted allocations never freed", n, g_f.live);
            if (g_f.calls > n)
                fail_msg("allocation %ld failed, yet %ld more were made after it", n,
                         g_f.calls - n);
        }
    }
}

static void test_every_thread_fails(void **state)
{
    (void)state;
    const long threads0 = fsdt_process_threads();
    for (int threads = 2; threads <= 4; threads++) {
        for (int n = 1; n < threads; n++) { /* the caller is one of `threads` */
            const char *where;
            memset(&g_f, 0, sizeof g_f);
            g_thread_calls = 0;
            g_thread_fail_at = n;
            fsd_status st = scenario(&g_f, threads, &where);
            g_thread_fail_at = 0;
            printf("  %d threads, thread %d cannot start -> %s from %s\n", threads, n,
                   fsd_status_string(st), where);
            assert_int_equal(st, FSD_ERROR_OUT_OF_MEMORY);
            assert_string_equal(where, "fsd_context_create");
            assert_int_equal(g_thread_calls, n); /* no more attempts after the failure */
            assert_int_equal(g_f.live, 0);
            if (threads0 > 0)
                assert_int_equal(fsdt_process_threads(), threads0); /* the started ones joined */
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_allocation_fails),
        cmocka_unit_test(test_every_thread_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
