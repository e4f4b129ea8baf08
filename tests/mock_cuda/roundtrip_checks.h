/*
 * roundtrip_checks.h — the round-trip checks shared by test_roundtrip_mock.c (the stand-in
 * runtime) and ../test_roundtrip_gpu.c (a real GPU): one source for both, so that the cases
 * the mock runs are exactly those run on hardware. Included once, after the includes of
 * cmocka, fastserde.h, fsd_cases.h and cuda_runtime_api.h; the includer defines the runtime
 * adaptors declared below and its own main().
 */
#ifndef ROUNDTRIP_CHECKS_H
#define ROUNDTRIP_CHECKS_H

/* What the runtime can count (the mock can; real CUDA cannot: rt_get_counts returns 0). */
typedef struct rt_counts {
    long device_allocs, pinned_allocs, streams, events;
    long executed_ops, pending_ops, kernels;
    long pageable_copies, violations;
} rt_counts;

static int rt_get_counts(rt_counts *c);
/* Copies n bytes at a device address to the host now (the work that wrote them is done). */
static void rt_peek(void *dst, const void *src, size_t n);
/* 1 when [p, p + n) is device memory. */
static int rt_is_device(const void *p, size_t n);
/* Seeds the scheduler (mock) with `eager` percent of eager progress; a no-op on a GPU. */
static void rt_schedule(uint64_t seed, int eager);
/* Waits for all queued work. */
static void rt_drain(void);

#define G FSDT_GUARD
#define FILL 0x5A
#define MAX_REPORTS 12
#define NCTX 4

#define CUDA_OK(call)                                                                     \
    do {                                                                                  \
        cudaError_t e_ = (call);                                                          \
        if (e_ != cudaSuccess)                                                            \
            fail_msg("%s: %s", #call, cudaGetErrorString(e_));                            \
    } while (0)

static uint64_t g_seed;
static long g_first, g_cases, g_edges, g_reps;

/* The run's settings from the environment: FSD_TEST_SEED, FSD_TEST_CASES (random cases),
 * FSD_TEST_EDGES (chunk-edge cases; a reduced FSD_TEST_CASES, as under valgrind or the
 * sanitizers, reduces them too), FSD_TEST_REPS (schedules per case), FSD_TEST_CASE (one). */
static void rt_read_env(void)
{
    g_seed = fsdt_seed();
    g_cases = fsdt_env_long("FSD_TEST_CASES", 160);
    g_edges = fsdt_env_long("FSD_TEST_EDGES", g_cases < 120 ? g_cases : 120);
    g_reps = fsdt_env_long("FSD_TEST_REPS", 3);
    long only = fsdt_env_long("FSD_TEST_CASE", -1);
    if (only >= 0) {
        g_first = only;
        g_cases = g_edges = 1;
    }
}

static const struct {
    size_t chunk;
    int chunks, threads;
} CONFIGS[NCTX] = {{4096, 2, 1}, {8192, 3, 2}, {4096, 4, 3}, {8192, 2, 3}};

/* ------------------------------------------------------------------------------------------ */
/* The environment of one run of a case: which context, stream, host memory, schedule.        */

enum { STREAM_LEGACY, STREAM_BLOCKING, STREAM_NONBLOCKING, STREAM_KINDS };
static const char *const STREAM_NAMES[STREAM_KINDS] = {"NULL", "blocking", "non-blocking"};

typedef struct env {
    fsd_context *ctx[NCTX];
    cudaStream_t streams[STREAM_KINDS];
    /* this run */
    int ci, si, pinned, eager;
    uint64_t sched;
    fsd_context *c;
    cudaStream_t s;
    char what[160];
    int counted;
    rt_counts base; /* at env_open: what was there before */
} env;

typedef struct report {
    long failures, failed_cases;
    int last_index;
} report;

static void fail_case(report *rep, const fsdt_case *c, const env *e, const char *fmt, ...)
{
    if (rep->failures == 0 || rep->last_index != c->index)
        rep->failed_cases++;
    rep->last_index = c->index;
    if (rep->failures++ >= MAX_REPORTS)
        return;
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL: ");
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n      %s\n      %s\n      replay: FSD_TEST_SEED=%llu FSD_TEST_CASE=%d\n", c->desc,
           e->what, (unsigned long long)c->seed, c->index);
    fflush(stdout);
}

