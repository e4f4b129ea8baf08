/*
 * test_frame_parse.c — fsd_frame_open and the accessors: safetensors files written by others
 * (hand-made bytes, the layouts safetensors writes: tensors in any JSON order, empty and 0-d
 * tensors, metadata or none), and every kind of bad input with its status: truncated frames,
 * headers longer than the data, JSON that does not parse, repeated names, entries that
 * disagree with themselves or with the data (overlaps, gaps, backwards, past the end), the
 * fastserde keys, every single flipped bit of a fastserde frame, every truncation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fastserde.h"
#include "frame_ref.h"
#include "fsd_cases.h"
#include "fsdt_expect.h"

/* 8-byte length, `json`, then `dlen` bytes of data (0, 1, 2, ...). Free with free(). */
static unsigned char *make_frame(const char *json, size_t dlen, size_t *size)
{
    size_t n = strlen(json);
    *size = 8 + n + dlen;
    unsigned char *b = malloc(*size ? *size : 1);
    assert_non_null(b);
    fsdt_le64(b, n);
    memcpy(b + 8, json, n);
    for (size_t i = 0; i < dlen; i++)
        b[8 + n + i] = (unsigned char)i;
    return b;
}

static fsd_status open_json(const char *json, size_t dlen)
{
    size_t size;
    unsigned char *b = make_frame(json, dlen, &size);
    fsd_frame *f = (fsd_frame *)(uintptr_t)1;
    fsd_status st = fsd_frame_open(b, size, &f);
    if (st == FSD_SUCCESS)
        fsd_frame_close(f);
    else
        assert_null(f);
    free(b);
    return st;
}

#define EXPECT_JSON(json, dlen, want)                                                           \
    do {                                                                                      \
        fsd_status st_ = open_json((json), (dlen));                                           \
        char msg_[512];                                                                       \
        fsd_last_error(msg_, sizeof msg_);                                                    \
        if (st_ != (want))                                                                    \
            fail_msg("line %d: %s\n  got %s (%s)", __LINE__, (json), fsd_status_string(st_), msg_); \
    } while (0)

static void foreign_files(void **state)
{
    (void)state;
    /* as safetensors writes it: metadata first, then by dtype and name, padded with spaces */
    size_t size;
    unsigned char *b = make_frame(
        "{\"__metadata__\":{\"format\":\"pt\"},\"b\":{\"dtype\":\"I32\",\"shape\":[2,2],"
        "\"data_offsets\":[0,16]},\"a\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[16,19]},"
        "\"e\":{\"dtype\":\"F16\",\"shape\":[0,7],\"data_offsets\":[19,19]},"
        "\"s\":{\"dtype\":\"F8_E5M2\",\"shape\":[],\"data_offsets\":[19,20]}}   ", 20, &size);
    fsd_frame *f;
    EXPECT(fsd_frame_open(b, size, &f), FSD_SUCCESS);
    fsd_frame_summary s;
    EXPECT(fsd_frame_describe(f, &s), FSD_SUCCESS);
    assert_int_equal(s.tensors, 4);
    assert_int_equal(s.metadata, 1);
    assert_int_equal(s.fastserde, 0);
    assert_int_equal(s.checksums, 0);
    assert_null(s.kv_layout);
    assert_int_equal(s.kv_tokens, -1);
    assert_int_equal(s.data_bytes, 20);
    const char *names[4] = {"b", "a", "e", "s"};
    size_t offs[4] = {0, 16, 19, 19}, lens[4] = {16, 3, 0, 1};
    for (size_t i = 0; i < 4; i++) {
        fsd_frame_info in;
        EXPECT(fsd_frame_tensor_info(f, i, &in), FSD_SUCCESS);
        assert_string_equal(in.name, names[i]);
        assert_int_equal(in.offset, 8 + s.header_bytes + offs[i]);
        assert_int_equal(in.nbytes, lens[i]);
        assert_int_equal(in.has_checksum, 0);
        size_t idx;
        EXPECT(fsd_frame_find(f, names[i], &idx), FSD_SUCCESS);
        assert_int_equal(idx, i);
        EXPECT(fsd_frame_verify(NULL, f, i), FSD_SUCCESS); /* nothing to check */
    }
    fsd_frame_info in;
    EXPECT(fsd_frame_tensor_info(f, 3, &in), FSD_SUCCESS);
    assert_int_equal(in.ndim, 0);
    assert_true(in.dtype.code == FSD_DL_FLOAT8_E5M2 && in.dtype.bits == 8 && in.dtype.lanes == 1);
    EXPECT(fsd_frame_tensor_info(f, 0, &in), FSD_SUCCESS);
    assert_true(in.ndim == 2 && in.shape[0] == 2 && in.shape[1] == 2 && in.dtype.code == kDLInt);
    const char *k, *v;
    EXPECT(fsd_frame_metadata(f, 0, &k, &v), FSD_SUCCESS);
    assert_string_equal(k, "format");
    assert_string_equal(v, "pt");
    /* bad uses of the accessors */
    size_t idx;
    EXPECT(fsd_frame_find(f, "zz", &idx), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_frame_find(f, NULL, &idx), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_frame_tensor_info(f, 4, &in), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_frame_tensor_info(NULL, 0, &in), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_frame_tensor_info(f, 0, NULL), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_frame_metadata(f, 1, &k, &v), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_frame_describe(NULL, &s), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_frame_verify(NULL, f, 4), FSD_ERROR_INVALID_ARGUMENT);
    fsd_frame_close(f);
    fsd_frame_close(NULL);
    free(b);
    /* the smallest files: no tensor, no metadata; tensors listed against their offsets' order */
    EXPECT_JSON("{}", 0, FSD_SUCCESS);
    EXPECT_JSON("{}      ", 0, FSD_SUCCESS);
    EXPECT_JSON("{\"__metadata__\":{}}", 0, FSD_SUCCESS);
    EXPECT_JSON("{\"y\":{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[1,2]},"
                "\"x\":{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[0,1],\"extra\":3}}", 2, FSD_SUCCESS);
    EXPECT(fsd_frame_open(NULL, 0, NULL), FSD_ERROR_INVALID_ARGUMENT);
    fsd_frame *g;
    EXPECT(fsd_frame_open(NULL, 8, &g), FSD_ERROR_INVALID_ARGUMENT);
}

