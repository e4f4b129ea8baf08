/*
 * kv_walk.h — the host's walk over a paged gather's runs (kv_layout.h) in packed order: the
 * cache address of each run, consecutive runs whose cache bytes are adjacent merged into one
 * piece (adjacent slots of one block, adjacent blocks, adjacent layers). The CPU path copies
 * the pieces, the copy-engine path submits them, fsd_gather_runs lists them.
 */
#ifndef FSD_KV_WALK_H
#define FSD_KV_WALK_H

#include "kv_layout.h"

/* One piece: `bytes` bytes at `cache`, packed bytes [packed_off, packed_off + bytes). */
typedef void (*fsd_kv_emit)(void *arg, char *cache, uint64_t packed_off, uint64_t bytes);

/* Emits the pieces of runs [r0, r1) in packed order. Negative slots end a piece and give
 * none. The slots must have passed fsd_kv_check_slots, the layer bases fsd_kv_from_args. */
void fsd_kv_walk(const fsd_kv *kv, uint64_t r0, uint64_t r1, fsd_kv_emit emit, void *arg);

#endif
