/*
 * roundtrip_edge_cases.h — case layouts whose packed size is k * chunk +- 1 element
 * (contiguous, strided, reversed, transposed, a row slice), so that elements straddle the
 * chunk edges of a context's ring. Part of roundtrip_checks.h: include that, not this.
 */
#ifndef ROUNDTRIP_EDGE_CASES_H
#define ROUNDTRIP_EDGE_CASES_H

#include "roundtrip_config.h"

static int64_t divisor_in(int64_t n, int64_t lo, int64_t hi)
{
    for (int64_t a = lo; a <= hi && a < n; a++)
        if (n % a == 0 && n / a >= 2)
            return a;
    return 0;
}

static void edge_case(fsdt_case *c, int index, size_t chunk)
{
    static const int SIZES[] = {1, 2, 3, 4, 6, 8, 12, 16};
    static const char *const LAYOUTS[] = {"contiguous", "stride 2", "stride -1",
                                          "transposed", "row slice"};
    fsdt_rng r;
    fsdt_rng_init(&r, g_seed ^ 0xed6e, (uint64_t)index);
    memset(c, 0, sizeof *c);
    c->seed = g_seed;
    c->index = index;
    size_t es = (size_t)SIZES[fsdt_rng_range(&r, 0, 7)];
    int64_t k = fsdt_rng_range(&r, 1, 4), delta = fsdt_rng_range(&r, -1, 1);
    int64_t n = (int64_t)((size_t)k * chunk / es) + delta;
    int layout = (int)fsdt_rng_range(&r, 0, 4);
    int64_t a = layout >= 3 ? divisor_in(n, 2, 64) : 0;
    if (layout >= 3 && a == 0)
        layout = 1;
    size_t pad = (size_t)fsdt_rng_range(&r, 0, 15), tail = (size_t)fsdt_rng_range(&r, 0, 15);
    int64_t span; /* elements of storage the view covers */
    c->t.strides = c->strides;
    switch (layout) {
    case 0: c->t.ndim = 1; c->shape[0] = n; c->t.strides = NULL; span = n; break;
    case 1: c->t.ndim = 1; c->shape[0] = n; c->strides[0] = 2; span = 2 * n - 1; break;
    case 2: c->t.ndim = 1; c->shape[0] = n; c->strides[0] = -1; span = n; break;
    case 3: /* [a, b] with strides [1, a]: the transpose of a compact [b, a] */
        c->t.ndim = 2; c->shape[0] = a; c->shape[1] = n / a; c->strides[0] = 1;
        c->strides[1] = a; span = n; break;
    default: /* [a, b] rows of a wider [a, b + 3] */
        c->t.ndim = 2; c->shape[0] = a; c->shape[1] = n / a; c->strides[0] = n / a + 3;
        c->strides[1] = 1; span = (a - 1) * (n / a + 3) + n / a; break;
    }
    c->t.shape = c->shape;
    c->t.device.device_type = kDLCPU;
    if (es == 1 || es == 2 || es == 4 || es == 8 || es == 16) {
        c->t.dtype.code = es == 2 ? kDLBfloat : kDLUInt;
        c->t.dtype.bits = (uint8_t)(8 * es);
        c->t.dtype.lanes = 1;
    } else {
        c->t.dtype.code = kDLInt;
        c->t.dtype.bits = 8;
        c->t.dtype.lanes = (uint16_t)es;
    }
    c->elem_size = es;
    c->num_elems = (size_t)n;
    c->packed_size = (size_t)n * es;
    c->storage_size = pad + (size_t)span * es + tail;
    c->t.byte_offset = pad + (layout == 2 ? (size_t)(n - 1) * es : 0);
    c->storage = malloc(c->storage_size);
    fsdt_rng_fill(&r, c->storage, c->storage_size);
    c->t.data = c->storage;
    c->aliasing = fsdt_view_overlaps(c);
    c->nests = fsdt_view_nests(c);
    snprintf(c->desc, sizeof c->desc,
             "edge: %s, %lld elements of %zu B = %zu packed bytes = %lld x %zu %+lld element, "
             "shape [%lld%s%lld], offset %llu", LAYOUTS[layout], (long long)n, es,
             c->packed_size, (long long)k, chunk, (long long)delta, (long long)c->shape[0],
             c->t.ndim == 2 ? ", " : "", c->t.ndim == 2 ? (long long)c->shape[1] : 0LL,
             (unsigned long long)c->t.byte_offset);
}

#endif
