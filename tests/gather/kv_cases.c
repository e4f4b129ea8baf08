/* kv_cases.c — random paged KV caches and the naive reference (see kv_cases.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_cases.h"

static const char *const FAMILY_NAMES[KVT_FAMILY_COUNT] = {
    "vllm-flash", "vllm-hnd", "flashinfer", "flashinfer-hnd", "mla", "sglang", "random",
};

const char *kvt_family_name(kvt_family f)
{
    return (unsigned)f < KVT_FAMILY_COUNT ? FAMILY_NAMES[f] : "?";
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "kv_cases: out of memory\n");
        exit(2);
    }
    return p;
}

/* Element sizes the tests draw, odd ones included (lanes of uint8). */
static const uint32_t ESIZES[] = {1, 2, 2, 4, 8, 16, 3, 6, 12};

static DLDataType dtype_of(uint32_t esize)
{
    DLDataType t = {kDLUInt, 8, 1};
    if (esize == 1 || esize == 2 || esize == 4 || esize == 8)
        t.bits = (uint8_t)(esize * 8);
    else
        t.lanes = (uint16_t)esize; /* 3, 6, 12, 16 bytes: lanes of uint8 */
    return t;
}

/* The family's logical layer shape, block and offset dims, and its packed order for LMCache's
 * KV_2LTD (or SGLang's page-first) layout. */
static void family_shape(kvt_case *c, fsdt_rng *r, int large, int *natural, int *has_natural)
{
    int64_t nb = fsdt_rng_range(r, 1, 8), bs = fsdt_rng_range(r, 1, 16);
    int64_t h = fsdt_rng_range(r, 1, 4), d = fsdt_rng_range(r, 1, 8);
    if (fsdt_rng_range(r, 0, 19) == 0 && !large)
        nb = 0; /* an empty cache: every slot is past it */
    if (large) /* Llama-3-8B's heads: runs of 2 KiB */
        nb = 32, bs = 16, h = 8, d = 128;
    static const int kv2ltd[5] = {1, 0, 2, 3, 4}, fi2ltd[5] = {2, 0, 1, 3, 4};
    *has_natural = 1;
    switch (c->family) {
    case KVT_VLLM_FLASH:
    case KVT_VLLM_HND: {
        int hnd = c->family == KVT_VLLM_HND;
        int64_t s[5] = {2, nb, hnd ? h : bs, hnd ? bs : h, d};
        c->ndim = 5, memcpy(c->shape, s, sizeof s);
        c->block_dim = 1, c->offset_dim = hnd ? 3 : 2;
        memcpy(natural, kv2ltd, sizeof kv2ltd);
        break;
    }
    case KVT_FLASHINFER:
    case KVT_FLASHINFER_HND: {
        int hnd = c->family == KVT_FLASHINFER_HND;
        int64_t s[5] = {nb, 2, hnd ? h : bs, hnd ? bs : h, d};
        c->ndim = 5, memcpy(c->shape, s, sizeof s);
        c->block_dim = 0, c->offset_dim = hnd ? 3 : 2;
        memcpy(natural, fi2ltd, sizeof fi2ltd);
        break;
    }
    case KVT_MLA: {
        int64_t s[3] = {nb, bs, fsdt_rng_range(r, 1, 40)};
        c->ndim = 3, memcpy(c->shape, s, sizeof s);
        c->block_dim = 0, c->offset_dim = 1;
        *has_natural = 0;
        break;
    }
    case KVT_SGLANG: {
        int64_t s[3] = {nb * bs, h, d};
        c->ndim = 3, memcpy(c->shape, s, sizeof s);
        c->block_dim = 0, c->offset_dim = -1;
        static const int page_first[4] = {1, 0, 2, 3};
        memcpy(natural, page_first, sizeof page_first);
        break;
    }
    default: {
        c->ndim = (int)fsdt_rng_range(r, 2, 5);
        for (int i = 0; i < c->ndim; i++)
            c->shape[i] = fsdt_rng_range(r, 1, 6);
        c->block_dim = (int)fsdt_rng_range(r, 0, c->ndim - 1);
        do
            c->offset_dim = (int)fsdt_rng_range(r, -1, c->ndim - 1);
        while (c->offset_dim == c->block_dim);
        *has_natural = 0;
        break;
    }
    }
    if (fsdt_rng_range(r, 0, 29) == 0 && !large) { /* a zero-size plain dim: nothing to copy */
        int d0 = (int)fsdt_rng_range(r, 0, c->ndim - 1);
        if (d0 != c->block_dim && d0 != c->offset_dim)
            c->shape[d0] = 0;
    }
}

