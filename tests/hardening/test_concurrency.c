/*
 * test_concurrency.c — many threads at once, as the header's thread-safety contract allows:
 *  1. stateless calls: every thread packs and unpacks its own random tensors (fsd_cases) with
 *     fsd_pack / fsd_unpack, and all threads pack one shared read-only tensor into their own
 *     buffers, checked byte for byte against the naive reference;
 *  2. one context per thread (each with its own CPU thread pool): fsd_pack_to_host,
 *     fsd_unpack_from_host, fsd_to_bytes, fsd_from_bytes on host tensors, checked likewise;
 *     contexts are created and destroyed while other threads use theirs;
 *  3. per-thread error messages: each thread provokes failures whose fsd_last_error text names
 *     its own values, while the others do the same.
 * Meant to run under ThreadSanitizer (tools/ci-hardening.sh) as well as normally. Worker
 * threads never call cmocka (its failures longjmp): they record the first mismatch, which the
 * main thread reports.
 *
 * FSD_TEST_SEED replays the cases; FSD_TEST_CASES sets the cases per thread (default 100),
 * FSD_TEST_THREADS the threads (default 8).
 */
#define _POSIX_C_SOURCE 200809L /* pthread_barrier_t under -std=c11 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include <cmocka.h>

#include "fastserde.h"
#include "fsd_cases.h"

#define MAX_THREADS 64

typedef struct worker {
    int id;
    int cases;
    uint64_t seed;
    const fsdt_case *shared;      /* read by every thread at once (part 1)     */
    const unsigned char *shared_want;
    pthread_barrier_t *start;
    long checked;                 /* calls whose results were compared         */
    char error[512];              /* first failure, empty when none            */
} worker;

static void record(worker *w, const char *fmt, ...)
{
    if (w->error[0] != '\0')
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->error, sizeof w->error, fmt, ap);
    va_end(ap);
}

static void status_msg(char *buf, size_t len, fsd_status st)
{
    char detail[256];
    fsd_last_error(detail, sizeof detail);
    snprintf(buf, len, "%s (%s)", fsd_status_string(st), detail);
}

#define CHECK_OK(w, call, what, c)                                                            \
    do {                                                                                      \
        fsd_status st_ = (call);                                                              \
        if (st_ != FSD_SUCCESS) {                                                             \
            char m_[300];                                                                     \
            status_msg(m_, sizeof m_, st_);                                                   \
            record((w), "thread %d: %s failed: %s\n  %s", (w)->id, (what), m_, (c)->desc);    \
            goto done;                                                                        \
        }                                                                                     \
    } while (0)

/* Compares `got` with `want`; records a mismatch. Returns 1 when equal. */
static int same(worker *w, const unsigned char *want, const unsigned char *got, size_t n,
                const char *what, const fsdt_case *c)
{
    long d = fsdt_first_diff(want, got, n);
    w->checked++;
    if (d < 0)
        return 1;
    record(w, "thread %d: %s: byte %ld differs (want %02x got %02x)\n  %s", w->id, what, d,
           want[d], got[d], c->desc);
    return 0;
}

/* The unpack half of parts 1 and 2: unpacks `src` (c->packed_size bytes) into a guarded copy of
 * the case's storage, with fsd_unpack when ctx is NULL, else with fsd_unpack_from_host on ctx,
 * and compares the whole storage (the view and the bytes around it) with the reference. */
static void unpack_check(worker *w, fsd_context *ctx, const fsdt_case *c,
                         const unsigned char *src)
{
    const char *what = ctx == NULL ? "fsd_unpack" : "fsd_unpack_from_host";
    unsigned char *store_want = malloc(c->storage_size);
    unsigned char *store_got = fsdt_guarded_alloc(c->storage_size, 0);
    if (store_want == NULL) {
        record(w, "out of memory");
        goto done;
    }
    memcpy(store_want, c->storage, c->storage_size);
    memcpy(store_got, c->storage, c->storage_size);
    fsdt_reference_unpack(c, src, store_want);
    DLTensor view = c->t;
    view.data = store_got;
    CHECK_OK(w,
             ctx == NULL ? fsd_unpack(src, c->packed_size, &view, NULL)
                         : fsd_unpack_from_host(ctx, src, c->packed_size, &view, NULL),
             what, c);
    if (!same(w, store_want, store_got, c->storage_size, what, c))
        goto done;
    if (!fsdt_guards_intact(store_got, c->storage_size))
        record(w, "thread %d: %s wrote outside the storage\n  %s", w->id, what, c->desc);
done:
    fsdt_guarded_free(store_got);
    free(store_want);
}

