/*
 * cpu_layouts.h — larger strided views for the CPU path's tests and measurements: transposes
 * across tile edges (with batch dims outside and between the two tiled dims), narrow transposes
 * the planner sends to RUNS, runs of 1..600 bytes, KV-cache permutes. Each view is a
 * permutation, slices (steps, flips) and a misaligned start over a compact base tensor, built
 * as an fsdt_case so that the naive reference of fsd_cases.h checks it.
 */
#ifndef FSD_CPU_LAYOUTS_H
#define FSD_CPU_LAYOUTS_H

#include <stddef.h>
#include <stdint.h>

#include "fsd_cases.h"

typedef struct cpu_view {
    int ndim;
    int64_t base[FSDT_MAX_DIMS];  /* compact base shape, outermost first                 */
    int perm[FSDT_MAX_DIMS];      /* view dim d is base dim perm[d]                      */
    int64_t start[FSDT_MAX_DIMS]; /* per base dim: first index, step (< 0: flipped), and  */
    int64_t step[FSDT_MAX_DIMS];  /* count of the slice (0: as many as fit)               */
    int64_t count[FSDT_MAX_DIMS];
    size_t elem_size;
    size_t pad;                   /* bytes before the base (misaligns the view)          */
    const char *name;
} cpu_view;

/* A view with the identity permutation and whole dims over `base`. */
void cpu_view_init(cpu_view *v, int ndim, const int64_t *base, size_t elem_size, const char *name);

/* The case of view v over random bytes (seeded); exits when out of memory. Free it with
 * fsdt_case_free. */
void cpu_case_from_view(fsdt_case *c, const cpu_view *v, uint64_t seed, int index);

/* Random view `index` of `seed`, of at most about max_bytes packed bytes. */
void cpu_case_random(fsdt_case *c, uint64_t seed, int index, size_t max_bytes);

#endif
