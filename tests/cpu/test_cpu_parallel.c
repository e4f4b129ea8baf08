/*
 * test_cpu_parallel.c — the CPU path on several threads and through every internal path,
 * against the naive reference of fsd_cases.h:
 *
 *   api      fsd_pack_to_host / fsd_unpack_from_host with contexts of 1, 2, 3, 4 and 7 threads
 *            (the library's own threshold decides how many work);
 *   split    the same layouts cut over every thread of a pool whatever their size
 *            (fsd_cpu_execute_parallel_ex, threshold 0), so that thread split edges fall
 *            everywhere, under each store/SIMD option: streaming stores forced on small
 *            buffers, ordinary stores, the portable loops;
 *   ranges   the layouts cut into consecutive packed ranges of odd sizes, each copied through
 *            its own guarded buffer by fsd_cpu_execute_opts under each option.
 *
 * Layouts: the random cases of fsd_cases.h (tiny tensors, scalars, empty ones, every family),
 * and larger views of cpu_layouts.h (transposes across tile edges with batch dims, narrow
 * transposes, runs of 1..2500 bytes, KV permutes) of up to 2 MiB; two past
 * FSD_CPU_STREAM_MIN_BYTES so that the automatic streaming path runs, one of them past the
 * threshold times 2 so that a 2-thread context splits it through the API; runs longer than
 * the gather buffer; transposes whose output lines are streamed; and the pool's memcpy.
 * Pack output is compared byte for byte with a misaligned destination and guard bytes; unpack
 * over the whole storage.
 *
 *   FSD_TEST_SEED=<n>   replay a run (the seed is printed first)
 *   FSD_TEST_CASES=<n>  random cases of fsd_cases.h (default 600); cpu_layouts.h views: n / 10
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cpu_copy.h"
#include "cpu_layouts.h"
#include "cpu_parallel.h"
#include "fastserde.h"
#include "fsd_cases.h"
#include "layout.h"
#include "plan_build.h"

static const int THREADS[] = {1, 2, 3, 4, 7};
#define NTHREADS ((int)(sizeof THREADS / sizeof THREADS[0]))

static const fsd_cpu_opts OPTS[] = {
    {FSD_CPU_STORE_AUTO, 1},
    {FSD_CPU_STORE_STREAM, 1},
    {FSD_CPU_STORE_STREAM, 0},
    {FSD_CPU_STORE_CACHED, 0},
    {FSD_CPU_STORE_CACHED, 1},
};
static const char *const OPT_NAME[] = {"auto", "stream", "stream portable", "cached portable",
                                       "cached"};
#define NOPTS ((int)(sizeof OPTS / sizeof OPTS[0]))

/* Packed range sizes for the ranges engine: odd ones cut elements and runs. */
static const uint64_t CHUNKS[] = {1, 5, 16, 100, 999, 4096, 65536 + 24};

static uint64_t g_seed;
static long g_cases;
static fsd_context *g_ctx[NTHREADS];
static fsd_pool *g_pool[NTHREADS];
static fsd_alloc g_alloc;

typedef enum engine { ENGINE_API, ENGINE_SPLIT, ENGINE_RANGES } engine;
static const char *const ENGINE_NAME[] = {"api", "split", "ranges"};

typedef struct mode {
    engine how;
    int threads; /* index into THREADS */
    int opt;     /* index into OPTS     */
    uint64_t chunk;
} mode;

