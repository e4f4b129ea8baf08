/*
 * roundtrip_runtime.h — what the round-trip checks need from the runtime under them: the
 * adaptors (rt_*) that each includer of roundtrip_checks.h defines for its runtime (the mock in
 * test_roundtrip_mock.c, real CUDA in ../test_roundtrip_gpu.c), and CUDA_OK. Part of
 * roundtrip_checks.h: include that, not this.
 */
#ifndef ROUNDTRIP_RUNTIME_H
#define ROUNDTRIP_RUNTIME_H

/* What the runtime can count (the mock can; real CUDA cannot: rt_get_counts returns 0). */
typedef struct rt_counts {
    long device_allocs, pinned_allocs, streams, events;
    long executed_ops, pending_ops, kernels;
    long pageable_copies, violations;
} rt_counts;

static int rt_get_counts(rt_counts *c);
/* Copies n bytes at a device address to the host now (the work that wrote them is done). */
static void rt_peek(void *dst, const void *src, size_t n);
/* 1 when [p, p + n) is device memory. */
static int rt_is_device(const void *p, size_t n);
/* Seeds the scheduler (mock) with `eager` percent of eager progress; a no-op on a GPU. */
static void rt_schedule(uint64_t seed, int eager);
/* Waits for all queued work. */
static void rt_drain(void);

#include "fsdt_cuda_ok.h"

#endif
