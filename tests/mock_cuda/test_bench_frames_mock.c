/*
 * test_bench_frames_mock.c — fastserde-bench's frames group on a GPU (bench/bench_frames_gpu.c),
 * run on the stand-in runtime with the library's real kernels (fsd_mock_runtime_kernels): for a
 * small KV chunk in each of the five views, fsdb_run_frames_gpu's own checks pass (the frames
 * written into device memory and through the ring equal the CPU's byte for byte, the read-backs
 * rebuild the storage, the checksum pack kernel's bytes and S equal the CPU's), it adds its
 * seven rows, each "ok", and the stand-in saw no misuse. No GPU here runs the group otherwise,
 * so this is what keeps tools/gpu-check.sh's frames rows from failing on a lent GPU.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench_frames.h"
#include "mock_cuda.h"

static void frames_group_on_gpu(void **state)
{
    (void)state;
    static const fsdb_model tiny = {"tiny", "tiny", 2, 32, 2, 64}; /* 2 layers, 32 tokens */
    const fsdb_cfg cfg = {1, 2, 2, 1, 0};
    const fsdb_dtype bf16 = {"bf16", {kDLBfloat, 16, 1}, 2};
    fsd_context_config cc = FSD_CONTEXT_CONFIG_INIT;
    cc.chunk_bytes = 4096; /* several ring chunks per frame */
    cc.cpu_threads = 2;
    fsd_context *ctx = NULL;
    assert_int_equal(fsd_context_create(&ctx, &cc), FSD_SUCCESS);
    static const char *const ops[] = {"frame_write", "frame_write_nocs", "frame_kernel"};
    static const char *const paged_ops[] = {"frame_write", "frame_write_nocs", "frame_read_verify",
                                            "frame_read"};
    for (int l = 0; l < FSDB_LAYOUT_COUNT; l++) {
        fsdb_results rs = {0};
        int bad = fsdb_run_frames_gpu(&cfg, ctx, &tiny, (fsdb_layout)l, &bf16, &rs);
        for (int i = 0; i < rs.n; i++)
            printf("  %-12s %-18s %-9s %s\n", fsdb_layout_name((fsdb_layout)l), rs.r[i].op,
                   rs.r[i].host_mem, rs.r[i].check);
        assert_int_equal(bad, 0);
        assert_int_equal(rs.n, 7);
        for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
            const fsdb_result *r = fsdb_results_find(&rs, "gpu", &tiny, "bf16", (fsdb_layout)l, ops[k], "");
            assert_non_null(r);
            assert_string_equal(r->check, "ok");
        }
        for (size_t k = 0; k < sizeof paged_ops / sizeof paged_ops[0]; k++) {
            const fsdb_result *r = fsdb_results_find(&rs, "gpu", &tiny, "bf16", (fsdb_layout)l,
                                                     paged_ops[k], "pageable");
            assert_non_null(r);
            assert_string_equal(r->check, "ok");
        }
        free(rs.r);
    }
    fsd_context_destroy(ctx);
    mockcuda_stats st;
    mockcuda_get_stats(&st);
    assert_int_equal(st.violations, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(frames_group_on_gpu)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