/* Copies the whole tensor t <-> packed (n bytes) the way `m` says. */
static fsd_status copy(const mode *m, const DLTensor *t, unsigned char *packed, size_t n,
                       fsd_direction dir)
{
    if (m->how == ENGINE_API)
        return dir == FSD_DIR_PACK ? fsd_pack_to_host(g_ctx[m->threads], t, packed, n, NULL)
                                   : fsd_unpack_from_host(g_ctx[m->threads], packed, n, t, NULL);
    fsd_layout l;
    fsd_status st = dir == FSD_DIR_PACK ? fsd_layout_for_pack(t, packed, n, &l)
                                        : fsd_layout_for_unpack(packed, n, t, &l);
    if (st != FSD_SUCCESS || l.total_bytes == 0)
        return st;
    if (m->how == ENGINE_SPLIT) {
        fsd_cpu_execute_parallel_ex(g_pool[m->threads], &l, packed, dir, 0, &OPTS[m->opt]);
        return FSD_SUCCESS;
    }
    /* Ranges: each through its own guarded buffer. */
    for (uint64_t b = 0; b < n; b += m->chunk) {
        uint64_t e = b + m->chunk < n ? b + m->chunk : n;
        unsigned char *buf = fsdt_guarded_alloc(e - b, 0x5A);
        if (dir == FSD_DIR_UNPACK)
            memcpy(buf, packed + b, e - b);
        fsd_plan plan;
        fsd_plan_build_range(&l, buf, b, e, dir, 0, &plan);
        fsd_cpu_execute_opts(&plan, &OPTS[m->opt]);
        if (!fsdt_guards_intact(buf, e - b))
            fail_msg("ranges: guard of range [%llu, %llu) overwritten",
                     (unsigned long long)b, (unsigned long long)e);
        if (dir == FSD_DIR_PACK)
            memcpy(packed + b, buf, e - b);
        fsdt_guarded_free(buf);
    }
    return FSD_SUCCESS;
}

static void describe(char *out, size_t len, const mode *m)
{
    snprintf(out, len, "%s, %d threads, %s, chunk %llu", ENGINE_NAME[m->how],
             THREADS[m->threads], OPT_NAME[m->opt], (unsigned long long)m->chunk);
}

static void check_case(const fsdt_case *c, const mode *m)
{
    char what[128];
    describe(what, sizeof what, m);
    const size_t n = c->packed_size;
    /* Pack into a destination misaligned by 0..15 bytes. */
    size_t shift = (size_t)(c->index * 7 + m->opt) % 16;
    unsigned char *want = malloc(n + 1);
    unsigned char *buf = fsdt_guarded_alloc(shift + n + 16, 0xA5);
    fsdt_reference_pack(c, c->storage, want);
    fsd_status st = copy(m, &c->t, buf + shift, n, FSD_DIR_PACK);
    if (st != FSD_SUCCESS)
        fail_msg("%s pack: %s\n  %s", what, fsd_status_string(st), c->desc);
    long d = fsdt_first_diff(want, buf + shift, n);
    if (d >= 0)
        fail_msg("%s pack: byte %ld differs: want %02x got %02x\n  %s", what, d, want[d],
                 buf[shift + d], c->desc);
    for (size_t i = 0; i < shift; i++)
        if (buf[i] != 0xA5)
            fail_msg("%s pack: wrote before dst\n  %s", what, c->desc);
    for (size_t i = 0; i < 16; i++)
        if (buf[shift + n + i] != 0xA5)
            fail_msg("%s pack: wrote past the packed size\n  %s", what, c->desc);
    if (!fsdt_guards_intact(buf, shift + n + 16))
        fail_msg("%s pack: guard overwritten\n  %s", what, c->desc);
    fsdt_guarded_free(buf);

    /* Unpack new bytes: the whole storage must match the reference. */
    unsigned char *src = fsdt_guarded_alloc(shift + n, 0);
    for (size_t i = 0; i < n; i++)
        src[shift + i] = (unsigned char)(i * 29 + 11 + (size_t)c->index);
    unsigned char *ref = malloc(c->storage_size);
    unsigned char *store = fsdt_guarded_alloc(c->storage_size, 0);
    memcpy(ref, c->storage, c->storage_size);
    memcpy(store, c->storage, c->storage_size);
    if (c->nests)
        fsdt_reference_unpack(c, src + shift, ref);
    DLTensor t = c->t;
    t.data = store;
    st = copy(m, &t, src + shift, n, FSD_DIR_UNPACK);
    if (st != (c->nests ? FSD_SUCCESS : FSD_ERROR_ALIASING))
        fail_msg("%s unpack: %s\n  %s", what, fsd_status_string(st), c->desc);
    d = fsdt_first_diff(ref, store, c->storage_size);
    if (d >= 0)
        fail_msg("%s unpack: storage byte %ld differs: want %02x got %02x\n  %s", what, d,
                 ref[d], store[d], c->desc);
    if (!fsdt_guards_intact(store, c->storage_size))
        fail_msg("%s unpack: guard overwritten\n  %s", what, c->desc);
    free(ref);
    fsdt_guarded_free(store);
    fsdt_guarded_free(src);
    free(want);
}

