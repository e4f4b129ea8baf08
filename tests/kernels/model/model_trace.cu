/*
 * model_trace.cu — the recorder behind the access hooks, and the analysis of one traced launch:
 * warp instructions, sectors, wavefronts, loads in flight, balance (see model_driver.h); then
 * occupancy, SASS and the prediction (model_predict.c).
 *
 * Each access of a traced block is kept in its thread's trace. When the block is done, every
 * warp's 32 traces are merged: the n-th access of each lane at one (site, load/store) is one
 * warp instruction, whatever the lanes did in between. One trace at a time per host thread.
 */
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <cxxabi.h>
#include <map>
#include <string>
#include <vector>

#include "model_driver.h"
#include "model_internal.h"
#include "model_resources.h"

namespace fsdm {

enum kind : uint8_t { G_LD = 0, G_ST = 1, S_LD = 2, S_ST = 3, BARRIER = 4, ITERATION = 5 };

struct rec {
    uint64_t addr;   /* global: the address; shared: the offset in the block's buffer */
    uint32_t site;
    uint16_t bytes;
    uint8_t kind;
};

struct instr {
    uint32_t site;
    uint8_t kind;
    uint32_t mask;
    uint64_t addr[32];
    uint16_t bytes[32];
};

struct site_slot {
    const char *file;
    int line, store;
    uint32_t id;
};

struct state {
    std::string kernel;
    uint32_t grid, block;
    fsdm_options opt;
    uintptr_t sh_lo = 0, sh_hi = 0;
    /* sites: (file, line, store) -> id */
    std::map<std::pair<std::pair<const char *, int>, int>, uint32_t> sites;
    site_slot site_cache[512] = {};
    /* the current block */
    int64_t cur_block = -1;
    uint32_t cur_thread = 0;
    bool detailed = true;
    std::vector<std::vector<rec>> traces;
    std::vector<double> block_bytes; /* global load bytes per block */
    /* totals over traced blocks */
    fsdm_totals t;
    /* scratch */
    std::vector<instr> ins;
    std::vector<std::vector<uint32_t>> per_site;
    std::vector<uint32_t> cnt;
    std::vector<uint64_t> scratch;
    uint32_t traced_blocks = 0;
};

static thread_local state *current = nullptr;

static int log2w(unsigned bytes)
{
    int l = 0;
    while ((1u << l) < bytes && l < 4)
        l++;
    return l;
}

static void analyse_instr(state &s, const instr &in)
{
    fsdm_totals &t = s.t;
    const uint32_t mask = in.mask;
    if (in.kind == G_LD || in.kind == G_ST) {
        s.scratch.clear();
        /* The bytes the instruction uses: lanes that read the same address (a broadcast, e.g.
         * every lane of a group loading its slot) count once, as DRAM traffic does. */
        std::pair<uint64_t, uint64_t> ranges[32];
        int lanes = 0;
        for (int l = 0; l < 32; l++) {
            if (!(mask >> l & 1))
                continue;
            ranges[lanes++] = {in.addr[l], in.addr[l] + in.bytes[l]};
            for (uint64_t sec = in.addr[l] >> 5; sec <= (in.addr[l] + in.bytes[l] - 1) >> 5; sec++)
                s.scratch.push_back(sec);
        }
        std::sort(ranges, ranges + lanes);
        double bytes = 0;
        uint64_t covered = 0; /* the end of the union of the ranges so far */
        for (int i = 0; i < lanes; i++) {
            const uint64_t lo = std::max(ranges[i].first, covered), hi = ranges[i].second;
            if (hi > lo)
                bytes += (double)(hi - lo);
            covered = std::max(covered, hi);
        }
        std::sort(s.scratch.begin(), s.scratch.end());
        const double sectors = (double)(std::unique(s.scratch.begin(), s.scratch.end()) - s.scratch.begin());
        const int st = in.kind == G_ST;
        t.g_requests[st] += 1;
        t.g_sectors[st] += sectors;
        t.g_bytes[st] += bytes;
        t.g_lanes[st] += lanes;
        return;
    }
    /* Shared: lanes in phases (32 lanes for <= 4-byte accesses, 16 for 8 bytes, 8 for 16);
     * a phase takes as many wavefronts as the most distinct 4-byte words in one bank. */
    unsigned w = 0;
    for (int l = 0; l < 32; l++)
        if (mask >> l & 1)
            w = std::max<unsigned>(w, in.bytes[l]);
    const int phase = w <= 4 ? 32 : w == 8 ? 16 : 8;
    double waves = 0, ideal = 0;
    for (int p0 = 0; p0 < 32; p0 += phase) {
        s.scratch.clear();
        unsigned bytes = 0;
        for (int l = p0; l < p0 + phase; l++) {
            if (!(mask >> l & 1))
                continue;
            bytes += in.bytes[l];
            for (uint64_t wd = in.addr[l] >> 2; wd <= (in.addr[l] + in.bytes[l] - 1) >> 2; wd++)
                s.scratch.push_back(((wd & 31) << 48) | wd); /* bank, word */
        }
        if (bytes == 0)
            continue;
        std::sort(s.scratch.begin(), s.scratch.end());
        s.scratch.erase(std::unique(s.scratch.begin(), s.scratch.end()), s.scratch.end());
        int most = 0;
        for (size_t i = 0; i < s.scratch.size();) {
            size_t j = i;
            while (j < s.scratch.size() && s.scratch[j] >> 48 == s.scratch[i] >> 48)
                j++;
            most = std::max<int>(most, (int)(j - i));
            i = j;
        }
        waves += most;
        ideal += (bytes + 127) / 128;
    }
    const int st = in.kind == S_ST;
    t.s_requests[st] += 1;
    t.s_wavefronts[st] += waves;
    t.s_ideal[st] += ideal;
}

/* One warp's traces -> warp instructions; per-thread batches of loads. */
static void analyse_warp(state &s, uint32_t first, uint32_t lanes)
{
    fsdm_totals &t = s.t;
    const size_t nsites = s.sites.size();
    s.ins.clear();
    if (s.per_site.size() < nsites)
        s.per_site.resize(nsites);
    for (auto &v : s.per_site)
        v.clear();
    for (uint32_t lane = 0; lane < lanes; lane++) {
        const std::vector<rec> &tr = s.traces[first + lane];
        s.cnt.assign(nsites, 0);
        double batch = 0, thread_bytes = 0, thread_batches = 0;
        int batch_n = 0, batch_w = 0;
        auto end_batch = [&]() {
            if (batch_n == 0)
                return;
            t.batches += 1;
            t.batch_bytes += batch;
            thread_bytes += batch;
            thread_batches += 1;
            t.batch_hist[batch_w][std::min(batch_n, FSDM_MAX_BATCH)] += 1;
            batch = 0;
            batch_n = batch_w = 0;
        };
        for (const rec &r : tr) {
            if (r.kind == BARRIER) {
                end_batch();
                continue;
            }
            if (r.kind == ITERATION) {
                t.iterations += 1;
                continue;
            }
            const uint32_t n = s.cnt[r.site]++;
            std::vector<uint32_t> &ps = s.per_site[r.site];
            if (n >= ps.size()) {
                ps.push_back((uint32_t)s.ins.size());
                s.ins.emplace_back();
                instr &in = s.ins.back();
                in.site = r.site;
                in.kind = r.kind;
                in.mask = 0;
            }
            instr &in = s.ins[ps[n]];
            in.mask |= 1u << lane;
            in.addr[lane] = r.addr;
            in.bytes[lane] = r.bytes;
            const int space = r.kind >= S_LD, store = r.kind & 1;
            t.per_thread[space][store][log2w(r.bytes)] += 1;
            if (r.kind == G_LD) {
                batch += r.bytes;
                batch_n++;
                batch_w = std::max(batch_w, log2w(r.bytes));
                t.ld_width_bytes[log2w(r.bytes)] += r.bytes;
            } else {
                end_batch();
            }
        }
        end_batch();
        if (thread_batches > 0) {
            t.active_threads += 1;
            t.inflight_sum += thread_bytes / thread_batches;
        }
        if (!tr.empty())
            t.threads_with_accesses += 1;
    }
    for (const instr &in : s.ins)
        analyse_instr(s, in);
}

static void flush_block(state &s)
{
    if (s.cur_block < 0)
        return;
    if (s.detailed) {
        double bytes = 0;
        for (const auto &tr : s.traces)
            for (const rec &r : tr)
                if (r.kind == G_LD)
                    bytes += r.bytes;
        s.block_bytes[(size_t)s.cur_block] = bytes;
        for (uint32_t w = 0; w < s.block; w += 32)
            analyse_warp(s, w, std::min<uint32_t>(32, s.block - w));
        s.traced_blocks++;
    }
    for (auto &tr : s.traces)
        tr.clear();
}

trace::trace(const char *kernel, uint32_t grid, uint32_t block, const fsdm_options *opt)
    : s_(new state)
{
    s_->kernel = kernel;
    s_->grid = grid;
    s_->block = block;
    s_->opt.gpu = opt && opt->gpu ? opt->gpu : &fsdm_h200;
    s_->opt.sample = opt && opt->sample > 1 ? opt->sample : 1;
    s_->traces.resize(block);
    s_->block_bytes.assign(grid, 0.0);
    std::memset(&s_->t, 0, sizeof s_->t);
    current = s_;
}

trace::~trace()
{
    if (current == s_)
        current = nullptr;
    delete s_;
}

void trace::shared(const void *p, size_t bytes)
{
    s_->sh_lo = (uintptr_t)p;
    s_->sh_hi = (uintptr_t)p + bytes;
}

void trace::thread(uint32_t b, uint32_t t)
{
    state &s = *s_;
    if ((int64_t)b != s.cur_block) {
        flush_block(s);
        s.cur_block = b;
        /* Sampled: the first block and every sample-th one after it. */
        s.detailed = b % (uint32_t)s.opt.sample == 0;
    }
    s.cur_thread = t;
}

void trace::barrier()
{
    state &s = *s_;
    if (!s.detailed)
        return;
    for (auto &tr : s.traces)
        tr.push_back(rec{0, 0, 0, BARRIER});
}

/* The demangled kernel name of a mangled ptxas entry, without "void " and the parameters. */
std::string demangled_prefix(const char *mangled)
{
    int status = 0;
    char *d = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
    std::string out = status == 0 && d ? d : mangled;
    free(d);
    if (out.compare(0, 5, "void ") == 0)
        out.erase(0, 5);
    /* up to the parameter list: the last '(' at template depth 0 */
    int depth = 0;
    for (size_t i = 0; i < out.size(); i++) {
        if (out[i] == '<')
            depth++;
        else if (out[i] == '>')
            depth--;
        else if (out[i] == '(' && depth == 0)
            return out.substr(0, i);
    }
    return out;
}

void trace::finish(fsdm_report *r)
{
    state &s = *s_;
    flush_block(s);
    s.cur_block = -1;
    std::memset(r, 0, sizeof *r);
    std::snprintf(r->kernel, sizeof r->kernel, "%s", s.kernel.c_str());
    r->grid = s.grid;
    r->block = s.block;
    r->modeled = 1;
    /* registers and shared memory */
    for (int i = 0; i < fsdm_resource_count; i++) {
        if (demangled_prefix(fsdm_resources[i].mangled) == s.kernel) {
            r->resources_known = 1;
            r->regs = fsdm_resources[i].regs;
            r->smem = fsdm_resources[i].smem;
            r->spill_bytes = fsdm_resources[i].spill_stores + fsdm_resources[i].spill_loads;
            break;
        }
    }
    /* balance over every block (traced or sampled) */
    double sum = 0, most = 0;
    for (double b : s.block_bytes) {
        sum += b;
        most = std::max(most, b);
    }
    const double mean = s.grid ? sum / s.grid : 0;
    r->block_balance = mean > 0 ? most / mean : 1.0;
    fsdm_finish_report(&s.t, s.traced_blocks, s.kernel.c_str(), s.opt.gpu, r);
    if (current == s_)
        current = nullptr;
}

int kernel_known(const char *kernel)
{
    for (int i = 0; i < fsdm_resource_count; i++)
        if (demangled_prefix(fsdm_resources[i].mangled) == kernel)
            return 1;
    return 0;
}

} // namespace fsdm

