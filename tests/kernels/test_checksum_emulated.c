/*
 * test_checksum_emulated.c — the checksum pack (kernels/checksum_step.cuh) on the emulated grid:
 * for every random case of fsd_cases and for tensors sized around the leaf and the tile (0, 1,
 * 1023 .. 16385 bytes and more, contiguous, strided, transposed), the packed bytes must equal
 * the naive reference's and S must equal the CPU's (fsd_frame_leaves over the reference bytes,
 * host/frame/frame_checksum.c, libxxhash), and so must the finished checksum
 * (fsd_frame_finish). Destinations are misaligned on purpose (0..15 bytes past 64), with guard
 * bytes around them; grids for 1, 3 and 132 SMs; both index widths. Prints the cases per plan
 * path ("checksum: transpose16 <n>") and fails when a path got none.
 *
 * FSD_TEST_SEED replays a run; FSD_TEST_CASES sets the number of random cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "emulated_grid.h"
#include "frame.h"
#include "fsd_cases.h"
#include "layout.h"
#include "plan_build.h"

static const uint32_t SM_COUNTS[] = {1, 3, 132};

/* Cases per kind of plan: the paths, with TRANSPOSE split into word tiles and 16-byte tiles. */
enum { K_EMPTY, K_CONTIG, K_RUNS, K_GENERIC, K_TRANSPOSE, K_TRANSPOSE16, K_COUNT };
static const char *const K_NAMES[K_COUNT] = {"empty", "contig", "runs", "generic", "transpose", "transpose16"};
static int kind_cases[K_COUNT];
static int partial_leaf_cases, sub_leaf_cases, multi_tile_cases, misaligned_cases, transpose_tile_cases;

static int plan_kind(const fsd_plan *p)
{
    switch (p->path) {
    case FSD_PATH_CONTIG: return K_CONTIG;
    case FSD_PATH_RUNS: return K_RUNS;
    case FSD_PATH_GENERIC: return K_GENERIC;
    case FSD_PATH_TRANSPOSE: return p->tiles16 ? K_TRANSPOSE16 : K_TRANSPOSE;
    default: return K_EMPTY;
    }
}

/* Packs case c with the checksum kernel into a destination `mis` bytes past a 64-byte boundary
 * and checks bytes, guards and S. */
static void check_case(const fsdt_case *c, uint32_t sms, int index64, unsigned mis)
{
    const size_t n = c->packed_size;
    unsigned char *want = malloc(n + 1);
    fsdt_reference_pack(c, c->storage, want);
    unsigned char *buf = fsdt_guarded_alloc(n + mis, 0x5A);
    fsd_layout l;
    fsd_status st = fsd_layout_from_tensor(&c->t, "case", &l);
    if (st != FSD_SUCCESS)
        fail_msg("layout rejected (%d) for %s", (int)st, c->desc);
    fsd_plan plan;
    fsd_plan_build(&l, buf + mis, FSD_DIR_PACK, sms, &plan);
    uint64_t sum = 0xdeadbeef;
    if (fsdt_emulate_checksum(&plan, sms, index64, &sum) != 0)
        fail_msg("the checksum emulator refused the plan (%s)", c->desc);
    const char *path = K_NAMES[plan_kind(&plan)];
    long diff = fsdt_first_diff(want, buf + mis, n);
    if (diff >= 0)
        fail_msg("checksum pack (%s, %u SMs, index64 %d, dst +%u): byte %ld differs: want %02x got %02x\n  %s",
                 path, sms, index64, mis, diff, want[diff], buf[mis + diff], c->desc);
    if (!fsdt_guards_intact(buf, n + mis) || !fsdt_all_equal(buf, mis, 0x5A))
        fail_msg("checksum pack (%s, dst +%u): bytes outside the destination written\n  %s", path, mis, c->desc);
    const uint64_t cpu = fsd_frame_leaves(want, n, 0);
    if (sum != cpu)
        fail_msg("checksum pack (%s, %u SMs, index64 %d, dst +%u): S %016llx, the CPU's %016llx (%zu bytes)\n  %s",
                 path, sms, index64, mis, (unsigned long long)sum, (unsigned long long)cpu, n, c->desc);
    /* The finished value too, as a frame writes it (the seed of a fixed name). */
    const int64_t one = (int64_t)n;
    const uint64_t seed = fsd_frame_tensor_seed("t", 1, "U8", &one, 1);
    assert_true(fsd_frame_finish(sum, seed) == fsd_frame_finish(cpu, seed));
    kind_cases[plan_kind(&plan)]++;
    fsd_plan cs = plan;
    fsd_plan_checksum(&cs, sms);
    transpose_tile_cases += cs.cs_transpose;
    partial_leaf_cases += n % FSD_CS_LEAF != 0;
    sub_leaf_cases += n > 0 && n < FSD_CS_LEAF;
    multi_tile_cases += n > FSD_CS_TILE;
    misaligned_cases += mis % 16 != 0;
    fsdt_guarded_free(buf);
    free(want);
}

