/*
 * fuzz_differential.c — libFuzzer target (b): small random tensors derived from the input
 * (0-8 dims, element sizes 1-32 bytes, views of a contiguous base with permutes, steps, gaps,
 * flips and broadcasts, or raw strides, or compact; misaligned data and packed pointers) copied
 * by every implementation, each compared byte for byte with the naive reference of
 * tests/fsd_cases.h, with guard bytes around every buffer:
 *
 *   pack    fsd_pack; the CPU path with each store mode and with/without SIMD; the CPU path on
 *           a thread pool cut into shares; fsd_pack_to_host on a context; the CUDA kernels'
 *           step functions on the emulated grid (tests/kernels/emulated_grid.h) for a grid of
 *           1..256 SMs, 32- and 64-bit indices; a random packed byte range [begin, end) on the
 *           CPU path and on the emulated grid (only those bytes written).
 *   unpack  the same, when the destination nests; else fsd_unpack must refuse with
 *           FSD_ERROR_ALIASING and write nothing.
 *
 * The rest of the input (after the layout) seeds the storage bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_copy.h"
#include "cpu_parallel.h"
#include "emulated_grid.h"
#include "fastserde.h"
#include "fsd_cases.h"
#include "fuzz_input.h"
#include "layout.h"
#include "plan_build.h"
#include "thread_pool.h"

#define MAX_ELEMS (1 << 14)
#define MAX_STORAGE ((size_t)1 << 20)
#define GUARD 64
#define FILL 0xA5

/* The CPU path's options (store modes, SIMD on/off) and thread shares of any size where the
 * library has them (cpu_copy.h's FSD_CPU_OPTS_INIT); else the plain entry points. */
#ifdef FSD_CPU_OPTS_INIT
#define CPU_EXEC(plan) fsd_cpu_execute_opts((plan), &cpu)
#define CPU_PAR(l, p, dir) fsd_cpu_execute_parallel_ex(g_pool, (l), (p), (dir), min_share, &cpu)
#else
#define CPU_EXEC(plan) fsd_cpu_execute(plan)
#define CPU_PAR(l, p, dir) fsd_cpu_execute_parallel(g_pool, (l), (p), (dir))
#endif

#define CHECK(cond, c, ...)                                                                  \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "fuzz_differential: %s:%d: %s\n  ", __FILE__, __LINE__, #cond);  \
            fprintf(stderr, __VA_ARGS__);                                                    \
            fprintf(stderr, "\n  %s\n", describe(c));                                        \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

static fsd_pool *g_pool;
static fsd_context *g_ctx;

static const char *describe(const fsdt_case *c)
{
    static char buf[512];
    int k = snprintf(buf, sizeof buf, "ndim %d esize %zu shape [", c->t.ndim, c->elem_size);
    for (int d = 0; d < c->t.ndim && k < 400; d++)
        k += snprintf(buf + k, sizeof buf - (size_t)k, "%s%lld", d ? "," : "", (long long)c->shape[d]);
    k += snprintf(buf + k, sizeof buf - (size_t)k, "] strides ");
    if (c->t.strides == NULL) {
        k += snprintf(buf + k, sizeof buf - (size_t)k, "NULL");
    } else {
        for (int d = 0; d < c->t.ndim && k < 480; d++)
            k += snprintf(buf + k, sizeof buf - (size_t)k, "%s%lld", d ? "," : "[",
                          (long long)c->strides[d]);
        if (k < 500)
            k += snprintf(buf + k, sizeof buf - (size_t)k, "]");
    }
    if (k < 500)
        snprintf(buf + k, sizeof buf - (size_t)k, " byte_offset %llu storage %zu nests %d",
                 (unsigned long long)c->t.byte_offset, c->storage_size, c->nests);
    return buf;
}

/* A buffer of n bytes at a chosen misalignment, surrounded by FILL bytes. */
typedef struct gbuf {
    unsigned char *raw;
    unsigned char *p;
    size_t n, raw_n;
} gbuf;

static void gbuf_make(gbuf *b, size_t n, unsigned shift)
{
    b->raw_n = n + 2 * GUARD + 16;
    b->raw = malloc(b->raw_n);
    if (b->raw == NULL)
        abort();
    memset(b->raw, FILL, b->raw_n);
    b->p = b->raw + GUARD + (shift & 15);
    b->n = n;
}

