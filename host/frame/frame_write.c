/* frame_write.c — fsd_frame_size and fsd_frame_write (see fastserde.h, docs/frames.md): the
 * arguments checked, the header written as JSON by hand (its size must be known before the
 * data is packed, and nothing but strings needs escaping), the data packed with checksums. */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "cpu_copy.h"
#include "cpu_parallel.h"
#include "error.h"
#include "frame.h"
#include "memkind.h"
#include "plan_build.h"
#include "transfer.h"

/* ---- JSON out: counts when `out` is NULL ----------------------------------------------------- */

typedef struct jout {
    char *out;
    size_t len;
} jout;

static void put(jout *j, const char *s, size_t n)
{
    if (j->out)
        memcpy(j->out + j->len, s, n);
    j->len += n;
}

static void put_str(jout *j, const char *s) { put(j, s, strlen(s)); }

/* The inside of a JSON string: `"` and `\` escaped, control characters as \u00XX, the rest
 * (UTF-8, checked before) as it is. */
static void put_escaped(jout *j, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put(j, e, 2);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(j, e, 6);
        } else {
            put(j, (const char *)&c, 1);
        }
    }
}

/* The JSON string of prefix followed by s. */
static void put_quoted2(jout *j, const char *prefix, const char *s)
{
    put(j, "\"", 1);
    put_escaped(j, prefix);
    put_escaped(j, s);
    put(j, "\"", 1);
}

static void put_quoted(jout *j, const char *s) { put_quoted2(j, "", s); }

static void put_u64(jout *j, uint64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%" PRIu64, v);
    put(j, b, (size_t)n);
}

static void put_pair(jout *j, const char *key, const char *value, int *first)
{
    if (!*first)
        put(j, ",", 1);
    *first = 0;
    put_quoted(j, key);
    put(j, ":", 1);
    put_quoted(j, value);
}

/* ---- the frame's plan ------------------------------------------------------------------------- */

typedef struct frame_plan {
    const fsd_frame_tensor *tensors;
    size_t count;
    fsd_frame_options opts;
    fsd_frame_kv *meta;        /* fastserde's pairs (2..4), then the caller's                  */
    size_t meta_count;
    const fsd_frame_kv **order; /* scratch: meta_count, or count names                         */
    uint64_t *sums;            /* count: each tensor's checksum (fsd_frame_write)             */
    fsd_layout *layouts;       /* count: each tensor's layout (fsd_frame_write), else NULL    */
    char tokens[24];           /* kv_tokens in decimal                                         */
    uint64_t meta_checksum;
    size_t header_bytes;       /* padded to 8                                                  */
    uint64_t data_bytes;
    void *block;               /* meta, order, sums, layouts                                  */
} frame_plan;

static fsd_status check_options(const fsd_frame_options *o)
{
    if (o->size != sizeof(fsd_frame_options) || o->magic != FSD_FRAME_OPTIONS_MAGIC ||
        o->version != FSD_FRAME_OPTIONS_VERSION)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "frame options: size %zu, magic %#x, version "
                        "%u; start from FSD_FRAME_OPTIONS_INIT", o->size, o->magic, o->version);
    if (o->checksum != FSD_FRAME_CHECKSUM_XXH3_1K && o->checksum != FSD_FRAME_CHECKSUM_NONE)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "frame options: unknown checksum %d", (int)o->checksum);
    if (o->kv_layout != NULL) {
        size_t n = strlen(o->kv_layout);
        if (n == 0 || n > FSD_FRAME_MAX_KV_LAYOUT)
            return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "frame options: kv_layout of %zu bytes "
                            "(1..%d)", n, FSD_FRAME_MAX_KV_LAYOUT);
        for (size_t i = 0; i < n; i++)
            if (o->kv_layout[i] < 0x20 || o->kv_layout[i] > 0x7E)
                return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "frame options: kv_layout is not "
                                "printable ASCII (byte %zu)", i);
    }
    if (o->kv_tokens < -1)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "frame options: kv_tokens %" PRId64, o->kv_tokens);
    if (o->metadata == NULL && o->metadata_count > 0)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "frame options: metadata is NULL, count %zu",
                        o->metadata_count);
    if (o->metadata_count > FSD_FRAME_MAX_HEADER / 8)
        return fsd_fail(FSD_ERROR_OVERFLOW, "frame options: %zu metadata pairs do not fit in a "
                        "header", o->metadata_count);
    return FSD_SUCCESS;
}

