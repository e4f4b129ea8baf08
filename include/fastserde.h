/*
 * fastserde.h — turn strided tensors into contiguous bytes and back.
 *
 * Introduction
 * ------------
 * fastserde packs any strided tensor, described by a DLPack `DLTensor`, into contiguous bytes in
 * row-major order of its logical shape (byte-identical to PyTorch's
 * `t.contiguous().view(torch.uint8)`), and unpacks such bytes into any non-overlapping strided
 * tensor. Host tensors (`kDLCPU`, `kDLCUDAHost`) are copied by the CPU; CUDA tensors (`kDLCUDA`,
 * `kDLCUDAManaged`) by CUDA kernels enqueued on the caller's stream.
 *
 * Conventions that hold for every function below:
 *  1. Every function that can fail returns an `fsd_status`; `FSD_SUCCESS` is 0. The calling
 *     thread's detailed message for the last call is read with `fsd_last_error()`.
 *  2. Tensors are borrowed (`const DLTensor *`): fastserde never frees or keeps them.
 *  3. `DLTensor.strides` are in elements and may be NULL (compact row-major), negative, or zero.
 *     `byte_offset` is honoured; `data` need not be aligned. The strides of size-1 dimensions
 *     are ignored. The element size is `dtype.bits / 8 * dtype.lanes` bytes; any `dtype.code`
 *     is accepted, `bits` must be a positive multiple of 8 and `lanes` at least 1.
 *  4. A `cudaStream_t` is always the last argument, passed by value; NULL is the legacy default
 *     stream. It is ignored for host tensors. For CUDA tensors the work is enqueued on it and
 *     the call returns without waiting: no host synchronisation, no allocation, so the calls
 *     can be captured in a CUDA graph. The current CUDA device is saved and restored.
 *  5. On any error nothing is written to any output buffer or tensor.
 *  6. Thread safety: every function here keeps no shared state and may be called from any
 *     number of threads at once, provided that no two calls write the same memory.
 *  7. fastserde never prints.
 */
#ifndef FASTSERDE_H
#define FASTSERDE_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h> /* cudaStream_t */
#include <dlpack/dlpack.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define FSD_API
#else
#define FSD_API __attribute__((visibility("default")))
#endif

#define FSD_VERSION_MAJOR 0
#define FSD_VERSION_MINOR 1
#define FSD_VERSION_PATCH 0
/* One number: major * 10000 + minor * 100 + patch. */
#define FSD_VERSION_NUMBER \
    (FSD_VERSION_MAJOR * 10000 + FSD_VERSION_MINOR * 100 + FSD_VERSION_PATCH)

/*
 * Status codes. The values are pinned: they never change between versions, so that callers
 * through ctypes or other FFIs may hard-code them. New codes get new numbers.
 */
typedef enum fsd_status {
    FSD_SUCCESS = 0,
    FSD_ERROR_INVALID_ARGUMENT = 1, /* NULL pointer, ndim < 0, negative dim, lanes 0, ...   */
    FSD_ERROR_UNSUPPORTED = 2,      /* device type or dtype fastserde does not handle        */
    FSD_ERROR_SIZE_MISMATCH = 3,    /* buffer too small (pack) or not the packed size (unpack) */
    FSD_ERROR_OVERFLOW = 4,         /* sizes or byte offsets do not fit in 63 bits / address  */
    FSD_ERROR_ALIASING = 5,         /* unpack destination whose elements may overlap          */
    FSD_ERROR_NO_GPU = 6,           /* a CUDA tensor, but no usable GPU or driver             */
    FSD_ERROR_CUDA = 7,             /* a CUDA runtime call or kernel launch failed            */
    FSD_ERROR_OUT_OF_MEMORY = 8,    /* an allocation failed                                   */
    FSD_ERROR_INTERNAL = 9          /* a bug in fastserde: please report it                   */
} fsd_status;

/*
 * fsd_version: the library's version as FSD_VERSION_NUMBER of the build (major * 10000 +
 * minor * 100 + patch). Compare with FSD_VERSION_NUMBER to detect a header/library mismatch.
 */
FSD_API unsigned fsd_version(void);