extern "C" char *fsdm_demangle_prefix(const char *mangled)
{
    return strdup(fsdm::demangled_prefix(mangled).c_str());
}

extern "C" int fsdm_kernel_known(const char *kernel)
{
    return fsdm::kernel_known(kernel);
}

void fsdm_hook_iteration(void)
{
    fsdm::state *s = fsdm::current;
    if (s == nullptr || !s->detailed)
        return;
    s->traces[s->cur_thread].push_back(fsdm::rec{0, 0, 0, fsdm::ITERATION});
}

void fsdm_hook_access(const void *p, unsigned bytes, int store, const char *file, int line)
{
    fsdm::state *s = fsdm::current;
    if (s == nullptr || s->cur_block < 0)
        return;
    const uintptr_t a = (uintptr_t)p;
    const bool shared = a >= s->sh_lo && a < s->sh_hi;
    if (!s->detailed) {
        if (!shared && !store)
            s->block_bytes[(size_t)s->cur_block] += bytes;
        return;
    }
    /* (file, line, store) -> site: a direct-mapped cache in front of the map */
    fsdm::site_slot &slot = s->site_cache[((unsigned)line * 2u + (unsigned)store) & 511u];
    uint32_t site;
    if (slot.file == file && slot.line == line && slot.store == store) {
        site = slot.id;
    } else {
        auto key = std::make_pair(std::make_pair(file, line), store);
        auto it = s->sites.find(key);
        if (it == s->sites.end()) {
            site = (uint32_t)s->sites.size();
            s->sites.emplace(key, site);
        } else {
            site = it->second;
        }
        slot = fsdm::site_slot{file, line, store, site};
    }
    const uint8_t kind = (uint8_t)((shared ? 2 : 0) + (store ? 1 : 0));
    s->traces[s->cur_thread].push_back(
        fsdm::rec{shared ? (uint64_t)(a - s->sh_lo) : (uint64_t)a, site, (uint16_t)bytes, kind});
}
