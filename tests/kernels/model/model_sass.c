/* model_sass.c — cuobjdump's sm_90 SASS of this executable, and main-loop counts (model_sass.h). */
#define _GNU_SOURCE
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model_resources.h"
#include "model_sass.h"

#ifndef FSDM_TOOLS_DIR
#define FSDM_TOOLS_DIR ""
#endif

typedef struct sass_ins {
    unsigned pc;
    int branch;      /* 1: BRA with a known target                        */
    unsigned target;
    int ends_block;  /* BRA, BRX, EXIT, RET, JMP                          */
    int mem;         /* -1, else space * 4 + store * 2 ... see mem_index()  */
    int space, store, wlog;
} sass_ins;

typedef struct sass_fn {
    char *name;      /* demangled up to '(' */
    sass_ins *ins;
    int n;
} sass_fn;

static struct {
    int loaded;
    int ok;
    char why[400];
    char cuobjdump[PATH_MAX], tooldir[PATH_MAX], binary[PATH_MAX];
    sass_fn *fn;     /* kernels read so far (ins NULL: none in the binary) */
    int nfn;
} cache;

static int executable(const char *p)
{
    return p && *p && access(p, X_OK) == 0;
}

/* dir/nvidia/cu* /bin/tool, dir/bin/tool, dir/tool */
static int find_in(const char *dir, const char *tool, char *out, size_t len)
{
    if (dir == NULL || *dir == 0)
        return 0;
    static const char *const sub[] = {"nvidia/cu13/bin", "nvidia/cu12/bin", "nvidia/cuda_cuobjdump/bin",
                                      "nvidia/cuda_nvdisasm/bin", "bin", ""};
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
        snprintf(out, len, "%s/%s%s%s", dir, sub[i], *sub[i] ? "/" : "", tool);
        if (executable(out))
            return 1;
    }
    return 0;
}

static int find_tool(const char *tool, const char *env, char *out, size_t len)
{
    const char *e = getenv(env);
    if (executable(e)) {
        snprintf(out, len, "%s", e);
        return 1;
    }
    if (find_in(getenv("FSD_CUDA_TOOLS_DIR"), tool, out, len) || find_in(FSDM_TOOLS_DIR, tool, out, len))
        return 1;
    const char *path = getenv("PATH");
    if (path) {
        char buf[4096];
        snprintf(buf, sizeof buf, "%s", path);
        for (char *save = NULL, *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
            snprintf(out, len, "%s/%s", d, tool);
            if (executable(out))
                return 1;
        }
    }
    return find_in("/usr/local/cuda", tool, out, len);
}

/* "_Z15fsd_runs_kernel..." -> "fsd_runs_kernel<2, unsigned int>" through c++filt-like rules:
 * the model's C++ side does the demangling (fsdm_demangle_prefix in model_trace.cu). */
char *fsdm_demangle_prefix(const char *mangled);

static int width_log2(const char *op)
{
    if (strstr(op, ".128"))
        return 4;
    if (strstr(op, ".64"))
        return 3;
    if (strstr(op, ".U16") || strstr(op, ".S16"))
        return 1;
    if (strstr(op, ".U8") || strstr(op, ".S8"))
        return 0;
    return 2;
}

static void parse_ins(const char *text, unsigned pc, sass_ins *in)
{
    memset(in, 0, sizeof *in);
    in->pc = pc;
    in->mem = -1;
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '@') { /* predicate */
        while (*p && !isspace((unsigned char)*p))
            p++;
        while (isspace((unsigned char)*p))
            p++;
    }
    char op[64];
    size_t n = 0;
    while (p[n] && !isspace((unsigned char)p[n]) && n + 1 < sizeof op) {
        op[n] = p[n];
        n++;
    }
    op[n] = 0;
    const char *operands = p + n;
    char base[16];
    size_t b = 0;
    while (op[b] && op[b] != '.' && b + 1 < sizeof base) {
        base[b] = op[b];
        b++;
    }
    base[b] = 0;
    if (strcmp(base, "BRA") == 0) {
        in->ends_block = 1;
        const char *h = strstr(operands, "0x");
        if (h) {
            in->branch = 1;
            in->target = (unsigned)strtoul(h, NULL, 16);
        }
    } else if (strcmp(base, "BRX") == 0 || strcmp(base, "EXIT") == 0 || strcmp(base, "RET") == 0 ||
               strcmp(base, "JMP") == 0 || strcmp(base, "JMX") == 0) {
        in->ends_block = 1;
    }
    int space = -1, store = 0;
    if (strcmp(base, "LDG") == 0 || strcmp(base, "LD") == 0)
        space = 0;
    else if (strcmp(base, "STG") == 0 || strcmp(base, "ST") == 0)
        space = 0, store = 1;
    else if (strcmp(base, "LDS") == 0)
        space = 1;
    else if (strcmp(base, "STS") == 0)
        space = 1, store = 1;
    if (space >= 0) {
        in->mem = 1;
        in->space = space;
        in->store = store;
        in->wlog = width_log2(op);
    }
}

