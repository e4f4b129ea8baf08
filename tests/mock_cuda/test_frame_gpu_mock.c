/*
 * test_frame_gpu_mock.c — fsd_frame_write of CUDA tensors on the stand-in runtime: frames of 1
 * to 3 random tensors of fsd_cases (uploaded to device memory) written into device memory on a
 * stream must be byte for byte the frame fsd_frame_write makes of the same tensors on the host
 * (the GPU's checksums equal the CPU's), with and without checksums, and open and verify on the
 * host. Host and CUDA tensors together, and a pageable destination, are refused with nothing
 * enqueued. Built against the real runtime too (tests/frame: test_frame_gpu, FSDT_REAL_CUDA):
 * the same frames on a GPU, without the stand-in's checks; skipped (77) without a GPU.
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
#if !defined(FSDT_REAL_CUDA)
#include "mock_cuda.h"
#endif

#define CUDA_OK(x) assert_int_equal((int)(x), (int)cudaSuccess)
#define MAXT 3

static int compared, compared_checksum;

/* Frames of n CUDA tensors written into device memory, or (pinned) into pinned host memory,
 * against the frame of the same tensors written on the host. */
static void check_frame(uint64_t seed, int first, int n, int checksum, int pinned,
                        cudaStream_t stream)
{
    fsdt_case c[MAXT];
    DLTensor dev[MAXT];
    char *dev_storage[MAXT];
    fsd_frame_tensor host_ts[MAXT], dev_ts[MAXT];
    char names[MAXT][16];
    for (int i = 0; i < n; i++) {
        fsdt_case_make(&c[i], seed, first + i);
        CUDA_OK(cudaMalloc((void **)&dev_storage[i], c[i].storage_size));
        CUDA_OK(cudaMemcpy(dev_storage[i], c[i].storage, c[i].storage_size, cudaMemcpyHostToDevice));
        dev[i] = c[i].t;
        dev[i].data = dev_storage[i];
        dev[i].device = (DLDevice){kDLCUDA, 0};
        snprintf(names[i], sizeof names[i], "t%d", i);
        host_ts[i] = (fsd_frame_tensor){names[i], &c[i].t};
        dev_ts[i] = (fsd_frame_tensor){names[i], &dev[i]};
    }
    fsd_frame_options o = FSD_FRAME_OPTIONS_INIT;
    if (!checksum)
        o.checksum = FSD_FRAME_CHECKSUM_NONE;
    size_t size = 0, dsize = 0;
    fsd_status st = fsd_frame_size(host_ts, (size_t)n, &o, &size);
    if (st != FSD_SUCCESS) { /* a dtype frames do not hold: both refuse it alike */
        assert_int_equal(fsd_frame_size(dev_ts, (size_t)n, &o, &dsize), st);
        goto out;
    }
    assert_int_equal(fsd_frame_size(dev_ts, (size_t)n, &o, &dsize), FSD_SUCCESS);
    assert_int_equal(dsize, size);
    unsigned char *want = malloc(size), *got = malloc(size);
    st = fsd_frame_write(NULL, host_ts, (size_t)n, &o, want, size, NULL);
    if (st != FSD_SUCCESS) {
        free(want);
        free(got);
        goto out;
    }
    char *dst;
    if (pinned)
        CUDA_OK(cudaHostAlloc((void **)&dst, size, 0));
    else
        CUDA_OK(cudaMalloc((void **)&dst, size));
    st = fsd_frame_write(NULL, dev_ts, (size_t)n, &o, dst, size, stream);
    if (st != FSD_SUCCESS)
        fail_msg("fsd_frame_write of CUDA tensors into %s memory: %s (%s)",
                 pinned ? "pinned" : "device", fsd_status_string(st), c[0].desc);
    CUDA_OK(cudaMemcpy(got, dst, size, cudaMemcpyDefault));
    long diff = fsdt_first_diff(want, got, size);
    if (diff >= 0)
        fail_msg("frame byte %ld of %zu differs (checksum %d): want %02x got %02x\n  %s", diff, size,
                 checksum, want[diff], got[diff], c[0].desc);
    compared++;
    compared_checksum += checksum;
    fsd_frame *f = NULL;
    assert_int_equal(fsd_frame_open(got, size, &f), FSD_SUCCESS);
    for (int i = 0; i < n; i++)
        assert_int_equal(fsd_frame_verify(NULL, f, (size_t)i), FSD_SUCCESS);
    fsd_frame_close(f);
    if (pinned)
        CUDA_OK(cudaFreeHost(dst));
    else
        CUDA_OK(cudaFree(dst));
    free(want);
    free(got);
out:
    for (int i = 0; i < n; i++) {
        CUDA_OK(cudaFree(dev_storage[i]));
        fsdt_case_free(&c[i]);
    }
}

