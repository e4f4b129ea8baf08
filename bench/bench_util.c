/* bench_util.c — clock, medians, fills and the threaded memcpy baseline (see bench_util.h). */
#define _GNU_SOURCE /* sysconf(_SC_LEVEL3_CACHE_SIZE) */
#include "bench_util.h"

#include <dlpack/dlpack.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double fsdb_now(void)
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

double fsdb_median(double *t, int n)
{
    if (n <= 0)
        return 0.0;
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

void fsdb_fill_pattern(void *p, size_t n, uint32_t seed)
{
    unsigned char *b = p;
    uint32_t x = seed * 2654435761u + 0x9E3779B9u;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        uint32_t v = x | 0x01010101u; /* no zero byte */
        memcpy(b + i, &v, 4);
    }
    for (; i < n; i++)
        b[i] = (unsigned char)(0x5Bu + i);
}

size_t fsdb_llc_bytes(void)
{
    long l3 = -1;
#ifdef _SC_LEVEL3_CACHE_SIZE
    l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
    return l3 > 0 ? (size_t)l3 : (size_t)32 << 20;
}

int fsdb_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void fsdb_cpu_name(char *buf, size_t len)
{
    snprintf(buf, len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *c = strchr(line, ':');
            if (c) {
                c++;
                while (*c == ' ' || *c == '\t')
                    c++;
                c[strcspn(c, "\n")] = 0;
                snprintf(buf, len, "%s", c);
            }
            break;
        }
    }
    fclose(f);
}

/* ------------------------------------------------------------------------------------------ */

struct fsdb_mtcopy {
    int threads;
    int active;         /* threads taking a share of the current copy */
    pthread_t *workers;
    pthread_barrier_t start, done;
    char *dst;
    const char *src;
    size_t n;
    int stop;
};

typedef struct share_arg {
    fsdb_mtcopy *m;
    int index;
} share_arg;

static void copy_share(fsdb_mtcopy *m, int i)
{
    if (i >= m->active)
        return;
    /* Shares of whole 4 KiB pages, so no two threads write one page. */
    size_t pages = (m->n + 4095) / 4096;
    size_t p0 = pages * (size_t)i / (size_t)m->active, p1 = pages * (size_t)(i + 1) / (size_t)m->active;
    size_t b0 = p0 * 4096, b1 = p1 * 4096 < m->n ? p1 * 4096 : m->n;
    if (b1 > b0)
        memcpy(m->dst + b0, m->src + b0, b1 - b0);
}

static void *worker(void *arg)
{
    share_arg *a = arg;
    for (;;) {
        pthread_barrier_wait(&a->m->start);
        if (a->m->stop)
            break;
        copy_share(a->m, a->index);
        pthread_barrier_wait(&a->m->done);
    }
    free(a);
    return NULL;
}

fsdb_mtcopy *fsdb_mtcopy_create(int threads)
{
    if (threads < 1)
        threads = 1;
    fsdb_mtcopy *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->threads = threads;
    if (threads > 1) {
        m->workers = calloc((size_t)threads - 1, sizeof *m->workers);
        pthread_barrier_init(&m->start, NULL, (unsigned)threads);
        pthread_barrier_init(&m->done, NULL, (unsigned)threads);
        for (int i = 1; i < threads; i++) {
            share_arg *a = malloc(sizeof *a);
            a->m = m;
            a->index = i;
            if (pthread_create(&m->workers[i - 1], NULL, worker, a) != 0) {
                fprintf(stderr, "fastserde-bench: cannot start a memcpy thread\n");
                exit(1);
            }
        }
    }
    return m;
}

void fsdb_mtcopy_run(fsdb_mtcopy *m, void *dst, const void *src, size_t n)
{
    /* Shares of at least FSDB_MTCOPY_MIN_SHARE bytes: below that, waking a thread costs more
     * than it brings, and one memcpy on the calling thread is the better baseline. */
    size_t shares = n / FSDB_MTCOPY_MIN_SHARE;
    m->active = shares < (size_t)m->threads ? (int)(shares ? shares : 1) : m->threads;
    if (m->active == 1) {
        memcpy(dst, src, n);
        return;
    }
    m->dst = dst;
    m->src = src;
    m->n = n;
    pthread_barrier_wait(&m->start);
    copy_share(m, 0);
    pthread_barrier_wait(&m->done);
}

void fsdb_mtcopy_destroy(fsdb_mtcopy *m)
{
    if (m == NULL)
        return;
    if (m->threads > 1) {
        m->stop = 1;
        pthread_barrier_wait(&m->start);
        for (int i = 1; i < m->threads; i++)
            pthread_join(m->workers[i - 1], NULL);
        pthread_barrier_destroy(&m->start);
        pthread_barrier_destroy(&m->done);
        free(m->workers);
    }
    free(m);
}

/* ------------------------------------------------------------------------------------------ */

int fsdb_dtype_parse(const char *name, uint8_t *code, uint8_t *bits)
{
    static const struct {
        const char *name;
        uint8_t code, bits;
    } table[] = {
        {"bf16", kDLBfloat, 16}, {"fp16", kDLFloat, 16}, {"f16", kDLFloat, 16},
        {"fp32", kDLFloat, 32},  {"f32", kDLFloat, 32},  {"fp64", kDLFloat, 64},
        {"f64", kDLFloat, 64},   {"fp8", kDLUInt, 8},    {"u8", kDLUInt, 8},
        {"i8", kDLInt, 8},       {"i16", kDLInt, 16},    {"i32", kDLInt, 32},
        {"i64", kDLInt, 64},     {"c64", kDLComplex, 64}, {"c128", kDLComplex, 128},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(name, table[i].name) == 0) {
            *code = table[i].code;
            *bits = table[i].bits;
            return table[i].bits / 8;
        }
    }
    return 0;
}
