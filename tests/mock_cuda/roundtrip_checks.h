/*
 * roundtrip_checks.h — the round-trip checks shared by test_roundtrip_mock.c (the stand-in
 * runtime) and ../test_roundtrip_gpu.c (a real GPU): one source for both, so that the cases
 * the mock runs are exactly those run on hardware. Included once, after the includes of
 * cmocka, fastserde.h, fsd_cases.h and cuda_runtime_api.h; the includer defines the runtime
 * adaptors declared in roundtrip_runtime.h and its own main().
 *
 * The pieces, each included here (and by the pieces that use it):
 *   roundtrip_runtime.h      the runtime adaptors (rt_*) and CUDA_OK
 *   roundtrip_config.h       the run's settings (environment) and the small contexts
 *   roundtrip_env.h          the environment of one run of a case; the failure report
 *   roundtrip_buffers.h      guarded host and device buffers, uploads, read-backs
 *   roundtrip_case_checks.h  the checks of one case: bytes, stream order, guards, source
 *   roundtrip_edge_cases.h   layouts of k * chunk +- 1 element
 *   roundtrip_drivers.h      run_case; test_random_cases, test_chunk_edges
 *   roundtrip_pipelined.h    test_pipelined_calls: back-to-back calls on one stream
 *   roundtrip_bad_inputs.h   test_bad_inputs: refused calls queue and write nothing
 */
#ifndef ROUNDTRIP_CHECKS_H
#define ROUNDTRIP_CHECKS_H

#include "roundtrip_runtime.h"
#include "roundtrip_config.h"
#include "roundtrip_env.h"
#include "roundtrip_buffers.h"
#include "roundtrip_case_checks.h"
#include "roundtrip_edge_cases.h"
#include "roundtrip_drivers.h"
#include "roundtrip_pipelined.h"
#include "roundtrip_bad_inputs.h"

#endif
