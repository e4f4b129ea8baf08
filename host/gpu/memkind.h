/*
 * memkind.h — what kind of memory a pointer is (as the CUDA runtime sees it), and whether a
 * GPU or the CPU can reach a range of it: the one place that decides, before anything is
 * enqueued, that a buffer is fit for a call (fsd_pack / fsd_unpack of CUDA tensors, the round
 * trip's host side, host tensors of a context).
 *
 * The rule, and its cost: a range is judged by the kinds of its first and its last byte (two
 * cudaPointerGetAttributes calls, each a lookup in the driver's address map; no CUDA call is
 * enqueued, none synchronises, so the checks may run inside a stream capture). Nothing is
 * cached: memory can be freed and allocated again at the same address as another kind, which
 * a cache cannot see. A range whose two ends are in different allocations of the right kind
 * passes: the check guards against the usual mistakes (pageable memory where the GPU needs
 * pinned, device memory where the CPU copies), not against every composed range.
 */
#ifndef FSD_MEMKIND_H
#define FSD_MEMKIND_H

#include <stddef.h>

#include "fastserde.h"

typedef enum fsd_memkind {
    FSD_MEM_PAGEABLE = 0, /* host memory the runtime does not know: malloc, stack, mmap    */
    FSD_MEM_PINNED,       /* page-locked host memory: cudaHostAlloc, cudaHostRegister       */
    FSD_MEM_DEVICE,       /* memory of one device: cudaMalloc, cudaMallocAsync (pools)      */
    FSD_MEM_MANAGED       /* cudaMallocManaged                                              */
} fsd_memkind;

typedef struct fsd_mem {
    fsd_memkind kind;
    int device; /* FSD_MEM_DEVICE: the device it belongs to; else -1 */
} fsd_mem;

/* The kind of the memory at p (NULL: pageable). Without a usable runtime (no GPU, no driver)
 * every pointer is pageable and cudaSuccess is returned; another failure of the query is
 * returned (the thread's last error forgotten, fsd_cuda_forget). */
cudaError_t fsd_memkind_of(const void *p, fsd_mem *out);

/* The kinds of the first and the last byte of [p, p + n) (n = 0: both the kind of p). */
cudaError_t fsd_memkind_of_range(const void *p, size_t n, fsd_mem *first, fsd_mem *last);

/* 1 when both ends are the same kind (and, for device memory, the same device). */
int fsd_mem_same(fsd_mem a, fsd_mem b);

/*
 * FSD_SUCCESS when GPU `device` can read and write every byte of [p, p + n) (n = 0: always):
 * device memory of `device`, managed memory, pinned host memory, or pageable memory on a
 * device that reports cudaDevAttrPageableMemoryAccess (HMM / ATS systems), both ends of the
 * same kind. Device memory of another GPU is refused (fastserde does not rely on peer
 * access). Else
 * FSD_ERROR_INVALID_ARGUMENT, the message naming `what` and the kind found; FSD_ERROR_NO_GPU
 * or FSD_ERROR_CUDA when the runtime cannot answer.
 */
fsd_status fsd_check_gpu_access(const void *p, size_t n, int device, const char *what);

/* FSD_SUCCESS when the CPU can read and write every byte of [p, p + n): anything but device
 * memory (n = 0: always). Else FSD_ERROR_INVALID_ARGUMENT naming `what`. */
fsd_status fsd_check_host_access(const void *p, size_t n, const char *what);

#endif
