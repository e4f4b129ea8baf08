/*
 * fuzz_from_bytes.c — libFuzzer target (c): fsd_from_bytes with arbitrary dtypes (code, bits,
 * lanes), device types and ids, sizes (the input's own bytes, part of them, sizes no machine
 * can allocate), NULL bytes, NULL ctx and out, on a context that serves host tensors.
 *
 * The status must be one of those that apply (computed here from the arguments); on success
 * the tensor must be the documented 1-D compact tensor holding a copy of the bytes, and
 * fsd_to_bytes of it must give the bytes back; on failure *out is NULL. Huge sizes must fail
 * (SIZE_MISMATCH or OUT_OF_MEMORY) without reading the bytes. The context allocates through
 * hooks (fsd_allocator), as a server's would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastserde.h"
#include "fuzz_input.h"

#define FSDF_TARGET "fuzz_from_bytes"
#include "fuzz_check.h"

/* A failed huge malloc must return NULL (the library's OUT_OF_MEMORY), not abort (a safety net:
 * the hooks below keep such sizes away from malloc). */
FSDF_ALLOCATOR_MAY_RETURN_NULL()

/* The context's allocation hooks: malloc, except that sizes no machine has fail at once (the
 * library must then report OUT_OF_MEMORY) instead of reaching the sanitizer's allocator, which
 * would print a warning per attempt. Pinned and device memory (only with a GPU) as usual. */
static void *hook_alloc(void *user, fsd_alloc_kind kind, size_t size, int device)
{
    (void)user;
    (void)device;
    void *p = NULL;
    if (kind == FSD_ALLOC_HOST)
        return size > ((size_t)1 << 40) ? NULL : malloc(size);
    if (kind == FSD_ALLOC_PINNED)
        return cudaHostAlloc(&p, size, cudaHostAllocDefault) == cudaSuccess ? p : NULL;
    return cudaMalloc(&p, size) == cudaSuccess ? p : NULL;
}

static void hook_free(void *user, fsd_alloc_kind kind, void *p, int device)
{
    (void)user;
    (void)device;
    if (kind == FSD_ALLOC_HOST)
        free(p);
    else if (kind == FSD_ALLOC_PINNED)
        cudaFreeHost(p);
    else
        cudaFree(p);
}