static void test_random_cases(void **state)
{
    (void)state;
    uint64_t seed = fsdt_seed();
    long n = fsdt_env_long("FSD_TEST_CASES", 3000);
    for (long i = 0; i < n; i++) {
        fsdt_case c;
        fsdt_case_make(&c, seed, (int)i);
        check_case(&c, SM_COUNTS[i % 3], (int)((i / 3) % 2), (unsigned)((i / 6) % 4 == 3 ? (i / 24) % 16 : 0));
        fsdt_case_free(&c);
    }
}

/* A view over random storage, built by hand: shape and strides in elements. */
static void make_view(fsdt_case *c, int ndim, const int64_t *shape, const int64_t *strides,
                      uint8_t bits, uint64_t seed)
{
    memset(c, 0, sizeof *c);
    c->elem_size = bits / 8;
    c->num_elems = 1;
    int64_t span = 0;
    for (int d = 0; d < ndim; d++) {
        c->shape[d] = shape[d];
        c->strides[d] = strides[d];
        c->num_elems *= (size_t)shape[d];
        if (shape[d] > 0)
            span += (shape[d] - 1) * strides[d];
    }
    c->packed_size = c->num_elems * c->elem_size;
    c->storage_size = (size_t)(span + 1) * c->elem_size + 16;
    c->storage = malloc(c->storage_size);
    fsdt_rng r;
    fsdt_rng_init(&r, seed, 7);
    fsdt_rng_fill(&r, c->storage, c->storage_size);
    c->t.data = c->storage;
    c->t.device = (DLDevice){kDLCPU, 0};
    c->t.ndim = ndim;
    c->t.dtype = (DLDataType){kDLUInt, bits, 1};
    c->t.shape = c->shape;
    c->t.strides = c->strides;
    c->nests = 1;
    snprintf(c->desc, sizeof c->desc, "hand-made: %d dims [%lld%s], %u-byte elements", ndim,
             (long long)shape[0], ndim > 1 ? ", ..." : "", bits / 8u);
}

/* Sizes around a leaf and a tile, each as a contiguous tensor, a strided one (every other
 * element: RUNS with narrow words) and a transposed one, elements of 1, 2, 4 and 16 bytes. */
static void test_edge_sizes(void **state)
{
    (void)state;
    static const int64_t BYTES[] = {0, 1, 8, 16, 24, 1000, 1023, 1024, 1025, 2048, 4095, 16383,
                                    16384, 16385, 32767, 32768, 32769, 32768 + 48,
                                    3 * 32768 + 1024 + 8, 200000};
    static const uint8_t BITS[] = {8, 16, 32, 128};
    int k = 0;
    for (size_t b = 0; b < sizeof BYTES / sizeof *BYTES; b++)
        for (size_t e = 0; e < sizeof BITS / sizeof *BITS; e++, k++) {
            const int64_t es = BITS[e] / 8;
            if (BYTES[b] % es != 0)
                continue;
            const int64_t elems = BYTES[b] / es;
            fsdt_case c;
            /* contiguous */
            int64_t shape1[1] = {elems}, stride1[1] = {1};
            make_view(&c, 1, shape1, stride1, BITS[e], (uint64_t)k);
            check_case(&c, SM_COUNTS[k % 3], k % 2, (unsigned)(k % 16));
            fsdt_case_free(&c);
            /* every other element */
            stride1[0] = 2;
            make_view(&c, 1, shape1, stride1, BITS[e], (uint64_t)k + 1000);
            check_case(&c, SM_COUNTS[(k + 1) % 3], (k + 1) % 2, (unsigned)((k * 7) % 16));
            fsdt_case_free(&c);
            /* transposed: [rows, cols] with the rows contiguous in storage */
            for (int64_t rows = 8; rows <= 256; rows *= 4) {
                if (elems % rows != 0 || elems / rows < 8)
                    continue;
                int64_t shape2[2] = {rows, elems / rows}, stride2[2] = {1, rows};
                make_view(&c, 2, shape2, stride2, BITS[e], (uint64_t)k + 2000 + (uint64_t)rows);
                check_case(&c, SM_COUNTS[(k + 2) % 3], k % 2, (unsigned)((k * 5) % 16));
                fsdt_case_free(&c);
            }
        }
}

