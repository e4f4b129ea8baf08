/* kv_check.c — one gather or scatter of a case, checked byte for byte (see kv_cases.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_cases.h"

static int printed;

static int failed(const kvt_case *c, const char *tag, const char *what, long at)
{
    if (printed++ < 10) {
        printf("FAIL %s: %s (byte %ld)\n      %s\n      replay: FSD_TEST_SEED=%llu FSD_TEST_CASE=%d\n",
               tag, what, at, c->desc, (unsigned long long)c->seed, c->index);
        fflush(stdout);
    }
    return 1;
}

/* Copies of the layer buffers (with room for guards), to compare against. */
static unsigned char **snapshot(const kvt_case *c)
{
    unsigned char **s = calloc((size_t)c->layers, sizeof *s);
    for (int l = 0; l < c->layers; l++) {
        s[l] = malloc(c->storage_size ? c->storage_size : 1);
        memcpy(s[l], c->storage[l], c->storage_size);
    }
    return s;
}

static void free_snapshot(const kvt_case *c, unsigned char **s)
{
    for (int l = 0; l < c->layers; l++)
        free(s[l]);
    free(s);
}

static int compare_layers(const kvt_case *c, unsigned char **want, const char *tag)
{
    int bad = 0;
    for (int l = 0; l < c->layers; l++) {
        long at = fsdt_first_diff(c->storage[l], want[l], c->storage_size);
        char what[64];
        snprintf(what, sizeof what, "layer %d differs", l);
        if (at >= 0)
            bad += failed(c, tag, what, at);
        if (!fsdt_guards_intact(c->storage[l], c->storage_size))
            bad += failed(c, tag, "a layer's guard bytes changed", -1);
    }
    return bad;
}

int kvt_check_gather(kvt_case *c, kvt_runner run, void *arg, const char *tag)
{
    unsigned char *dst = fsdt_guarded_alloc(c->packed_size, 0x5A);
    unsigned char *want = malloc(c->packed_size ? c->packed_size : 1);
    memset(want, 0x5A, c->packed_size);
    unsigned char **before = snapshot(c);
    kvt_reference_gather(c, before, want);
    int bad = 0;
    fsd_status st = run(arg, c, dst, c->packed_size, 1);
    if (st != FSD_SUCCESS) {
        char msg[256];
        fsd_last_error(msg, sizeof msg);
        bad += failed(c, tag, msg, -1);
    } else {
        long at = fsdt_first_diff(dst, want, c->packed_size);
        if (at >= 0)
            bad += failed(c, tag, "gathered bytes differ from the reference", at);
        if (!fsdt_guards_intact(dst, c->packed_size))
            bad += failed(c, tag, "dst guard bytes changed", -1);
        bad += compare_layers(c, before, tag);
    }
    free_snapshot(c, before);
    free(want);
    fsdt_guarded_free(dst);
    return bad;
}

int kvt_check_scatter(kvt_case *c, kvt_runner run, void *arg, const char *tag)
{
    unsigned char *src = fsdt_guarded_alloc(c->packed_size, 0);
    fsdt_rng r;
    fsdt_rng_init(&r, c->seed, 0x5ca7000000ull + (uint64_t)c->index);
    fsdt_rng_fill(&r, src, c->packed_size);
    unsigned char **want = snapshot(c);
    kvt_reference_scatter(c, src, want);
    int bad = 0;
    fsd_status st = run(arg, c, src, c->packed_size, 0);
    if (st != FSD_SUCCESS) {
        char msg[256];
        fsd_last_error(msg, sizeof msg);
        bad += failed(c, tag, msg, -1);
    } else {
        bad += compare_layers(c, want, tag);
        if (!fsdt_guards_intact(src, c->packed_size))
            bad += failed(c, tag, "src guard bytes changed", -1);
    }
    free_snapshot(c, want);
    fsdt_guarded_free(src);
    return bad;
}