static fsd_status check_string(const char *s, const char *what, size_t i, size_t max)
{
    if (s == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "%s %zu is NULL", what, i);
    size_t n = strnlen(s, max + 1);
    if (n > max)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "%s %zu is longer than %zu bytes", what, i, max);
    if (!fsd_frame_utf8_ok(s, n))
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "%s %zu is not valid UTF-8", what, i);
    return FSD_SUCCESS;
}

static int by_key(const void *a, const void *b)
{
    return strcmp((*(const fsd_frame_kv *const *)a)->key, (*(const fsd_frame_kv *const *)b)->key);
}

/* The first repeated key of `order` (sorted by key), or NULL. */
static const char *repeated(const fsd_frame_kv **order, size_t n)
{
    qsort(order, n, sizeof *order, by_key);
    for (size_t i = 1; i < n; i++)
        if (strcmp(order[i - 1]->key, order[i]->key) == 0)
            return order[i]->key;
    return NULL;
}

/* Validates one tensor's name, shape and dtype; its packed bytes into *bytes. `layout`
 * non-NULL: its strides too, and the layout (fsd_frame_write; fsd_frame_size needs no more). */
static fsd_status check_tensor(const fsd_frame_tensor *ft, size_t i, uint64_t *bytes, fsd_layout *layout)
{
    fsd_status st = check_string(ft->name, "tensor name", i, FSD_FRAME_MAX_NAME);
    if (st != FSD_SUCCESS)
        return st;
    if (strcmp(ft->name, FSD_FRAME_METADATA) == 0) /* the empty name is a name, as for readers */
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "tensor %zu: the name \"%s\" is not allowed", i, ft->name);
    char what[96];
    snprintf(what, sizeof what, "tensor \"%.48s\"", ft->name);
    const DLTensor *t = ft->tensor;
    uint32_t esize;
    fsd_place place;
    if ((st = fsd_check_shape(t, what, &esize, bytes, &place)) != FSD_SUCCESS)
        return st;
    if (fsd_frame_dtype_name(t->dtype) == NULL)
        return fsd_fail(FSD_ERROR_UNSUPPORTED, "%s: dtype (code %u, %u bits, %u lanes) has no "
                        "safetensors name", what, (unsigned)t->dtype.code, (unsigned)t->dtype.bits,
                        (unsigned)t->dtype.lanes);
    if (t->ndim > FSD_FRAME_MAX_DIMS)
        return fsd_fail(FSD_ERROR_UNSUPPORTED, "%s: %d dimensions (frames hold at most %d)", what,
                        t->ndim, FSD_FRAME_MAX_DIMS);
    if (layout != NULL && (st = fsd_layout_from_tensor(t, what, layout)) != FSD_SUCCESS)
        return st;
    return FSD_SUCCESS;
}

static void plan_free(fsd_context *ctx, frame_plan *p)
{
    if (p->block == NULL)
        return;
    if (ctx != NULL)
        fsd_free_host(&ctx->alloc, p->block);
    else
        free(p->block);
    p->block = NULL;
}

