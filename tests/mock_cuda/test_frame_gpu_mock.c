/*
 * test_frame_gpu_mock.c — frames of CUDA tensors on the stand-in runtime.
 *  - fsd_frame_write: frames of 1 to 3 random tensors of fsd_cases (uploaded to device memory)
 *    written on a stream into device memory, pinned host memory, or pageable host memory
 *    through a context's ring are byte for byte the frame fsd_frame_write makes of the same
 *    tensors on the host (the GPU's checksums equal the CPU's), with and without checksums, and
 *    open and verify on the host. Host and CUDA tensors together, and a pageable destination
 *    without a context, are refused with nothing enqueued.
 *  - fsd_frame_read into CUDA tensors of any layout (through a context's ring, or by DMA from a
 *    pinned frame) leaves the same bytes in device memory as the read into the same layout on
 *    the host, and fsd_frame_read_new makes a CUDA tensor of the entry's shape holding the
 *    frame's bytes; a corrupt tensor is refused (no tensor made, nothing left allocated); a
 *    CUDA destination without a context is refused.
 *  - One pass over the host bytes (the stand-in counts the library's NVTX ranges): between CUDA
 *    tensors and pageable frames the checksum is computed by the ring's host copies, which move
 *    each byte once, and no pass reads bytes only to hash them ("frame hash"); a pinned frame,
 *    which the DMA reads directly, is hashed by the CPU alone, once.
 * Built against the real runtime too (tests/frame: test_frame_gpu, FSDT_REAL_CUDA): the same on
 * a GPU, without the stand-in's checks; skipped (77) without a GPU.
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
#include "fsdt_configs.h"
#if !defined(FSDT_REAL_CUDA)
#include "mock_cuda.h"
#endif

#define CUDA_OK(x) assert_int_equal((int)(x), (int)cudaSuccess)
#define MAXT 3

static int compared, compared_checksum;

/* The stand-in runtime saw no misuse (nothing to check on the real one). */
static void expect_no_violations(void)
{
#if !defined(FSDT_REAL_CUDA)
    mockcuda_stats st;
    mockcuda_get_stats(&st);
    assert_int_equal(st.violations, 0);
#endif
}

/* The bytes of the library's host passes so far: those that only hash ("frame hash") and the
 * ring's host copies ("chunk host copy"). Counted by the stand-in; 0 on the real runtime. */
typedef struct passes {
    uint64_t hashed, copied;
} passes;

static passes host_passes(void)
{
    passes p = {0, 0};
#if !defined(FSDT_REAL_CUDA)
    p.hashed = mockcuda_range_bytes("frame hash", NULL);
    p.copied = mockcuda_range_bytes("chunk host copy", NULL);
#endif
    return p;
}

/* What the host passes since `before` were: `hashed` bytes read only to hash them and
 * `copied` bytes moved by the ring's host copies (nothing checked on the real runtime). */
static void expect_passes(passes before, uint64_t hashed, uint64_t copied, const char *what)
{
#if !defined(FSDT_REAL_CUDA)
    passes now = host_passes();
    if (now.hashed - before.hashed != hashed || now.copied - before.copied != copied)
        fail_msg("%s: %llu bytes hashed alone and %llu copied by the ring, want %llu and %llu", what,
                 (unsigned long long)(now.hashed - before.hashed),
                 (unsigned long long)(now.copied - before.copied), (unsigned long long)hashed,
                 (unsigned long long)copied);
#else
    (void)before, (void)hashed, (void)copied, (void)what;
#endif
}

/* A number from (seed, i), the same on every runtime. */
static uint64_t mockless_rand(uint64_t seed, int i)
{
    uint64_t x = seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(i + 1));
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    return x ^ (x >> 29);
}

/* What test_frames and test_read_cuda share: a context whose ring has chunks of 4 KiB
 * (several chunks for most cases: the ring's edges) and a stream of their own. */
typedef struct fixture {
    fsd_context *ctx;
    cudaStream_t stream;
} fixture;

