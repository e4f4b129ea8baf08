/*
 * test_ranges.c — plans that cover only part of the packed bytes: the chunks of the staged
 * round trip and the CPU threads' shares. Each random case is cut into consecutive ranges (at
 * chunk sizes of 1 to 4096 bytes, boundaries often inside an element); every range is copied
 * through its own guarded buffer by the CPU path and by the kernels on the emulated grid, and
 * the pieces together must equal the naive reference: pack byte for byte, unpack over the
 * whole storage.
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

#include "cpu_copy.h"
#include "emulated_grid.h"
#include "fsd_cases.h"
#include "layout.h"
#include "plan_build.h"

typedef enum engine { ENGINE_CPU, ENGINE_EMULATED } engine;
static const char *const ENGINE_NAME[] = {"cpu", "emulated"};

/* Chunk sizes: odd ones cut elements; 16 and 4096 are what the round trip uses. */
static const uint64_t CHUNKS[] = {1, 3, 7, 16, 48, 100, 4096};

/* Copies packed bytes [begin, end) of case c between `storage` (the view's storage) and
 * `chunk` (the address of byte begin). */
static void copy_range(const fsdt_case *c, unsigned char *storage, unsigned char *chunk,
                       uint64_t begin, uint64_t end, fsd_direction dir, engine how)
{
    DLTensor t = c->t;
    t.data = storage;
    fsd_layout l;
    assert_int_equal(fsd_layout_from_tensor(&t, "case", &l), FSD_SUCCESS);
    fsd_plan plan;
    fsd_plan_build_range(&l, chunk, begin, end, dir, how == ENGINE_CPU ? 0 : 2, &plan);
    if (how == ENGINE_CPU)
        fsd_cpu_execute(&plan);
    else if (fsdt_emulate(&plan, 0) != 0)
        fail_msg("emulator does not know path %d", (int)plan.path);
}

static void check_case(const fsdt_case *c, uint64_t chunk, engine how)
{
    const size_t n = c->packed_size;
    unsigned char *want = malloc(n + 1), *got = malloc(n + 1);
    fsdt_reference_pack(c, c->storage, want);
    /* Pack, range by range, each into its own guarded buffer. */
    for (uint64_t b = 0; b < n; b += chunk) {
        uint64_t e = b + chunk < n ? b + chunk : n;
        unsigned char *buf = fsdt_guarded_alloc(e - b, 0x5A);
        copy_range(c, c->storage, buf, b, e, FSD_DIR_PACK, how);
        if (!fsdt_guards_intact(buf, e - b))
            fail_msg("%s pack of bytes [%llu, %llu): guard overwritten\n  %s", ENGINE_NAME[how],
                     (unsigned long long)b, (unsigned long long)e, c->desc);
        memcpy(got + b, buf, e - b);
        fsdt_guarded_free(buf);
    }
    long diff = fsdt_first_diff(want, got, n);
    if (diff >= 0)
        fail_msg("%s pack in chunks of %llu: byte %ld differs: want %02x got %02x\n  %s",
                 ENGINE_NAME[how], (unsigned long long)chunk, diff, want[diff], got[diff], c->desc);

    if (c->nests) {
        /* Unpack new bytes range by range; the whole storage must match the reference. */
        for (size_t i = 0; i < n; i++)
            got[i] = (unsigned char)(i * 29 + 11);
        unsigned char *ref = malloc(c->storage_size), *store = malloc(c->storage_size);
        memcpy(ref, c->storage, c->storage_size);
        memcpy(store, c->storage, c->storage_size);
        fsdt_reference_unpack(c, got, ref);
        for (uint64_t b = 0; b < n; b += chunk) {
            uint64_t e = b + chunk < n ? b + chunk : n;
            unsigned char *buf = fsdt_guarded_alloc(e - b, 0);
            memcpy(buf, got + b, e - b);
            copy_range(c, store, buf, b, e, FSD_DIR_UNPACK, how);
            fsdt_guarded_free(buf);
        }
        diff = fsdt_first_diff(ref, store, c->storage_size);
        if (diff >= 0)
            fail_msg("%s unpack in chunks of %llu: storage byte %ld differs: want %02x got %02x\n  %s",
                     ENGINE_NAME[how], (unsigned long long)chunk, diff, ref[diff], store[diff], c->desc);
        free(ref);
        free(store);
    }
    free(want);
    free(got);
}

static void test_ranges(void **state)
{
    (void)state;
    uint64_t seed = fsdt_seed();
    long cases = fsdt_env_long("FSD_TEST_CASES", 1500);
    for (long i = 0; i < cases; i++) {
        fsdt_case c;
        fsdt_case_make(&c, seed, (int)i);
        uint64_t chunk = CHUNKS[i % (sizeof CHUNKS / sizeof CHUNKS[0])];
        /* Tiny chunks of a large case would take long: at most ~512 ranges a case. */
        while (c.packed_size / chunk > 512)
            chunk = chunk * 4 + 1;
        check_case(&c, chunk, ENGINE_CPU);
        check_case(&c, chunk, ENGINE_EMULATED);
        fsdt_case_free(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