static void env_open(env *e)
{
    memset(e, 0, sizeof *e);
    rt_drain();
    e->counted = rt_get_counts(&e->base);
    for (int i = 0; i < NCTX; i++) {
        fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
        cfg.chunk_bytes = CONFIGS[i].chunk;
        cfg.chunks = CONFIGS[i].chunks;
        cfg.cpu_threads = CONFIGS[i].threads;
        assert_int_equal(fsd_context_create(&e->ctx[i], &cfg), FSD_SUCCESS);
        fsd_context_usage u;
        assert_int_equal(fsd_context_memory(e->ctx[i], &u), FSD_SUCCESS);
        assert_int_equal(u.device, 0);
        assert_int_equal(u.chunks, CONFIGS[i].chunks);
        assert_int_equal(u.chunk_bytes, CONFIGS[i].chunk);
    }
    e->streams[STREAM_LEGACY] = NULL;
    CUDA_OK(cudaStreamCreateWithFlags(&e->streams[STREAM_BLOCKING], cudaStreamDefault));
    CUDA_OK(cudaStreamCreateWithFlags(&e->streams[STREAM_NONBLOCKING], cudaStreamNonBlocking));
}

static void env_close(env *e)
{
    for (int i = 0; i < NCTX; i++)
        fsd_context_destroy(e->ctx[i]);
    CUDA_OK(cudaStreamDestroy(e->streams[STREAM_BLOCKING]));
    CUDA_OK(cudaStreamDestroy(e->streams[STREAM_NONBLOCKING]));
    rt_drain();
    rt_counts st;
    if (e->counted && rt_get_counts(&st)) { /* everything made since env_open is gone */
        assert_int_equal(st.device_allocs, e->base.device_allocs);
        assert_int_equal(st.pinned_allocs, e->base.pinned_allocs);
        assert_int_equal(st.streams, e->base.streams);
        assert_int_equal(st.events, e->base.events);
        assert_int_equal(st.violations, e->base.violations);
    }
}

/* Draws the run: context (or `ci` when >= 0), stream, host memory kind, schedule. */
static void env_pick(env *e, fsdt_rng *r, int ci, int rep, const fsdt_case *c)
{
    e->ci = ci >= 0 ? ci : (int)fsdt_rng_range(r, 0, NCTX - 1);
    e->si = (int)fsdt_rng_range(r, 0, STREAM_KINDS - 1);
    e->pinned = (int)fsdt_rng_range(r, 0, 1);
    static const int EAGER[] = {0, 30, 90};
    e->eager = EAGER[rep % 3];
    e->sched = c->seed * 1000003u + (uint64_t)c->index * 131u + (uint64_t)rep;
    e->c = e->ctx[e->ci];
    e->s = e->streams[e->si];
    snprintf(e->what, sizeof e->what,
             "context chunk %zu x %d, %d threads; stream %s; %s host memory; mock seed %llu, "
             "eager %d%%", CONFIGS[e->ci].chunk, CONFIGS[e->ci].chunks, CONFIGS[e->ci].threads,
             STREAM_NAMES[e->si], e->pinned ? "pinned" : "pageable",
             (unsigned long long)e->sched, e->eager);
    rt_schedule(e->sched, e->eager);
}

/* ------------------------------------------------------------------------------------------ */
/* Buffers. Pinned staging buffers live until the end of the case (cudaFreeHost would run the
 * queued work and hide a missing dependency).                                                 */

#define MAX_LATER 64
static void *g_later[MAX_LATER];
static int g_nlater;

static unsigned char *pinned_alloc(size_t n)
{
    void *p = NULL;
    CUDA_OK(cudaHostAlloc(&p, n ? n : 1, cudaHostAllocDefault));
    return p;
}

static unsigned char *pinned_later(size_t n)
{
    assert_true(g_nlater < MAX_LATER);
    return g_later[g_nlater++] = pinned_alloc(n);
}

static void free_later(void)
{
    for (int i = 0; i < g_nlater; i++)
        CUDA_OK(cudaFreeHost(g_later[i]));
    g_nlater = 0;
}

/* Host memory of n bytes (pageable or pinned) filled with `fill`, guard zones around. */
typedef struct hbuf {
    unsigned char *p;
    size_t n;
    int pinned;
} hbuf;

static hbuf hbuf_make(size_t n, int pinned, unsigned char fill)
{
    hbuf h = {fsdt_guarded_alloc(n, fill), n, pinned};
    if (pinned) {
        unsigned char *raw = pinned_alloc(n + 2 * G);
        memcpy(raw, h.p - G, n + 2 * G);
        fsdt_guarded_free(h.p);
        h.p = raw + G;
    }
    return h;
}

