/*
 * frame_parse.c — fsd_frame_open and the accessors (see fastserde.h, docs/frames.md). The
 * header is untrusted input: its length is bounded before anything is read, jansson parses the
 * JSON (UTF-8 checked, NUL bytes refused, repeated keys refused, integers exact in 64 bits), and
 * every fact is checked before the frame is handed out. What the frame keeps is copied out of
 * jansson's tree into one allocation, so the tree is freed before fsd_frame_open returns.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "frame.h"

/* One tensor entry as parsed, before the copy into the frame's block. */
typedef struct raw_entry {
    const char *name;
    size_t name_len;
    size_t json_index;
    json_t *shape;
    DLDataType dtype;
    const char *dtype_name;
    uint64_t begin, end;
} raw_entry;

#define CORRUPT(...) fsd_fail(FSD_ERROR_CORRUPT, __VA_ARGS__)

/* A non-negative integer, exact (jansson keeps integers in 64 bits, and refuses larger ones). */
static int nonneg(const json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return 0;
    *out = (uint64_t)json_integer_value(v);
    return 1;
}

static int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static fsd_status parse_entry(const char *name, json_t *v, raw_entry *e)
{
    e->name = name;
    e->name_len = strlen(name);
    if (!json_is_object(v))
        return CORRUPT("frame header: \"%.48s\" is not an object", name);
    json_t *dtype = json_object_get(v, "dtype");
    json_t *shape = json_object_get(v, "shape");
    json_t *offsets = json_object_get(v, "data_offsets");
    if (!json_is_string(dtype) || !json_is_array(shape) || !json_is_array(offsets))
        return CORRUPT("frame header: tensor \"%.48s\" lacks a string dtype, a shape array or a "
                       "data_offsets array", name);
    if (!fsd_frame_dtype_from_name(json_string_value(dtype), json_string_length(dtype), &e->dtype))
        return fsd_fail(FSD_ERROR_UNSUPPORTED, "frame header: tensor \"%.48s\" has dtype \"%.16s\", "
                        "which fastserde does not map", name, json_string_value(dtype));
    e->dtype_name = fsd_frame_dtype_name(e->dtype);
    size_t ndim = json_array_size(shape);
    if (ndim > FSD_FRAME_MAX_DIMS)
        return fsd_fail(FSD_ERROR_UNSUPPORTED, "frame header: tensor \"%.48s\" has %zu dimensions "
                        "(at most %d)", name, ndim, FSD_FRAME_MAX_DIMS);
    uint64_t bytes = e->dtype.bits / 8;
    int zero = 0;
    for (size_t d = 0; d < ndim; d++) {
        uint64_t n;
        if (!nonneg(json_array_get(shape, d), &n))
            return CORRUPT("frame header: tensor \"%.48s\": shape[%zu] is not a non-negative "
                           "integer", name, d);
        if (n == 0)
            zero = 1;
        else if (!zero && bytes > (uint64_t)INT64_MAX / n)
            return fsd_fail(FSD_ERROR_OVERFLOW, "frame header: tensor \"%.48s\": its size exceeds "
                            "2^63 - 1 bytes", name);
        else
            bytes *= n;
    }
    if (zero)
        bytes = 0;
    e->shape = shape;
    if (json_array_size(offsets) != 2 || !nonneg(json_array_get(offsets, 0), &e->begin) ||
        !nonneg(json_array_get(offsets, 1), &e->end))
        return CORRUPT("frame header: tensor \"%.48s\": data_offsets is not two non-negative "
                       "integers", name);
    if (e->end < e->begin)
        return CORRUPT("frame header: tensor \"%.48s\": data_offsets [%" PRIu64 ", %" PRIu64 "] "
                       "run backwards", name, e->begin, e->end);
    if (e->end - e->begin != bytes)
        return CORRUPT("frame header: tensor \"%.48s\": data_offsets span %" PRIu64 " bytes, its "
                       "dtype and shape %" PRIu64, name, e->end - e->begin, bytes);
    return FSD_SUCCESS;
}

