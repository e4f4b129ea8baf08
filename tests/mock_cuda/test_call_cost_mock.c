/*
 * test_call_cost_mock.c — what one fsd_pack / fsd_unpack of a small CUDA tensor costs the host,
 * on the stand-in runtime: the runtime calls it makes (checked), and the time per call and the
 * kernel parameter bytes (printed only: figures, not goals; this machine's timings vary).
 *
 * What does not change between calls is asked once per device and process: the device count
 * is not needed when the device is the current one, and the multiprocessor count is cached
 * (host/gpu/gpu_dispatch.c). So a call makes one cudaGetDevice (the current device is saved and
 * restored), two cudaPointerGetAttributes (the packed side's memory kind at both ends, checked
 * before anything is enqueued: host/gpu/memkind.h; a lookup each, not cached, as memory can be
 * freed and allocated again as another kind) and one launch.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "emulated_grid.h"
#include "fastserde.h"
#include "layout.h"
#include "mock_cuda.h"
#include "plan_build.h"

#define OK(call) assert_int_equal((call), cudaSuccess)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A small CUDA view: every other head of [4, 16, 64] bf16 ([4, 8, 64], 4 KiB packed), or the
 * last two dims of [4, 64, 32] bf16 swapped (16 KiB packed). */
typedef struct small_view {
    const char *name;
    int ndim;
    int64_t shape[3], strides[3];
    size_t storage_bytes, packed_bytes;
} small_view;

static const small_view VIEWS[] = {
    {"every other head, [4,8,64] bf16", 3, {4, 8, 64}, {16 * 64, 2 * 64, 1}, 4 * 16 * 64 * 2, 4 * 8 * 64 * 2},
    {"transpose, [4,32,64] bf16", 3, {4, 32, 64}, {64 * 32, 1, 32}, 4 * 64 * 32 * 2, 4 * 64 * 32 * 2},
};

typedef struct costs {
    double ns_per_call;     /* mean over all calls                                     */
    double ns_best;         /* the fastest batch of 64 calls, per call (less noise)    */
    double calls[MOCKCUDA_API_COUNT]; /* runtime calls per fsd_pack */
} costs;

static void measure(const small_view *v, int unpack, long n, costs *c)
{
    void *storage = NULL, *packed = NULL;
    OK(cudaMalloc(&storage, v->storage_bytes));
    OK(cudaMalloc(&packed, v->packed_bytes));
    DLTensor t = {.data = storage, .device = {kDLCUDA, 0}, .ndim = v->ndim, .dtype = {kDLBfloat, 16, 1},
                  .shape = (int64_t *)v->shape, .strides = (int64_t *)v->strides};
    /* one call first: what is cached gets asked for here */
    assert_int_equal(unpack ? fsd_unpack(packed, v->packed_bytes, &t, NULL) : fsd_pack(&t, packed, v->packed_bytes, NULL),
                     FSD_SUCCESS);
    mockcuda_drain();
    long before[MOCKCUDA_API_COUNT];
    for (int a = 0; a < MOCKCUDA_API_COUNT; a++)
        before[a] = mockcuda_calls((mockcuda_api)a);
    double busy = 0, best = 1e30;
    for (long i = 0; i < n; i += 64) {
        const double t0 = now();
        for (long k = i; k < i + 64; k++) {
            fsd_status st = unpack ? fsd_unpack(packed, v->packed_bytes, &t, NULL)
                                   : fsd_pack(&t, packed, v->packed_bytes, NULL);
            if (st != FSD_SUCCESS)
                fail_msg("call %ld: %s", k, fsd_status_string(st));
        }
        const double dt = now() - t0;
        busy += dt;
        best = dt < best ? dt : best;
        mockcuda_drain(); /* the kernels run on the emulated grid: not timed */
    }
    c->ns_per_call = busy / (double)n * 1e9;
    c->ns_best = best / 64 * 1e9;
    for (int a = 0; a < MOCKCUDA_API_COUNT; a++)
        c->calls[a] = (double)(mockcuda_calls((mockcuda_api)a) - before[a]) / (double)n;
    OK(cudaFree(storage));
    OK(cudaFree(packed));
}

static void test_small_calls(void **state)
{
    (void)state;
    mockcuda_set_eager(0);
    const long n = 64 * 320;
    for (size_t i = 0; i < sizeof VIEWS / sizeof VIEWS[0]; i++) {
        for (int unpack = 0; unpack < 2; unpack++) {
            costs c;
            measure(&VIEWS[i], unpack, n, &c);
            printf("%s %-32s %6.0f ns per call, best batch %6.0f (host side, mock runtime, %ld calls);",
                   unpack ? "unpack" : "pack  ", VIEWS[i].name, c.ns_per_call, c.ns_best, n);
            for (int a = 0; a < MOCKCUDA_API_COUNT; a++)
                if (c.calls[a] > 0)
                    printf(" %s x%.2f", mockcuda_api_name((mockcuda_api)a), c.calls[a]);
            printf("\n");
            /* Nothing that stays the same is asked again: the current device (to restore it),
             * the packed side's kind at both ends, and the launch, nothing else. */
            assert_float_equal(c.calls[MOCKCUDA_GET_DEVICE_COUNT], 0.0, 1e-12);
            assert_float_equal(c.calls[MOCKCUDA_DEVICE_GET_ATTRIBUTE], 0.0, 1e-12);
            assert_float_equal(c.calls[MOCKCUDA_GET_DEVICE], 1.0, 1e-12);
            assert_float_equal(c.calls[MOCKCUDA_SET_DEVICE], 0.0, 1e-12);
            assert_float_equal(c.calls[MOCKCUDA_POINTER_GET_ATTRIBUTES], 2.0, 1e-12);
            assert_float_equal(c.calls[MOCKCUDA_LAUNCH], 1.0, 1e-12);
        }
    }
    mockcuda_set_eager(25);
    for (size_t i = 0; i < sizeof VIEWS / sizeof VIEWS[0]; i++) {
        fsd_layout l;
        DLTensor t = {.data = (void *)4096, .device = {kDLCUDA, 0}, .ndim = VIEWS[i].ndim,
                      .dtype = {kDLBfloat, 16, 1}, .shape = (int64_t *)VIEWS[i].shape,
                      .strides = (int64_t *)VIEWS[i].strides};
        assert_int_equal(fsd_layout_from_tensor(&t, "t", &l), FSD_SUCCESS);
        fsd_plan p;
        fsd_plan_build(&l, (void *)8192, FSD_DIR_PACK, 3, &p);
        printf("%-32s kernel parameters: %zu bytes (%s path; the plan is %zu bytes)\n", VIEWS[i].name,
               fsdt_kernel_args_bytes(&p), fsd_path_name(p.path), sizeof(fsd_plan));
        assert_true(fsdt_kernel_args_bytes(&p) < 512);
    }
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
