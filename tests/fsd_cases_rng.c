/*
 * fsd_cases_rng.c — the randomness of the tests (fsd_cases.h): the splitmix64 PRNG, the run's
 * seed (FSD_TEST_SEED) and the other environment knobs.
 */
#include "fsd_cases.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* ------------------------------------------------------------------------------------------ */
/* PRNG: splitmix64.                                                                           */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void fsdt_rng_init(fsdt_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t s = seed;
    uint64_t a = splitmix64(&s);
    s = stream ^ 0xD1B54A32D192ED03ull;
    r->s = a ^ splitmix64(&s);
}

uint64_t fsdt_rng_next(fsdt_rng *r) { return splitmix64(&r->s); }

int64_t fsdt_rng_range(fsdt_rng *r, int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1u; /* 0 means the full 64-bit range */
    uint64_t x = fsdt_rng_next(r);
    return span == 0 ? (int64_t)x : (int64_t)((uint64_t)lo + x % span);
}

void fsdt_rng_fill(fsdt_rng *r, unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(fsdt_rng_next(r) >> 56);
}

/* ------------------------------------------------------------------------------------------ */
/* Seed and environment.                                                                       */

long fsdt_env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0')
        return dflt;
    char *end = NULL;
    long x = strtol(v, &end, 0);
    return (end == NULL || *end != '\0' || x < 0) ? dflt : x;
}

uint64_t fsdt_seed(void)
{
    static int done;
    static uint64_t seed;
    if (!done) {
        const char *v = getenv("FSD_TEST_SEED");
        if (v != NULL && *v != '\0') {
            seed = strtoull(v, NULL, 0);
        } else {
            struct timespec ts;
            timespec_get(&ts, TIME_UTC);
            uint64_t s = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec;
            seed = splitmix64(&s) >> 1; /* keep it printable as a positive decimal */
        }
        printf("seed: %" PRIu64 " (replay with FSD_TEST_SEED=%" PRIu64 ")\n", seed, seed);
        fflush(stdout);
        done = 1;
    }
    return seed;
}
