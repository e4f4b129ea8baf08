/*
 * test_gather_validate.c — the paged-KV API of fastserde.h from the header alone: every bad
 * input listed for fsd_gather_size, fsd_gather, fsd_scatter and fsd_gather_runs gives its
 * documented status with a non-empty fsd_last_error and writes nothing (the cache and the
 * packed buffer are guarded and filled with a pattern that is compared after every refused
 * call; a refused fsd_gather_size leaves *nbytes, a refused fsd_gather_runs the run array); and
 * the edge cases that must work do: T = 0, L = 0, zero-size layer dimensions, blocks of size 0
 * with negative slots, host caches in kDLCUDAHost memory, the gather size of every family of
 * issue 12. CUDA caches: the statuses observable without a GPU (the kernel and the copy
 * engines give FSD_ERROR_NO_GPU; validation and fsd_gather_runs need none).
 *
 * The base case: 3 layers of vLLM's flash layout [2, NB 4, BS 4, H 2, D 3] of bytes, one
 * after the other in the guarded cache, layer_ptrs a uint64 host tensor, 5 int64 slots
 * {0, 5, -1, 15, 3}: V = [3, 2, 5, 2, 3], 180 packed bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "fastserde.h"
#include "fsd_cases.h"

#define CACHE 1024 /* bytes of the guarded cache */
#define DST 1024   /* bytes of the guarded packed buffer */
#define CACHE_FILL 0x3C
#define DST_FILL 0xE7

#include "fsdt_cuda_ok.h"
#include "fsdt_expect.h"
#include "fsdt_guarded_fixture.h"

static unsigned char *g_cache, *g_dst;
static const fsdt_guarded_buf g_bufs[] = {
    {&g_cache, CACHE, CACHE_FILL, "cache"},
    {&g_dst, DST, DST_FILL, "packed"},
};

static void fresh(void) { fsdt_fixture_refill(g_bufs, FSDT_NBUFS(g_bufs)); }
#define UNTOUCHED_AT(line) fsdt_fixture_untouched(g_bufs, FSDT_NBUFS(g_bufs), (line))
#define UNTOUCHED() UNTOUCHED_AT(__LINE__)

static int setup(void **state)
{
    (void)state;
    fsdt_fixture_setup(g_bufs, FSDT_NBUFS(g_bufs));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fsdt_fixture_teardown(g_bufs, FSDT_NBUFS(g_bufs));
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The base case, and variants made by editing its fields. */

#define NL 3
#define LAYER_BYTES 192 /* 2 * 4 * 4 * 2 * 3 */
#define NT 5
#define PACKED 180      /* NL * 2 * NT * 2 * 3 */

typedef struct fx {
    int64_t shape[16], strides[16];
    uint64_t table[8];
    int64_t tshape[2], tstrides[2];
    int64_t slot_vals[8];
    int64_t sshape[2], sstrides[2];
    DLTensor ptrs, slots;
    fsd_kv_layout kv;
} fx;

static DLTensor vec(void *data, int64_t *shape, int64_t *strides, uint8_t code, uint8_t bits)
{
    DLTensor t;
    memset(&t, 0, sizeof t);
    t.data = data;
    t.device.device_type = kDLCPU;
    t.ndim = 1;
    t.dtype.code = code;
    t.dtype.bits = bits;
    t.dtype.lanes = 1;
    t.shape = shape;
    t.strides = strides;
    return t;
}

static void base(fx *f)
{
    memset(f, 0, sizeof *f);
    const int64_t shape[5] = {2, 4, 4, 2, 3};
    memcpy(f->shape, shape, sizeof shape);
    f->kv.layer = fsdt_host_tensor(g_cache, 5, f->shape, NULL, 8, 1);
    f->kv.block_dim = 1;
    f->kv.offset_dim = 2;
    for (int l = 0; l < NL; l++)
        f->table[l] = (uint64_t)(uintptr_t)(g_cache + l * LAYER_BYTES);
    f->tshape[0] = NL;
    f->tstrides[0] = 1;
    f->ptrs = vec(f->table, f->tshape, f->tstrides, kDLUInt, 64);
    f->kv.layer_ptrs = &f->ptrs;
    const int64_t slots[NT] = {0, 5, -1, 15, 3};
    memcpy(f->slot_vals, slots, sizeof slots);
    f->sshape[0] = NT;
    f->sstrides[0] = 1;
    f->slots = vec(f->slot_vals, f->sshape, f->sstrides, kDLInt, 64);
}

/* Which calls a rejection applies to. */
enum { R_SIZE = 1, R_GATHER = 2, R_SCATTER = 4, R_RUNS = 8, R_ALL = 15 };

/* Every call in `which` refuses the case with `want`, writing nothing. The scatter is given the
 * base case's packed size, so that its size check cannot answer first. */
static void reject_at(const fx *f, const int *order, const fsd_gather_options *o, fsd_status want,
                      unsigned which, int line)
{
    char expr[64];
    if (which & R_SIZE) {
        size_t n = 777;
        snprintf(expr, sizeof expr, "fsd_gather_size (line %d)", line);
        fsdt_expect_status(fsd_gather_size(&f->kv, &f->slots, &n), want, expr, line);
        if (n != 777)
            fail_msg("line %d: a refused fsd_gather_size wrote *nbytes = %zu", line, n);
    }
    if (which & R_GATHER) {
        fresh();
        snprintf(expr, sizeof expr, "fsd_gather (line %d)", line);
        fsdt_expect_status(fsd_gather(&f->kv, &f->slots, order, g_dst, DST, o, NULL), want, expr,
                           line);
        UNTOUCHED_AT(line);
    }
    if (which & R_SCATTER) {
        fresh();
        snprintf(expr, sizeof expr, "fsd_scatter (line %d)", line);
        fsdt_expect_status(fsd_scatter(g_dst, PACKED, &f->kv, &f->slots, order, o, NULL), want,
                           expr, line);
        UNTOUCHED_AT(line);
    }
    if (which & R_RUNS) {
        fsd_copy_run runs[64];
        memset(runs, 0x5A, sizeof runs);
        unsigned char copy[sizeof runs];
        memcpy(copy, runs, sizeof runs);
        for (int dir = FSD_KV_GATHER; dir <= FSD_KV_SCATTER; dir++) {
            size_t count = 12345;
            fresh();
            snprintf(expr, sizeof expr, "fsd_gather_runs %d (line %d)", dir, line);
            fsdt_expect_status(fsd_gather_runs(&f->kv, &f->slots, order, (fsd_kv_direction)dir,
                                               g_dst, runs, 64, &count),
                               want, expr, line);
            if (memcmp(runs, copy, sizeof runs) != 0)
                fail_msg("line %d: a refused fsd_gather_runs wrote runs", line);
            if (want != FSD_ERROR_SIZE_MISMATCH && count != 12345)
                fail_msg("line %d: a refused fsd_gather_runs wrote *count = %zu", line, count);
            UNTOUCHED_AT(line);
        }
    }
}
#define REJECT(f, order, o, want, which) reject_at((f), (order), (o), (want), (which), __LINE__)

/* The base case works (so that each rejection below is caused by its one edit). */
static void test_base_case_works(void **state)
{
    (void)state;
    fx f;
    base(&f);
    size_t n = 0;
    EXPECT(fsd_gather_size(&f.kv, &f.slots, &n), FSD_SUCCESS);
    assert_int_equal(n, PACKED);
    for (int i = 0; i < NL * LAYER_BYTES; i++)
        g_cache[i] = (unsigned char)(i * 7 + 1);
    memset(g_dst, DST_FILL, DST);
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, g_dst, DST, NULL, NULL), FSD_SUCCESS);
    /* V[l][k][t] = the 6 bytes of layer l, k, block s / 4, position s % 4; slot -1 untouched */
    for (int l = 0; l < NL; l++)
        for (int k = 0; k < 2; k++)
            for (int t = 0; t < NT; t++) {
                const unsigned char *p = g_dst + ((l * 2 + k) * NT + t) * 6;
                int64_t s = f.slot_vals[t];
                for (int i = 0; i < 6; i++) {
                    int want = s < 0 ? DST_FILL
                                     : g_cache[l * LAYER_BYTES + k * 96 + (s / 4) * 24 +
                                               (s % 4) * 6 + i];
                    if (p[i] != want)
                        fail_msg("layer %d k %d token %d byte %d: %d, expected %d", l, k, t, i,
                                 p[i], want);
                }
            }
    for (int i = PACKED; i < DST; i++)
        assert_int_equal(g_dst[i], DST_FILL);
    fresh();
    EXPECT(fsd_scatter(g_dst, PACKED, &f.kv, &f.slots, NULL, NULL, NULL), FSD_SUCCESS);
    size_t count = 0;
    EXPECT(fsd_gather_runs(&f.kv, &f.slots, NULL, FSD_KV_GATHER, g_dst, NULL, 0, &count),
           FSD_SUCCESS);
    /* runs of 6 bytes; slots 15 and 3 are in different blocks: 3 layers * 2 * 4 = 24 */
    assert_int_equal(count, 24);
    fsd_gather_options o = FSD_GATHER_OPTIONS_INIT;
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, g_dst, DST, &o, NULL), FSD_SUCCESS);
}

