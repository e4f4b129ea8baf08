/*
 * fsd_cases_builder.c — the steps of the case generator (fsd_cases_internal.h): a contiguous
 * base tensor, then slices with steps, flips (negative strides), permutes, expands (zero
 * strides) and unsqueezes (size-1 dims with garbage strides), all in elements; and the random
 * shapes the families start from.
 */
#include "fsd_cases_internal.h"

#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* Steps on a view over a contiguous base tensor.                                             */

/* Base tensor of `n` dims with the given shape, contiguous row-major. */
void fsdt_b_base(fsdt_builder *b, int n, const int64_t *shape)
{
    b->ndim = n;
    int64_t s = 1;
    for (int i = n - 1; i >= 0; i--) {
        b->shape[i] = shape[i];
        b->stride[i] = s;
        s *= shape[i];
    }
    b->offset = 0;
    b->base_elems = s;
    b->compact_ok = 1;
}

/* view[d] = view[d][start : start + len * step : step]; needs start + (len-1)*step < shape. */
void fsdt_b_slice(fsdt_builder *b, int d, int64_t start, int64_t step, int64_t len)
{
    b->offset += start * b->stride[d];
    b->stride[d] *= step;
    b->shape[d] = len;
}

/* A random slice of dim d: random start and step, at least one element left. */
void fsdt_b_random_slice(fsdt_builder *b, int d, int max_step)
{
    int64_t n = b->shape[d];
    if (n <= 1)
        return;
    int64_t step = fsdt_rng_range(b->r, 1, max_step);
    int64_t start = fsdt_rng_range(b->r, 0, n - 1);
    int64_t max_len = (n - start + step - 1) / step;
    fsdt_b_slice(b, d, start, step, fsdt_rng_range(b->r, 1, max_len));
}

void fsdt_b_flip(fsdt_builder *b, int d)
{
    if (b->shape[d] == 0)
        return;
    b->offset += (b->shape[d] - 1) * b->stride[d];
    b->stride[d] = -b->stride[d];
}

/* new dim i = old dim perm[i]. */
void fsdt_b_permute(fsdt_builder *b, const int *perm)
{
    int64_t sh[FSDT_MAX_DIMS], st[FSDT_MAX_DIMS];
    for (int i = 0; i < b->ndim; i++) {
        sh[i] = b->shape[perm[i]];
        st[i] = b->stride[perm[i]];
    }
    memcpy(b->shape, sh, sizeof sh);
    memcpy(b->stride, st, sizeof st);
}

void fsdt_b_random_permute(fsdt_builder *b)
{
    int perm[FSDT_MAX_DIMS];
    for (int i = 0; i < b->ndim; i++)
        perm[i] = i;
    for (int i = b->ndim - 1; i > 0; i--) {
        int j = (int)fsdt_rng_range(b->r, 0, i);
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    fsdt_b_permute(b, perm);
}

/* Broadcast dim d: pick one index of it, then repeat it `n` times with stride 0. */
void fsdt_b_expand(fsdt_builder *b, int d, int64_t n)
{
    if (b->shape[d] == 0)
        return;
    fsdt_b_slice(b, d, fsdt_rng_range(b->r, 0, b->shape[d] - 1), 1, 1);
    b->shape[d] = n;
    b->stride[d] = 0;
}

/* A stride value for a size-1 dim, which the library must ignore. */
int64_t fsdt_garbage_stride(fsdt_rng *r)
{
    switch (fsdt_rng_range(r, 0, 5)) {
    case 0: return 0;
    case 1: return fsdt_rng_range(r, -1000, 1000);
    case 2: return fsdt_rng_range(r, -((int64_t)1 << 40), (int64_t)1 << 40);
    case 3: return INT64_MAX;
    case 4: return INT64_MIN;
    default: return fsdt_rng_range(r, 1, 7) * 1000003;
    }
}

/* Insert a size-1 dim at position d with a garbage stride. */
void fsdt_b_unsqueeze(fsdt_builder *b, int d)
{
    if (b->ndim >= FSDT_MAX_DIMS)
        return;
    for (int i = b->ndim; i > d; i--) {
        b->shape[i] = b->shape[i - 1];
        b->stride[i] = b->stride[i - 1];
    }
    b->shape[d] = 1;
    b->stride[d] = fsdt_garbage_stride(b->r);
    b->ndim++;
}

/* ------------------------------------------------------------------------------------------ */
/* Shapes.                                                                                     */

/* A dimension size, mostly small. */
static int64_t random_dim(fsdt_rng *r)
{
    int64_t p = fsdt_rng_range(r, 0, 99);
    if (p < 8)
        return 1;
    if (p < 62)
        return fsdt_rng_range(r, 2, 4);
    if (p < 88)
        return fsdt_rng_range(r, 5, 16);
    return fsdt_rng_range(r, 17, 65);
}

/* Halves the largest dims until the product fits in max_elems (dims stay >= 1). */
void fsdt_fit_shape(int64_t *shape, int n, int64_t max_elems)
{
    while (fsdt_product(shape, n) > max_elems) {
        int big = 0;
        for (int i = 1; i < n; i++)
            if (shape[i] > shape[big])
                big = i;
        shape[big] = (shape[big] + 1) / 2;
    }
}

void fsdt_random_base(fsdt_builder *b, int n, int64_t max_elems)
{
    int64_t shape[FSDT_MAX_DIMS];
    for (int i = 0; i < n; i++)
        shape[i] = random_dim(b->r);
    fsdt_fit_shape(shape, n, max_elems);
    fsdt_b_base(b, n, shape);
}