static void bad_headers(void **state)
{
    (void)state;
    const char *T = "\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
    char buf[512];
    struct { const char *json; size_t dlen; fsd_status want; } cases[] = {
        {"", 0, FSD_ERROR_CORRUPT},
        {" {}", 0, FSD_ERROR_CORRUPT},                               /* not starting with { */
        {"[]", 0, FSD_ERROR_CORRUPT},
        {"{", 0, FSD_ERROR_CORRUPT},
        {"{}x", 0, FSD_ERROR_CORRUPT},                               /* trailing garbage */
        {"{\"a\":1,}", 0, FSD_ERROR_CORRUPT},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, FSD_ERROR_CORRUPT}, /* repeated name */
        {"{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}}", 0, FSD_ERROR_CORRUPT},
        {"{\"__metadata__\":[]}", 0, FSD_ERROR_CORRUPT},
        {"{\"__metadata__\":{\"a\":1}}", 0, FSD_ERROR_CORRUPT},
        {"{\"t\":3}", 0, FSD_ERROR_CORRUPT},
        {"{\"t\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, FSD_ERROR_CORRUPT},
        {"{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, FSD_ERROR_CORRUPT},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, FSD_ERROR_CORRUPT},
        {"{\"t\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, FSD_ERROR_CORRUPT},
        {"{\"t\":{\"dtype\":\"F8_E8M0\",\"shape\":[8],\"data_offsets\":[0,8]}}", 8, FSD_ERROR_UNSUPPORTED},
        {"{\"t\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, FSD_ERROR_UNSUPPORTED},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, FSD_ERROR_CORRUPT},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8, FSD_ERROR_CORRUPT},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8, FSD_ERROR_CORRUPT},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[9223372036854775808],\"data_offsets\":[0,8]}}", 8, FSD_ERROR_CORRUPT},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", 8, FSD_ERROR_OVERFLOW},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,9]}}", 8, FSD_ERROR_CORRUPT},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, FSD_ERROR_CORRUPT},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, FSD_ERROR_CORRUPT}, /* backwards */
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,-8]}}", 8, FSD_ERROR_CORRUPT},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, FSD_ERROR_CORRUPT}, /* shape vs offsets */
        {"{\"t\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, FSD_ERROR_CORRUPT}, /* dtype vs offsets */
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 9, FSD_ERROR_CORRUPT}, /* bytes left over */
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 7, FSD_ERROR_CORRUPT}, /* past the data */
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[1,9]}}", 9, FSD_ERROR_CORRUPT}, /* a gap */
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"u\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, FSD_ERROR_CORRUPT}, /* overlap */
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"u\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, FSD_ERROR_CORRUPT}, /* the same bytes */
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,"
         "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}",
         4, FSD_ERROR_UNSUPPORTED}, /* 65 dims */
        {"{\"\xc3\x28\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, FSD_ERROR_CORRUPT}, /* bad UTF-8 */
        {"{\"a\\u0000b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, FSD_ERROR_CORRUPT},
        {"{\"__metadata__\":{\"k\":\"a\\u0000b\"}}", 0, FSD_ERROR_CORRUPT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        EXPECT_JSON(cases[i].json, cases[i].dlen, cases[i].want);
    snprintf(buf, sizeof buf, "{%s}", T);
    EXPECT_JSON(buf, 8, FSD_SUCCESS);
    /* a NUL byte inside the header */
    size_t size;
    unsigned char *b = make_frame("{}      ", 0, &size);
    b[10] = 0;
    fsd_frame *f;
    EXPECT(fsd_frame_open(b, size, &f), FSD_ERROR_CORRUPT);
    free(b);
}

static void bad_lengths(void **state)
{
    (void)state;
    unsigned char small[16] = {0};
    fsd_frame *f;
    for (size_t n = 0; n < 8; n++)
        EXPECT(fsd_frame_open(small, n, &f), FSD_ERROR_CORRUPT);
    fsdt_le64(small, 9); /* a header of 9 bytes, 8 follow */
    memcpy(small + 8, "{}      ", 8);
    EXPECT(fsd_frame_open(small, 16, &f), FSD_ERROR_CORRUPT);
    fsdt_le64(small, UINT64_MAX);
    EXPECT(fsd_frame_open(small, 16, &f), FSD_ERROR_CORRUPT);
    /* longer than FSD_FRAME_MAX_HEADER, with the bytes there: refused before they are read */
    size_t n = FSD_FRAME_MAX_HEADER + 1;
    unsigned char *big = calloc(1, 8 + n);
    assert_non_null(big);
    fsdt_le64(big, n);
    EXPECT(fsd_frame_open(big, 8 + n, &f), FSD_ERROR_UNSUPPORTED);
    free(big);
}

/* A fastserde frame of two tensors; its size in *size. */
static unsigned char *fastserde_frame(size_t *size, fsd_frame_checksum cs)
{
    static float a[6] = {1, 2, 3, 4, 5, 6};
    static uint8_t c[3] = {7, 8, 9};
    static int64_t sa[2] = {2, 3}, sc[1] = {3};
    DLTensor ta = {.data = a, .device = {kDLCPU, 0}, .ndim = 2, .dtype = {kDLFloat, 32, 1}, .shape = sa};
    DLTensor tc = {.data = c, .device = {kDLCPU, 0}, .ndim = 1, .dtype = {kDLUInt, 8, 1}, .shape = sc};
    fsd_frame_tensor ts[2] = {{"a", &ta}, {"c", &tc}};
    fsd_frame_options o = FSD_FRAME_OPTIONS_INIT;
    o.checksum = cs;
    o.kv_layout = "KV_2LTD";
    o.kv_tokens = 3;
    fsd_frame_pair md[1] = {{"format", "pt"}};
    o.metadata = md;
    o.metadata_count = 1;
    EXPECT(fsd_frame_size(ts, 2, &o, size), FSD_SUCCESS);
    unsigned char *b = malloc(*size);
    EXPECT(fsd_frame_write(NULL, ts, 2, &o, b, *size, NULL), FSD_SUCCESS);
    return b;
}

/* Opens and verifies every tensor: the first error, or success. */
static fsd_status open_verify(const unsigned char *b, size_t size, int *stage)
{
    fsd_frame *f;
    fsd_status st = fsd_frame_open(b, size, &f);
    *stage = 0;
    if (st != FSD_SUCCESS)
        return st;
    *stage = 1;
    fsd_frame_summary s;
    EXPECT(fsd_frame_describe(f, &s), FSD_SUCCESS);
    for (size_t i = 0; i < s.tensors && st == FSD_SUCCESS; i++)
        st = fsd_frame_verify(NULL, f, i);
    fsd_frame_close(f);
    return st;
}

/* Every single flipped bit of a fastserde frame is found: in the data, in a checksum or in the
 * header's length as FSD_ERROR_CORRUPT; elsewhere in the header as CORRUPT, or UNSUPPORTED where the flip makes a
 * name fastserde does not know (a dtype, the version, the algorithm), or OVERFLOW (a shape). */
static void every_bit_flip(void **state)
{
    (void)state;
    size_t size;
    unsigned char *b = fastserde_frame(&size, FSD_FRAME_CHECKSUM_XXH3_1K);
    int stage;
    EXPECT(open_verify(b, size, &stage), FSD_SUCCESS);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | b[i];
    const char *hdr = (const char *)b + 8;
    int counts[2] = {0, 0};
    for (size_t byte = 0; byte < size; byte++) {
        /* is this byte one of a checksum's 16 hex digits? */
        int in_sum = 0;
        if (byte >= 8 && byte < 8 + n) {
            for (const char *p = hdr; (p = strstr(p, "xxh3-1k:")) != NULL && p < hdr + n; p++)
                if (byte >= (size_t)(p + 8 - hdr) + 8 && byte < (size_t)(p + 24 - hdr) + 8)
                    in_sum = 1;
        }
        int in_data = byte >= 8 + n;
        for (int bit = 0; bit < 8; bit++) {
            b[byte] ^= (unsigned char)(1u << bit);
            fsd_status st = open_verify(b, size, &stage);
            b[byte] ^= (unsigned char)(1u << bit);
            int ok = (in_sum || in_data || byte < 8) ? st == FSD_ERROR_CORRUPT
                                         : st == FSD_ERROR_CORRUPT || st == FSD_ERROR_UNSUPPORTED ||
                                               st == FSD_ERROR_OVERFLOW;
            if (!ok)
                fail_msg("bit %d of byte %zu (%s) flipped: %s", bit, byte,
                         in_data ? "data" : in_sum ? "checksum" : byte < 8 ? "length" : "header",
                         fsd_status_string(st));
            counts[stage]++;
        }
    }
    print_message("flips: %d refused by fsd_frame_open, %d by fsd_frame_verify\n", counts[0], counts[1]);
    /* every truncation and one byte more */
    for (size_t k = 0; k < size; k++)
        if (open_verify(b, k, &stage) != FSD_ERROR_CORRUPT)
            fail_msg("truncated to %zu of %zu bytes: not CORRUPT", k, size);
    unsigned char *longer = malloc(size + 1);
    memcpy(longer, b, size);
    longer[size] = 0;
    EXPECT(open_verify(longer, size + 1, &stage), FSD_ERROR_CORRUPT);
    free(longer);
    free(b);
}

/* A frame from fastserde with one JSON edit; the status it must give. */
static void edited(const char *from, const char *to, fsd_status want, fsd_frame_checksum cs)
{
    size_t size;
    unsigned char *b = fastserde_frame(&size, cs);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | b[i];
    char json[2048];
    assert_true(n < sizeof json);
    memcpy(json, b + 8, n);
    json[n] = '\0';
    char *p = strstr(json, from);
    if (p == NULL)
        fail_msg("\"%s\" not in %s", from, json);
    char out[2048];
    snprintf(out, sizeof out, "%.*s%s%s", (int)(p - json), json, to, p + strlen(from));
    size_t dlen = size - 8 - n, osize;
    unsigned char *c = make_frame(out, dlen, &osize);
    memcpy(c + 8 + strlen(out), b + 8 + n, dlen);
    int stage;
    fsd_status st = open_verify(c, osize, &stage);
    char msg[512];
    fsd_last_error(msg, sizeof msg);
    if (st != want)
        fail_msg("\"%s\" -> \"%s\": %s (%s)", from, to, fsd_status_string(st), msg);
    free(b);
    free(c);
}

static void fastserde_keys(void **state)
{
    (void)state;
    const fsd_frame_checksum X = FSD_FRAME_CHECKSUM_XXH3_1K, N = FSD_FRAME_CHECKSUM_NONE;
    edited("\"fastserde.frame\":\"1\",", "", FSD_ERROR_CORRUPT, X);
    edited("\"fastserde.frame\":\"1\",", "", FSD_ERROR_CORRUPT, N);
    edited("\"fastserde.frame\":\"1\"", "\"fastserde.frame\":\"2\"", FSD_ERROR_UNSUPPORTED, X);
    edited("\"fastserde.frame\":\"1\"", "\"fastserde.frame\":\"one\"", FSD_ERROR_CORRUPT, X);
    edited("\"fastserde.checksum\":\"xxh3-1k\",", "", FSD_ERROR_CORRUPT, X);
    edited("\"fastserde.checksum\":\"none\",", "", FSD_ERROR_CORRUPT, N);
    edited("\"fastserde.checksum\":\"xxh3-1k\"", "\"fastserde.checksum\":\"crc32c\"", FSD_ERROR_UNSUPPORTED, X);
    edited("\"fastserde.checksum\":\"none\"", "\"fastserde.checksum\":\"xxh3-1k\"", FSD_ERROR_CORRUPT, N);
    edited("\"fastserde.checksum\":\"xxh3-1k\"", "\"fastserde.checksum\":\"none\"", FSD_ERROR_CORRUPT, X);
    edited("\"fastserde.checksum.a\"", "\"fastserde.checksum.b\"", FSD_ERROR_CORRUPT, X);
    edited("\"fastserde.checksum.a\"", "\"fastserde.checksum.c\"", FSD_ERROR_CORRUPT, X); /* repeated key */
    edited("\"fastserde.checksum.a\"", "\"fastserde.checksun.a\"", FSD_ERROR_CORRUPT, X);
    edited("\"fastserde.checksum.a\"", "\"fastserde_checksum.a\"", FSD_ERROR_CORRUPT, X);
    edited("\"fastserde.kv_tokens\":\"3\"", "\"fastserde.kv_tokens\":\"03\"", FSD_ERROR_CORRUPT, X);
    edited("\"fastserde.kv_tokens\":\"3\"", "\"fastserde.kv_tokens\":\"-3\"", FSD_ERROR_CORRUPT, N);
    edited("\"fastserde.kv_tokens\":\"3\"", "\"fastserde.kv_tokens\":\"4\"", FSD_ERROR_CORRUPT, X);
    edited("\"fastserde.kv_layout\":\"KV_2LTD\"", "\"fastserde.kv_layout\":\"\"", FSD_ERROR_CORRUPT, N);
    edited("\"fastserde.kv_layout\":\"KV_2LTD\"", "\"fastserde.kv_layout\":\"KV_2TLD\"", FSD_ERROR_CORRUPT, X);
    edited("\"format\":\"pt\"", "\"format\":\"np\"", FSD_ERROR_CORRUPT, X);    /* metadata checksum */
    edited("\"format\":\"pt\"", "\"format\":\"np\"", FSD_SUCCESS, N);          /* not covered */
    edited("\"format\":\"pt\"", "\"format\":\"pt\",\"x\":\"y\"", FSD_ERROR_CORRUPT, X);
    edited("\"format\":\"pt\"", "\"fastserde.extra\":\"pt\"", FSD_ERROR_CORRUPT, N);
    edited("xxh3-1k:", "xxh3-1k:0", FSD_ERROR_CORRUPT, X);                 /* 17 digits */
    edited("\"shape\":[2,3]", "\"shape\":[3,2]", FSD_ERROR_CORRUPT, X);    /* same size, found */
    edited("\"shape\":[2,3]", "\"shape\":[3,2]", FSD_SUCCESS, N);
    edited("\"a\":{", "\"b\":{", FSD_ERROR_CORRUPT, X);                    /* renamed tensor */
    /* without any fastserde key: a frame of others' (loads, unchecked) */
    edited("\"fastserde.frame\":\"1\",\"fastserde.checksum\":\"none\",\"fastserde.kv_layout\":"
           "\"KV_2LTD\",\"fastserde.kv_tokens\":\"3\",", "", FSD_SUCCESS, N);
}

int main(void)
{
    (void)fsdt_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(foreign_files),  cmocka_unit_test(bad_headers),
        cmocka_unit_test(bad_lengths),    cmocka_unit_test(every_bit_flip),
        cmocka_unit_test(fastserde_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
