/*
 * plan_build.h — turns a validated layout into a plan (plan.h): coalescing, path, word width,
 * tiles and grid. Plain C; the one place where these choices are made for the CPU path, the
 * kernels and the emulated grid alike.
 */
#ifndef FSD_PLAN_BUILD_H
#define FSD_PLAN_BUILD_H

#include "layout.h"
#include "plan.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * fsd_plan_build: plans copying the whole tensor `layout` to or from the packed buffer
 * `packed`: fsd_plan_build_range over [0, layout->total_bytes).
 */
void fsd_plan_build(const fsd_layout *layout, void *packed, fsd_direction dir,
                    uint32_t sm_count, fsd_plan *plan);

/*
 * fsd_plan_build_range: plans copying only the packed bytes [begin, end) of the tensor, with
 * `packed` the address of byte `begin` (0 <= begin <= end <= total_bytes; any byte boundary).
 * @param sm_count  multiprocessors of the GPU the grid is sized for (0: a CPU plan, grid 1).
 * The layout must have passed fsd_layout_from_tensor. Never fails.
 */
void fsd_plan_build_range(const fsd_layout *layout, void *packed, uint64_t begin, uint64_t end,
                          fsd_direction dir, uint32_t sm_count, fsd_plan *plan);

/*
 * fsd_plan_checksum: adds the checksum pack's geometry (cs_*, plan.h) to a plan that
 * fsd_plan_build made for packing a whole tensor (dir PACK, [0, total_bytes)).
 * @param sm_count  multiprocessors of the GPU the grid is sized for.
 */
void fsd_plan_checksum(fsd_plan *plan, uint32_t sm_count);

#ifdef __cplusplus
}
#endif

#endif
