/*
 * step_common.cuh — what every step function shares: division by the plan's dividers in the
 * index width of the kernel (32 or 64 bits), and copies of 1 to 16 aligned bytes as one access.
 * Compiled for the device by the kernels and for the host by the emulated-grid tests.
 */
#ifndef FSD_STEP_COMMON_CUH
#define FSD_STEP_COMMON_CUH

#include <cuda_runtime.h>
#include <stdint.h>

#include "plan.h"

FSD_HD uint32_t fsd_div(const fsd_divider &dv, uint32_t n) { return fsd_div32(&dv, n); }
FSD_HD uint64_t fsd_div(const fsd_divider &dv, uint64_t n) { return fsd_div64(&dv, n); }

/* Aligned accesses of T: the plan guarantees that every address is aligned to sizeof(T). A
 * misaligned access faults on the GPU; compiled for the host (the emulated grid), it traps
 * the same way, whatever the host CPU would tolerate. */
template <typename T>
FSD_HD void fsd_check_aligned(const void *p)
{
#if !defined(__CUDA_ARCH__)
    if ((uintptr_t)p % sizeof(T) != 0)
        __builtin_trap();
#else
    (void)p;
#endif
}

template <typename T>
FSD_HD T fsd_load_as(const char *src)
{
    fsd_check_aligned<T>(src);
    return *reinterpret_cast<const T *>(src);
}

template <typename T>
FSD_HD void fsd_store_as(char *dst, T v)
{
    fsd_check_aligned<T>(dst);
    *reinterpret_cast<T *>(dst) = v;
}

template <typename T>
FSD_HD void fsd_copy_as(char *dst, const char *src)
{
    fsd_store_as<T>(dst, fsd_load_as<T>(src));
}

/* Copies `size` bytes as size / word accesses of `word` bytes (1, 2, 4, 8 or 16); both
 * addresses are aligned to `word`, which divides `size`. */
FSD_HD void fsd_copy_elem(char *dst, const char *src, uint32_t size, uint32_t word)
{
    for (uint32_t i = 0; i < size; i += word) {
        switch (word) {
        case 16: fsd_copy_as<uint4>(dst + i, src + i); break;
        case 8: fsd_copy_as<uint2>(dst + i, src + i); break;
        case 4: fsd_copy_as<uint32_t>(dst + i, src + i); break;
        case 2: fsd_copy_as<uint16_t>(dst + i, src + i); break;
        default: fsd_copy_as<uint8_t>(dst + i, src + i); break;
        }
    }
}

#endif
