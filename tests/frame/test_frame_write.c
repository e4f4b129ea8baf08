/*
 * test_frame_write.c — fsd_frame_size and fsd_frame_write through the public API: the exact
 * bytes of a known frame (header JSON, padding, offsets, checksums against frame_ref.h), every
 * mapped dtype and the refused ones, names that need escaping, the options, and every bad
 * argument with its status and nothing written.
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

static DLTensor host_tensor(void *data, int ndim, int64_t *shape, int64_t *strides, DLDataType dt)
{
    DLTensor t = {.data = data, .device = {kDLCPU, 0}, .ndim = ndim, .dtype = dt,
                  .shape = shape, .strides = strides, .byte_offset = 0};
    return t;
}

/* The frame of `n` tensors written into a guarded buffer; checks size == bytes written and
 * the guards. Returns the buffer (fsdt_guarded_free) and its size. */
static unsigned char *write_frame(fsd_context *ctx, const fsd_frame_tensor *ts, size_t n,
                                  const fsd_frame_options *o, size_t *size)
{
    EXPECT(fsd_frame_size(ts, n, o, size), FSD_SUCCESS);
    unsigned char *buf = fsdt_guarded_alloc(*size + 16, 0xEE);
    EXPECT(fsd_frame_write(ctx, ts, n, o, buf, *size + 16, NULL), FSD_SUCCESS);
    assert_true(fsdt_guards_intact(buf, *size + 16));
    assert_true(fsdt_all_equal(buf + *size, 16, 0xEE)); /* nothing past the frame */
    return buf;
}

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void known_frame(void **state)
{
    (void)state;
    float m[3][4];
    for (int i = 0; i < 12; i++)
        m[i / 4][i % 4] = (float)i;
    int64_t shape[2] = {4, 3}, strides[2] = {1, 4}, s5[1] = {5};
    uint16_t h[5] = {1, 2, 3, 4, 5};
    DLTensor t = host_tensor(m, 2, shape, strides, (DLDataType){kDLFloat, 32, 1});
    DLTensor u = host_tensor(h, 1, s5, NULL, (DLDataType){kDLBfloat, 16, 1});
    fsd_frame_tensor ts[2] = {{"m.T", &t}, {"h", &u}};
    fsd_frame_options o = FSD_FRAME_OPTIONS_INIT;
    o.kv_layout = "KV_2LTD";
    o.kv_tokens = 256;
    fsd_frame_pair md[1] = {{"format", "pt"}};
    o.metadata = md;
    o.metadata_count = 1;
    size_t size;
    unsigned char *buf = write_frame(NULL, ts, 2, &o, &size);
    uint64_t n = le64(buf);
    assert_true((8 + n) % 64 == 0 && 8 + n + 48 + 10 == size); /* the data on a cache line */
    float mt[12];
    for (int i = 0; i < 12; i++)
        mt[i] = (float)(i % 3 * 4 + i / 3); /* m transposed, row-major */
    char cm[17], ch[17], cmeta[17];
    snprintf(cm, sizeof cm, "%016llx", (unsigned long long)fsdt_ref_checksum(
        "m.T", "F32", shape, 2, (const unsigned char *)mt, 48));
    snprintf(ch, sizeof ch, "%016llx", (unsigned long long)fsdt_ref_checksum(
        "h", "BF16", s5, 1, (const unsigned char *)h, 10));
    /* the metadata checksum: its pairs by key, without the checksum keys */
    const char pairs[] = "fastserde.checksum\0xxh3-1k\0fastserde.frame\0" "1\0"
                         "fastserde.kv_layout\0KV_2LTD\0fastserde.kv_tokens\0" "256\0format\0pt";
    snprintf(cmeta, sizeof cmeta, "%016llx", (unsigned long long)XXH3_64bits(pairs, sizeof pairs));
    char want[1024];
    int len = snprintf(want, sizeof want,
        "{\"__metadata__\":{\"fastserde.frame\":\"1\",\"fastserde.checksum\":\"xxh3-1k\","
        "\"fastserde.kv_layout\":\"KV_2LTD\",\"fastserde.kv_tokens\":\"256\",\"format\":\"pt\","
        "\"fastserde.checksum.m.T\":\"xxh3-1k:%s\",\"fastserde.checksum.h\":\"xxh3-1k:%s\","
        "\"fastserde.checksum.__metadata__\":\"xxh3-1k:%s\"},"
        "\"m.T\":{\"dtype\":\"F32\",\"shape\":[4,3],\"data_offsets\":[0,48]},"
        "\"h\":{\"dtype\":\"BF16\",\"shape\":[5],\"data_offsets\":[48,58]}}", cm, ch, cmeta);
    while ((8 + len) % 64)
        want[len++] = ' ';
    if ((size_t)len != n || memcmp(buf + 8, want, n) != 0)
        fail_msg("header\n  got  %.*s|\n  want %.*s|", (int)n, buf + 8, len, want);
    assert_memory_equal(buf + 8 + n, mt, 48);
    assert_memory_equal(buf + 8 + n + 48, h, 10);
    fsdt_guarded_free(buf);
}

