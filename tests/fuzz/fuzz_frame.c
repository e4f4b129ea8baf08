/*
 * fuzz_frame.c — libFuzzer target (d): the input is a frame (any safetensors file), as read
 * from a disk or a network: fsd_frame_open, then every accessor and reader on what it accepts.
 *
 * What must hold: fsd_frame_open returns SUCCESS or a status that applies to bad bytes
 * (CORRUPT, UNSUPPORTED, OVERFLOW, OUT_OF_MEMORY) with a message and *frame NULL; nothing
 * stays allocated (ASan's leak check); on success the summary and the entries agree with the
 * bytes (header + data = the input, the tensors tile the data in index order, each holds its
 * dtype times its shape, names and metadata keys are unique, checksums everywhere or nowhere);
 * fsd_frame_verify, fsd_frame_read_new and fsd_frame_read (into a compact and into a
 * transposed destination) agree on CORRUPT or not, and what they read is the frame's bytes;
 * and when nothing is corrupt, the tensors written again with fsd_frame_write (with the
 * frame's own metadata pairs) open to the same names, types, shapes and bytes, verified.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastserde.h"

#define FSDF_TARGET "fuzz_frame"
#include "fuzz_check.h"

#define MAX_TENSORS 64

FSDF_ALLOCATOR_MAY_RETURN_NULL()

static fsd_context *g_ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.cpu_threads = 2;
    cfg.chunk_bytes = 64 << 10;
    if (fsd_context_create(&g_ctx, &cfg) != FSD_SUCCESS)
        abort();
    return 0;
}

static size_t elem_size(DLDataType t)
{
    return (size_t)t.bits / 8 * t.lanes;
}

/* Reads tensor i every way; returns 1 when it is intact (or carries no checksum). */
static int read_all_ways(const fsd_frame *f, size_t i, const fsd_frame_info *in,
                         const uint8_t *data, DLManagedTensor **keep)
{
    fsd_context *ctx = i % 2 ? g_ctx : NULL;
    fsd_status v = fsd_frame_verify(ctx, f, i);
    CHECK(v == FSD_SUCCESS || (v == FSD_ERROR_CORRUPT && in->has_checksum), "verify: %s",
          fsd_status_string(v));
    DLManagedTensor *mt = NULL;
    fsd_status r = fsd_frame_read_new(ctx, f, i, (DLDevice){kDLCPU, 0}, 1, &mt);
    CHECK(r == v, "read_new %s, verify %s", fsd_status_string(r), fsd_status_string(v));
    CHECK((r == FSD_SUCCESS) == (mt != NULL), "read_new's tensor and status disagree");
    if (r != FSD_SUCCESS)
        return 0;
    const DLTensor *t = &mt->dl_tensor;
    CHECK(t->ndim == in->ndim && t->dtype.code == in->dtype.code && t->dtype.bits == in->dtype.bits,
          "read_new: type or rank");
    for (int d = 0; d < t->ndim; d++)
        CHECK(t->shape[d] == in->shape[d], "read_new: shape[%d]", d);
    if (in->nbytes > 0)
        CHECK(memcmp(t->data, data + in->offset, in->nbytes) == 0, "read_new: bytes");
    /* into a transposed destination (the last two dimensions swapped), read back by pack */
    if (in->ndim >= 2 && in->nbytes > 0) {
        int n = in->ndim;
        int64_t shape[FSD_FRAME_MAX_DIMS], strides[FSD_FRAME_MAX_DIMS];
        int64_t s = 1;
        /* storage [.., d_{n-1}, d_{n-2}]; the view swaps them back */
        for (int d = n - 1; d >= 0; d--)
            shape[d] = in->shape[d];
        int64_t inner = in->shape[n - 2];
        strides[n - 2] = 1;
        strides[n - 1] = inner;
        s = inner * in->shape[n - 1];
        for (int d = n - 3; d >= 0; d--) {
            strides[d] = s;
            s *= in->shape[d];
        }
        char *buf = malloc(in->nbytes), *back = malloc(in->nbytes);
        CHECK(buf && back, "malloc");
        DLTensor dst = {.data = buf, .device = {kDLCPU, 0}, .ndim = n, .dtype = in->dtype,
                        .shape = shape, .strides = strides};
        fsd_status st = fsd_frame_read(ctx, f, i, &dst, 1, NULL);
        CHECK(st == FSD_SUCCESS, "read into a transposed view: %s", fsd_status_string(st));
        CHECK(fsd_pack(&dst, back, in->nbytes, NULL) == FSD_SUCCESS, "pack back");
        CHECK(memcmp(back, data + in->offset, in->nbytes) == 0, "read into a transposed view: bytes");
        free(buf);
        free(back);
    }
    *keep = mt;
    return 1;
}

/* Writes the tensors again with the frame's metadata (fastserde's keys left to the writer) and
 * checks that the new frame holds the same. */
