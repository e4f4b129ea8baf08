/*
 * test_checksum_mock.c — the checksum pack of CUDA tensors on the stand-in runtime
 * (fsd_gpu_pack_checksum, host/gpu/gpu_dispatch.c): random cases of fsd_cases uploaded to device
 * memory, packed with the checksum into a device buffer (misaligned on purpose now and then) on
 * a stream, read back: the bytes must be the naive reference's and S the CPU's
 * (fsd_frame_leaves). Built twice: on the mock's own kernel entry (the emulated grid) and on the
 * real kernels/checksum_launch.cu (test_checksum_kernels_mock: the kernel the plan calls for,
 * its grid, the op in stream order). Also: S lands on top of what *sum held (the kernel adds),
 * and a destination the GPU cannot reach is refused before anything is enqueued.
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

#include "frame.h"
#include "fsd_cases.h"
#include "gpu_dispatch.h"
#include "layout.h"
#include "mock_cuda.h"

#define CUDA_OK(x) assert_int_equal((int)(x), (int)cudaSuccess)

static void check_case(const fsdt_case *c, cudaStream_t stream, unsigned mis, uint64_t start)
{
    const size_t n = c->packed_size;
    unsigned char *want = malloc(n + 1), *got = malloc(n + 1);
    fsdt_reference_pack(c, c->storage, want);
    char *dev_storage, *dev_packed;
    uint64_t *dev_sum;
    CUDA_OK(cudaMalloc((void **)&dev_storage, c->storage_size));
    CUDA_OK(cudaMalloc((void **)&dev_packed, n + mis + 1));
    CUDA_OK(cudaMalloc((void **)&dev_sum, sizeof *dev_sum));
    CUDA_OK(cudaMemcpy(dev_storage, c->storage, c->storage_size, cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(dev_sum, &start, sizeof start, cudaMemcpyHostToDevice));
    DLTensor t = c->t;
    t.data = dev_storage;
    t.device = (DLDevice){kDLCUDA, 0};
    fsd_layout l;
    assert_int_equal(fsd_layout_from_tensor(&t, "case", &l), FSD_SUCCESS);
    assert_int_equal(fsd_gpu_pack_checksum(&l, dev_packed + mis, dev_sum, stream), FSD_SUCCESS);
    uint64_t sum = 0;
    CUDA_OK(cudaStreamSynchronize(stream));
    CUDA_OK(cudaMemcpy(got, dev_packed + mis, n, cudaMemcpyDeviceToHost));
    CUDA_OK(cudaMemcpy(&sum, dev_sum, sizeof sum, cudaMemcpyDeviceToHost));
    long diff = fsdt_first_diff(want, got, n);
    if (diff >= 0)
        fail_msg("byte %ld differs (dst +%u)\n  %s", diff, mis, c->desc);
    const uint64_t cpu = fsd_frame_leaves(want, n, 0);
    if (sum - start != cpu)
        fail_msg("S %016llx, the CPU's %016llx (dst +%u)\n  %s", (unsigned long long)(sum - start),
                 (unsigned long long)cpu, mis, c->desc);
    CUDA_OK(cudaFree(dev_sum));
    CUDA_OK(cudaFree(dev_packed));
    CUDA_OK(cudaFree(dev_storage));
    free(got);
    free(want);
}

static void test_random_cases(void **state)
{
    (void)state;
    uint64_t seed = fsdt_seed();
    long n = fsdt_env_long("FSD_TEST_CASES", 200);
    cudaStream_t stream;
    CUDA_OK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    for (long i = 0; i < n; i++) {
        fsdt_case c;
        fsdt_case_make(&c, seed, (int)i);
        check_case(&c, stream, (unsigned)(i % 5 == 4 ? i % 16 : 0), i % 3 == 0 ? 0 : (uint64_t)i * 0x9E3779B97F4A7C15ull);
        fsdt_case_free(&c);
    }
    CUDA_OK(cudaStreamDestroy(stream));
    mockcuda_stats st;
    mockcuda_get_stats(&st);
    assert_int_equal(st.violations, 0);
}

/* A host destination (pageable) or sum is refused before anything is enqueued. */
static void test_refused(void **state)
{
    (void)state;
    fsdt_case c;
    fsdt_case_make(&c, 1, 3);
    char *dev_storage;
    uint64_t *dev_sum, host_sum = 0;
    CUDA_OK(cudaMalloc((void **)&dev_storage, c.storage_size));
    CUDA_OK(cudaMalloc((void **)&dev_sum, sizeof *dev_sum));
    DLTensor t = c.t;
    t.data = dev_storage;
    t.device = (DLDevice){kDLCUDA, 0};
    fsd_layout l;
    assert_int_equal(fsd_layout_from_tensor(&t, "case", &l), FSD_SUCCESS);
    unsigned char *host = malloc(c.packed_size + 1);
    mockcuda_stats before, after;
    mockcuda_get_stats(&before);
    if (c.packed_size > 0)
        assert_int_not_equal(fsd_gpu_pack_checksum(&l, host, dev_sum, NULL), FSD_SUCCESS);
    char *dev_packed;
    CUDA_OK(cudaMalloc((void **)&dev_packed, c.packed_size + 1));
    assert_int_not_equal(fsd_gpu_pack_checksum(&l, dev_packed, &host_sum, NULL), FSD_SUCCESS);
    mockcuda_get_stats(&after);
    assert_int_equal(after.pending_ops, before.pending_ops);
    CUDA_OK(cudaFree(dev_packed));
    CUDA_OK(cudaFree(dev_sum));
    CUDA_OK(cudaFree(dev_storage));
    free(host);
    fsdt_case_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_cases),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
