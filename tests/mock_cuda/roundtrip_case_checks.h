/*
 * roundtrip_case_checks.h — the checks of one case under one environment, one per entry point:
 * fsd_pack_to_host, fsd_unpack_from_host, fsd_pack / fsd_unpack of device bytes, fsd_to_bytes /
 * fsd_from_bytes. Each compares the bytes with the naive reference, checks the stream order
 * (work queued before the call is waited for; work queued after it sees its result), the guard
 * zones and the source; failures go to the case's report. Part of roundtrip_checks.h: include
 * that, not this.
 */
#ifndef ROUNDTRIP_CASE_CHECKS_H
#define ROUNDTRIP_CASE_CHECKS_H

#include "roundtrip_buffers.h"
#include "roundtrip_env.h"

static void check_pack_to_host(report *rep, const fsdt_case *c, env *e, fsdt_rng *r)
{
    size_t packed = c->packed_size, extra = (size_t)fsdt_rng_range(r, 0, 9);
    unsigned char *ref = malloc(packed + 1);
    fsdt_reference_pack(c, c->storage, ref);
    dbuf dev = dbuf_make(c->storage_size);
    upload(&dev, c->storage, e->s); /* queued before the call: the call must wait for it */
    hbuf dst = hbuf_make(packed + extra, e->pinned, FILL);
    DLTensor t = device_view(c, &dev, 0);

    fsd_status st = fsd_pack_to_host(e->c, &t, dst.p, packed + extra, e->s);
    long d = -1;
    if (st != FSD_SUCCESS) {
        char msg[256];
        fsd_last_error(msg, sizeof msg);
        fail_case(rep, c, e, "fsd_pack_to_host: %s (%s)", fsd_status_string(st), msg);
    } else if (!e->pinned && (d = fsdt_first_diff(dst.p, ref, packed)) >= 0) {
        /* pageable: the bytes are there on return, before anything else runs */
        fail_case(rep, c, e, "fsd_pack_to_host (pageable): byte %ld of %zu is 0x%02x, reference "
                  "0x%02x on return", d, packed, dst.p[d], ref[d]);
    }
    /* Queued after the call: a read-back of the source, then an overwrite of it. The call's
     * reads must come first, and it must not have written its source. */
    unsigned char *back = fetch(&dev, e->s);
    unsigned char *zeros = pinned_later(c->storage_size);
    memset(zeros, 0xEE, c->storage_size);
    CUDA_OK(cudaMemcpyAsync(dev.p, zeros, c->storage_size, cudaMemcpyHostToDevice, e->s));
    CUDA_OK(cudaStreamSynchronize(e->s));
    if (st == FSD_SUCCESS && d < 0 && (d = fsdt_first_diff(dst.p, ref, packed)) >= 0)
        fail_case(rep, c, e, "fsd_pack_to_host: byte %ld of %zu is 0x%02x, reference 0x%02x "
                  "(after synchronising the stream)", d, packed, dst.p[d], ref[d]);
    if (!fsdt_all_equal(dst.p + packed, extra, FILL) || !fsdt_guards_intact(dst.p, packed + extra))
        fail_case(rep, c, e, "fsd_pack_to_host: wrote outside the packed bytes");
    if (!fsdt_guards_intact(back, c->storage_size) ||
        fsdt_first_diff(back, c->storage, c->storage_size) >= 0)
        fail_case(rep, c, e, "fsd_pack_to_host: the device source (or its guards) changed");
    hbuf_free(&dst);
    dbuf_free(&dev);
    free(ref);
}