/* Helpers that loop over whole buffers are left out of the coverage instrumentation: tracing
 * each byte comparison would dominate the run time and guide nothing. */
#define NO_COVERAGE __attribute__((no_sanitize("coverage"), noinline))

/* 1 when every byte outside [p + from, p + to) is still FILL. */
NO_COVERAGE static int all_fill(const unsigned char *p, size_t n)
{
    static unsigned char fill[4096];
    if (fill[0] != FILL)
        memset(fill, FILL, sizeof fill);
    for (size_t i = 0; i < n; i += sizeof fill) {
        size_t k = n - i < sizeof fill ? n - i : sizeof fill;
        if (memcmp(p + i, fill, k) != 0)
            return 0;
    }
    return 1;
}

NO_COVERAGE static int gbuf_outside_intact(const gbuf *b, size_t from, size_t to)
{
    size_t lo = (size_t)(b->p - b->raw) + from, hi = (size_t)(b->p - b->raw) + to;
    return all_fill(b->raw, lo) && all_fill(b->raw + hi, b->raw_n - hi);
}

static void gbuf_reset(gbuf *b)
{
    memset(b->raw, FILL, b->raw_n);
}

static void gbuf_free(gbuf *b)
{
    free(b->raw);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fsd_alloc a = {{NULL, NULL, NULL}};
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.cpu_threads = 3;
    cfg.chunk_bytes = 64 << 10;
    if (fsd_pool_create(&g_pool, 3, &a) != FSD_SUCCESS ||
        fsd_context_create(&g_ctx, &cfg) != FSD_SUCCESS) {
        fprintf(stderr, "fuzz_differential: cannot create the pool or the context\n");
        abort();
    }
    return 0;
}

static const int64_t k_dims[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 32, 33, 64, 65, 100, 0};
static const size_t k_esizes[] = {1, 2, 4, 8, 16, 3, 6, 12, 5, 7, 10, 32, 24, 1, 2, 4};

/* Storage bytes: the rest of the input, then a xorshift stream. */
NO_COVERAGE static void fill_storage(unsigned char *p, size_t n, const fsdf_input *in)
{
    uint64_t x = 0x9E3779B97F4A7C15ull ^ in->n;
    for (size_t i = 0; i < n; i++) {
        if (i < in->n) {
            p[i] = in->p[i];
        } else {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            p[i] = (unsigned char)(x >> 24);
        }
    }
}

