/*
 * test_pipeline_mock.c — the round trip's three-stage pipeline in simulated time, on the
 * stand-in runtime with durations per op kind (mockcuda_set_timing) from the model of
 * docs/architecture.md ("Chunk size and ring depth", tools/pipeline_model.py). All figures
 * here are modeled.
 *
 * A context with the default chunk size and ring depth packs a strided tensor into pageable
 * memory and unpacks it back (8 and 32 MiB; FSD_TEST_PIPE_MIB to choose), twice:
 *  - one core: kernel 1000 GB/s + 4 us, PCIe 50 GB/s + 3 us per DMA, the host copy at one
 *    core's memcpy speed (10.3 GB/s) + 10 us, 1.5 us per runtime call. The call must take at
 *    most 1/0.84 (8 MiB) or 1/0.90 (32 MiB and more) of the bottleneck stage's time alone
 *    (the host copy): fill, drain and per-chunk costs take the rest. The previous defaults
 *    (8 MiB x 3) give 0.80 at 8 MiB: one chunk, nothing overlapped.
 *  - balanced stages (each 50 GB/s: the host copy as on five cores): the steady state
 *    overlaps all three stages: every host copy of a chunk that has later chunks still to
 *    enqueue runs while a kernel and a DMA of other chunks run.
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
#include "fsdt_cuda_ok.h"
#include "mock_cuda.h"

#define PCIE_GBS 50.0
#define KERNEL_GBS 1000.0
#define HOST_GBS 10.3

static void set_model_timing(double kernel_gbs, double host_gbs)
{
    mockcuda_timing t;
    memset(&t, 0, sizeof t);
    t.ns[MOCKCUDA_SPAN_KERNEL] = 4000;
    t.ns_per_byte[MOCKCUDA_SPAN_KERNEL] = 1.0 / kernel_gbs;
    t.ns[MOCKCUDA_SPAN_H2D] = t.ns[MOCKCUDA_SPAN_D2H] = 3000;
    t.ns_per_byte[MOCKCUDA_SPAN_H2D] = t.ns_per_byte[MOCKCUDA_SPAN_D2H] = 1.0 / PCIE_GBS;
    t.ns[MOCKCUDA_SPAN_HOST] = 10000;
    t.ns_per_byte[MOCKCUDA_SPAN_HOST] = 1.0 / host_gbs;
    t.api_ns = 1500;
    mockcuda_set_timing(&t);
}

static int overlaps(const mockcuda_span *a, const mockcuda_span *b)
{
    return a->start < b->end && b->start < a->end;
}

/* The host copies (in order) that have later chunks still to be enqueued must each overlap a
 * kernel and a DMA. Returns the number of host copies checked; fails the test otherwise. */
static int check_overlap(const mockcuda_span *sp, size_t n, const char *what)
{
    int nhost = 0, checked = 0;
    double last_kernel_start = 0;
    for (size_t i = 0; i < n; i++)
        if (sp[i].kind == MOCKCUDA_SPAN_KERNEL && sp[i].start > last_kernel_start)
            last_kernel_start = sp[i].start;
    for (size_t i = 0; i < n; i++) {
        if (sp[i].kind != MOCKCUDA_SPAN_HOST)
            continue;
        nhost++;
        if (nhost == 1 || sp[i].end > last_kernel_start)
            continue; /* the first (fill) and those after the last kernel began (drain) */
        int kernel = 0, dma = 0;
        for (size_t j = 0; j < n; j++) {
            kernel |= sp[j].kind == MOCKCUDA_SPAN_KERNEL && overlaps(&sp[i], &sp[j]);
            dma |= (sp[j].kind == MOCKCUDA_SPAN_D2H || sp[j].kind == MOCKCUDA_SPAN_H2D) &&
                   overlaps(&sp[i], &sp[j]);
        }
        if (!kernel || !dma)
            fail_msg("%s: host copy %d [%.0f, %.0f] ns overlaps %s", what, nhost, sp[i].start,
                     sp[i].end, !kernel ? "no kernel" : "no DMA");
        checked++;
    }
    return checked;
}

