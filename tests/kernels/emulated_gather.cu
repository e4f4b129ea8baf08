/* emulated_gather.cu — the emulated grid of the paged gather (see emulated_gather.h). */
#include "emulated_gather.h"
#include "emulated_steps.cuh"

namespace {
struct emulator {
    const fsd_gather_plan &p;
    template <typename T, int LW, int NDIM, typename I>
    void run()
    {
        fsdt_grid_gather<T, LW, NDIM, I>(p, p.grid, p.block);
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