static void checksum_none_and_empty(void **state)
{
    (void)state;
    fsd_frame_options o = FSD_FRAME_OPTIONS_INIT;
    o.checksum = FSD_FRAME_CHECKSUM_NONE;
    size_t size;
    unsigned char *buf = write_frame(NULL, NULL, 0, &o, &size);
    const char want[] = "{\"__metadata__\":{\"fastserde.frame\":\"1\",\"fastserde.checksum\":\"none\"}}";
    size_t n = le64(buf);
    assert_int_equal(8 + n, (8 + sizeof want - 1 + 63) / 64 * 64);
    assert_memory_equal(buf + 8, want, sizeof want - 1);
    assert_int_equal(size, 8 + n);
    fsdt_guarded_free(buf);
    /* a 0-d tensor and an empty one, with NULL data */
    int64_t zero[2] = {3, 0};
    double x = 2.5;
    DLTensor s = host_tensor(&x, 0, NULL, NULL, (DLDataType){kDLFloat, 64, 1});
    DLTensor e = host_tensor(NULL, 2, zero, NULL, (DLDataType){kDLInt, 8, 1});
    fsd_frame_tensor ts[2] = {{"s", &s}, {"e", &e}};
    buf = write_frame(NULL, ts, 2, NULL, &size);
    n = le64(buf);
    assert_int_equal(size, 8 + n + 8);
    assert_memory_equal(buf + 8 + n, &x, 8);
    assert_non_null(strstr((const char *)buf + 8, "\"s\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]}"));
    assert_non_null(strstr((const char *)buf + 8, "\"e\":{\"dtype\":\"I8\",\"shape\":[3,0],\"data_offsets\":[8,8]}"));
    fsdt_guarded_free(buf);
}

