/* test_model_kernels.h — test kernels with known access patterns (test_model_kernels.cu). */
#ifndef FSDMT_MODEL_KERNELS_H
#define FSDMT_MODEL_KERNELS_H

#include "access_model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One warp transposes a 32 x 32 fp32 tile through shared memory rows of `pitch` floats:
 * stores down the columns, loads along the rows. 0 when the result is the transpose. */
int fsdmt_tile32(uint32_t pitch, fsdm_report *r);

#ifdef __cplusplus
}
#endif

#endif