static void test_null_arguments(void **state)
{
    (void)state;
    fx f;
    base(&f);
    size_t n = 777, count = 5;
    fsd_copy_run runs[4];
    EXPECT(fsd_gather_size(NULL, &f.slots, &n), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_gather_size(&f.kv, NULL, &n), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_gather_size(&f.kv, &f.slots, NULL), FSD_ERROR_INVALID_ARGUMENT);
    assert_int_equal(n, 777);
    fresh();
    EXPECT(fsd_gather(NULL, &f.slots, NULL, g_dst, DST, NULL, NULL), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_gather(&f.kv, NULL, NULL, g_dst, DST, NULL, NULL), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, NULL, DST, NULL, NULL), FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_scatter(NULL, PACKED, &f.kv, &f.slots, NULL, NULL, NULL),
           FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_scatter(g_dst, PACKED, NULL, &f.slots, NULL, NULL, NULL),
           FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_scatter(g_dst, PACKED, &f.kv, NULL, NULL, NULL, NULL), FSD_ERROR_INVALID_ARGUMENT);
    UNTOUCHED();
    EXPECT(fsd_gather_runs(NULL, &f.slots, NULL, FSD_KV_GATHER, g_dst, runs, 4, &count),
           FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_gather_runs(&f.kv, NULL, NULL, FSD_KV_GATHER, g_dst, runs, 4, &count),
           FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_gather_runs(&f.kv, &f.slots, NULL, FSD_KV_GATHER, g_dst, runs, 4, NULL),
           FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_gather_runs(&f.kv, &f.slots, NULL, FSD_KV_GATHER, g_dst, NULL, 4, &count),
           FSD_ERROR_INVALID_ARGUMENT);
    EXPECT(fsd_gather_runs(&f.kv, &f.slots, NULL, (fsd_kv_direction)2, g_dst, runs, 4, &count),
           FSD_ERROR_INVALID_ARGUMENT);
    /* the layer's data NULL without layer_ptrs */
    f.kv.layer_ptrs = NULL;
    f.kv.layer.data = NULL;
    REJECT(&f, NULL, NULL, FSD_ERROR_INVALID_ARGUMENT, R_ALL);
    /* slots' data NULL with T > 0 */
    base(&f);
    f.slots.data = NULL;
    REJECT(&f, NULL, NULL, FSD_ERROR_INVALID_ARGUMENT, R_ALL);
    base(&f);
    f.slots.shape = NULL;
    REJECT(&f, NULL, NULL, FSD_ERROR_INVALID_ARGUMENT, R_ALL);
    base(&f);
    f.ptrs.data = NULL;
    REJECT(&f, NULL, NULL, FSD_ERROR_INVALID_ARGUMENT, R_ALL);
    base(&f);
    f.ptrs.shape = NULL;
    REJECT(&f, NULL, NULL, FSD_ERROR_INVALID_ARGUMENT, R_ALL);
    base(&f);
    f.kv.layer.shape = NULL;
    REJECT(&f, NULL, NULL, FSD_ERROR_INVALID_ARGUMENT, R_ALL);
}

