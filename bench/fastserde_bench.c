/*
 * fastserde-bench — the main job: packs and unpacks KV-cache-shaped tensors (LMCache's 256-token
 * chunks) in the views caches hand over, on the CPU and, when there is one, on the GPU. Every
 * figure is a throughput next to baselines measured in the same run on the same bytes, and
 * every operation is first checked against a naive reference.
 *
 * The readable tables go to stdout, progress to stderr, and with --json a report that
 * bench/plot.py turns into charts. Exit status: 0, or 1 when a check failed, 2 on bad usage.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "bench_paged.h"

#define MAX_SEL 16

static void usage(FILE *f)
{
    fprintf(f,
        "usage: fastserde-bench [options]\n"
        "  --quick            fewer runs per figure (3 CPU, 5 GPU): the whole run in seconds\n"
        "  --iters N          timed runs per figure (default 10 on the CPU, 20 samples on the GPU)\n"
        "  --shape LIST       models, comma-separated (default: all):\n"
        "                     llama3-8b [2,32,256,1024], llama3.1-70b [2,80,256,1024],\n"
        "                     qwen2.5-7b [2,28,256,512], llama3.2-1b [2,16,256,512],\n"
        "                     or LxTxHxD for layers x tokens x kv-heads x head-dim\n"
        "  --dtype LIST       element types (default bf16): bf16 fp16 fp32 fp64 fp8 u8 i32 i64 c128 ...\n"
        "  --layout LIST      contiguous, token-slice, head-subset, permute, transpose (default: all)\n"
        "  --device WHAT      cpu, gpu, gpu:N or all (default all: CPU rows, and GPU rows when a GPU\n"
        "                     is usable)\n"
        "  --threads N        CPU threads of the context (default 0: one per core)\n"
        "  --group LIST       views (the strided views above), paged (one chunk gathered from\n"
        "                     every layer of a paged cache), frames (one frame per view: fsd_frame_write\n"
        "                     and fsd_frame_read, checksum on and off, next to the plain pack and unpack\n"
        "                     of the same view in the same run; on a GPU into device memory too);\n"
        "                     default all three\n"
        "  --block-size LIST  tokens per block of the paged cache (default 16 for every model,\n"
        "                     and 1,64,256 too for the first one)\n"
        "  --json FILE        also write the results as JSON (for bench/plot.py)\n"
        "  --model            no timing: the memory-access model of the GPU kernel of every view of the\n"
        "                     run, pack and unpack, on an H200 (MODELED, no GPU needed); with --json,\n"
        "                     under the key \"model\" (--quick: every 8th block traced in detail)\n"
        "  --quiet            no progress on stderr\n");
}

/* Splits a comma-separated list into at most MAX_SEL items (in place). */
static int split(char *s, char **items)
{
    int n = 0;
    for (char *tok = strtok(s, ","); tok && n < MAX_SEL; tok = strtok(NULL, ","))
        items[n++] = tok;
    return n;
}

static fsdb_model custom_models[MAX_SEL];
static char custom_names[MAX_SEL][48];

static const fsdb_model *find_model(const char *name, int index)
{
    for (int i = 0; i < fsdb_model_count; i++)
        if (strcmp(fsdb_models[i].name, name) == 0)
            return &fsdb_models[i];
    long long l, t, h, d;
    char extra;
    if (sscanf(name, "%lldx%lldx%lldx%lld%c", &l, &t, &h, &d, &extra) == 4 && l > 0 && t > 1 &&
        h > 0 && d > 0) {
        snprintf(custom_names[index], sizeof custom_names[index], "%s", name);
        custom_models[index] = (fsdb_model){custom_names[index], custom_names[index], l, t, h, d};
        return &custom_models[index];
    }
    return NULL;
}

/* The paged group on the CPU (pass 0) or the GPU (pass 1): every model at the given block
 * sizes, or at FSDB_PAGED_BLOCK, and for the first model also at 1, 64 and 256 tokens. */