/* The 16-byte tile transposes of KV-sized bf16 views: [H, T] <- [T, H] and [L, H, T, D] views. */
static void test_transpose16(void **state)
{
    (void)state;
    static const int64_t SHAPES[][2] = {{128, 256}, {256, 128}, {256, 1000}, {136, 520}};
    for (size_t i = 0; i < sizeof SHAPES / sizeof *SHAPES; i++) {
        fsdt_case c;
        int64_t shape[2] = {SHAPES[i][0], SHAPES[i][1]}, strides[2] = {1, SHAPES[i][0]};
        make_view(&c, 2, shape, strides, 16, 77 + i);
        check_case(&c, SM_COUNTS[i % 3], (int)(i % 2), 0);
        fsdt_case_free(&c);
    }
}

/* Transposes whose packed rows are whole leaves (the transpose tiles, checksum_transpose_step.cuh):
 * [batch, b, a] views of [batch, a, b] storage, every element size, a partial last tile along a,
 * and a batch dim; packed rows of whole leaves and rows that divide a leaf. */
static void test_transpose_tiles(void **state)
{
    (void)state;
    static const struct { uint8_t bits; int64_t batch, a, b; } V[] = {
        {16, 1, 128, 512}, {16, 1, 40, 1024}, {16, 3, 24, 512}, {8, 1, 48, 1024}, {8, 2, 32, 2048},
        {32, 1, 36, 256}, {32, 2, 64, 512}, {64, 1, 34, 128}, {64, 1, 32, 256}, {128, 1, 8, 64},
        {128, 2, 33, 128}, {16, 2, 256, 1024},
        /* rows that divide a leaf: tiles of whole rows */
        {16, 1, 64, 256}, {16, 2, 96, 256}, {16, 1, 1000, 256}, {16, 4, 1024, 256}, {8, 1, 48, 64},
        {32, 3, 8, 32}, {128, 1, 9, 16}, {64, 2, 66, 64},
    };
    for (size_t i = 0; i < sizeof V / sizeof *V; i++) {
        /* packed [batch, a, b] of storage laid out [batch, b, a] */
        int64_t shape[3] = {V[i].batch, V[i].a, V[i].b};
        int64_t strides[3] = {V[i].a * V[i].b, 1, V[i].a};
        fsdt_case c;
        make_view(&c, 3, shape, strides, V[i].bits, 300 + i);
        const int before = transpose_tile_cases;
        check_case(&c, SM_COUNTS[i % 3], (int)(i % 2), (unsigned)(i % 4 == 3 ? 16 * i % 64 + 8 : 0));
        if (transpose_tile_cases == before)
            fail_msg("not planned as transpose tiles: %s", c.desc);
        fsdt_case_free(&c);
    }
}

static void test_coverage(void **state)
{
    (void)state;
    int missing = 0;
    for (int k = K_EMPTY; k < K_COUNT; k++) {
        printf("checksum: %s %d\n", K_NAMES[k], kind_cases[k]);
        missing |= kind_cases[k] == 0;
    }
    printf("checksum: last leaf partial %d, under one leaf %d, several tiles %d, destination "
           "misaligned %d, transpose tiles %d\n", partial_leaf_cases, sub_leaf_cases,
           multi_tile_cases, misaligned_cases, transpose_tile_cases);
    fflush(stdout);
    if (missing || partial_leaf_cases == 0 || sub_leaf_cases == 0 || multi_tile_cases == 0 ||
        misaligned_cases == 0 || transpose_tile_cases == 0)
        fail_msg("a kind of plan or of size got no case");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edge_sizes),
        cmocka_unit_test(test_transpose16),
        cmocka_unit_test(test_transpose_tiles),
        cmocka_unit_test(test_random_cases),
        cmocka_unit_test(test_coverage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