/* Every engine on case c, threads and options varied with the index. The API splits only
 * cases past FSD_CPU_MIN_BYTES_PER_THREAD times 2 (test_auto_streaming has one), transposes
 * past FSD_CPU_MIN_BYTES_PER_THREAD_TILES times 2 (some of test_cpu_layouts' 2 MiB cases);
 * the split engine splits every case. */
static void check_all(const fsdt_case *c, long i)
{
    mode m = {ENGINE_API, (int)(i % NTHREADS), 0, 0};
    check_case(c, &m);
    m.how = ENGINE_SPLIT;
    m.threads = (int)((i / NTHREADS + i) % NTHREADS);
    m.opt = (int)(i % NOPTS);
    check_case(c, &m);
    m.how = ENGINE_RANGES;
    m.opt = (int)((i + 2) % NOPTS);
    m.chunk = CHUNKS[i % (long)(sizeof CHUNKS / sizeof CHUNKS[0])];
    while (c->packed_size / m.chunk > 256) /* at most ~256 ranges */
        m.chunk = m.chunk * 4 + 3;
    check_case(c, &m);
}

static void test_random_cases(void **state)
{
    (void)state;
    for (long i = 0; i < g_cases; i++) {
        fsdt_case c;
        fsdt_case_make(&c, g_seed, (int)i);
        check_all(&c, i);
        fsdt_case_free(&c);
    }
}

static void test_cpu_layouts(void **state)
{
    (void)state;
    long n = g_cases / 10 < 8 ? 8 : g_cases / 10;
    for (long i = 0; i < n; i++) {
        fsdt_case c;
        /* Mostly up to 256 KiB; every fifth up to 2 MiB. */
        cpu_case_random(&c, g_seed, (int)i, i % 5 == 4 ? (size_t)2 << 20 : (size_t)256 << 10);
        check_all(&c, i);
        fsdt_case_free(&c);
    }
}

/* Larger than FSD_CPU_STREAM_MIN_BYTES: the API streams on its own; the transpose is also
 * larger than FSD_CPU_MIN_BYTES_PER_THREAD times 2, so a 2-thread context splits it. */
static void test_auto_streaming(void **state)
{
    (void)state;
    uint64_t big = FSD_CPU_STREAM_MIN_BYTES > 2 * FSD_CPU_MIN_BYTES_PER_THREAD
                       ? FSD_CPU_STREAM_MIN_BYTES : 2 * FSD_CPU_MIN_BYTES_PER_THREAD;
    int64_t elems = (int64_t)(big / 2 / 1024) + 8;
    cpu_view v[2];
    int64_t tr[3] = {2, 1024, elems / 2};   /* fp16 transpose of the last two dims */
    cpu_view_init(&v[0], 3, tr, 2, "big transpose");
    v[0].perm[1] = 2;
    v[0].perm[2] = 1;
    int64_t runs[2] = {(int64_t)(FSD_CPU_STREAM_MIN_BYTES / 200) + 1, 200}; /* 200 B of 400 B */
    cpu_view_init(&v[1], 2, runs, 2, "big runs");
    v[1].count[1] = 100;
    v[1].pad = 6;
    for (int k = 0; k < 2; k++) {
        fsdt_case c;
        cpu_case_from_view(&c, &v[k], g_seed, 1000 + k);
        assert_true(c.packed_size >= FSD_CPU_STREAM_MIN_BYTES);
        if (k == 0)
            assert_true(c.packed_size >= 2 * FSD_CPU_MIN_BYTES_PER_THREAD);
        mode m = {ENGINE_API, k ? NTHREADS - 1 : 1, 0, 0};
        check_case(&c, &m);
        fsdt_case_free(&c);
    }
}