/* The header's JSON (out NULL: only its length); sums NULL: placeholders of the same length. */
static size_t header_json(const frame_plan *p, char *out, const uint64_t *sums)
{
    jout j = {out, 0};
    int first = 1;
    char value[FSD_FRAME_CHECKSUM_CHARS];
    put_str(&j, "{\"" FSD_FRAME_METADATA "\":{");
    for (size_t i = 0; i < p->meta_count; i++)
        put_pair(&j, p->meta[i].key, p->meta[i].value, &first);
    if (p->opts.checksum == FSD_FRAME_CHECKSUM_XXH3_1K) {
        for (size_t i = 0; i < p->count; i++) {
            put(&j, first ? "" : ",", first ? 0 : 1);
            first = 0;
            put_quoted2(&j, FSD_FRAME_KEY_CHECKSUM, p->tensors[i].name);
            put(&j, ":", 1);
            fsd_frame_format_checksum(sums ? sums[i] : 0, value);
            put_quoted(&j, value);
        }
        fsd_frame_format_checksum(p->meta_checksum, value);
        put_pair(&j, FSD_FRAME_KEY_CHECKSUM FSD_FRAME_METADATA, value, &first);
    }
    put(&j, "}", 1);
    uint64_t offset = 0;
    for (size_t i = 0; i < p->count; i++) {
        const DLTensor *t = p->tensors[i].tensor;
        put(&j, ",", 1);
        put_quoted(&j, p->tensors[i].name);
        put_str(&j, ":{\"dtype\":\"");
        put_str(&j, fsd_frame_dtype_name(t->dtype));
        put_str(&j, "\",\"shape\":[");
        uint64_t bytes = t->dtype.bits / 8;
        for (int d = 0; d < t->ndim; d++) {
            if (d > 0)
                put(&j, ",", 1);
            put_u64(&j, (uint64_t)t->shape[d]);
            bytes *= (uint64_t)t->shape[d]; /* checked by fsd_check_shape */
        }
        put_str(&j, "],\"data_offsets\":[");
        put_u64(&j, offset);
        put(&j, ",", 1);
        offset += bytes;
        put_u64(&j, offset);
        put_str(&j, "]}");
    }
    put(&j, "}", 1);
    /* Spaces up to a multiple of 64 bytes with the length before it, so that the data starts
     * on a cache line of a 64-byte aligned buffer: the CPU streams aligned runs straight out
     * (and the GPU's 16-byte words need 16). safetensors pads to 8; readers take any spaces. */
    while ((8 + j.len) % FSD_FRAME_DATA_ALIGN != 0)
        put(&j, " ", 1);
    return j.len;
}

static void *temp_alloc(fsd_context *ctx, size_t n)
{
    return ctx != NULL ? fsd_alloc_host(&ctx->alloc, n) : malloc(n);
}

/* Checks everything about the frame but the tensors' data; sizes it. `layouts` 1: each
 * tensor's strides are checked too and its layout kept (fsd_frame_write). */