static void test_frames(void **state)
{
    (void)state;
    uint64_t seed = fsdt_seed();
    long n = fsdt_env_long("FSD_TEST_CASES", 120);
    cudaStream_t stream;
    CUDA_OK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    /* Cases whose dtype frames hold (safetensors names none of 3, 6 or 12 bytes...): draw until
     * n frames were compared. */
    for (long i = 0; compared < n && i < 40 * n; i++)
        check_frame(seed, (int)(3 * i), 1 + (int)(i % MAXT), i % 5 != 4, (int)(i % 2), stream);
    CUDA_OK(cudaStreamDestroy(stream));
    printf("frames of CUDA tensors compared: %d (%d with checksums)\n", compared, compared_checksum);
    assert_true(compared >= n && compared_checksum >= (int)n / 2);
#if !defined(FSDT_REAL_CUDA)
    mockcuda_stats st;
    mockcuda_get_stats(&st);
    assert_int_equal(st.violations, 0);
#endif
}

static void test_refused(void **state)
{
    (void)state;
    fsdt_case c;
    fsdt_case_make(&c, 5, 1);
    char *dev_storage;
    CUDA_OK(cudaMalloc((void **)&dev_storage, c.storage_size));
    DLTensor dev = c.t;
    dev.data = dev_storage;
    dev.device = (DLDevice){kDLCUDA, 0};
    fsd_frame_tensor mixed[2] = {{"h", &c.t}, {"d", &dev}}, one[1] = {{"d", &dev}};
    fsd_frame_options o = FSD_FRAME_OPTIONS_INIT;
    size_t size = 0;
    if (fsd_frame_size(mixed, 2, &o, &size) == FSD_SUCCESS) {
        char *dst;
        CUDA_OK(cudaMalloc((void **)&dst, size));
#if !defined(FSDT_REAL_CUDA)
        mockcuda_stats before, after;
        mockcuda_get_stats(&before);
#endif
        assert_int_equal(fsd_frame_write(NULL, mixed, 2, &o, dst, size, NULL), FSD_ERROR_UNSUPPORTED);
        assert_int_equal(fsd_frame_size(one, 1, &o, &size), FSD_SUCCESS);
        unsigned char *host = malloc(size);
        assert_int_equal(fsd_frame_write(NULL, one, 1, &o, host, size, NULL), FSD_ERROR_INVALID_ARGUMENT);
#if !defined(FSDT_REAL_CUDA)
        mockcuda_get_stats(&after);
        assert_int_equal(after.pending_ops, before.pending_ops);
#endif
        free(host);
        CUDA_OK(cudaFree(dst));
    }
    CUDA_OK(cudaFree(dev_storage));
    fsdt_case_free(&c);
}

int main(void)
{
#if defined(FSDT_REAL_CUDA)
    int gpus = 0;
    if (cudaGetDeviceCount(&gpus) != cudaSuccess || gpus == 0) {
        printf("test_frame_gpu: no GPU: skipped\n");
        return 77;
    }
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
