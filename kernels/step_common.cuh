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

/*
 * The memory-access model's hooks (tests/kernels/model). Every global and shared access of a step
 * function goes through fsd_load_as / fsd_store_as (and fsd_copy_as, fsd_copy_elem, which use
 * them), and each grid-stride iteration may mark itself with FSD_MODEL_ITERATION(). Both hooks
 * are empty unless the translation unit defines FSD_ACCESS_HOOK before including this header:
 * the library, the kernels and the plain emulated grid compile no hook and no extra argument.
 * The model defines
 *     FSD_ACCESS_HOOK(ptr, bytes, is_store, site_file, site_line)
 * and then every helper takes the call site (file and line, from __builtin_FILE/LINE default
 * arguments) so that the model can group the 32 lanes' n-th access at one site into one warp
 * instruction; helpers that call helpers pass their own caller's site on (FSD_SITE_FWD).
 * Whether an access is global or shared is the model's call: the driver declares the block's
 * shared buffer. A new step function needs nothing more than these helpers.
 */
#if defined(FSD_ACCESS_HOOK)
#define FSD_SITE_DECL , const char *fsd_site_file = __builtin_FILE(), int fsd_site_line = __builtin_LINE()
#define FSD_SITE_FWD , fsd_site_file, fsd_site_line
#define FSD_HOOK(ptr, bytes, is_store) FSD_ACCESS_HOOK(ptr, bytes, is_store, fsd_site_file, fsd_site_line)
#else
#define FSD_SITE_DECL
#define FSD_SITE_FWD
#define FSD_HOOK(ptr, bytes, is_store) ((void)0)
#endif
#ifndef FSD_MODEL_ITERATION
#define FSD_MODEL_ITERATION() ((void)0)
#endif

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
FSD_HD T fsd_load_as(const char *src FSD_SITE_DECL)
{
    fsd_check_aligned<T>(src);
    FSD_HOOK(src, sizeof(T), 0);
    return *reinterpret_cast<const T *>(src);
}

template <typename T>
FSD_HD void fsd_store_as(char *dst, T v FSD_SITE_DECL)
{
    fsd_check_aligned<T>(dst);
    FSD_HOOK(dst, sizeof(T), 1);
    *reinterpret_cast<T *>(dst) = v;
}

template <typename T>
FSD_HD void fsd_copy_as(char *dst, const char *src FSD_SITE_DECL)
{
    fsd_store_as<T>(dst, fsd_load_as<T>(src FSD_SITE_FWD) FSD_SITE_FWD);
}

/* Copies `size` bytes as size / word accesses of `word` bytes (1, 2, 4, 8 or 16); both
 * addresses are aligned to `word`, which divides `size`. */
FSD_HD void fsd_copy_elem(char *dst, const char *src, uint32_t size, uint32_t word FSD_SITE_DECL)
{
    for (uint32_t i = 0; i < size; i += word) {
        switch (word) {
        case 16: fsd_copy_as<uint4>(dst + i, src + i FSD_SITE_FWD); break;
        case 8: fsd_copy_as<uint2>(dst + i, src + i FSD_SITE_FWD); break;
        case 4: fsd_copy_as<uint32_t>(dst + i, src + i FSD_SITE_FWD); break;
        case 2: fsd_copy_as<uint16_t>(dst + i, src + i FSD_SITE_FWD); break;
        default: fsd_copy_as<uint8_t>(dst + i, src + i FSD_SITE_FWD); break;
        }
    }
}

#endif