static fsd_status plan_make(fsd_context *ctx, const fsd_frame_tensor *tensors, size_t count,
                            const fsd_frame_options *opts, int layouts, frame_plan *p)
{
    const fsd_frame_options dflt = FSD_FRAME_OPTIONS_INIT;
    memset(p, 0, sizeof *p);
    p->tensors = tensors;
    p->count = count;
    fsd_status st = check_options(opts ? opts : &dflt);
    if (st != FSD_SUCCESS)
        return st;
    p->opts = opts ? *opts : dflt;
    if (tensors == NULL && count > 0)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "tensors is NULL, count %zu", count);
    if (count > FSD_FRAME_MAX_HEADER / 32)
        return fsd_fail(FSD_ERROR_OVERFLOW, "%zu tensors do not fit in a header of %zu bytes",
                        count, FSD_FRAME_MAX_HEADER);
    const fsd_frame_options *o = &p->opts;
    for (size_t i = 0; i < o->metadata_count; i++) {
        if ((st = check_string(o->metadata[i].key, "metadata key", i, FSD_FRAME_MAX_HEADER)) != FSD_SUCCESS ||
            (st = check_string(o->metadata[i].value, "metadata value", i, FSD_FRAME_MAX_HEADER)) != FSD_SUCCESS)
            return st;
        if (strncmp(o->metadata[i].key, FSD_FRAME_KEY_PREFIX, sizeof FSD_FRAME_KEY_PREFIX - 1) == 0)
            return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "metadata key %zu \"%.48s\": keys starting "
                            "with \"" FSD_FRAME_KEY_PREFIX "\" are fastserde's", i, o->metadata[i].key);
    }
    /* One block: the metadata pairs, the names as pairs, the sort scratch, the checksums, the
     * layouts. */
    size_t nmeta = 4 + o->metadata_count, nsort = nmeta > count ? nmeta : count;
    size_t bytes = (nmeta + count) * sizeof(fsd_frame_kv) + nsort * sizeof(fsd_frame_kv *) +
                   count * sizeof(uint64_t) + (layouts ? count * sizeof(fsd_layout) : 0);
    if ((p->block = temp_alloc(ctx, bytes)) == NULL)
        return fsd_fail(FSD_ERROR_OUT_OF_MEMORY, "frame: no memory for %zu bytes of index", bytes);
    p->meta = p->block;
    fsd_frame_kv *names = p->meta + nmeta;
    p->order = (const fsd_frame_kv **)(void *)(names + count);
    p->sums = (uint64_t *)(void *)(p->order + nsort);
    p->layouts = layouts ? (fsd_layout *)(void *)(p->sums + count) : NULL;
    for (size_t i = 0; i < count; i++) {
        uint64_t n = 0;
        if ((st = check_tensor(&tensors[i], i, &n, layouts ? &p->layouts[i] : NULL)) == FSD_SUCCESS &&
            n > (uint64_t)INT64_MAX - p->data_bytes)
            st = fsd_fail(FSD_ERROR_OVERFLOW, "the tensors hold more than 2^63 - 1 bytes");
        if (st != FSD_SUCCESS) {
            plan_free(ctx, p);
            return st;
        }
        p->data_bytes += n;
    }

    fsd_frame_kv *m = p->meta;
    m[p->meta_count++] = (fsd_frame_kv){FSD_FRAME_KEY_FORMAT, FSD_FRAME_VERSION};
    m[p->meta_count++] = (fsd_frame_kv){FSD_FRAME_KEY_ALGORITHM,
                                        o->checksum == FSD_FRAME_CHECKSUM_NONE ? FSD_FRAME_ALGO_NONE
                                                                               : FSD_FRAME_ALGO_XXH3};
    if (o->kv_layout != NULL)
        m[p->meta_count++] = (fsd_frame_kv){FSD_FRAME_KEY_KV_LAYOUT, o->kv_layout};
    if (o->kv_tokens >= 0) {
        snprintf(p->tokens, sizeof p->tokens, "%" PRId64, o->kv_tokens);
        m[p->meta_count++] = (fsd_frame_kv){FSD_FRAME_KEY_KV_TOKENS, p->tokens};
    }
    for (size_t i = 0; i < o->metadata_count; i++)
        m[p->meta_count++] = (fsd_frame_kv){o->metadata[i].key, o->metadata[i].value};

    for (size_t i = 0; i < count; i++) {
        names[i] = (fsd_frame_kv){tensors[i].name, NULL};
        p->order[i] = &names[i];
    }
    const char *dup = repeated(p->order, count);
    if (dup == NULL) {
        for (size_t i = 0; i < p->meta_count; i++)
            p->order[i] = &p->meta[i];
        if ((dup = repeated(p->order, p->meta_count)) != NULL) {
            plan_free(ctx, p);
            return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "metadata key \"%.48s\" is repeated", dup);
        }
    } else {
        plan_free(ctx, p);
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "tensor name \"%.48s\" is repeated", dup);
    }
    if (o->checksum == FSD_FRAME_CHECKSUM_XXH3_1K)
        p->meta_checksum = fsd_frame_metadata_checksum(p->meta, p->meta_count, p->order);
    /* Each string is at most FSD_FRAME_MAX_HEADER bytes, and there are fewer than 2^32 of
     * them: the count cannot wrap. */
    p->header_bytes = header_json(p, NULL, NULL);
    if (p->header_bytes > FSD_FRAME_MAX_HEADER) {
        plan_free(ctx, p);
        return fsd_fail(FSD_ERROR_OVERFLOW, "the header would be %zu bytes (at most %zu)",
                        p->header_bytes, FSD_FRAME_MAX_HEADER);
    }
    if (p->data_bytes > (uint64_t)INT64_MAX - 8 - p->header_bytes ||
        p->data_bytes + 8 + p->header_bytes > SIZE_MAX) {
        plan_free(ctx, p);
        return fsd_fail(FSD_ERROR_OVERFLOW, "the frame would exceed 2^63 - 1 bytes");
    }
    return FSD_SUCCESS;
}