/* Part 1 for one case: fsd_pack, then fsd_unpack into a copy of the storage. */
static void stateless_case(worker *w, const fsdt_case *c)
{
    unsigned char *want = malloc(c->packed_size + 1);
    unsigned char *got = fsdt_guarded_alloc(c->packed_size, 0x5A);
    if (want == NULL) {
        record(w, "out of memory");
        goto done;
    }
    fsdt_reference_pack(c, c->storage, want);
    CHECK_OK(w, fsd_pack(&c->t, got, c->packed_size, NULL), "fsd_pack", c);
    if (!same(w, want, got, c->packed_size, "fsd_pack", c))
        goto done;
    if (!fsdt_guards_intact(got, c->packed_size)) {
        record(w, "thread %d: fsd_pack wrote outside dst\n  %s", w->id, c->desc);
        goto done;
    }
    if (!c->nests)
        goto done;
    /* unpack the reversed bytes into a copy of the storage */
    for (size_t i = 0; i < c->packed_size; i++)
        got[i] = want[c->packed_size - 1 - i];
    unpack_check(w, NULL, c, got);
done:
    fsdt_guarded_free(got);
    free(want);
}

/* Part 2 for one case, with the thread's own context. */
static void context_case(worker *w, fsd_context *ctx, const fsdt_case *c)
{
    unsigned char *want = malloc(c->packed_size + 1);
    unsigned char *got = fsdt_guarded_alloc(c->packed_size, 0xA5);
    void *bytes = NULL;
    DLManagedTensor *m = NULL;
    if (want == NULL) {
        record(w, "out of memory");
        goto done;
    }
    fsdt_reference_pack(c, c->storage, want);
    CHECK_OK(w, fsd_pack_to_host(ctx, &c->t, got, c->packed_size, NULL), "fsd_pack_to_host", c);
    if (!same(w, want, got, c->packed_size, "fsd_pack_to_host", c))
        goto done;
    size_t size = 0;
    CHECK_OK(w, fsd_to_bytes(ctx, &c->t, &bytes, &size), "fsd_to_bytes", c);
    if (size != c->packed_size) {
        record(w, "thread %d: fsd_to_bytes: %zu bytes, want %zu\n  %s", w->id, size,
               c->packed_size, c->desc);
        goto done;
    }
    if (size > 0 && !same(w, want, bytes, size, "fsd_to_bytes", c))
        goto done;
    /* from_bytes: a 1-D tensor of the case's dtype holding the same bytes */
    DLDevice cpu = {kDLCPU, 0};
    CHECK_OK(w, fsd_from_bytes(ctx, bytes, size, c->t.dtype, cpu, &m), "fsd_from_bytes", c);
    if (m->dl_tensor.ndim != 1 || (size_t)m->dl_tensor.shape[0] * c->elem_size != size) {
        record(w, "thread %d: fsd_from_bytes: wrong shape\n  %s", w->id, c->desc);
        goto done;
    }
    if (size > 0 && !same(w, want, m->dl_tensor.data, size, "fsd_from_bytes", c))
        goto done;
    if (!c->nests)
        goto done;
    /* unpack_from_host of the from_bytes tensor's bytes (reversed) */
    unsigned char *data = m->dl_tensor.data;
    for (size_t i = 0; i < size / 2; i++) {
        unsigned char x = data[i];
        data[i] = data[size - 1 - i];
        data[size - 1 - i] = x;
    }
    unpack_check(w, ctx, c, data); /* size == c->packed_size here */
done:
    if (m != NULL)
        m->deleter(m);
    fsd_bytes_free(bytes);
    fsdt_guarded_free(got);
    free(want);
}

/* Part 3: a failure whose message carries this thread's numbers, read back at once. */
static void own_error(worker *w, int round)
{
    int64_t shape[2] = {3 + w->id, -(int64_t)(1000 * w->id + round) - 1};
    DLTensor t;
    memset(&t, 0, sizeof t);
    t.device.device_type = kDLCPU;
    t.ndim = 2;
    t.shape = shape;
    t.dtype.code = kDLUInt;
    t.dtype.bits = 8;
    t.dtype.lanes = 1;
    size_t n;
    fsd_status st = fsd_packed_size(&t, &n);
    char msg[256], want[64];
    fsd_last_error(msg, sizeof msg);
    snprintf(want, sizeof want, "%lld", (long long)shape[1]);
    w->checked++;
    if (st != FSD_ERROR_INVALID_ARGUMENT || strstr(msg, want) == NULL)
        record(w, "thread %d: fsd_last_error is \"%s\", expected it to name %s (status %s)",
               w->id, msg, want, fsd_status_string(st));
}