static int by_offsets(const void *a, const void *b)
{
    const raw_entry *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return (x->json_index > y->json_index) - (x->json_index < y->json_index);
}

static int by_name(const void *a, const void *b)
{
    const fsd_frame_entry *x = *(const fsd_frame_entry *const *)a;
    const fsd_frame_entry *y = *(const fsd_frame_entry *const *)b;
    return strcmp(x->name, y->name);
}

/* Copies s into the block's string area. */
static const char *keep(char **strings, const char *s, size_t n)
{
    char *p = *strings;
    memcpy(p, s, n);
    p[n] = '\0';
    *strings += n + 1;
    return p;
}

/* kv_tokens: decimal, no sign, no leading zero, at most INT64_MAX. */
static int parse_tokens(const char *s, int64_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX)
        return 0;
    *out = (int64_t)v;
    return 1;
}

/* fastserde's pairs of __metadata__ (docs/frames.md). `byname` holds the entries sorted by
 * name; `scratch` room for meta_count pointers. */
static fsd_status check_fastserde(fsd_frame *f, fsd_frame_entry **byname, const fsd_frame_kv **scratch)
{
    const char *version = NULL, *algo = NULL, *meta_sum = NULL;
    for (size_t i = 0; i < f->meta_count; i++) {
        const char *k = f->meta[i].key, *v = f->meta[i].value;
        if (!has_prefix(k, FSD_FRAME_KEY_PREFIX))
            continue;
        f->fastserde = 1;
        if (strcmp(k, FSD_FRAME_KEY_FORMAT) == 0) {
            version = v;
        } else if (strcmp(k, FSD_FRAME_KEY_ALGORITHM) == 0) {
            algo = v;
        } else if (strcmp(k, FSD_FRAME_KEY_KV_LAYOUT) == 0) {
            size_t n = strlen(v);
            int ok = n >= 1 && n <= FSD_FRAME_MAX_KV_LAYOUT;
            for (size_t c = 0; ok && c < n; c++)
                ok = v[c] >= 0x20 && v[c] <= 0x7E;
            if (!ok)
                return CORRUPT("frame metadata: " FSD_FRAME_KEY_KV_LAYOUT " is not 1..%d "
                               "printable ASCII bytes", FSD_FRAME_MAX_KV_LAYOUT);
            f->kv_layout = v;
        } else if (strcmp(k, FSD_FRAME_KEY_KV_TOKENS) == 0) {
            if (!parse_tokens(v, &f->kv_tokens))
                return CORRUPT("frame metadata: " FSD_FRAME_KEY_KV_TOKENS " \"%.24s\" is not a "
                               "decimal count", v);
        } else if (!has_prefix(k, FSD_FRAME_KEY_CHECKSUM)) {
            return CORRUPT("frame metadata: unknown fastserde key \"%.48s\"", k);
        }
    }
    if (!f->fastserde)
        return FSD_SUCCESS;
    if (version == NULL)
        return CORRUPT("frame metadata: fastserde keys without " FSD_FRAME_KEY_FORMAT);
    if (strcmp(version, FSD_FRAME_VERSION) != 0) {
        int64_t n;
        if (parse_tokens(version, &n) && n > 1)
            return fsd_fail(FSD_ERROR_UNSUPPORTED, "a fastserde frame of version %.24s; this "
                            "library reads version " FSD_FRAME_VERSION, version);
        return CORRUPT("frame metadata: " FSD_FRAME_KEY_FORMAT " is \"%.24s\"", version);
    }
    if (algo == NULL)
        return CORRUPT("frame metadata: no " FSD_FRAME_KEY_ALGORITHM);
    if (strcmp(algo, FSD_FRAME_ALGO_XXH3) == 0)
        f->checksums = 1;
    else if (strcmp(algo, FSD_FRAME_ALGO_NONE) != 0)
        return fsd_fail(FSD_ERROR_UNSUPPORTED, "frame checksum algorithm \"%.24s\" is not "
                        FSD_FRAME_ALGO_XXH3 " or " FSD_FRAME_ALGO_NONE, algo);
    const size_t plen = sizeof FSD_FRAME_KEY_CHECKSUM - 1;
    for (size_t i = 0; i < f->meta_count; i++) {
        const char *k = f->meta[i].key, *v = f->meta[i].value;
        if (!has_prefix(k, FSD_FRAME_KEY_CHECKSUM))
            continue;
        if (!f->checksums)
            return CORRUPT("frame metadata: \"%.48s\" in a frame without checksums", k);
        uint64_t value;
        if (!fsd_frame_parse_checksum(v, strlen(v), &value))
            return CORRUPT("frame metadata: \"%.48s\" is not \"" FSD_FRAME_ALGO_XXH3 ":\" and 16 "
                           "hex digits", k);
        if (strcmp(k + plen, FSD_FRAME_METADATA) == 0) {
            meta_sum = v;
            continue;
        }
        fsd_frame_entry key = {.name = k + plen};
        const fsd_frame_entry *kp = &key;
        fsd_frame_entry **hit = f->count ? bsearch(&kp, byname, f->count, sizeof *byname, by_name) : NULL;
        if (hit == NULL)
            return CORRUPT("frame metadata: a checksum for \"%.48s\", which the frame does not hold",
                           k + plen);
        (*hit)->has_checksum = 1;
        (*hit)->checksum = value;
    }
    if (!f->checksums)
        return FSD_SUCCESS;
    for (size_t i = 0; i < f->count; i++)
        if (!f->entries[i].has_checksum)
            return CORRUPT("frame metadata: no checksum for tensor \"%.48s\"", f->entries[i].name);
    uint64_t want;
    if (meta_sum == NULL)
        return CORRUPT("frame metadata: no " FSD_FRAME_KEY_CHECKSUM FSD_FRAME_METADATA);
    (void)fsd_frame_parse_checksum(meta_sum, strlen(meta_sum), &want);
    if (fsd_frame_metadata_checksum(f->meta, f->meta_count, scratch) != want)
        return CORRUPT("frame metadata: its checksum does not match");
    return FSD_SUCCESS;
}

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

