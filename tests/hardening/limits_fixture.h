/*
 * limits_fixture.h — what the files of the test_limits binary share (limits_fixture.c): the
 * two guarded buffers, tensors over them or over fake addresses, the "refused and wrote
 * nothing" check, exact packed sizes and the shared random draws; and the tests each file
 * registers with main (test_limits.c).
 */
#ifndef LIMITS_FIXTURE_H
#define LIMITS_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fastserde.h"
#include "fsd_cases.h"
#include "fsdt_expect.h"

#define STORE 4096
#define BUF 4096
#define STORE_FILL 0x3C
#define BUF_FILL 0xE7

typedef unsigned __int128 u128;
typedef __int128 i128;

extern unsigned char *g_store; /* what tensors point at                        */
extern unsigned char *g_buf;   /* the packed side: pack's dst, unpack's src    */

/* Group setup / teardown: allocate and free the guarded buffers. */
int limits_setup(void **state);
int limits_teardown(void **state);

/* Every byte of both buffers back to its fill. */
void fresh(void);
/* Fails (naming `line`) when a byte of either buffer or of their guards changed. */
void untouched_(int line);
#define UNTOUCHED() untouched_(__LINE__)

/* A compact-or-strided uint tensor over g_store: shape/strides are the caller's arrays. */
DLTensor tensor(int ndim, int64_t *shape, int64_t *strides, int bits, int lanes);
/* A tensor over a fake address: never dereferenced by a correct library (dst/src sizes 0). */
DLTensor fake(uintptr_t data, int ndim, int64_t *shape, int64_t *strides, int bits,
              uint64_t byte_offset);

/* pack and unpack both reject `t` with `want` (unpack: ALIASING also accepted when the
 * tensor may alias, since that check may come first) and write nothing. The sizes passed are
 * the full buffer: only validation can stop the calls. */
void reject_all_(const DLTensor *t, fsd_status want, int line);
#define REJECT_ALL(t, want) reject_all_(&(t), (want), __LINE__)

/* Exact packed size, saturated at 2^64 (anything above 2^63 - 1 must be OVERFLOW). */
u128 exact_size(const int64_t *shape, int ndim, uint64_t esize);
/* A dimension: small, a power of two (+-1), near INT64_MAX, random bits, ... */
int64_t draw_dim(fsdt_rng *r);
/* bits 8..248 and lanes 1..65535, drawn apart. */
void draw_dtype(fsdt_rng *r, int *bits, int *lanes);

/* The tests, by file. */
void test_product_overflow_random(void **state); /* limits_products.c */
void test_dims_near_int64_max(void **state);
void test_huge_ndim_size1(void **state);         /* limits_ndim.c */
void test_many_size2_dims(void **state);
void test_stride_overflow_table(void **state);   /* limits_strides.c */
void test_stride_overflow_random(void **state);

#endif
