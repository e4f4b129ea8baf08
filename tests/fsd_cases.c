/*
 * fsd_cases.c — the random layout generator of fsd_cases.h: draws a case's family and dtype,
 * builds its view (fsd_cases_families.c, fsd_cases_builder.c) and lays it out in a storage.
 * The PRNG and the seed are in fsd_cases_rng.c, the desc text in fsd_cases_describe.c, the
 * reference and the overlap predicates in fsd_reference.c, guarded buffers in fsd_guarded.c.
 *
 * Every view is built the way real tensors are: a contiguous base tensor inside a storage
 * (with a few padding bytes before and after it), then slices with steps, flips (negative
 * strides), permutes, expands (zero strides) and unsqueezes (size-1 dims with garbage strides).
 * Only RAW draws strides directly. Nothing here calls the library.
 */
#include "fsd_cases_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
/* Assembly.                                                                                   */

/* Fixed mix of families over index % 50, so that any 50 consecutive cases cover them all. */
static fsdt_kind kind_of_index(int index)
{
    static const unsigned char mix[50] = {
        0, 3, 2, 0, 5, 4, 0, 1, 3, 0, 2, 8, 0, 5, 3, 0, 4, 2, 0, 7, 0, 3, 1, 0, 5,
        6, 0, 2, 3, 0, 4, 5, 0, 8, 2, 0, 3, 1, 0, 5, 0, 4, 2, 0, 3, 7, 0, 5, 8, 0};
    return (fsdt_kind)mix[index % 50];
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

static int is_compact(const fsdt_builder *b)
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

    fsdt_builder b;
    memset(&b, 0, sizeof b);
    b.r = &r;
    switch (c->kind) {
    case FSDT_KIND_RANDOM: fsdt_gen_random(&b, es, 1); break;
    case FSDT_KIND_CONTIG: fsdt_gen_contig(&b, es); break;
    case FSDT_KIND_KV: fsdt_gen_kv(&b, es); break;
    case FSDT_KIND_TRANSPOSE: fsdt_gen_transpose(&b, es); break;
    case FSDT_KIND_HIGH_RANK: fsdt_gen_high_rank(&b, es); break;
    case FSDT_KIND_RAW: fsdt_gen_raw(&b); break;
    case FSDT_KIND_LARGE: fsdt_gen_large(&b, es); break;
    case FSDT_KIND_SCALAR: b.ndim = 0; b.base_elems = 1; b.compact_ok = 1; break;
    default: fsdt_gen_empty(&b, es); break;
    }
    /* garbage strides on some size-1 dims (the library must ignore them) */
    int garbage = 0;
    for (int i = 0; i < b.ndim; i++)
        if (b.shape[i] == 1 && fsdt_chance(&r, 1, 2)) {
            b.stride[i] = fsdt_garbage_stride(&r);
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
    c->t.shape = (b.ndim == 0 && fsdt_chance(&r, 1, 2)) ? NULL : c->shape;
    c->t.strides = c->strides;
    if (b.compact_ok && is_compact(&b) &&
        (c->kind == FSDT_KIND_CONTIG || b.ndim == 0 || fsdt_chance(&r, 1, 2)) &&
        !(garbage && fsdt_chance(&r, 1, 2)))
        c->t.strides = NULL;
    c->num_elems = (size_t)fsdt_product(c->shape, b.ndim);
    c->packed_size = c->num_elems * es;
    check_bounds(c);
    c->aliasing = fsdt_view_overlaps(c);
    c->nests = fsdt_view_nests(c);
    fsdt_case_describe(c);
}

void fsdt_case_free(fsdt_case *c)
{
    free(c->storage);
    c->storage = NULL;
    c->t.data = NULL;
}
