// gbench_gpu.cc — Google Benchmark suite of fastserde's GPU path: device pack and unpack, and
// the round trip pack_to_host / unpack_from_host into pinned host memory, for synthetic views
// of every layout (bench_views.h), by packed size (4 KiB .. 1 GiB) and element size.
//
// Each iteration is timed with a pair of CUDA events on the benchmark's stream (UseManualTime).
// Baselines of the same bytes, measured the same way in the same process (counter
// baseline_GBps, ratio x_baseline): the 16-byte copy kernel (bench_kernels.cu) for device
// pack/unpack, cudaMemcpyAsync to/from pinned memory for the round trip.
//
// Without a usable GPU every benchmark is skipped with a message (exit status 0).
#include <cuda_runtime_api.h>

#include <algorithm>
#include <map>

#include "bench_kernels.h"
#include "bench_util.h"
#include "fastserde.h"
#include "gbench_common.h"

namespace {

enum op { PACK, UNPACK, TO_HOST, FROM_HOST };
const char *const op_names[] = {"gpu_pack", "gpu_unpack", "gpu_pack_to_host", "gpu_unpack_from_host"};

fsd_context *g_ctx = nullptr;
cudaStream_t g_stream = nullptr;
cudaEvent_t g_e0 = nullptr, g_e1 = nullptr;
int g_device = 0;

// Grow-only device and pinned buffers.
struct dbuf {
    char *p = nullptr;
    size_t n = 0;
    bool pinned = false;
    bool need(size_t bytes)
    {
        if (bytes <= n)
            return true;
        if (p)
            pinned ? cudaFreeHost(p) : cudaFree(p);
        p = nullptr;
        n = 0;
        cudaError_t e = pinned ? cudaHostAlloc((void **)&p, bytes, cudaHostAllocDefault)
                               : cudaMalloc((void **)&p, bytes);
        if (e != cudaSuccess) {
            (void)cudaGetLastError();
            p = nullptr;
            return false;
        }
        if (pinned)
            fsdb_fill_pattern(p, bytes, 5);
        else
            cudaMemset(p, 0x3C, bytes);
        n = bytes;
        return true;
    }
};
dbuf g_storage, g_packed, g_host{nullptr, 0, true};

// Seconds between two events around one call of f (which enqueues on g_stream).
template <typename F>
double timed(F f)
{
    cudaEventRecord(g_e0, g_stream);
    f();
    cudaEventRecord(g_e1, g_stream);
    cudaEventSynchronize(g_e1);
    float ms = 0;
    cudaEventElapsedTime(&ms, g_e0, g_e1);
    return (double)ms * 1e-3;
}

// The baseline of n bytes for op o: median seconds, measured once per process and size.
double baseline_seconds(op o, size_t n)
{
    static std::map<std::pair<int, size_t>, double> cache;
    const int kind = o == PACK || o == UNPACK ? 0 : o == TO_HOST ? 1 : 2;
    auto key = std::make_pair(kind, n);
    auto it = cache.find(key);
    if (it != cache.end())
        return it->second;
    auto call = [&] {
        if (kind == 0)
            fsdb_copy16(g_packed.p, g_storage.p, n, 0, g_stream);
        else if (kind == 1)
            cudaMemcpyAsync(g_host.p, g_packed.p, n, cudaMemcpyDeviceToHost, g_stream);
        else
            cudaMemcpyAsync(g_packed.p, g_host.p, n, cudaMemcpyHostToDevice, g_stream);
    };
    std::vector<double> t;
    double spent = 0;
    for (int i = -2; (i < 10 || spent < 0.02) && i < 1000; i++) {
        double dt = timed(call);
        if (i >= 0) {
            t.push_back(dt);
            spent += dt;
        }
    }
    double m = fsdb_median(t.data(), (int)t.size());
    cache[key] = m;
    return m;
}

fsd_status run(op o, const DLTensor &t, size_t n)
{
    switch (o) {
    case PACK: return fsd_pack(&t, g_packed.p, n, g_stream);
    case UNPACK: return fsd_unpack(g_packed.p, n, &t, g_stream);
    case TO_HOST: return fsd_pack_to_host(g_ctx, &t, g_host.p, n, g_stream);
    case FROM_HOST: return fsd_unpack_from_host(g_ctx, g_host.p, n, &t, g_stream);
    }
    return FSD_ERROR_INTERNAL;
}

void bm(benchmark::State &state, op o, fsdb_layout l, uint32_t elem)
{
    const size_t n = (size_t)state.range(0);
    fsdb_view v;
    fsdb_view_synthetic(l, n, elem, &v);
    if (!g_storage.need(v.storage_bytes) || !g_packed.need(n) || !g_host.need(n)) {
        state.SkipWithError("not enough GPU or pinned memory for this size");
        return;
    }
    const DLTensor t = fsdb_view_tensor(&v, g_storage.p, DLDevice{kDLCUDA, g_device}, fsdb::dtype_of(elem));
    const double base = baseline_seconds(o, n);
    fsd_status st = run(o, t, n); // warm-up, and the error check
    if (st == FSD_SUCCESS && cudaStreamSynchronize(g_stream) != cudaSuccess)
        st = FSD_ERROR_CUDA;
    if (st != FSD_SUCCESS) {
        char msg[256];
        fsd_last_error(msg, sizeof msg);
        state.SkipWithError(msg);
        return;
    }
    double total = 0;
    for (auto _ : state) {
        double dt = timed([&] { run(o, t, n); });
        state.SetIterationTime(dt);
        total += dt;
    }
    state.SetBytesProcessed((int64_t)state.iterations() * (int64_t)n);
    const double per = total / (double)state.iterations();
    state.counters["baseline_GBps"] = (double)n / base / 1e9;
    state.counters["x_baseline"] = per > 0 ? base / per : 0.0;
    state.SetLabel(o == PACK || o == UNPACK ? "baseline=copy16" : o == TO_HOST ? "baseline=d2h-pinned"
                                                                                 : "baseline=h2d-pinned");
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
    if (!fsdb::parse_options(&argc, argv, opt, 4096, (size_t)1 << 30, (size_t)64 << 20, "fastserde-gbench-gpu"))
        return 2;
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e == cudaSuccess && count > 0)
        e = cudaFree(nullptr);
    if (e != cudaSuccess || count == 0) {
        static std::string why = std::string("no usable GPU (") +
                                 (e != cudaSuccess ? cudaGetErrorString(e) : "no CUDA device") +
                                 "): the GPU benchmarks need one";
        (void)cudaGetLastError();
        std::fprintf(stderr, "fastserde-gbench-gpu: %s; skipped.\n", why.c_str());
        benchmark::RegisterBenchmark("gpu/skipped", [](benchmark::State &s) { s.SkipWithError(why.c_str()); });
    } else {
        cudaGetDevice(&g_device);
        fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
        if (fsd_context_create(&g_ctx, &cfg) != FSD_SUCCESS || cudaStreamCreate(&g_stream) != cudaSuccess ||
            cudaEventCreate(&g_e0) != cudaSuccess || cudaEventCreate(&g_e1) != cudaSuccess) {
            std::fprintf(stderr, "fastserde-gbench-gpu: cannot create a context, stream or events\n");
            return 1;
        }
        cudaDeviceProp p;
        cudaGetDeviceProperties(&p, g_device);
        benchmark::AddCustomContext("gpu", p.name);
        benchmark::AddCustomContext("gpu_sms", std::to_string(p.multiProcessorCount));
        for (int o = PACK; o <= FROM_HOST; o++)
            for (fsdb_layout l : opt.layouts)
                for (uint32_t el : opt.elems)
                    for (size_t n : opt.sizes)
                        add((op)o, l, el, n, opt);
        for (int o = PACK; o <= UNPACK; o++)
            fsdb::add_elem_sweep(opt, [&](fsdb_layout l, uint32_t el) { add((op)o, l, el, opt.sweep_size, opt); });
    }
    benchmark::AddCustomContext("fastserde_version", std::to_string(fsd_version()));
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 2;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    if (g_ctx) {
        fsd_context_destroy(g_ctx);
        cudaStreamDestroy(g_stream);
    }
    return 0;
}
