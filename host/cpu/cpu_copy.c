/* cpu_copy.c — the CPU path (see cpu_copy.h): CONTIG, RUNS / GENERIC, and the dispatch to the
 * tiles of cpu_transpose.c. No call per run below 256 bytes. */
#include <string.h>

#include "cpu_copy.h"
#include "cpu_simd.h"
#include "cpu_transpose.h"

/* Bytes the pack-side gather buffer holds before it is streamed out (stays in L1). */
#define FSD_CPU_GATHER_BYTES 4096
/* Pack streams runs straight from the source from this length on when the packed side is
 * 16-byte aligned; shorter or unaligned runs go through the gather buffer. */
#ifndef FSD_CPU_PACK_DIRECT_MIN_RUN
#define FSD_CPU_PACK_DIRECT_MIN_RUN 64
#endif
/* Unpack streams runs from this length on (only their whole lines: fsd_cpu_stream_copy).
 * Streaming 16-byte words of partial lines had cost 0.1 x memcpy for runs of 100-200 bytes;
 * with whole lines only, the KV cache's every-other-head unpack (256-byte runs 512 bytes
 * apart, 32 and 80 MiB) went from 0.51-0.71 x to 0.62-1.11 x memcpy, the same runs of
 * fastserde-bench, A/B builds interleaved. The piece of a run at either end of a range streams
 * by the same rule: frames unpack 8 KiB pieces (host/frame/frame_cpu.c), which cut a token slice's
 * 512 KiB runs, and reading one verified went from 4.08-4.44 to 4.30-4.76 GB/s with it (32 MiB,
 * A/B builds interleaved four times, best of 40). */
#ifndef FSD_CPU_UNPACK_STREAM_MIN_RUN
#define FSD_CPU_UNPACK_STREAM_MIN_RUN 256
#endif
/* Streaming only while consecutive runs are at most this many run lengths apart on the strided
 * side. Thinner runs are read (pack) in scattered pieces, and then streaming stores measured
 * slower than ordinary ones: 0.65 x for 128-byte runs 1 KiB apart, at 64 MiB. */
#ifndef FSD_CPU_STREAM_MAX_SPREAD
#define FSD_CPU_STREAM_MAX_SPREAD 4
#endif
/* Large copies of runs (those that stream, by size) prefetch the strided side this many bytes
 * ahead, rounded up to whole runs, into L2 (cpu_simd.h): the hardware prefetchers lose a
 * stream of runs with gaps between them. Measured with variants of this file in one process
 * (64 MiB, runs out of a stride twice their length, 1 and 2 threads, the 2-vCPU EPYC VM):
 * pack through the gather buffer, 100/200-byte runs, 0.85 -> 0.94/0.96 x memcpy on 2 threads,
 * unchanged on one, where prefetching into L1 instead cost 10 % (it evicts the gather
 * buffer); unpack of 48-200-byte runs +5-20 %. Shorter or longer distances (0.5-8 KiB) did
 * no better. bench/cpu_vs_torch.py shows the end result. */
#ifndef FSD_CPU_PREFETCH_AHEAD
#define FSD_CPU_PREFETCH_AHEAD 1024
#endif
/* Pack streaming runs straight out prefetches into L1 below this run length and into L2 from
 * it on: 256-byte runs 0.61 -> 0.62 (L1) / 0.55 (L2) x memcpy on one thread, 1.05 -> 1.15 /
 * 1.02 on two; 1-2 KiB runs, whose burst of prefetches into L1 evicts the lines being copied,
 * 0.52 -> 0.58 (L1) / 0.78 (L2) on one thread and 0.99 -> 1.1 / 1.5 on two; 128-byte runs
 * 0.36-0.65 -> 0.55-0.88 either way. */
#ifndef FSD_CPU_PREFETCH_L1_MAX_RUN
#define FSD_CPU_PREFETCH_L1_MAX_RUN 512
#endif

int fsd_cpu_streams(const fsd_cpu_opts *o, uint64_t total_bytes)
{
    fsd_cpu_store s = o ? o->store : FSD_CPU_STORE_AUTO;
    if (s == FSD_CPU_STORE_AUTO)
        return total_bytes >= FSD_CPU_STREAM_MIN_BYTES;
    return s == FSD_CPU_STORE_STREAM;
}

