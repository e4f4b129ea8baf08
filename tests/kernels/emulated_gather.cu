/* emulated_gather.cu — the emulated grid of the paged gather (see emulated_gather.h). */
#include "emulated_gather.h"
#include "gather_step.cuh"

namespace {
struct emulator {
    const fsd_gather_plan &p;
    template <typename T, int LW, int NDIM, typename I>
    void run()
    {
        for (uint32_t b = 0; b < p.grid; b++)
            for (uint32_t t = 0; t < p.block; t++)
                fsd_gather_step<T, LW, NDIM, I>(p, b, t);
    }
};
} // namespace

extern "C" void fsdt_emulate_gather(const fsd_gather_plan *p, int index64)
{
    emulator e{*p};
    if (index64 || p->index64)
        fsd_gather_dispatch<uint64_t>(*p, e);
    else
        fsd_gather_dispatch<uint32_t>(*p, e);
}
