/*
 * gbench_common.h — what the Google Benchmark suites share: their own command-line options
 * (read before benchmark::Initialize, which leaves unknown arguments alone), size parsing and
 * benchmark names.
 *
 * Names are "<op>/<layout>/e<elem bytes>/<bytes>", e.g. "pack/transpose/e2/16777216"; bench/plot.py
 * reads them back. Counters on every benchmark: bytes_per_second (SetBytesProcessed, packed
 * bytes), baseline_GBps (the baseline of the same bytes, measured in the same process) and
 * x_baseline (throughput / baseline throughput); the label names the baseline.
 */
#ifndef FSDB_GBENCH_COMMON_H
#define FSDB_GBENCH_COMMON_H

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_views.h"

namespace fsdb {

struct options {
    std::vector<size_t> sizes;        // packed bytes
    std::vector<uint32_t> elems;      // element sizes
    std::vector<fsdb_layout> layouts;
    size_t sweep_size = 0;            // element-size sweep at this size (0: none)
    bool min_time_given = false;      // --benchmark_min_time on the command line
    double min_time = 0.05;           // per benchmark, unless given
};

// "4K", "64KiB", "1M", "1G", "4096" -> bytes
inline size_t parse_size(const char *s)
{
    char *end = nullptr;
    double v = std::strtod(s, &end);
    size_t mult = 1;
    if (end && (*end == 'K' || *end == 'k'))
        mult = 1024;
    else if (end && (*end == 'M' || *end == 'm'))
        mult = (size_t)1 << 20;
    else if (end && (*end == 'G' || *end == 'g'))
        mult = (size_t)1 << 30;
    return (size_t)(v * (double)mult);
}

// Powers of 16 from lo up to hi, and hi itself: 4K 64K 1M 16M 256M 1G.
inline std::vector<size_t> size_range(size_t lo, size_t hi)
{
    std::vector<size_t> v;
    for (size_t s = lo; s <= hi; s *= 16)
        v.push_back(s);
    if (v.empty() || v.back() != hi)
        v.push_back(hi);
    return v;
}

template <typename T>
inline std::vector<T> parse_list(const char *s, T (*conv)(const char *))
{
    std::vector<T> v;
    std::string str(s);
    size_t pos = 0;
    while (pos <= str.size()) {
        size_t comma = str.find(',', pos);
        std::string item = str.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        if (!item.empty())
            v.push_back(conv(item.c_str()));
        if (comma == std::string::npos)
            break;
        pos = comma + 1;
    }
    return v;
}

inline uint32_t parse_u32(const char *s) { return (uint32_t)std::strtoul(s, nullptr, 10); }
inline fsdb_layout parse_layout(const char *s) { return fsdb_layout_parse(s); }

// Reads and removes --fsd_* options from argv. Defaults: sizes lo..hi, element size 2, all
// layouts. Returns false (after printing why) on a bad option.
inline bool parse_options(int *argc, char **argv, options &o, size_t lo, size_t hi, size_t sweep,
                          const char *prog)
{
    o.sizes = size_range(lo, hi);
    o.elems = {2};
    for (int i = 0; i < FSDB_LAYOUT_COUNT; i++)
        o.layouts.push_back((fsdb_layout)i);
    o.sweep_size = sweep;
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (std::strncmp(a, "--fsd_sizes=", 12) == 0) {
            const char *v = a + 12;
            const char *dots = std::strstr(v, "..");
            if (dots) {
                std::string first(v, (size_t)(dots - v));
                o.sizes = size_range(parse_size(first.c_str()), parse_size(dots + 2));
            } else {
                o.sizes = parse_list<size_t>(v, parse_size);
            }
        } else if (std::strncmp(a, "--fsd_max_size=", 15) == 0) {
            o.sizes = size_range(lo, parse_size(a + 15));
        } else if (std::strncmp(a, "--fsd_elems=", 12) == 0) {
            o.elems = parse_list<uint32_t>(a + 12, parse_u32);
        } else if (std::strncmp(a, "--fsd_layouts=", 14) == 0) {
            o.layouts = parse_list<fsdb_layout>(a + 14, parse_layout);
        } else if (std::strncmp(a, "--fsd_sweep=", 12) == 0) {
            o.sweep_size = parse_size(a + 12);
        } else if (std::strcmp(a, "--help") == 0 || std::strcmp(a, "-h") == 0) {
            std::printf("%s [--fsd_sizes=4K..1G | --fsd_sizes=4K,1M,... | --fsd_max_size=1G]\n"
                        "   [--fsd_elems=1,2,4,8,16] [--fsd_layouts=contiguous,token-slice,head-subset,"
                        "permute,transpose]\n   [--fsd_sweep=SIZE (element sizes 1..16 at SIZE; 0: off)]"
                        " [Google Benchmark options]\n", prog);
            argv[out++] = argv[i]; // let benchmark print its help too
        } else {
            if (std::strncmp(a, "--benchmark_min_time", 20) == 0)
                o.min_time_given = true;
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    for (size_t s : o.sizes) {
        if (s < 4096 || (s & (s - 1)) != 0) {
            std::fprintf(stderr, "%s: sizes must be powers of two >= 4 KiB (got %zu)\n", prog, s);
            return false;
        }
    }
    for (uint32_t e : o.elems) {
        if (e == 0 || e > 16 || (e & (e - 1)) != 0) {
            std::fprintf(stderr, "%s: element sizes must be 1, 2, 4, 8 or 16 (got %u)\n", prog, e);
            return false;
        }
    }
    for (fsdb_layout l : o.layouts) {
        if (l == FSDB_LAYOUT_COUNT) {
            std::fprintf(stderr, "%s: unknown layout in --fsd_layouts\n", prog);
            return false;
        }
    }
    return true;
}

inline std::string bench_name(const char *op, fsdb_layout l, uint32_t elem)
{
    return std::string(op) + "/" + fsdb_layout_name(l) + "/e" + std::to_string(elem);
}

inline DLDataType dtype_of(uint32_t elem)
{
    DLDataType t;
    t.code = kDLUInt;
    t.bits = (uint8_t)(elem * 8 <= 64 ? elem * 8 : 8);
    t.lanes = (uint16_t)(elem * 8 <= 64 ? 1 : elem);
    return t;
}

/* Registers one benchmark named `name` over `n` packed bytes: manual time (the suites time
 * with their own clock or CUDA events), microseconds, and the options' minimum time. */
template <class Fn>
inline void add_bench(const std::string &name, size_t n, const options &opt, Fn fn)
{
    auto *b = benchmark::RegisterBenchmark(name.c_str(), fn);
    b->Arg((int64_t)n)->UseManualTime()->Unit(benchmark::kMicrosecond);
    if (!opt.min_time_given)
        b->MinTime(opt.min_time);
}

/* The element-size sweep at opt.sweep_size: add(layout, elem) for every layout and element
 * size of 1..16 bytes that the main grid does not cover already. */
template <class Add>
inline void add_elem_sweep(const options &opt, Add add)
{
    if (!opt.sweep_size)
        return;
    const bool size_in_grid =
        std::find(opt.sizes.begin(), opt.sizes.end(), opt.sweep_size) != opt.sizes.end();
    for (fsdb_layout l : opt.layouts)
        for (uint32_t el : {1u, 2u, 4u, 8u, 16u})
            if (!size_in_grid || std::find(opt.elems.begin(), opt.elems.end(), el) == opt.elems.end())
                add(l, el);
}

} // namespace fsdb

#endif