static void hbuf_free(hbuf *h)
{
    if (h->pinned)
        CUDA_OK(cudaFreeHost(h->p - G));
    else
        fsdt_guarded_free(h->p);
    h->p = NULL;
}

/* Device memory of n bytes with guard zones (the pattern of fsdt_guarded_alloc). */
typedef struct dbuf {
    unsigned char *p;
    size_t n;
} dbuf;

static dbuf dbuf_make(size_t n)
{
    void *raw = NULL;
    CUDA_OK(cudaMalloc(&raw, n + 2 * G));
    dbuf d = {(unsigned char *)raw + G, n};
    return d;
}

static void dbuf_free(dbuf *d)
{
    CUDA_OK(cudaFree(d->p - G));
    d->p = NULL;
}

/* Queues on s a copy of `data` (n bytes) and the guard zones into d. */
static void upload(const dbuf *d, const unsigned char *data, cudaStream_t s)
{
    unsigned char *mirror = fsdt_guarded_alloc(d->n, 0);
    memcpy(mirror, data, d->n);
    unsigned char *staging = pinned_later(d->n + 2 * G);
    memcpy(staging, mirror - G, d->n + 2 * G);
    fsdt_guarded_free(mirror);
    CUDA_OK(cudaMemcpyAsync(d->p - G, staging, d->n + 2 * G, cudaMemcpyHostToDevice, s));
}

/* Queues on s a copy of d (guards included) into pinned memory; read it with fetched(). */
static unsigned char *fetch(const dbuf *d, cudaStream_t s)
{
    unsigned char *staging = pinned_later(d->n + 2 * G);
    CUDA_OK(cudaMemcpyAsync(staging, d->p - G, d->n + 2 * G, cudaMemcpyDeviceToHost, s));
    return staging + G; /* guards around, like a guarded buffer */
}

/* The device tensor of a case: its view over device storage. */
static DLTensor device_view(const fsdt_case *c, const dbuf *d, int device_id)
{
    DLTensor t = c->t;
    t.data = d->p;
    t.device.device_type = kDLCUDA;
    t.device.device_id = device_id;
    return t;
}

/* ------------------------------------------------------------------------------------------ */
/* The checks of one case under one environment.                                               */

static void check_pack_to_host(report *rep, const fsdt_case *c, env *e, fsdt_rng *r)
{
    size_t packed = c->packed_size, extra = (size_t)fsdt_rng_range(r, 0, 9);
    unsigned char *ref = malloc(packed + 1);
    fsdt_reference_pack(c, c->storage, ref);
    dbuf dev = dbuf_make(c->storage_size);
    upload(&dev, c->storage, e->s); /* queued before the call: the call must wait for it */
    hbuf dst = hbuf_make(packed + extra, e->pinned, FILL);
    DLTensor t = device_view(c, &dev, 0);

    fsd_status st = fsd_pack_to_host(e->c, &t, dst.p, packed + extra, e->s);
    long d = -1;
    if (st != FSD_SUCCESS) {
        char msg[256];
        fsd_last_error(msg, sizeof msg);
        fail_case(rep, c, e, "fsd_pack_to_host: %s (%s)", fsd_status_string(st), msg);
    } else if (!e->pinned && (d = fsdt_first_diff(dst.p, ref, packed)) >= 0) {
        /* pageable: the bytes are there on return, before anything else runs */
        fail_case(rep, c, e, "fsd_pack_to_host (pageable): byte %ld of %zu is 0x%02x, reference "
                  "0x%02x on return", d, packed, dst.p[d], ref[d]);
    }
    /* Queued after the call: a read-back of the source, then an overwrite of it. The call's
     * reads must come first, and it must not have written its source. */
    unsigned char *back = fetch(&dev, e->s);
    unsigned char *zeros = pinned_later(c->storage_size);
    memset(zeros, 0xEE, c->storage_size);
    CUDA_OK(cudaMemcpyAsync(dev.p, zeros, c->storage_size, cudaMemcpyHostToDevice, e->s));
    CUDA_OK(cudaStreamSynchronize(e->s));
    if (st == FSD_SUCCESS && d < 0 && (d = fsdt_first_diff(dst.p, ref, packed)) >= 0)
        fail_case(rep, c, e, "fsd_pack_to_host: byte %ld of %zu is 0x%02x, reference 0x%02x "
                  "(after synchronising the stream)", d, packed, dst.p[d], ref[d]);
    if (!fsdt_all_equal(dst.p + packed, extra, FILL) || !fsdt_guards_intact(dst.p, packed + extra))
        fail_case(rep, c, e, "fsd_pack_to_host: wrote outside the packed bytes");
    if (!fsdt_guards_intact(back, c->storage_size) ||
        fsdt_first_diff(back, c->storage, c->storage_size) >= 0)
        fail_case(rep, c, e, "fsd_pack_to_host: the device source (or its guards) changed");
    hbuf_free(&dst);
    dbuf_free(&dev);
    free(ref);
}

