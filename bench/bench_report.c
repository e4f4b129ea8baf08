/* bench_report.c — the readable tables and the JSON report (see bench.h). */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_paged.h"

/* ---- tables ------------------------------------------------------------------------------ */

/* ratio of the row's throughput to baseline i (0 when not measured) */
static double ratio(const fsdb_result *r, int i)
{
    return r && i < r->nbase && r->base[i].gbps > 0 ? r->gbps / r->base[i].gbps : 0.0;
}

/* The throughput of the row's baseline called `name` (0 when absent). */
static double base_named(const fsdb_result *r, const char *name)
{
    for (int i = 0; r && i < r->nbase; i++)
        if (strcmp(r->base[i].name, name) == 0)
            return r->base[i].gbps;
    return 0.0;
}

/* "  12.34 0.56x" or blanks */
static void cell(FILE *f, const fsdb_result *r)
{
    if (r == NULL)
        fprintf(f, " %13s", "-");
    else
        fprintf(f, " %7.2f %4.2fx", r->gbps, ratio(r, 0));
}

static const char *check_of(const fsdb_result *const *rows, int n)
{
    for (int i = 0; i < n; i++)
        if (rows[i] && strncmp(rows[i]->check, "ok", 2) != 0)
            return rows[i]->check;
    for (int i = 0; i < n; i++)
        if (rows[i] && strcmp(rows[i]->check, "ok") != 0)
            return rows[i]->check;
    return "ok";
}

/* Distinct (model, dtype, layout) in the order measured, for one device, of the frames group's
 * rows (frames 1) or the views group's (frames 0). */
typedef struct key {
    const fsdb_model *m;
    const char *dtype;
    fsdb_layout l;
    const fsdb_result *first;
} key;

static int keys_of(const fsdb_results *rs, const char *device, int frames, key *keys, int cap)
{
    int n = 0;
    for (int i = 0; i < rs->n; i++) {
        const fsdb_result *r = &rs->r[i];
        if (strcmp(r->device, device) != 0 || fsdb_is_frame_op(r->op) != frames)
            continue;
        int seen = 0;
        for (int j = 0; j < n && !seen; j++)
            seen = keys[j].m == r->model && keys[j].l == r->layout && strcmp(keys[j].dtype, r->dtype.name) == 0;
        if (!seen && n < cap)
            keys[n++] = (key){r->model, r->dtype.name, r->layout, r};
    }
    return n;
}

static void print_cpu(FILE *f, const fsdb_results *rs, const fsdb_meta *meta, const fsdb_cfg *cfg)
{
    key keys[512];
    const int nk = keys_of(rs, "cpu", 0, keys, 512);
    if (nk == 0)
        return;
    fprintf(f, "CPU: %s, %d logical cores. Median of %d runs after a warm-up; GB/s = packed bytes / time.\n",
            meta->cpu, meta->cores, cfg->cpu_iters);
    fprintf(f, "x = memcpy time of the same bytes / operation time, both measured in this run: pack and\n"
               "unpack run on the calling thread (x: memcpy on 1 thread); the context's operations on its %d\n"
               "threads (x: the faster of memcpy on 1 thread and memcpy split over %d threads).\n"
               "from_bytes makes a new 1-D tensor (no layout): contiguous rows only.\n\n",
            meta->threads, meta->threads);
    fprintf(f, "%-13s %-12s %5s %-6s %7s %13s %13s %7s %13s %13s %13s %13s  %s\n", "model", "layout",
            "MiB", "dtype", "memcpy", "pack", "unpack", "memcpy", "pack_to_host", "unpack_from_h",
            "to_bytes", "from_bytes", "check");
    char mt[16], mt_name[24];
    snprintf(mt, sizeof mt, "%dt GB/s", meta->threads);
    snprintf(mt_name, sizeof mt_name, "memcpy-%dt", meta->threads);
    fprintf(f, "%-13s %-12s %5s %-6s %7s %13s %13s %7s %13s %13s %13s %13s\n", "", "", "", "",
            "1t GB/s", "GB/s       x", "GB/s       x", mt, "GB/s       x", "GB/s       x",
            "GB/s       x", "GB/s       x");
    for (int i = 0; i < nk; i++) {
        const key *k = &keys[i];
        const fsdb_result *row[6];
        static const char *ops[6] = {"pack", "unpack", "pack_to_host", "unpack_from_host", "to_bytes", "from_bytes"};
        for (int j = 0; j < 6; j++)
            row[j] = fsdb_results_find(rs, "cpu", k->m, k->dtype, k->l, ops[j], "");
        fprintf(f, "%-13s %-12s %5.1f %-6s", k->m->name, fsdb_layout_name(k->l),
                (double)k->first->bytes / (1 << 20), k->dtype);
        fprintf(f, " %7.2f", base_named(row[0], "memcpy"));
        cell(f, row[0]);
        cell(f, row[1]);
        fprintf(f, " %7.2f", base_named(row[2], mt_name));
        for (int j = 2; j < 6; j++)
            cell(f, row[j]);
        fprintf(f, "  %s\n", check_of(row, 6));
    }
    fprintf(f, "\n");
}

