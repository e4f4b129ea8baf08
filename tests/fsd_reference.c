/*
 * fsd_reference.c — the naive reference of fsd_cases.h: one element at a time, in row-major
 * order of the shape, byte by byte; and the two overlap predicates. Deliberately simple and
 * independent of the library: no coalescing, no wide copies, no fast division. (Guarded buffers
 * are in fsd_guarded.c.)
 */
#include "fsd_cases.h"

#include <stdio.h>
#include <stdlib.h>

static const int64_t *view_strides(const fsdt_case *c, int64_t *compact)
{
    if (c->t.strides != NULL)
        return c->t.strides;
    int64_t s = 1;
    for (int i = c->t.ndim - 1; i >= 0; i--) {
        compact[i] = s;
        s *= c->t.shape[i];
    }
    return compact;
}

int64_t fsdt_element_offset(const fsdt_case *c, const int64_t *idx)
{
    int64_t compact[FSDT_MAX_DIMS];
    const int64_t *st = view_strides(c, compact);
    int64_t off = (int64_t)c->t.byte_offset;
    for (int i = 0; i < c->t.ndim; i++)
        if (c->t.shape[i] > 1)
            off += idx[i] * st[i] * (int64_t)c->elem_size;
    return off;
}

/* Advances the row-major odometer; returns 0 after the last element. */
static int odometer_next(const fsdt_case *c, int64_t *idx)
{
    for (int i = c->t.ndim - 1; i >= 0; i--) {
        if (++idx[i] < c->t.shape[i])
            return 1;
        idx[i] = 0;
    }
    return 0;
}

void fsdt_reference_pack(const fsdt_case *c, const unsigned char *storage, unsigned char *out)
{
    if (c->num_elems == 0)
        return;
    int64_t idx[FSDT_MAX_DIMS] = {0};
    size_t k = 0;
    do {
        int64_t off = fsdt_element_offset(c, idx);
        for (size_t j = 0; j < c->elem_size; j++)
            out[k++] = storage[off + (int64_t)j];
    } while (odometer_next(c, idx));
}

void fsdt_reference_unpack(const fsdt_case *c, const unsigned char *packed,
                           unsigned char *storage)
{
    if (c->num_elems == 0)
        return;
    int64_t idx[FSDT_MAX_DIMS] = {0};
    size_t k = 0;
    do {
        int64_t off = fsdt_element_offset(c, idx);
        for (size_t j = 0; j < c->elem_size; j++)
            storage[off + (int64_t)j] = packed[k++];
    } while (odometer_next(c, idx));
}

/* Marks every byte of every element in a bitmap; a byte marked twice is an overlap. */
int fsdt_view_overlaps(const fsdt_case *c)
{
    if (c->num_elems == 0)
        return 0;
    unsigned char *seen = calloc(c->storage_size / 8 + 1, 1);
    if (seen == NULL) {
        fprintf(stderr, "fsd_cases: out of memory\n");
        exit(1);
    }
    int64_t idx[FSDT_MAX_DIMS] = {0};
    int overlap = 0;
    do {
        int64_t off = fsdt_element_offset(c, idx);
        for (size_t j = 0; j < c->elem_size; j++) {
            size_t byte = (size_t)off + j;
            if (seen[byte / 8] & (1u << (byte % 8)))
                overlap = 1;
            seen[byte / 8] |= (unsigned char)(1u << (byte % 8));
        }
    } while (!overlap && odometer_next(c, idx));
    free(seen);
    return overlap;
}

int fsdt_view_nests(const fsdt_case *c)
{
    if (c->num_elems == 0)
        return 1;
    int64_t compact[FSDT_MAX_DIMS];
    const int64_t *st = view_strides(c, compact);
    int64_t sh[FSDT_MAX_DIMS], ab[FSDT_MAX_DIMS];
    int n = 0;
    for (int i = 0; i < c->t.ndim; i++) {
        if (c->t.shape[i] > 1) {
            sh[n] = c->t.shape[i];
            ab[n] = st[i] < 0 ? -st[i] : st[i];
            n++;
        }
    }
    for (int i = 1; i < n; i++) /* insertion sort by |stride| */
        for (int j = i; j > 0 && ab[j] < ab[j - 1]; j--) {
            int64_t t = ab[j]; ab[j] = ab[j - 1]; ab[j - 1] = t;
            t = sh[j]; sh[j] = sh[j - 1]; sh[j - 1] = t;
        }
    int64_t span = 1; /* elements covered by the smaller dims */
    for (int i = 0; i < n; i++) {
        if (ab[i] < span)
            return 0;
        span += (sh[i] - 1) * ab[i];
    }
    return 1;
}
