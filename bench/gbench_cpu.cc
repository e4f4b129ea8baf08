// gbench_cpu.cc — Google Benchmark suite of fastserde's CPU path: pack, unpack (the calling
// thread), pack_to_host, unpack_from_host, to_bytes, from_bytes (a context's threads), for
// synthetic views of every layout (bench_views.h), by packed size and element size.
//
// Baseline (counter baseline_GBps, ratio x_baseline): memcpy of the same bytes measured in the
// same process: on one thread for pack/unpack; for the others, the faster of that and the same
// memcpy split over the context's threads. Timing is manual (the host clock around each call) so that the ratio uses exactly the
// timed calls. Data that fits in the caches is timed in the caches, by the operation and its
// baseline alike: the size axis shows it.
//
// Defaults keep the run short: sizes 4 KiB .. 16 MiB, bf16-sized elements, plus an
// element-size sweep (1..16 bytes) at 1 MiB for pack and unpack. --fsd_max_size=1G goes on to
// 1 GiB; --help lists the options.
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "bench_util.h"
#include "fastserde.h"
#include "gbench_common.h"

namespace {

enum op { PACK, UNPACK, TO_HOST, FROM_HOST, TO_BYTES, FROM_BYTES };
const char *const op_names[] = {"pack", "unpack", "pack_to_host", "unpack_from_host", "to_bytes", "from_bytes"};

fsd_context *g_ctx = nullptr;
fsdb_mtcopy *g_mt = nullptr;
int g_threads = 1;

// Grow-only buffers, shared by every benchmark of the process.
struct buffer {
    unsigned char *p = nullptr;
    size_t n = 0;
    void need(size_t bytes, uint32_t seed)
    {
        if (bytes <= n)
            return;
        std::free(p);
        p = static_cast<unsigned char *>(std::malloc(bytes));
        if (p == nullptr) {
            std::fprintf(stderr, "fastserde-gbench-cpu: cannot allocate %zu bytes\n", bytes);
            std::exit(1);
        }
        fsdb_fill_pattern(p, bytes, seed); // also touches every page
        n = bytes;
    }
};
buffer g_storage, g_packed;

bool uses_context(op o) { return o != PACK && o != UNPACK; }

bool run(op o, const DLTensor &t, size_t n, DLDataType dt)
{
    fsd_status st = FSD_SUCCESS;
    switch (o) {
    case PACK: st = fsd_pack(&t, g_packed.p, n, nullptr); break;
    case UNPACK: st = fsd_unpack(g_packed.p, n, &t, nullptr); break;
    case TO_HOST: st = fsd_pack_to_host(g_ctx, &t, g_packed.p, n, nullptr); break;
    case FROM_HOST: st = fsd_unpack_from_host(g_ctx, g_packed.p, n, &t, nullptr); break;
    case TO_BYTES: {
        void *b = nullptr;
        size_t sz = 0;
        st = fsd_to_bytes(g_ctx, &t, &b, &sz);
        fsd_bytes_free(b);
        break;
    }
    case FROM_BYTES: {
        DLManagedTensor *out = nullptr;
        st = fsd_from_bytes(g_ctx, g_packed.p, n, dt, DLDevice{kDLCPU, 0}, &out);
        if (out)
            out->deleter(out);
        break;
    }
    }
    return st == FSD_SUCCESS;
}

// Median seconds of memcpy of n bytes (threaded or not), measured once per process and size.
double baseline_seconds(size_t n, bool threaded)
{
    static std::map<std::pair<size_t, bool>, double> cache;
    auto key = std::make_pair(n, threaded);
    auto it = cache.find(key);
    if (it != cache.end())
        return it->second;
    std::vector<double> t;
    double spent = 0;
    for (int i = -1; (i < 5 || spent < 0.02) && i < 200; i++) {
        double t0 = fsdb_now();
        if (threaded)
            fsdb_mtcopy_run(g_mt, g_packed.p, g_storage.p, n);
        else
            std::memcpy(g_packed.p, g_storage.p, n);
        double dt = fsdb_now() - t0;
        benchmark::ClobberMemory();
        if (i >= 0) {
            t.push_back(dt);
            spent += dt;
        }
    }
    double m = fsdb_median(t.data(), (int)t.size());
    cache[key] = m;
    return m;
}

void bm(benchmark::State &state, op o, fsdb_layout l, uint32_t elem)
{
    const size_t n = (size_t)state.range(0);
    fsdb_view v;
    fsdb_view_synthetic(l, n, elem, &v);
    g_storage.need(v.storage_bytes, 7);
    g_packed.need(n, 11);
    const DLDataType dt = fsdb::dtype_of(elem);
    const DLTensor t = fsdb_view_tensor(&v, g_storage.p, DLDevice{kDLCPU, 0}, dt);
    const bool threaded = uses_context(o);
    // The context's operations: the faster of memcpy on one thread and split over its threads.
    const double base = threaded ? std::min(baseline_seconds(n, false), baseline_seconds(n, true))
                                 : baseline_seconds(n, false);
    if (!run(o, t, n, dt)) { // warm-up, and the only error check
        char msg[256];
        fsd_last_error(msg, sizeof msg);
        state.SkipWithError(msg);
        return;
    }
    double total = 0;
    for (auto _ : state) {
        double t0 = fsdb_now();
        run(o, t, n, dt);
        double dt_s = fsdb_now() - t0;
        state.SetIterationTime(dt_s);
        total += dt_s;
    }
    state.SetBytesProcessed((int64_t)state.iterations() * (int64_t)n);
    const double per = total / (double)state.iterations();
    state.counters["baseline_GBps"] = (double)n / base / 1e9;
    state.counters["x_baseline"] = per > 0 ? base / per : 0.0;
    state.counters["threads"] = threaded ? g_threads : 1;
    state.SetLabel(threaded ? "baseline=memcpy-1t-or-" + std::to_string(g_threads) + "t" : std::string("baseline=memcpy"));
}

void add(op o, fsdb_layout l, uint32_t elem, size_t n, const fsdb::options &opt)
{
    fsdb::add_bench(fsdb::bench_name(op_names[o], l, elem), n, opt,
                    [o, l, elem](benchmark::State &s) { bm(s, o, l, elem); });
}

} // namespace