/* Strides of a view of a bigger, possibly permuted buffer, some dims flipped; sets
 * storage_size and first (without misalignment). */
static void make_strides(kvt_case *c, fsdt_rng *r, int large, int *compact)
{
    int perm[KVT_MAX_DIMS];
    int64_t ext[KVT_MAX_DIMS];
    int plain = 1;
    for (int i = 0; i < c->ndim; i++) {
        perm[i] = i;
        ext[i] = c->shape[i];
        /* padded; a large chunk's by whole 16 bytes, its heads not (runs of whole tokens) */
        if (fsdt_rng_range(r, 0, 4) == 0 && !(large && i >= c->ndim - 2)) {
            ext[i] += large ? 8 * fsdt_rng_range(r, 1, 2) : fsdt_rng_range(r, 1, 3);
            plain = 0;
        }
    }
    if (fsdt_rng_range(r, 0, 3) == 0 && !large) { /* a large chunk keeps runs of whole heads */
        for (int i = c->ndim - 1; i > 0; i--) {
            int j = (int)fsdt_rng_range(r, 0, i), t = perm[i];
            perm[i] = perm[j], perm[j] = t;
        }
        plain = 0;
    }
    int64_t acc = 1, first = 0;
    for (int k = c->ndim - 1; k >= 0; k--) { /* perm[ndim-1] is innermost in memory */
        c->strides[perm[k]] = acc;
        acc *= ext[perm[k]];
    }
    for (int i = 0; i < c->ndim; i++) {
        /* flipped; a large chunk's heads stay forward (runs of whole tokens) */
        if (c->shape[i] > 1 && fsdt_rng_range(r, 0, 9) == 0 && !(large && i >= c->ndim - 2)) {
            first += (c->shape[i] - 1) * c->strides[i];
            c->strides[i] = -c->strides[i];
            plain = 0;
        }
    }
    int64_t extra = large ? 0 : fsdt_rng_range(r, 0, 2);
    c->first = (first + extra) * (int64_t)c->esize;
    c->storage_size = (size_t)(acc + extra) * c->esize;
    *compact = plain && extra == 0 && fsdt_rng_range(r, 0, 2) == 0;
}

/* T slots into slot_values: duplicates and negatives, or unique ones for scatters; some past
 * the cache with KVT_INVALID. */
