/*
 * fsd_cases_internal.h — shared by the files of the case generator only (fsd_cases.c and
 * fsd_cases_*.c); tests use fsd_cases.h.
 *
 * A builder is a view over a contiguous base tensor, in elements, changed step by step the way
 * real tensors are (fsd_cases_builder.c); each layout family is a recipe of such steps
 * (fsd_cases_families.c); fsd_cases.c draws the family and the dtype and turns the builder into
 * a case. All draws come from one fsdt_rng per case, so the order of the calls is the case.
 */
#ifndef FSD_CASES_INTERNAL_H
#define FSD_CASES_INTERNAL_H

#include "fsd_cases.h"

/* Bytes of a typical base tensor, and of the rare large ones. */
#define FSDT_BUDGET_SMALL ((int64_t)64 * 1024)
#define FSDT_BUDGET_LARGE ((int64_t)1024 * 1024)

typedef struct fsdt_builder {
    fsdt_rng *r;
    int ndim;
    int64_t shape[FSDT_MAX_DIMS];
    int64_t stride[FSDT_MAX_DIMS];
    int64_t offset;      /* elements from the base start to element [0, ..., 0]   */
    int64_t base_elems;  /* elements of the base tensor (RAW: the span it needs)  */
    int compact_ok;      /* 0: never hand out NULL strides (RAW)                   */
} fsdt_builder;

/* 1 with probability num/den. */
static inline int fsdt_chance(fsdt_rng *r, int num, int den)
{
    return fsdt_rng_range(r, 0, den - 1) < num;
}

static inline int64_t fsdt_product(const int64_t *v, int n)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        p *= v[i];
    return p;
}

/* Builder steps (fsd_cases_builder.c). */
void fsdt_b_base(fsdt_builder *b, int n, const int64_t *shape);
void fsdt_b_slice(fsdt_builder *b, int d, int64_t start, int64_t step, int64_t len);
void fsdt_b_random_slice(fsdt_builder *b, int d, int max_step);
void fsdt_b_flip(fsdt_builder *b, int d);
void fsdt_b_permute(fsdt_builder *b, const int *perm);
void fsdt_b_random_permute(fsdt_builder *b);
void fsdt_b_expand(fsdt_builder *b, int d, int64_t n);
void fsdt_b_unsqueeze(fsdt_builder *b, int d);
int64_t fsdt_garbage_stride(fsdt_rng *r);
void fsdt_fit_shape(int64_t *shape, int n, int64_t max_elems);
void fsdt_random_base(fsdt_builder *b, int n, int64_t max_elems);

/* Layout families (fsd_cases_families.c); `es` is the element size in bytes. */
void fsdt_gen_random(fsdt_builder *b, size_t es, int allow_expand);
void fsdt_gen_contig(fsdt_builder *b, size_t es);
void fsdt_gen_kv(fsdt_builder *b, size_t es);
void fsdt_gen_transpose(fsdt_builder *b, size_t es);
void fsdt_gen_high_rank(fsdt_builder *b, size_t es);
void fsdt_gen_raw(fsdt_builder *b);
void fsdt_gen_large(fsdt_builder *b, size_t es);
void fsdt_gen_empty(fsdt_builder *b, size_t es);

/* Fills c->desc from the finished case (fsd_cases_describe.c). */
void fsdt_case_describe(fsdt_case *c);

#endif
