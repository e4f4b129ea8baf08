/* cpu_layouts.c — see cpu_layouts.h. */
#include "cpu_layouts.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cpu_view_init(cpu_view *v, int ndim, const int64_t *base, size_t elem_size, const char *name)
{
    memset(v, 0, sizeof *v);
    v->ndim = ndim;
    v->elem_size = elem_size;
    v->name = name;
    for (int d = 0; d < ndim; d++) {
        v->base[d] = base[d];
        v->perm[d] = d;
        v->step[d] = 1;
    }
}

void cpu_case_from_view(fsdt_case *c, const cpu_view *v, uint64_t seed, int index)
{
    memset(c, 0, sizeof *c);
    c->seed = seed;
    c->index = index;
    c->kind = FSDT_KIND_LARGE;
    c->elem_size = v->elem_size;
    int64_t bstride[FSDT_MAX_DIMS], elems = 1;
    for (int d = v->ndim - 1; d >= 0; d--) {
        bstride[d] = elems;
        elems *= v->base[d];
    }
    /* Slice of each base dim: count elements from start, step apart. */
    int64_t cnt[FSDT_MAX_DIMS], first = 0;
    for (int k = 0; k < v->ndim; k++) {
        int64_t step = v->step[k] ? v->step[k] : 1, st = v->start[k];
        if (step < 0 && st == 0)
            st = v->base[k] - 1;
        int64_t fit = step > 0 ? (v->base[k] - st + step - 1) / step : st / -step + 1;
        cnt[k] = v->count[k] > 0 && v->count[k] < fit ? v->count[k] : fit;
        first += st * bstride[k];
    }
    c->num_elems = 1;
    for (int d = 0; d < v->ndim; d++) {
        int k = v->perm[d];
        c->shape[d] = cnt[k];
        c->strides[d] = bstride[k] * (v->step[k] ? v->step[k] : 1);
        c->num_elems *= (size_t)cnt[k];
    }
    c->packed_size = c->num_elems * v->elem_size;
    c->storage_size = v->pad + (size_t)elems * v->elem_size + 16;
    c->storage = malloc(c->storage_size);
    if (c->storage == NULL) {
        fprintf(stderr, "cpu_layouts: out of memory (%zu bytes)\n", c->storage_size);
        exit(1);
    }
    fsdt_rng r;
    fsdt_rng_init(&r, seed ^ 0xc9u, (uint64_t)index);
    fsdt_rng_fill(&r, c->storage, c->storage_size);
    static const uint8_t codes[] = {kDLUInt, kDLInt, kDLFloat};
    c->t.data = c->storage;
    c->t.device.device_type = kDLCPU;
    c->t.ndim = v->ndim;
    c->t.shape = c->shape;
    c->t.strides = c->strides;
    c->t.byte_offset = v->pad + (uint64_t)first * v->elem_size;
    int pow2 = (v->elem_size & (v->elem_size - 1)) == 0 && v->elem_size <= 8;
    c->t.dtype.code = pow2 ? codes[index % 3] : kDLUInt;
    c->t.dtype.bits = pow2 ? (uint8_t)(8 * v->elem_size) : 8;
    c->t.dtype.lanes = pow2 ? 1 : (uint16_t)v->elem_size;
    c->aliasing = fsdt_view_overlaps(c);
    c->nests = fsdt_view_nests(c);
    int w = snprintf(c->desc, sizeof c->desc, "%s shape [", v->name ? v->name : "view");
    for (int d = 0; d < v->ndim && w > 0 && (size_t)w < sizeof c->desc; d++)
        w += snprintf(c->desc + w, sizeof c->desc - (size_t)w, "%s%" PRId64, d ? "," : "",
                      c->shape[d]);
    for (int d = 0; d < v->ndim && w > 0 && (size_t)w < sizeof c->desc; d++)
        w += snprintf(c->desc + w, sizeof c->desc - (size_t)w, "%s%" PRId64, d ? "," : "] strides [",
                      c->strides[d]);
    if (w > 0 && (size_t)w < sizeof c->desc)
        snprintf(c->desc + w, sizeof c->desc - (size_t)w,
                 "] elem %zu byte_offset %" PRIu64 " seed %" PRIu64 " index %d", v->elem_size,
                 c->t.byte_offset, seed, index);
}

/* Extents near the tile edges of every element size (squares of 16 / e, blocks of 128 / e). */
static int64_t extent(fsdt_rng *r, int64_t lo, int64_t hi)
{
    static const int64_t edges[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257};
    if (fsdt_rng_range(r, 0, 2) == 0)
        return fsdt_rng_range(r, lo, hi);
    for (int tries = 0; tries < 8; tries++) {
        int64_t x = edges[fsdt_rng_range(r, 0, (int64_t)(sizeof edges / sizeof edges[0]) - 1)];
        if (x >= lo && x <= hi)
            return x;
    }
    return fsdt_rng_range(r, lo, hi);
}

