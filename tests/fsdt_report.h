/*
 * fsdt_report.h — the failure report of the tests that run many generated cases (test_pack_cpu,
 * test_context, the round-trip checks): every failure is counted, the first few are printed with
 * the case's description and the line that replays it, and the test fails once at the end with
 * the counts. Include after "fsd_cases.h".
 */
#ifndef FSDT_REPORT_H
#define FSDT_REPORT_H

#include <stdarg.h>
#include <stdio.h>

typedef struct fsdt_report {
    long failures;     /* failed checks                    */
    long failed_cases; /* cases with at least one          */
    int last_index;    /* index of the last failed case    */
} fsdt_report;

/*
 * Counts a failed check of case c; the first `max_printed` are printed as
 *   FAIL<tag>: <fmt ...>
 *         <c->desc>
 *         <context>                       (when not NULL)
 *         replay: FSD_TEST_SEED=<seed>[ FSD_TEST_CASE=<index>]
 * with FSD_TEST_CASE when the test can run a single case (`one_case` 1).
 */
static inline void fsdt_report_vfail(fsdt_report *rep, long max_printed, const fsdt_case *c,
                                     const char *tag, const char *context, int one_case,
                                     const char *fmt, va_list ap)
{
    if (rep->failures == 0 || rep->last_index != c->index)
        rep->failed_cases++;
    rep->last_index = c->index;
    if (rep->failures++ >= max_printed)
        return;
    printf("FAIL%s: ", tag);
    vprintf(fmt, ap);
    printf("\n      %s\n", c->desc);
    if (context != NULL)
        printf("      %s\n", context);
    printf("      replay: FSD_TEST_SEED=%llu", (unsigned long long)c->seed);
    if (one_case)
        printf(" FSD_TEST_CASE=%d", c->index);
    printf("\n");
    fflush(stdout);
}

#endif
