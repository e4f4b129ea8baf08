/*
 * fsdt_guarded_fixture.h — the guarded buffers of the cmocka tests that check that a refused
 * call writes nothing (test_validate, hardening/test_limits). Include after <cmocka.h> and
 * "fsd_cases.h".
 *
 * A test keeps each buffer in a global of its own and lists them in a table:
 *
 *     static unsigned char *g_store, *g_dst;
 *     static const fsdt_guarded_buf g_bufs[] = {
 *         {&g_store, STORE, STORE_FILL, "storage"}, {&g_dst, DST, DST_FILL, "dst/src"}};
 *
 * fsdt_fixture_setup / _teardown allocate and free them (fsdt_guarded_alloc, FSDT_GUARD bytes
 * of a known pattern on each side); fsdt_fixture_refill sets every byte back to its fill;
 * fsdt_fixture_untouched fails the test, naming the caller's line, when a byte differs from
 * its fill or a guard byte changed.
 */
#ifndef FSDT_GUARDED_FIXTURE_H
#define FSDT_GUARDED_FIXTURE_H

#include <string.h>

typedef struct fsdt_guarded_buf {
    unsigned char **p;  /* the test's global that holds the buffer                     */
    size_t size;        /* bytes, without the guards                                   */
    unsigned char fill; /* the value of every byte after setup and refill              */
    const char *what;   /* in failure messages: "<what> byte <i> was written"          */
} fsdt_guarded_buf;

#define FSDT_NBUFS(table) (sizeof(table) / sizeof((table)[0]))

static inline void fsdt_fixture_setup(const fsdt_guarded_buf *bufs, size_t count)
{
    for (size_t b = 0; b < count; b++)
        *bufs[b].p = fsdt_guarded_alloc(bufs[b].size, bufs[b].fill);
}

static inline void fsdt_fixture_teardown(const fsdt_guarded_buf *bufs, size_t count)
{
    for (size_t b = 0; b < count; b++) {
        fsdt_guarded_free(*bufs[b].p);
        *bufs[b].p = NULL;
    }
}

static inline void fsdt_fixture_refill(const fsdt_guarded_buf *bufs, size_t count)
{
    for (size_t b = 0; b < count; b++)
        memset(*bufs[b].p, bufs[b].fill, bufs[b].size);
}

/* Every byte still its fill, every guard intact; otherwise fail_msg with `line`. */
static inline void fsdt_fixture_untouched(const fsdt_guarded_buf *bufs, size_t count, int line)
{
    for (size_t b = 0; b < count; b++) {
        const unsigned char *p = *bufs[b].p;
        for (size_t i = 0; i < bufs[b].size; i++)
            if (p[i] != bufs[b].fill)
                fail_msg("line %d: %s byte %zu was written", line, bufs[b].what, i);
    }
    for (size_t b = 0; b < count; b++)
        if (!fsdt_guards_intact(*bufs[b].p, bufs[b].size))
            fail_msg("line %d: guard bytes overwritten", line);
}

/* A kDLCPU tensor of unsigned `bits`-bit elements (`lanes` lanes) over `data`; shape and
 * strides are the caller's arrays (not copied), byte_offset 0. */
static inline DLTensor fsdt_host_tensor(void *data, int ndim, int64_t *shape, int64_t *strides,
                                        int bits, int lanes)
{
    DLTensor t;
    memset(&t, 0, sizeof t);
    t.data = data;
    t.device.device_type = kDLCPU;
    t.ndim = ndim;
    t.dtype.code = kDLUInt;
    t.dtype.bits = (uint8_t)bits;
    t.dtype.lanes = (uint16_t)lanes;
    t.shape = shape;
    t.strides = strides;
    return t;
}

#endif