static void *work(void *arg)
{
    worker *w = arg;
    fsd_context *ctx = NULL;
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.cpu_threads = 1 + w->id % 3; /* 1: caller only; 2-3: the context's pool */
    pthread_barrier_wait(w->start);
    for (int i = 0; i < w->cases && w->error[0] == '\0'; i++) {
        /* a context per round for odd threads: creation and destruction race with the others */
        if (ctx == NULL || (w->id % 2 == 1 && i % 8 == 0)) {
            fsd_context_destroy(ctx);
            ctx = NULL;
            fsd_status st = fsd_context_create(&ctx, &cfg);
            if (st != FSD_SUCCESS) {
                char m[300];
                status_msg(m, sizeof m, st);
                record(w, "thread %d: fsd_context_create: %s", w->id, m);
                break;
            }
        }
        fsdt_case c;
        fsdt_case_make(&c, w->seed, w->id * 100000 + i);
        stateless_case(w, &c);
        context_case(w, ctx, &c);
        fsdt_case_free(&c);

        /* the shared tensor, read by everyone at once */
        unsigned char *got = fsdt_guarded_alloc(w->shared->packed_size, 0x11);
        fsd_status st = (i % 2) ? fsd_pack(&w->shared->t, got, w->shared->packed_size, NULL)
                                : fsd_pack_to_host(ctx, &w->shared->t, got, w->shared->packed_size, NULL);
        if (st != FSD_SUCCESS)
            record(w, "thread %d: pack of the shared tensor: %s", w->id, fsd_status_string(st));
        else
            same(w, w->shared_want, got, w->shared->packed_size, "shared pack", w->shared);
        fsdt_guarded_free(got);
        own_error(w, i);
    }
    fsd_context_destroy(ctx);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    uint64_t seed = fsdt_seed();
    int nthreads = (int)fsdt_env_long("FSD_TEST_THREADS", 8);
    int cases = (int)fsdt_env_long("FSD_TEST_CASES", 100);
    if (nthreads < 2)
        nthreads = 2;
    if (nthreads > MAX_THREADS)
        nthreads = MAX_THREADS;
    if (cases < 1)
        cases = 1;

    /* a shared tensor large enough that the copies overlap in time: find a case of >= 64 KiB */
    fsdt_case shared;
    for (int i = 0;; i++) {
        fsdt_case_make(&shared, seed ^ 0x5eed, i);
        if (shared.packed_size >= 65536 || i == 200)
            break;
        fsdt_case_free(&shared);
    }
    unsigned char *shared_want = malloc(shared.packed_size + 1);
    assert_non_null(shared_want);
    fsdt_reference_pack(&shared, shared.storage, shared_want);

    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)nthreads);
    worker *ws = calloc((size_t)nthreads, sizeof *ws);
    pthread_t *tids = calloc((size_t)nthreads, sizeof *tids);
    assert_true(ws != NULL && tids != NULL);
    for (int i = 0; i < nthreads; i++) {
        ws[i].id = i;
        ws[i].cases = cases;
        ws[i].seed = seed;
        ws[i].shared = &shared;
        ws[i].shared_want = shared_want;
        ws[i].start = &start;
        assert_int_equal(pthread_create(&tids[i], NULL, work, &ws[i]), 0);
    }
    long checked = 0;
    int failed = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(tids[i], NULL);
        checked += ws[i].checked;
        if (ws[i].error[0] != '\0') {
            print_error("%s\n", ws[i].error);
            failed++;
        }
    }
    print_message("%d threads x %d cases: %ld results checked, %d threads failed\n", nthreads,
                  cases, checked, failed);
    pthread_barrier_destroy(&start);
    free(tids);
    free(ws);
    free(shared_want);
    fsdt_case_free(&shared);
    if (failed)
        fail_msg("%d of %d threads saw wrong results (seed %llu)", failed, nthreads,
                 (unsigned long long)seed);
    /* every thread compared at least its shared packs and its own errors */
    assert_true(checked >= (long)nthreads * cases * 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