/* The tensors (sorted by offsets) and the metadata copied into one block with the frame. */
static fsd_status build(const char *data, size_t size, size_t header_bytes, raw_entry *raw,
                        size_t count, json_t *meta, fsd_frame **out)
{
    size_t m = meta ? json_object_size(meta) : 0;
    size_t strings = 0, dims = 0;
    for (size_t i = 0; i < count; i++) {
        strings += raw[i].name_len + 1;
        dims += json_array_size(raw[i].shape);
    }
    for (void *it = meta ? json_object_iter(meta) : NULL; it; it = json_object_iter_next(meta, it))
        strings += json_object_iter_key_len(it) + 1 + json_string_length(json_object_iter_value(it)) + 1;
    size_t o_entries = align8(sizeof(fsd_frame));
    size_t o_meta = o_entries + align8(count * sizeof(fsd_frame_entry));
    size_t o_dims = o_meta + align8(m * sizeof(fsd_frame_kv));
    size_t o_scratch = o_dims + dims * sizeof(int64_t);
    size_t o_strings = o_scratch + (count + m) * sizeof(void *);
    char *block = malloc(o_strings + strings);
    if (block == NULL)
        return fsd_fail(FSD_ERROR_OUT_OF_MEMORY, "fsd_frame_open: no memory for %zu bytes",
                        o_strings + strings);
    fsd_frame *f = (fsd_frame *)(void *)block;
    memset(f, 0, sizeof *f);
    f->data = data;
    f->size = size;
    f->header_bytes = header_bytes;
    f->data_start = 8 + header_bytes;
    f->count = count;
    f->entries = (fsd_frame_entry *)(void *)(block + o_entries);
    f->meta_count = m;
    f->meta = (fsd_frame_kv *)(void *)(block + o_meta);
    f->kv_tokens = -1;
    int64_t *shapes = (int64_t *)(void *)(block + o_dims);
    fsd_frame_entry **byname = (fsd_frame_entry **)(void *)(block + o_scratch);
    const fsd_frame_kv **scratch = (const fsd_frame_kv **)(void *)(byname + count);
    char *s = block + o_strings;
    for (size_t i = 0; i < count; i++) {
        fsd_frame_entry *e = &f->entries[i];
        memset(e, 0, sizeof *e);
        e->name = keep(&s, raw[i].name, raw[i].name_len);
        e->name_len = raw[i].name_len;
        e->dtype = raw[i].dtype;
        e->dtype_name = raw[i].dtype_name;
        e->ndim = (int32_t)json_array_size(raw[i].shape);
        e->shape = e->ndim ? shapes : NULL;
        for (int32_t d = 0; d < e->ndim; d++)
            *shapes++ = (int64_t)json_integer_value(json_array_get(raw[i].shape, (size_t)d));
        e->begin = f->data_start + raw[i].begin;
        e->end = f->data_start + raw[i].end;
        byname[i] = e;
    }
    size_t k = 0;
    for (void *it = meta ? json_object_iter(meta) : NULL; it; it = json_object_iter_next(meta, it), k++) {
        json_t *v = json_object_iter_value(it);
        f->meta[k].key = keep(&s, json_object_iter_key(it), json_object_iter_key_len(it));
        f->meta[k].value = keep(&s, json_string_value(v), json_string_length(v));
    }
    if (count > 1)
        qsort(byname, count, sizeof *byname, by_name);
    fsd_status st = check_fastserde(f, byname, scratch);
    if (st != FSD_SUCCESS) {
        free(block);
        return st;
    }
    *out = f;
    return FSD_SUCCESS;
}

