/*
 * fsdt_cuda_ok.h — CUDA_OK(call): fails the cmocka test, naming the call and the runtime's
 * message, when a CUDA runtime call does not return cudaSuccess. Include after <cmocka.h> and
 * the CUDA runtime header.
 */
#ifndef FSDT_CUDA_OK_H
#define FSDT_CUDA_OK_H

#define CUDA_OK(call)                                                                     \
    do {                                                                                  \
        cudaError_t e_ = (call);                                                          \
        if (e_ != cudaSuccess)                                                            \
            fail_msg("%s: %s", #call, cudaGetErrorString(e_));                            \
    } while (0)

#endif