static void run_size(size_t mib)
{
    /* [rows, 4096 B] rows of a [rows, 8192 B] int32 matrix: 4 KiB runs, a kernel per chunk */
    const int64_t cols = 1024, rows = (int64_t)(mib << 20) / (4 * cols);
    const size_t packed = (size_t)(rows * cols * 4), storage = 2 * packed;
    unsigned char *dev = NULL;
    CUDA_OK(cudaMalloc((void **)&dev, storage));
    unsigned char *host = malloc(storage), *out = malloc(packed), *ref = malloc(packed);
    for (size_t i = 0; i < storage; i++)
        host[i] = (unsigned char)(i * 7 + (i >> 12));
    for (int64_t r = 0; r < rows; r++)
        memcpy(ref + r * cols * 4, host + r * cols * 8, (size_t)cols * 4);
    CUDA_OK(cudaMemcpy(dev, host, storage, cudaMemcpyHostToDevice));
    int64_t shape[2] = {rows, cols}, strides[2] = {2 * cols, 1};
    DLTensor t = {dev, {kDLCUDA, 0}, 2, {kDLInt, 32, 1}, shape, strides, 0};
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT; /* the default chunk size and ring */
    cfg.cpu_threads = 1;
    fsd_context *ctx = NULL;
    assert_int_equal(fsd_context_create(&ctx, &cfg), FSD_SUCCESS);
    const double bound = (double)packed / (HOST_GBS < PCIE_GBS ? HOST_GBS : PCIE_GBS); /* ns */
    const double want = mib >= 32 ? 0.90 : 0.84;
    size_t cap = 4096;
    mockcuda_span *sp = malloc(cap * sizeof *sp);
    for (int run = 0; run < 4; run++) {
        const int unpack = run % 2, balanced = run >= 2;
        char what[64];
        snprintf(what, sizeof what, "%s of %zu MiB, %s", unpack ? "unpack" : "pack", mib,
                 balanced ? "balanced" : "one core");
        mockcuda_set_eager(0);
        set_model_timing(balanced ? PCIE_GBS : KERNEL_GBS, balanced ? PCIE_GBS : HOST_GBS);
        fsd_status st = unpack ? fsd_unpack_from_host(ctx, ref, packed, &t, NULL)
                               : fsd_pack_to_host(ctx, &t, out, packed, NULL);
        assert_int_equal(st, FSD_SUCCESS);
        CUDA_OK(cudaStreamSynchronize(NULL));
        double took = mockcuda_host_now();
        size_t n = mockcuda_timeline(sp, cap);
        assert_true(n <= cap);
        mockcuda_set_timing(NULL);
        int host_spans = 0;
        for (size_t i = 0; i < n; i++)
            host_spans += sp[i].kind == MOCKCUDA_SPAN_HOST;
        if (host_spans == 0) { /* the mock learns the host copies from the library's NVTX */
            printf("SKIP: no host copies seen: the library was built without NVTX (FSD_NVTX=OFF)\n");
            exit(77);
        }
        if (!unpack)
            assert_memory_equal(out, ref, packed);
        if (balanced) {
            int checked = check_overlap(sp, n, what);
            printf("%-32s %7.0f us simulated; %d steady-state host copies, each overlapping a "
                   "kernel and a DMA (modeled)\n", what, took / 1e3, checked);
            if (mib >= 32 && checked < 3)
                fail_msg("%s: only %d host copies in a steady state", what, checked);
            continue;
        }
        double eff = bound / took;
        printf("%-32s %7.0f us simulated, %.3f of the bottleneck alone (modeled)\n", what,
               took / 1e3, eff);
        if (eff < want)
            fail_msg("%s: %.3f of the bottleneck's time alone, expected >= %.2f", what, eff, want);
    }
    fsd_context_destroy(ctx);
    CUDA_OK(cudaFree(dev));
    free(sp);
    free(host);
    free(out);
    free(ref);
}

static void test_pipeline_overlaps(void **state)
{
    (void)state;
    const char *env = getenv("FSD_TEST_PIPE_MIB");
    char buf[64];
    snprintf(buf, sizeof buf, "%s", env && *env ? env
                                  : fsdt_env_long("FSD_TEST_CASES", 160) < 100 ? "8" : "8,32");
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        run_size((size_t)strtoul(tok, NULL, 10));
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipeline_overlaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
