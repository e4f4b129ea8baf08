/*
 * fsdt_cuda_ok.h — CUDA_OK(call): fails the cmocka test, naming the call and the runtime's
 * message, when a CUDA runtime call does not return cudaSuccess; fsdt_gpu_present(): 1 when
 * the runtime reports a usable GPU. Include after <cmocka.h> and the CUDA runtime header.
 */
#ifndef FSDT_CUDA_OK_H
#define FSDT_CUDA_OK_H

#define CUDA_OK(call)                                                                     \
    do {                                                                                  \
        cudaError_t e_ = (call);                                                          \
        if (e_ != cudaSuccess)                                                            \
            fail_msg("%s: %s", #call, cudaGetErrorString(e_));                            \
    } while (0)

static inline int fsdt_gpu_present(void)
{
    int count = 0;
    return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

#endif
