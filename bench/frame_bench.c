/*
 * frame_bench.c — fastserde-frame-bench: what a frame's checksum costs on the CPU (issue 16).
 *
 *   --group hash   hashes of 1 KiB pieces that stay in L1, GB/s: the frame's leaf (XXH3-64 by
 *                  libxxhash, through its default entry and its x86 dispatcher; with the
 *                  index-keyed term; fsd_frame_leaves over the 16 KiB; the fused AVX2 loop of
 *                  host/frame/frame_leaf_avx2.c hashing only, and copying to a second buffer in
 *                  L1), XXH64, CRC32C with the SSE4.2 instruction (one stream, and three
 *                  independent streams without the combination: an upper bound), and the
 *                  additive form of kernels/xxh3_leaf.cuh in scalar C (the GPU's form).
 *   --group frame  a KV-cache chunk in the views of fastserde-bench (bench_views.h), one tensor
 *                  per frame, in one process on the same bytes: fsd_pack next to
 *                  fsd_frame_write with the checksum on and off, fsd_unpack into the view next
 *                  to fsd_frame_read verifying and not; on the calling thread and on a
 *                  context's threads (fsd_pack_to_host / fsd_unpack_from_host). Each iteration
 *                  runs every variant once, in turn; the figures are medians; a ratio is the
 *                  median over iterations of the plain pack's (unpack's) time divided by the
 *                  variant's in the same iteration (load from other processes drifts slowly
 *                  and cancels).
 *   --group ring   the host side of a frame's trip through a context's ring (CUDA tensors and
 *                  pageable frames: transfer.c), which needs no GPU to time: a chunk's bytes
 *                  packed (contiguous) moved between 4 MiB pinned-sized chunks that cycle
 *                  through a ring of 3 and the frame, chunk by chunk, on the context's threads:
 *                  the plain copy (no checksum), the copy followed by a hash of the frame's
 *                  bytes (the earlier design: verify, then copy, or copy, then hash), and the
 *                  copy that hashes on the way (fsd_frame_copy_sum, now). GB/s of frame bytes,
 *                  and ratios against the plain copy in the same iteration.
 * The bytes are checked once per view (frame data == packed bytes, read-back == view).
 * Options: --quick, --iters N, --shape NAME (bench_views.h), --threads N, --group G, --cputime
 * (the calling thread's CPU time instead of the wall clock, calling-thread rows only: for A/B
 * comparisons while other processes share the machine; published figures use the wall clock).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include <xxhash.h>

#include "bench_util.h"
#include "context.h"      /* a context's pool: internal */
#include "cpu_parallel.h" /* fsd_cpu_memcpy_parallel_ex */
#include "bench_views.h"
#include "fastserde.h"
#include "frame.h" /* fsd_frame_leaves: internal, so this links the static fastserde_internal */
#include "frame_leaf.h"
#include "transfer.h" /* FSD_RING_MIN_BYTES_PER_THREAD */
#include "xxh3_leaf.cuh"

#if defined(__x86_64__)
#include <nmmintrin.h>
/* In Debian's libxxhash (built with the x86 dispatcher): AVX2 where the CPU has it. */
XXH64_hash_t XXH3_64bits_dispatch(const void *input, size_t len);
#endif

/* --cputime: the calling thread's CPU time instead of the wall clock (for comparisons on a
 * machine that other processes share; only meaningful on the calling thread). */
static int g_cputime;

static double now(void)
{
    if (!g_cputime)
        return fsdb_now();
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#define CHECK(call)                                                                           \
    do {                                                                                      \
        fsd_status st_ = (call);                                                              \
        if (st_ != FSD_SUCCESS) {                                                             \
            char m_[512];                                                                     \
            fsd_last_error(m_, sizeof m_);                                                    \
            fprintf(stderr, "%s:%d: %s: %s: %s\n", __FILE__, __LINE__, #call,                 \
                    fsd_status_string(st_), m_);                                              \
            exit(1);                                                                          \
        }                                                                                     \
    } while (0)

/* ---- hashes of 1 KiB in L1 -------------------------------------------------------------------- */

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint64_t crc32c_1(const unsigned char *p, size_t n)
{
    uint64_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        c = _mm_crc32_u64(c, v);
    }
    return c;
}

/* Three independent streams over the n bytes (a multiple of 8), not combined: what interleaving
 * could reach. */