static void test_block_and_offset_dims(void **state)
{
    (void)state;
    fx f;
    static const int bad[][2] = {{-1, 2}, {5, 2}, {99, 2}, {1, -2}, {1, 5}, {1, 1}, {2, 2}, {0, 0}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        base(&f);
        f.kv.block_dim = bad[i][0];
        f.kv.offset_dim = bad[i][1];
        REJECT(&f, NULL, NULL, FSD_ERROR_INVALID_ARGUMENT, R_ALL);
    }
    /* offset_dim -1: a slot indexes block_dim (4 rows); V = [3, 2, 5, 4, 2, 3] */
    base(&f);
    f.kv.offset_dim = -1;
    const int64_t rows[NT] = {0, 3, -1, 2, 1};
    memcpy(f.slot_vals, rows, sizeof rows);
    size_t n = 0;
    EXPECT(fsd_gather_size(&f.kv, &f.slots, &n), FSD_SUCCESS);
    assert_int_equal(n, NL * 2 * NT * 4 * 2 * 3);
    fresh();
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, g_dst, DST, NULL, NULL), FSD_SUCCESS);
    /* slot 4 is past the 4 rows */
    f.slot_vals[1] = 4;
    REJECT(&f, NULL, NULL, FSD_ERROR_INVALID_ARGUMENT, R_GATHER | R_RUNS);
    /* offset_dim before block_dim: [BS, NB, ...] */
    base(&f);
    f.kv.block_dim = 2;
    f.kv.offset_dim = 1;
    EXPECT(fsd_gather_size(&f.kv, &f.slots, &n), FSD_SUCCESS);
    assert_int_equal(n, PACKED);
    fresh();
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, g_dst, DST, NULL, NULL), FSD_SUCCESS);
}

static void test_order(void **state)
{
    (void)state;
    fx f;
    base(&f);
    static const int bad[][5] = {{0, 0, 2, 3, 4}, {1, 0, 2, 3, 5}, {-1, 0, 2, 3, 4},
                                 {4, 3, 2, 1, 1}, {1, 0, 2, 3, 99}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        REJECT(&f, bad[i], NULL, FSD_ERROR_INVALID_ARGUMENT, R_GATHER | R_SCATTER | R_RUNS);
    static const int kv2ltd[5] = {1, 0, 2, 3, 4}, reversed[5] = {4, 3, 2, 1, 0};
    fresh();
    EXPECT(fsd_gather(&f.kv, &f.slots, kv2ltd, g_dst, DST, NULL, NULL), FSD_SUCCESS);
    EXPECT(fsd_gather(&f.kv, &f.slots, reversed, g_dst, DST, NULL, NULL), FSD_SUCCESS);
    /* offset_dim -1: V has one more dim; order {0..4} then misses one */
    f.kv.offset_dim = -1;
    const int64_t rows[NT] = {0, 3, -1, 2, 1};
    memcpy(f.slot_vals, rows, sizeof rows);
    static const int six[6] = {5, 4, 3, 2, 1, 0}, six_bad[6] = {5, 4, 3, 2, 1, 6};
    EXPECT(fsd_gather(&f.kv, &f.slots, six, g_dst, DST, NULL, NULL), FSD_SUCCESS);
    REJECT(&f, six_bad, NULL, FSD_ERROR_INVALID_ARGUMENT, R_GATHER | R_SCATTER | R_RUNS);
}

static void test_slots_tensor(void **state)
{
    (void)state;
    fx f;
    /* not 1-D */
    base(&f);
    f.slots.ndim = 2;
    int64_t shape2[2] = {1, NT};
    f.slots.shape = shape2;
    f.slots.strides = NULL;
    REJECT(&f, NULL, NULL, FSD_ERROR_INVALID_ARGUMENT, R_ALL);
    base(&f);
    f.slots.ndim = 0;
    REJECT(&f, NULL, NULL, FSD_ERROR_INVALID_ARGUMENT, R_ALL);
    base(&f);
    f.sshape[0] = -1;
    REJECT(&f, NULL, NULL, FSD_ERROR_INVALID_ARGUMENT, R_ALL);
    /* dtype: not int32/int64, or lanes != 1 */
    static const DLDataType bad[] = {{kDLUInt, 64, 1}, {kDLUInt, 32, 1}, {kDLInt, 16, 1},
                                     {kDLInt, 8, 1},   {kDLFloat, 64, 1}, {kDLInt, 32, 2},
                                     {kDLInt, 64, 0},  {kDLInt, 0, 1},   {kDLBfloat, 16, 1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        base(&f);
        f.slots.dtype = bad[i];
        REJECT(&f, NULL, NULL, FSD_ERROR_INVALID_ARGUMENT, R_ALL);
    }
    /* on a CUDA device (or another device) for a host cache */
    static const int devs[] = {kDLCUDA, kDLCUDAManaged, kDLOpenCL, 99};
    for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++) {
        base(&f);
        f.slots.device.device_type = (DLDeviceType)devs[i];
        REJECT(&f, NULL, NULL, FSD_ERROR_INVALID_ARGUMENT, R_ALL);
    }
    /* int32, pinned host memory, stride 2, negative stride, stride 0: all fine */
    base(&f);
    int32_t s32[2 * NT] = {0, 99, 5, 99, -1, 99, 15, 99, 3, 99};
    f.slots.data = s32;
    f.slots.dtype.bits = 32;
    f.sstrides[0] = 2;
    f.slots.device.device_type = kDLCUDAHost;
    fresh();
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, g_dst, DST, NULL, NULL), FSD_SUCCESS);
    f.slots.data = s32 + 8;
    f.sstrides[0] = -2; /* {3, 15, -1, 5, 0} */
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, g_dst, DST, NULL, NULL), FSD_SUCCESS);
    f.sstrides[0] = 0; /* {3, 3, 3, 3, 3} */
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, g_dst, DST, NULL, NULL), FSD_SUCCESS);
}