/*
 * fsd_status_string: a static, human-readable name for `s` ("FSD_ERROR_ALIASING: ...").
 * Never NULL; unknown values give a string saying so. Thread-safe.
 */
FSD_API const char *fsd_status_string(fsd_status s);

/*
 * fsd_last_error: copies the calling thread's detailed message of its last fastserde call into
 * `buf` (at most `len` bytes, always NUL-terminated when len > 0) and returns the message's
 * full length without the NUL, like snprintf: a return >= len means it was cut. The message
 * is empty after a call that succeeded. `buf` may be NULL when `len` is 0 (to query the
 * length). Each thread has its own message: thread-safe.
 */
FSD_API size_t fsd_last_error(char *buf, size_t len);

/*
 * fsd_packed_size: the number of bytes `t` packs into: the product of its shape times the
 * element size (0 for a tensor with a zero-size dimension; one element for 0-d).
 *
 * @param t       the tensor; only ndim, shape and dtype are read (and device, which must be
 *                one of the four supported types).
 * @param nbytes  out: the packed size.
 * @return FSD_SUCCESS;
 *         FSD_ERROR_INVALID_ARGUMENT  t or nbytes NULL, ndim < 0, shape NULL with ndim > 0, a
 *                                     negative dimension, dtype.bits 0 or dtype.lanes 0;
 *         FSD_ERROR_UNSUPPORTED       bits not a multiple of 8, or another device type;
 *         FSD_ERROR_OVERFLOW          the size does not fit in 2^63 - 1 bytes.
 */
FSD_API fsd_status fsd_packed_size(const DLTensor *t, size_t *nbytes);

/*
 * fsd_pack: writes the elements of `src` into `dst` as contiguous row-major bytes, exactly
 * fsd_packed_size(src) bytes; bytes of `dst` past that are not touched.
 *
 * @param src       the strided tensor to read. Zero strides (broadcasts) and negative strides
 *                  are fine. `data` may be NULL when the tensor has no elements.
 * @param dst       the packed bytes. For a host `src`: host memory. For a CUDA `src`: memory
 *                  the GPU of `src` can write (device memory, managed memory, or mapped pinned
 *                  host memory). May be NULL when the packed size is 0. Must not overlap `src`.
 * @param dst_size  the size of `dst` in bytes; at least the packed size.
 * @param stream    CUDA tensors: the stream the kernel is enqueued on (the copy is complete
 *                  when the stream reaches it). Host tensors: ignored, the copy is done on
 *                  return.
 * @return FSD_SUCCESS; the codes of fsd_packed_size, and
 *         FSD_ERROR_INVALID_ARGUMENT  data or dst NULL while there are bytes to copy;
 *         FSD_ERROR_SIZE_MISMATCH     dst_size smaller than the packed size;
 *         FSD_ERROR_OVERFLOW          a byte offset of an element does not fit in the address
 *                                     space;
 *         FSD_ERROR_NO_GPU            a CUDA tensor without a usable GPU;
 *         FSD_ERROR_CUDA              a CUDA call failed (the message names it).
 */
FSD_API fsd_status fsd_pack(const DLTensor *src, void *dst, size_t dst_size, cudaStream_t stream);

/*
 * fsd_unpack: the inverse of fsd_pack: reads fsd_packed_size(dst) bytes from `src` and writes
 * them into the elements of `dst`. Exactly the bytes of the view's elements are written, no
 * other byte of the underlying storage.
 *
 * @param src       the packed bytes (same memory rules as fsd_pack's dst). Must not overlap
 *                  the elements of `dst`.
 * @param src_size  must equal the packed size of `dst`.
 * @param dst       the strided tensor to write. Its elements must not alias: a zero stride on
 *                  a dimension longer than 1, or strides that do not nest (sorted by |stride|,
 *                  each must exceed the span of the smaller ones) are rejected.
 * @param stream    as for fsd_pack.
 * @return FSD_SUCCESS; the codes of fsd_pack, with FSD_ERROR_SIZE_MISMATCH when src_size is
 *         not the packed size, and FSD_ERROR_ALIASING for a destination that may alias (checked
 *         before anything is written).
 */
FSD_API fsd_status fsd_unpack(const void *src, size_t src_size, const DLTensor *dst,
                              cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif /* FASTSERDE_H */