/* Runs longer than the gather buffer, on a misaligned packed side: streamed one by one. */
static void test_long_runs(void **state)
{
    (void)state;
    static const int64_t runs[] = {4097, 4160, 5003, 9000};
    for (int k = 0; k < 4; k++) {
        cpu_view v;
        int64_t base[2] = {5, runs[k] + 40};
        cpu_view_init(&v, 2, base, 1, "long runs");
        v.count[1] = runs[k];
        v.start[1] = k;
        v.pad = (size_t)k * 5;
        fsdt_case c;
        cpu_case_from_view(&c, &v, g_seed, 2000 + k);
        for (int o = 0; o < NOPTS; o++) {
            mode m = {ENGINE_SPLIT, 0, o, 0}; /* one thread: whole runs in one share */
            check_case(&c, &m);
            m.threads = k % NTHREADS;
            check_case(&c, &m);
            m.how = ENGINE_RANGES;
            m.chunk = k % 2 ? 4096 + 7 * (uint64_t)k : 20011;
            check_case(&c, &m);
        }
        fsdt_case_free(&c);
    }
}

/* Nothing written in the `shift` bytes before p + shift nor in the guards around buf. */
static void assert_untouched_around(const unsigned char *buf, size_t shift, size_t n,
                                    unsigned char fill, const char *what)
{
    for (size_t i = 0; i < shift; i++)
        if (buf[i] != fill)
            fail_msg("%s: wrote before the buffer", what);
    if (!fsdt_guards_intact(buf, shift + n))
        fail_msg("%s: wrote outside the buffer", what);
}

/* Transposes whose output rows can be streamed a line at a time (row pitches multiples of 64,
 * and one ragged pitch; packed side and storage aligned, or 16 or e bytes past a line, so that
 * the first band is short), so that the streamed blocks of cpu_transpose.c run, with their
 * ragged last band and column: elements of 1..16 bytes, pack and unpack, forced streaming and
 * the automatic choice, split over 1-3 threads and cut into ranges, against the obvious
 * loops. */
static void test_streamed_transposes(void **state)
{
    (void)state;
    static const uint32_t elems[] = {1, 2, 4, 8, 16};
    for (int k = 0; k < 5; k++) {
        const uint32_t e = elems[k];
        /* [2, A, B] -> [2, B, A]: packed rows of A elements; A * e a multiple of 64 (twice the
         * line and a ragged band), or not (the unaligned fallback). */
        const int64_t as[3] = {128 / e + 64 / e / 2, 128 / e, 64 / e * 3 + 1};
        for (int v = 0; v < 6; v++) {
            const int64_t A = as[v % 3] < 1 ? 1 : as[v % 3], B = 256 / e + 37, batch = 2;
            const size_t n = (size_t)(batch * A * B) * e;
            const size_t shift = v < 3 ? 0 : v == 3 ? 16 : e * (size_t)(v == 4 ? 1 : 3) % 64;
            /* guarded buffers start on a line */
            unsigned char *base_buf = fsdt_guarded_alloc(n + shift, 0x3C);
            unsigned char *packed_buf = fsdt_guarded_alloc(n + shift, 0xC3);
            unsigned char *base = base_buf + shift, *packed = packed_buf + shift;
            unsigned char *want = malloc(n);
            for (size_t i = 0; i < n; i++)
                base[i] = (unsigned char)(i * 97 + 13 + (size_t)v);
            for (int64_t b = 0; b < batch; b++)
                for (int64_t j = 0; j < B; j++)
                    for (int64_t i = 0; i < A; i++)
                        memcpy(want + ((size_t)((b * B + j) * A + i)) * e,
                               base + ((size_t)((b * A + i) * B + j)) * e, e);
            int64_t shape[3] = {batch, B, A}, strides[3] = {A * B, 1, B};
            DLTensor t = {base, {kDLCPU, 0}, 3, {kDLUInt, (uint8_t)(8 * e), 1}, shape, strides, 0};
            if (e == 16) /* 16-byte elements: two 8-byte lanes */
                t.dtype = (DLDataType){kDLUInt, 64, 2};
            fsd_layout l;
            assert_int_equal(fsd_layout_for_pack(&t, packed, n, &l), FSD_SUCCESS);
            for (int o = 0; o < 2; o++) {
                const fsd_cpu_opts opts = {o ? FSD_CPU_STORE_STREAM : FSD_CPU_STORE_AUTO, 1};
                for (int th = 0; th < 3; th++) {
                    char what[96];
                    snprintf(what, sizeof what, "e %u, A %lld, shift %zu, %s, %d threads", e,
                             (long long)A, shift, o ? "stream" : "auto", THREADS[th]);
                    memset(packed, 0xC3, n);
                    fsd_cpu_execute_parallel_ex(g_pool[th], &l, packed, FSD_DIR_PACK, 0, &opts);
                    long d = fsdt_first_diff(want, packed, n);
                    if (d >= 0)
                        fail_msg("%s pack: byte %ld differs", what, d);
                    assert_untouched_around(packed_buf, shift, n, 0xC3, what);
                    /* unpack the packed bytes into a cleared base: the original comes back */
                    unsigned char *orig = malloc(n);
                    memcpy(orig, base, n);
                    memset(base, 0, n);
                    fsd_cpu_execute_parallel_ex(g_pool[th], &l, packed, FSD_DIR_UNPACK, 0, &opts);
                    d = fsdt_first_diff(orig, base, n);
                    if (d >= 0)
                        fail_msg("%s unpack: byte %ld differs", what, d);
                    assert_untouched_around(base_buf, shift, n, 0x3C, what);
                    free(orig);
                }
                /* ranges of a few lines and odd sizes, each planned on its own */
                for (uint64_t chunk = 64 * 3; chunk <= 64 * 3 + 1; chunk++) {
                    memset(packed, 0xC3, n);
                    for (uint64_t b0 = 0; b0 < n; b0 += chunk) {
                        uint64_t b1 = b0 + chunk < n ? b0 + chunk : n;
                        fsd_plan plan;
                        fsd_plan_build_range(&l, packed + b0, b0, b1, FSD_DIR_PACK, 0, &plan);
                        fsd_cpu_execute_opts(&plan, &opts);
                    }
                    if (fsdt_first_diff(want, packed, n) >= 0)
                        fail_msg("e %u, A %lld: ranges of %llu: pack differs", e, (long long)A,
                                 (unsigned long long)chunk);
                    assert_untouched_around(packed_buf, shift, n, 0xC3, "ranges");
                }
            }
            free(want);
            fsdt_guarded_free(packed_buf);
            fsdt_guarded_free(base_buf);
        }
    }
}

