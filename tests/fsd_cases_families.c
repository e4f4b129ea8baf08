/*
 * fsd_cases_families.c — the layout families of fsd_cases.h, each a recipe of builder steps
 * (fsd_cases_builder.c). Only RAW draws strides directly. Nothing here calls the library.
 */
#include "fsd_cases_internal.h"

void fsdt_gen_random(fsdt_builder *b, size_t es, int allow_expand)
{
    fsdt_rng *r = b->r;
    int n = (int)fsdt_rng_range(r, 1, FSDT_MAX_DIMS);
    fsdt_random_base(b, n, FSDT_BUDGET_SMALL / (int64_t)es);
    for (int d = 0; d < n; d++)
        if (fsdt_chance(r, 2, 5))
            fsdt_b_random_slice(b, d, fsdt_chance(r, 1, 2) ? 1 : 3);
    for (int d = 0; d < n; d++)
        if (fsdt_chance(r, 1, 5))
            fsdt_b_flip(b, d);
    if (fsdt_chance(r, 2, 5))
        fsdt_b_random_permute(b);
    if (allow_expand && fsdt_chance(r, 1, 6)) {
        int d = (int)fsdt_rng_range(r, 0, n - 1);
        fsdt_b_expand(b, d, fsdt_rng_range(r, 2, 6));
    }
    if (fsdt_chance(r, 1, 5))
        fsdt_b_unsqueeze(b, (int)fsdt_rng_range(r, 0, b->ndim));
    if (allow_expand && fsdt_chance(r, 1, 10) && b->ndim < FSDT_MAX_DIMS) {
        fsdt_b_unsqueeze(b, (int)fsdt_rng_range(r, 0, b->ndim));
        for (int d = 0; d < b->ndim; d++)
            if (b->shape[d] == 1 && fsdt_chance(r, 1, 2)) {
                b->shape[d] = fsdt_rng_range(r, 2, 5); /* expand a new axis */
                b->stride[d] = 0;
                break;
            }
    }
}

void fsdt_gen_contig(fsdt_builder *b, size_t es)
{
    fsdt_random_base(b, (int)fsdt_rng_range(b->r, 1, FSDT_MAX_DIMS),
                     FSDT_BUDGET_SMALL / (int64_t)es);
}

/* KV-cache views at small scale: [L, T, H, D]. */
void fsdt_gen_kv(fsdt_builder *b, size_t es)
{
    fsdt_rng *r = b->r;
    static const int64_t head_dims[] = {1, 2, 3, 8, 16, 32, 64};
    int64_t L = fsdt_rng_range(r, 1, 2), T = fsdt_rng_range(r, 2, 40),
            H = fsdt_rng_range(r, 1, 8), D = head_dims[fsdt_rng_range(r, 0, 6)];
    int64_t shape[5] = {L, T, H, D};
    fsdt_fit_shape(shape, 4, FSDT_BUDGET_SMALL / (int64_t)es);
    fsdt_b_base(b, 4, shape);
    T = b->shape[1];
    H = b->shape[2];
    static const int to_lhtd[4] = {0, 2, 1, 3}, to_ltdh[4] = {0, 1, 3, 2};
    switch (fsdt_rng_range(r, 0, 6)) {
    case 0: break; /* contiguous */
    case 1: fsdt_b_random_slice(b, 1, 1); break; /* token slice of a larger cache */
    case 2: /* every other head */
        if (H > 1) {
            int64_t start = fsdt_rng_range(r, 0, 1);
            fsdt_b_slice(b, 2, start, 2, (H - start + 1) / 2);
        }
        break;
    case 3: fsdt_b_permute(b, to_lhtd); break;
    case 4: fsdt_b_permute(b, to_ltdh); break;
    case 5: fsdt_b_random_slice(b, 1, 1); fsdt_b_permute(b, to_lhtd); break;
    default: /* one layer of a [L, 2, T, H, D] cache, token slice */
        shape[0] = 2; shape[1] = 2; shape[2] = T; shape[3] = H; shape[4] = b->shape[3];
        fsdt_fit_shape(shape, 5, FSDT_BUDGET_SMALL / (int64_t)es);
        fsdt_b_base(b, 5, shape);
        fsdt_b_slice(b, 0, fsdt_rng_range(r, 0, 1), 1, 1);
        fsdt_b_random_slice(b, 2, 1);
        break;
    }
}

