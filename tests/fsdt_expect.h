/*
 * fsdt_expect.h — EXPECT(call, status) for the cmocka tests: the call's status, and the
 * thread's detailed message (non-empty after a failure, empty after a success). Include after
 * <cmocka.h> and "fastserde.h".
 */
#ifndef FSDT_EXPECT_H
#define FSDT_EXPECT_H

static inline void fsdt_expect_status(fsd_status got, fsd_status want, const char *expr, int line)
{
    char msg[512];
    size_t len = fsd_last_error(msg, sizeof msg);
    if (got != want)
        fail_msg("line %d: %s\n  expected %s\n  got      %s\n  fsd_last_error: \"%s\"", line,
                 expr, fsd_status_string(want), fsd_status_string(got), msg);
    if (want != FSD_SUCCESS && len == 0)
        fail_msg("line %d: %s failed but fsd_last_error is empty", line, expr);
    if (want == FSD_SUCCESS && len != 0)
        fail_msg("line %d: %s succeeded but fsd_last_error is \"%s\"", line, expr, msg);
}
#define EXPECT(call, want) fsdt_expect_status((call), (want), #call, __LINE__)

#endif
