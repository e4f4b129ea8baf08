/*
 * fuzz_check.h — how a fuzz target reports a broken property: CHECK(cond, fmt, ...) prints the
 * target (FSDF_TARGET, defined before including this), the place, the condition and the
 * details, then aborts, which libFuzzer records as a crash with its input.
 * FSDF_ALLOCATOR_MAY_RETURN_NULL() makes a failed huge malloc return NULL under ASan (the
 * library's FSD_ERROR_OUT_OF_MEMORY) instead of aborting the run.
 */
#ifndef FSDF_FUZZ_CHECK_H
#define FSDF_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#ifndef FSDF_TARGET
#error "define FSDF_TARGET (the fuzz target's name) before including fuzz_check.h"
#endif

#define CHECK(cond, ...)                                                                     \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "%s: %s:%d: check failed: %s\n  ", FSDF_TARGET, __FILE__,        \
                    __LINE__, #cond);                                                        \
            fprintf(stderr, __VA_ARGS__);                                                    \
            fprintf(stderr, "\n");                                                           \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

#define FSDF_ALLOCATOR_MAY_RETURN_NULL()                                                     \
    const char *__asan_default_options(void);                                                \
    const char *__asan_default_options(void)                                                 \
    {                                                                                        \
        return "allocator_may_return_null=1";                                                \
    }

#endif