static fsd_context *g_ctx;
static int g_device = -1; /* the context's GPU, -1 for a host-only context */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.cpu_threads = 2;
    cfg.chunk_bytes = 64 << 10;
    cfg.allocator.alloc = hook_alloc;
    cfg.allocator.free = hook_free;
    fsd_context_usage u;
    if (fsd_context_create(&g_ctx, &cfg) != FSD_SUCCESS ||
        fsd_context_memory(g_ctx, &u) != FSD_SUCCESS) {
        fprintf(stderr, "fuzz_from_bytes: cannot create a context\n");
        abort();
    }
    g_device = u.device;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fsdf_input in = {data, size};
    DLDataType dt;
    static const uint8_t bits[] = {8, 16, 32, 64, 128, 248, 0, 1, 4, 12, 24, 40};
    uint8_t b = fsdf_u8(&in);
    dt.code = fsdf_u8(&in);
    dt.bits = b < 192 ? bits[b % 12] : b;
    uint8_t lb = fsdf_u8(&in);
    dt.lanes = lb < 128 ? (uint16_t)(1 + lb % 4) : lb < 160 ? 0 : lb < 192 ? 65535 : fsdf_u16(&in);
    DLDevice dev;
    static const int32_t types[] = {kDLCPU, kDLCPU, kDLCUDA, kDLCUDAHost, kDLCUDAManaged, kDLOpenCL};
    uint8_t db = fsdf_u8(&in);
    dev.device_type = (DLDeviceType)(db < 240 ? types[db % 6] : (int32_t)fsdf_u32(&in));
    dev.device_id = (int32_t)(fsdf_u8(&in) % 4) - 1;
    if (g_device >= 0 && dev.device_type == kDLCUDA)
        dev.device_type = kDLCPU; /* keep GPU memory out of a fuzzer: host tensors only */
    uint8_t mode = fsdf_u8(&in);
    int null_ctx = mode == 0xFF, null_out = mode == 0xFE;

    const void *bytes = in.p;
    size_t n = in.n;
    int huge = 0;
    switch (mode % 5) {
    case 0: break;                                      /* the rest of the input */
    case 1: n = in.n ? fsdf_u16(&in) % (in.n + 1) : 0; bytes = in.p; break; /* a part */
    case 2: {                                           /* more than any machine has */
        static const size_t sizes[] = {SIZE_MAX, SIZE_MAX - 1, (size_t)1 << 63, (size_t)1 << 62,
                                       (size_t)1 << 48, ((size_t)1 << 47) + 3, SIZE_MAX / 3};
        n = sizes[fsdf_pick(&in, 7)];
        size_t es = (size_t)(dt.bits / 8) * dt.lanes;
        if (es > 0 && fsdf_u8(&in) & 1)
            n -= n % es; /* a whole number of elements: the allocation is attempted */
        huge = 1;
        break;
    }
    case 3: bytes = NULL; n = fsdf_u8(&in) & 1 ? 0 : fsdf_u64(&in); break;
    default: n = 0; bytes = (fsdf_u8(&in) & 1) ? NULL : in.p; break;
    }

    /* statuses that apply */
    unsigned errs = 0;
    if (null_ctx || null_out)
        errs |= 1u << FSD_ERROR_INVALID_ARGUMENT;
    if (bytes == NULL && n > 0)
        errs |= 1u << FSD_ERROR_INVALID_ARGUMENT;
    size_t es = 0;
    if (dt.bits == 0 || dt.lanes == 0) {
        errs |= 1u << FSD_ERROR_INVALID_ARGUMENT;
    } else if (dt.bits % 8 != 0) {
        errs |= 1u << FSD_ERROR_UNSUPPORTED;
    } else {
        es = (size_t)(dt.bits / 8) * dt.lanes;
        if (n % es != 0)
            errs |= 1u << FSD_ERROR_SIZE_MISMATCH;
    }
    if (dev.device_type == kDLCUDA) {
        if (g_device < 0)
            errs |= 1u << FSD_ERROR_NO_GPU;
        else if (dev.device_id != g_device)
            errs |= 1u << FSD_ERROR_INVALID_ARGUMENT;
    } else if (dev.device_type != kDLCPU) {
        errs |= 1u << FSD_ERROR_UNSUPPORTED;
    }

    DLManagedTensor *out = (DLManagedTensor *)(uintptr_t)0x1;
    fsd_status st = fsd_from_bytes(null_ctx ? NULL : g_ctx, bytes, n, dt, dev, null_out ? NULL : &out);
    size_t msg = fsd_last_error(NULL, 0);
    if (errs != 0 || huge) {
        unsigned ok = errs ? errs : 1u << FSD_ERROR_OUT_OF_MEMORY;
        if (errs == 0 && huge)
            ok |= 1u << FSD_ERROR_OUT_OF_MEMORY;
        CHECK(st != FSD_SUCCESS && ((ok >> st) & 1u), "status %s, expected one of %#x (n %zu, bits %u, "
              "lanes %u, device %d:%d)", fsd_status_string(st), ok, n, dt.bits, dt.lanes,
              (int)dev.device_type, dev.device_id);
        CHECK(msg > 0, "failure without a message");
        if (!null_out)
            CHECK(out == NULL, "*out not NULL after a failure");
        return 0;
    }
    CHECK(st == FSD_SUCCESS, "status %s for valid arguments (n %zu, bits %u, lanes %u)",
          fsd_status_string(st), n, dt.bits, dt.lanes);
    CHECK(msg == 0, "success with a message");
    const DLTensor *t = &out->dl_tensor;
    CHECK(t->ndim == 1 && t->shape != NULL && (size_t)t->shape[0] == n / es, "shape");
    CHECK(t->strides == NULL || t->strides[0] == 1, "strides");
    CHECK(t->byte_offset == 0 && t->data != NULL, "data %p, byte_offset %llu", t->data,
          (unsigned long long)t->byte_offset);
    CHECK(t->dtype.code == dt.code && t->dtype.bits == dt.bits && t->dtype.lanes == dt.lanes, "dtype");
    CHECK(t->device.device_type == dev.device_type && t->device.device_id == dev.device_id, "device");
    CHECK(out->deleter != NULL, "no deleter");
    if (n > 0)
        CHECK(memcmp(t->data, bytes, n) == 0, "the tensor does not hold the bytes");
    /* and back */
    void *back = NULL;
    size_t back_n = 1;
    st = fsd_to_bytes(g_ctx, t, &back, &back_n);
    CHECK(st == FSD_SUCCESS && back_n == n, "fsd_to_bytes: %s, %zu bytes", fsd_status_string(st), back_n);
    if (n > 0)
        CHECK(memcmp(back, bytes, n) == 0, "fsd_to_bytes differs");
    else
        CHECK(back == NULL, "fsd_to_bytes of an empty tensor gave a buffer");
    fsd_bytes_free(back);
    out->deleter(out);
    return 0;
}