static void add_fn(const char *name, sass_ins *ins, int n)
{
    cache.fn = realloc(cache.fn, sizeof *cache.fn * (size_t)(cache.nfn + 1));
    sass_fn *f = &cache.fn[cache.nfn++];
    f->name = strdup(name);
    f->ins = ins;
    f->n = n;
}

/* Finds the tools and the binary once. */
static void load(void)
{
    cache.loaded = 1;
    if (!find_tool("cuobjdump", "CUOBJDUMP", cache.cuobjdump, sizeof cache.cuobjdump)) {
        snprintf(cache.why, sizeof cache.why,
                 "cuobjdump not found ($CUOBJDUMP, $FSD_CUDA_TOOLS_DIR, %s, PATH, /usr/local/cuda/bin; "
                 "PyPI: nvidia-cuda-cuobjdump and nvidia-cuda-nvdisasm)", *FSDM_TOOLS_DIR ? FSDM_TOOLS_DIR : "-");
        return;
    }
    char nvdisasm[PATH_MAX];
    if (!find_tool("nvdisasm", "NVDISASM", nvdisasm, sizeof nvdisasm)) {
        snprintf(cache.why, sizeof cache.why, "%s found, but not nvdisasm, which it needs for SASS "
                 "(PyPI: nvidia-cuda-nvdisasm)", cache.cuobjdump);
        return;
    }
    snprintf(cache.tooldir, sizeof cache.tooldir, "%s", nvdisasm);
    char *slash = strrchr(cache.tooldir, '/');
    if (slash)
        *slash = 0;
    const char *bin = getenv("FSDM_SASS_BINARY");
    if (bin != NULL) {
        snprintf(cache.binary, sizeof cache.binary, "%s", bin);
    } else {
        ssize_t k = readlink("/proc/self/exe", cache.binary, sizeof cache.binary - 1);
        if (k <= 0) {
            snprintf(cache.why, sizeof cache.why, "cannot read /proc/self/exe");
            return;
        }
        cache.binary[k] = 0;
    }
    cache.ok = 1;
    snprintf(cache.why, sizeof cache.why, "%s", cache.cuobjdump);
}

/* The SASS of one kernel, read from the binary on first use (NULL, *why set, when it has none). */
static const sass_fn *kernel_sass(const char *kernel, char *why, size_t why_len)
{
    for (int i = 0; i < cache.nfn; i++) {
        if (strcmp(cache.fn[i].name, kernel) == 0) {
            if (cache.fn[i].ins == NULL)
                snprintf(why, why_len, "no sm_90 SASS of %s in %s", kernel, cache.binary);
            return cache.fn[i].ins ? &cache.fn[i] : NULL;
        }
    }
    const char *mangled = NULL;
    for (int i = 0; i < fsdm_resource_count && mangled == NULL; i++) {
        char *d = fsdm_demangle_prefix(fsdm_resources[i].mangled);
        if (strcmp(d, kernel) == 0)
            mangled = fsdm_resources[i].mangled;
        free(d);
    }
    if (mangled == NULL) {
        snprintf(why, why_len, "%s is not in the ptxas table", kernel);
        return NULL;
    }
    /* One function at a time: the executable also holds CUB's kernels, slow to disassemble. */
    char cmd[3 * PATH_MAX + 1024];
    snprintf(cmd, sizeof cmd, "PATH='%s':\"$PATH\" '%s' -sass -arch sm_90 -fun '%s' '%s' 2>/dev/null",
             cache.tooldir, cache.cuobjdump, mangled, cache.binary);
    FILE *f = popen(cmd, "r");
    if (f == NULL) {
        snprintf(why, why_len, "cannot run %s", cache.cuobjdump);
        return NULL;
    }
    char line[1024];
    int in_fn = 0, done = 0;
    sass_ins *ins = NULL;
    int n = 0, cap = 0;
    while (fgets(line, sizeof line, f)) {
        if (done)
            continue; /* drain */
        if (strstr(line, "Function : ")) { /* the first copy of the function only */
            done = in_fn;
            in_fn = 1;
            continue;
        }
        unsigned pc;
        char *c = strstr(line, "/*");
        if (!in_fn || c == NULL || sscanf(c, "/*%x*/", &pc) != 1)
            continue;
        char *text = strstr(c, "*/") + 2;
        char *semi = strchr(text, ';');
        if (semi == NULL)
            continue;
        *semi = 0;
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            ins = realloc(ins, sizeof *ins * (size_t)cap);
        }
        parse_ins(text, pc, &ins[n++]);
    }
    pclose(f);
    if (n == 0) {
        free(ins);
        ins = NULL;
        snprintf(why, why_len, "no sm_90 SASS of %s in %s", kernel, cache.binary);
    }
    add_fn(kernel, ins, n);
    return ins ? &cache.fn[cache.nfn - 1] : NULL;
}

