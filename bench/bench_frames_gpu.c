/*
 * bench_frames_gpu.c — the GPU rows of fastserde-bench's frames group (bench_frames.c says what
 * the group is), C11 over the CUDA runtime API. The view as a CUDA tensor; buffer sets over at
 * least 4 x L2, as bench_gpu.c.
 *
 *   - Into device memory, no context, on a stream: frame_write and frame_write_nocs against
 *     fsd_pack into device memory (the real-GPU measure of the checksum pack kernel, with the
 *     call's fixed costs). fsd_frame_write of CUDA tensors blocks (the pack kernel, the
 *     checksum sums back to the host, the header up, the stream synchronised), so these rows
 *     and their base[0] "pack" are timed alike: one call, then cudaStreamSynchronize, on the
 *     host clock ("wall"). Further bases: "pack-events" (fsd_pack back to back between CUDA
 *     events: the kernel alone, as the views group's GPU pack row) and, for frame_write,
 *     "frame_write_nocs" (the checksum's cost with the same fixed costs on both sides).
 *   - The checksum pack kernel alone (fsd_gpu_pack_checksum, internal), back to back between
 *     CUDA events into device memory, against pack-events: "frame_kernel", the real-GPU figure
 *     of what the access model predicts for the rows pack+cs (fastserde-bench --model).
 *     Checked first: its bytes, and its S against the CPU's (fsd_frame_sum).
 *   - Through the context, pageable host memory (host_mem "pageable"): frame_write and
 *     frame_write_nocs against fsd_pack_to_host into the same pageable memory;
 *     frame_read_verify and frame_read (a checksummed frame in pageable memory into the CUDA
 *     view) against fsd_unpack_from_host. Host clock, the stream synchronised after each call.
 * The wall-timed calls are interleaved as the CPU rows are.
 *
 * Checks before timing, as on the CPU, and every frame the GPU path writes must equal, byte for
 * byte, the CPU's frame of the same view (its checksum included).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "bench_cuda.h"
#include "bench_frames.h"
#include "frame.h"        /* fsd_frame_sum: internal, as fastserde-bench links fastserde_internal */
#include "gpu_dispatch.h" /* fsd_gpu_pack_checksum */

#define GPU_SETS 16

typedef struct gpu_frames {
    fsdb_view v;
    int device, sets;
    char *storage[GPU_SETS], *packed[GPU_SETS], *frame[GPU_SETS], *frame_nocs[GPU_SETS]; /* device */
    DLTensor t[GPU_SETS];
    unsigned char *page_packed, *page_frame, *page_frame_nocs, *page_read; /* pageable host memory */
    fsd_frame *read_frame; /* page_read (a checksummed frame), opened: what the reads read */
    fsd_frame_options cs, nocs;
    size_t size, size_nocs;
    uint64_t *sum;         /* device memory: S of frame_kernel's launches */
    cudaStream_t s;
    fsd_context *ctx;
    int failed;
} gpu_frames;

enum {
    G_PACK,             /* fsd_pack into device memory                                  */
    G_WRITE,            /* fsd_frame_write into device memory, no context                */
    G_WRITE_NOCS,
    G_TO_HOST,          /* fsd_pack_to_host into pageable memory                         */
    G_WRITE_PAGE,       /* fsd_frame_write through the context into pageable memory      */
    G_WRITE_PAGE_NOCS,
    G_FROM_HOST,        /* fsd_unpack_from_host from pageable memory                     */
    G_READ_VERIFY,      /* fsd_frame_read of the pageable frame into the CUDA view       */
    G_READ,
    G_COUNT
};