static void every_dtype(void **state)
{
    (void)state;
    for (size_t i = 0; i < FSDT_FRAME_NDTYPES; i++) {
        unsigned char data[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
        int64_t shape[1] = {16 / (FSDT_FRAME_DTYPES[i].t.bits / 8)};
        DLTensor t = host_tensor(data, 1, shape, NULL, FSDT_FRAME_DTYPES[i].t);
        fsd_frame_tensor ft = {"x", &t};
        size_t size;
        unsigned char *buf = write_frame(NULL, &ft, 1, NULL, &size);
        char want[64];
        snprintf(want, sizeof want, "\"x\":{\"dtype\":\"%s\",", FSDT_FRAME_DTYPES[i].name);
        if (strstr((const char *)buf + 8, want) == NULL)
            fail_msg("%s not in %.*s", want, (int)le64(buf), buf + 8);
        fsdt_guarded_free(buf);
    }
    /* no safetensors name: refused with UNSUPPORTED */
    const DLDataType refused[] = {
        {kDLComplex, 64, 1}, {kDLFloat, 8, 1}, {kDLFloat, 128, 1}, {kDLFloat, 32, 2},
        {kDLOpaqueHandle, 64, 1}, {FSD_DL_BOOL, 16, 1}, {FSD_DL_FLOAT8_E4M3FN, 16, 1},
        {kDLBfloat, 32, 1}, {11 /* kDLFloat8_e4m3fnuz */, 8, 1}, {kDLUInt, 24, 1}, {200, 8, 1},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        unsigned char data[64] = {0};
        int64_t shape[1] = {1};
        DLTensor t = host_tensor(data, 1, shape, NULL, refused[i]);
        fsd_frame_tensor ft = {"x", &t};
        size_t size = 77;
        EXPECT(fsd_frame_size(&ft, 1, NULL, &size), FSD_ERROR_UNSUPPORTED);
        assert_int_equal(size, 77);
    }
}

/* Names that need escaping reach the header as JSON strings. */
static void escaped_names(void **state)
{
    (void)state;
    uint8_t b = 7;
    DLTensor t = host_tensor(&b, 0, NULL, NULL, (DLDataType){kDLUInt, 8, 1});
    fsd_frame_tensor ft = {"a\"b\\c\n\x01\xc3\xa9\xf0\x9f\x98\x80", &t};
    size_t size;
    unsigned char *buf = write_frame(NULL, &ft, 1, NULL, &size);
    assert_non_null(strstr((const char *)buf + 8, "\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\xf0\x9f\x98\x80\":{"));
    assert_non_null(strstr((const char *)buf + 8, "\"fastserde.checksum.a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\xf0\x9f\x98\x80\":"));
    fsdt_guarded_free(buf);
}

/* The empty name is a name (safetensors readers take any string; fsd_frame_open reads such
 * files): written, found and verified (a fuzzer's finding: fsd_frame_write refused the name of
 * a tensor fsd_frame_open had just read). */
static void empty_name(void **state)
{
    (void)state;
    uint8_t b[3] = {1, 2, 3};
    int64_t shape[1] = {3};
    DLTensor t = host_tensor(b, 1, shape, NULL, (DLDataType){kDLUInt, 8, 1});
    fsd_frame_tensor ft[2] = {{"", &t}, {"x", &t}};
    size_t size, index = 9;
    unsigned char *buf = write_frame(NULL, ft, 2, NULL, &size);
    assert_non_null(strstr((const char *)buf + 8, "\"fastserde.checksum.\":\"xxh3-1k:"));
    fsd_frame *f = NULL;
    assert_int_equal(fsd_frame_open(buf, size, &f), FSD_SUCCESS);
    assert_int_equal(fsd_frame_find(f, "", &index), FSD_SUCCESS);
    assert_int_equal(index, 0);
    assert_int_equal(fsd_frame_verify(NULL, f, 0), FSD_SUCCESS);
    fsd_frame_close(f);
    fsdt_guarded_free(buf);
}

/* Every bad argument: its status, *nbytes and dst untouched. */
static void bad_arguments(void **state)
{
    (void)state;
    uint32_t data[8] = {0};
    int64_t shape[1] = {8}, neg[1] = {-1}, big[2] = {INT64_MAX, 3}, dims65[65];
    for (int i = 0; i < 65; i++)
        dims65[i] = 1;
    DLTensor ok = host_tensor(data, 1, shape, NULL, (DLDataType){kDLUInt, 32, 1});
    DLTensor tneg = host_tensor(data, 1, neg, NULL, (DLDataType){kDLUInt, 32, 1});
    DLTensor tbig = host_tensor(data, 2, big, NULL, (DLDataType){kDLUInt, 32, 1});
    DLTensor t65 = host_tensor(data, 65, dims65, NULL, (DLDataType){kDLUInt, 32, 1});
    DLTensor tcl = ok;
    tcl.device.device_type = kDLOpenCL;
    char longname[65537];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    struct { fsd_frame_tensor t[2]; size_t n; fsd_status want; const char *what; } cases[] = {
        {{{NULL, &ok}}, 1, FSD_ERROR_INVALID_ARGUMENT, "NULL name"},
        {{{"__metadata__", &ok}}, 1, FSD_ERROR_INVALID_ARGUMENT, "__metadata__"},
        {{{"\xc0\xaf", &ok}}, 1, FSD_ERROR_INVALID_ARGUMENT, "overlong UTF-8"},
        {{{"\xed\xa0\x80", &ok}}, 1, FSD_ERROR_INVALID_ARGUMENT, "a surrogate"},
        {{{"\xe2\x82", &ok}}, 1, FSD_ERROR_INVALID_ARGUMENT, "truncated UTF-8"},
        {{{"\xf4\x90\x80\x80", &ok}}, 1, FSD_ERROR_INVALID_ARGUMENT, "past U+10FFFF"},
        {{{"\xff", &ok}}, 1, FSD_ERROR_INVALID_ARGUMENT, "0xFF"},
        {{{longname, &ok}}, 1, FSD_ERROR_INVALID_ARGUMENT, "a name of 65536 bytes"},
        {{{"a", &ok}, {"a", &ok}}, 2, FSD_ERROR_INVALID_ARGUMENT, "a repeated name"},
        {{{"a", NULL}}, 1, FSD_ERROR_INVALID_ARGUMENT, "NULL tensor"},
        {{{"a", &tneg}}, 1, FSD_ERROR_INVALID_ARGUMENT, "negative dimension"},
        {{{"a", &tbig}}, 1, FSD_ERROR_OVERFLOW, "size past 2^63"},
        {{{"a", &t65}}, 1, FSD_ERROR_UNSUPPORTED, "65 dimensions"},
        {{{"a", &tcl}}, 1, FSD_ERROR_UNSUPPORTED, "OpenCL"},
    };
    unsigned char dst[4096];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t size = 77;
        fsd_status st = fsd_frame_size(cases[i].t, cases[i].n, NULL, &size);
        if (st != cases[i].want || size != 77)
            fail_msg("size, %s: %s (size %zu)", cases[i].what, fsd_status_string(st), size);
        memset(dst, 0xEE, sizeof dst);
        st = fsd_frame_write(NULL, cases[i].t, cases[i].n, NULL, dst, sizeof dst, NULL);
        if (st != cases[i].want || !fsdt_all_equal(dst, sizeof dst, 0xEE))
            fail_msg("write, %s: %s, or dst written", cases[i].what, fsd_status_string(st));
    }
    fsd_frame_tensor one = {"a", &ok};
    size_t size;
    EXPECT(fsd_frame_size(&one, 1, NULL, NULL), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_frame_size(NULL, 1, NULL, &size), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_frame_size(&one, 1, NULL, &size), FSD_SUCCESS);
    memset(dst, 0xEE, sizeof dst);
    EXPECT(fsd_frame_write(NULL, &one, 1, NULL, NULL, size, NULL), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_frame_write(NULL, &one, 1, NULL, dst, size - 1, NULL), FSD_ERROR_SIZE_MISMATCH);
    assert_true(fsdt_all_equal(dst, sizeof dst, 0xEE));
    DLTensor nodata = ok;
    nodata.data = NULL;
    fsd_frame_tensor nd = {"a", &nodata};
    EXPECT(fsd_frame_write(NULL, &nd, 1, NULL, dst, sizeof dst, NULL), FSD_ERROR_INVALID_ARGUMENT);
    DLTensor cuda = ok;
    cuda.device.device_type = kDLCUDA;
    fsd_frame_tensor cu = {"a", &cuda};
    EXPECT(fsd_frame_size(&cu, 1, NULL, &size), FSD_SUCCESS); /* sizes are known */
    /* A CUDA tensor into pageable host memory: no GPU here (FSD_ERROR_NO_GPU), or a dst the GPU
     * cannot reach (FSD_ERROR_INVALID_ARGUMENT); nothing written either way. */
    fsd_status cst = fsd_frame_write(NULL, &cu, 1, NULL, dst, sizeof dst, NULL);
    assert_true(cst == FSD_ERROR_NO_GPU || cst == FSD_ERROR_INVALID_ARGUMENT);
    DLTensor mixed_t[2] = {ok, cuda};
    fsd_frame_tensor mixed[2] = {{"h", &mixed_t[0]}, {"d", &mixed_t[1]}};
    EXPECT(fsd_frame_write(NULL, mixed, 2, NULL, dst, sizeof dst, NULL), FSD_ERROR_UNSUPPORTED);
    DLTensor wrap = ok;
    wrap.byte_offset = UINT64_MAX - 8;
    fsd_frame_tensor wr = {"a", &wrap};
    EXPECT(fsd_frame_write(NULL, &wr, 1, NULL, dst, sizeof dst, NULL), FSD_ERROR_OVERFLOW);
    assert_true(fsdt_all_equal(dst, sizeof dst, 0xEE));
}

