/*
 * mock_test_util.h — the few lines the stand-in runtime's own cmocka tests share: a CUDA call
 * that must succeed, the count of misuses the runtime has seen, and a filled pinned buffer.
 * Include after <cmocka.h>.
 */
#ifndef MOCKCUDA_TEST_UTIL_H
#define MOCKCUDA_TEST_UTIL_H

#include <string.h>

#include "mock_cuda.h"

#define OK(call) assert_int_equal((call), cudaSuccess)

/* Misuses of the runtime reported so far (mockcuda_stats.violations). */
static inline long violations(void)
{
    mockcuda_stats s;
    mockcuda_get_stats(&s);
    return s.violations;
}

/* One pinned byte buffer of n bytes filled with v. */
static inline unsigned char *pinned(size_t n, unsigned char v)
{
    void *p = NULL;
    OK(cudaHostAlloc(&p, n, 0));
    memset(p, v, n);
    return (unsigned char *)p;
}

#endif