int main(int argc, char **argv)
{
    fsdb::options opt;
    if (!fsdb::parse_options(&argc, argv, opt, 4096, (size_t)16 << 20, (size_t)1 << 20, "fastserde-gbench-cpu"))
        return 2;
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    if (fsd_context_create(&g_ctx, &cfg) != FSD_SUCCESS) {
        std::fprintf(stderr, "fastserde-gbench-cpu: cannot create a context\n");
        return 1;
    }
    fsd_context_usage use;
    fsd_context_memory(g_ctx, &use);
    g_threads = use.cpu_threads;
    g_mt = fsdb_mtcopy_create(g_threads);

    for (int o = PACK; o <= FROM_BYTES; o++)
        for (fsdb_layout l : opt.layouts)
            for (uint32_t e : opt.elems)
                for (size_t n : opt.sizes)
                    if (o != FROM_BYTES || l == FSDB_CONTIG) // from_bytes: a new 1-D tensor
                        add((op)o, l, e, n, opt);
    for (int o = PACK; o <= UNPACK; o++)
        fsdb::add_elem_sweep(opt, [&](fsdb_layout l, uint32_t e) { add((op)o, l, e, opt.sweep_size, opt); });

    benchmark::AddCustomContext("fastserde_version", std::to_string(fsd_version()));
    benchmark::AddCustomContext("fastserde_context_threads", std::to_string(g_threads));
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 2;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    fsdb_mtcopy_destroy(g_mt);
    fsd_context_destroy(g_ctx);
    return 0;
}