static void bad_options(void **state)
{
    (void)state;
    uint8_t data[4] = {0};
    int64_t shape[1] = {4};
    DLTensor ok = host_tensor(data, 1, shape, NULL, (DLDataType){kDLUInt, 8, 1});
    fsd_frame_tensor one = {"a", &ok};
    char layout65[66];
    memset(layout65, 'K', 65);
    layout65[65] = '\0';
    fsd_frame_pair fs[1] = {{"fastserde.x", "1"}}, dup[2] = {{"k", "1"}, {"k", "2"}},
                   nullkey[1] = {{NULL, "1"}}, nullval[1] = {{"k", NULL}}, badval[1] = {{"k", "\xc3"}};
    for (int i = 0; i < 14; i++) {
        fsd_frame_options o = FSD_FRAME_OPTIONS_INIT;
        fsd_status want = FSD_ERROR_INVALID_ARGUMENT;
        switch (i) {
        case 0: o.size--; break;
        case 1: o.magic++; break;
        case 2: o.version = 2; break;
        case 3: o.checksum = (fsd_frame_checksum)7; break;
        case 4: o.kv_layout = ""; break;
        case 5: o.kv_layout = layout65; break;
        case 6: o.kv_layout = "KV\t2LTD"; break;
        case 7: o.kv_tokens = -2; break;
        case 8: o.metadata_count = 1; break; /* metadata NULL */
        case 9: o.metadata = fs, o.metadata_count = 1; break;
        case 10: o.metadata = dup, o.metadata_count = 2; break;
        case 11: o.metadata = nullkey, o.metadata_count = 1; break;
        case 12: o.metadata = nullval, o.metadata_count = 1; break;
        default: o.metadata = badval, o.metadata_count = 1; break;
        }
        size_t size = 77;
        fsd_status st = fsd_frame_size(&one, 1, &o, &size);
        if (st != want || size != 77)
            fail_msg("options case %d: %s", i, fsd_status_string(st));
    }
    fsd_frame_options o = FSD_FRAME_OPTIONS_INIT;
    o.kv_layout = layout65 + 1; /* 64 bytes: the most */
    o.kv_tokens = INT64_MAX;
    size_t size;
    EXPECT(fsd_frame_size(&one, 1, &o, &size), FSD_SUCCESS);
}

