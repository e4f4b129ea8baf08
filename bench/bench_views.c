/* bench_views.c — models, layouts and the views built from them (see bench_views.h). */
#include "bench_views.h"
#include "bench_util.h"

#include <stdio.h>
#include <string.h>

/* KV heads x head_dim from each model's config: 256-token chunks, K and V. */
const fsdb_model fsdb_models[] = {
    {"llama3-8b", "Llama-3-8B", 32, 256, 8, 128},      /* [2,32,256,1024] 32 MiB bf16 */
    {"llama3.1-70b", "Llama-3.1-70B", 80, 256, 8, 128}, /* [2,80,256,1024] 80 MiB bf16 */
    {"qwen2.5-7b", "Qwen2.5-7B", 28, 256, 4, 128},     /* [2,28,256,512]  14 MiB bf16 */
    {"llama3.2-1b", "Llama-3.2-1B", 16, 256, 8, 64},   /* [2,16,256,512]   8 MiB bf16 */
};
const int fsdb_model_count = (int)(sizeof fsdb_models / sizeof fsdb_models[0]);

static const char *const layout_names[FSDB_LAYOUT_COUNT] = {
    "contiguous", "token-slice", "head-subset", "permute", "transpose",
};

const char *fsdb_layout_name(fsdb_layout l)
{
    return (unsigned)l < FSDB_LAYOUT_COUNT ? layout_names[l] : "?";
}

fsdb_layout fsdb_layout_parse(const char *name)
{
    for (int i = 0; i < FSDB_LAYOUT_COUNT; i++)
        if (strcmp(name, layout_names[i]) == 0)
            return (fsdb_layout)i;
    return FSDB_LAYOUT_COUNT;
}

static int dims_str(char *buf, size_t len, int n, const int64_t *d)
{
    int w = snprintf(buf, len, "[");
    for (int i = 0; i < n && (size_t)w < len; i++)
        w += snprintf(buf + w, len - (size_t)w, "%s%lld", i ? "," : "", (long long)d[i]);
    if ((size_t)w < len)
        w += snprintf(buf + w, len - (size_t)w, "]");
    return w;
}

/*
 * The general recipe: a compact base tensor `base[ndim]`; view dim d is base dim perm[d],
 * starting at start[perm[d]] with step step[perm[d]] and `shape[d]` elements.
 */
static void make_view(fsdb_view *v, int ndim, const int64_t *base, const int64_t *shape,
                      const int *perm, const int64_t *start, const int64_t *step, uint32_t es)
{
    memset(v, 0, sizeof *v);
    int64_t bstride[FSDB_MAX_DIMS];
    size_t elems = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        bstride[d] = (int64_t)elems;
        elems *= (size_t)base[d];
    }
    v->ndim = ndim;
    v->elem_size = es;
    v->storage_bytes = elems * es;
    uint64_t off = 0;
    for (int d = 0; d < ndim; d++)
        off += (uint64_t)(start[d] * bstride[d]);
    v->byte_offset = off * es;
    size_t packed = es;
    for (int d = 0; d < ndim; d++) {
        v->shape[d] = shape[d];
        v->strides[d] = bstride[perm[d]] * step[perm[d]];
        packed *= (size_t)shape[d];
    }
    v->packed_bytes = packed;
    int w = dims_str(v->desc, sizeof v->desc, ndim, shape);
    if (v->storage_bytes != v->packed_bytes || memcmp(base, shape, sizeof(int64_t) * (size_t)ndim)) {
        w += snprintf(v->desc + w, sizeof v->desc - (size_t)w, " of ");
        dims_str(v->desc + w, sizeof v->desc - (size_t)w, ndim, base);
    }
}

/* The five layouts over the dims (outer, T, H, D): `outer` stands for [2, L] (or a batch). */
static void make_layout(fsdb_view *v, fsdb_layout l, int64_t kv, int64_t layers, int64_t t,
                        int64_t h, int64_t d, uint32_t es)
{
    static const int id4[4] = {0, 1, 2, 3}, id5[5] = {0, 1, 2, 3, 4};
    static const int64_t one[5] = {1, 1, 1, 1, 1}, zero[5] = {0, 0, 0, 0, 0};
    switch (l) {
    case FSDB_CONTIG: {
        const int64_t s[4] = {kv, layers, t, h * d};
        make_view(v, 4, s, s, id4, zero, one, es);
        break;
    }
    case FSDB_TOKEN_SLICE: {
        const int64_t b[4] = {kv, layers, 2 * t, h * d}, s[4] = {kv, layers, t, h * d};
        const int64_t st[4] = {0, 0, t / 2, 0};
        make_view(v, 4, b, s, id4, st, one, es);
        break;
    }
    case FSDB_HEAD_SUBSET: {
        const int64_t b[5] = {kv, layers, t, 2 * h, d}, s[5] = {kv, layers, t, h, d};
        const int64_t step[5] = {1, 1, 1, 2, 1};
        make_view(v, 5, b, s, id5, zero, step, es);
        break;
    }
    case FSDB_PERMUTE: {
        const int64_t b[5] = {kv, layers, t, h, d}, s[5] = {kv, layers, h, t, d};
        const int perm[5] = {0, 1, 3, 2, 4};
        make_view(v, 5, b, s, perm, zero, one, es);
        break;
    }
    case FSDB_TRANSPOSE:
    default: {
        const int64_t b[4] = {kv, layers, t, h * d}, s[4] = {kv, layers, h * d, t};
        const int perm[4] = {0, 1, 3, 2};
        make_view(v, 4, b, s, perm, zero, one, es);
        break;
    }
    }
}