/* Enqueues (fsd_pack) or runs (the blocking calls) operation op on set k. */
static void gpu_enqueue(gpu_frames *g, int op, int k)
{
    const size_t n = g->v.packed_bytes;
    const fsd_frame_tensor ft = {FSDB_FRAME_TENSOR, &g->t[k]};
    fsd_context *ctx = g->ctx;
    switch (op) {
    case G_PACK: g->failed |= fsdb_check_status(fsd_pack(&g->t[k], g->packed[k], n, g->s), "fsd_pack"); break;
    case G_WRITE:
        g->failed |= fsdb_check_status(fsd_frame_write(NULL, &ft, 1, &g->cs, g->frame[k], g->size, g->s),
                                       "fsd_frame_write (device)");
        break;
    case G_WRITE_NOCS:
        g->failed |= fsdb_check_status(
            fsd_frame_write(NULL, &ft, 1, &g->nocs, g->frame_nocs[k], g->size_nocs, g->s),
            "fsd_frame_write (device, no checksum)");
        break;
    case G_TO_HOST:
        g->failed |= fsdb_check_status(fsd_pack_to_host(ctx, &g->t[k], g->page_packed, n, g->s),
                                       "fsd_pack_to_host");
        break;
    case G_WRITE_PAGE:
        g->failed |= fsdb_check_status(fsd_frame_write(ctx, &ft, 1, &g->cs, g->page_frame, g->size, g->s),
                                       "fsd_frame_write (pageable)");
        break;
    case G_WRITE_PAGE_NOCS:
        g->failed |= fsdb_check_status(
            fsd_frame_write(ctx, &ft, 1, &g->nocs, g->page_frame_nocs, g->size_nocs, g->s),
            "fsd_frame_write (pageable, no checksum)");
        break;
    case G_FROM_HOST:
        g->failed |= fsdb_check_status(fsd_unpack_from_host(ctx, g->page_packed, n, &g->t[k], g->s),
                                       "fsd_unpack_from_host");
        break;
    default: /* G_READ_VERIFY, G_READ */
        g->failed |= fsdb_check_status(
            fsd_frame_read(ctx, g->read_frame, 0, &g->t[k], op == G_READ_VERIFY, g->s), "fsd_frame_read");
        break;
    }
}

/* One call, then the stream synchronised: the host-clock ("wall") rows. */
static void gpu_op_sync(void *arg, int op, int k)
{
    gpu_frames *g = arg;
    gpu_enqueue(g, op, k);
    CU(cudaStreamSynchronize(g->s));
}

/* gpu_op_sync for a check: 1 when the call failed (g->failed set too; stderr says why). */
static int check_call(gpu_frames *g, int op, int k)
{
    const int before = g->failed;
    g->failed = 0;
    gpu_op_sync(g, op, k);
    const int failed = g->failed;
    g->failed |= before;
    return failed;
}

static void enqueue_pack(void *arg, int k)
{
    gpu_enqueue(arg, G_PACK, k);
}

/* The checksum pack kernel of set k into its packed buffer, S added to g->sum. */
static void enqueue_pack_checksum(void *arg, int k)
{
    gpu_frames *g = arg;
    fsd_layout lay;
    fsd_status st = fsd_layout_for_pack(&g->t[k], g->packed[k], g->v.packed_bytes, &lay);
    if (st == FSD_SUCCESS)
        st = fsd_gpu_pack_checksum(&lay, g->packed[k], g->sum, g->s);
    g->failed |= fsdb_check_status(st, "fsd_gpu_pack_checksum");
}


typedef struct gpu_ref {
    unsigned char *storage;     /* the pattern uploaded to every set                         */
    unsigned char *ref;         /* naive pack of storage                                     */
    unsigned char *expect;      /* storage of 0xA5 after a naive unpack of ref                */
    unsigned char *frame[2];    /* the CPU's frames of the same view: [0] checksum, [1] none */
    unsigned char *out, *scratch; /* max(storage, frame) bytes each                          */
} gpu_ref;

/* frame_kernel once on set 0 from S = 0: the packed bytes and S as the CPU's. */
static void check_kernel(gpu_frames *g, const gpu_ref *h, char *why)
{
    const size_t n = g->v.packed_bytes;
    const int before = g->failed;
    g->failed = 0;
    CU(cudaMemset(g->packed[0], 0, n));
    CU(cudaMemset(g->sum, 0, sizeof *g->sum));
    CU(cudaDeviceSynchronize());
    enqueue_pack_checksum(g, 0);
    CU(cudaStreamSynchronize(g->s));
    uint64_t got = 0;
    CU(cudaMemcpy(h->out, g->packed[0], n, cudaMemcpyDeviceToHost));
    CU(cudaMemcpy(&got, g->sum, sizeof got, cudaMemcpyDeviceToHost));
    if (g->failed)
        snprintf(why, 64, "the call failed");
    else if (memcmp(h->out, h->ref, n) != 0)
        snprintf(why, 64, "packed bytes differ");
    else if (got != fsd_frame_sum(NULL, (const char *)h->ref, n))
        snprintf(why, 64, "S differs from the CPU's");
    g->failed |= before;
}

/* Checks a frame the GPU path wrote (now in host memory at got): equal to the CPU's frame of
 * the same view, and as fsdb_frame_check. */