__attribute__((target("sse4.2"))) static uint64_t crc32c_3(const unsigned char *p, size_t n)
{
    uint64_t a = 0xFFFFFFFFu, b = 0, c = 0;
    size_t third = n / 24 * 8, i = 0;
    for (; i < third; i += 8) {
        uint64_t x, y, z;
        memcpy(&x, p + i, 8);
        memcpy(&y, p + third + i, 8);
        memcpy(&z, p + 2 * third + i, 8);
        a = _mm_crc32_u64(a, x);
        b = _mm_crc32_u64(b, y);
        c = _mm_crc32_u64(c, z);
    }
    for (i = 3 * third; i + 8 <= n; i += 8) { /* the rest on the first stream */
        uint64_t x;
        memcpy(&x, p + i, 8);
        a = _mm_crc32_u64(a, x);
    }
    return a ^ b ^ c;
}
#endif

static uint64_t additive_leaf(const unsigned char *p)
{
    fsd_xxh3_acc a;
    fsd_xxh3_acc_zero(&a);
    for (uint32_t o = 0; o < FSD_XXH3_LEAF_BYTES; o += 8)
        fsd_xxh3_leaf_add(&a, o, fsd_xxh3_load64(p + o));
    return fsd_xxh3_merge(&a, FSD_XXH3_LEAF_BYTES);
}

enum { H_XXH3, H_XXH3_DISPATCH, H_LEAF_TERM, H_LEAVES, H_FUSED, H_FUSED_COPY, H_XXH64, H_CRC1, H_CRC3, H_ADDITIVE, H_COUNT };
static const char *const hash_names[H_COUNT] = {
    "XXH3-64, libxxhash XXH3_64bits (SSE2 build)",
    "XXH3-64, libxxhash XXH3_64bits_dispatch (AVX2)",
    "frame leaf: XXH3 (dispatch) + index-keyed term",
    "frame leaves, libxxhash (fsd_frame_leaves, 16/call)",
    "frame leaves, fused AVX2 loop, hash only",
    "frame leaves, fused AVX2 loop, copy to L1",
    "XXH64 (libxxhash)",
    "CRC32C, SSE4.2 crc32q, one stream",
    "CRC32C, three streams, not combined (bound)",
    "XXH3 additive form (xxh3_leaf.cuh), scalar C",
};

static void bench_hashes(int iters, int reps)
{
    enum { PIECE = 16 << 10 }; /* 16 KiB: in L1 */
    unsigned char *buf = aligned_alloc(64, PIECE);
    char *out = aligned_alloc(64, PIECE);
    fsdb_fill_pattern(buf, PIECE, 7);
    memset(out, 0, PIECE);
    printf("\n== hashes of 1 KiB pieces in L1 (16 KiB buffer, GB/s, median of %d) ==\n", iters);
    double *t = malloc(sizeof(double) * (size_t)iters * H_COUNT);
    uint64_t sink = 0;
    for (int it = 0; it < iters; it++) {
        for (int h = 0; h < H_COUNT; h++) {
            double t0 = now();
            for (int r = 0; r < reps; r++) {
                for (size_t k = 0; k < PIECE; k += 1024) {
                    const unsigned char *p = buf + k;
                    switch (h) {
                    case H_XXH3: sink += XXH3_64bits(p, 1024); break;
#if defined(__x86_64__)
                    case H_XXH3_DISPATCH: sink += XXH3_64bits_dispatch(p, 1024); break;
                    case H_CRC1: sink += crc32c_1(p, 1024); break;
                    case H_CRC3: sink += crc32c_3(p, 1024); break;
#endif
#if defined(__x86_64__)
                    case H_LEAF_TERM: sink += fsd_xxh3_8b(XXH3_64bits_dispatch(p, 1024), k); break;
#else
                    case H_LEAF_TERM: sink += fsd_xxh3_8b(XXH3_64bits(p, 1024), k); break;
#endif
                    case H_XXH64: sink += XXH64(p, 1024, 0); break;
                    case H_LEAVES:
                        if (k == 0)
                            sink += fsd_frame_leaves(buf, PIECE, 0);
                        break;
                    case H_FUSED: /* the AVX2 loop itself: the dispatcher hashes by libxxhash */
                        if (k == 0)
                            sink += fsd_frame_have_avx2()
                                        ? fsd_frame_copy_leaves_avx2(NULL, (const char *)buf, PIECE, 0, 0)
                                        : fsd_frame_leaves(buf, PIECE, 0);
                        break;
                    case H_FUSED_COPY:
                        if (k == 0)
                            sink += fsd_frame_copy_leaves(out, (const char *)buf, PIECE, 0, 0);
                        break;
                    case H_ADDITIVE: sink += additive_leaf(p); break;
                    default: break;
                    }
                }
            }
            t[h * iters + it] = now() - t0;
        }
    }
    for (int h = 0; h < H_COUNT; h++)
        printf("  %-48s %7.2f\n", hash_names[h],
               (double)reps * PIECE / fsdb_median(t + h * iters, iters) / 1e9);
    printf("  (sink %llx)\n", (unsigned long long)(sink & 0xF));
    free(t);
    free(out);
    free(buf);
}