/* The tensors' entries and the metadata's shape, then the offsets against the data. */
static fsd_status check_header(json_t *root, size_t data_bytes, raw_entry *raw, size_t count,
                               json_t **meta)
{
    size_t i = 0, index = 0;
    *meta = NULL;
    for (void *it = json_object_iter(root); it; it = json_object_iter_next(root, it), index++) {
        const char *key = json_object_iter_key(it);
        json_t *v = json_object_iter_value(it);
        if (strcmp(key, FSD_FRAME_METADATA) == 0) {
            if (!json_is_object(v))
                return CORRUPT("frame header: " FSD_FRAME_METADATA " is not an object");
            for (void *mi = json_object_iter(v); mi; mi = json_object_iter_next(v, mi))
                if (!json_is_string(json_object_iter_value(mi)))
                    return CORRUPT("frame header: " FSD_FRAME_METADATA " value of \"%.48s\" is not "
                                   "a string", json_object_iter_key(mi));
            *meta = v;
            continue;
        }
        fsd_status st = parse_entry(key, v, &raw[i]);
        if (st != FSD_SUCCESS)
            return st;
        raw[i++].json_index = index;
    }
    if (i != count)
        return fsd_fail(FSD_ERROR_INTERNAL, "frame header: %zu entries, expected %zu", i, count);
    if (count > 1)
        qsort(raw, count, sizeof *raw, by_offsets);
    uint64_t at = 0;
    for (i = 0; i < count; i++) {
        if (raw[i].begin != at)
            return CORRUPT("frame header: tensor \"%.48s\" starts at data offset %" PRIu64 ", "
                           "where %s", raw[i].name, raw[i].begin,
                           raw[i].begin < at ? "an earlier tensor's bytes lie (overlap)"
                                             : "no tensor ends (a gap)");
        at = raw[i].end;
    }
    if (at != data_bytes)
        return CORRUPT("frame header: the tensors cover %" PRIu64 " bytes of data, the frame "
                       "holds %zu", at, data_bytes);
    return FSD_SUCCESS;
}

