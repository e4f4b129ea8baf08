/*
 * cpu_threshold — the measurements behind FSD_CPU_MIN_BYTES_PER_THREAD and
 * FSD_CPU_MIN_BYTES_PER_THREAD_TILES (cpu_parallel.h) and FSD_CPU_STREAM_MIN_BYTES (cpu_copy.h).
 *
 *   cpu_threshold [threads] [rounds]     threads vs one thread
 *   cpu_threshold --stream [rounds]      streaming vs ordinary stores, one thread
 *
 * For tensors of 16 KiB .. 32 MiB in the benchmark's layouts (fp16 runs of 256 B and 2 KiB, a
 * KV-cache permute, a transpose of the last two dims; pack and unpack), it times the CPU path
 * on one thread and split over `threads` pool threads whatever the size (threshold 0), the
 * calls of both interleaved, and prints microseconds per call (median over rounds of the mean
 * of a loop of calls). The crossover of a layout is the smallest size from which the threads
 * are faster at that size and every larger one; the suggested thresholds are the largest
 * crossover over the layouts of runs, and that of the transpose, divided by the threads and
 * rounded up to a power of two. --stream compares the two kinds of stores the same way on
 * 256 KiB .. 64 MiB, where the CPU path streams: pack of 256-byte runs, pack and unpack of
 * 2 KiB runs, of the transpose and of a contiguous tensor. Nothing here asserts anything: it is a tool, run by
 * hand (docs/cpu-path.md).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpu_layouts.h"
#include "cpu_parallel.h"
#include "layout.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static const char *const NAMES[] = {"runs 256 B", "runs 2 KiB", "[L,T,H,D]->[L,H,T,D]",
                                    "transpose fp16", "contiguous"};

/* The view of `bytes` packed bytes of layout k (fp16). */
static void make_view(cpu_view *v, int k, uint64_t bytes)
{
    uint64_t elems = bytes / 2;
    int64_t base[4];
    switch (k) {
    case 0: /* 256 B runs out of 512 B */
        base[0] = (int64_t)(elems / 128); base[1] = 256;
        cpu_view_init(v, 2, base, 2, "runs 256 B");
        v->count[1] = 128;
        break;
    case 1: /* 2 KiB runs out of 4 KiB */
        base[0] = (int64_t)(elems / 1024); base[1] = 2048;
        if (base[0] < 1) base[0] = 1;
        cpu_view_init(v, 2, base, 2, "runs 2 KiB");
        v->count[1] = 1024;
        break;
    case 2: /* [L, T, H, D] -> [L, H, T, D], H = 8, D = 64 */
        base[0] = 1; base[1] = (int64_t)(elems / 512); base[2] = 8; base[3] = 64;
        cpu_view_init(v, 4, base, 2, "[L,T,H,D]->[L,H,T,D]");
        v->perm[1] = 2; v->perm[2] = 1;
        break;
    case 3: { /* transpose of a square-ish matrix */
        int64_t a = 1;
        while ((uint64_t)(a * a * 4) <= elems)
            a *= 2;
        base[0] = a; base[1] = (int64_t)elems / a;
        cpu_view_init(v, 2, base, 2, "transpose fp16");
        v->perm[0] = 1; v->perm[1] = 0;
        break;
    }
    default: /* contiguous */
        base[0] = (int64_t)elems;
        cpu_view_init(v, 1, base, 2, "contiguous");
        break;
    }
}

/* bytes / threads, rounded up to a power of two. */
static uint64_t per_thread_pow2(uint64_t bytes, int threads)
{
    uint64_t per = bytes / (uint64_t)threads, p2 = 1;
    while (p2 < per)
        p2 <<= 1;
    return p2;
}