static void test_layer_ptrs_tensor(void **state)
{
    (void)state;
    fx f;
    static const DLDataType bad[] = {{kDLInt, 64, 1}, {kDLUInt, 32, 1}, {kDLUInt, 64, 2},
                                     {kDLFloat, 64, 1}, {kDLUInt, 8, 8}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        base(&f);
        f.ptrs.dtype = bad[i];
        REJECT(&f, NULL, NULL, FSD_ERROR_INVALID_ARGUMENT, R_ALL);
    }
    base(&f); /* 2-D */
    int64_t shape2[2] = {1, NL};
    f.ptrs.ndim = 2;
    f.ptrs.shape = shape2;
    f.ptrs.strides = NULL;
    REJECT(&f, NULL, NULL, FSD_ERROR_INVALID_ARGUMENT, R_ALL);
    base(&f);
    f.ptrs.ndim = 0;
    REJECT(&f, NULL, NULL, FSD_ERROR_INVALID_ARGUMENT, R_ALL);
    base(&f); /* stride 2 (also -1) over a table whose other entries are valid layers */
    uint64_t wide[2 * NL];
    for (int l = 0; l < NL; l++)
        wide[2 * l] = wide[2 * l + 1] = f.table[l];
    f.ptrs.data = wide;
    f.tstrides[0] = 2;
    REJECT(&f, NULL, NULL, FSD_ERROR_INVALID_ARGUMENT, R_ALL);
    f.ptrs.data = f.table + NL - 1;
    f.tstrides[0] = -1;
    REJECT(&f, NULL, NULL, FSD_ERROR_INVALID_ARGUMENT, R_ALL);
    base(&f); /* a NULL entry */
    f.table[1] = 0;
    REJECT(&f, NULL, NULL, FSD_ERROR_INVALID_ARGUMENT, R_ALL);
    /* on a CUDA device for a host cache */
    static const int devs[] = {kDLCUDA, kDLCUDAManaged, kDLVulkan};
    for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++) {
        base(&f);
        f.ptrs.device.device_type = (DLDeviceType)devs[i];
        REJECT(&f, NULL, NULL, FSD_ERROR_INVALID_ARGUMENT, R_ALL);
    }
    /* NULL strides and pinned host memory are fine; one layer's stride is ignored */
    base(&f);
    f.ptrs.strides = NULL;
    f.ptrs.device.device_type = kDLCUDAHost;
    fresh();
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, g_dst, DST, NULL, NULL), FSD_SUCCESS);
    base(&f);
    f.tshape[0] = 1;
    f.tstrides[0] = 5;
    size_t n = 0;
    EXPECT(fsd_gather_size(&f.kv, &f.slots, &n), FSD_SUCCESS);
    assert_int_equal(n, PACKED / NL);
    /* layer.data is not needed with layer_ptrs */
    base(&f);
    f.kv.layer.data = NULL;
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, g_dst, DST, NULL, NULL), FSD_SUCCESS);
}

static void test_options(void **state)
{
    (void)state;
    fx f;
    base(&f);
    fsd_gather_options o = FSD_GATHER_OPTIONS_INIT;
    assert_int_equal(o.size, sizeof(fsd_gather_options));
    assert_int_equal(o.engine, FSD_ENGINE_AUTO);
    const unsigned which = R_GATHER | R_SCATTER;
    o.size = sizeof o - 1;
    REJECT(&f, NULL, &o, FSD_ERROR_INVALID_ARGUMENT, which);
    o.size = 0;
    REJECT(&f, NULL, &o, FSD_ERROR_INVALID_ARGUMENT, which);
    o = (fsd_gather_options)FSD_GATHER_OPTIONS_INIT;
    o.magic = FSD_CONFIG_MAGIC; /* the context config's */
    REJECT(&f, NULL, &o, FSD_ERROR_INVALID_ARGUMENT, which);
    o = (fsd_gather_options)FSD_GATHER_OPTIONS_INIT;
    o.version = FSD_GATHER_OPTIONS_VERSION + 1;
    REJECT(&f, NULL, &o, FSD_ERROR_INVALID_ARGUMENT, which);
    o.version = 0;
    REJECT(&f, NULL, &o, FSD_ERROR_INVALID_ARGUMENT, which);
    static const int engines[] = {3, -1, 1000};
    for (size_t i = 0; i < sizeof engines / sizeof engines[0]; i++) {
        o = (fsd_gather_options)FSD_GATHER_OPTIONS_INIT;
        o.engine = (fsd_engine)engines[i];
        REJECT(&f, NULL, &o, FSD_ERROR_INVALID_ARGUMENT, which);
    }
    o = (fsd_gather_options)FSD_GATHER_OPTIONS_INIT;
    o.max_blocks = -1;
    REJECT(&f, NULL, &o, FSD_ERROR_INVALID_ARGUMENT, which);
    /* every engine and a block cap are fine for a host cache (the CPU copies) */
    for (int e = FSD_ENGINE_AUTO; e <= FSD_ENGINE_COPY; e++) {
        o = (fsd_gather_options)FSD_GATHER_OPTIONS_INIT;
        o.engine = (fsd_engine)e;
        o.max_blocks = 3;
        fresh();
        EXPECT(fsd_gather(&f.kv, &f.slots, NULL, g_dst, DST, &o, NULL), FSD_SUCCESS);
    }
    /* a context of 2 threads */
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.cpu_threads = 2;
    fsd_context *ctx = NULL;
    EXPECT(fsd_context_create(&ctx, &cfg), FSD_SUCCESS);
    o = (fsd_gather_options)FSD_GATHER_OPTIONS_INIT;
    o.context = ctx;
    fresh();
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, g_dst, DST, &o, NULL), FSD_SUCCESS);
    EXPECT(fsd_scatter(g_dst, PACKED, &f.kv, &f.slots, NULL, &o, NULL), FSD_SUCCESS);
    fsd_context_destroy(ctx);
}

static void test_slot_past_cache(void **state)
{
    (void)state;
    fx f;
    /* 16 slots: 4 blocks of 4 */
    static const int64_t bad[] = {16, 17, INT32_MAX, INT64_MAX, (int64_t)1 << 40};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        base(&f);
        f.slot_vals[NT - 1] = bad[i]; /* the last, after a valid one and a negative one */
        REJECT(&f, NULL, NULL, FSD_ERROR_INVALID_ARGUMENT, R_GATHER | R_SCATTER | R_RUNS);
        size_t n = 0; /* the size does not look at the slots' values */
        EXPECT(fsd_gather_size(&f.kv, &f.slots, &n), FSD_SUCCESS);
        assert_int_equal(n, PACKED);
    }
    base(&f);
    int32_t s32[NT] = {0, INT32_MAX, -1, 15, 3};
    f.slots.data = s32;
    f.slots.dtype.bits = 32;
    REJECT(&f, NULL, NULL, FSD_ERROR_INVALID_ARGUMENT, R_GATHER | R_SCATTER | R_RUNS);
    /* the most negative slots are skipped, not past the cache */
    s32[1] = INT32_MIN;
    fresh();
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, g_dst, DST, NULL, NULL), FSD_SUCCESS);
    base(&f);
    f.slot_vals[0] = INT64_MIN;
    f.slot_vals[4] = 15;
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, g_dst, DST, NULL, NULL), FSD_SUCCESS);
}

