/*
 * error.h — the calling thread's detailed message, and the one way library code fails:
 *     return fsd_fail(FSD_ERROR_..., "what was wrong: %d", value);
 * Library code never prints; callers read the message with fsd_last_error().
 */
#ifndef FSD_ERROR_H
#define FSD_ERROR_H

#include "fastserde.h"

#if defined(__GNUC__)
#define FSD_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define FSD_PRINTF(f, a)
#endif

/* Sets this thread's message and returns `s`. */
fsd_status fsd_fail(fsd_status s, const char *fmt, ...) FSD_PRINTF(2, 3);
/* Clears this thread's message (called when a public call succeeds). */
void fsd_clear_error(void);

/* A failed CUDA runtime call as a status: FSD_ERROR_NO_GPU, FSD_ERROR_OUT_OF_MEMORY or
 * FSD_ERROR_CUDA, with the call named in the message; the runtime's last error is forgotten
 * as fsd_cuda_forget does. */
fsd_status fsd_cuda_failure(cudaError_t e, const char *call);

/*
 * Errors belong to their call: a runtime call of fastserde that failed with `e` left `e` as the
 * calling thread's last error (cudaGetLastError), where the caller's code would find it and
 * take it for its own. This clears it, but only when the last error is `e`: an error the
 * caller's code left pending is not fastserde's to clear. (CUDA keeps one last error per
 * thread; a failing call replaces the one before, so after a failure of fastserde the caller's
 * earlier error is gone either way.) Never call cudaGetLastError or cudaPeekAtLastError to
 * learn whether fastserde's own call failed: use the call's return value.
 */
void fsd_cuda_forget(cudaError_t e);

#endif