static void check_unpack_from_host(report *rep, const fsdt_case *c, env *e, fsdt_rng *r)
{
    size_t packed = c->packed_size;
    hbuf src = hbuf_make(packed, e->pinned, 0);
    fsdt_rng_fill(r, src.p, packed);
    unsigned char *copy = malloc(packed + 1), *expect = malloc(c->storage_size);
    memcpy(copy, src.p, packed);
    memcpy(expect, c->storage, c->storage_size);
    if (c->nests)
        fsdt_reference_unpack(c, copy, expect);
    dbuf dev = dbuf_make(c->storage_size);
    upload(&dev, c->storage, e->s);
    DLTensor t = device_view(c, &dev, 0);

    fsd_status want = c->nests ? FSD_SUCCESS : FSD_ERROR_ALIASING;
    fsd_status st = fsd_unpack_from_host(e->c, src.p, packed, &t, e->s);
    if (!e->pinned)
        memset(src.p, 0xA5, packed); /* a pageable source may be reused at once */
    unsigned char *back = fetch(&dev, e->s); /* queued after the call: sees its result */
    CUDA_OK(cudaStreamSynchronize(e->s));
    long d;
    if (st != want) {
        char msg[256];
        fsd_last_error(msg, sizeof msg);
        fail_case(rep, c, e, "fsd_unpack_from_host: expected %s, got %s (%s)",
                  fsd_status_string(want), fsd_status_string(st), msg);
    } else if ((d = fsdt_first_diff(back, expect, c->storage_size)) >= 0) {
        fail_case(rep, c, e, "fsd_unpack_from_host: storage byte %ld is 0x%02x, expected 0x%02x "
                  "(%s)", d, back[d], expect[d],
                  c->storage[d] == expect[d] ? "outside the view" : "in the view");
    }
    if (!fsdt_guards_intact(back, c->storage_size))
        fail_case(rep, c, e, "fsd_unpack_from_host: device guard zones overwritten");
    if (e->pinned && memcmp(src.p, copy, packed) != 0)
        fail_case(rep, c, e, "fsd_unpack_from_host: modified its pinned source");
    if (!fsdt_guards_intact(src.p, packed))
        fail_case(rep, c, e, "fsd_unpack_from_host: guard zones of the source overwritten");
    hbuf_free(&src);
    dbuf_free(&dev);
    free(expect);
    free(copy);
}

/* fsd_pack / fsd_unpack with the packed bytes in device memory (the kernels alone). */
static void check_device_pack_unpack(report *rep, const fsdt_case *c, env *e, fsdt_rng *r)
{
    size_t packed = c->packed_size;
    unsigned char *ref = malloc(packed + 1), *noise = malloc(packed + 1);
    unsigned char *expect = malloc(c->storage_size);
    fsdt_reference_pack(c, c->storage, ref);
    fsdt_rng_fill(r, noise, packed);
    memcpy(expect, c->storage, c->storage_size);
    if (c->nests)
        fsdt_reference_unpack(c, noise, expect);
    dbuf dev = dbuf_make(c->storage_size), pk = dbuf_make(packed);
    unsigned char *fill = malloc(packed + 1);
    memset(fill, FILL, packed);
    upload(&dev, c->storage, e->s);
    upload(&pk, fill, e->s);
    DLTensor t = device_view(c, &dev, 0);
    fsd_status st = fsd_pack(&t, pk.p, packed, e->s);
    unsigned char *got = fetch(&pk, e->s);
    CUDA_OK(cudaStreamSynchronize(e->s));
    long d;
    if (st != FSD_SUCCESS)
        fail_case(rep, c, e, "fsd_pack (device): %s", fsd_status_string(st));
    else if ((d = fsdt_first_diff(got, ref, packed)) >= 0 || !fsdt_guards_intact(got, packed))
        fail_case(rep, c, e, "fsd_pack (device): byte %ld differs or guards broken", d);

    upload(&pk, noise, e->s);
    st = fsd_unpack(pk.p, packed, &t, e->s);
    unsigned char *back = fetch(&dev, e->s);
    CUDA_OK(cudaStreamSynchronize(e->s));
    fsd_status want = c->nests ? FSD_SUCCESS : FSD_ERROR_ALIASING;
    if (st != want)
        fail_case(rep, c, e, "fsd_unpack (device): expected %s, got %s", fsd_status_string(want),
                  fsd_status_string(st));
    else if ((d = fsdt_first_diff(back, expect, c->storage_size)) >= 0 ||
             !fsdt_guards_intact(back, c->storage_size))
        fail_case(rep, c, e, "fsd_unpack (device): storage byte %ld differs or guards broken", d);
    dbuf_free(&pk);
    dbuf_free(&dev);
    free(fill);
    free(expect);
    free(noise);
    free(ref);
}