/* ---- frames next to plain pack / unpack ------------------------------------------------------- */

enum { V_PACK, V_WRITE_CS, V_WRITE, V_UNPACK, V_READ_CS, V_READ, V_COUNT };
static const char *const variant_names[V_COUNT] = {
    "pack", "write+cs", "write", "unpack", "read+verify", "read",
};

static void bench_view(const fsdb_model *m, fsdb_layout lay, fsd_context *ctx, int iters)
{
    fsdb_view v;
    fsdb_view_kv(m, lay, 2, &v);
    char *storage = aligned_alloc(4096, (v.storage_bytes + 4095) / 4096 * 4096);
    char *storage2 = aligned_alloc(4096, (v.storage_bytes + 4095) / 4096 * 4096);
    fsdb_fill_pattern(storage, v.storage_bytes, 3);
    memcpy(storage2, storage, v.storage_bytes);
    DLTensor t = {.data = storage, .device = {kDLCPU, 0}, .ndim = v.ndim,
                  .dtype = {kDLBfloat, 16, 1}, .shape = v.shape, .strides = v.strides,
                  .byte_offset = v.byte_offset};
    DLTensor t2 = t;
    t2.data = storage2;
    size_t n = v.packed_bytes, fsize, fsize_nocs;
    fsd_frame_tensor ft = {"kv", &t};
    fsd_frame_options cs = FSD_FRAME_OPTIONS_INIT, nocs = FSD_FRAME_OPTIONS_INIT;
    cs.kv_layout = nocs.kv_layout = "KV_2LTD";
    cs.kv_tokens = nocs.kv_tokens = m->tokens;
    nocs.checksum = FSD_FRAME_CHECKSUM_NONE;
    CHECK(fsd_frame_size(&ft, 1, &cs, &fsize));
    CHECK(fsd_frame_size(&ft, 1, &nocs, &fsize_nocs));
    char *packed = aligned_alloc(4096, (n + 4095) / 4096 * 4096);
    char *frame = aligned_alloc(4096, (fsize + 4095) / 4096 * 4096);
    char *frame_nocs = aligned_alloc(4096, (fsize_nocs + 4095) / 4096 * 4096);
    /* fault every page in once, then check the bytes */
    memset(packed, 0, n);
    memset(frame, 0, fsize);
    memset(frame_nocs, 0, fsize_nocs);
    CHECK(fsd_pack(&t, packed, n, NULL));
    CHECK(fsd_frame_write(ctx, &ft, 1, &cs, frame, fsize, NULL));
    CHECK(fsd_frame_write(ctx, &ft, 1, &nocs, frame_nocs, fsize_nocs, NULL));
    if (memcmp(frame + fsize - n, packed, n) != 0 || memcmp(frame_nocs + fsize_nocs - n, packed, n) != 0) {
        fprintf(stderr, "frame bytes differ from fsd_pack's (%s)\n", fsdb_layout_name(lay));
        exit(1);
    }
    fsd_frame *f, *f_nocs;
    CHECK(fsd_frame_open(frame, fsize, &f));
    CHECK(fsd_frame_open(frame_nocs, fsize_nocs, &f_nocs));
    memset(storage2, 0, v.storage_bytes);
    CHECK(fsd_frame_read(ctx, f, 0, &t2, 1, NULL));
    CHECK(fsd_pack(&t2, packed, n, NULL));
    if (memcmp(frame + fsize - n, packed, n) != 0) {
        fprintf(stderr, "read-back differs (%s)\n", fsdb_layout_name(lay));
        exit(1);
    }
    double *tm = malloc(sizeof(double) * (size_t)iters * V_COUNT);
    for (int it = 0; it < iters; it++) {
        for (int k = 0; k < V_COUNT; k++) {
            double t0 = now();
            switch (k) {
            case V_PACK:
                CHECK(ctx ? fsd_pack_to_host(ctx, &t, packed, n, NULL) : fsd_pack(&t, packed, n, NULL));
                break;
            case V_WRITE_CS: CHECK(fsd_frame_write(ctx, &ft, 1, &cs, frame, fsize, NULL)); break;
            case V_WRITE: CHECK(fsd_frame_write(ctx, &ft, 1, &nocs, frame_nocs, fsize_nocs, NULL)); break;
            case V_UNPACK:
                CHECK(ctx ? fsd_unpack_from_host(ctx, packed, n, &t2, NULL) : fsd_unpack(packed, n, &t2, NULL));
                break;
            case V_READ_CS: CHECK(fsd_frame_read(ctx, f, 0, &t2, 1, NULL)); break;
            default: CHECK(fsd_frame_read(ctx, f_nocs, 0, &t2, 0, NULL)); break;
            }
            tm[k * iters + it] = now() - t0;
        }
    }
    /* ratios: per iteration (the variant against the plain copy of the same iteration, so
     * that load from other processes, which drifts slowly, cancels), then the median */
    double ratio[4], *r = malloc(sizeof(double) * (size_t)iters);
    const int num[4] = {V_WRITE_CS, V_WRITE, V_READ_CS, V_READ};
    for (int q = 0; q < 4; q++) {
        int base = q < 2 ? V_PACK : V_UNPACK;
        for (int it = 0; it < iters; it++)
            r[it] = tm[base * iters + it] / tm[num[q] * iters + it];
        ratio[q] = fsdb_median(r, iters);
    }
    free(r);
    double gbs[V_COUNT];
    for (int k = 0; k < V_COUNT; k++)
        gbs[k] = (double)n / fsdb_median(tm + k * iters, iters) / 1e9;
    printf("  %-12s %-34s", fsdb_layout_name(lay), v.desc);
    for (int k = 0; k < V_COUNT; k++)
        printf(" %7.2f", gbs[k]);
    printf("   %5.2fx %5.2fx   %5.2fx %5.2fx\n", ratio[0], ratio[1], ratio[2], ratio[3]);
    fflush(stdout);
    free(tm);
    fsd_frame_close(f);
    fsd_frame_close(f_nocs);
    free(frame);
    free(frame_nocs);
    free(packed);
    free(storage);
    free(storage2);
}

