/*
 * fsd_cases.c — the random layout generator of fsd_cases.h (the reference and the overlap
 * predicates are in fsd_reference.c).
 *
 * Every view is built the way real tensors are: a contiguous base tensor inside a storage
 * (with a few padding bytes before and after it), then slices with steps, flips (negative
 * strides), permutes, expands (zero strides) and unsqueezes (size-1 dims with garbage strides).
 * Only RAW draws strides directly. Nothing here calls the library.
 */
#include "fsd_cases.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Bytes of a typical base tensor, and of the rare large ones. */
#define BUDGET_SMALL ((int64_t)64 * 1024)
#define BUDGET_LARGE ((int64_t)1024 * 1024)

/* ------------------------------------------------------------------------------------------ */
/* PRNG: splitmix64.                                                                           */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void fsdt_rng_init(fsdt_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t s = seed;
    uint64_t a = splitmix64(&s);
    s = stream ^ 0xD1B54A32D192ED03ull;
    r->s = a ^ splitmix64(&s);
}

uint64_t fsdt_rng_next(fsdt_rng *r) { return splitmix64(&r->s); }

int64_t fsdt_rng_range(fsdt_rng *r, int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1u; /* 0 means the full 64-bit range */
    uint64_t x = fsdt_rng_next(r);
    return span == 0 ? (int64_t)x : (int64_t)((uint64_t)lo + x % span);
}

void fsdt_rng_fill(fsdt_rng *r, unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(fsdt_rng_next(r) >> 56);
}

/* 1 with probability num/den. */
static int chance(fsdt_rng *r, int num, int den) { return fsdt_rng_range(r, 0, den - 1) < num; }

/* ------------------------------------------------------------------------------------------ */
/* Seed and environment.                                                                       */

long fsdt_env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0')
        return dflt;
    char *end = NULL;
    long x = strtol(v, &end, 0);
    return (end == NULL || *end != '\0' || x < 0) ? dflt : x;
}

uint64_t fsdt_seed(void)
{
    static int done;
    static uint64_t seed;
    if (!done) {
        const char *v = getenv("FSD_TEST_SEED");
        if (v != NULL && *v != '\0') {
            seed = strtoull(v, NULL, 0);
        } else {
            struct timespec ts;
            timespec_get(&ts, TIME_UTC);
            uint64_t s = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec;
            seed = splitmix64(&s) >> 1; /* keep it printable as a positive decimal */
        }
        printf("seed: %" PRIu64 " (replay with FSD_TEST_SEED=%" PRIu64 ")\n", seed, seed);
        fflush(stdout);
        done = 1;
    }
    return seed;
}

/* ------------------------------------------------------------------------------------------ */
/* Element types: every element size of the issue, with varied code / bits / lanes.           */

typedef struct dtype_choice {
    uint8_t code, bits;
    uint16_t lanes;
} dtype_choice;

static const dtype_choice k_dtypes[] = {
    /* 1 B */ {kDLUInt, 8, 1}, {kDLInt, 8, 1}, {6 /* kDLBool in DLPack 1.x */, 8, 1},
    /* 2 B */ {kDLFloat, 16, 1}, {kDLBfloat, 16, 1}, {kDLInt, 8, 2},
    /* 3 B */ {kDLUInt, 8, 3}, {kDLInt, 24, 1},
    /* 4 B */ {kDLFloat, 32, 1}, {kDLInt, 16, 2}, {kDLUInt, 8, 4},
    /* 6 B */ {kDLInt, 16, 3}, {kDLUInt, 48, 1}, {kDLFloat, 16, 3},
    /* 8 B */ {kDLFloat, 64, 1}, {kDLComplex, 64, 1}, {kDLFloat, 32, 2},
    /* 12 B */ {kDLFloat, 32, 3}, {kDLInt, 96, 1}, {kDLUInt, 16, 6},
    /* 16 B */ {kDLComplex, 128, 1}, {kDLFloat, 32, 4}, {kDLUInt, 128, 1}, {kDLInt, 64, 2},
};
#define NUM_DTYPES (sizeof k_dtypes / sizeof k_dtypes[0])