static void test_sizes(void **state)
{
    (void)state;
    fx f;
    base(&f);
    fresh();
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, g_dst, PACKED - 1, NULL, NULL),
           FSD_ERROR_SIZE_MISMATCH);
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, g_dst, 0, NULL, NULL), FSD_ERROR_SIZE_MISMATCH);
    EXPECT(fsd_scatter(g_dst, PACKED - 1, &f.kv, &f.slots, NULL, NULL, NULL),
           FSD_ERROR_SIZE_MISMATCH);
    EXPECT(fsd_scatter(g_dst, PACKED + 1, &f.kv, &f.slots, NULL, NULL, NULL),
           FSD_ERROR_SIZE_MISMATCH);
    EXPECT(fsd_scatter(g_dst, 0, &f.kv, &f.slots, NULL, NULL, NULL), FSD_ERROR_SIZE_MISMATCH);
    UNTOUCHED();
    /* exactly the size, and more: only the packed bytes are written */
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, g_dst, PACKED, NULL, NULL), FSD_SUCCESS);
    for (int i = PACKED; i < DST; i++)
        assert_int_equal(g_dst[i], DST_FILL);
    assert_true(fsdt_guards_intact(g_dst, DST));
}

static void test_scatter_aliasing(void **state)
{
    (void)state;
    fx f;
    /* a zero stride on H (extent 2): the gather reads it twice, the scatter refuses */
    base(&f);
    int64_t zero_h[5] = {96, 24, 6, 0, 1};
    f.kv.layer.strides = zero_h;
    REJECT(&f, NULL, NULL, FSD_ERROR_ALIASING, R_SCATTER);
    fresh();
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, g_dst, DST, NULL, NULL), FSD_SUCCESS);
    /* strides that do not nest: D (3 elements of stride 2) runs into H (stride 3) */
    base(&f);
    int64_t tangled[5] = {96, 24, 6, 3, 2};
    f.kv.layer.strides = tangled;
    REJECT(&f, NULL, NULL, FSD_ERROR_ALIASING, R_SCATTER);
    /* blocks overlapping: the block stride (4) smaller than a block's span */
    base(&f);
    int64_t blocks[5] = {96, 4, 6, 3, 1};
    f.kv.layer.strides = blocks;
    REJECT(&f, NULL, NULL, FSD_ERROR_ALIASING, R_SCATTER);
    /* layer_ptrs whose extents overlap: layer 1 half into layer 0, or repeated, or the last
     * byte of one layer shared (the table not in address order) */
    static const int64_t shift[][NL] = {{0, 96, 2 * LAYER_BYTES},
                                        {0, 0, LAYER_BYTES},
                                        {2 * LAYER_BYTES - 1, 0, LAYER_BYTES}};
    for (size_t i = 0; i < sizeof shift / sizeof shift[0]; i++) {
        base(&f);
        for (int l = 0; l < NL; l++)
            f.table[l] = (uint64_t)(uintptr_t)(g_cache + shift[i][l]);
        REJECT(&f, NULL, NULL, FSD_ERROR_ALIASING, R_SCATTER);
        fresh();
        EXPECT(fsd_gather(&f.kv, &f.slots, NULL, g_dst, DST, NULL, NULL), FSD_SUCCESS);
    }
    /* layers that touch without overlapping, in any order, are fine */
    base(&f);
    f.table[0] = (uint64_t)(uintptr_t)(g_cache + 2 * LAYER_BYTES);
    f.table[2] = (uint64_t)(uintptr_t)g_cache;
    fresh();
    EXPECT(fsd_scatter(g_dst, PACKED, &f.kv, &f.slots, NULL, NULL, NULL), FSD_SUCCESS);
}

static void test_runs_capacity(void **state)
{
    (void)state;
    fx f;
    base(&f);
    size_t count = 999;
    EXPECT(fsd_gather_runs(&f.kv, &f.slots, NULL, FSD_KV_GATHER, NULL, NULL, 0, &count),
           FSD_SUCCESS);
    assert_int_equal(count, 24);
    fsd_copy_run runs[32], copy[32];
    memset(runs, 0x77, sizeof runs);
    memcpy(copy, runs, sizeof runs);
    for (int dir = FSD_KV_GATHER; dir <= FSD_KV_SCATTER; dir++) {
        count = 0;
        EXPECT(fsd_gather_runs(&f.kv, &f.slots, NULL, (fsd_kv_direction)dir, g_dst, runs, 23,
                               &count),
               FSD_ERROR_SIZE_MISMATCH);
        assert_int_equal(count, 24);
        assert_memory_equal(runs, copy, sizeof runs);
        count = 0;
        EXPECT(fsd_gather_runs(&f.kv, &f.slots, NULL, (fsd_kv_direction)dir, g_dst, runs, 0,
                               &count),
               FSD_ERROR_SIZE_MISMATCH);
        assert_int_equal(count, 24);
        assert_memory_equal(runs, copy, sizeof runs);
    }
    /* the exact capacity: 24 runs of 6 bytes, packed offsets 0, 6, 12, 18, (24 skipped), 30 */
    EXPECT(fsd_gather_runs(&f.kv, &f.slots, NULL, FSD_KV_GATHER, NULL, runs, 24, &count),
           FSD_SUCCESS);
    assert_int_equal(count, 24);
    assert_memory_equal(runs + 24, copy + 24, 8 * sizeof runs[0]);
    for (int i = 0; i < 24; i++)
        assert_int_equal(runs[i].bytes, 6);
    assert_int_equal((uintptr_t)runs[0].dst, 0);
    assert_ptr_equal(runs[0].src, g_cache);
    assert_int_equal((uintptr_t)runs[1].dst, 6);
    assert_ptr_equal(runs[1].src, g_cache + 30);   /* slot 5: block 1, position 1 */
    assert_int_equal((uintptr_t)runs[2].dst, 18);  /* slot -1 skipped */
    assert_ptr_equal(runs[2].src, g_cache + 90);   /* slot 15 */
    assert_int_equal((uintptr_t)runs[3].dst, 24);
    assert_ptr_equal(runs[3].src, g_cache + 18);   /* slot 3 */
    assert_int_equal((uintptr_t)runs[4].dst, 30);  /* layer 0, V */
    assert_ptr_equal(runs[4].src, g_cache + 96);
    assert_int_equal((uintptr_t)runs[23].dst, PACKED - 6);
    assert_ptr_equal(runs[23].src, g_cache + 2 * LAYER_BYTES + 96 + 18);
    /* scatter: the same pairs, reversed */
    EXPECT(fsd_gather_runs(&f.kv, &f.slots, NULL, FSD_KV_SCATTER, g_dst, runs, 32, &count),
           FSD_SUCCESS);
    assert_int_equal(count, 24);
    assert_ptr_equal(runs[4].src, g_dst + 30);
    assert_ptr_equal(runs[4].dst, g_cache + 96);
}

