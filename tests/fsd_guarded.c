/*
 * fsd_guarded.c — the memory and process checks of fsd_cases.h: guarded buffers (a known
 * pattern before and after), byte comparisons, and the process's thread count.
 */
#include "fsd_cases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char guard_byte(size_t i) { return (unsigned char)(0xC3u ^ (i * 37u)); }

unsigned char *fsdt_guarded_alloc(size_t n, unsigned char fill)
{
    /* FSDT_GUARD is 64: the buffer starts on a line. aligned_alloc wants a multiple of 64. */
    unsigned char *base = aligned_alloc(64, (n + 2 * FSDT_GUARD + 63) / 64 * 64);
    if (base == NULL) {
        fprintf(stderr, "fsd_cases: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    for (size_t i = 0; i < FSDT_GUARD; i++) {
        base[i] = guard_byte(i);
        base[FSDT_GUARD + n + i] = guard_byte(i + FSDT_GUARD);
    }
    memset(base + FSDT_GUARD, fill, n);
    return base + FSDT_GUARD;
}

int fsdt_guards_intact(const unsigned char *p, size_t n)
{
    const unsigned char *base = p - FSDT_GUARD;
    for (size_t i = 0; i < FSDT_GUARD; i++)
        if (base[i] != guard_byte(i) || p[n + i] != guard_byte(i + FSDT_GUARD))
            return 0;
    return 1;
}

void fsdt_guarded_free(unsigned char *p)
{
    if (p != NULL)
        free(p - FSDT_GUARD);
}

long fsdt_first_diff(const unsigned char *a, const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return (long)i;
    return -1;
}

int fsdt_all_equal(const unsigned char *p, size_t n, unsigned char v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

long fsdt_process_threads(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long n = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "Threads:", 8) == 0)
            n = strtol(line + 8, NULL, 10);
    fclose(f);
    return n;
}