/* fsd_to_bytes of the device tensor (its data queued on the legacy stream just before) and
 * fsd_from_bytes into a CUDA tensor. */
static void check_serde(report *rep, const fsdt_case *c, env *e, fsdt_rng *r)
{
    size_t packed = c->packed_size;
    unsigned char *ref = malloc(packed + 1);
    fsdt_reference_pack(c, c->storage, ref);
    dbuf dev = dbuf_make(c->storage_size);
    upload(&dev, c->storage, NULL); /* to_bytes waits for the legacy stream's work */
    DLTensor t = device_view(c, &dev, 0);
    void *bytes = (void *)1;
    size_t size = 1;
    fsd_status st = fsd_to_bytes(e->c, &t, &bytes, &size);
    long d;
    if (st != FSD_SUCCESS || size != packed || (packed == 0) != (bytes == NULL))
        fail_case(rep, c, e, "fsd_to_bytes: %s, size %zu (expected %zu), bytes %p",
                  fsd_status_string(st), size, packed, bytes);
    else if (packed > 0 && (d = fsdt_first_diff(bytes, ref, packed)) >= 0)
        fail_case(rep, c, e, "fsd_to_bytes: byte %ld is 0x%02x, reference 0x%02x", d,
                  ((unsigned char *)bytes)[d], ref[d]);
    fsd_bytes_free(bytes);
    CUDA_OK(cudaStreamSynchronize(NULL));
    dbuf_free(&dev);

    rt_counts before, after;
    int counted = rt_get_counts(&before);
    hbuf src = hbuf_make(packed, e->pinned, 0);
    fsdt_rng_fill(r, src.p, packed);
    DLManagedTensor *m = (DLManagedTensor *)1;
    DLDevice cuda = {kDLCUDA, 0};
    st = fsd_from_bytes(e->c, src.p, packed, c->t.dtype, cuda, &m);
    if (st != FSD_SUCCESS || m == NULL) {
        fail_case(rep, c, e, "fsd_from_bytes (CUDA): %s", fsd_status_string(st));
    } else {
        const DLTensor *o = &m->dl_tensor;
        if (o->ndim != 1 || o->shape[0] != (int64_t)(packed / c->elem_size) ||
            (o->strides != NULL && o->strides[0] != 1) || o->byte_offset != 0 ||
            o->device.device_type != kDLCUDA || o->device.device_id != 0 ||
            o->dtype.code != c->t.dtype.code || o->dtype.bits != c->t.dtype.bits ||
            o->dtype.lanes != c->t.dtype.lanes)
            fail_case(rep, c, e, "fsd_from_bytes (CUDA): wrong tensor description");
        else if (packed > 0 && !rt_is_device(o->data, packed))
            fail_case(rep, c, e, "fsd_from_bytes (CUDA): data is not %zu bytes of device memory",
                      packed);
        else if (packed > 0) {
            /* blocking: the data is there, read it without synchronising */
            unsigned char *got = malloc(packed);
            rt_peek(got, o->data, packed);
            if ((d = fsdt_first_diff(got, src.p, packed)) >= 0)
                fail_case(rep, c, e, "fsd_from_bytes (CUDA): byte %ld differs on return", d);
            free(got);
        }
        m->deleter(m);
    }
    hbuf_free(&src);
    if (counted && rt_get_counts(&after) && after.device_allocs != before.device_allocs)
        fail_case(rep, c, e, "fsd_from_bytes (CUDA): the deleter left %ld device allocations",
                  after.device_allocs - before.device_allocs);
    free(ref);
}