static void write_again(const fsd_frame *f, const fsd_frame_summary *s, DLManagedTensor **mts,
                        const fsd_frame_info *infos)
{
    fsd_frame_tensor ts[MAX_TENSORS];
    for (size_t i = 0; i < s->tensors; i++)
        ts[i] = (fsd_frame_tensor){infos[i].name, &mts[i]->dl_tensor};
    fsd_frame_pair *pairs = malloc((s->metadata ? s->metadata : 1) * sizeof *pairs);
    size_t np = 0;
    for (size_t i = 0; i < s->metadata; i++) {
        const char *k, *v;
        CHECK(fsd_frame_metadata(f, i, &k, &v) == FSD_SUCCESS, "metadata %zu", i);
        if (strncmp(k, "fastserde.", 10) != 0)
            pairs[np++] = (fsd_frame_pair){k, v};
    }
    fsd_frame_options o = FSD_FRAME_OPTIONS_INIT;
    o.metadata = pairs;
    o.metadata_count = np;
    o.kv_layout = s->kv_layout;
    o.kv_tokens = s->kv_tokens;
    size_t size;
    fsd_status st = fsd_frame_size(ts, s->tensors, &o, &size);
    /* names and values came through jansson: valid UTF-8, no NUL; a header may grow past the
     * bound only by escaping, which fuzz inputs of this size cannot reach */
    CHECK(st == FSD_SUCCESS, "fsd_frame_size of a frame's own tensors: %s", fsd_status_string(st));
    char *buf = malloc(size);
    CHECK(buf, "malloc");
    st = fsd_frame_write(g_ctx, ts, s->tensors, &o, buf, size, NULL);
    CHECK(st == FSD_SUCCESS, "fsd_frame_write: %s", fsd_status_string(st));
    fsd_frame *g;
    st = fsd_frame_open(buf, size, &g);
    CHECK(st == FSD_SUCCESS, "opening the written frame: %s", fsd_status_string(st));
    fsd_frame_summary s2;
    CHECK(fsd_frame_describe(g, &s2) == FSD_SUCCESS, "describe");
    CHECK(s2.tensors == s->tensors && s2.fastserde && s2.checksums, "written frame's summary");
    for (size_t i = 0; i < s->tensors; i++) {
        fsd_frame_info a;
        CHECK(fsd_frame_tensor_info(g, i, &a) == FSD_SUCCESS, "info");
        CHECK(strcmp(a.name, infos[i].name) == 0 && a.nbytes == infos[i].nbytes &&
              a.ndim == infos[i].ndim && a.dtype.code == infos[i].dtype.code, "written tensor %zu", i);
        if (a.nbytes > 0)
            CHECK(memcmp(buf + a.offset, mts[i]->dl_tensor.data, a.nbytes) == 0, "written bytes %zu", i);
        CHECK(fsd_frame_verify(NULL, g, i) == FSD_SUCCESS, "written tensor %zu verifies", i);
    }
    fsd_frame_close(g);
    free(buf);
    free(pairs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fsd_frame *f = (fsd_frame *)(uintptr_t)1;
    fsd_status st = fsd_frame_open(data, size, &f);
    if (st != FSD_SUCCESS) {
        CHECK(st == FSD_ERROR_CORRUPT || st == FSD_ERROR_UNSUPPORTED || st == FSD_ERROR_OVERFLOW ||
              st == FSD_ERROR_OUT_OF_MEMORY, "open: %s", fsd_status_string(st));
        CHECK(f == NULL, "*frame not NULL after a failure");
        CHECK(fsd_last_error(NULL, 0) > 0, "failure without a message");
        return 0;
    }
    fsd_frame_summary s;
    CHECK(fsd_frame_describe(f, &s) == FSD_SUCCESS, "describe");
    CHECK(8 + s.header_bytes + s.data_bytes == size, "header %zu + data %zu != %zu", s.header_bytes,
          s.data_bytes, size);
    CHECK(!s.checksums || s.fastserde, "checksums without fastserde keys");
    size_t at = 8 + s.header_bytes;
    fsd_frame_info infos[MAX_TENSORS];
    for (size_t i = 0; i < s.tensors; i++) {
        fsd_frame_info in;
        CHECK(fsd_frame_tensor_info(f, i, &in) == FSD_SUCCESS, "info %zu", i);
        CHECK(in.offset == at, "tensor %zu at %zu, expected %zu", i, in.offset, at);
        size_t n = elem_size(in.dtype);
        for (int d = 0; d < in.ndim; d++)
            n *= (size_t)in.shape[d];
        CHECK(n == in.nbytes, "tensor %zu: %zu bytes, dtype times shape %zu", i, in.nbytes, n);
        CHECK(in.has_checksum == s.checksums, "tensor %zu: has_checksum %d", i, in.has_checksum);
        size_t idx;
        CHECK(fsd_frame_find(f, in.name, &idx) == FSD_SUCCESS && idx == i, "find \"%s\"", in.name);
        at += in.nbytes;
        if (i < MAX_TENSORS)
            infos[i] = in;
    }
    CHECK(at == size, "the tensors end at %zu of %zu", at, size);
    for (size_t i = 0; i < s.metadata; i++) {
        const char *k, *v, *k2, *v2;
        CHECK(fsd_frame_metadata(f, i, &k, &v) == FSD_SUCCESS, "metadata %zu", i);
        for (size_t j = 0; j < i; j++) {
            CHECK(fsd_frame_metadata(f, j, &k2, &v2) == FSD_SUCCESS, "metadata %zu", j);
            CHECK(strcmp(k, k2) != 0, "repeated metadata key \"%s\"", k);
        }
    }
    if (s.tensors <= MAX_TENSORS) {
        DLManagedTensor *mts[MAX_TENSORS];
        size_t ok = 0;
        for (size_t i = 0; i < s.tensors; i++) {
            mts[ok] = NULL;
            if (read_all_ways(f, i, &infos[i], data, &mts[ok]))
                ok++;
        }
        if (ok == s.tensors)
            write_again(f, &s, mts, infos);
        for (size_t i = 0; i < ok; i++)
            mts[i]->deleter(mts[i]);
    }
    fsd_frame_close(f);
    return 0;
}