static int64_t product(const int64_t *s, int n)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        p *= s[i];
    return p;
}

void cpu_case_random(fsdt_case *c, uint64_t seed, int index, size_t max_bytes)
{
    static const size_t sizes[] = {1, 2, 4, 8, 16, 2, 3, 6, 12, 2, 4, 1};
    fsdt_rng r;
    fsdt_rng_init(&r, seed ^ 0x6b1du, (uint64_t)index);
    size_t e = sizes[fsdt_rng_range(&r, 0, (int64_t)(sizeof sizes / sizeof sizes[0]) - 1)];
    cpu_view v;
    int64_t base[FSDT_MAX_DIMS];
    int kind = index % 4;
    if (kind <= 1) {
        /* Transposes: base [o, b, i, a] (a contiguous) seen as [o, a, i, b]; kind 1 narrow. */
        int64_t o = fsdt_rng_range(&r, 1, 3), i = fsdt_rng_range(&r, 0, 2) ? 1 : fsdt_rng_range(&r, 2, 3);
        int64_t a = kind == 1 && fsdt_rng_range(&r, 0, 1) ? fsdt_rng_range(&r, 2, 7) : extent(&r, 2, 300);
        int64_t b = kind == 1 && a > 7 ? fsdt_rng_range(&r, 2, 7) : extent(&r, 2, 300);
        base[0] = o; base[1] = b; base[2] = i; base[3] = a;
        while (product(base, 4) * (int64_t)e > (int64_t)max_bytes && (base[0] > 1 || base[1] > 2))
            if (base[0] > 1) base[0]--; else base[1] = base[1] * 3 / 4;
        cpu_view_init(&v, 4, base, e, kind ? "narrow transpose" : "transpose");
        int perm[4] = {0, 3, 2, 1};
        memcpy(v.perm, perm, sizeof perm);
        if (fsdt_rng_range(&r, 0, 2) == 0) { /* part of a, stride e kept */
            v.start[3] = fsdt_rng_range(&r, 0, base[3] / 3);
            v.count[3] = fsdt_rng_range(&r, 1, base[3] - v.start[3]);
        }
        if (fsdt_rng_range(&r, 0, 5) == 0)
            v.step[3] = 2; /* no dim of stride e: one-element runs */
        if (fsdt_rng_range(&r, 0, 3) == 0)
            v.step[1] = fsdt_rng_range(&r, 0, 1) ? -1 : 2;
        if (fsdt_rng_range(&r, 0, 3) == 0)
            v.step[0] = -1;
    } else if (kind == 2) {
        /* Runs: base [o, n, m] seen as [o, n, m'] with m' < m (runs of m' * e bytes). */
        int64_t m = fsdt_rng_range(&r, 1, (index % 8 == 2 ? 2500 : 600) / (int64_t)e + 1) + 1;
        base[0] = fsdt_rng_range(&r, 1, 4); base[1] = fsdt_rng_range(&r, 2, 4096); base[2] = m;
        while (product(base, 3) * (int64_t)e > (int64_t)max_bytes && (base[0] > 1 || base[1] > 2))
            if (base[0] > 1) base[0]--; else base[1] = base[1] * 3 / 4;
        cpu_view_init(&v, 3, base, e, "runs");
        v.count[2] = fsdt_rng_range(&r, 1, m - 1);
        v.start[2] = fsdt_rng_range(&r, 0, m - v.count[2]);
        if (fsdt_rng_range(&r, 0, 3) == 0)
            v.step[1] = fsdt_rng_range(&r, 0, 1) ? -1 : 3;
    } else {
        /* KV cache [L, T, H, D] seen as [L, H, T, D], sometimes a token slice. */
        static const int64_t dims[] = {1, 2, 8, 16, 64, 128};
        base[0] = fsdt_rng_range(&r, 1, 3); base[1] = fsdt_rng_range(&r, 2, 300);
        base[2] = fsdt_rng_range(&r, 1, 8); base[3] = dims[fsdt_rng_range(&r, 0, 5)];
        while (product(base, 4) * (int64_t)e > (int64_t)max_bytes && (base[0] > 1 || base[1] > 2))
            if (base[0] > 1) base[0]--; else base[1] = base[1] * 3 / 4;
        cpu_view_init(&v, 4, base, e, "kv permute");
        int perm[4] = {0, 2, 1, 3};
        memcpy(v.perm, perm, sizeof perm);
        if (fsdt_rng_range(&r, 0, 1)) {
            v.start[1] = fsdt_rng_range(&r, 0, base[1] / 2);
            v.count[1] = fsdt_rng_range(&r, 1, base[1] - v.start[1]);
        }
    }
    v.pad = fsdt_rng_range(&r, 0, 3) == 0 ? (size_t)fsdt_rng_range(&r, 1, 63) : 0;
    cpu_case_from_view(c, &v, seed, index);
}