/* Innermost stride != 1 while another dim has stride 1. */
void fsdt_gen_transpose(fsdt_builder *b, size_t es)
{
    fsdt_rng *r = b->r;
    int n = (int)fsdt_rng_range(r, 2, 4);
    int64_t shape[FSDT_MAX_DIMS];
    for (int i = 0; i < n; i++)
        shape[i] = i < n - 2 ? fsdt_rng_range(r, 1, 4) : fsdt_rng_range(r, 2, 65);
    fsdt_fit_shape(shape, n, FSDT_BUDGET_SMALL / (int64_t)es);
    fsdt_b_base(b, n, shape);
    /* slices that keep the stride-1 dim's step at 1 */
    for (int d = 0; d < n; d++)
        if (fsdt_chance(r, 1, 3))
            fsdt_b_random_slice(b, d, d == n - 1 ? 1 : 2);
    if (fsdt_chance(r, 1, 4))
        fsdt_b_flip(b, (int)fsdt_rng_range(r, 0, n - 2));
    int perm[FSDT_MAX_DIMS];
    for (int i = 0; i < n; i++)
        perm[i] = i;
    int k = (int)fsdt_rng_range(r, 0, n - 2); /* the stride-1 dim moves to position k */
    for (int i = n - 1; i > k; i--)
        perm[i] = perm[i - 1];
    perm[k] = n - 1;
    fsdt_b_permute(b, perm);
}

/* 5..8 dims that do not merge: partial lengths and/or steps on every dim. */
void fsdt_gen_high_rank(fsdt_builder *b, size_t es)
{
    fsdt_rng *r = b->r;
    int n = (int)fsdt_rng_range(r, 5, FSDT_MAX_DIMS);
    int64_t shape[FSDT_MAX_DIMS];
    while (n > 5 &&
           fsdt_product((int64_t[]){3, 3, 3, 3, 3, 3, 3, 3}, n) * (int64_t)es > FSDT_BUDGET_SMALL)
        n--;
    for (int i = 0; i < n; i++)
        shape[i] = fsdt_rng_range(r, 3, 4);
    fsdt_fit_shape(shape, n, FSDT_BUDGET_SMALL / (int64_t)es);
    fsdt_b_base(b, n, shape);
    int strided_inner = fsdt_chance(r, 1, 3); /* no dim of stride 1 at all */
    for (int d = 0; d < n; d++) {
        if (b->shape[d] < 3)
            continue;
        if (d == n - 1 && strided_inner)
            fsdt_b_slice(b, d, 0, 2, 2);
        else
            fsdt_b_slice(b, d, fsdt_rng_range(r, 0, 1), 1, 2);
    }
    if (fsdt_chance(r, 1, 3))
        fsdt_b_random_permute(b);
    if (fsdt_chance(r, 1, 4))
        fsdt_b_flip(b, (int)fsdt_rng_range(r, 0, n - 1));
}

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b != 0) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Strides drawn directly: may overlap, may fail to nest without overlapping. */
void fsdt_gen_raw(fsdt_builder *b)
{
    fsdt_rng *r = b->r;
    if (fsdt_chance(r, 1, 2)) {
        /* shape [a, c], strides [c, a], gcd 1: disjoint elements that do not nest */
        int64_t a, c;
        do {
            a = fsdt_rng_range(r, 2, 9);
            c = fsdt_rng_range(r, 2, 9);
        } while (gcd64(a, c) != 1);
        b->ndim = 2;
        b->shape[0] = a; b->stride[0] = c;
        b->shape[1] = c; b->stride[1] = a;
        if (fsdt_chance(r, 1, 2))
            b->stride[fsdt_rng_range(r, 0, 1)] *= -1;
    } else {
        b->ndim = (int)fsdt_rng_range(r, 1, 4);
        for (int i = 0; i < b->ndim; i++) {
            b->shape[i] = fsdt_rng_range(r, 1, 8);
            b->stride[i] = fsdt_rng_range(r, -12, 12);
        }
    }
    /* storage spans the lowest to the highest element */
    int64_t lo = 0, hi = 0;
    for (int i = 0; i < b->ndim; i++) {
        int64_t e = (b->shape[i] - 1) * b->stride[i];
        if (e < 0)
            lo += e;
        else
            hi += e;
    }
    b->offset = -lo;
    b->base_elems = hi - lo + 1;
    b->compact_ok = 0;
}

void fsdt_gen_large(fsdt_builder *b, size_t es)
{
    fsdt_rng *r = b->r;
    int64_t max = FSDT_BUDGET_LARGE / (int64_t)es;
    if (fsdt_chance(r, 1, 2)) {
        int64_t n = fsdt_rng_range(r, max / 4, max);
        fsdt_b_base(b, 1, &n);
        if (fsdt_chance(r, 1, 2))
            fsdt_b_slice(b, 0, fsdt_rng_range(r, 0, 7), fsdt_rng_range(r, 1, 2), n / 2 - 8);
        if (fsdt_chance(r, 1, 3))
            fsdt_b_flip(b, 0);
    } else {
        int64_t shape[2] = {fsdt_rng_range(r, 2, 1024), 0};
        shape[1] = max / shape[0];
        fsdt_b_base(b, 2, shape);
        if (fsdt_chance(r, 1, 2))
            fsdt_b_random_slice(b, 1, 1);
        if (fsdt_chance(r, 1, 2)) {
            static const int tr[2] = {1, 0};
            fsdt_b_permute(b, tr);
        }
    }
}

void fsdt_gen_empty(fsdt_builder *b, size_t es)
{
    fsdt_gen_random(b, es, 0);
    b->shape[fsdt_rng_range(b->r, 0, b->ndim - 1)] = 0;
}