static void print_gpu(FILE *f, const fsdb_results *rs, const fsdb_meta *meta, const fsdb_cfg *cfg)
{
    key keys[512];
    const int nk = keys_of(rs, "gpu", 0, keys, 512);
    if (nk == 0)
        return;
    fprintf(f, "GPU: %s (sm_%d%d, %d SMs, %.0f GiB, L2 %.0f MiB), driver %d, runtime %d. Median of %d samples.\n",
            meta->gpu_name, meta->cc_major, meta->cc_minor, meta->gpu_sms,
            (double)meta->gpu_mem / (1 << 30), (double)meta->gpu_l2 / (1 << 20), meta->driver,
            meta->runtime, cfg->gpu_iters);
    fprintf(f, "Device pack/unpack (CUDA events): GB/s = packed bytes / time (device traffic is twice that).\n"
               "Baselines on the same bytes in this run: copy16 = 16-byte copy kernel, d2d = cudaMemcpyAsync,\n"
               "naive = one element per thread, cub = cub::DeviceMemcpy::Batched over the runs.\n"
               "x roof = fastserde / the faster of copy16 and d2d.\n\n");
    fprintf(f, "%-13s %-12s %5s %-6s %-7s %9s %9s %9s %9s %9s %7s %7s %7s  %s\n", "model", "layout", "MiB",
            "dtype", "op", "fastserde", "copy16", "d2d", "naive", "cub", "x roof", "x naive", "x cub", "check");
    for (int i = 0; i < nk; i++) {
        const key *k = &keys[i];
        for (int u = 0; u < 2; u++) {
            const fsdb_result *r = fsdb_results_find(rs, "gpu", k->m, k->dtype, k->l, u ? "unpack" : "pack", "");
            if (r == NULL)
                continue;
            double copy16 = 0, d2d = 0, naive = 0, cub = 0;
            for (int b = 0; b < r->nbase; b++) {
                if (strcmp(r->base[b].name, "copy16") == 0) copy16 = r->base[b].gbps;
                if (strcmp(r->base[b].name, "memcpy-d2d") == 0) d2d = r->base[b].gbps;
                if (strcmp(r->base[b].name, "naive") == 0) naive = r->base[b].gbps;
                if (strcmp(r->base[b].name, "cub") == 0) cub = r->base[b].gbps;
            }
            fprintf(f, "%-13s %-12s %5.1f %-6s %-7s %9.1f %9.1f %9.1f %9.1f %9.1f %6.2fx %6.2fx %6.2fx  %s\n",
                    k->m->name, fsdb_layout_name(k->l), (double)r->bytes / (1 << 20), k->dtype, r->op,
                    r->gbps, copy16, d2d, naive, cub, ratio(r, 0), naive > 0 ? r->gbps / naive : 0.0,
                    cub > 0 ? r->gbps / cub : 0.0, r->check);
        }
    }
    fprintf(f, "\n");
    for (int dir = 0; dir < 2; dir++) {
        const char *title = dir ? "Host -> GPU" : "GPU -> host";
        const char *pin = dir ? "h2d-pinned" : "d2h-pinned";
        const char *ops[3] = {dir ? "unpack_from_host" : "pack_to_host", dir ? "unpack_from_host" : "pack_to_host",
                              dir ? "from_bytes" : "to_bytes"};
        const char *mem[3] = {"pinned", "pageable", "pageable"};
        fprintf(f, "%s, through an fsd_context (%d CPU threads). Pinned: CUDA events (the call is\n"
                   "asynchronous); pageable, %s: host clock (blocking). x = fastserde / %s,\n"
                   "cudaMemcpyAsync of the same bytes to pinned memory in this run.\n\n",
                title, meta->threads, ops[2], pin);
        fprintf(f, "%-13s %-12s %5s %-6s %9s %9s %17s %17s %17s  %s\n", "model", "layout", "MiB", "dtype",
                dir ? "h2d pin" : "d2h pin", dir ? "h2d page" : "d2h page", "fsd pinned", "fsd pageable",
                ops[2], "check");
        fprintf(f, "%-13s %-12s %5s %-6s %9s %9s %17s %17s %17s\n", "", "", "", "", "GB/s", "GB/s",
                "GB/s         x", "GB/s         x", "GB/s         x");
        for (int i = 0; i < nk; i++) {
            const key *k = &keys[i];
            const fsdb_result *row[3];
            for (int j = 0; j < 3; j++)
                row[j] = fsdb_results_find(rs, "gpu", k->m, k->dtype, k->l, ops[j], mem[j]);
            const fsdb_result *any = row[0] ? row[0] : row[1];
            if (any == NULL)
                continue;
            fprintf(f, "%-13s %-12s %5.1f %-6s %9.1f %9.1f", k->m->name, fsdb_layout_name(k->l),
                    (double)any->bytes / (1 << 20), k->dtype, any->nbase > 0 ? any->base[0].gbps : 0.0,
                    any->nbase > 1 ? any->base[1].gbps : 0.0);
            for (int j = 0; j < 3; j++) {
                if (row[j])
                    fprintf(f, " %9.2f %6.2fx", row[j]->gbps, ratio(row[j], 0));
                else
                    fprintf(f, " %17s", "-");
            }
            fprintf(f, "  %s\n", check_of(row, 3));
        }
        fprintf(f, "\n");
    }
}

