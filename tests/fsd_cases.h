/*
 * fsd_cases.h — seeded random tensor layouts and a naive reference for pack/unpack.
 *
 * Shared by every test that checks a copy path (CPU, emulated grid, real GPU); independent of
 * cmocka and of the library (it only uses the DLPack header). The generator is fsd_cases.c (with
 * fsd_cases_builder.c, fsd_cases_families.c and fsd_cases_describe.c behind it), the PRNG and
 * the seed fsd_cases_rng.c, the reference and the predicates fsd_reference.c, the guarded
 * buffers and byte checks fsd_guarded.c. The cmocka side of guarded buffers (refill, compare,
 * fail) is fsdt_guarded_fixture.h.
 *
 * A case is a view (`t`) over a malloc'd `storage` filled with random bytes. `t.data` is the
 * allocation start and `t.byte_offset` locates element [0, ..., 0], which always lies inside
 * the storage (negative strides point backwards from it). Cases are deterministic functions of
 * (seed, index): a failure is replayed with FSD_TEST_SEED=<seed> (and FSD_TEST_CASE=<index> in
 * the tests that honour it).
 *
 * Two overlap predicates are computed independently of the library:
 *   aliasing  some two elements of the view share a byte (found with a bitmap over storage);
 *   nests     the rule fastserde documents for unpack destinations: the dimensions longer than
 *             1, sorted by |stride|, each have |stride| >= 1 + the sum of (shape-1)*|stride|
 *             of the smaller ones (in elements). A zero stride on a dimension longer than 1
 *             never nests.
 * nests implies !aliasing; the converse fails (e.g. shape [2,3], strides [3,2]: no two
 * elements overlap, but it does not nest). Unpack must be rejected with FSD_ERROR_ALIASING
 * exactly when !nests; the generator draws some cases of each of the three kinds.
 */
#ifndef FSD_CASES_H
#define FSD_CASES_H

#include <stddef.h>
#include <stdint.h>

#include <dlpack/dlpack.h>

#define FSDT_MAX_DIMS 8
/* Bytes of guard zone before and after a guarded buffer. */
#define FSDT_GUARD 64

/* Layout families: every kernel path gets cases from at least one of them. */
typedef enum fsdt_kind {
    FSDT_KIND_RANDOM = 0,  /* contiguous base, then random slices/flips/permutes/expands    */
    FSDT_KIND_CONTIG,      /* compact row-major, strides sometimes NULL                     */
    FSDT_KIND_KV,          /* KV-cache views: token slice, head subset, permute, transpose  */
    FSDT_KIND_TRANSPOSE,   /* innermost stride != 1, another dim has stride 1               */
    FSDT_KIND_HIGH_RANK,   /* 5..8 dims that do not merge (rank > 4 after coalescing)       */
    FSDT_KIND_RAW,         /* arbitrary strides (may alias or fail to nest)                 */
    FSDT_KIND_LARGE,       /* 1-D / 2-D views up to ~1 MiB                                  */
    FSDT_KIND_SCALAR,      /* 0-d                                                           */
    FSDT_KIND_EMPTY,       /* a zero-size dimension                                         */
    FSDT_KIND_COUNT
} fsdt_kind;

typedef struct fsdt_case {
    uint64_t seed;
    int index;
    fsdt_kind kind;
    DLTensor t;                   /* the view: t.data = storage, byte_offset set, kDLCPU      */
    int64_t shape[FSDT_MAX_DIMS];
    int64_t strides[FSDT_MAX_DIMS]; /* in elements; t.strides is this array or NULL (compact) */
    unsigned char *storage;       /* the allocation the view lives in (malloc'd, random bytes) */
    size_t storage_size;          /* bytes (>= 1)                                             */
    size_t elem_size;             /* bytes per element                                        */
    size_t packed_size;           /* product(shape) * elem_size                               */
    size_t num_elems;             /* product(shape)                                           */
    int aliasing;                 /* 1: two elements of the view overlap (bitmap check)       */
    int nests;                    /* 1: strides nest (the unpack rule); 0: unpack is rejected  */
    char desc[320];               /* printable: kind, shape, strides, dtype, offset, seed     */
} fsdt_case;

/* The run's seed: FSD_TEST_SEED if set (decimal or 0x hex), else time-based. Prints
 * "seed: <n> (replay with FSD_TEST_SEED=<n>)" to stdout the first time it is called. */
uint64_t fsdt_seed(void);

/* An environment variable as a non-negative integer, or `dflt` when unset or malformed. */
long fsdt_env_long(const char *name, long dflt);

/* Builds case `index` of `seed`; deterministic. Aborts (prints and exits) when out of memory. */
void fsdt_case_make(fsdt_case *c, uint64_t seed, int index);
void fsdt_case_free(fsdt_case *c);

/* Name of a kind ("random", "kv", ...). */
const char *fsdt_kind_name(fsdt_kind kind);

/* Naive reference, one element at a time in row-major (odometer) order of the shape.
 * pack:   reads the view's elements from `storage` (a buffer laid out like c->storage, e.g.
 *         c->storage itself) and writes c->packed_size bytes to `out`.
 * unpack: writes the elements from `packed` into `storage` (a copy the size of c->storage);
 *         with aliasing views the later element wins. */
void fsdt_reference_pack(const fsdt_case *c, const unsigned char *storage, unsigned char *out);
void fsdt_reference_unpack(const fsdt_case *c, const unsigned char *packed,
                           unsigned char *storage);

/* Byte offset of element `idx` (ndim indices) from the storage start; uses c->t's strides
 * (compact when NULL; size-1 dims ignored). */
int64_t fsdt_element_offset(const fsdt_case *c, const int64_t *idx);

/* The predicates behind c->aliasing and c->nests (see the top of this file). */
int fsdt_view_overlaps(const fsdt_case *c);
int fsdt_view_nests(const fsdt_case *c);

/* Guarded buffers: `n` bytes (n may be 0) filled with `fill`, with FSDT_GUARD bytes of a known
 * pattern before and after. The returned pointer is 64-byte aligned (a cache line: tests
 * misalign it on purpose with an offset). */
unsigned char *fsdt_guarded_alloc(size_t n, unsigned char fill);
int fsdt_guards_intact(const unsigned char *p, size_t n);
void fsdt_guarded_free(unsigned char *p);

/* Index of the first byte where a and b differ, or -1 when the n bytes are equal. */
long fsdt_first_diff(const unsigned char *a, const unsigned char *b, size_t n);

/* 1 when the n bytes at p all equal v. */
int fsdt_all_equal(const unsigned char *p, size_t n, unsigned char v);

/* Threads of this process (Threads: in /proc/self/status), -1 when unknown. */
long fsdt_process_threads(void);

/* Deterministic PRNG (splitmix64), exposed for tests that draw their own values. */
typedef struct fsdt_rng {
    uint64_t s;
} fsdt_rng;
void fsdt_rng_init(fsdt_rng *r, uint64_t seed, uint64_t stream);
uint64_t fsdt_rng_next(fsdt_rng *r);
/* Uniform in [lo, hi] (inclusive), hi >= lo. */
int64_t fsdt_rng_range(fsdt_rng *r, int64_t lo, int64_t hi);
void fsdt_rng_fill(fsdt_rng *r, unsigned char *p, size_t n);

#endif