/* fsd_cpu_memcpy_parallel (the round trip's host copies and fsd_from_bytes on the CPU): every
 * byte copied, none around, streaming or not, any alignment. */
static void test_memcpy_parallel(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 63, 4097, (size_t)1 << 20, ((size_t)9 << 20) + 5};
    for (int k = 0; k < 6; k++) {
        size_t n = sizes[k], shift = (size_t)k * 3 % 16;
        unsigned char *src = malloc(n + 16), *dst = fsdt_guarded_alloc(n + 16, 0x77);
        for (size_t i = 0; i < n + 16; i++)
            src[i] = (unsigned char)(i * 131 + 7);
        fsd_cpu_memcpy_parallel(g_pool[k % NTHREADS], dst + shift, src + 16 - shift, n);
        assert_true(fsdt_first_diff(dst + shift, src + 16 - shift, n) < 0);
        for (size_t i = 0; i < shift; i++)
            assert_int_equal(dst[i], 0x77);
        for (size_t i = shift + n; i < n + 16; i++)
            assert_int_equal(dst[i], 0x77);
        assert_true(fsdt_guards_intact(dst, n + 16));
        free(src);
        fsdt_guarded_free(dst);
    }
}

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < NTHREADS; i++) {
        fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
        cfg.cpu_threads = THREADS[i];
        if (fsd_context_create(&g_ctx[i], &cfg) != FSD_SUCCESS ||
            fsd_pool_create(&g_pool[i], THREADS[i], &g_alloc) != FSD_SUCCESS)
            return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NTHREADS; i++) {
        fsd_context_destroy(g_ctx[i]);
        fsd_pool_destroy(g_pool[i]);
    }
    return 0;
}

int main(void)
{
    g_seed = fsdt_seed();
    g_cases = fsdt_env_long("FSD_TEST_CASES", 600);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_cases),
        cmocka_unit_test(test_cpu_layouts),
        cmocka_unit_test(test_auto_streaming),
        cmocka_unit_test(test_long_runs),
        cmocka_unit_test(test_streamed_transposes),
        cmocka_unit_test(test_memcpy_parallel),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