/* One line per view of four frame rows (writes, checksum on and off; reads, verifying and not)
 * beside their plain baselines: "model layout MiB dtype | base GB/s | write x | write_nocs x |
 * base GB/s | read_verify x | read x | check". */
static void frame_lines(FILE *f, const fsdb_results *rs, const char *device, const char *host_mem)
{
    key keys[512];
    const int nk = keys_of(rs, device, 1, keys, 512);
    static const char *ops[4] = {"frame_write", "frame_write_nocs", "frame_read_verify", "frame_read"};
    fprintf(f, "%-13s %-12s %5s %-6s %7s %13s %13s %7s %13s %13s  %s\n", "model", "layout", "MiB", "dtype",
            "to_host", "write", "write_nocs", "from_h", "read_verify", "read", "check");
    fprintf(f, "%-13s %-12s %5s %-6s %7s %13s %13s %7s %13s %13s\n", "", "", "", "", "GB/s", "GB/s       x",
            "GB/s       x", "GB/s", "GB/s       x", "GB/s       x");
    for (int i = 0; i < nk; i++) {
        const key *k = &keys[i];
        const fsdb_result *row[4];
        for (int j = 0; j < 4; j++)
            row[j] = fsdb_results_find(rs, device, k->m, k->dtype, k->l, ops[j], host_mem);
        if (!row[0] && !row[1] && !row[2] && !row[3])
            continue;
        fprintf(f, "%-13s %-12s %5.1f %-6s", k->m->name, fsdb_layout_name(k->l), (double)k->first->bytes / (1 << 20),
                k->dtype);
        for (int j = 0; j < 4; j++) {
            if (j == 0 || j == 2) {
                const fsdb_result *any = row[j] ? row[j] : row[j + 1];
                fprintf(f, " %7.2f", any && any->nbase ? any->base[0].gbps : 0.0);
            }
            cell(f, row[j]);
        }
        fprintf(f, "  %s\n", check_of(row, 4));
    }
    fprintf(f, "\n");
}

static void print_frames_cpu(FILE *f, const fsdb_results *rs, const fsdb_meta *meta, const fsdb_cfg *cfg)
{
    key keys[1];
    if (keys_of(rs, "cpu", 1, keys, 1) == 0)
        return;
    fprintf(f, "Frames on the CPU: fsd_frame_write / fsd_frame_read of one tensor per view through the context's\n"
               "%d threads, checksum (xxh3-1k) on and off (nocs), read verifying and not. Median of %d runs;\n"
               "GB/s = packed bytes / time (the frame's header not counted). x = the plain fsd_pack_to_host\n"
               "(to_host: writes) or fsd_unpack_from_host (from_h: reads) of the same view / the frame's time,\n"
               "interleaved in this run.\n\n",
            meta->threads, cfg->cpu_iters);
    frame_lines(f, rs, "cpu", "");
}