static void check_unpack_from_host(report *rep, const fsdt_case *c, env *e, fsdt_rng *r)
{
    size_t packed = c->packed_size;
    hbuf src = hbuf_make(packed, e->pinned, 0);
    fsdt_rng_fill(r, src.p, packed);
    unsigned char *copy = malloc(packed + 1), *expect = malloc(c->storage_size);
    memcpy(copy, src.p, packed);
    memcpy(expect, c->storage, c->storage_size);
    if (c->nests)
        fsdt_reference_unpack(c, copy, expect);
    dbuf dev = dbuf_make(c->storage_size);
    upload(&dev, c->storage, e->s);
    DLTensor t = device_view(c, &dev, 0);

    fsd_status want = c->nests ? FSD_SUCCESS : FSD_ERROR_ALIASING;
    fsd_status st = fsd_unpack_from_host(e->c, src.p, packed, &t, e->s);
    if (!e->pinned)
        memset(src.p, 0xA5, packed); /* a pageable source may be reused at once */
    unsigned char *back = fetch(&dev, e->s); /* queued after the call: sees its result */
    CUDA_OK(cudaStreamSynchronize(e->s));
    long d;
    if (st != want) {
        char msg[256];
        fsd_last_error(msg, sizeof msg);
        fail_case(rep, c, e, "fsd_unpack_from_host: expected %s, got %s (%s)",
                  fsd_status_string(want), fsd_status_string(st), msg);
    } else if ((d = fsdt_first_diff(back, expect, c->storage_size)) >= 0) {
        fail_case(rep, c, e, "fsd_unpack_from_host: storage byte %ld is 0x%02x, expected 0x%02x "
                  "(%s)", d, back[d], expect[d],
                  c->storage[d] == expect[d] ? "outside the view" : "in the view");
    }
    if (!fsdt_guards_intact(back, c->storage_size))
        fail_case(rep, c, e, "fsd_unpack_from_host: device guard zones overwritten");
    if (e->pinned && memcmp(src.p, copy, packed) != 0)
        fail_case(rep, c, e, "fsd_unpack_from_host: modified its pinned source");
    if (!fsdt_guards_intact(src.p, packed))
        fail_case(rep, c, e, "fsd_unpack_from_host: guard zones of the source overwritten");
    hbuf_free(&src);
    dbuf_free(&dev);
    free(expect);
    free(copy);
}

/* fsd_pack / fsd_unpack with the packed bytes in device memory (the kernels alone). */
static void check_device_pack_unpack(report *rep, const fsdt_case *c, env *e, fsdt_rng *r)
{
    size_t packed = c->packed_size;
    unsigned char *ref = malloc(packed + 1), *noise = malloc(packed + 1);
    unsigned char *expect = malloc(c->storage_size);
    fsdt_reference_pack(c, c->storage, ref);
    fsdt_rng_fill(r, noise, packed);
    memcpy(expect, c->storage, c->storage_size);
    if (c->nests)
        fsdt_reference_unpack(c, noise, expect);
    dbuf dev = dbuf_make(c->storage_size), pk = dbuf_make(packed);
    unsigned char *fill = malloc(packed + 1);
    memset(fill, FILL, packed);
    upload(&dev, c->storage, e->s);
    upload(&pk, fill, e->s);
    DLTensor t = device_view(c, &dev, 0);
    fsd_status st = fsd_pack(&t, pk.p, packed, e->s);
    unsigned char *got = fetch(&pk, e->s);
    CUDA_OK(cudaStreamSynchronize(e->s));
    long d;
    if (st != FSD_SUCCESS)
        fail_case(rep, c, e, "fsd_pack (device): %s", fsd_status_string(st));
    else if ((d = fsdt_first_diff(got, ref, packed)) >= 0 || !fsdt_guards_intact(got, packed))
        fail_case(rep, c, e, "fsd_pack (device): byte %ld differs or guards broken", d);

    upload(&pk, noise, e->s);
    st = fsd_unpack(pk.p, packed, &t, e->s);
    unsigned char *back = fetch(&dev, e->s);
    CUDA_OK(cudaStreamSynchronize(e->s));
    fsd_status want = c->nests ? FSD_SUCCESS : FSD_ERROR_ALIASING;
    if (st != want)
        fail_case(rep, c, e, "fsd_unpack (device): expected %s, got %s", fsd_status_string(want),
                  fsd_status_string(st));
    else if ((d = fsdt_first_diff(back, expect, c->storage_size)) >= 0 ||
             !fsdt_guards_intact(back, c->storage_size))
        fail_case(rep, c, e, "fsd_unpack (device): storage byte %ld differs or guards broken", d);
    dbuf_free(&pk);
    dbuf_free(&dev);
    free(fill);
    free(expect);
    free(noise);
    free(ref);
}