static void test_overflow(void **state)
{
    (void)state;
    fx f;
    /* a layer [1 block, 1 position, 2^40, 2^30] of zero strides: 2^70 bytes per slot */
    base(&f);
    int64_t huge[4] = {1, 1, (int64_t)1 << 40, (int64_t)1 << 30}, zeros[4] = {0, 0, 0, 0};
    f.kv.layer = fsdt_host_tensor(g_cache, 4, huge, zeros, 8, 1);
    f.kv.block_dim = 0;
    f.kv.offset_dim = 1;
    const int64_t slots[NT] = {0, 0, -1, 0, 0};
    memcpy(f.slot_vals, slots, sizeof slots);
    REJECT(&f, NULL, NULL, FSD_ERROR_OVERFLOW, R_ALL);
    /* 2^62 slots (stride 0) of 36 bytes (3 layers * 2 * 2 * 3) */
    base(&f);
    f.sshape[0] = (int64_t)1 << 62;
    f.sstrides[0] = 0;
    REJECT(&f, NULL, NULL, FSD_ERROR_OVERFLOW, R_ALL);
    /* 36 bytes per slot: 2^58 slots need 2^63 + 2^60 bytes; 2^57 slots fit */
    f.sshape[0] = (int64_t)1 << 58;
    REJECT(&f, NULL, NULL, FSD_ERROR_OVERFLOW, R_ALL);
    f.sshape[0] = (int64_t)1 << 57;
    size_t n = 0;
    EXPECT(fsd_gather_size(&f.kv, &f.slots, &n), FSD_SUCCESS);
    assert_true(n == (size_t)36 << 57);
    /* a layer_ptrs entry whose layer runs past the end of the address space */
    base(&f);
    f.table[2] = UINT64_MAX - 16;
    REJECT(&f, NULL, NULL, FSD_ERROR_OVERFLOW, R_ALL);
}

/* More than 12 dimensions left after merging: 14 dims of 2 elements, strides 3^k. */
static void test_too_many_dims(void **state)
{
    (void)state;
    fx f;
    base(&f);
    int64_t shape[14], strides[14];
    for (int d = 0; d < 14; d++) {
        shape[d] = 2;
        strides[d] = 1;
        for (int k = d; k < 13; k++)
            strides[d] *= 3;
    }
    static unsigned char big[2391485]; /* 3^13 + 3^12 + ... + 1 + 1 */
    f.kv.layer = fsdt_host_tensor(big, 14, shape, strides, 8, 1);
    f.kv.block_dim = 0;
    f.kv.offset_dim = -1;
    f.kv.layer_ptrs = NULL;
    const int64_t rows[NT] = {0, 1, -1, 1, 0};
    memcpy(f.slot_vals, rows, sizeof rows);
    REJECT(&f, NULL, NULL, FSD_ERROR_UNSUPPORTED, R_SIZE | R_GATHER | R_RUNS);
    /* 12 are fine: two plain dims of size 1 dropped */
    shape[1] = shape[2] = 1;
    static unsigned char out[NT << 11];
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, out, sizeof out, NULL, NULL), FSD_SUCCESS);
}

/* An empty cache (no blocks) through layer.data NULL: no slot can be read, so negative slots
 * only is a gather that writes nothing, as fsd_pack accepts NULL data without elements. */
static void test_empty_cache_null_data(void **state)
{
    (void)state;
    fx f;
    base(&f);
    f.shape[1] = 0;
    f.kv.layer.data = NULL;
    f.kv.layer_ptrs = NULL;
    for (int t = 0; t < NT; t++)
        f.slot_vals[t] = -1 - t;
    fresh();
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, g_dst, DST, NULL, NULL), FSD_SUCCESS);
    EXPECT(fsd_scatter(g_dst, PACKED / NL, &f.kv, &f.slots, NULL, NULL, NULL), FSD_SUCCESS);
    UNTOUCHED();
    /* a slot that is not negative is past the empty cache */
    f.slot_vals[0] = 0;
    REJECT(&f, NULL, NULL, FSD_ERROR_INVALID_ARGUMENT, R_GATHER | R_RUNS);
}

/* CUDA caches where no GPU is: the validation and fsd_gather_runs need none; the copies give
 * FSD_ERROR_NO_GPU. The "device" addresses are the guarded host buffers: nothing may be
 * written there either. */