void fsdb_view_kv(const fsdb_model *m, fsdb_layout l, uint32_t elem_size, fsdb_view *v)
{
    make_layout(v, l, 2, m->layers, m->tokens, m->heads, m->head_dim, elem_size);
}

void fsdb_view_synthetic(fsdb_layout l, size_t bytes, uint32_t elem_size, fsdb_view *v)
{
    const int64_t elems = (int64_t)(bytes / elem_size);
    if (l == FSDB_TRANSPOSE) {
        /* A near-square [A, B] -> [B, A], both powers of two. */
        int64_t a = 1;
        while (a * a * 4 <= elems)
            a *= 2;
        make_layout(v, l, 1, 1, a, 1, elems / a, elem_size);
        return;
    }
    /* Heads of 256 bytes, 8 heads per token: rows of 2 KiB (a bf16 [8 x 128] token). */
    const int64_t d = 256 / elem_size, h = 8;
    int64_t t = elems / (h * d); /* >= 2 tokens: bytes >= 4096 */
    make_layout(v, l, 1, 1, t, h, d, elem_size);
}

void fsdb_view_runs(const fsdb_view *v, fsdb_runs *r)
{
    memset(r, 0, sizeof *r);
    /* Drop size-1 dims, then merge from the innermost while contiguous. */
    int n = 0;
    int64_t shape[FSDB_MAX_DIMS], stride[FSDB_MAX_DIMS];
    for (int d = 0; d < v->ndim; d++) {
        if (v->shape[d] != 1) {
            shape[n] = v->shape[d];
            stride[n] = v->strides[d];
            n++;
        }
    }
    int64_t run = 1; /* elements */
    while (n > 0 && stride[n - 1] == run) {
        run *= shape[n - 1];
        n--;
    }
    r->run_bytes = (uint64_t)run * v->elem_size;
    r->num_runs = 1;
    /* Merge the remaining outer dims where they nest. */
    int m = 0;
    for (int d = 0; d < n; d++) {
        if (m > 0 && r->stride_bytes[m - 1] == stride[d] * (int64_t)v->elem_size * shape[d]) {
            r->shape[m - 1] *= shape[d];
            r->stride_bytes[m - 1] = stride[d] * (int64_t)v->elem_size;
        } else {
            r->shape[m] = shape[d];
            r->stride_bytes[m] = stride[d] * (int64_t)v->elem_size;
            m++;
        }
        r->num_runs *= (uint64_t)shape[d];
    }
    r->ndim = m;
}

/* The reference: element i of the packed order <-> its place in the view, by an odometer. The
 * element size is a constant in the common cases so that the copy is one load and store. */
#define NAIVE_LOOP(ES)                                                           \
    for (size_t i = 0; i < elems; i++) {                                         \
        unsigned char *s = base + off * (int64_t)(ES), *p = packed + i * (ES);   \
        if (unpack)                                                              \
            memcpy(s, p, (ES));                                                  \
        else                                                                     \
            memcpy(p, s, (ES));                                                  \
        for (int d = v->ndim - 1; d >= 0; d--) {                                 \
            off += v->strides[d];                                                \
            if (++idx[d] < v->shape[d])                                          \
                break;                                                           \
            off -= v->strides[d] * v->shape[d];                                  \
            idx[d] = 0;                                                          \
        }                                                                        \
    }

void fsdb_view_naive_copy(const fsdb_view *v, unsigned char *storage, unsigned char *packed,
                          int unpack)
{
    int64_t idx[FSDB_MAX_DIMS] = {0};
    const size_t es = v->elem_size, elems = v->packed_bytes / es;
    int64_t off = 0; /* elements from element [0,...,0] */
    unsigned char *base = storage + v->byte_offset;
    switch (es) {
    case 1: NAIVE_LOOP(1); break;
    case 2: NAIVE_LOOP(2); break;
    case 4: NAIVE_LOOP(4); break;
    case 8: NAIVE_LOOP(8); break;
    case 16: NAIVE_LOOP(16); break;
    default: NAIVE_LOOP(es); break;
    }
}

DLTensor fsdb_view_tensor(const fsdb_view *v, void *storage, DLDevice dev, DLDataType dtype)
{
    DLTensor t;
    memset(&t, 0, sizeof t);
    t.data = storage;
    t.device = dev;
    t.ndim = v->ndim;
    t.dtype = dtype;
    t.shape = (int64_t *)v->shape;
    t.strides = (int64_t *)v->strides;
    t.byte_offset = v->byte_offset;
    return t;
}

void fsdb_view_references(const fsdb_view *v, uint32_t seed, unsigned char *storage,
                          unsigned char *ref, unsigned char *expect)
{
    fsdb_fill_pattern(storage, v->storage_bytes, seed);
    fsdb_view_naive_copy(v, storage, ref, 0);
    memset(expect, 0xA5, v->storage_bytes);
    fsdb_view_naive_copy(v, expect, ref, 1);
}