static void check_gpu_frame(const gpu_frames *g, const gpu_ref *h, const unsigned char *got, int nocs,
                            char *why)
{
    const size_t size = nocs ? g->size_nocs : g->size;
    if (memcmp(got, h->frame[nocs], size) != 0)
        snprintf(why, 64, "frame differs from the CPU's");
    else
        fsdb_frame_check(got, size, h->ref, g->v.packed_bytes, !nocs, NULL, why, 64);
}

/* Runs a read (op) into set 0's storage filled with 0xA5, compares the whole storage with
 * expect, then restores set 0. */
static void check_gpu_read(gpu_frames *g, const gpu_ref *h, int op, char *why)
{
    const size_t sb = g->v.storage_bytes;
    CU(cudaMemset(g->storage[0], 0xA5, sb));
    CU(cudaDeviceSynchronize());
    const int failed = check_call(g, op, 0);
    CU(cudaMemcpy(h->out, g->storage[0], sb, cudaMemcpyDeviceToHost));
    if (failed)
        snprintf(why, 64, "the call failed");
    else if (memcmp(h->out, h->expect, sb) != 0)
        snprintf(why, 64, "%s", op == G_FROM_HOST ? "unpack_from_host" : "read-back");
    CU(cudaMemcpy(g->storage[0], h->storage, sb, cudaMemcpyHostToDevice));
}

/* The CPU's frames of the view (h->frame[0] with a checksum, h->frame[1] without), checked as
 * fsdb_frame_check: the reference of every frame the GPU path writes and the frame the reads read.
 * why[nocs]: what is wrong ("" when right). */
static void make_cpu_frames(gpu_frames *g, const gpu_ref *h, char why[2][64])
{
    DLTensor ht = fsdb_view_tensor(&g->v, h->storage, (DLDevice){kDLCPU, 0}, g->t[0].dtype);
    const fsd_frame_tensor ft = {FSDB_FRAME_TENSOR, &ht};
    for (int nocs = 0; nocs < 2; nocs++) {
        const size_t size = nocs ? g->size_nocs : g->size;
        memset(h->frame[nocs], 0, size);
        g->failed |= fsdb_check_status(fsd_frame_write(NULL, &ft, 1, nocs ? &g->nocs : &g->cs, h->frame[nocs],
                                                       size, NULL), "fsd_frame_write (CPU reference)");
        fsdb_frame_check(h->frame[nocs], size, h->ref, g->v.packed_bytes, !nocs, h->scratch, why[nocs], 64);
    }
}

/* Checks every operation once on set 0 (cpu_why: make_cpu_frames' findings). why[op]: what is wrong
 * ("" when right). */
static void gpu_check(gpu_frames *g, const gpu_ref *h, char cpu_why[2][64], char why[G_COUNT][64])
{
    const size_t n = g->v.packed_bytes;
    for (int op = 0; op < G_COUNT; op++)
        why[op][0] = 0;
    /* A wrong CPU frame marks the rows that compare with it or read it. */
    static const int on_cs[] = {G_WRITE, G_WRITE_PAGE, G_READ_VERIFY, G_READ};
    static const int on_nocs[] = {G_WRITE_NOCS, G_WRITE_PAGE_NOCS};
    for (size_t i = 0; cpu_why[0][0] && i < sizeof on_cs / sizeof on_cs[0]; i++)
        snprintf(why[on_cs[i]], 64, "CPU frame: %.40s", cpu_why[0]);
    for (size_t i = 0; cpu_why[1][0] && i < sizeof on_nocs / sizeof on_nocs[0]; i++)
        snprintf(why[on_nocs[i]], 64, "CPU frame: %.40s", cpu_why[1]);

    /* Device memory. */
    CU(cudaMemset(g->packed[0], 0, n));
    CU(cudaMemset(g->frame[0], 0, g->size));
    CU(cudaMemset(g->frame_nocs[0], 0, g->size_nocs));
    CU(cudaDeviceSynchronize());
    const int pack_failed = check_call(g, G_PACK, 0);
    CU(cudaMemcpy(h->out, g->packed[0], n, cudaMemcpyDeviceToHost));
    if (pack_failed || memcmp(h->out, h->ref, n) != 0)
        snprintf(why[G_PACK], 64, "pack");
    for (int nocs = 0; nocs < 2; nocs++) {
        const int op = nocs ? G_WRITE_NOCS : G_WRITE;
        const int failed = check_call(g, op, 0);
        CU(cudaMemcpy(h->out, nocs ? g->frame_nocs[0] : g->frame[0], nocs ? g->size_nocs : g->size,
                      cudaMemcpyDeviceToHost));
        if (failed)
            snprintf(why[op], 64, "the call failed");
        else if (!why[op][0])
            check_gpu_frame(g, h, h->out, nocs, why[op]);
    }

    /* Pageable host memory, through the context. */
    memset(g->page_packed, 0, n);
    memset(g->page_frame, 0, g->size);
    memset(g->page_frame_nocs, 0, g->size_nocs);
    if (check_call(g, G_TO_HOST, 0) || memcmp(g->page_packed, h->ref, n) != 0)
        snprintf(why[G_TO_HOST], 64, "pack_to_host");
    for (int nocs = 0; nocs < 2; nocs++) {
        const int op = nocs ? G_WRITE_PAGE_NOCS : G_WRITE_PAGE;
        if (check_call(g, op, 0))
            snprintf(why[op], 64, "the call failed");
        else if (!why[op][0])
            check_gpu_frame(g, h, nocs ? g->page_frame_nocs : g->page_frame, nocs, why[op]);
    }

    /* Reads: the CPU's checksummed frame, in pageable memory, into the CUDA view. */
    memcpy(g->page_packed, h->ref, n);
    check_gpu_read(g, h, G_FROM_HOST, why[G_FROM_HOST]);
    for (int op = G_READ_VERIFY; op <= G_READ; op++) {
        if (g->read_frame == NULL)
            snprintf(why[op], 64, "fsd_frame_open");
        else if (!why[op][0])
            check_gpu_read(g, h, op, why[op]);
    }
}