static void test_cuda_cache_without_gpu(void **state)
{
    (void)state;
    if (fsdt_gpu_present()) {
        print_message("a GPU is present: the no-GPU statuses are not observable here\n");
        skip();
    }
    static const int devs[2] = {kDLCUDA, kDLCUDAManaged};
    for (int i = 0; i < 2; i++) {
        fx f;
        base(&f);
        f.kv.layer.device.device_type = (DLDeviceType)devs[i];
        size_t n = 0, count = 0;
        EXPECT(fsd_gather_size(&f.kv, &f.slots, &n), FSD_SUCCESS);
        assert_int_equal(n, PACKED);
        /* the run list: the cache is not touched, no GPU needed */
        EXPECT(fsd_gather_runs(&f.kv, &f.slots, NULL, FSD_KV_GATHER, NULL, NULL, 0, &count),
               FSD_SUCCESS);
        assert_int_equal(count, 24);
        fsd_gather_options o = FSD_GATHER_OPTIONS_INIT;
        /* host slots: AUTO and COPY take the copy engines */
        for (int e = FSD_ENGINE_AUTO; e <= FSD_ENGINE_COPY; e += 2) {
            o.engine = (fsd_engine)e;
            REJECT(&f, NULL, &o, FSD_ERROR_NO_GPU, R_GATHER | R_SCATTER);
        }
        /* the copy engines still range-check host slots first */
        f.slot_vals[0] = 16;
        REJECT(&f, NULL, &o, FSD_ERROR_INVALID_ARGUMENT, R_GATHER | R_SCATTER);
        base(&f);
        f.kv.layer.device.device_type = (DLDeviceType)devs[i];
        /* the kernel needs slots and layer_ptrs where the GPU reads them */
        o.engine = FSD_ENGINE_KERNEL;
        REJECT(&f, NULL, &o, FSD_ERROR_INVALID_ARGUMENT, R_GATHER | R_SCATTER);
        f.slots.device.device_type = kDLCUDA;
        REJECT(&f, NULL, &o, FSD_ERROR_INVALID_ARGUMENT, R_GATHER | R_SCATTER); /* layer_ptrs */
        f.ptrs.device.device_type = kDLCUDA;
        REJECT(&f, NULL, &o, FSD_ERROR_NO_GPU, R_GATHER | R_SCATTER);
        f.slots.device.device_id = 1; /* another GPU than the cache's */
        REJECT(&f, NULL, &o, FSD_ERROR_INVALID_ARGUMENT, R_GATHER | R_SCATTER);
        f.slots.device.device_id = 0;
        /* AUTO with device slots takes the kernel */
        o.engine = FSD_ENGINE_AUTO;
        REJECT(&f, NULL, &o, FSD_ERROR_NO_GPU, R_GATHER | R_SCATTER);
        REJECT(&f, NULL, NULL, FSD_ERROR_NO_GPU, R_GATHER | R_SCATTER);
        /* mapped pinned slots and table are readable by the kernel */
        f.slots.device.device_type = kDLCUDAHost;
        f.ptrs.device.device_type = kDLCUDAHost;
        o.engine = FSD_ENGINE_KERNEL;
        REJECT(&f, NULL, &o, FSD_ERROR_NO_GPU, R_GATHER | R_SCATTER);
        /* the copy engines with device slots: the host cannot read them */
        f.slots.device.device_type = kDLCUDA;
        o.engine = FSD_ENGINE_COPY;
        REJECT(&f, NULL, &o, FSD_ERROR_INVALID_ARGUMENT, R_GATHER | R_SCATTER);
        /* fsd_gather_runs reads slots on the host */
        REJECT(&f, NULL, NULL, FSD_ERROR_INVALID_ARGUMENT, R_RUNS);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Edge cases that must work */

static void test_no_tokens(void **state)
{
    (void)state;
    fx f;
    base(&f);
    f.sshape[0] = 0;
    size_t n = 777, count = 777;
    EXPECT(fsd_gather_size(&f.kv, &f.slots, &n), FSD_SUCCESS);
    assert_int_equal(n, 0);
    fresh();
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, g_dst, 0, NULL, NULL), FSD_SUCCESS);
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, NULL, 0, NULL, NULL), FSD_SUCCESS);
    EXPECT(fsd_scatter(NULL, 0, &f.kv, &f.slots, NULL, NULL, NULL), FSD_SUCCESS);
    EXPECT(fsd_gather_runs(&f.kv, &f.slots, NULL, FSD_KV_GATHER, NULL, NULL, 0, &count),
           FSD_SUCCESS);
    assert_int_equal(count, 0);
    EXPECT(fsd_scatter(g_dst, 1, &f.kv, &f.slots, NULL, NULL, NULL), FSD_ERROR_SIZE_MISMATCH);
    f.slots.data = NULL; /* no slots to read */
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, NULL, 0, NULL, NULL), FSD_SUCCESS);
    UNTOUCHED();
    /* still validated: a bad order, bad slots dtype */
    static const int dup[5] = {0, 0, 1, 2, 3};
    EXPECT(fsd_gather(&f.kv, &f.slots, dup, NULL, 0, NULL, NULL), FSD_ERROR_INVALID_ARGUMENT);
    f.slots.dtype.bits = 16;
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, NULL, 0, NULL, NULL), FSD_ERROR_INVALID_ARGUMENT);
}

static void test_no_layers(void **state)
{
    (void)state;
    fx f;
    base(&f);
    f.tshape[0] = 0;
    f.ptrs.data = NULL;
    f.kv.layer.data = NULL;
    size_t n = 777, count = 777;
    EXPECT(fsd_gather_size(&f.kv, &f.slots, &n), FSD_SUCCESS);
    assert_int_equal(n, 0);
    fresh();
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, NULL, 0, NULL, NULL), FSD_SUCCESS);
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, g_dst, DST, NULL, NULL), FSD_SUCCESS);
    EXPECT(fsd_scatter(g_dst, 0, &f.kv, &f.slots, NULL, NULL, NULL), FSD_SUCCESS);
    EXPECT(fsd_gather_runs(&f.kv, &f.slots, NULL, FSD_KV_SCATTER, g_dst, NULL, 0, &count),
           FSD_SUCCESS);
    assert_int_equal(count, 0);
    UNTOUCHED();
}