/* Builds the case from the input; 0 when the input asks for too much storage. */
static int build_case(fsdt_case *c, fsdf_input *in)
{
    memset(c, 0, sizeof *c);
    int ndim = (int)fsdf_pick(in, FSDT_MAX_DIMS + 1);
    size_t es = k_esizes[fsdf_pick(in, sizeof k_esizes / sizeof k_esizes[0])];
    int64_t elems = 1;
    for (int d = 0; d < ndim; d++) {
        uint8_t b = fsdf_u8(in);
        int64_t n = b < 240 ? k_dims[b % 16] : b == 255 ? 0 : (int64_t)(b - 240) * 11 + 2;
        if (n > 0 && elems * n > MAX_ELEMS)
            n = 1;
        c->shape[d] = n;
        if (n > 0)
            elems *= n;
    }
    unsigned mode = fsdf_pick(in, 4);
    int have_strides = mode != 0;
    if (mode == 1 || mode == 2) {
        /* a view: dims laid out innermost-first in a chosen order, each with a step and a gap */
        int order[FSDT_MAX_DIMS];
        for (int d = 0; d < ndim; d++)
            order[d] = d;
        for (int d = ndim - 1; d > 0; d--) {
            int k = (int)fsdf_pick(in, (unsigned)d + 1);
            int x = order[d];
            order[d] = order[k];
            order[k] = x;
        }
        int64_t acc = 1;
        for (int i = ndim - 1; i >= 0; i--) {
            int d = order[i];
            uint8_t b = fsdf_u8(in);
            int64_t step = 1 + (b & 3) / 2 + ((b & 0x30) == 0x30); /* 1..3 */
            int64_t gap = (b >> 6) == 3 ? (int64_t)fsdf_pick(in, 3) : 0;
            c->strides[d] = acc * step;
            acc = acc * step * (c->shape[d] > 0 ? c->shape[d] : 1) + gap;
            if (b & 4)
                c->strides[d] = -c->strides[d]; /* flip */
            if ((b & 8) && mode == 2)
                c->strides[d] = 0; /* broadcast */
        }
    } else if (mode == 3) {
        for (int d = 0; d < ndim; d++) {
            uint8_t b = fsdf_u8(in);
            c->strides[d] = b < 200 ? (int64_t)(int8_t)(b * 7) / 4 : (int64_t)(int8_t)b * 97;
        }
    }
    c->t.ndim = ndim;
    c->t.shape = c->shape;
    c->t.strides = have_strides ? c->strides : NULL;
    c->t.device.device_type = fsdf_pick(in, 4) == 0 ? kDLCUDAHost : kDLCPU;
    c->t.dtype.code = kDLUInt;
    if (es <= 16) {
        c->t.dtype.bits = (uint8_t)(8 * es);
        c->t.dtype.lanes = 1;
    } else {
        c->t.dtype.bits = 8;
        c->t.dtype.lanes = (uint16_t)es;
    }
    c->elem_size = es;
    int zero = 0;
    for (int d = 0; d < ndim; d++)
        zero |= c->shape[d] == 0;
    c->num_elems = zero ? 0 : (size_t)elems;
    c->packed_size = c->num_elems * es;
    /* the extent in elements around element [0, ..., 0] */
    int64_t lo = 0, hi = 0, compact = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        int64_t s = have_strides ? c->strides[d] : compact;
        compact *= c->shape[d] > 0 ? c->shape[d] : 1;
        if (zero || c->shape[d] <= 1)
            continue;
        int64_t span = s * (c->shape[d] - 1);
        if (span < 0)
            lo += span;
        else
            hi += span;
    }
    size_t pad = fsdf_pick(in, 16), tail = fsdf_pick(in, 8);
    c->storage_size = pad + (size_t)(hi - lo) * es + es + tail;
    if (c->storage_size > MAX_STORAGE)
        return 0;
    c->t.byte_offset = pad + (uint64_t)(-lo) * es;
    c->storage = malloc(c->storage_size);
    if (c->storage == NULL)
        abort();
    c->t.data = c->storage;
    fill_storage(c->storage, c->storage_size, in);
    c->nests = fsdt_view_nests(c);
    return 1;
}

/* Storage byte of each packed byte (for checking range unpacks). */
NO_COVERAGE static size_t *packed_map(const fsdt_case *c)
{
    size_t *map = malloc(sizeof(size_t) * (c->packed_size + 1));
    if (map == NULL)
        abort();
    if (c->num_elems == 0)
        return map;
    int64_t idx[FSDT_MAX_DIMS] = {0};
    size_t k = 0;
    for (;;) {
        int64_t off = fsdt_element_offset(c, idx);
        for (size_t j = 0; j < c->elem_size; j++)
            map[k++] = (size_t)off + j;
        int d = c->t.ndim - 1;
        while (d >= 0 && ++idx[d] == c->shape[d])
            idx[d--] = 0;
        if (d < 0)
            break;
    }
    return map;
}

NO_COVERAGE static void check_pack_buf(const fsdt_case *c, const gbuf *g, const unsigned char *want,
                           size_t from, size_t to, const char *what)
{
    long d = memcmp(want + from, g->p + from, to - from) == 0
                 ? -1 : fsdt_first_diff(want + from, g->p + from, to - from);
    CHECK(d < 0, c, "%s: packed byte %ld of [%zu, %zu) differs: want %02x got %02x", what,
          d + (long)from, from, to, want[from + (size_t)d], g->p[from + (size_t)d]);
    CHECK(gbuf_outside_intact(g, from, to), c, "%s: bytes outside [%zu, %zu) written", what, from, to);
}