int fsdb_run_frames_gpu(const fsdb_cfg *cfg, fsd_context *ctx, const fsdb_model *m, fsdb_layout l,
                        const fsdb_dtype *dt, fsdb_results *rs)
{
    gpu_frames g;
    memset(&g, 0, sizeof g);
    fsdb_view_kv(m, l, dt->size, &g.v);
    g.ctx = ctx;
    fsdb_frame_options_pair(&g.cs, &g.nocs);
    CU(cudaGetDevice(&g.device));
    const size_t n = g.v.packed_bytes, sb = g.v.storage_bytes;
    {
        /* The frame's size does not depend on where the tensor lives. */
        DLTensor t0 = fsdb_view_tensor(&g.v, NULL, (DLDevice){kDLCPU, 0}, dt->dl);
        const fsd_frame_tensor ft0 = {FSDB_FRAME_TENSOR, &t0};
        if (fsdb_check_status(fsd_frame_size(&ft0, 1, &g.cs, &g.size), "fsd_frame_size") ||
            fsdb_check_status(fsd_frame_size(&ft0, 1, &g.nocs, &g.size_nocs), "fsd_frame_size"))
            return 1;
    }
    CU(cudaStreamCreate(&g.s));
    g.sets = fsdb_gpu_sets(g.device, sb + n + g.size + g.size_nocs, GPU_SETS);

    const size_t big = sb > g.size ? sb : g.size;
    gpu_ref h;
    h.storage = fsdb_frame_xmalloc(sb);
    h.ref = fsdb_frame_xmalloc(n);
    h.expect = fsdb_frame_xmalloc(sb);
    h.frame[0] = fsdb_frame_xmalloc(g.size);
    h.frame[1] = fsdb_frame_xmalloc(g.size_nocs);
    h.out = fsdb_frame_xmalloc(big);
    h.scratch = fsdb_frame_xmalloc(big);
    fsdb_view_references(&g.v, 43u, h.storage, h.ref, h.expect);

    for (int k = 0; k < g.sets; k++) {
        CU(cudaMalloc((void **)&g.storage[k], sb));
        CU(cudaMalloc((void **)&g.packed[k], n));
        CU(cudaMalloc((void **)&g.frame[k], g.size));
        CU(cudaMalloc((void **)&g.frame_nocs[k], g.size_nocs));
        CU(cudaMemcpy(g.storage[k], h.storage, sb, cudaMemcpyHostToDevice));
        g.t[k] = fsdb_view_tensor(&g.v, g.storage[k], (DLDevice){kDLCUDA, g.device}, dt->dl);
    }
    g.page_packed = fsdb_frame_xmalloc(n);
    g.page_frame = fsdb_frame_xmalloc(g.size);
    g.page_frame_nocs = fsdb_frame_xmalloc(g.size_nocs);
    g.page_read = fsdb_frame_xmalloc(g.size);

    /* The CPU's frames; the checksummed one, in pageable memory, is what the reads read. */
    char why[G_COUNT][64], cpu_why[2][64];
    make_cpu_frames(&g, &h, cpu_why);
    memcpy(g.page_read, h.frame[0], g.size);
    if (fsdb_check_status(fsd_frame_open(g.page_read, g.size, &g.read_frame), "fsd_frame_open"))
        g.failed = 1;
    gpu_check(&g, &h, cpu_why, why);
    char kernel_why[64] = "";
    CU(cudaMalloc((void **)&g.sum, sizeof *g.sum));
    check_kernel(&g, &h, kernel_why);

    /* Timing: fsd_pack with CUDA events (the kernel alone), then every call with the host
     * clock, interleaved. */
    const int it = cfg->gpu_iters;
    double t[G_COUNT] = {0}, t_pack_events = 0, t_kernel = 0;
    if (!g.failed) {
        t_pack_events = fsdb_time_events(g.s, enqueue_pack, &g, g.sets, it);
        if (!kernel_why[0])
            t_kernel = fsdb_time_events(g.s, enqueue_pack_checksum, &g, g.sets, it);
        static const int ops[G_COUNT] = {G_PACK,       G_WRITE,           G_WRITE_NOCS,
                                         G_TO_HOST,    G_WRITE_PAGE,      G_WRITE_PAGE_NOCS,
                                         G_FROM_HOST,  G_READ_VERIFY,     G_READ};
        fsdb_frame_time(gpu_op_sync, &g, ops, G_COUNT, g.sets, it, t);
    }
    fsd_context_usage use;
    const int threads = fsd_context_memory(ctx, &use) == FSD_SUCCESS ? use.cpu_threads : 0;
    static const struct {
        int op, base, nocs; /* nocs: the op of the same row without checksum / verification (0: none) */
        const char *name, *mem;
    } rows[] = {
        {G_WRITE, G_PACK, G_WRITE_NOCS, "frame_write", ""},
        {G_WRITE_NOCS, G_PACK, 0, "frame_write_nocs", ""},
        {G_WRITE_PAGE, G_TO_HOST, G_WRITE_PAGE_NOCS, "frame_write", "pageable"},
        {G_WRITE_PAGE_NOCS, G_TO_HOST, 0, "frame_write_nocs", "pageable"},
        {G_READ_VERIFY, G_FROM_HOST, G_READ, "frame_read_verify", "pageable"},
        {G_READ, G_FROM_HOST, 0, "frame_read", "pageable"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const int op = rows[i].op, base = rows[i].base, dev = rows[i].mem[0] == 0;
        fsdb_result *r = fsdb_frame_row(rs, "gpu", m, l, dt, &g.v, rows[i].name, rows[i].mem, "wall",
                                 dev ? 0 : threads, t[op]);
        fsdb_result_base(r, base == G_PACK ? "pack" : base == G_TO_HOST ? "pack_to_host" : "unpack_from_host",
                         fsdb_frame_gbps(n, t[base]));
        if (dev)
            fsdb_result_base(r, "pack-events", fsdb_frame_gbps(n, t_pack_events));
        if (rows[i].nocs)
            fsdb_result_base(r, rows[i].nocs == G_READ ? "frame_read" : "frame_write_nocs",
                             fsdb_frame_gbps(n, t[rows[i].nocs]));
        const char *bad_base = why[base][0] ? r->base[0].name : NULL;
        fsdb_frame_set_check(r, why[op], g.failed, bad_base);
    }

    /* The kernel alone: S accumulates over the timed launches (nothing reads it). */
    fsdb_result *kr = fsdb_frame_row(rs, "gpu", m, l, dt, &g.v, "frame_kernel", "", "cuda-events", 0, t_kernel);
    fsdb_result_base(kr, "pack-events", fsdb_frame_gbps(n, t_pack_events));
    fsdb_frame_set_check(kr, kernel_why, g.failed, NULL);

    int bad = g.failed || kernel_why[0] != 0;
    for (int op = 0; op < G_COUNT; op++)
        bad |= why[op][0] != 0;
    fsd_frame_close(g.read_frame);
    for (int k = 0; k < g.sets; k++) {
        CU(cudaFree(g.storage[k]));
        CU(cudaFree(g.packed[k]));
        CU(cudaFree(g.frame[k]));
        CU(cudaFree(g.frame_nocs[k]));
    }
    CU(cudaFree(g.sum));
    CU(cudaStreamDestroy(g.s));
    free(g.page_packed);
    free(g.page_frame);
    free(g.page_frame_nocs);
    free(g.page_read);
    free(h.storage);
    free(h.ref);
    free(h.expect);
    free(h.frame[0]);
    free(h.frame[1]);
    free(h.out);
    free(h.scratch);
    return bad;
}