static int run_paged(const fsdb_cfg *cfg, int pass, fsd_context *ctx, fsdb_mtcopy *mt,
                     const fsdb_model *const *models, int nm, const int *sizes, int nsizes,
                     fsdb_paged_results *rs)
{
    static const int sweep[] = {FSDB_PAGED_BLOCK, 1, 64, 256};
    int bad = 0;
    for (int mi = 0; mi < nm; mi++) {
        const fsdb_model *m = models[mi];
        if (m->layers > 1024) {
            fprintf(stderr, "fastserde-bench: paged: %s has more than 1024 layers; skipped\n", m->name);
            continue;
        }
        const int *bs = nsizes ? sizes : sweep;
        const int nb = nsizes ? nsizes : mi == 0 ? 4 : 1;
        for (int bi = 0; bi < nb; bi++) {
            if (cfg->verbose)
                fprintf(stderr, "fastserde-bench: [%s paged] %s, blocks of %d ... ", pass ? "gpu" : "cpu",
                        m->name, bs[bi]);
            double t0 = fsdb_now();
            int b = pass ? fsdb_run_paged_gpu(cfg, m, bs[bi], rs)
                         : fsdb_run_paged_cpu(cfg, ctx, mt, m, bs[bi], rs);
            if (cfg->verbose)
                fprintf(stderr, "%.1f s%s\n", fsdb_now() - t0, b ? "  CHECK FAILED" : "");
            bad |= b;
        }
    }
    return bad;
}

/* The views group (frames 0) or the frames group (frames 1) on the CPU (pass 0) or the GPU
 * (pass 1): every model x dtype x layout selected. */
static int run_views(const fsdb_cfg *cfg, int pass, int frames, fsd_context *ctx, fsdb_mtcopy *mt,
                     const fsdb_model *const *models, int nm, const fsdb_dtype *dtypes, int nd,
                     const fsdb_layout *layouts, int nl, fsdb_results *rs)
{
    int bad = 0, done = 0;
    for (int mi = 0; mi < nm; mi++) {
        for (int di = 0; di < nd; di++) {
            for (int li = 0; li < nl; li++) {
                const fsdb_model *m = models[mi];
                const fsdb_dtype *dt = &dtypes[di];
                const fsdb_layout l = layouts[li];
                fsdb_view view;
                fsdb_view_kv(m, l, dt->size, &view);
                if (cfg->verbose)
                    fprintf(stderr, "fastserde-bench: [%s%s %d/%d] %s %s %s (%.1f MiB) ... ",
                            pass ? "gpu" : "cpu", frames ? " frames" : "", ++done, nm * nd * nl, m->name,
                            dt->name, fsdb_layout_name(l), (double)view.packed_bytes / (1 << 20));
                const double t0 = fsdb_now();
                int b;
                if (frames)
                    b = pass == 0 ? fsdb_run_frames_cpu(cfg, ctx, m, l, dt, rs)
                                  : fsdb_run_frames_gpu(cfg, ctx, m, l, dt, rs);
                else
                    b = pass == 0 ? fsdb_run_cpu(cfg, ctx, mt, m, l, dt, rs)
                                  : fsdb_run_gpu(cfg, ctx, m, l, dt, rs);
                bad |= b;
                if (cfg->verbose)
                    fprintf(stderr, "%.1f s%s\n", fsdb_now() - t0, b ? "  CHECK FAILED" : "");
            }
        }
    }
    return bad;
}