static void print_frames_gpu(FILE *f, const fsdb_results *rs, const fsdb_meta *meta, const fsdb_cfg *cfg)
{
    key keys[512];
    const int nk = keys_of(rs, "gpu", 1, keys, 512);
    if (nk == 0)
        return;
    fprintf(f, "Frames of CUDA tensors into device memory (fsd_frame_write, no context; it blocks): host clock,\n"
               "one call then the stream synchronised, median of %d. x = fsd_pack into device memory timed the\n"
               "same way (pack); pack-ev = fsd_pack back to back between CUDA events (the kernel alone).\n"
               "cs/nocs = frame_write against frame_write_nocs: the checksum's cost with the call's fixed costs\n"
               "(the sums back, the header up, the synchronisations) on both sides. kernel = the checksum pack\n"
               "kernel alone, back to back between CUDA events, x = against pack-ev (the access model's\n"
               "prediction for it: fastserde-bench --model, rows pack+cs).\n\n",
            cfg->gpu_iters);
    fprintf(f, "%-13s %-12s %5s %-6s %7s %7s %13s %13s %7s %13s  %s\n", "model", "layout", "MiB", "dtype",
            "pack", "pack-ev", "write", "write_nocs", "cs/nocs", "kernel", "check");
    fprintf(f, "%-13s %-12s %5s %-6s %7s %7s %13s %13s %7s %13s\n", "", "", "", "", "GB/s", "GB/s",
            "GB/s       x", "GB/s       x", "", "GB/s       x");
    for (int i = 0; i < nk; i++) {
        const key *k = &keys[i];
        const fsdb_result *row[3] = {fsdb_results_find(rs, "gpu", k->m, k->dtype, k->l, "frame_write", ""),
                                     fsdb_results_find(rs, "gpu", k->m, k->dtype, k->l, "frame_write_nocs", ""),
                                     fsdb_results_find(rs, "gpu", k->m, k->dtype, k->l, "frame_kernel", "")};
        const fsdb_result *any = row[0] ? row[0] : row[1];
        if (any == NULL)
            continue;
        fprintf(f, "%-13s %-12s %5.1f %-6s %7.1f %7.1f", k->m->name, fsdb_layout_name(k->l),
                (double)any->bytes / (1 << 20), k->dtype, base_named(any, "pack"), base_named(any, "pack-events"));
        cell(f, row[0]);
        cell(f, row[1]);
        const double nocs = base_named(row[0], "frame_write_nocs");
        fprintf(f, " %6.2fx", row[0] && nocs > 0 ? row[0]->gbps / nocs : 0.0);
        cell(f, row[2]);
        fprintf(f, "  %s\n", check_of(row, 3));
    }
    fprintf(f, "\n");
    fprintf(f, "Frames of CUDA tensors and pageable host memory, through an fsd_context (%d CPU threads): host\n"
               "clock, one call then the stream synchronised, median of %d. x = the plain fsd_pack_to_host\n"
               "(writes) or fsd_unpack_from_host (reads: a checksummed frame into the CUDA view) of the same\n"
               "view and pageable memory, interleaved in this run.\n\n",
            meta->threads, cfg->gpu_iters);
    frame_lines(f, rs, "gpu", "pageable");
}

void fsdb_print_tables(FILE *f, const fsdb_results *rs, const fsdb_meta *meta, const fsdb_cfg *cfg)
{
    print_cpu(f, rs, meta, cfg);
    print_frames_cpu(f, rs, meta, cfg);
    if (meta->gpu) {
        print_gpu(f, rs, meta, cfg);
        print_frames_gpu(f, rs, meta, cfg);
    }
    else
        fprintf(f, "GPU rows: not run. %s.\n", meta->gpu_note);
}

/* ---- JSON -------------------------------------------------------------------------------- */

static void jstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* A double as JSON (no inf or nan). */
static void jnum(FILE *f, double x)
{
    if (x != x || x > 1e300 || x < -1e300)
        fprintf(f, "null");
    else
        fprintf(f, "%.6g", x);
}

