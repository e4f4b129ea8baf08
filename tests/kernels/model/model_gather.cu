/*
 * model_gather.cu — the paged gather's kernel (kernels/gather_step.cuh) in the access model: the
 * instantiation kernels/gather_launch.cu launches for the plan (fsd_gather_dispatch), its step
 * function run over the plan's grid with the access hooks, traced under the __global__
 * wrapper's name.
 */
#include <cstdio>
#include <cstring>

#include "model_driver.h"

#include "gather_step.cuh"

namespace {

template <typename T> const char *word_name();
template <> const char *word_name<uint4>() { return "uint4"; }
template <> const char *word_name<uint2>() { return "uint2"; }
template <> const char *word_name<uint32_t>() { return "unsigned int"; }
template <> const char *word_name<uint16_t>() { return "unsigned short"; }
template <> const char *word_name<uint8_t>() { return "unsigned char"; }

struct traced {
    const fsd_gather_plan &p;
    const fsdm_options *opt;
    fsdm_report *r;
    template <typename T, int LW, int NDIM, typename I>
    void run()
    {
        char name[160];
        std::snprintf(name, sizeof name, "fsd_gather_kernel<%s, %d, %d, %s>", word_name<T>(), LW, NDIM,
                      sizeof(I) == 4 ? "unsigned int" : "unsigned long");
        fsdm::trace tr(name, p.grid, p.block, opt);
        for (uint32_t b = 0; b < p.grid; b++)
            for (uint32_t t = 0; t < p.block; t++) {
                tr.thread(b, t);
                fsd_gather_step<T, LW, NDIM, I>(p, b, t);
            }
        tr.finish(r);
    }
};

} // namespace

extern "C" int fsdm_model_gather(const fsd_gather_plan *plan, const fsdm_options *opt, fsdm_report *r)
{
    traced t{*plan, opt, r};
    if (plan->index64)
        fsd_gather_dispatch<uint64_t>(*plan, t);
    else
        fsd_gather_dispatch<uint32_t>(*plan, t);
    return 0;
}
