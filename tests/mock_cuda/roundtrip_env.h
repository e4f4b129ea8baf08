/*
 * roundtrip_env.h — the environment of one run of a case (which context, stream, host memory
 * kind and schedule), opened and closed around a test with the check that nothing made in
 * between is left; and the failure report of a case, with the line that replays it. Part of
 * roundtrip_checks.h: include that, not this.
 */
#ifndef ROUNDTRIP_ENV_H
#define ROUNDTRIP_ENV_H

#include "fsdt_report.h"
#include "roundtrip_config.h"
#include "roundtrip_runtime.h"

#define MAX_REPORTS 12


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

typedef fsdt_report report;

static void fail_case(report *rep, const fsdt_case *c, const env *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fsdt_report_vfail(rep, MAX_REPORTS, c, "", e->what, 1, fmt, ap);
    va_end(ap);
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

#endif