int main(int argc, char **argv)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int stream = argc > 1 && strcmp(argv[1], "--stream") == 0;
    int threads = stream ? 1 : argc > 1 ? atoi(argv[1]) : (int)(cores > 1 ? cores : 2);
    int rounds = argc > 2 ? atoi(argv[2]) : 15;
    if ((!stream && threads < 2) || rounds < 1 || rounds > 1000) {
        fprintf(stderr, "usage: %s [threads >= 2 | --stream] [rounds]\n", argv[0]);
        return 2;
    }
    fsd_alloc al = {{NULL, NULL, NULL}};
    fsd_pool *pools[2];
    if (fsd_pool_create(&pools[0], 1, &al) != FSD_SUCCESS ||
        fsd_pool_create(&pools[1], threads, &al) != FSD_SUCCESS)
        return 1;
    static const uint64_t thread_kib[] = {16, 32, 64, 128, 192, 256, 384, 512, 768, 1024, 1536,
                                          2048, 4096, 8192, 16384, 32768};
    static const uint64_t stream_kib[] = {256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536};
    const uint64_t *sizes_kib = stream ? stream_kib : thread_kib;
    const int nsizes = stream ? (int)(sizeof stream_kib / sizeof stream_kib[0])
                              : (int)(sizeof thread_kib / sizeof thread_kib[0]);
    /* Contender 0 and 1: one thread and the threads, or ordinary and streaming stores. */
    const fsd_cpu_opts opts[2] = {{stream ? FSD_CPU_STORE_CACHED : FSD_CPU_STORE_AUTO, 1},
                                  {stream ? FSD_CPU_STORE_STREAM : FSD_CPU_STORE_AUTO, 1}};
    double *t = malloc(sizeof(double) * (size_t)rounds * 2);
    uint64_t worst = 0, worst_tiles = 0; /* largest crossovers: runs, transposes */
    if (stream)
        printf("cpu_threshold --stream: ordinary vs streaming stores, one thread, median of %d "
               "rounds; microseconds per call\n", rounds);
    else
        printf("cpu_threshold: 1 thread vs %d, median of %d rounds; microseconds per call\n",
               threads, rounds);
    for (int k = 0; k < 5; k++) {
        for (int dir = 0; dir < 2; dir++) {
            /* --stream: only where the CPU path streams (runs of 256 B are not streamed on
             * unpack, the permute's runs are too thin); the threads: every layout but the
             * contiguous one. */
            if (stream ? (k == 2 || (k == 0 && dir == 1)) : k == 4)
                continue;
            uint64_t crossover = 0;
            printf("\n%s, %s\n%10s %10s %10s %8s\n", NAMES[k], dir ? "unpack" : "pack", "KiB",
                   stream ? "ordinary" : "1 thread", stream ? "streaming" : "threads", "ratio");
            for (int s = 0; s < nsizes; s++) {
                cpu_view v;
                make_view(&v, k, sizes_kib[s] << 10);
                fsdt_case c;
                cpu_case_from_view(&c, &v, 1, s);
                fsd_layout l;
                if (fsd_layout_from_tensor(&c.t, "view", &l) != FSD_SUCCESS)
                    return 1;
                char *packed = malloc(c.packed_size + 64);
                memset(packed, 1, c.packed_size + 64);
                fsd_direction d = dir ? FSD_DIR_UNPACK : FSD_DIR_PACK;
                /* Calls per sample: about 2 ms of contender 0. */
                double t0 = now_s();
                fsd_cpu_execute_parallel_ex(pools[0], &l, packed, d, 0, &opts[0]);
                double once = now_s() - t0;
                int calls = once > 2e-3 ? 1 : (int)(2e-3 / (once > 1e-7 ? once : 1e-7));
                double med[2];
                for (int r = -1; r < rounds; r++)
                    for (int w = 0; w < 2; w++) {
                        t0 = now_s();
                        for (int i = 0; i < calls; i++)
                            fsd_cpu_execute_parallel_ex(pools[stream ? 0 : w], &l, packed, d, 0, &opts[w]);
                        if (r >= 0)
                            t[w * rounds + r] = (now_s() - t0) / calls;
                    }
                for (int w = 0; w < 2; w++) {
                    qsort(t + w * rounds, (size_t)rounds, sizeof(double), cmp_double);
                    med[w] = t[w * rounds + rounds / 2];
                }
                printf("%10llu %10.2f %10.2f %8.2f\n", (unsigned long long)sizes_kib[s], med[0] * 1e6,
                       med[1] * 1e6, med[0] / med[1]);
                if (med[1] >= med[0])
                    crossover = 0;
                else if (crossover == 0)
                    crossover = sizes_kib[s] << 10;
                free(packed);
                fsdt_case_free(&c);
            }
            if (crossover == 0) {
                printf("crossover: none up to %llu KiB\n", (unsigned long long)sizes_kib[nsizes - 1]);
                crossover = (sizes_kib[nsizes - 1] << 10) * 2;
            } else {
                printf("crossover: %llu KiB\n", (unsigned long long)(crossover >> 10));
            }
            uint64_t *w = k == 3 ? &worst_tiles : &worst;
            if (crossover > *w)
                *w = crossover;
        }
    }
    uint64_t p2 = per_thread_pow2(worst, stream ? 1 : threads);
    if (stream) {
        printf("\nlargest crossover %llu KiB: suggested FSD_CPU_STREAM_MIN_BYTES %llu KiB (now %llu KiB)\n",
               (unsigned long long)(worst >> 10), (unsigned long long)(p2 >> 10),
               (unsigned long long)(FSD_CPU_STREAM_MIN_BYTES >> 10));
    } else {
        printf("\nlargest crossover of the runs %llu KiB over %d threads: suggested "
               "FSD_CPU_MIN_BYTES_PER_THREAD %llu KiB (now %llu KiB)\n",
               (unsigned long long)(worst >> 10), threads, (unsigned long long)(p2 >> 10),
               (unsigned long long)(FSD_CPU_MIN_BYTES_PER_THREAD >> 10));
        p2 = per_thread_pow2(worst_tiles, threads);
        printf("largest crossover of the transpose %llu KiB over %d threads: suggested "
               "FSD_CPU_MIN_BYTES_PER_THREAD_TILES %llu KiB (now %llu KiB)\n",
               (unsigned long long)(worst_tiles >> 10), threads, (unsigned long long)(p2 >> 10),
               (unsigned long long)(FSD_CPU_MIN_BYTES_PER_THREAD_TILES >> 10));
    }
    fsd_pool_destroy(pools[0]);
    fsd_pool_destroy(pools[1]);
    free(t);
    return 0;
}
