/*
 * test_memkind_mock.c — memory kinds (host/gpu/memkind.h), on the stand-in runtime with the real
 * kernels/launch.cu (fsd_mock_runtime_kernels), whose device memory faults when the host
 * touches it and whose kernels check that they can reach both sides:
 *
 *  - fsd_pack / fsd_unpack of a CUDA tensor, and fsd_gather / fsd_scatter of a CUDA cache on
 *    the kernel engine (the real kernels/gather_launch.cu), whose packed side is pageable host
 *    memory (whole, or a range that is pinned only at its start) or memory of another GPU:
 *    refused with FSD_ERROR_INVALID_ARGUMENT and a message before anything is enqueued, for
 *    the kernel paths (which the GPU would fault on) and the contiguous one (which
 *    cudaMemcpyAsync would have made a synchronous copy); device memory, pinned and
 *    registered host memory pass;
 *  - fsd_pack_to_host / fsd_unpack_from_host of a host tensor with the host buffer in device
 *    memory: FSD_ERROR_INVALID_ARGUMENT (run in a child process: the CPU faulting on device
 *    memory is the failure this guards against).
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fastserde.h"
#include "fsdt_cuda_ok.h"
#include "mock_cuda.h"

#define N 5000 /* int16 elements: 10000 bytes */

static mockcuda_stats stats(void)
{
    mockcuda_stats s;
    mockcuda_get_stats(&s);
    return s;
}

/* A paged cache of one layer [50 blocks, 4 positions, 25] int16 and 200 slots (every entry,
 * in a shuffled order, on the device): a gather of 2 * N bytes. */
#define BLOCKS 50
#define BLOCK_SIZE 4
#define TOKENS (BLOCKS * BLOCK_SIZE)

typedef struct tensors {
    unsigned char *dev, *contig_dev, *cache;
    int32_t *slots;
    int64_t shape[2], strides[2], flat[1], cache_shape[3], slots_shape[1];
    DLTensor strided, contig, slots_t;
    fsd_kv_layout kv;
} tensors;

