/*
 * roundtrip_pipelined.h — the stream-order test of calls queued back to back on one stream,
 * with no synchronisation between them and the ring of chunks reused across calls. Part of
 * roundtrip_checks.h: include that, not this.
 */
#ifndef ROUNDTRIP_PIPELINED_H
#define ROUNDTRIP_PIPELINED_H

#include "roundtrip_buffers.h"
#include "roundtrip_edge_cases.h"
#include "roundtrip_env.h"

/* Calls queued back to back with no synchronisation between them: unpacks of several tensors,
 * then packs of them, the ring of chunks reused across calls. In half the rounds all on one
 * stream; in the other half the tensors alternate between two streams that are not ordered
 * with each other (a blocking and a non-blocking one), so that only the context itself orders
 * one call's use of the ring after the previous call's. */
static void test_pipelined_calls(void **state)
{
    (void)state;
    enum { M = 6 };
    env e;
    env_open(&e);
    long failures = 0;
    for (int round = 0; round < 12; round++) {
        fsdt_case c[M];
        dbuf dev[M];
        hbuf src[M], dst[M];
        const int ci = round % NCTX, si = (round / NCTX) % STREAM_KINDS, two = round % 3 == 1;
        rt_schedule(g_seed + (uint64_t)round, round % 2 ? 0 : 40);
        for (int i = 0; i < M; i++) {
            edge_case(&c[i], 100000 + round * M + i, CONFIGS[ci].chunk);
            dev[i] = dbuf_make(c[i].storage_size);
            upload(&dev[i], c[i].storage, two ? e.streams[1 + i % 2] : e.streams[si]);
            src[i] = hbuf_make(c[i].packed_size, (i + round) % 2, 0);
            fsdt_rng r;
            fsdt_rng_init(&r, g_seed, (uint64_t)(round * M + i));
            fsdt_rng_fill(&r, src[i].p, c[i].packed_size);
            dst[i] = hbuf_make(c[i].packed_size, (i + round / 2) % 2, FILL);
        }
        for (int i = 0; i < M; i++) {
            DLTensor t = device_view(&c[i], &dev[i], 0);
            fsd_status st = fsd_unpack_from_host(e.ctx[ci], src[i].p, c[i].packed_size, &t,
                                                 two ? e.streams[1 + i % 2] : e.streams[si]);
            if (st != FSD_SUCCESS && failures++ < 8)
                printf("FAIL: round %d, tensor %d: fsd_unpack_from_host: %s\n", round, i,
                       fsd_status_string(st));
        }
        for (int i = 0; i < M; i++) {
            DLTensor t = device_view(&c[i], &dev[i], 0);
            fsd_status st = fsd_pack_to_host(e.ctx[ci], &t, dst[i].p, c[i].packed_size,
                                             two ? e.streams[1 + i % 2] : e.streams[si]);
            if (st != FSD_SUCCESS && failures++ < 8)
                printf("FAIL: round %d, tensor %d: fsd_pack_to_host: %s\n", round, i,
                       fsd_status_string(st));
            if (!dst[i].pinned && memcmp(dst[i].p, src[i].p, c[i].packed_size) != 0 &&
                failures++ < 8)
                printf("FAIL: round %d, tensor %d (%s): pageable pack_to_host differs on "
                       "return\n", round, i, c[i].desc);
        }
        CUDA_OK(cudaStreamSynchronize(e.streams[si]));
        CUDA_OK(cudaStreamSynchronize(e.streams[STREAM_BLOCKING]));
        CUDA_OK(cudaStreamSynchronize(e.streams[STREAM_NONBLOCKING]));
        for (int i = 0; i < M; i++) {
            if ((memcmp(dst[i].p, src[i].p, c[i].packed_size) != 0 ||
                 !fsdt_guards_intact(dst[i].p, c[i].packed_size)) && failures++ < 8)
                printf("FAIL: round %d, tensor %d (%s), context %d, stream %s: "
                       "pack(unpack(P)) != P\n", round, i, c[i].desc, ci,
                       two ? STREAM_NAMES[1 + i % 2] : STREAM_NAMES[si]);
            hbuf_free(&src[i]);
            hbuf_free(&dst[i]);
            dbuf_free(&dev[i]);
            fsdt_case_free(&c[i]);
        }
        free_later();
    }
    env_close(&e);
    if (failures > 0)
        fail_msg("back-to-back calls: %ld failures (seed %llu)", failures,
                 (unsigned long long)g_seed);
}

#endif
