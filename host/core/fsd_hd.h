/* fsd_hd.h — FSD_HD marks code compiled for both the host and the device (CUDA step functions
 * and the helpers they share with host/); in plain C it expands to nothing. */
#ifndef FSD_HD_H
#define FSD_HD_H

#if defined(__CUDACC__)
#define FSD_HD __host__ __device__ __forceinline__
#else
#define FSD_HD static inline
#endif

#endif