static void test_zero_size_dims(void **state)
{
    (void)state;
    fx f;
    size_t n = 777;
    /* H = 0: nothing per slot */
    base(&f);
    f.shape[3] = 0;
    EXPECT(fsd_gather_size(&f.kv, &f.slots, &n), FSD_SUCCESS);
    assert_int_equal(n, 0);
    fresh();
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, NULL, 0, NULL, NULL), FSD_SUCCESS);
    EXPECT(fsd_scatter(g_dst, 0, &f.kv, &f.slots, NULL, NULL, NULL), FSD_SUCCESS);
    UNTOUCHED();
    /* no blocks: every slot is past the cache but negative ones */
    base(&f);
    f.shape[1] = 0;
    EXPECT(fsd_gather_size(&f.kv, &f.slots, &n), FSD_SUCCESS);
    assert_int_equal(n, PACKED);
    REJECT(&f, NULL, NULL, FSD_ERROR_INVALID_ARGUMENT, R_GATHER | R_SCATTER | R_RUNS);
    for (int t = 0; t < NT; t++)
        f.slot_vals[t] = -1;
    fresh();
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, g_dst, DST, NULL, NULL), FSD_SUCCESS);
    EXPECT(fsd_scatter(g_dst, PACKED, &f.kv, &f.slots, NULL, NULL, NULL), FSD_SUCCESS);
    UNTOUCHED();
    /* blocks of 0 positions (offset_dim's extent 0): the same */
    base(&f);
    f.shape[2] = 0;
    EXPECT(fsd_gather_size(&f.kv, &f.slots, &n), FSD_SUCCESS);
    assert_int_equal(n, PACKED);
    REJECT(&f, NULL, NULL, FSD_ERROR_INVALID_ARGUMENT, R_GATHER | R_SCATTER | R_RUNS);
    for (int t = 0; t < NT; t++)
        f.slot_vals[t] = -1;
    size_t count = 777;
    fresh();
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, g_dst, DST, NULL, NULL), FSD_SUCCESS);
    EXPECT(fsd_scatter(g_dst, PACKED, &f.kv, &f.slots, NULL, NULL, NULL), FSD_SUCCESS);
    EXPECT(fsd_gather_runs(&f.kv, &f.slots, NULL, FSD_KV_GATHER, g_dst, NULL, 0, &count),
           FSD_SUCCESS);
    assert_int_equal(count, 0);
    UNTOUCHED();
}

static void test_pinned_host_cache(void **state)
{
    (void)state;
    fx f;
    base(&f);
    f.kv.layer.device.device_type = kDLCUDAHost;
    for (int i = 0; i < NL * LAYER_BYTES; i++)
        g_cache[i] = (unsigned char)i;
    memset(g_dst, DST_FILL, DST);
    EXPECT(fsd_gather(&f.kv, &f.slots, NULL, g_dst, DST, NULL, NULL), FSD_SUCCESS);
    assert_memory_equal(g_dst, g_cache, 6);           /* layer 0, K, slot 0 */
    assert_memory_equal(g_dst + 6, g_cache + 30, 6);  /* slot 5: block 1, position 1 */
    assert_int_equal(g_dst[12], DST_FILL);            /* slot -1 */
}

/* fsd_gather_size of every family, at real sizes (the layer addresses are only checked to fit
 * the address space; the slots are one value repeated by a stride of 0). */
typedef struct family {
    const char *name;
    int ndim;
    int64_t shape[5];
    int block_dim, offset_dim;
    int bits, lanes;
    int layers; /* entries of layer_ptrs */
    uint64_t want;
} family;

static void test_family_sizes(void **state)
{
    (void)state;
    const uint64_t T = 256;
    /* name, ndim, shape, block_dim, offset_dim, bits, lanes, layer_ptrs entries, expected */
    const family fams[] = {
        {"vLLM flash bf16", 5, {2, 2048, 16, 8, 128}, 1, 2, 16, 1, 32, 32 * 2 * T * 8 * 128 * 2},
        {"vLLM HND bf16", 5, {2, 2048, 8, 16, 128}, 1, 3, 16, 1, 32, 32 * 2 * T * 8 * 128 * 2},
        {"FlashInfer bf16", 5, {2048, 2, 16, 8, 128}, 0, 2, 16, 1, 28, 28 * 2 * T * 8 * 128 * 2},
        {"FlashInfer HND fp8", 5, {2048, 2, 8, 16, 128}, 0, 3, 8, 1, 80, 80 * 2 * T * 8 * 128},
        {"MLA bf16 (576)", 3, {4096, 64, 576}, 0, 1, 16, 1, 61, 61 * T * 576 * 2},
        {"SGLang, K and V", 3, {65536, 8, 128}, 0, -1, 16, 1, 64, 64 * T * 8 * 128 * 2},
        {"vLLM, 3-byte heads", 5, {2, 64, 16, 8, 1}, 1, 2, 8, 3, 16, 16 * 2 * T * 8 * 3},
        {"vLLM, 12-byte elements", 5, {2, 64, 16, 2, 5}, 1, 2, 96, 1, 4, 4 * 2 * T * 2 * 5 * 12},
    };
    static uint64_t table[80];
    int64_t zero = 0;
    int64_t tshape[1], tstride[1] = {1}, sshape[1] = {(int64_t)T}, sstride[1] = {0};
    DLTensor slots = vec(&zero, sshape, sstride, kDLInt, 64);
    for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++) {
        const family *fm = &fams[i];
        uint64_t layer_bytes = (uint64_t)fm->bits / 8 * fm->lanes;
        for (int d = 0; d < fm->ndim; d++)
            layer_bytes *= (uint64_t)fm->shape[d];
        for (int l = 0; l < fm->layers; l++)
            table[l] = ((uint64_t)1 << 40) + (uint64_t)l * layer_bytes;
        tshape[0] = fm->layers;
        DLTensor ptrs = vec(table, tshape, tstride, kDLUInt, 64);
        fsd_kv_layout kv;
        memset(&kv, 0, sizeof kv);
        kv.layer = fsdt_host_tensor(NULL, fm->ndim, (int64_t *)fm->shape, NULL, fm->bits,
                                    fm->lanes);
        kv.layer.dtype.code = fm->bits == 16 ? kDLBfloat : kDLUInt;
        kv.block_dim = fm->block_dim;
        kv.offset_dim = fm->offset_dim;
        kv.layer_ptrs = &ptrs;
        size_t n = 0;
        EXPECT(fsd_gather_size(&kv, &slots, &n), FSD_SUCCESS);
        if (n != fm->want)
            fail_msg("%s: fsd_gather_size %zu, expected %llu", fm->name, n,
                     (unsigned long long)fm->want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_case_works),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_block_and_offset_dims),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_slots_tensor),
        cmocka_unit_test(test_layer_ptrs_tensor),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_slot_past_cache),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_scatter_aliasing),
        cmocka_unit_test(test_runs_capacity),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_too_many_dims),
        cmocka_unit_test(test_cuda_cache_without_gpu),
        cmocka_unit_test(test_no_tokens),
        cmocka_unit_test(test_no_layers),
        cmocka_unit_test(test_zero_size_dims),
        cmocka_unit_test(test_pinned_host_cache),
        cmocka_unit_test(test_family_sizes),
        cmocka_unit_test(test_empty_cache_null_data),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
