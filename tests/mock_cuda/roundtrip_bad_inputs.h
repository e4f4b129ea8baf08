/*
 * roundtrip_bad_inputs.h — the test of refused calls (wrong sizes, devices, contexts, device
 * memory where host memory is expected): an error, and nothing queued or written. Part of
 * roundtrip_checks.h: include that, not this.
 */
#ifndef ROUNDTRIP_BAD_INPUTS_H
#define ROUNDTRIP_BAD_INPUTS_H

#include "roundtrip_buffers.h"
#include "roundtrip_edge_cases.h"
#include "roundtrip_env.h"

/* Wrong sizes, devices, contexts: an error and nothing queued or written. */
static void test_bad_inputs(void **state)
{
    (void)state;
    env e;
    env_open(&e);
    fsdt_case c;
    edge_case(&c, 7, 4096);
    size_t packed = c.packed_size;
    dbuf dev = dbuf_make(c.storage_size);
    upload(&dev, c.storage, NULL);
    CUDA_OK(cudaStreamSynchronize(NULL));
    for (int pinned = 0; pinned < 2; pinned++) {
        hbuf h = hbuf_make(packed, pinned, FILL);
        DLTensor t = device_view(&c, &dev, 0);
        rt_counts s0, s1;
        int counted = rt_get_counts(&s0);
        assert_int_equal(fsd_pack_to_host(e.ctx[0], &t, h.p, packed - 1, NULL),
                         FSD_ERROR_SIZE_MISMATCH);
        assert_int_equal(fsd_unpack_from_host(e.ctx[0], h.p, packed + 1, &t, NULL),
                         FSD_ERROR_SIZE_MISMATCH);
        assert_int_equal(fsd_pack_to_host(NULL, &t, h.p, packed, NULL),
                         FSD_ERROR_INVALID_ARGUMENT);
        assert_int_equal(fsd_pack_to_host(e.ctx[0], &t, NULL, packed, NULL),
                         FSD_ERROR_INVALID_ARGUMENT);
        t.device.device_id = 1; /* a device the context is not on (and that does not exist) */
        assert_int_equal(fsd_pack_to_host(e.ctx[0], &t, h.p, packed, NULL),
                         FSD_ERROR_INVALID_ARGUMENT);
        assert_int_equal(fsd_unpack_from_host(e.ctx[0], h.p, packed, &t, NULL),
                         FSD_ERROR_INVALID_ARGUMENT);
        DLManagedTensor *m = (DLManagedTensor *)1;
        DLDevice other = {kDLCUDA, 1};
        assert_int_equal(fsd_from_bytes(e.ctx[0], h.p, packed, c.t.dtype, other, &m),
                         FSD_ERROR_INVALID_ARGUMENT);
        assert_null(m);
        if (counted && rt_get_counts(&s1)) /* nothing was queued */
            assert_int_equal(s1.executed_ops + s1.pending_ops, s0.executed_ops + s0.pending_ops);
        assert_true(fsdt_all_equal(h.p, packed, FILL));
        assert_true(fsdt_guards_intact(h.p, packed));
        hbuf_free(&h);
    }
    /* device memory where host memory is expected */
    dbuf other = dbuf_make(packed);
    DLTensor t = device_view(&c, &dev, 0);
    assert_int_equal(fsd_pack_to_host(e.ctx[1], &t, other.p, packed, NULL),
                     FSD_ERROR_INVALID_ARGUMENT);
    assert_int_equal(fsd_unpack_from_host(e.ctx[1], other.p, packed, &t, NULL),
                     FSD_ERROR_INVALID_ARGUMENT);
    unsigned char *back = fetch(&dev, NULL);
    CUDA_OK(cudaStreamSynchronize(NULL));
    assert_int_equal(fsdt_first_diff(back, c.storage, c.storage_size), -1);
    dbuf_free(&other);
    free_later();
    dbuf_free(&dev);
    fsdt_case_free(&c);
    env_close(&e);
}

#endif