void fsd_cpu_memcpy(void *dst, const void *src, size_t n, int stream)
{
    if (stream) {
        fsd_cpu_stream_copy(dst, src, n, 1);
        fsd_cpu_stream_fence();
    } else {
        memcpy(dst, src, n);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* n runs of `run` bytes with ordinary stores: dst and src advance by their own steps. Fixed  */
/* sizes are expanded inline; the others take the inline moves of cpu_simd.h or memcpy. The   */
/* loop is instantiated three times: plain, and prefetching the lines of the run `pf` bytes   */
/* after src (pack) or after dst (unpack), so that the plain loop carries no test per run     */
/* (one had cost runs of 1-16 bytes 15-50 %, fsd_pack of 256 KiB).                             */

#define FSD_RUNS_LOOP(PREFETCH, MOVE)                                \
    for (uint64_t i = 0; i < n; i++, dst += dstep, src += sstep) {   \
        PREFETCH                                                     \
        MOVE                                                         \
    }

#define FSD_COPY_ROWS(PREFETCH)                                                  \
    switch (run) {                                                               \
    case 1: FSD_RUNS_LOOP(PREFETCH, *dst = *src;); return;                       \
    case 2: FSD_RUNS_LOOP(PREFETCH, memcpy(dst, src, 2);); return;               \
    case 4: FSD_RUNS_LOOP(PREFETCH, memcpy(dst, src, 4);); return;               \
    case 8: FSD_RUNS_LOOP(PREFETCH, memcpy(dst, src, 8);); return;               \
    case 16: FSD_RUNS_LOOP(PREFETCH, memcpy(dst, src, 16);); return;             \
    case 32: FSD_RUNS_LOOP(PREFETCH, memcpy(dst, src, 32);); return;             \
    case 64: FSD_RUNS_LOOP(PREFETCH, memcpy(dst, src, 64);); return;             \
    default: break;                                                              \
    }                                                                            \
    if (run < 16) {                                                              \
        FSD_RUNS_LOOP(PREFETCH, fsd_cpu_copy_upto16(dst, src, run);)             \
    } else if (run < FSD_CPU_MEMCPY_MIN_RUN) {                                   \
        FSD_RUNS_LOOP(PREFETCH, fsd_cpu_copy_16plus(dst, src, run);)             \
    } else {                                                                     \
        FSD_RUNS_LOOP(PREFETCH, memcpy(dst, src, run);)                          \
    }

static void copy_rows_plain(char *dst, int64_t dstep, const char *src, int64_t sstep, uint64_t n,
                            uint64_t run)
{
    FSD_COPY_ROWS((void)0;)
}

static void copy_rows_pf_src(char *dst, int64_t dstep, const char *src, int64_t sstep,
                             uint64_t n, uint64_t run, int64_t pf)
{
    FSD_COPY_ROWS(fsd_cpu_prefetch_l2(src, pf, run);)
}

static void copy_rows_pf_dst(char *dst, int64_t dstep, const char *src, int64_t sstep,
                             uint64_t n, uint64_t run, int64_t pf)
{
    FSD_COPY_ROWS(fsd_cpu_prefetch_l2(dst, pf, run);)
}

/* The runs, prefetching `spf` bytes ahead of src or `dpf` ahead of dst (0: neither). */
static void copy_rows(char *dst, int64_t dstep, const char *src, int64_t sstep, uint64_t n,
                      uint64_t run, int64_t spf, int64_t dpf)
{
    if (spf != 0)
        copy_rows_pf_src(dst, dstep, src, sstep, n, run, spf);
    else if (dpf != 0)
        copy_rows_pf_dst(dst, dstep, src, sstep, n, run, dpf);
    else
        copy_rows_plain(dst, dstep, src, sstep, n, run);
}

/* ------------------------------------------------------------------------------------------ */
/* Pack with streaming stores: the packed side is one sequential stream. Runs are gathered    */
/* into `buf` (L1) at the packed side's offset modulo 64, and whole lines leave it by          */
/* streaming stores; the remainder moves to the front of buf. The first and last partial     */
/* lines of the range get ordinary stores (the neighbours' bytes are not ours).                */

typedef struct gather {
    _Alignas(64) char buf[FSD_CPU_GATHER_BYTES + 64];
    char *line;     /* packed address of buf[0] (64-aligned)           */
    uint64_t fill;  /* bytes of buf in use, the first `skip` not ours   */
    uint64_t skip;
    int simd;
    int64_t pf;     /* prefetch distance on the source (see FSD_CPU_PREFETCH_AHEAD)  */
} gather;

static void gather_init(gather *g, char *packed, int simd, int64_t pf)
{
    g->skip = (uintptr_t)packed & 63;
    g->line = packed - g->skip;
    g->fill = g->skip;
    g->simd = simd;
    g->pf = pf;
}

/* Writes buf[skip, upto) to memory: upto is a multiple of 64, or the end of the range. */
static void gather_flush(gather *g, uint64_t upto)
{
    uint64_t lines = upto / 64 * 64;
    uint64_t from = g->skip;
    if (from > 0 && lines > 0) { /* a first line that is not all ours */
        memcpy(g->line + from, g->buf + from, 64 - from);
        from = 64;
    }
#if FSD_CPU_HAVE_SSE2
    if (g->simd) {
        for (uint64_t i = from; i < lines; i += 16)
            _mm_stream_si128((__m128i *)(void *)(g->line + i),
                             _mm_load_si128((const __m128i *)(const void *)(g->buf + i)));
        from = lines > from ? lines : from;
    }
#endif
    if (from < upto)
        memcpy(g->line + from, g->buf + from, upto - from);
    /* Keep the partial last line for the next runs. */
    uint64_t rest = g->fill - lines;
    if (lines > 0) {
        memmove(g->buf, g->buf + lines, rest);
        g->line += lines;
        g->fill = rest;
        g->skip = 0;
    }
}

/* Adds n runs of `run` bytes (sources sstep apart) to the stream. */
static void gather_runs(gather *g, const char *src, int64_t sstep, uint64_t n, uint64_t run)
{
    while (n > 0) {
        uint64_t room = (FSD_CPU_GATHER_BYTES + 64 - g->fill) / run;
        if (room == 0) { /* a run longer than the buffer: straight through */
            gather_flush(g, g->fill);
            fsd_cpu_stream_copy(g->line + g->fill, src, run, g->simd);
            g->skip = (uintptr_t)(g->line + g->fill + run) & 63;
            g->line = g->line + g->fill + run - g->skip;
            g->fill = g->skip;
            src += sstep;
            n--;
            continue;
        }
        uint64_t k = room < n ? room : n;
        copy_rows(g->buf + g->fill, (int64_t)run, src, sstep, k, run, g->pf, 0);
        g->fill += k * run;
        src += (int64_t)k * sstep;
        n -= k;
        gather_flush(g, g->fill / 64 * 64);
    }
}

static void gather_bytes(gather *g, const char *src, uint64_t len)
{
    gather_runs(g, src, (int64_t)len, 1, len);
}

static void gather_finish(gather *g)
{
    gather_flush(g, g->fill);
    fsd_cpu_stream_fence();
}

/* ------------------------------------------------------------------------------------------ */
/* RUNS / GENERIC / CONTIG over the plan's packed range: a partial run at either end, and      */
/* between them whole runs along the innermost outer dim, walked with an odometer.             */

typedef struct runs_out {
    int pack;
    int stream; /* streaming stores, run by run (unpack; pack of aligned long runs)      */
    int simd;
    int64_t pf; /* prefetch distance on the strided side, bytes (0: none)                */
    gather *g;  /* pack with streaming stores through the gather buffer                    */
} runs_out;

/* n whole runs starting at strided address s and packed address q. */
static void move_runs(const runs_out *o, char *s, int64_t sstep, char *q, uint64_t n, uint64_t run)
{
    if (o->g) {
        gather_runs(o->g, s, sstep, n, run);
    } else if (o->stream && o->pack) {
        const int l1 = run < FSD_CPU_PREFETCH_L1_MAX_RUN;
        for (uint64_t i = 0; i < n; i++, s += sstep, q += run) {
            if (o->pf != 0 && l1)
                fsd_cpu_prefetch_l1(s, o->pf, run);
            else if (o->pf != 0)
                fsd_cpu_prefetch_l2(s, o->pf, run);
            fsd_cpu_stream_copy(q, s, run, o->simd);
        }
    } else if (o->stream && run >= FSD_CPU_UNPACK_STREAM_MIN_RUN) {
        for (uint64_t i = 0; i < n; i++, s += sstep, q += run)
            fsd_cpu_stream_copy(s, q, run, o->simd);
    } else if (o->pack) {
        copy_rows(q, (int64_t)run, s, sstep, n, run, o->pf, 0);
    } else {
        copy_rows(s, sstep, q, (int64_t)run, n, run, 0, o->pf);
    }
}

static void copy_runs(const fsd_plan *p, int stream, int simd)
{
    const int last = p->ndim - 1;
    const uint64_t run = p->run_bytes;
    const uint64_t inner_n = p->ndim > 0 ? p->shape[last] : 1;
    const int64_t inner_stride = p->ndim > 0 ? p->stride[last] : 0;
    /* Runs spread thinly over the strided side: ordinary stores (see FSD_CPU_STREAM_MAX_SPREAD). */
    const uint64_t spread = (uint64_t)(inner_stride < 0 ? -inner_stride : inner_stride);
    /* Prefetch whole runs ahead along the innermost dim when the copy is large (streams by
     * size) and its runs have gaps between them. */
    int64_t pf = 0;
    if (stream && spread > run)
        pf = (int64_t)((FSD_CPU_PREFETCH_AHEAD + spread - 1) / spread) * inner_stride;
    if (spread > FSD_CPU_STREAM_MAX_SPREAD * run)
        stream = 0;
    gather *g = NULL;
    gather gbuf;
    runs_out o = {p->dir == FSD_DIR_PACK, stream, simd, pf, NULL};
    /* Pack streams long runs straight out when every run (and the range's cut ones) starts
     * and ends on a 16-byte word of the packed side; anything else goes through the buffer. */
    if (o.pack && stream &&
        !(run >= FSD_CPU_PACK_DIRECT_MIN_RUN && run % 16 == 0 && (uintptr_t)p->packed % 16 == 0 &&
          p->begin % 16 == 0 && p->end % 16 == 0)) {
        gather_init(&gbuf, p->packed, simd, pf);
        o.g = g = &gbuf;
    }
    uint64_t coord[FSD_PLAN_MAX_DIMS];
    /* Coordinates and strided offset of the first run. */
    uint64_t r = p->begin / run, idx = r;
    int64_t soff = 0;
    for (int d = last; d >= 0; d--) {
        uint64_t q = fsd_div64(&p->div[d], idx);
        coord[d] = idx - q * p->shape[d];
        idx = q;
        soff += (int64_t)coord[d] * p->stride[d];
    }
    uint64_t off = p->begin;
    char *packed = p->packed;
    while (off < p->end) {
        uint64_t in = off - r * run; /* offset inside run r */
        uint64_t n = 0;              /* runs finished in this step */
        if (in == 0 && p->end - off >= run) {
            /* Whole runs, up to the end of this row of the innermost dim or of the range. */
            uint64_t row_left = p->ndim > 0 ? inner_n - coord[last] : 1;
            uint64_t fit = (p->end - off) / run;
            n = fit < row_left ? fit : row_left;
            move_runs(&o, p->strided + soff, inner_stride, packed, n, run);
            packed += n * run;
            off += n * run;
        } else {
            /* Part of one run: the range starts or ends inside it. */
            uint64_t len = run - in < p->end - off ? run - in : p->end - off;
            if (g)
                gather_bytes(g, p->strided + soff + in, len);
            else if (o.pack)
                fsd_cpu_memcpy(packed, p->strided + soff + in, len, stream && simd);
            else if (stream && len >= FSD_CPU_UNPACK_STREAM_MIN_RUN)
                fsd_cpu_stream_copy(p->strided + soff + in, packed, len, simd); /* fenced below */
            else
                memcpy(p->strided + soff + in, packed, len);
            packed += len;
            off += len;
            n = in + len == run;
        }
        if (n == 0 || p->ndim == 0)
            continue;
        /* Advance the odometer by n runs along the innermost dim (n never passes its end).
         * soff only ever holds offsets of real elements, so no product leaves the tensor's
         * extent (validated to fit in 63 bits). */
        r += n;
        coord[last] += n;
        if (coord[last] < inner_n) {
            soff += (int64_t)n * inner_stride;
            continue;
        }
        soff -= (int64_t)(coord[last] - n) * inner_stride;
        coord[last] = 0;
        for (int d = last - 1; d >= 0; d--) {
            if (++coord[d] < p->shape[d]) {
                soff += p->stride[d];
                break;
            }
            soff -= (int64_t)(p->shape[d] - 1) * p->stride[d];
            coord[d] = 0;
        }
    }
    if (g)
        gather_finish(g);
    else if (stream)
        fsd_cpu_stream_fence();
}

void fsd_cpu_execute_opts(const fsd_plan *p, const fsd_cpu_opts *opts)
{
    const fsd_cpu_opts dflt = FSD_CPU_OPTS_INIT;
    if (opts == NULL)
        opts = &dflt;
    const int stream = fsd_cpu_streams(opts, p->total_bytes);
    const int simd = opts->simd;
    switch (p->path) {
    case FSD_PATH_EMPTY:
        break;
    case FSD_PATH_CONTIG: {
        char *s = p->strided + p->begin;
        uint64_t n = p->end - p->begin;
        if (p->dir == FSD_DIR_PACK)
            fsd_cpu_memcpy(p->packed, s, n, stream && simd);
        else
            fsd_cpu_memcpy(s, p->packed, n, stream && simd);
        break;
    }
    case FSD_PATH_RUNS:
    case FSD_PATH_GENERIC:
    case FSD_PATH_TRANSPOSE: {
        int ta = fsd_cpu_transpose_dim(p);
        if (ta >= 0)
            fsd_cpu_copy_transpose(p, ta, stream, simd);
        else
            copy_runs(p, stream, simd);
        break;
    }
    default:
        break;
    }
}

void fsd_cpu_execute(const fsd_plan *p)
{
    fsd_cpu_execute_opts(p, NULL);
}
