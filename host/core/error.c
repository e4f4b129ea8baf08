/* error.c — per-thread detailed messages and the static status strings. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

#define FSD_MESSAGE_CAPACITY 512

static _Thread_local char fsd_message[FSD_MESSAGE_CAPACITY];

fsd_status fsd_fail(fsd_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fsd_message, sizeof fsd_message, fmt, ap);
    va_end(ap);
    return s;
}

void fsd_clear_error(void)
{
    fsd_message[0] = '\0';
}

size_t fsd_last_error(char *buf, size_t len)
{
    size_t n = strlen(fsd_message);
    if (buf != NULL && len > 0) {
        size_t k = n < len - 1 ? n : len - 1;
        memcpy(buf, fsd_message, k);
        buf[k] = '\0';
    }
    return n;
}

const char *fsd_status_string(fsd_status s)
{
    switch (s) {
    case FSD_SUCCESS: return "FSD_SUCCESS: no error";
    case FSD_ERROR_INVALID_ARGUMENT: return "FSD_ERROR_INVALID_ARGUMENT: an argument is NULL or out of range";
    case FSD_ERROR_UNSUPPORTED: return "FSD_ERROR_UNSUPPORTED: device type or dtype not supported";
    case FSD_ERROR_SIZE_MISMATCH: return "FSD_ERROR_SIZE_MISMATCH: buffer size does not match the packed size";
    case FSD_ERROR_OVERFLOW: return "FSD_ERROR_OVERFLOW: sizes or offsets do not fit in 64 bits";
    case FSD_ERROR_ALIASING: return "FSD_ERROR_ALIASING: destination elements may overlap";
    case FSD_ERROR_NO_GPU: return "FSD_ERROR_NO_GPU: no usable CUDA device or driver";
    case FSD_ERROR_CUDA: return "FSD_ERROR_CUDA: a CUDA call failed";
    case FSD_ERROR_OUT_OF_MEMORY: return "FSD_ERROR_OUT_OF_MEMORY: an allocation failed";
    case FSD_ERROR_INTERNAL: return "FSD_ERROR_INTERNAL: internal error in fastserde";
    case FSD_ERROR_CORRUPT: return "FSD_ERROR_CORRUPT: the frame fails its checks (header, offsets or checksum)";
    }
    return "FSD_ERROR_UNKNOWN: not a fastserde status";
}

void fsd_cuda_forget(cudaError_t e)
{
    if (e != cudaSuccess && cudaPeekAtLastError() == e)
        (void)cudaGetLastError();
}

fsd_status fsd_cuda_failure(cudaError_t e, const char *call)
{
    fsd_cuda_forget(e);
    if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver)
        return fsd_fail(FSD_ERROR_NO_GPU, "%s: %s", call, cudaGetErrorString(e));
    if (e == cudaErrorMemoryAllocation)
        return fsd_fail(FSD_ERROR_OUT_OF_MEMORY, "%s: %s", call, cudaGetErrorString(e));
    return fsd_fail(FSD_ERROR_CUDA, "%s: %s (%d)", call, cudaGetErrorString(e), (int)e);
}