static int fixture_setup(void **state)
{
    static fixture fx;
    fsd_context_config cfg = fsdt_small_ring_config();
    if (fsd_context_create(&fx.ctx, &cfg) != FSD_SUCCESS ||
        cudaStreamCreateWithFlags(&fx.stream, cudaStreamNonBlocking) != cudaSuccess)
        return -1;
    *state = &fx;
    return 0;
}

static int fixture_teardown(void **state)
{
    fixture *fx = *state;
    CUDA_OK(cudaStreamDestroy(fx->stream));
    fsd_context_destroy(fx->ctx);
    expect_no_violations(); /* the test's calls and the context's teardown */
    return 0;
}

/* Where check_frame writes: device memory, pinned host memory, or pageable host memory
 * (through a context's ring). */
enum { TO_DEVICE, TO_PINNED, TO_PAGEABLE };

/* Frames of n CUDA tensors written into memory of kind `to` against the frame of the same
 * tensors written on the host. */
static void check_frame(fsd_context *ctx, uint64_t seed, int first, int n, int checksum, int to,
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
    if (to == TO_PINNED)
        CUDA_OK(cudaHostAlloc((void **)&dst, size, 0));
    else if (to == TO_DEVICE)
        CUDA_OK(cudaMalloc((void **)&dst, size));
    else
        dst = malloc(size);
    if (to == TO_PAGEABLE) /* the GPU cannot reach it: refused without a context */
        assert_int_equal(fsd_frame_write(NULL, dev_ts, (size_t)n, &o, dst, size, stream),
                         FSD_ERROR_INVALID_ARGUMENT);
    passes before = host_passes();
    st = fsd_frame_write(to == TO_PAGEABLE ? ctx : NULL, dev_ts, (size_t)n, &o, dst, size, stream);
    if (to == TO_PAGEABLE) { /* every data byte through the ring once, hashed on the way */
        uint64_t data = 0;
        for (int i = 0; i < n; i++)
            data += c[i].packed_size;
        expect_passes(before, 0, data, "fsd_frame_write into pageable memory");
    } else { /* the GPU hashes */
        expect_passes(before, 0, 0, "fsd_frame_write into memory the GPU reaches");
    }
    if (st != FSD_SUCCESS)
        fail_msg("fsd_frame_write of CUDA tensors into %s memory: %s (%s)",
                 to == TO_PINNED ? "pinned" : to == TO_DEVICE ? "device" : "pageable",
                 fsd_status_string(st), c[0].desc);
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
    if (to == TO_PINNED)
        CUDA_OK(cudaFreeHost(dst));
    else if (to == TO_DEVICE)
        CUDA_OK(cudaFree(dst));
    else
        free(dst);
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
    const fixture *fx = *state;
    uint64_t seed = fsdt_seed();
    long n = fsdt_env_long("FSD_TEST_CASES", 120);
    /* Cases whose dtype frames hold (safetensors names none of 3, 6 or 12 bytes...): draw until
     * n frames were compared. */
    for (long i = 0; compared < n && i < 40 * n; i++)
        check_frame(fx->ctx, seed, (int)(3 * i), 1 + (int)(i % MAXT), i % 5 != 4, (int)(i % 3),
                    fx->stream);
    printf("frames of CUDA tensors compared: %d (%d with checksums)\n", compared, compared_checksum);
    assert_true(compared >= n && compared_checksum >= (int)n / 2);
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


/* A copy of the frame whose checksum value of "t" has one digit changed (the header still
 * parses: the metadata's own checksum leaves the tensors' values out) is refused by the read
 * into CUDA memory and by read_new, whatever the tensor's size: an empty tensor's checksum
 * still covers its name, dtype and shape. */
static void check_wrong_checksum(fsd_context *ctx, const unsigned char *frame, size_t size,
                                 const DLTensor *d, cudaStream_t stream)
{
    static const char key[] = "\"fastserde.checksum.t\":\"xxh3-1k:";
    unsigned char *bad = malloc(size);
    memcpy(bad, frame, size);
    size_t at = 0;
    while (at + sizeof key - 1 + 16 <= size && memcmp(bad + at, key, sizeof key - 1) != 0)
        at++;
    assert_true(at + sizeof key - 1 + 16 <= size);
    unsigned char *digit = bad + at + sizeof key - 1 + 15;
    *digit = *digit == '0' ? '1' : '0';
    fsd_frame *f = NULL;
    assert_int_equal(fsd_frame_open(bad, size, &f), FSD_SUCCESS);
    assert_int_equal(fsd_frame_read(ctx, f, 0, d, 1, stream), FSD_ERROR_CORRUPT);
    CUDA_OK(cudaStreamSynchronize(stream));
    DLManagedTensor *m = (DLManagedTensor *)(uintptr_t)1;
    assert_int_equal(fsd_frame_read_new(ctx, f, 0, (DLDevice){kDLCUDA, 0}, 1, &m), FSD_ERROR_CORRUPT);
    assert_null(m);
    fsd_frame_close(f);
    free(bad);
}

/* One frame of case i's tensor read back into device memory of the case's layout: the same
 * status and bytes as the read into that layout on the host; after a flipped byte,
 * FSD_ERROR_CORRUPT and the device memory untouched. Returns 1 when the frame was compared. */
static int check_read(fsd_context *ctx, uint64_t seed, int i, int pinned, cudaStream_t stream)
{
    fsdt_case c;
    fsdt_case_make(&c, seed, i);
    fsd_frame_tensor t = {"t", &c.t};
    size_t size = 0;
    int ok = 0;
    unsigned char *frame = NULL, *want = NULL, *got = NULL;
    char *dev = NULL;
    if (fsd_frame_size(&t, 1, NULL, &size) != FSD_SUCCESS || c.aliasing)
        goto out; /* a dtype frames do not hold; an aliasing view is never a destination */
    if (pinned)
        CUDA_OK(cudaHostAlloc((void **)&frame, size, 0));
    else
        frame = malloc(size);
    assert_int_equal(fsd_frame_write(NULL, &t, 1, NULL, frame, size, NULL), FSD_SUCCESS);
    fsd_frame *f = NULL;
    assert_int_equal(fsd_frame_open(frame, size, &f), FSD_SUCCESS);
    want = malloc(c.storage_size);
    got = malloc(c.storage_size);
    memset(want, 0xA5, c.storage_size);
    DLTensor host = c.t, d = c.t;
    host.data = want;
    CUDA_OK(cudaMalloc((void **)&dev, c.storage_size));
    CUDA_OK(cudaMemcpy(dev, want, c.storage_size, cudaMemcpyHostToDevice));
    d.data = dev;
    d.device = (DLDevice){kDLCUDA, 0};
    fsd_frame_info info;
    assert_int_equal(fsd_frame_tensor_info(f, 0, &info), FSD_SUCCESS);
    fsd_status hs = fsd_frame_read(NULL, f, 0, &host, 1, NULL);
    passes before = host_passes();
    fsd_status ds = fsd_frame_read(ctx, f, 0, &d, 1, stream);
    /* pageable: through the ring, hashed by its host copies; pinned: hashed alone, by DMA */
    if (ds == FSD_SUCCESS)
        expect_passes(before, pinned ? info.nbytes : 0, pinned ? 0 : info.nbytes, "fsd_frame_read");
    if (ds != hs)
        fail_msg("read into CUDA: %s, into the host: %s (%s)", fsd_status_string(ds),
                 fsd_status_string(hs), c.desc);
    CUDA_OK(cudaStreamSynchronize(stream));
    CUDA_OK(cudaMemcpy(got, dev, c.storage_size, cudaMemcpyDeviceToHost));
    long diff = fsdt_first_diff(want, got, c.storage_size);
    if (diff >= 0)
        fail_msg("device byte %ld of %zu differs from the host read: want %02x got %02x\n  %s",
                 diff, c.storage_size, want[diff], got[diff], c.desc);
    ok = hs == FSD_SUCCESS;
    if (ok) /* a CUDA destination needs the context's ring */
        assert_int_equal(fsd_frame_read(NULL, f, 0, &d, 1, stream), FSD_ERROR_INVALID_ARGUMENT);
    if (ok) {
        /* a new compact CUDA tensor: the entry's dtype and shape, the frame's bytes */
        DLManagedTensor *m = NULL;
        before = host_passes();
        assert_int_equal(fsd_frame_read_new(ctx, f, 0, (DLDevice){kDLCUDA, 0}, 1, &m), FSD_SUCCESS);
        expect_passes(before, pinned ? info.nbytes : 0, pinned ? 0 : info.nbytes,
                      "fsd_frame_read_new");
        const DLTensor *r = &m->dl_tensor;
        assert_int_equal(r->device.device_type, kDLCUDA);
        assert_int_equal(r->ndim, c.t.ndim);
        assert_null(r->strides);
        assert_int_equal(r->dtype.code, c.t.dtype.code);
        assert_int_equal(r->dtype.bits, c.t.dtype.bits);
        for (int k = 0; k < r->ndim; k++)
            assert_int_equal(r->shape[k], c.t.shape[k]);
        if (info.nbytes > 0) {
            CUDA_OK(cudaMemcpy(got, (char *)r->data + r->byte_offset, info.nbytes, cudaMemcpyDeviceToHost));
            assert_int_equal(fsdt_first_diff(frame + info.offset, got, info.nbytes), -1);
        }
        m->deleter(m);
    }
    if (ok && c.packed_size > 0) {
        /* a flipped data byte: refused (the destination holds the frame's bytes, as on the
         * host); fsd_frame_verify first writes nothing */
        unsigned char *flip = frame + info.offset + (size_t)(mockless_rand(seed, i) % info.nbytes);
        *flip ^= 0x10;
        assert_int_equal(fsd_frame_read(ctx, f, 0, &d, 1, stream), FSD_ERROR_CORRUPT);
        CUDA_OK(cudaStreamSynchronize(stream));
        assert_int_equal(fsd_frame_verify(ctx, f, 0), FSD_ERROR_CORRUPT);
        /* read_new: no tensor, its device memory freed again */
#if !defined(FSDT_REAL_CUDA)
        long allocs = mockcuda_calls(MOCKCUDA_MALLOC_ASYNC), frees = mockcuda_calls(MOCKCUDA_FREE_ASYNC);
#endif
        DLManagedTensor *m = (DLManagedTensor *)(uintptr_t)1;
        assert_int_equal(fsd_frame_read_new(ctx, f, 0, (DLDevice){kDLCUDA, 0}, 1, &m), FSD_ERROR_CORRUPT);
        assert_null(m);
#if !defined(FSDT_REAL_CUDA)
        assert_int_equal(mockcuda_calls(MOCKCUDA_MALLOC_ASYNC) - allocs,
                         mockcuda_calls(MOCKCUDA_FREE_ASYNC) - frees);
#endif
        /* unverified, the bytes go as they are */
        assert_int_equal(fsd_frame_read(ctx, f, 0, &d, 0, stream), FSD_SUCCESS);
        *flip ^= 0x10;
    }
    if (ok)
        check_wrong_checksum(ctx, frame, size, &d, stream);
    fsd_frame_close(f);
out:
    if (dev != NULL)
        CUDA_OK(cudaFree(dev));
    if (pinned && frame != NULL)
        CUDA_OK(cudaFreeHost(frame));
    else
        free(frame);
    free(want);
    free(got);
    fsdt_case_free(&c);
    return ok;
}

static void test_read_cuda(void **state)
{
    const fixture *fx = *state;
    uint64_t seed = fsdt_seed();
    long n = fsdt_env_long("FSD_TEST_CASES", 120);
    long read = 0;
    for (long i = 0; read < n && i < 40 * n; i++)
        read += check_read(fx->ctx, seed, (int)(1000 + i), (int)(i % 2), fx->stream);
    printf("frames read into CUDA tensors: %ld\n", read);
    assert_true(read >= n);
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
        cmocka_unit_test_setup_teardown(test_frames, fixture_setup, fixture_teardown),
        cmocka_unit_test(test_refused),
        cmocka_unit_test_setup_teardown(test_read_cuda, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