static void bench_frames(const fsdb_model *m, int iters, int threads)
{
    for (int pass = 0; pass < (g_cputime ? 1 : 2); pass++) {
        fsd_context *ctx = NULL;
        if (pass == 1) {
            fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
            cfg.cpu_threads = threads;
            CHECK(fsd_context_create(&ctx, &cfg));
        }
        printf("\n== %s bf16 KV chunk, one tensor per frame, %s: GB/s (median of %d%s) ==\n",
               m->title, ctx ? "a context's threads" : "the calling thread", iters,
               g_cputime ? ", thread CPU time" : "");
        if (ctx) {
            fsd_context_usage u;
            CHECK(fsd_context_memory(ctx, &u));
            printf("   (%d threads)\n", u.cpu_threads);
        }
        printf("  %-12s %-34s", "layout", "view");
        for (int k = 0; k < V_COUNT; k++)
            printf(" %7s", variant_names[k]);
        printf("   write+cs/pack write/pack   read+verify/unpack read/unpack\n");
        for (int l = 0; l < FSDB_LAYOUT_COUNT; l++)
            bench_view(m, (fsdb_layout)l, ctx, iters);
        fsd_context_destroy(ctx);
    }
}

/* ---- the host side of the ring ------------------------------------------------------------- */

enum { R_COPY, R_COPY_THEN_HASH, R_COPY_HASH, R_COUNT };
static const char *const ring_names[R_COUNT] = {"copy", "copy, then hash", "copy+hash"};

/* One tensor's bytes between the frame and the ring's chunks; into the frame (the write) when
 * `out`, else out of it (the read). Returns S (0 for the plain copy). */
static uint64_t ring_pass(fsd_pool *pool, char *frame, char *ring, uint64_t n, int variant, int out)
{
    const uint64_t chunk = (uint64_t)4 << 20;
    uint64_t sum = 0;
    for (uint64_t b = 0, k = 0; b < n; b += chunk, k++) {
        uint64_t len = n - b < chunk ? n - b : chunk;
        char *pinned = ring + (k % 3) * chunk;
        char *dst = out ? frame + b : pinned;
        const char *src = out ? pinned : frame + b;
        if (variant == R_COPY_HASH)
            sum += fsd_frame_copy_sum(pool, dst, src, len, b, FSD_RING_MIN_BYTES_PER_THREAD);
        else
            fsd_cpu_memcpy_parallel_ex(pool, dst, src, len, FSD_RING_MIN_BYTES_PER_THREAD);
    }
    if (variant == R_COPY_THEN_HASH)
        sum = fsd_frame_sum(pool, frame, n);
    return sum;
}

