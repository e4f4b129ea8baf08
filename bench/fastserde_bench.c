/*
 * fastserde-bench — the main job: packs and unpacks KV-cache-shaped tensors (LMCache's 256-token
 * chunks, bf16) in the views caches hand over, checks that every round trip gives back the
 * tensor, and prints throughput next to a host memcpy of the same bytes measured in the same
 * run. This first version runs the CPU path; GPU rows come with the benchmark issue.
 *
 * Usage: fastserde-bench [--quick] [--iters N]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fastserde.h"

#define MAX_DIMS 6

typedef struct view {
    const char *name;
    int ndim;
    int64_t base_shape[MAX_DIMS]; /* the storage the view lives in, compact               */
    int64_t shape[MAX_DIMS];      /* the view                                             */
    int perm[MAX_DIMS];           /* view dim d is base dim perm[d] (before slicing)      */
    int64_t start[MAX_DIMS];      /* per base dim: first index and step of the slice      */
    int64_t step[MAX_DIMS];
} view;

/* Llama-3-8B: 32 layers, 8 KV heads x 128, K and V, 256 tokens: [2, 32, 256, 1024] bf16. */
static const view VIEWS[] = {
    {"contiguous [2,32,256,1024]", 4, {2, 32, 256, 1024}, {2, 32, 256, 1024}, {0, 1, 2, 3},
     {0, 0, 0, 0}, {1, 1, 1, 1}},
    {"token slice 128:384 of 512", 4, {2, 32, 512, 1024}, {2, 32, 256, 1024}, {0, 1, 2, 3},
     {0, 0, 128, 0}, {1, 1, 1, 1}},
    {"every other head of 16", 5, {2, 32, 256, 16, 128}, {2, 32, 256, 8, 128}, {0, 1, 2, 3, 4},
     {0, 0, 0, 0, 0}, {1, 1, 1, 2, 1}},
    {"[L,T,H,D] -> [L,H,T,D]", 5, {2, 32, 256, 8, 128}, {2, 32, 8, 256, 128}, {0, 1, 3, 2, 4},
     {0, 0, 0, 0, 0}, {1, 1, 1, 1, 1}},
    {"transpose last two dims", 4, {2, 32, 256, 1024}, {2, 32, 1024, 256}, {0, 1, 3, 2},
     {0, 0, 0, 0}, {1, 1, 1, 1}},
};

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

static double median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

static int check(fsd_status st, const char *what)
{
    if (st == FSD_SUCCESS)
        return 0;
    char msg[256];
    fsd_last_error(msg, sizeof msg);
    fprintf(stderr, "%s: %s (%s)\n", what, fsd_status_string(st), msg);
    return 1;
}

typedef enum op { OP_MEMCPY, OP_PACK, OP_UNPACK } op;

/* Median seconds of `iters` runs after one warm-up. */
static double time_op(op o, const DLTensor *t, void *packed, size_t n, void *copy, int iters,
                      int *failed)
{
    double *times = malloc(sizeof(double) * (size_t)iters);
    for (int i = -1; i < iters; i++) {
        double t0 = now_s();
        switch (o) {
        case OP_MEMCPY: memcpy(copy, packed, n); break;
        case OP_PACK: *failed |= check(fsd_pack(t, packed, n, NULL), "fsd_pack"); break;
        case OP_UNPACK: *failed |= check(fsd_unpack(packed, n, t, NULL), "fsd_unpack"); break;
        }
        if (i >= 0)
            times[i] = now_s() - t0;
    }
    double m = median(times, iters);
    free(times);
    return m;
}

static int run_view(const view *v, int iters)
{
    int64_t base_strides[MAX_DIMS], strides[MAX_DIMS];
    size_t base_elems = 1;
    for (int d = v->ndim - 1; d >= 0; d--) {
        base_strides[d] = (int64_t)base_elems;
        base_elems *= (size_t)v->base_shape[d];
    }
    uint64_t offset = 0;
    for (int d = 0; d < v->ndim; d++)
        offset += (uint64_t)(v->start[d] * base_strides[d]) * 2;
    for (int d = 0; d < v->ndim; d++)
        strides[d] = base_strides[v->perm[d]] * v->step[v->perm[d]];
    uint16_t *storage = malloc(base_elems * 2);
    for (size_t i = 0; i < base_elems; i++)
        storage[i] = (uint16_t)(i * 2654435761u >> 7);
    DLTensor t = {storage, {kDLCPU, 0}, v->ndim, {kDLBfloat, 16, 1}, (int64_t *)v->shape, strides, offset};
    size_t n = 0;
    int failed = check(fsd_packed_size(&t, &n), "fsd_packed_size");
    unsigned char *packed = malloc(n), *copy = malloc(n), *first = malloc(n);

    double t_mem = time_op(OP_MEMCPY, &t, packed, n, copy, iters, &failed);
    double t_pack = time_op(OP_PACK, &t, packed, n, NULL, iters, &failed);
    memcpy(first, packed, n);
    /* Round trip: scramble the storage, unpack, pack again: the same bytes must come back. */
    memset(storage, 0xA5, base_elems * 2);
    double t_unpack = time_op(OP_UNPACK, &t, packed, n, NULL, iters, &failed);
    failed |= check(fsd_pack(&t, copy, n, NULL), "fsd_pack");
    int same = memcmp(first, copy, n) == 0;

    double gb = (double)n / 1e9;
    printf("%-28s %8.1f %9.2f %9.2f %6.2f %9.2f %6.2f  %s\n", v->name, (double)n / (1 << 20),
           gb / t_mem, gb / t_pack, t_mem / t_pack, gb / t_unpack, t_mem / t_unpack,
           same && !failed ? "ok" : "MISMATCH");
    free(storage);
    free(packed);
    free(copy);
    free(first);
    return same && !failed ? 0 : 1;
}

int main(int argc, char **argv)
{
    int iters = 10;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            iters = 3;
        else if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc)
            iters = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--quick] [--iters N]\n", argv[0]);
            return 2;
        }
    }
    if (iters < 1)
        iters = 1;
    unsigned v = fsd_version();
    printf("fastserde %u.%u.%u — CPU pack/unpack of Llama-3-8B KV-cache chunks (bf16), "
           "median of %d runs after a warm-up\n", v / 10000, v / 100 % 100, v % 100, iters);
    printf("GPU rows: not in this version (the benchmark issue adds them).\n\n");
    printf("%-28s %8s %9s %9s %6s %9s %6s  %s\n", "view", "MiB", "memcpy", "pack", "x mem",
           "unpack", "x mem", "round trip");
    printf("%-28s %8s %9s %9s %6s %9s %6s\n", "", "", "GB/s", "GB/s", "", "GB/s", "");
    int bad = 0;
    for (size_t i = 0; i < sizeof VIEWS / sizeof VIEWS[0]; i++)
        bad |= run_view(&VIEWS[i], iters);
    return bad;
}