int fsdb_write_json(const char *path, const fsdb_results *rs, const fsdb_paged_results *paged,
                    const fsdb_meta *meta, const fsdb_cfg *cfg, const fsdb_model_rows *model)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return 1;
    const unsigned v = fsd_version();
    fprintf(f, "{\n  \"schema\": \"fastserde-bench/1\",\n  \"version\": \"%u.%u.%u\",\n  \"date\": ",
            v / 10000, v / 100 % 100, v % 100);
    jstr(f, meta->date);
    fprintf(f, ",\n  \"settings\": {\"cpu_iters\": %d, \"gpu_iters\": %d, \"threads\": %d, \"quick\": %s},\n",
            cfg->cpu_iters, cfg->gpu_iters, meta->threads, cfg->quick ? "true" : "false");
    fprintf(f, "  \"machine\": {\"cpu\": ");
    jstr(f, meta->cpu);
    fprintf(f, ", \"cores\": %d, \"gpu\": ", meta->cores);
    if (meta->gpu) {
        fprintf(f, "{\"name\": ");
        jstr(f, meta->gpu_name);
        fprintf(f, ", \"compute_capability\": \"%d.%d\", \"sms\": %d, \"memory_bytes\": %zu, \"l2_bytes\": %zu, "
                   "\"clock_khz\": %d, \"memory_clock_khz\": %d, \"bus_bits\": %d, \"driver\": %d, \"runtime\": %d}",
                meta->cc_major, meta->cc_minor, meta->gpu_sms, meta->gpu_mem, meta->gpu_l2,
                meta->gpu_clock_khz, meta->mem_clock_khz, meta->bus_bits, meta->driver, meta->runtime);
    } else {
        fprintf(f, "null, \"gpu_note\": ");
        jstr(f, meta->gpu_note);
    }
    fprintf(f, "},\n");
    if (model)
        fsdb_model_json(f, model);
    fprintf(f, "  \"results\": [");
    for (int i = 0; i < rs->n; i++) {
        const fsdb_result *r = &rs->r[i];
        const fsdb_model *m = r->model;
        fprintf(f, "%s\n    {\"device\": \"%s\", \"group\": \"%s\", \"model\": ", i ? "," : "", r->device,
                fsdb_is_frame_op(r->op) ? "frames" : "views");
        jstr(f, m->name);
        fprintf(f, ", \"model_title\": ");
        jstr(f, m->title);
        fprintf(f, ", \"cache_shape\": [2, %lld, %lld, %lld], \"heads\": %lld, \"head_dim\": %lld, \"dtype\": \"%s\", "
                   "\"elem_size\": %u, \"layout\": \"%s\", \"view\": ",
                (long long)m->layers, (long long)m->tokens, (long long)(m->heads * m->head_dim),
                (long long)m->heads, (long long)m->head_dim, r->dtype.name, r->dtype.size,
                fsdb_layout_name(r->layout));
        jstr(f, r->view);
        fprintf(f, ",\n     \"op\": \"%s\", \"host_mem\": \"%s\", \"timing\": \"%s\", \"threads\": %d, "
                   "\"bytes\": %zu, \"median_s\": ",
                r->op, r->host_mem, r->timing, r->threads, r->bytes);
        jnum(f, r->median_s);
        fprintf(f, ", \"gbps\": ");
        jnum(f, r->gbps);
        fprintf(f, ",\n     \"roof\": \"%s\", \"roof_gbps\": ", r->nbase ? r->base[0].name : "");
        jnum(f, r->nbase ? r->base[0].gbps : 0.0);
        fprintf(f, ", \"ratio\": ");
        jnum(f, ratio(r, 0));
        fprintf(f, ",\n     \"baselines\": {");
        for (int b = 0; b < r->nbase; b++) {
            fprintf(f, "%s\"%s\": ", b ? ", " : "", r->base[b].name);
            jnum(f, r->base[b].gbps);
        }
        fprintf(f, "}, \"ratios\": {");
        for (int b = 0; b < r->nbase; b++) {
            fprintf(f, "%s\"%s\": ", b ? ", " : "", r->base[b].name);
            jnum(f, ratio(r, b));
        }
        fprintf(f, "}, \"check\": ");
        jstr(f, r->check);
        fprintf(f, "}");
    }
    fprintf(f, "\n  ]");
    if (paged) {
        fprintf(f, ",\n  \"paged\": ");
        fsdb_write_paged_json(f, paged);
    }
    fprintf(f, "\n}\n");
    return fclose(f) != 0;
}