static DLDataType make_dtype(dtype_choice d)
{
    DLDataType t;
    t.code = d.code;
    t.bits = d.bits;
    t.lanes = d.lanes;
    return t;
}

static size_t dtype_size(DLDataType t) { return (size_t)t.bits / 8u * t.lanes; }

static DLDataType random_dtype(fsdt_rng *r)
{
    return make_dtype(k_dtypes[fsdt_rng_range(r, 0, NUM_DTYPES - 1)]);
}

/* A random dtype of exactly `size` bytes (size must be in the table). */
static DLDataType dtype_of_size(fsdt_rng *r, size_t size)
{
    for (;;) {
        DLDataType t = random_dtype(r);
        if (dtype_size(t) == size)
            return t;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* The builder: a view over a contiguous base tensor, in elements.                            */

typedef struct builder {
    fsdt_rng *r;
    int ndim;
    int64_t shape[FSDT_MAX_DIMS];
    int64_t stride[FSDT_MAX_DIMS];
    int64_t offset;      /* elements from the base start to element [0, ..., 0]   */
    int64_t base_elems;  /* elements of the base tensor (RAW: the span it needs)  */
    int compact_ok;      /* 0: never hand out NULL strides (RAW)                   */
} builder;

static int64_t product(const int64_t *v, int n)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        p *= v[i];
    return p;
}

/* Base tensor of `n` dims with the given shape, contiguous row-major. */
static void b_base(builder *b, int n, const int64_t *shape)
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
static void b_slice(builder *b, int d, int64_t start, int64_t step, int64_t len)
{
    b->offset += start * b->stride[d];
    b->stride[d] *= step;
    b->shape[d] = len;
}

/* A random slice of dim d: random start and step, at least one element left. */
static void b_random_slice(builder *b, int d, int max_step)
{
    int64_t n = b->shape[d];
    if (n <= 1)
        return;
    int64_t step = fsdt_rng_range(b->r, 1, max_step);
    int64_t start = fsdt_rng_range(b->r, 0, n - 1);
    int64_t max_len = (n - start + step - 1) / step;
    b_slice(b, d, start, step, fsdt_rng_range(b->r, 1, max_len));
}

static void b_flip(builder *b, int d)
{
    if (b->shape[d] == 0)
        return;
    b->offset += (b->shape[d] - 1) * b->stride[d];
    b->stride[d] = -b->stride[d];
}

/* new dim i = old dim perm[i]. */
static void b_permute(builder *b, const int *perm)
{
    int64_t sh[FSDT_MAX_DIMS], st[FSDT_MAX_DIMS];
    for (int i = 0; i < b->ndim; i++) {
        sh[i] = b->shape[perm[i]];
        st[i] = b->stride[perm[i]];
    }
    memcpy(b->shape, sh, sizeof sh);
    memcpy(b->stride, st, sizeof st);
}

static void b_random_permute(builder *b)
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
    b_permute(b, perm);
}

/* Broadcast dim d: pick one index of it, then repeat it `n` times with stride 0. */
static void b_expand(builder *b, int d, int64_t n)
{
    if (b->shape[d] == 0)
        return;
    b_slice(b, d, fsdt_rng_range(b->r, 0, b->shape[d] - 1), 1, 1);
    b->shape[d] = n;
    b->stride[d] = 0;
}