/* --model: the access model of every view, no timing, no GPU. */
static int run_model(const fsdb_cfg *cfg, const fsdb_model *const *models, int nm, const fsdb_dtype *dtypes,
                     int nd, const fsdb_layout *layouts, int nl, int views, int paged, const char *json)
{
    fsdb_model_rows rows = {0};
    int bad = 0, done = 0;
    const double t_start = fsdb_now();
    if (!views)
        nd = 0;
    for (int mi = 0; mi < nm; mi++) {
        if (paged && models[mi]->layers <= 1024) {
            if (cfg->verbose)
                fprintf(stderr, "fastserde-bench: [model] %s paged gather/scatter ... ", models[mi]->name);
            const double t0 = fsdb_now();
            bad |= fsdb_model_paged(cfg, models[mi], FSDB_PAGED_BLOCK, &rows);
            if (cfg->verbose)
                fprintf(stderr, "%.1f s\n", fsdb_now() - t0);
        }
        for (int di = 0; di < nd; di++)
            for (int li = 0; li < nl; li++) {
                if (cfg->verbose)
                    fprintf(stderr, "fastserde-bench: [model %d/%d] %s %s %s ... ", ++done, nm * nd * nl,
                            models[mi]->name, dtypes[di].name, fsdb_layout_name(layouts[li]));
                const double t0 = fsdb_now();
                bad |= fsdb_model_view(cfg, models[mi], layouts[li], &dtypes[di], &rows);
                if (cfg->verbose)
                    fprintf(stderr, "%.1f s\n", fsdb_now() - t0);
            }
    }
    if (cfg->verbose)
        fprintf(stderr, "fastserde-bench: model done in %.1f s\n", fsdb_now() - t_start);
    const unsigned v = fsd_version();
    printf("fastserde %u.%u.%u: the GPU kernels of LMCache's KV-cache chunks (256 tokens) in the views\n"
           "caches hand over, modeled without a GPU.\n\n", v / 10000, v / 100 % 100, v % 100);
    fsdb_model_print(stdout, &rows);
    if (json) {
        fsdb_results rs = {0};
        fsdb_meta meta;
        memset(&meta, 0, sizeof meta);
        time_t now = time(NULL);
        strftime(meta.date, sizeof meta.date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
        fsdb_cpu_name(meta.cpu, sizeof meta.cpu);
        meta.cores = fsdb_cpu_count();
        snprintf(meta.gpu_note, sizeof meta.gpu_note, "--model: no timing, the modeled table only");
        if (fsdb_write_json(json, &rs, NULL, &meta, cfg, &rows)) {
            fprintf(stderr, "fastserde-bench: cannot write %s\n", json);
            bad = 1;
        } else if (cfg->verbose) {
            fprintf(stderr, "fastserde-bench: wrote %s\n", json);
        }
    }
    free(rows.r);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    fsdb_cfg cfg = {10, 20, 0, 0, 1};
    int iters = 0, model = 0;
    const char *json = NULL, *device = "all";
    char *shape_arg = NULL, *dtype_arg = NULL, *layout_arg = NULL, *group_arg = NULL, *bs_arg = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (strcmp(a, "--quick") == 0)
            cfg.quick = 1;
        else if (strcmp(a, "--quiet") == 0)
            cfg.verbose = 0;
        else if (strcmp(a, "--model") == 0)
            model = 1;
        else if (strcmp(a, "--iters") == 0 && has)
            iters = atoi(argv[++i]);
        else if (strcmp(a, "--threads") == 0 && has)
            cfg.threads = atoi(argv[++i]);
        else if (strcmp(a, "--json") == 0 && has)
            json = argv[++i];
        else if (strcmp(a, "--shape") == 0 && has)
            shape_arg = argv[++i];
        else if (strcmp(a, "--dtype") == 0 && has)
            dtype_arg = argv[++i];
        else if (strcmp(a, "--layout") == 0 && has)
            layout_arg = argv[++i];
        else if (strcmp(a, "--device") == 0 && has)
            device = argv[++i];
        else if (strcmp(a, "--group") == 0 && has)
            group_arg = argv[++i];
        else if (strcmp(a, "--block-size") == 0 && has)
            bs_arg = argv[++i];
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "fastserde-bench: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (cfg.quick) {
        cfg.cpu_iters = 3;
        cfg.gpu_iters = 5;
    }
    if (iters > 0)
        cfg.cpu_iters = cfg.gpu_iters = iters;
    if (cfg.threads < 0) {
        fprintf(stderr, "fastserde-bench: --threads must be >= 0\n");
        return 2;
    }

    /* Selections. */
    const fsdb_model *models[MAX_SEL];
    int nm = 0;
    if (shape_arg && strcmp(shape_arg, "all") != 0) {
        char *items[MAX_SEL];
        int n = split(shape_arg, items);
        for (int i = 0; i < n; i++) {
            if ((models[nm] = find_model(items[i], nm)) == NULL) {
                fprintf(stderr, "fastserde-bench: unknown shape '%s'\n", items[i]);
                return 2;
            }
            nm++;
        }
    } else {
        for (int i = 0; i < fsdb_model_count; i++)
            models[nm++] = &fsdb_models[i];
    }
    fsdb_dtype dtypes[MAX_SEL];
    int nd = 0;
    {
        char def[] = "bf16";
        char *items[MAX_SEL];
        int n = split(dtype_arg ? dtype_arg : def, items);
        for (int i = 0; i < n; i++) {
            fsdb_dtype *d = &dtypes[nd];
            snprintf(d->name, sizeof d->name, "%s", items[i]);
            int size = fsdb_dtype_parse(items[i], &d->dl.code, &d->dl.bits);
            if (size == 0) {
                fprintf(stderr, "fastserde-bench: unknown dtype '%s'\n", items[i]);
                return 2;
            }
            d->dl.lanes = 1;
            d->size = (uint32_t)size;
            nd++;
        }
    }
    fsdb_layout layouts[FSDB_LAYOUT_COUNT];
    int nl = 0;
    if (layout_arg && strcmp(layout_arg, "all") != 0) {
        char *items[MAX_SEL];
        int n = split(layout_arg, items);
        for (int i = 0; i < n && nl < FSDB_LAYOUT_COUNT; i++) {
            if ((layouts[nl++] = fsdb_layout_parse(items[i])) == FSDB_LAYOUT_COUNT) {
                fprintf(stderr, "fastserde-bench: unknown layout '%s'\n", items[i]);
                return 2;
            }
        }
    } else {
        for (int i = 0; i < FSDB_LAYOUT_COUNT; i++)
            layouts[nl++] = (fsdb_layout)i;
    }
    int want_views = 1, want_paged = 1, want_frames = 1;
    if (group_arg) {
        char *items[MAX_SEL];
        int n = split(group_arg, items);
        want_views = want_paged = want_frames = 0;
        for (int i = 0; i < n; i++) {
            if (strcmp(items[i], "views") == 0)
                want_views = 1;
            else if (strcmp(items[i], "paged") == 0)
                want_paged = 1;
            else if (strcmp(items[i], "frames") == 0)
                want_frames = 1;
            else {
                fprintf(stderr, "fastserde-bench: unknown group '%s' (views, paged, frames)\n", items[i]);
                return 2;
            }
        }
    }
    int block_sizes[MAX_SEL], nbs = 0;
    if (bs_arg) {
        char *items[MAX_SEL];
        int n = split(bs_arg, items);
        for (int i = 0; i < n; i++) {
            int b = atoi(items[i]);
            if (b < 1 || b > 4096) {
                fprintf(stderr, "fastserde-bench: block size '%s' is not in 1..4096\n", items[i]);
                return 2;
            }
            block_sizes[nbs++] = b;
        }
    }
    int want_cpu = 1, want_gpu = 1, gpu_dev = 0, gpu_required = 0;
    if (strcmp(device, "cpu") == 0) {
        want_gpu = 0;
    } else if (strncmp(device, "gpu", 3) == 0) {
        want_cpu = 0;
        gpu_required = 1;
        if (device[3] == ':')
            gpu_dev = atoi(device + 4);
        else if (device[3] != 0) {
            fprintf(stderr, "fastserde-bench: --device cpu, gpu, gpu:N or all\n");
            return 2;
        }
    } else if (strcmp(device, "all") != 0) {
        fprintf(stderr, "fastserde-bench: --device cpu, gpu, gpu:N or all\n");
        return 2;
    }

    if (model)
        return run_model(&cfg, models, nm, dtypes, nd, layouts, nl, want_views, want_paged, json);

    /* The machine. */
    fsdb_meta meta;
    memset(&meta, 0, sizeof meta);
    time_t now = time(NULL);
    strftime(meta.date, sizeof meta.date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    fsdb_cpu_name(meta.cpu, sizeof meta.cpu);
    meta.cores = fsdb_cpu_count();
    int gpu = 0;
    if (want_gpu)
        gpu = fsdb_gpu_probe(gpu_dev, &meta);
    else
        snprintf(meta.gpu_note, sizeof meta.gpu_note, "--device cpu");
    if (gpu_required && !gpu) {
        fprintf(stderr, "fastserde-bench: %s.\n", meta.gpu_note);
        return 1;
    }

    fsd_context_config cc = FSD_CONTEXT_CONFIG_INIT;
    cc.cpu_threads = cfg.threads;
    fsd_context *ctx = NULL;
    if (fsdb_check_status(fsd_context_create(&ctx, &cc), "fsd_context_create"))
        return 1;
    fsd_context_usage use;
    fsd_context_memory(ctx, &use);
    meta.threads = use.cpu_threads;
    fsdb_mtcopy *mt = fsdb_mtcopy_create(use.cpu_threads);

    const unsigned v = fsd_version();
    printf("fastserde %u.%u.%u: pack/unpack of KV-cache chunks (LMCache shapes, 256 tokens) in the\n"
           "views caches hand over; every figure next to baselines measured in this run.\n\n",
           v / 10000, v / 100 % 100, v % 100);
    fflush(stdout);

    fsdb_results rs = {0};
    fsdb_paged_results paged = {0};
    int bad = 0;
    double t_start = fsdb_now();
    for (int pass = 0; pass < 2; pass++) {
        if ((pass == 0 && !want_cpu) || (pass == 1 && !gpu))
            continue;
        if (want_paged)
            bad |= run_paged(&cfg, pass, ctx, mt, models, nm, block_sizes, nbs, &paged);
        /* views, then frames: gpu-check.sh's ncu profiles the first pack and unpack launches of
         * a GPU run, the views group's checks */
        if (want_views)
            bad |= run_views(&cfg, pass, 0, ctx, mt, models, nm, dtypes, nd, layouts, nl, &rs);
        if (want_frames)
            bad |= run_views(&cfg, pass, 1, ctx, mt, models, nm, dtypes, nd, layouts, nl, &rs);
    }
    if (cfg.verbose)
        fprintf(stderr, "fastserde-bench: done in %.1f s\n", fsdb_now() - t_start);

    if (want_views || want_frames)
        fsdb_print_tables(stdout, &rs, &meta, &cfg);
    fsdb_print_paged(stdout, &paged, gpu, meta.gpu_note);
    if (bad)
        printf("\nSOME CHECKS FAILED: see the check column and the messages on stderr.\n");
    if (json) {
        if (fsdb_write_json(json, &rs, &paged, &meta, &cfg, NULL)) {
            fprintf(stderr, "fastserde-bench: cannot write %s\n", json);
            bad = 1;
        } else if (cfg.verbose) {
            fprintf(stderr, "fastserde-bench: wrote %s\n", json);
        }
    }
    free(rs.r);
    free(paged.r);
    fsdb_mtcopy_destroy(mt);
    fsd_context_destroy(ctx);
    return bad ? 1 : 0;
}
