/*
 * test_kernels_emulated.c — every random case of fsd_cases through the CUDA kernels' step
 * functions on an emulated grid (emulated_grid.cu), pack and unpack, against the naive
 * reference, with guard bytes, for several grid sizes (1 SM forces the grid-stride loops to
 * turn) and both index widths. Prints "emulated: <path> <cases>" per path and fails when a
 * path got no case.
 *
 * FSD_TEST_SEED replays a run; FSD_TEST_CASES sets the number of cases.
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
#include "fsd_cases.h"
#include "layout.h"
#include "plan_build.h"

/* Grid sizes the plans are built for: one SM (long grid-stride loops), a few, an H200. */
static const uint32_t SM_COUNTS[] = {1, 3, 132};

static int path_cases[FSD_PATH_COUNT];

/* Builds the plan of case c for `dir` and runs it on the emulated grid. */
static void emulate_case(const fsdt_case *c, void *packed, fsd_direction dir, uint32_t sms,
                         int index64, fsd_path *path)
{
    fsd_layout l;
    fsd_status st = fsd_layout_from_tensor(&c->t, "case", &l);
    if (st != FSD_SUCCESS)
        fail_msg("layout rejected (%d) for %s", (int)st, c->desc);
    fsd_plan plan;
    fsd_plan_build(&l, packed, dir, sms, &plan);
    if (fsdt_emulate(&plan, index64) != 0)
        fail_msg("emulator does not know path %d (%s)", (int)plan.path, c->desc);
    *path = plan.path;
}

static void check_pack(const fsdt_case *c, uint32_t sms, int index64)
{
    unsigned char *want = malloc(c->packed_size + 1);
    unsigned char *got = fsdt_guarded_alloc(c->packed_size, 0x5A);
    fsdt_reference_pack(c, c->storage, want);
    fsd_path path;
    emulate_case(c, got, FSD_DIR_PACK, sms, index64, &path);
    long diff = fsdt_first_diff(want, got, c->packed_size);
    if (diff >= 0)
        fail_msg("pack (%s, %u SMs, index64 %d): byte %ld differs: want %02x got %02x\n  %s",
                 fsd_path_name(path), sms, index64, diff, want[diff], got[diff], c->desc);
    if (!fsdt_guards_intact(got, c->packed_size))
        fail_msg("pack (%s): guard bytes overwritten\n  %s", fsd_path_name(path), c->desc);
    path_cases[path]++;
    fsdt_guarded_free(got);
    free(want);
}

static void check_unpack(const fsdt_case *c, uint32_t sms, int index64)
{
    unsigned char *packed = malloc(c->packed_size + 1);
    for (size_t i = 0; i < c->packed_size; i++)
        packed[i] = (unsigned char)(i * 131 + 7 + (size_t)c->index);
    unsigned char *want = malloc(c->storage_size);
    memcpy(want, c->storage, c->storage_size);
    fsdt_reference_unpack(c, packed, want);
    /* The emulator writes through the case's own view: give it a guarded copy of storage. */
    unsigned char *got = fsdt_guarded_alloc(c->storage_size, 0);
    memcpy(got, c->storage, c->storage_size);
    fsdt_case view = *c;
    view.t.data = got;
    fsd_path path;
    emulate_case(&view, packed, FSD_DIR_UNPACK, sms, index64, &path);
    long diff = fsdt_first_diff(want, got, c->storage_size);
    if (diff >= 0)
        fail_msg("unpack (%s, %u SMs, index64 %d): storage byte %ld differs: want %02x got %02x\n  %s",
                 fsd_path_name(path), sms, index64, diff, want[diff], got[diff], c->desc);
    if (!fsdt_guards_intact(got, c->storage_size))
        fail_msg("unpack (%s): guard bytes around the storage overwritten\n  %s",
                 fsd_path_name(path), c->desc);
    fsdt_guarded_free(got);
    free(want);
    free(packed);
}

static void test_random_cases(void **state)
{
    (void)state;
    uint64_t seed = fsdt_seed();
    long n = fsdt_env_long("FSD_TEST_CASES", 3000);
    for (long i = 0; i < n; i++) {
        fsdt_case c;
        fsdt_case_make(&c, seed, (int)i);
        uint32_t sms = SM_COUNTS[i % 3];
        int index64 = (int)((i / 3) % 2);
        check_pack(&c, sms, index64);
        if (c.nests)
            check_unpack(&c, sms, index64);
        fsdt_case_free(&c);
    }
    int missing = 0;
    for (int p = FSD_PATH_CONTIG; p < FSD_PATH_COUNT; p++) {
        printf("emulated: %s %d\n", fsd_path_name((fsd_path)p), path_cases[p]);
        missing |= path_cases[p] == 0;
    }
    fflush(stdout);
    if (missing)
        fail_msg("a kernel path got no case: the generator must cover every path");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