/* A stride value for a size-1 dim, which the library must ignore. */
static int64_t garbage_stride(fsdt_rng *r)
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
static void b_unsqueeze(builder *b, int d)
{
    if (b->ndim >= FSDT_MAX_DIMS)
        return;
    for (int i = b->ndim; i > d; i--) {
        b->shape[i] = b->shape[i - 1];
        b->stride[i] = b->stride[i - 1];
    }
    b->shape[d] = 1;
    b->stride[d] = garbage_stride(b->r);
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
static void fit_shape(int64_t *shape, int n, int64_t max_elems)
{
    while (product(shape, n) > max_elems) {
        int big = 0;
        for (int i = 1; i < n; i++)
            if (shape[i] > shape[big])
                big = i;
        shape[big] = (shape[big] + 1) / 2;
    }
}

static void random_base(builder *b, int n, int64_t max_elems)
{
    int64_t shape[FSDT_MAX_DIMS];
    for (int i = 0; i < n; i++)
        shape[i] = random_dim(b->r);
    fit_shape(shape, n, max_elems);
    b_base(b, n, shape);
}

/* ------------------------------------------------------------------------------------------ */
/* Families.                                                                                   */

static void gen_random(builder *b, size_t es, int allow_expand)
{
    fsdt_rng *r = b->r;
    int n = (int)fsdt_rng_range(r, 1, FSDT_MAX_DIMS);
    random_base(b, n, BUDGET_SMALL / (int64_t)es);
    for (int d = 0; d < n; d++)
        if (chance(r, 2, 5))
            b_random_slice(b, d, chance(r, 1, 2) ? 1 : 3);
    for (int d = 0; d < n; d++)
        if (chance(r, 1, 5))
            b_flip(b, d);
    if (chance(r, 2, 5))
        b_random_permute(b);
    if (allow_expand && chance(r, 1, 6)) {
        int d = (int)fsdt_rng_range(r, 0, n - 1);
        b_expand(b, d, fsdt_rng_range(r, 2, 6));
    }
    if (chance(r, 1, 5))
        b_unsqueeze(b, (int)fsdt_rng_range(r, 0, b->ndim));
    if (allow_expand && chance(r, 1, 10) && b->ndim < FSDT_MAX_DIMS) {
        b_unsqueeze(b, (int)fsdt_rng_range(r, 0, b->ndim));
        for (int d = 0; d < b->ndim; d++)
            if (b->shape[d] == 1 && chance(r, 1, 2)) {
                b->shape[d] = fsdt_rng_range(r, 2, 5); /* expand a new axis */
                b->stride[d] = 0;
                break;
            }
    }
}

static void gen_contig(builder *b, size_t es)
{
    random_base(b, (int)fsdt_rng_range(b->r, 1, FSDT_MAX_DIMS), BUDGET_SMALL / (int64_t)es);
}

/* KV-cache views at small scale: [L, T, H, D]. */
static void gen_kv(builder *b, size_t es)
{
    fsdt_rng *r = b->r;
    static const int64_t head_dims[] = {1, 2, 3, 8, 16, 32, 64};
    int64_t L = fsdt_rng_range(r, 1, 2), T = fsdt_rng_range(r, 2, 40),
            H = fsdt_rng_range(r, 1, 8), D = head_dims[fsdt_rng_range(r, 0, 6)];
    int64_t shape[5] = {L, T, H, D};
    fit_shape(shape, 4, BUDGET_SMALL / (int64_t)es);
    b_base(b, 4, shape);
    T = b->shape[1];
    H = b->shape[2];
    static const int to_lhtd[4] = {0, 2, 1, 3}, to_ltdh[4] = {0, 1, 3, 2};
    switch (fsdt_rng_range(r, 0, 6)) {
    case 0: break; /* contiguous */
    case 1: b_random_slice(b, 1, 1); break; /* token slice of a larger cache */
    case 2: /* every other head */
        if (H > 1) {
            int64_t start = fsdt_rng_range(r, 0, 1);
            b_slice(b, 2, start, 2, (H - start + 1) / 2);
        }
        break;
    case 3: b_permute(b, to_lhtd); break;
    case 4: b_permute(b, to_ltdh); break;
    case 5: b_random_slice(b, 1, 1); b_permute(b, to_lhtd); break;
    default: /* one layer of a [L, 2, T, H, D] cache, token slice */
        shape[0] = 2; shape[1] = 2; shape[2] = T; shape[3] = H; shape[4] = b->shape[3];
        fit_shape(shape, 5, BUDGET_SMALL / (int64_t)es);
        b_base(b, 5, shape);
        b_slice(b, 0, fsdt_rng_range(r, 0, 1), 1, 1);
        b_random_slice(b, 2, 1);
        break;
    }
}

/* Innermost stride != 1 while another dim has stride 1. */
static void gen_transpose(builder *b, size_t es)
{
    fsdt_rng *r = b->r;
    int n = (int)fsdt_rng_range(r, 2, 4);
    int64_t shape[FSDT_MAX_DIMS];
    for (int i = 0; i < n; i++)
        shape[i] = i < n - 2 ? fsdt_rng_range(r, 1, 4) : fsdt_rng_range(r, 2, 65);
    fit_shape(shape, n, BUDGET_SMALL / (int64_t)es);
    b_base(b, n, shape);
    /* slices that keep the stride-1 dim's step at 1 */
    for (int d = 0; d < n; d++)
        if (chance(r, 1, 3))
            b_random_slice(b, d, d == n - 1 ? 1 : 2);
    if (chance(r, 1, 4))
        b_flip(b, (int)fsdt_rng_range(r, 0, n - 2));
    int perm[FSDT_MAX_DIMS];
    for (int i = 0; i < n; i++)
        perm[i] = i;
    int k = (int)fsdt_rng_range(r, 0, n - 2); /* the stride-1 dim moves to position k */
    for (int i = n - 1; i > k; i--)
        perm[i] = perm[i - 1];
    perm[k] = n - 1;
    b_permute(b, perm);
}

/* 5..8 dims that do not merge: partial lengths and/or steps on every dim. */
static void gen_high_rank(builder *b, size_t es)
{
    fsdt_rng *r = b->r;
    int n = (int)fsdt_rng_range(r, 5, FSDT_MAX_DIMS);
    int64_t shape[FSDT_MAX_DIMS];
    while (n > 5 && product((int64_t[]){3, 3, 3, 3, 3, 3, 3, 3}, n) * (int64_t)es > BUDGET_SMALL)
        n--;
    for (int i = 0; i < n; i++)
        shape[i] = fsdt_rng_range(r, 3, 4);
    fit_shape(shape, n, BUDGET_SMALL / (int64_t)es);
    b_base(b, n, shape);
    int strided_inner = chance(r, 1, 3); /* no dim of stride 1 at all */
    for (int d = 0; d < n; d++) {
        if (b->shape[d] < 3)
            continue;
        if (d == n - 1 && strided_inner)
            b_slice(b, d, 0, 2, 2);
        else
            b_slice(b, d, fsdt_rng_range(r, 0, 1), 1, 2);
    }
    if (chance(r, 1, 3))
        b_random_permute(b);
    if (chance(r, 1, 4))
        b_flip(b, (int)fsdt_rng_range(r, 0, n - 1));
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
static void gen_raw(builder *b)
{
    fsdt_rng *r = b->r;
    if (chance(r, 1, 2)) {
        /* shape [a, c], strides [c, a], gcd 1: disjoint elements that do not nest */
        int64_t a, c;
        do {
            a = fsdt_rng_range(r, 2, 9);
            c = fsdt_rng_range(r, 2, 9);
        } while (gcd64(a, c) != 1);
        b->ndim = 2;
        b->shape[0] = a; b->stride[0] = c;
        b->shape[1] = c; b->stride[1] = a;
        if (chance(r, 1, 2))
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

static void gen_large(builder *b, size_t es)
{
    fsdt_rng *r = b->r;
    int64_t max = BUDGET_LARGE / (int64_t)es;
    if (chance(r, 1, 2)) {
        int64_t n = fsdt_rng_range(r, max / 4, max);
        b_base(b, 1, &n);
        if (chance(r, 1, 2))
            b_slice(b, 0, fsdt_rng_range(r, 0, 7), fsdt_rng_range(r, 1, 2), n / 2 - 8);
        if (chance(r, 1, 3))
            b_flip(b, 0);
    } else {
        int64_t shape[2] = {fsdt_rng_range(r, 2, 1024), 0};
        shape[1] = max / shape[0];
        b_base(b, 2, shape);
        if (chance(r, 1, 2))
            b_random_slice(b, 1, 1);
        if (chance(r, 1, 2)) {
            static const int tr[2] = {1, 0};
            b_permute(b, tr);
        }
    }
}

static void gen_empty(builder *b, size_t es)
{
    gen_random(b, es, 0);
    b->shape[fsdt_rng_range(b->r, 0, b->ndim - 1)] = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Assembly.                                                                                   */

const char *fsdt_kind_name(fsdt_kind kind)
{
    static const char *names[FSDT_KIND_COUNT] = {"random", "contig", "kv", "transpose",
                                                 "high_rank", "raw", "large", "scalar", "empty"};
    return (kind >= 0 && kind < FSDT_KIND_COUNT) ? names[kind] : "?";
}

/* Fixed mix of families over index % 50, so that any 50 consecutive cases cover them all. */
static fsdt_kind kind_of_index(int index)
{
    static const unsigned char mix[50] = {
        0, 3, 2, 0, 5, 4, 0, 1, 3, 0, 2, 8, 0, 5, 3, 0, 4, 2, 0, 7, 0, 3, 1, 0, 5,
        6, 0, 2, 3, 0, 4, 5, 0, 8, 2, 0, 3, 1, 0, 5, 0, 4, 2, 0, 3, 7, 0, 5, 8, 0};
    return (fsdt_kind)mix[index % 50];
}

static void describe(fsdt_case *c)
{
    char *p = c->desc;
    size_t left = sizeof c->desc;
    int w = snprintf(p, left, "case %d (%s) shape [", c->index, fsdt_kind_name(c->kind));
    for (int i = 0; i < c->t.ndim && w > 0 && (size_t)w < left; i++) {
        p += w; left -= (size_t)w;
        w = snprintf(p, left, "%s%" PRId64, i ? "," : "", c->shape[i]);
    }
    if (w > 0 && (size_t)w < left) {
        p += w; left -= (size_t)w;
        w = snprintf(p, left, "] strides %s", c->t.strides ? "[" : "NULL");
    }
    for (int i = 0; c->t.strides && i < c->t.ndim && w > 0 && (size_t)w < left; i++) {
        p += w; left -= (size_t)w;
        w = snprintf(p, left, "%s%" PRId64, i ? "," : "", c->strides[i]);
    }
    if (w > 0 && (size_t)w < left) {
        p += w; left -= (size_t)w;
        snprintf(p, left,
                 "%s elem %zu (code %u bits %u lanes %u) byte_offset %" PRIu64
                 " storage %zu alias %d nests %d seed %" PRIu64,
                 c->t.strides ? "]" : "", c->elem_size, c->t.dtype.code, c->t.dtype.bits,
                 c->t.dtype.lanes, c->t.byte_offset, c->storage_size, c->aliasing, c->nests,
                 c->seed);
    }
}

/* Generator self-check: every element lies inside the storage. */
static void check_bounds(const fsdt_case *c)
{
    if (c->num_elems == 0)
        return;
    /* the lowest and the highest element: last index on dims of negative / positive stride */
    int64_t lo[FSDT_MAX_DIMS] = {0}, hi[FSDT_MAX_DIMS] = {0};
    for (int i = 0; i < c->t.ndim; i++) {
        int negative = c->t.strides != NULL && c->t.strides[i] < 0; /* NULL: compact, >= 0 */
        if (c->t.shape[i] > 1)
            (negative ? lo : hi)[i] = c->t.shape[i] - 1;
    }
    int64_t first = fsdt_element_offset(c, lo), last = fsdt_element_offset(c, hi);
    if (first < 0 || last + (int64_t)c->elem_size > (int64_t)c->storage_size) {
        fprintf(stderr, "fsd_cases: generator bug, case %d (%s) of seed %" PRIu64
                " has elements outside the storage\n", c->index, fsdt_kind_name(c->kind),
                c->seed);
        abort();
    }
}

static int is_compact(const builder *b)
{
    int64_t s = 1;
    for (int i = b->ndim - 1; i >= 0; i--) {
        if (b->shape[i] != 1 && b->stride[i] != s)
            return 0;
        s *= b->shape[i];
    }
    return 1;
}

void fsdt_case_make(fsdt_case *c, uint64_t seed, int index)
{
    memset(c, 0, sizeof *c);
    fsdt_rng r;
    fsdt_rng_init(&r, seed, (uint64_t)index);
    c->seed = seed;
    c->index = index;
    c->kind = kind_of_index(index);

    DLDataType dt = random_dtype(&r);
    if (c->kind == FSDT_KIND_TRANSPOSE || c->kind == FSDT_KIND_KV) {
        static const size_t sizes[] = {1, 2, 4, 8, 16, 2, 3, 6, 12};
        dt = dtype_of_size(&r, sizes[fsdt_rng_range(&r, 0, c->kind == FSDT_KIND_KV ? 5 : 8)]);
    }
    size_t es = dtype_size(dt);

    builder b;
    memset(&b, 0, sizeof b);
    b.r = &r;
    switch (c->kind) {
    case FSDT_KIND_RANDOM: gen_random(&b, es, 1); break;
    case FSDT_KIND_CONTIG: gen_contig(&b, es); break;
    case FSDT_KIND_KV: gen_kv(&b, es); break;
    case FSDT_KIND_TRANSPOSE: gen_transpose(&b, es); break;
    case FSDT_KIND_HIGH_RANK: gen_high_rank(&b, es); break;
    case FSDT_KIND_RAW: gen_raw(&b); break;
    case FSDT_KIND_LARGE: gen_large(&b, es); break;
    case FSDT_KIND_SCALAR: b.ndim = 0; b.base_elems = 1; b.compact_ok = 1; break;
    default: gen_empty(&b, es); break;
    }
    /* garbage strides on some size-1 dims (the library must ignore them) */
    int garbage = 0;
    for (int i = 0; i < b.ndim; i++)
        if (b.shape[i] == 1 && chance(&r, 1, 2)) {
            b.stride[i] = garbage_stride(&r);
            garbage = 1;
        }

    /* storage: padding (sometimes odd, to misalign the view) + base tensor + padding */
    size_t pad_before = 0;
    switch (fsdt_rng_range(&r, 0, 3)) {
    case 0: case 1: pad_before = 0; break;
    case 2: pad_before = (size_t)fsdt_rng_range(&r, 1, 4) * 16; break;
    default: pad_before = (size_t)fsdt_rng_range(&r, 1, 63); break;
    }
    size_t pad_after = (size_t)fsdt_rng_range(&r, 0, 32);
    c->elem_size = es;
    c->storage_size = pad_before + (size_t)b.base_elems * es + pad_after;
    c->storage = malloc(c->storage_size ? c->storage_size : 1);
    if (c->storage == NULL) {
        fprintf(stderr, "fsd_cases: out of memory (%zu bytes)\n", c->storage_size);
        exit(1);
    }
    fsdt_rng_fill(&r, c->storage, c->storage_size);

    c->t.data = c->storage;
    c->t.device.device_type = kDLCPU;
    c->t.device.device_id = 0;
    c->t.ndim = b.ndim;
    c->t.dtype = dt;
    c->t.byte_offset = (uint64_t)(pad_before + (size_t)b.offset * es);
    memcpy(c->shape, b.shape, sizeof c->shape);
    memcpy(c->strides, b.stride, sizeof c->strides);
    c->t.shape = (b.ndim == 0 && chance(&r, 1, 2)) ? NULL : c->shape;
    c->t.strides = c->strides;
    if (b.compact_ok && is_compact(&b) &&
        (c->kind == FSDT_KIND_CONTIG || b.ndim == 0 || chance(&r, 1, 2)) &&
        !(garbage && chance(&r, 1, 2)))
        c->t.strides = NULL;
    c->num_elems = (size_t)product(c->shape, b.ndim);
    c->packed_size = c->num_elems * es;
    check_bounds(c);
    c->aliasing = fsdt_view_overlaps(c);
    c->nests = fsdt_view_nests(c);
    describe(c);
}

void fsdt_case_free(fsdt_case *c)
{
    free(c->storage);
    c->storage = NULL;
    c->t.data = NULL;
}