NO_COVERAGE static void check_storage_buf(const fsdt_case *c, const gbuf *g, const unsigned char *want,
                              const char *what)
{
    long d = memcmp(want, g->p, c->storage_size) == 0 ? -1 : fsdt_first_diff(want, g->p, c->storage_size);
    CHECK(d < 0, c, "%s: storage byte %ld differs: want %02x got %02x", what, d, want[d], g->p[d]);
    CHECK(gbuf_outside_intact(g, 0, c->storage_size), c, "%s: bytes around the storage written", what);
}

NO_COVERAGE static void reverse_xor(unsigned char *dst, const unsigned char *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (unsigned char)(src[n - 1 - i] ^ 0x5C);
}

NO_COVERAGE static void scatter(unsigned char *storage, const size_t *map,
                                const unsigned char *packed, size_t from, size_t to)
{
    for (size_t k = from; k < to; k++)
        storage[map[k]] = packed[k];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fsdf_input in = {data, size};
    fsdt_case c;
    if (!build_case(&c, &in))
        return 0;
    /* choices for the copies */
    uint8_t opt = fsdf_u8(&in);
    unsigned shift = fsdf_u8(&in);
    uint32_t sms = 1 + fsdf_u8(&in);
    int index64 = opt & 1;
#ifdef FSD_CPU_OPTS_INIT
    fsd_cpu_opts cpu = {(fsd_cpu_store)((opt >> 1) % 3), (opt >> 3) & 1};
    uint64_t min_share = (opt & 0x10) ? 0 : 256;
#endif
    uint64_t r0 = fsdf_u32(&in), r1 = fsdf_u32(&in);
    size_t n = c.packed_size;
    size_t b0 = n ? (size_t)(r0 % (n + 1)) : 0;
    size_t e0 = b0 + (n ? (size_t)(r1 % (n - b0 + 1)) : 0);

    unsigned char *want = malloc(n + 1);
    if (want == NULL)
        abort();
    fsdt_reference_pack(&c, c.storage, want);
    fsd_layout l;
    fsd_status st = fsd_layout_from_tensor(&c.t, "case", &l);
    CHECK(st == FSD_SUCCESS, &c, "layout refused: %s", fsd_status_string(st));
    fsd_plan plan;
    gbuf g;
    gbuf_make(&g, n, shift);

    /* ---- pack ---- */
    st = fsd_pack(&c.t, g.p, n, NULL);
    CHECK(st == FSD_SUCCESS, &c, "fsd_pack: %s", fsd_status_string(st));
    check_pack_buf(&c, &g, want, 0, n, "fsd_pack");

    gbuf_reset(&g);
    fsd_plan_build(&l, g.p, FSD_DIR_PACK, 0, &plan);
    CPU_EXEC(&plan);
    check_pack_buf(&c, &g, want, 0, n, "cpu path (options)");

    if (n > 0) { /* internal call: the public paths never hand it an empty tensor */
        gbuf_reset(&g);
        CPU_PAR(&l, g.p, FSD_DIR_PACK);
        check_pack_buf(&c, &g, want, 0, n, "cpu path (thread shares)");
    }

    gbuf_reset(&g);
    st = fsd_pack_to_host(g_ctx, &c.t, g.p, n + (shift >> 4), NULL);
    CHECK(st == FSD_SUCCESS, &c, "fsd_pack_to_host: %s", fsd_status_string(st));
    check_pack_buf(&c, &g, want, 0, n, "fsd_pack_to_host");

    gbuf_reset(&g);
    fsd_plan_build(&l, g.p, FSD_DIR_PACK, sms, &plan);
    CHECK(fsdt_emulate(&plan, index64) == 0, &c, "emulator: unknown path %d", (int)plan.path);
    check_pack_buf(&c, &g, want, 0, n, "emulated grid");

    gbuf_reset(&g);
    fsd_plan_build_range(&l, g.p + b0, b0, e0, FSD_DIR_PACK, 0, &plan);
    CPU_EXEC(&plan);
    check_pack_buf(&c, &g, want, b0, e0, "cpu path, range");

    gbuf_reset(&g);
    fsd_plan_build_range(&l, g.p + b0, b0, e0, FSD_DIR_PACK, sms, &plan);
    CHECK(fsdt_emulate(&plan, index64) == 0, &c, "emulator: unknown path %d", (int)plan.path);
    check_pack_buf(&c, &g, want, b0, e0, "emulated grid, range");

    /* ---- unpack: the packed bytes are `want` reversed ---- */
    unsigned char *src = malloc(n + 1);
    unsigned char *expect = malloc(c.storage_size);
    if (src == NULL || expect == NULL)
        abort();
    reverse_xor(src, want, n);
    gbuf s;
    gbuf_make(&s, c.storage_size, shift >> 4);
    fsdt_case view = c;
    view.t.shape = view.shape;
    view.t.strides = c.t.strides ? view.strides : NULL;
    view.t.data = s.p;
    view.storage = s.p;
    if (!c.nests) {
        memcpy(s.p, c.storage, c.storage_size);
        st = fsd_unpack(src, n, &view.t, NULL);
        CHECK(st == FSD_ERROR_ALIASING, &c, "fsd_unpack of a destination that does not nest: %s",
              fsd_status_string(st));
        check_storage_buf(&c, &s, c.storage, "refused fsd_unpack");
        st = fsd_unpack_from_host(g_ctx, src, n, &view.t, NULL);
        CHECK(st == FSD_ERROR_ALIASING, &c, "fsd_unpack_from_host: %s", fsd_status_string(st));
        check_storage_buf(&c, &s, c.storage, "refused fsd_unpack_from_host");
    } else {
        memcpy(expect, c.storage, c.storage_size);
        fsdt_reference_unpack(&c, src, expect);
        fsd_layout lv;
        st = fsd_layout_from_tensor(&view.t, "view", &lv);
        CHECK(st == FSD_SUCCESS, &c, "layout of the copy: %s", fsd_status_string(st));

        memcpy(s.p, c.storage, c.storage_size);
        st = fsd_unpack(src, n, &view.t, NULL);
        CHECK(st == FSD_SUCCESS, &c, "fsd_unpack: %s", fsd_status_string(st));
        check_storage_buf(&c, &s, expect, "fsd_unpack");

        memcpy(s.p, c.storage, c.storage_size);
        fsd_plan_build(&lv, src, FSD_DIR_UNPACK, 0, &plan);
        CPU_EXEC(&plan);
        check_storage_buf(&c, &s, expect, "cpu path unpack (options)");

        if (n > 0) {
            memcpy(s.p, c.storage, c.storage_size);
            CPU_PAR(&lv, src, FSD_DIR_UNPACK);
            check_storage_buf(&c, &s, expect, "cpu path unpack (thread shares)");
        }

        memcpy(s.p, c.storage, c.storage_size);
        st = fsd_unpack_from_host(g_ctx, src, n, &view.t, NULL);
        CHECK(st == FSD_SUCCESS, &c, "fsd_unpack_from_host: %s", fsd_status_string(st));
        check_storage_buf(&c, &s, expect, "fsd_unpack_from_host");

        memcpy(s.p, c.storage, c.storage_size);
        fsd_plan_build(&lv, src, FSD_DIR_UNPACK, sms, &plan);
        CHECK(fsdt_emulate(&plan, index64) == 0, &c, "emulator: unknown path");
        check_storage_buf(&c, &s, expect, "emulated grid unpack");

        /* a range: only the storage bytes of packed bytes [b0, e0) change */
        size_t *map = packed_map(&c);
        memcpy(expect, c.storage, c.storage_size);
        scatter(expect, map, src, b0, e0);
        memcpy(s.p, c.storage, c.storage_size);
        fsd_plan_build_range(&lv, src + b0, b0, e0, FSD_DIR_UNPACK, 0, &plan);
        CPU_EXEC(&plan);
        check_storage_buf(&c, &s, expect, "cpu path unpack, range");
        memcpy(s.p, c.storage, c.storage_size);
        fsd_plan_build_range(&lv, src + b0, b0, e0, FSD_DIR_UNPACK, sms, &plan);
        CHECK(fsdt_emulate(&plan, index64) == 0, &c, "emulator: unknown path");
        check_storage_buf(&c, &s, expect, "emulated grid unpack, range");
        free(map);
    }
    gbuf_free(&s);
    gbuf_free(&g);
    free(expect);
    free(src);
    free(want);
    fsdt_case_free(&c);
    return 0;
}