static void bench_ring(const fsdb_model *m, int iters, int threads)
{
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.cpu_threads = threads;
    fsd_context *ctx = NULL;
    CHECK(fsd_context_create(&ctx, &cfg));
    fsdb_view v;
    fsdb_view_kv(m, FSDB_CONTIG, 2, &v);
    const uint64_t n = v.packed_bytes, chunk = (uint64_t)4 << 20;
    char *frame = aligned_alloc(4096, (n + 4095) / 4096 * 4096);
    char *ring = aligned_alloc(4096, 3 * chunk);
    fsdb_fill_pattern(frame, n, 5);
    memset(ring, 0, 3 * chunk);
    uint64_t want = fsd_frame_sum(NULL, frame, n);
    fsd_context_usage u;
    CHECK(fsd_context_memory(ctx, &u));
    printf("\n== the ring's host side: %s, %.1f MiB, chunks of 4 MiB, %d threads: GB/s (median of "
           "%d) ==\n", m->title, (double)n / (1 << 20), u.cpu_threads, iters);
    printf("  %-6s", "");
    for (int k = 0; k < R_COUNT; k++)
        printf(" %16s", ring_names[k]);
    printf("   copy/(copy, then hash)  copy/(copy+hash)\n");
    double *tm = malloc(sizeof(double) * (size_t)iters * R_COUNT), *r = malloc(sizeof(double) * (size_t)iters);
    for (int out = 0; out < 2; out++) {
        if (out) { /* the write's bytes: the ring's chunks in turn */
            fsdb_fill_pattern(ring, 3 * chunk, 7);
            (void)ring_pass(ctx->pool, frame, ring, n, R_COPY, 1);
            want = fsd_frame_sum(NULL, frame, n);
        }
        for (int it = 0; it < iters; it++)
            for (int k = 0; k < R_COUNT; k++) {
                double t0 = now();
                uint64_t s = ring_pass(ctx->pool, frame, ring, n, k, out);
                tm[k * iters + it] = now() - t0;
                if (k != R_COPY && s != want) {
                    fprintf(stderr, "ring %s: sum %016llx, want %016llx\n", ring_names[k],
                            (unsigned long long)s, (unsigned long long)want);
                    exit(1);
                }
            }
        printf("  %-6s", out ? "write" : "read");
        for (int k = 0; k < R_COUNT; k++)
            printf(" %16.2f", (double)n / fsdb_median(tm + k * iters, iters) / 1e9);
        for (int k = R_COPY_THEN_HASH; k <= R_COPY_HASH; k++) {
            for (int it = 0; it < iters; it++)
                r[it] = tm[R_COPY * iters + it] / tm[k * iters + it];
            printf("   %12.2fx", fsdb_median(r, iters));
        }
        printf("\n");
        fflush(stdout);
    }
    free(r);
    free(tm);
    free(ring);
    free(frame);
    fsd_context_destroy(ctx);
}

int main(int argc, char **argv)
{
    int iters = 15, threads = 0, quick = 0;
    const char *group = "all", *shape = "llama3-8b";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc)
            iters = atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--cputime") == 0)
            g_cputime = 1;
        else if (strcmp(argv[i], "--group") == 0 && i + 1 < argc)
            group = argv[++i];
        else if (strcmp(argv[i], "--shape") == 0 && i + 1 < argc)
            shape = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--quick] [--iters N] [--threads N] [--cputime] [--group hash|frame|ring|all] "
                            "[--shape NAME]\n", argv[0]);
            return 2;
        }
    }
    if (quick) {
        iters = iters > 3 ? 3 : iters;
        shape = "llama3.2-1b";
    }
    const fsdb_model *m = NULL;
    for (int i = 0; i < fsdb_model_count; i++)
        if (strcmp(fsdb_models[i].name, shape) == 0)
            m = &fsdb_models[i];
    if (m == NULL || iters < 1) {
        fprintf(stderr, "unknown shape %s or iters < 1\n", shape);
        return 2;
    }
    char cpu[128];
    fsdb_cpu_name(cpu, sizeof cpu);
    printf("fastserde-frame-bench: %s, %d CPUs\n", cpu, fsdb_cpu_count());
    FILE *la = fopen("/proc/loadavg", "r");
    char load[64] = "?";
    if (la != NULL) {
        if (fgets(load, sizeof load, la) == NULL)
            strcpy(load, "?");
        fclose(la);
    }
    printf("load average at start: %s", load);
    if (strcmp(group, "hash") == 0 || strcmp(group, "all") == 0)
        bench_hashes(iters, quick ? 100 : 2000);
    if (strcmp(group, "frame") == 0 || strcmp(group, "all") == 0)
        bench_frames(m, iters, threads);
    if (strcmp(group, "ring") == 0 || strcmp(group, "all") == 0)
        bench_ring(m, iters, threads);
    return 0;
}