/* fsd_to_bytes of the device tensor (its data queued on the legacy stream just before) and
 * fsd_from_bytes into a CUDA tensor. */
static void check_serde(report *rep, const fsdt_case *c, env *e, fsdt_rng *r)
{
    size_t packed = c->packed_size;
    unsigned char *ref = malloc(packed + 1);
    fsdt_reference_pack(c, c->storage, ref);
    dbuf dev = dbuf_make(c->storage_size);
    upload(&dev, c->storage, NULL); /* to_bytes waits for the legacy stream's work */
    DLTensor t = device_view(c, &dev, 0);
    void *bytes = (void *)1;
    size_t size = 1;
    fsd_status st = fsd_to_bytes(e->c, &t, &bytes, &size);
    long d;
    if (st != FSD_SUCCESS || size != packed || (packed == 0) != (bytes == NULL))
        fail_case(rep, c, e, "fsd_to_bytes: %s, size %zu (expected %zu), bytes %p",
                  fsd_status_string(st), size, packed, bytes);
    else if (packed > 0 && (d = fsdt_first_diff(bytes, ref, packed)) >= 0)
        fail_case(rep, c, e, "fsd_to_bytes: byte %ld is 0x%02x, reference 0x%02x", d,
                  ((unsigned char *)bytes)[d], ref[d]);
    fsd_bytes_free(bytes);
    CUDA_OK(cudaStreamSynchronize(NULL));
    dbuf_free(&dev);

    rt_counts before, after;
    int counted = rt_get_counts(&before);
    hbuf src = hbuf_make(packed, e->pinned, 0);
    fsdt_rng_fill(r, src.p, packed);
    DLManagedTensor *m = (DLManagedTensor *)1;
    DLDevice cuda = {kDLCUDA, 0};
    st = fsd_from_bytes(e->c, src.p, packed, c->t.dtype, cuda, &m);
    if (st != FSD_SUCCESS || m == NULL) {
        fail_case(rep, c, e, "fsd_from_bytes (CUDA): %s", fsd_status_string(st));
    } else {
        const DLTensor *o = &m->dl_tensor;
        if (o->ndim != 1 || o->shape[0] != (int64_t)(packed / c->elem_size) ||
            (o->strides != NULL && o->strides[0] != 1) || o->byte_offset != 0 ||
            o->device.device_type != kDLCUDA || o->device.device_id != 0 ||
            o->dtype.code != c->t.dtype.code || o->dtype.bits != c->t.dtype.bits ||
            o->dtype.lanes != c->t.dtype.lanes)
            fail_case(rep, c, e, "fsd_from_bytes (CUDA): wrong tensor description");
        else if (packed > 0 && !rt_is_device(o->data, packed))
            fail_case(rep, c, e, "fsd_from_bytes (CUDA): data is not %zu bytes of device memory",
                      packed);
        else if (packed > 0) {
            /* blocking: the data is there, read it without synchronising */
            unsigned char *got = malloc(packed);
            rt_peek(got, o->data, packed);
            if ((d = fsdt_first_diff(got, src.p, packed)) >= 0)
                fail_case(rep, c, e, "fsd_from_bytes (CUDA): byte %ld differs on return", d);
            free(got);
        }
        m->deleter(m);
    }
    hbuf_free(&src);
    rt_drain(); /* the deleter frees in stream order (cudaFreeAsync) */
    if (counted && rt_get_counts(&after) && after.device_allocs != before.device_allocs)
        fail_case(rep, c, e, "fsd_from_bytes (CUDA): the deleter left %ld device allocations",
                  after.device_allocs - before.device_allocs);
    free(ref);
}

#endif