fsd_status fsd_frame_size(const fsd_frame_tensor *tensors, size_t count,
                          const fsd_frame_options *opts, size_t *nbytes)
{
    if (nbytes == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "nbytes is NULL");
    frame_plan p;
    fsd_status st = plan_make(NULL, tensors, count, opts, 0, &p);
    if (st != FSD_SUCCESS)
        return st;
    *nbytes = (size_t)(8 + p.header_bytes + p.data_bytes);
    plan_free(NULL, &p);
    fsd_clear_error();
    return FSD_SUCCESS;
}

/* Packs tensor i (validated) into dst: with its checksum's sum, or plainly. */
static void pack_tensor(fsd_pool *pool, const fsd_layout *l, char *dst, int checksum, uint64_t *sum)
{
    if (checksum) {
        *sum = fsd_frame_pack_sum(pool, l, dst);
    } else if (l->total_bytes > 0) {
        if (pool != NULL) {
            fsd_cpu_execute_parallel(pool, l, dst, FSD_DIR_PACK);
        } else {
            fsd_plan plan;
            fsd_plan_build(l, dst, FSD_DIR_PACK, 0, &plan);
            fsd_cpu_execute(&plan);
        }
    }
}

/* The frame's header (its length and JSON) into host memory: 8 + header_bytes bytes at out. */
static void header_put(const frame_plan *p, unsigned char *out)
{
    for (int b = 0; b < 8; b++)
        out[b] = (unsigned char)((uint64_t)p->header_bytes >> (8 * b));
    (void)header_json(p, (char *)out + 8, p->sums);
}

static void finish_sums(const fsd_frame_tensor *tensors, size_t count, frame_plan *p)
{
    for (size_t i = 0; i < count; i++) {
        const DLTensor *t = tensors[i].tensor;
        uint64_t seed = fsd_frame_tensor_seed(tensors[i].name, strlen(tensors[i].name),
                                              fsd_frame_dtype_name(t->dtype), t->shape, t->ndim);
        p->sums[i] = fsd_frame_finish(p->sums[i], seed);
    }
}

/* A frame of CUDA tensors into pageable host memory: each tensor packed through the context's
 * ring (the bytes in place on return), its checksum's S computed by the ring's host copies as
 * they move the bytes out of the pinned chunks (transfer.h: no second read), then the header. */
static fsd_status write_gpu_via_ring(fsd_context *ctx, const fsd_layout *ls, size_t count,
                                     const fsd_frame_tensor *tensors, frame_plan *p,
                                     unsigned char *dst, int checksum, cudaStream_t stream)
{
    unsigned char *data = dst + 8 + p->header_bytes;
    uint64_t offset = 0;
    for (size_t i = 0; i < count; i++) {
        const uint64_t bytes = ls[i].total_bytes;
        fsd_status st = bytes == 0 ? FSD_SUCCESS
                                   : fsd_transfer_pack(ctx, &ls[i], data + offset,
                                                       checksum ? &p->sums[i] : NULL, stream);
        if (st != FSD_SUCCESS)
            return st;
        if (checksum && bytes == 0)
            p->sums[i] = 0;
        offset += bytes;
    }
    if (checksum)
        finish_sums(tensors, count, p);
    header_put(p, dst);
    return FSD_SUCCESS;
}

/* A frame of CUDA tensors (validated, all of them CUDA tensors): into memory their GPU reaches
 * (its device memory, or pinned host memory), packed and checksummed by the GPU on `stream`;
 * then the header, with the checksums the sums give. */