/* A real chunk's slots: whole blocks of `bs` positions, the blocks shuffled. */
static void block_table_slots(kvt_case *c, fsdt_rng *r, int64_t bs)
{
    const int64_t blocks = (int64_t)c->slot_limit / bs, need = (c->tokens + bs - 1) / bs;
    int64_t *perm = xmalloc((size_t)blocks * sizeof *perm);
    for (int64_t i = 0; i < blocks; i++)
        perm[i] = i;
    for (int64_t i = 0; i < need && i < blocks; i++) {
        int64_t j = fsdt_rng_range(r, i, blocks - 1), t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
    for (int64_t t = 0; t < c->tokens; t++)
        c->slot_values[t] = perm[(t / bs) % blocks] * bs + t % bs;
    free(perm);
}

/* Random slots: duplicates and negatives, or unique ones for scatters; some past the cache
 * with KVT_INVALID. */
static void random_slots(kvt_case *c, fsdt_rng *r, int flags)
{
    int64_t *v = c->slot_values;
    const int64_t limit = (int64_t)c->slot_limit;
    int64_t *pool = NULL, left = 0;
    if (flags & KVT_SCATTER) {
        pool = xmalloc((size_t)(limit ? limit : 1) * sizeof *pool);
        for (int64_t i = 0; i < limit; i++)
            pool[i] = i;
        left = limit;
    }
    for (int64_t t = 0; t < c->tokens; t++) {
        int64_t roll = fsdt_rng_range(r, 0, 99);
        if (roll < 10 || (limit == 0 && !(flags & KVT_INVALID)) || ((flags & KVT_SCATTER) && left == 0)) {
            v[t] = roll < 5 ? -1 : -fsdt_rng_range(r, 2, 1000);
        } else if ((flags & KVT_INVALID) && (roll < 25 || limit == 0)) {
            static const int64_t far[3] = {INT32_MAX, INT64_MAX, (int64_t)1 << 40};
            v[t] = roll < 20 ? limit + fsdt_rng_range(r, 0, 5) : far[roll % 3];
            c->invalid = 1;
        } else if (flags & KVT_SCATTER) {
            int64_t j = fsdt_rng_range(r, 0, left - 1);
            v[t] = pool[j];
            pool[j] = pool[--left];
        } else {
            v[t] = fsdt_rng_range(r, 0, limit - 1);
        }
    }
    free(pool);
}

/* T slots into slot_values, then into the slots tensor's memory (int32 or int64, any stride). */
static void make_slots(kvt_case *c, fsdt_rng *r, int flags)
{
    c->tokens = fsdt_rng_range(r, 0, 5) == 0 ? fsdt_rng_range(r, 0, 2) : fsdt_rng_range(r, 1, 40);
    if (flags & KVT_LARGE)
        c->tokens = 256;
    c->slot_values = xmalloc((size_t)(c->tokens ? c->tokens : 1) * sizeof *c->slot_values);
    int64_t *v = c->slot_values;
    if (flags & KVT_LARGE)
        block_table_slots(c, r, 16);
    else
        random_slots(c, r, flags);
    /* int32 slots cannot hold the far ones: those cases take int64. */
    c->slot_bits = fsdt_rng_range(r, 0, 1) && !c->invalid ? 32 : 64;
    int64_t stride = fsdt_rng_range(r, 0, 3) == 0 ? fsdt_rng_range(r, 2, 3) : 1;
    if (fsdt_rng_range(r, 0, 9) == 0)
        stride = -stride;
    c->slot_stride = stride;
    const int64_t n = c->tokens ? (c->tokens - 1) * (stride < 0 ? -stride : stride) + 1 : 1;
    const size_t sz = (size_t)c->slot_bits / 8;
    c->slot_bytes = (size_t)n * sz;
    unsigned char *buf = c->slot_buf = xmalloc(c->slot_bytes);
    fsdt_rng_fill(r, buf, (size_t)n * sz);
    const int64_t at0 = stride < 0 ? n - 1 : 0; /* element index of slot 0 */
    for (int64_t t = 0; t < c->tokens; t++) {
        unsigned char *p = buf + (size_t)(at0 + t * stride) * sz;
        if (sz == 4) {
            int32_t x = (int32_t)v[t];
            memcpy(p, &x, 4);
        } else {
            memcpy(p, &v[t], 8);
        }
    }
    c->slots = (DLTensor){buf, {kDLCPU, 0}, 1, {kDLInt, (uint8_t)c->slot_bits, 1}, &c->slots_shape,
                          NULL, (uint64_t)(at0 * (int64_t)sz)};
    c->slots_shape = c->tokens;
    c->slots_strides = stride;
    if (stride != 1 || fsdt_rng_range(r, 0, 1))
        c->slots.strides = &c->slots_strides;
}

static void make_order(kvt_case *c, fsdt_rng *r, const int *natural, int has_natural, int large)
{
    c->vndim = 1 + c->ndim - (c->offset_dim >= 0);
    for (int i = 0; i < c->vndim; i++)
        c->order[i] = i;
    int64_t roll = fsdt_rng_range(r, 0, 3);
    if (large && has_natural) /* a real chunk goes into LMCache's layout */
        roll = 2;
    c->has_order = roll != 0;
    if (roll >= 2 && has_natural) {
        memcpy(c->order, natural, (size_t)c->vndim * sizeof(int));
    } else if (roll == 3 || (roll == 2 && !has_natural)) {
        for (int i = c->vndim - 1; i > 0; i--) {
            int j = (int)fsdt_rng_range(r, 0, i), t = c->order[i];
            c->order[i] = c->order[j], c->order[j] = t;
        }
    }
}

static void describe(kvt_case *c)
{
    char *p = c->desc;
    size_t left = sizeof c->desc;
    int n = snprintf(p, left, "%s esize %u L %d%s shape [", kvt_family_name(c->family), c->esize,
                     c->layers, c->use_table ? " (layer_ptrs)" : "");
    for (int i = 0; i < c->ndim; i++)
        n += snprintf(p + n, left - (size_t)n, "%s%lld", i ? "," : "", (long long)c->shape[i]);
    n += snprintf(p + n, left - (size_t)n, "] strides [");
    for (int i = 0; i < c->ndim; i++)
        n += snprintf(p + n, left - (size_t)n, "%s%lld", i ? "," : "", (long long)c->strides[i]);
    n += snprintf(p + n, left - (size_t)n, "] block %d offset %d T %lld int%d stride %lld order [",
                  c->block_dim, c->offset_dim, (long long)c->tokens, c->slot_bits,
                  (long long)c->slot_stride);
    for (int i = 0; i < c->vndim; i++)
        n += snprintf(p + n, left - (size_t)n, "%s%d", i ? "," : "", c->order[i]);
    snprintf(p + n, left - (size_t)n, "]%s packed %zu seed %llu case %d", c->has_order ? "" : " (NULL)",
             c->packed_size, (unsigned long long)c->seed, c->index);
}

void kvt_case_make(kvt_case *c, uint64_t seed, int index, int family, int flags)
{
    kvt_case_make_layers(c, seed, index, family, flags, 0);
}

void kvt_case_make_layers(kvt_case *c, uint64_t seed, int index, int family, int flags, int layers)
{
    memset(c, 0, sizeof *c);
    fsdt_rng r;
    fsdt_rng_init(&r, seed, 0x6b76000000ull + (uint64_t)index);
    c->seed = seed;
    c->index = index;
    c->family = family >= 0 ? (kvt_family)family : (kvt_family)fsdt_rng_range(&r, 0, KVT_FAMILY_COUNT - 1);
    c->esize = ESIZES[fsdt_rng_range(&r, 0, (int64_t)(sizeof ESIZES / sizeof ESIZES[0]) - 1)];
    const int large = (flags & KVT_LARGE) != 0;
    if (large)
        c->esize = 2;
    int natural[KVT_MAX_DIMS + 1], has_natural, compact;
    family_shape(c, &r, large, natural, &has_natural);
    make_strides(c, &r, large, &compact);
    c->layers = c->family == KVT_SGLANG ? 2 * (int)fsdt_rng_range(&r, 1, 3) : (int)fsdt_rng_range(&r, 1, 6);
    if (large)
        c->layers = c->family == KVT_SGLANG ? 32 : 16;
    if (layers > 0)
        c->layers = layers;
    c->use_table = c->layers > 1 || fsdt_rng_range(&r, 0, 1);
    if (flags & KVT_MISALIGN)
        c->storage_size += 16;
    uint64_t byte_offset = c->use_table ? (uint64_t)fsdt_rng_range(&r, 0, c->first) : (uint64_t)c->first;
    if (large && c->use_table) /* 16-byte words need 16-byte aligned bases */
        byte_offset = fsdt_rng_range(&r, 0, 1) ? (uint64_t)c->first : 0;
    for (int l = 0; l < c->layers; l++) {
        c->storage[l] = fsdt_guarded_alloc(c->storage_size, 0);
        fsdt_rng_fill(&r, c->storage[l], c->storage_size);
        int64_t mis = (flags & KVT_MISALIGN) ? fsdt_rng_range(&r, 1, 15) : 0;
        if (!c->use_table) /* one layer through layer.data: its byte_offset carries it */
            c->first += mis, byte_offset += (uint64_t)mis, mis = 0;
        c->table[l] = (uint64_t)(uintptr_t)(c->storage[l] + c->first + mis) - byte_offset;
    }
    c->block_size = c->offset_dim >= 0 ? (uint64_t)c->shape[c->offset_dim] : 1;
    c->slot_limit = (uint64_t)c->shape[c->block_dim] * c->block_size;
    make_slots(c, &r, flags);
    make_order(c, &r, natural, has_natural, large);

    size_t packed = c->esize * (size_t)c->layers * (size_t)c->tokens;
    for (int d = 0; d < c->ndim; d++)
        if (d != c->block_dim && d != c->offset_dim)
            packed *= (size_t)c->shape[d];
    c->packed_size = packed;

    DLTensor *t = &c->kv.layer;
    t->data = c->use_table && fsdt_rng_range(&r, 0, 1) ? NULL : c->storage[0];
    t->device = (DLDevice){kDLCPU, 0};
    t->ndim = c->ndim;
    t->dtype = dtype_of(c->esize);
    t->shape = c->shape;
    t->strides = compact ? NULL : c->strides;
    t->byte_offset = c->use_table ? byte_offset : (uint64_t)c->first;
    c->kv.block_dim = c->block_dim;
    c->kv.offset_dim = c->offset_dim;
    c->ptrs_shape = c->layers;
    c->layer_ptrs = (DLTensor){c->table, {kDLCPU, 0}, 1, {kDLUInt, 64, 1}, &c->ptrs_shape, NULL, 0};
    c->kv.layer_ptrs = c->use_table ? &c->layer_ptrs : NULL;
    describe(c);
}

void kvt_case_free(kvt_case *c)
{
    for (int l = 0; l < c->layers; l++)
        fsdt_guarded_free(c->storage[l]);
    free(c->slot_buf);
    free(c->slot_values);
    memset(c, 0, sizeof *c);
}

void kvt_case_set_device(kvt_case *c, DLDeviceType layers, DLDeviceType slots)
{
    c->kv.layer.device.device_type = layers;
    c->slots.device.device_type = slots;
    c->layer_ptrs.device.device_type = slots;
}

/* Address of element [0, ...] of layer l, in the buffer `buf` laid out like c->storage[l]. */
static unsigned char *elem0(const kvt_case *c, int l, unsigned char *buf)
{
    uintptr_t a = c->use_table ? (uintptr_t)c->table[l] + (uintptr_t)c->kv.layer.byte_offset
                               : (uintptr_t)c->storage[0] + (uintptr_t)c->first;
    return buf + (a - (uintptr_t)c->storage[l]);
}

/* Visits every element of the packed tensor in row-major order: fn(packed byte offset, layer,
 * byte offset in the layer from element 0) for the elements of valid slots. */
typedef void (*visit_fn)(void *arg, size_t packed, int layer, int64_t offset);

static void visit(const kvt_case *c, visit_fn fn, void *arg)
{
    if (c->packed_size == 0)
        return;
    int64_t vshape[KVT_MAX_DIMS + 1], pshape[KVT_MAX_DIMS + 1];
    int vdim_of[KVT_MAX_DIMS]; /* layer dim -> V dim (-1: offset_dim) */
    int nv = 0;
    vshape[nv++] = c->layers;
    for (int d = 0; d < c->ndim; d++) {
        if (d == c->offset_dim) {
            vdim_of[d] = -1;
            continue;
        }
        vdim_of[d] = nv;
        vshape[nv++] = d == c->block_dim ? c->tokens : c->shape[d];
    }
    for (int i = 0; i < nv; i++)
        pshape[i] = vshape[c->order[i]];
    int64_t pc[KVT_MAX_DIMS + 1] = {0}, vc[KVT_MAX_DIMS + 1];
    const size_t n = c->packed_size / c->esize;
    for (size_t e = 0; e < n; e++) {
        for (int i = 0; i < nv; i++)
            vc[c->order[i]] = pc[i];
        int64_t s = c->slot_values[vc[vdim_of[c->block_dim]]];
        if (s >= 0 && (uint64_t)s < c->slot_limit) {
            int64_t off = 0;
            for (int d = 0; d < c->ndim; d++) {
                int64_t x;
                if (d == c->block_dim)
                    x = s / (int64_t)c->block_size;
                else if (d == c->offset_dim)
                    x = s % (int64_t)c->block_size;
                else
                    x = vc[vdim_of[d]];
                off += x * c->strides[d];
            }
            fn(arg, e * c->esize, (int)vc[0], off * (int64_t)c->esize);
        }
        for (int i = nv - 1; i >= 0 && ++pc[i] == pshape[i]; i--)
            pc[i] = 0;
    }
}

typedef struct ref_job {
    const kvt_case *c;
    unsigned char *const *layers;
    unsigned char *packed;
    int gather;
    /* runs */
    size_t runs;
    const unsigned char *last_src;
    size_t last_packed;
    int have;
} ref_job;

static void ref_copy(void *arg, size_t packed, int layer, int64_t offset)
{
    ref_job *j = arg;
    unsigned char *cache = elem0(j->c, layer, j->layers[layer]) + offset;
    if (j->gather)
        memcpy(j->packed + packed, cache, j->c->esize);
    else
        memcpy(cache, j->packed + packed, j->c->esize);
}

void kvt_reference_gather(const kvt_case *c, unsigned char *const *layers, unsigned char *out)
{
    ref_job j = {c, layers, out, 1, 0, NULL, 0, 0};
    visit(c, ref_copy, &j);
}

void kvt_reference_scatter(const kvt_case *c, const unsigned char *packed, unsigned char *const *layers)
{
    ref_job j = {c, layers, (unsigned char *)packed, 0, 0, NULL, 0, 0};
    visit(c, ref_copy, &j);
}

static void ref_run(void *arg, size_t packed, int layer, int64_t offset)
{
    ref_job *j = arg;
    const unsigned char *src = elem0(j->c, layer, j->c->storage[layer]) + offset;
    if (!j->have || packed != j->last_packed + j->c->esize || src != j->last_src + j->c->esize)
        j->runs++;
    j->have = 1;
    j->last_src = src;
    j->last_packed = packed;
}

size_t kvt_reference_runs(const kvt_case *c)
{
    ref_job j = {c, NULL, NULL, 1, 0, NULL, 0, 0};
    visit(c, ref_run, &j);
    return j.runs;
}