/* The context's threads write the same bytes as the calling thread, large tensors included. */
static void threads_same_bytes(void **state)
{
    (void)state;
    fsd_context *ctx;
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.cpu_threads = 3;
    EXPECT(fsd_context_create(&ctx, &cfg), FSD_SUCCESS);
    size_t n = (size_t)9 << 20;
    uint16_t *big = malloc(2 * n);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (uint16_t)(i * 2654435761u >> 7);
    int64_t shape[2] = {(int64_t)(n / 2048), 1024}, strides[2] = {2048, 1}; /* every other run */
    DLTensor t = host_tensor(big, 2, shape, strides, (DLDataType){kDLBfloat, 16, 1});
    int64_t shape2[2] = {1024, (int64_t)(n / 2048)}, strides2[2] = {1, 2048}; /* a transpose */
    DLTensor u = host_tensor(big, 2, shape2, strides2, (DLDataType){kDLFloat, 16, 1});
    fsd_frame_tensor ts[2] = {{"runs", &t}, {"transpose", &u}};
    size_t s1, s2;
    unsigned char *a = write_frame(NULL, ts, 2, NULL, &s1), *b = write_frame(ctx, ts, 2, NULL, &s2);
    assert_int_equal(s1, s2);
    assert_true(fsdt_first_diff(a, b, s1) < 0);
    fsdt_guarded_free(a);
    fsdt_guarded_free(b);
    free(big);
    fsd_context_destroy(ctx);
}

int main(void)
{
    (void)fsdt_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_frame),   cmocka_unit_test(checksum_none_and_empty),
        cmocka_unit_test(empty_name),
        cmocka_unit_test(every_dtype),   cmocka_unit_test(escaped_names),
        cmocka_unit_test(bad_arguments), cmocka_unit_test(bad_options),
        cmocka_unit_test(threads_same_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