static fsd_status write_gpu(fsd_context *ctx, const fsd_frame_tensor *tensors, size_t count,
                            frame_plan *p, void *dst, uint64_t total, cudaStream_t stream)
{
    const fsd_layout *ls = p->layouts;
    unsigned char *head = malloc(8 + p->header_bytes);
    fsd_status st = FSD_SUCCESS;
    if (head == NULL)
        st = fsd_fail(FSD_ERROR_OUT_OF_MEMORY, "no memory for a frame's header");
    for (size_t i = 0; i < count && st == FSD_SUCCESS; i++) {
        if (ls[i].device_id != ls[0].device_id)
            st = fsd_fail(FSD_ERROR_UNSUPPORTED, "tensor %zu is on CUDA device %d, tensor 0 on %d: a "
                          "frame's CUDA tensors must share one device", i, ls[i].device_id, ls[0].device_id);
    }
    int via_ring = 0;
    if (st == FSD_SUCCESS) {
        st = fsd_check_gpu_access(dst, (size_t)total, ls[0].device_id, "dst (a frame of CUDA tensors)");
        /* memory the GPU cannot reach: pageable host memory, through a context's ring */
        if (st == FSD_ERROR_INVALID_ARGUMENT && ctx != NULL &&
            fsd_check_host_access(dst, (size_t)total, "dst") == FSD_SUCCESS) {
            via_ring = 1;
            st = FSD_SUCCESS;
        }
    }
    const int checksum = p->opts.checksum == FSD_FRAME_CHECKSUM_XXH3_1K;
    if (st == FSD_SUCCESS && via_ring) {
        st = write_gpu_via_ring(ctx, ls, count, tensors, p, dst, checksum, stream);
        free(head);
        return st;
    }
    if (st == FSD_SUCCESS)
        st = fsd_frame_pack_gpu(ls, count, (char *)dst + 8 + p->header_bytes, checksum, p->sums,
                                stream);
    if (st == FSD_SUCCESS) {
        if (checksum)
            finish_sums(tensors, count, p);
        header_put(p, head);
        st = fsd_frame_put_gpu(ls[0].device_id, dst, head, 8 + p->header_bytes, stream);
    }
    free(head);
    return st;
}

/* A frame of host tensors (validated) into host memory, packed and checksummed by the CPU in
 * one pass; then the header. */
static void write_host(fsd_context *ctx, const fsd_frame_tensor *tensors, size_t count,
                       frame_plan *p, void *dst)
{
    const int checksum = p->opts.checksum == FSD_FRAME_CHECKSUM_XXH3_1K;
    fsd_pool *pool = ctx != NULL ? ctx->pool : NULL;
    char *data = (char *)dst + 8 + p->header_bytes;
    uint64_t offset = 0;
    for (size_t i = 0; i < count; i++) {
        pack_tensor(pool, &p->layouts[i], data + offset, checksum, &p->sums[i]);
        offset += p->layouts[i].total_bytes;
    }
    if (checksum)
        finish_sums(tensors, count, p);
    header_put(p, dst);
}

fsd_status fsd_frame_write(fsd_context *ctx, const fsd_frame_tensor *tensors, size_t count,
                           const fsd_frame_options *opts, void *dst, size_t dst_size,
                           cudaStream_t stream)
{
    frame_plan p;
    fsd_status st = plan_make(ctx, tensors, count, opts, 1, &p);
    if (st != FSD_SUCCESS)
        return st;
    const uint64_t total = 8 + p.header_bytes + p.data_bytes;
    size_t gpu = 0;
    for (size_t i = 0; i < count; i++)
        gpu += p.layouts[i].place == FSD_PLACE_GPU;
    if (dst == NULL)
        st = fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "dst is NULL");
    else if (dst_size < total)
        st = fsd_fail(FSD_ERROR_SIZE_MISMATCH, "dst_size is %zu bytes, the frame %llu", dst_size,
                      (unsigned long long)total);
    else if (gpu > 0 && gpu < count)
        st = fsd_fail(FSD_ERROR_UNSUPPORTED, "a frame of host and CUDA tensors together: not "
                      "supported; write them as two frames");
    else if (gpu > 0)
        st = write_gpu(ctx, tensors, count, &p, dst, total, stream);
    else
        write_host(ctx, tensors, count, &p, dst);
    plan_free(ctx, &p);
    if (st == FSD_SUCCESS)
        fsd_clear_error();
    return st;
}