int fsdm_sass_tools(const char **why)
{
    if (!cache.loaded)
        load();
    if (why)
        *why = cache.why;
    return cache.ok;
}

static int type_count(const fsdm_sass_query *q, const sass_ins *in)
{
    return q->per_iter[in->space][in->store][in->wlog] > 0;
}

typedef struct loop {
    unsigned lo, hi; /* pc range, inclusive */
    int parent;      /* index of the innermost enclosing loop in the list, -1: the main loop */
    double abs, rel;
} loop;

int fsdm_sass_main_loop(const fsdm_sass_query *q, fsdm_sass_result *r)
{
    memset(r, 0, sizeof *r);
    if (!fsdm_sass_tools(NULL)) {
        snprintf(r->note, sizeof r->note, "no SASS: %s", cache.why);
        return -1;
    }
    const sass_fn *fn = kernel_sass(q->kernel, r->note, sizeof r->note);
    if (fn == NULL)
        return -1;
    const sass_ins *in = fn->ins;
    const int n = fn->n;
    int lw = 0;
    while ((1 << lw) < q->load_width && lw < 4)
        lw++;
    /* The main loop: the widest backward branch spanning a global load of width load_width. */
    unsigned mlo = 0, mhi = 0;
    int found = 0;
    for (int i = 0; i < n; i++) {
        if (!in[i].branch || in[i].target > in[i].pc)
            continue;
        for (int j = 0; j < n; j++) {
            if (in[j].pc < in[i].target || in[j].pc > in[i].pc)
                continue;
            if (in[j].mem > 0 && in[j].space == 0 && !in[j].store && in[j].wlog == lw) {
                if (!found || in[i].pc - in[i].target > mhi - mlo) {
                    mlo = in[i].target;
                    mhi = in[i].pc;
                    found = 1;
                }
                break;
            }
        }
    }
    if (!found) { /* straight-line kernel: all of it */
        mlo = in[0].pc;
        mhi = in[n - 1].pc;
    }
    /* Basic blocks: dead when they hold a memory instruction the trace never executed.
     * Instructions are 16 bytes apart: index = (pc - first pc) / 16. */
    char *dead = calloc((size_t)n, 1), *leader = calloc((size_t)n + 1, 1);
    for (int i = 0; i < n; i++) {
        if (in[i].branch && in[i].target >= in[0].pc) {
            unsigned t = (in[i].target - in[0].pc) / 16;
            if (t < (unsigned)n)
                leader[t] = 1;
        }
    }
    for (int s = 0; s < n;) {
        int e = s;
        while (e + 1 < n && !in[e].ends_block && !leader[e + 1])
            e++;
        int d = 0;
        for (int k = s; k <= e; k++)
            if (in[k].mem > 0 && !type_count(q, &in[k]))
                d = 1;
        for (int k = s; k <= e; k++)
            dead[k] = (char)d;
        s = e + 1;
    }
    /* Loops nested in the main loop, outermost first. */
    loop loops[256];
    int nl = 0;
    for (int i = 0; i < n && nl < 256; i++) {
        if (!in[i].branch || in[i].target > in[i].pc || in[i].target < mlo || in[i].pc > mhi)
            continue;
        if (in[i].target == mlo && in[i].pc == mhi)
            continue;
        loops[nl++] = (loop){in[i].target, in[i].pc, -1, 0, 0};
    }
    for (int a = 0; a < nl; a++) /* sort by size, largest first */
        for (int b = a + 1; b < nl; b++)
            if (loops[b].hi - loops[b].lo > loops[a].hi - loops[a].lo) {
                loop t = loops[a];
                loops[a] = loops[b];
                loops[b] = t;
            }
    for (int a = 0; a < nl; a++) {
        for (int b = a - 1; b >= 0 && loops[a].parent < 0; b--)
            if (loops[b].lo <= loops[a].lo && loops[a].hi <= loops[b].hi)
                loops[a].parent = b;
        /* trips per main-loop iteration, from the trace */
        int loads = 0, widest = 0, zero = 0, live = 0, mem = 0;
        for (int k = 0; k < n; k++) {
            if (in[k].pc < loops[a].lo || in[k].pc > loops[a].hi || in[k].mem <= 0)
                continue;
            mem++;
            if (dead[k])
                continue;
            live++;
            if (!type_count(q, &in[k]))
                zero = 1;
            if (in[k].space == 0 && !in[k].store) {
                loads++;
                widest = in[k].wlog > widest ? in[k].wlog : widest;
            }
        }
        double parent = loops[a].parent < 0 ? 1.0 : loops[loops[a].parent].abs;
        if (zero || (mem > 0 && live == 0)) /* only memory instructions the trace never ran */
            loops[a].abs = 0;
        else if (loads > 0) /* runs once per batch of exactly `loads` loads */
            loops[a].abs = loads <= FSDM_MAX_BATCH ? q->batches[widest][loads] : 0;
        else /* no global load: once per iteration of the loop around it */
            loops[a].abs = parent;
        loops[a].rel = parent > 0 ? loops[a].abs / parent : 0;
    }
    /* Live static instances of each memory instruction kind in the main loop. */
    int inst[2][2][5] = {{{0}}};
    for (int k = 0; k < n; k++)
        if (in[k].pc >= mlo && in[k].pc <= mhi && in[k].mem > 0 && !dead[k])
            inst[in[k].space][in[k].store][in[k].wlog]++;
    /* Each instruction counts as often as its block runs per main-loop iteration: a block in a
     * loop of global loads as often as that loop (batches); another block with memory
     * instructions as often as they run, the trace's executions of their kind shared evenly
     * among the kind's live instances; a block without any as often as its innermost loop. */
    double total = 0;
    int stat = 0;
    for (int s = 0; s < n;) {
        int e = s;
        while (e + 1 < n && !in[e].ends_block && !leader[e + 1])
            e++;
        if (in[s].pc < mlo || in[s].pc > mhi) {
            s = e + 1;
            continue;
        }
        stat += e - s + 1;
        if (dead[s]) {
            s = e + 1;
            continue;
        }
        int inner = -1; /* innermost loop around the block */
        for (int a = 0; a < nl; a++)
            if (loops[a].lo <= in[s].pc && in[s].pc <= loops[a].hi)
                inner = a; /* sorted outermost first */
        const double region = inner < 0 ? 1.0 : loops[inner].abs;
        int loads = 0, mems = 0;
        double by_kind = 0;
        for (int k = s; k <= e; k++) {
            if (in[k].mem <= 0)
                continue;
            mems++;
            loads += in[k].space == 0 && !in[k].store;
            by_kind += q->per_iter[in[k].space][in[k].store][in[k].wlog] /
                       inst[in[k].space][in[k].store][in[k].wlog];
        }
        double w = region;
        if (mems > 0 && loads == 0)
            w = by_kind / mems;
        total += w * (e - s + 1);
        if (getenv("FSDM_SASS_DEBUG"))
            fprintf(stderr, "sass %s: block %04x-%04x %3d instr x %.3f (loop %d, mem %d loads %d)\n", q->kernel,
                    in[s].pc, in[e].pc, e - s + 1, w, inner, mems, loads);
        s = e + 1;
    }
    free(leader);
    free(dead);
    r->found = 1;
    r->static_instructions = stat;
    r->instructions = total;
    r->nested_loops = nl;
    snprintf(r->note, sizeof r->note, "%s: %d instructions, %d nested loop%s; ~%.0f per iteration",
             found ? "main loop" : "no loop, whole kernel", stat, nl, nl == 1 ? "" : "s", total);
    return 0;
}

int fsdm_sass_available(const char **why)
{
    return fsdm_sass_tools(why);
}