/* All checks of a case, under g_reps schedules. ci >= 0 fixes the context. */
static void run_case(report *rep, env *e, const fsdt_case *c, int ci)
{
    for (long k = 0; k < g_reps; k++) {
        fsdt_rng r;
        fsdt_rng_init(&r, c->seed ^ 0x6d6f636bu, (uint64_t)c->index * 16u + (uint64_t)k);
        env_pick(e, &r, ci, (int)k, c);
        rt_counts s0, s1;
        int counted = rt_get_counts(&s0);
        check_pack_to_host(rep, c, e, &r);
        check_unpack_from_host(rep, c, e, &r);
        if (k == 0)
            check_device_pack_unpack(rep, c, e, &r);
        if (k == 1 || fsdt_rng_range(&r, 0, 7) == 0)
            check_serde(rep, c, e, &r);
        free_later();
        if (!counted || !rt_get_counts(&s1))
            continue;
        if (s1.violations != s0.violations)
            fail_case(rep, c, e, "%ld misuses of the CUDA runtime (printed above)",
                      s1.violations - s0.violations);
        if (s1.pageable_copies != s0.pageable_copies)
            fail_case(rep, c, e, "%ld asynchronous copies with pageable host memory",
                      s1.pageable_copies - s0.pageable_copies);
        if (s1.device_allocs != s0.device_allocs || s1.pinned_allocs != s0.pinned_allocs)
            fail_case(rep, c, e, "allocations left: %ld device, %ld pinned",
                      s1.device_allocs - s0.device_allocs, s1.pinned_allocs - s0.pinned_allocs);
    }
}

static void finish(const report *rep, const char *what, long n)
{
    rt_counts st;
    if (rt_get_counts(&st))
        printf("%s: %ld layouts x %ld schedules; so far %ld ops run, %ld of them kernels\n", what,
               n, g_reps, st.executed_ops, st.kernels);
    if (rep->failures > 0)
        fail_msg("%s: %ld of %ld cases failed (seed %llu)", what, rep->failed_cases, n,
                 (unsigned long long)g_seed);
}

/* ------------------------------------------------------------------------------------------ */
/* Layouts whose packed size is k * chunk +- 1 element                                        */

static int64_t divisor_in(int64_t n, int64_t lo, int64_t hi)
{
    for (int64_t a = lo; a <= hi && a < n; a++)
        if (n % a == 0 && n / a >= 2)
            return a;
    return 0;
}

static void edge_case(fsdt_case *c, int index, size_t chunk)
{
    static const int SIZES[] = {1, 2, 3, 4, 6, 8, 12, 16};
    static const char *const LAYOUTS[] = {"contiguous", "stride 2", "stride -1",
                                          "transposed", "row slice"};
    fsdt_rng r;
    fsdt_rng_init(&r, g_seed ^ 0xed6e, (uint64_t)index);
    memset(c, 0, sizeof *c);
    c->seed = g_seed;
    c->index = index;
    size_t es = (size_t)SIZES[fsdt_rng_range(&r, 0, 7)];
    int64_t k = fsdt_rng_range(&r, 1, 4), delta = fsdt_rng_range(&r, -1, 1);
    int64_t n = (int64_t)((size_t)k * chunk / es) + delta;
    int layout = (int)fsdt_rng_range(&r, 0, 4);
    int64_t a = layout >= 3 ? divisor_in(n, 2, 64) : 0;
    if (layout >= 3 && a == 0)
        layout = 1;
    size_t pad = (size_t)fsdt_rng_range(&r, 0, 15), tail = (size_t)fsdt_rng_range(&r, 0, 15);
    int64_t span; /* elements of storage the view covers */
    c->t.strides = c->strides;
    switch (layout) {
    case 0: c->t.ndim = 1; c->shape[0] = n; c->t.strides = NULL; span = n; break;
    case 1: c->t.ndim = 1; c->shape[0] = n; c->strides[0] = 2; span = 2 * n - 1; break;
    case 2: c->t.ndim = 1; c->shape[0] = n; c->strides[0] = -1; span = n; break;
    case 3: /* [a, b] with strides [1, a]: the transpose of a compact [b, a] */
        c->t.ndim = 2; c->shape[0] = a; c->shape[1] = n / a; c->strides[0] = 1;
        c->strides[1] = a; span = n; break;
    default: /* [a, b] rows of a wider [a, b + 3] */
        c->t.ndim = 2; c->shape[0] = a; c->shape[1] = n / a; c->strides[0] = n / a + 3;
        c->strides[1] = 1; span = (a - 1) * (n / a + 3) + n / a; break;
    }
    c->t.shape = c->shape;
    c->t.device.device_type = kDLCPU;
    if (es == 1 || es == 2 || es == 4 || es == 8 || es == 16) {
        c->t.dtype.code = es == 2 ? kDLBfloat : kDLUInt;
        c->t.dtype.bits = (uint8_t)(8 * es);
        c->t.dtype.lanes = 1;
    } else {
        c->t.dtype.code = kDLInt;
        c->t.dtype.bits = 8;
        c->t.dtype.lanes = (uint16_t)es;
    }
    c->elem_size = es;
    c->num_elems = (size_t)n;
    c->packed_size = (size_t)n * es;
    c->storage_size = pad + (size_t)span * es + tail;
    c->t.byte_offset = pad + (layout == 2 ? (size_t)(n - 1) * es : 0);
    c->storage = malloc(c->storage_size);
    fsdt_rng_fill(&r, c->storage, c->storage_size);
    c->t.data = c->storage;
    c->aliasing = fsdt_view_overlaps(c);
    c->nests = fsdt_view_nests(c);
    snprintf(c->desc, sizeof c->desc,
             "edge: %s, %lld elements of %zu B = %zu packed bytes = %lld x %zu %+lld element, "
             "shape [%lld%s%lld], offset %llu", LAYOUTS[layout], (long long)n, es,
             c->packed_size, (long long)k, chunk, (long long)delta, (long long)c->shape[0],
             c->t.ndim == 2 ? ", " : "", c->t.ndim == 2 ? (long long)c->shape[1] : 0LL,
             (unsigned long long)c->t.byte_offset);
}

