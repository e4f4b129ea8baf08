/*
 * fsd_cases_describe.c — the printable side of a case: kind names and c->desc (kind, shape,
 * strides, dtype, offset, predicates, seed), which every failing check prints.
 */
#include "fsd_cases_internal.h"

#include <inttypes.h>
#include <stdio.h>

const char *fsdt_kind_name(fsdt_kind kind)
{
    static const char *names[FSDT_KIND_COUNT] = {"random", "contig", "kv", "transpose",
                                                 "high_rank", "raw", "large", "scalar", "empty"};
    return (kind >= 0 && kind < FSDT_KIND_COUNT) ? names[kind] : "?";
}

void fsdt_case_describe(fsdt_case *c)
{
    char *p = c->desc;
    size_t left = sizeof c->desc;
    int w = snprintf(p, left, "case %d (%s) shape [", c->index, fsdt_kind_name(c->kind));
    for (int i = 0; i < c->t.ndim && w > 0 && (size_t)w < left; i++) {
        p += w; left -= (size_t)w;
        w = snprintf(p, left, "%s%" PRId64, i ? "," : "", c->shape[i]);
    }
    if (w > 0 && (size_t)w < left) {
        p += w; left -= (size_t)w;
        w = snprintf(p, left, "] strides %s", c->t.strides ? "[" : "NULL");
    }
    for (int i = 0; c->t.strides && i < c->t.ndim && w > 0 && (size_t)w < left; i++) {
        p += w; left -= (size_t)w;
        w = snprintf(p, left, "%s%" PRId64, i ? "," : "", c->strides[i]);
    }
    if (w > 0 && (size_t)w < left) {
        p += w; left -= (size_t)w;
        snprintf(p, left,
                 "%s elem %zu (code %u bits %u lanes %u) byte_offset %" PRIu64
                 " storage %zu alias %d nests %d seed %" PRIu64,
                 c->t.strides ? "]" : "", c->elem_size, c->t.dtype.code, c->t.dtype.bits,
                 c->t.dtype.lanes, c->t.byte_offset, c->storage_size, c->aliasing, c->nests,
                 c->seed);
    }
}