static void tensors_make(tensors *t, int device)
{
    memset(t, 0, sizeof *t);
    CUDA_OK(cudaMalloc((void **)&t->dev, 2 * N));
    CUDA_OK(cudaMalloc((void **)&t->contig_dev, 2 * N));
    unsigned char init[2 * N];
    for (int i = 0; i < 2 * N; i++)
        init[i] = (unsigned char)(i * 7 + 3);
    CUDA_OK(cudaMemcpy(t->dev, init, 2 * N, cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(t->contig_dev, init, 2 * N, cudaMemcpyHostToDevice));
    t->shape[0] = 50;
    t->shape[1] = 100;
    t->strides[0] = 1;
    t->strides[1] = 50; /* a transpose */
    t->flat[0] = 2 * N;
    t->strided = (DLTensor){t->dev, {kDLCUDA, device}, 2, {kDLInt, 16, 1}, t->shape, t->strides, 0};
    t->contig = (DLTensor){t->contig_dev, {kDLCUDA, device}, 1, {kDLUInt, 8, 1}, t->flat, NULL, 0};
    /* the cache (as large as the packed bytes) and its slots */
    CUDA_OK(cudaMalloc((void **)&t->cache, 2 * N));
    CUDA_OK(cudaMemcpy(t->cache, init, 2 * N, cudaMemcpyHostToDevice));
    int32_t slots[TOKENS];
    for (int i = 0; i < TOKENS; i++)
        slots[i] = (int32_t)((i * 37 + 11) % TOKENS);
    CUDA_OK(cudaMalloc((void **)&t->slots, sizeof slots));
    CUDA_OK(cudaMemcpy(t->slots, slots, sizeof slots, cudaMemcpyHostToDevice));
    t->cache_shape[0] = BLOCKS;
    t->cache_shape[1] = BLOCK_SIZE;
    t->cache_shape[2] = 2 * N / 2 / TOKENS;
    t->slots_shape[0] = TOKENS;
    t->slots_t = (DLTensor){t->slots, {kDLCUDA, device}, 1, {kDLInt, 32, 1}, t->slots_shape, NULL, 0};
    t->kv.layer = (DLTensor){t->cache, {kDLCUDA, device}, 3, {kDLInt, 16, 1}, t->cache_shape, NULL, 0};
    t->kv.block_dim = 0;
    t->kv.offset_dim = 1;
    t->kv.layer_ptrs = NULL;
    size_t n = 0;
    assert_int_equal(fsd_gather_size(&t->kv, &t->slots_t, &n), FSD_SUCCESS);
    assert_int_equal(n, 2 * N);
}

static void tensors_free(tensors *t)
{
    CUDA_OK(cudaFree(t->dev));
    CUDA_OK(cudaFree(t->contig_dev));
    CUDA_OK(cudaFree(t->cache));
    CUDA_OK(cudaFree(t->slots));
}

static const char *const KINDS[3] = {"strided tensor", "contiguous tensor", "paged cache (kernel engine)"};

/* fsd_pack / fsd_unpack, or fsd_gather / fsd_scatter for k 2, with buf as the packed side. */
static fsd_status run(tensors *t, int k, int unpack, unsigned char *buf, cudaStream_t s)
{
    const DLTensor *ts[2] = {&t->strided, &t->contig};
    if (k < 2)
        return unpack ? fsd_unpack(buf, 2 * N, ts[k], s) : fsd_pack(ts[k], buf, 2 * N, s);
    fsd_gather_options o = FSD_GATHER_OPTIONS_INIT;
    o.engine = FSD_ENGINE_KERNEL;
    return unpack ? fsd_scatter(buf, 2 * N, &t->kv, &t->slots_t, NULL, &o, s)
                  : fsd_gather(&t->kv, &t->slots_t, NULL, buf, 2 * N, &o, s);
}

/* fsd_pack and fsd_unpack of both tensors, fsd_gather and fsd_scatter of the cache, with `buf`
 * as the packed side: `want` for all six, and when refused: a message, nothing enqueued or
 * launched, buf untouched. */
static void expect_all(tensors *t, unsigned char *buf, fsd_status want, const char *what,
                       cudaStream_t s)
{
    for (int k = 0; k < 3; k++)
        for (int unpack = 0; unpack <= 1; unpack++) {
            CUDA_OK(cudaStreamSynchronize(s));
            mockcuda_stats s0 = stats();
            long launches = mockcuda_calls(MOCKCUDA_LAUNCH), copies = mockcuda_calls(MOCKCUDA_MEMCPY_ASYNC);
            fsd_status st = run(t, k, unpack, buf, s);
            char msg[256];
            fsd_last_error(msg, sizeof msg);
            mockcuda_stats s1 = stats();
            if (st != want)
                fail_msg("%s of a %s, packed side %s: %s (%s), expected %s", unpack ? "unpack" : "pack",
                         KINDS[k], what, fsd_status_string(st), msg, fsd_status_string(want));
            if (want == FSD_SUCCESS)
                continue;
            if (msg[0] == '\0' || s1.pending_ops != s0.pending_ops ||
                s1.executed_ops != s0.executed_ops || s1.pageable_copies != s0.pageable_copies ||
                s1.violations != s0.violations || mockcuda_calls(MOCKCUDA_LAUNCH) != launches ||
                mockcuda_calls(MOCKCUDA_MEMCPY_ASYNC) != copies)
                fail_msg("%s of a %s, packed side %s: refused, but not before enqueueing (or "
                         "without a message: '%s')", unpack ? "unpack" : "pack", KINDS[k], what, msg);
        }
}

static void test_packed_side_kinds(void **state)
{
    (void)state;
    cudaStream_t s;
    CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    tensors t;
    tensors_make(&t, 0);
    long v0 = stats().violations, p0 = stats().pageable_copies;

    unsigned char *pageable = malloc(2 * N);
    memset(pageable, 0x5A, 2 * N);
    expect_all(&t, pageable, FSD_ERROR_INVALID_ARGUMENT, "pageable", s);
    for (int i = 0; i < 2 * N; i++)
        assert_int_equal(pageable[i], 0x5A);

    /* pinned at the start only: the range is judged by both ends */
    CUDA_OK(cudaHostRegister(pageable, N, 0));
    expect_all(&t, pageable, FSD_ERROR_INVALID_ARGUMENT, "pinned at its start only", s);
    CUDA_OK(cudaHostUnregister(pageable));
    CUDA_OK(cudaHostRegister(pageable, 2 * N, 0));
    expect_all(&t, pageable, FSD_SUCCESS, "registered", s);
    CUDA_OK(cudaHostUnregister(pageable));

    unsigned char *pinned = NULL, *dev = NULL;
    CUDA_OK(cudaHostAlloc((void **)&pinned, 2 * N, 0));
    CUDA_OK(cudaMalloc((void **)&dev, 2 * N));
    expect_all(&t, pinned, FSD_SUCCESS, "pinned", s);
    expect_all(&t, dev, FSD_SUCCESS, "device", s);
    /* a packed range running past the end of a device allocation */
    unsigned char *small = NULL;
    CUDA_OK(cudaMalloc((void **)&small, N));
    expect_all(&t, small, FSD_ERROR_INVALID_ARGUMENT, "device memory shorter than the bytes", s);
    CUDA_OK(cudaStreamSynchronize(s));
    assert_int_equal(stats().violations, v0);
    assert_int_equal(stats().pageable_copies, p0);
    CUDA_OK(cudaFree(small));
    CUDA_OK(cudaFree(dev));
    CUDA_OK(cudaFreeHost(pinned));
    free(pageable);
    tensors_free(&t);
    CUDA_OK(cudaStreamDestroy(s));
}

/* Memory of another GPU is refused (no reliance on peer access). */
static void test_other_device(void **state)
{
    (void)state;
    mockcuda_drain();
    assert_int_equal(mockcuda_set_devices(2), 0);
    CUDA_OK(cudaSetDevice(1));
    unsigned char *dev1 = NULL;
    CUDA_OK(cudaMalloc((void **)&dev1, 2 * N));
    CUDA_OK(cudaSetDevice(0));
    cudaStream_t s;
    CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    tensors t;
    tensors_make(&t, 0);
    expect_all(&t, dev1, FSD_ERROR_INVALID_ARGUMENT, "memory of device 1", s);
    tensors_free(&t);
    CUDA_OK(cudaStreamDestroy(s));
    CUDA_OK(cudaFree(dev1));
    mockcuda_drain();
    assert_int_equal(mockcuda_set_devices(1), 0);
}

/* Runs fn in a child: its exit code, or 128 + the signal that killed it. */
static int in_child(int (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        _exit(fn());
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int host_tensor_device_buffer(void)
{
    fsd_context *ctx = NULL;
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.cpu_threads = 2;
    if (fsd_context_create(&ctx, &cfg) != FSD_SUCCESS)
        return 10;
    static unsigned char storage[2 * N];
    int64_t shape[2] = {50, 100}, strides[2] = {1, 50};
    DLTensor host = {storage, {kDLCPU, 0}, 2, {kDLInt, 16, 1}, shape, strides, 0};
    unsigned char *dev = NULL;
    if (cudaMalloc((void **)&dev, 2 * N) != cudaSuccess)
        return 11;
    char msg[256];
    if (fsd_pack_to_host(ctx, &host, dev, 2 * N, NULL) != FSD_ERROR_INVALID_ARGUMENT ||
        fsd_last_error(msg, sizeof msg) == 0)
        return 1;
    if (fsd_unpack_from_host(ctx, dev, 2 * N, &host, NULL) != FSD_ERROR_INVALID_ARGUMENT ||
        fsd_last_error(msg, sizeof msg) == 0)
        return 2;
    host.device.device_type = kDLCUDAHost; /* pinned host tensors take the CPU path too */
    if (fsd_pack_to_host(ctx, &host, dev + 2, 2 * N, NULL) != FSD_ERROR_INVALID_ARGUMENT)
        return 3;
    unsigned char out[2 * N];
    if (fsd_pack_to_host(ctx, &host, out, sizeof out, NULL) != FSD_SUCCESS)
        return 4;
    (void)cudaFree(dev);
    fsd_context_destroy(ctx);
    return 0;
}

static void test_host_tensor_device_buffer(void **state)
{
    (void)state;
    int rc = in_child(host_tensor_device_buffer);
    if (rc != 0)
        fail_msg("host tensor with a device-memory host buffer: %s %d",
                 rc >= 128 ? "the child died of signal" : "check failed:", rc >= 128 ? rc - 128 : rc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_packed_side_kinds),
        cmocka_unit_test(test_other_device),
        cmocka_unit_test(test_host_tensor_device_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