fsd_status fsd_frame_open(const void *data, size_t size, fsd_frame **frame)
{
    if (frame == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "frame is NULL");
    *frame = NULL;
    if (data == NULL && size > 0)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "data is NULL but size is %zu", size);
    if (size < 8)
        return CORRUPT("a frame of %zu bytes: the header length alone takes 8", size);
    const unsigned char *b = data;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | b[i];
    /* A length past the data first: a damaged length is CORRUPT, whatever its size. */
    if (n > size - 8)
        return CORRUPT("a frame header of %" PRIu64 " bytes, but only %zu bytes follow", n, size - 8);
    if (n > FSD_FRAME_MAX_HEADER)
        return fsd_fail(FSD_ERROR_UNSUPPORTED, "a frame header of %" PRIu64 " bytes (at most %zu)",
                        n, FSD_FRAME_MAX_HEADER);
    const char *header = (const char *)data + 8;
    if (n == 0 || header[0] != '{')
        return CORRUPT("the frame header does not start with '{'");
    json_error_t err;
    json_t *root = json_loadb(header, (size_t)n, JSON_REJECT_DUPLICATES, &err);
    if (root == NULL)
        return CORRUPT("frame header: %.120s (line %d, column %d)", err.text, err.line, err.column);
    fsd_status st = FSD_SUCCESS;
    raw_entry *raw = NULL;
    size_t count = json_object_size(root);
    if (!json_is_object(root)) {
        st = CORRUPT("the frame header is not a JSON object");
    } else {
        if (json_object_get(root, FSD_FRAME_METADATA) != NULL)
            count--;
        raw = malloc((count ? count : 1) * sizeof *raw);
        if (raw == NULL)
            st = fsd_fail(FSD_ERROR_OUT_OF_MEMORY, "fsd_frame_open: no memory for %zu entries", count);
    }
    json_t *meta = NULL;
    if (st == FSD_SUCCESS)
        st = check_header(root, size - 8 - (size_t)n, raw, count, &meta);
    if (st == FSD_SUCCESS)
        st = build(data, size, (size_t)n, raw, count, meta, frame);
    free(raw);
    json_decref(root);
    if (st == FSD_SUCCESS)
        fsd_clear_error();
    return st;
}

void fsd_frame_close(fsd_frame *frame)
{
    free(frame); /* the frame and everything it holds are one block */
}

fsd_status fsd_frame_describe(const fsd_frame *f, fsd_frame_summary *s)
{
    if (f == NULL || s == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "frame or summary is NULL");
    s->tensors = f->count;
    s->metadata = f->meta_count;
    s->header_bytes = f->header_bytes;
    s->data_bytes = f->size - f->data_start;
    s->fastserde = f->fastserde;
    s->checksums = f->checksums;
    s->kv_layout = f->kv_layout;
    s->kv_tokens = f->kv_tokens;
    fsd_clear_error();
    return FSD_SUCCESS;
}

fsd_status fsd_frame_tensor_info(const fsd_frame *f, size_t index, fsd_frame_info *info)
{
    if (f == NULL || info == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "frame or info is NULL");
    if (index >= f->count)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "tensor %zu of a frame of %zu", index, f->count);
    const fsd_frame_entry *e = &f->entries[index];
    info->name = e->name;
    info->dtype = e->dtype;
    info->ndim = e->ndim;
    info->shape = e->shape;
    info->offset = (size_t)e->begin;
    info->nbytes = (size_t)(e->end - e->begin);
    info->has_checksum = e->has_checksum;
    fsd_clear_error();
    return FSD_SUCCESS;
}

fsd_status fsd_frame_find(const fsd_frame *f, const char *name, size_t *index)
{
    if (f == NULL || name == NULL || index == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "frame, name or index is NULL");
    for (size_t i = 0; i < f->count; i++) {
        if (strcmp(f->entries[i].name, name) == 0) {
            *index = i;
            fsd_clear_error();
            return FSD_SUCCESS;
        }
    }
    return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "the frame holds no tensor \"%.48s\"", name);
}

fsd_status fsd_frame_metadata(const fsd_frame *f, size_t index, const char **key, const char **value)
{
    if (f == NULL || key == NULL || value == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "frame, key or value is NULL");
    if (index >= f->meta_count)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "metadata pair %zu of %zu", index, f->meta_count);
    *key = f->meta[index].key;
    *value = f->meta[index].value;
    fsd_clear_error();
    return FSD_SUCCESS;
}