/* ------------------------------------------------------------------------------------------ */

static void test_random_cases(void **state)
{
    (void)state;
    env e;
    env_open(&e);
    report rep = {0};
    for (long i = g_first; i < g_first + g_cases; i++) {
        fsdt_case c;
        fsdt_case_make(&c, g_seed, (int)i);
        run_case(&rep, &e, &c, -1);
        fsdt_case_free(&c);
    }
    env_close(&e);
    finish(&rep, "random layouts", g_cases);
}

static void test_chunk_edges(void **state)
{
    (void)state;
    env e;
    env_open(&e);
    report rep = {0};
    for (long i = g_first; i < g_first + g_edges; i++) {
        int ci = (int)(i % NCTX);
        fsdt_case c;
        edge_case(&c, (int)i, CONFIGS[ci].chunk);
        run_case(&rep, &e, &c, ci);
        fsdt_case_free(&c);
    }
    env_close(&e);
    finish(&rep, "chunk edges", g_edges);
}

/* Calls queued back to back on one stream with no synchronisation between them: unpacks of
 * several tensors, then packs of them, the ring of chunks reused across calls. */
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
        const int ci = round % NCTX, si = (round / NCTX) % STREAM_KINDS;
        rt_schedule(g_seed + (uint64_t)round, round % 2 ? 0 : 40);
        for (int i = 0; i < M; i++) {
            edge_case(&c[i], 100000 + round * M + i, CONFIGS[ci].chunk);
            dev[i] = dbuf_make(c[i].storage_size);
            upload(&dev[i], c[i].storage, e.streams[si]);
            src[i] = hbuf_make(c[i].packed_size, (i + round) % 2, 0);
            fsdt_rng r;
            fsdt_rng_init(&r, g_seed, (uint64_t)(round * M + i));
            fsdt_rng_fill(&r, src[i].p, c[i].packed_size);
            dst[i] = hbuf_make(c[i].packed_size, (i + round / 2) % 2, FILL);
        }
        for (int i = 0; i < M; i++) {
            DLTensor t = device_view(&c[i], &dev[i], 0);
            fsd_status st = fsd_unpack_from_host(e.ctx[ci], src[i].p, c[i].packed_size, &t,
                                                 e.streams[si]);
            if (st != FSD_SUCCESS && failures++ < 8)
                printf("FAIL: round %d, tensor %d: fsd_unpack_from_host: %s\n", round, i,
                       fsd_status_string(st));
        }
        for (int i = 0; i < M; i++) {
            DLTensor t = device_view(&c[i], &dev[i], 0);
            fsd_status st = fsd_pack_to_host(e.ctx[ci], &t, dst[i].p, c[i].packed_size,
                                             e.streams[si]);
            if (st != FSD_SUCCESS && failures++ < 8)
                printf("FAIL: round %d, tensor %d: fsd_pack_to_host: %s\n", round, i,
                       fsd_status_string(st));
            if (!dst[i].pinned && memcmp(dst[i].p, src[i].p, c[i].packed_size) != 0 &&
                failures++ < 8)
                printf("FAIL: round %d, tensor %d (%s): pageable pack_to_host differs on "
                       "return\n", round, i, c[i].desc);
        }
        CUDA_OK(cudaStreamSynchronize(e.streams[si]));
        for (int i = 0; i < M; i++) {
            if ((memcmp(dst[i].p, src[i].p, c[i].packed_size) != 0 ||
                 !fsdt_guards_intact(dst[i].p, c[i].packed_size)) && failures++ < 8)
                printf("FAIL: round %d, tensor %d (%s), context %d, stream %s: "
                       "pack(unpack(P)) != P\n", round, i, c[i].desc, ci, STREAM_NAMES[si]);
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

/* Wrong sizes, devices, contexts: an error and nothing queued or written. */
static void test_bad_inputs(void **state)
{
    (void)state;
    env e;
    env_open(&e);
    fsdt_case c;
    edge_case(&c, 7, 4096);
    size_t packed = c.packed_size;
    dbuf dev = dbuf_make(c.storage_size);
    upload(&dev, c.storage, NULL);
    CUDA_OK(cudaStreamSynchronize(NULL));
    for (int pinned = 0; pinned < 2; pinned++) {
        hbuf h = hbuf_make(packed, pinned, FILL);
        DLTensor t = device_view(&c, &dev, 0);
        rt_counts s0, s1;
        int counted = rt_get_counts(&s0);
        assert_int_equal(fsd_pack_to_host(e.ctx[0], &t, h.p, packed - 1, NULL),
                         FSD_ERROR_SIZE_MISMATCH);
        assert_int_equal(fsd_unpack_from_host(e.ctx[0], h.p, packed + 1, &t, NULL),
                         FSD_ERROR_SIZE_MISMATCH);
        assert_int_equal(fsd_pack_to_host(NULL, &t, h.p, packed, NULL),
                         FSD_ERROR_INVALID_ARGUMENT);
        assert_int_equal(fsd_pack_to_host(e.ctx[0], &t, NULL, packed, NULL),
                         FSD_ERROR_INVALID_ARGUMENT);
        t.device.device_id = 1; /* a device the context is not on (and that does not exist) */
        assert_int_equal(fsd_pack_to_host(e.ctx[0], &t, h.p, packed, NULL),
                         FSD_ERROR_INVALID_ARGUMENT);
        assert_int_equal(fsd_unpack_from_host(e.ctx[0], h.p, packed, &t, NULL),
                         FSD_ERROR_INVALID_ARGUMENT);
        DLManagedTensor *m = (DLManagedTensor *)1;
        DLDevice other = {kDLCUDA, 1};
        assert_int_equal(fsd_from_bytes(e.ctx[0], h.p, packed, c.t.dtype, other, &m),
                         FSD_ERROR_INVALID_ARGUMENT);
        assert_null(m);
        if (counted && rt_get_counts(&s1)) /* nothing was queued */
            assert_int_equal(s1.executed_ops + s1.pending_ops, s0.executed_ops + s0.pending_ops);
        assert_true(fsdt_all_equal(h.p, packed, FILL));
        assert_true(fsdt_guards_intact(h.p, packed));
        hbuf_free(&h);
    }
    /* device memory where host memory is expected */
    dbuf other = dbuf_make(packed);
    DLTensor t = device_view(&c, &dev, 0);
    assert_int_equal(fsd_pack_to_host(e.ctx[1], &t, other.p, packed, NULL),
                     FSD_ERROR_INVALID_ARGUMENT);
    assert_int_equal(fsd_unpack_from_host(e.ctx[1], other.p, packed, &t, NULL),
                     FSD_ERROR_INVALID_ARGUMENT);
    unsigned char *back = fetch(&dev, NULL);
    CUDA_OK(cudaStreamSynchronize(NULL));
    assert_int_equal(fsdt_first_diff(back, c.storage, c.storage_size), -1);
    dbuf_free(&other);
    free_later();
    dbuf_free(&dev);
    fsdt_case_free(&c);
    env_close(&e);
}

#endif
