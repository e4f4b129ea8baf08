/*
 * test_device_memory_mock.c — how a context uses memory and host threads on a GPU, on the
 * stand-in runtime:
 *  - fsd_from_bytes allocates its CUDA tensor in stream order from the context's pool
 *    (cudaMallocFromPoolAsync: no cudaMalloc, which synchronises the device) and the deleter
 *    frees it with cudaFreeAsync (no cudaFree); the tensor may outlive the context; the mock
 *    reports any use of the memory before its allocation is reached; with allocation hooks the
 *    hooks are used and no pool is made;
 *  - the pinned chunks are portable (cudaHostAllocPortable);
 *  - every host wait of a context sleeps (events made with cudaEventBlockingSync);
 *  - NUMA: the node sysfs reports for the GPU (a fake sysfs tree), and pinned memory placed on
 *    a node (MPOL_PREFERRED, registered portable).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/mempolicy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "context.h"
#include "fastserde.h"
#include "fsdt_cuda_ok.h"
#include "mock_cuda.h"
#include "mock_hooks.h"
#include "numa.h"

#define BYTES 10000

static mockcuda_stats stats(void)
{
    mockcuda_stats s;
    mockcuda_drain();
    mockcuda_get_stats(&s);
    return s;
}

static fsd_context *small_context(fsd_allocator hooks)
{
    fsd_context_config cfg = FSD_CONTEXT_CONFIG_INIT;
    cfg.chunk_bytes = 4096;
    cfg.chunks = 3;
    cfg.cpu_threads = 2;
    cfg.allocator = hooks;
    fsd_context *ctx = NULL;
    assert_int_equal(fsd_context_create(&ctx, &cfg), FSD_SUCCESS);
    return ctx;
}

static DLManagedTensor *from_bytes(fsd_context *ctx, const unsigned char *bytes)
{
    DLManagedTensor *m = NULL;
    assert_int_equal(fsd_from_bytes(ctx, bytes, BYTES, (DLDataType){kDLInt, 16, 1},
                                    (DLDevice){kDLCUDA, 0}, &m), FSD_SUCCESS);
    unsigned char got[BYTES];
    mockcuda_peek(got, m->dl_tensor.data, BYTES); /* blocking: there on return */
    assert_memory_equal(got, bytes, BYTES);
    return m;
}

static void test_from_bytes_stream_ordered(void **state)
{
    (void)state;
    unsigned char bytes[BYTES];
    for (int i = 0; i < BYTES; i++)
        bytes[i] = (unsigned char)(i * 3 + 1);
    long pools0 = mockcuda_pools(), v0 = stats().violations;
    fsd_context *ctx = small_context((fsd_allocator){NULL, NULL, NULL});
    assert_int_equal(mockcuda_pools(), pools0 + 1);
    DLManagedTensor *keep = NULL;
    for (int round = 0; round < 12; round++) {
        mockcuda_set_seed((uint64_t)round);
        mockcuda_set_eager(round % 3 * 45);
        long mallocs = mockcuda_calls(MOCKCUDA_MALLOC), frees = mockcuda_calls(MOCKCUDA_FREE);
        long async = mockcuda_calls(MOCKCUDA_MALLOC_ASYNC), fasync = mockcuda_calls(MOCKCUDA_FREE_ASYNC);
        long syncs = mockcuda_calls(MOCKCUDA_DEVICE_SYNCHRONIZE);
        DLManagedTensor *m = from_bytes(ctx, bytes);
        if (round == 5) {
            keep = m; /* deleted after the context is gone */
        } else {
            m->deleter(m);
        }
        assert_int_equal(mockcuda_calls(MOCKCUDA_MALLOC), mallocs);
        assert_int_equal(mockcuda_calls(MOCKCUDA_FREE), frees);
        assert_int_equal(mockcuda_calls(MOCKCUDA_DEVICE_SYNCHRONIZE), syncs);
        assert_int_equal(mockcuda_calls(MOCKCUDA_MALLOC_ASYNC), async + 1);
        assert_int_equal(mockcuda_calls(MOCKCUDA_FREE_ASYNC), fasync + (round != 5));
    }
    long live = stats().device_allocs;
    fsd_context_destroy(ctx);
    assert_int_equal(mockcuda_pools(), pools0);
    assert_int_equal(stats().device_allocs, 1); /* the kept tensor */
    assert_true(live >= 1);
    unsigned char got[BYTES];
    mockcuda_peek(got, keep->dl_tensor.data, BYTES);
    assert_memory_equal(got, bytes, BYTES);
    keep->deleter(keep);
    mockcuda_stats s = stats();
    assert_int_equal(s.device_allocs, 0);
    assert_int_equal(s.violations, v0);
}

/* With hooks, the hooks allocate the tensor (the caller's allocator decides), no pool. */
static void test_from_bytes_hooks(void **state)
{
    (void)state;
    unsigned char bytes[BYTES];
    memset(bytes, 7, sizeof bytes);
    mockcuda_hooks c = MOCKCUDA_HOOKS_INIT;
    long pools0 = mockcuda_pools(), async = mockcuda_calls(MOCKCUDA_MALLOC_ASYNC);
    fsd_context *ctx = small_context((fsd_allocator){mockcuda_hook_alloc, mockcuda_hook_free, &c});
    assert_int_equal(mockcuda_pools(), pools0);
    long before = c.device;
    DLManagedTensor *m = from_bytes(ctx, bytes);
    assert_int_equal(c.device, before + 1);
    m->deleter(m);
    fsd_context_destroy(ctx);
    assert_int_equal(c.live, 0);
    assert_int_equal(mockcuda_calls(MOCKCUDA_MALLOC_ASYNC), async);
}

/* Pinned chunks are portable; a context's host waits sleep. */
static void test_portable_chunks_and_blocking_waits(void **state)
{
    (void)state;
    fsd_context *ctx = small_context((fsd_allocator){NULL, NULL, NULL});
    long flags = mockcuda_host_flags(ctx->pinned);
    assert_true(flags >= 0);
    assert_true((flags & cudaHostAllocPortable) != 0);
    assert_int_equal(ctx->numa_node, -1); /* the mock's bus ids are in no sysfs */
    /* round trips through pageable memory wait on events; from_bytes waits for the context */
    unsigned char *dev = NULL, host[BYTES], back[BYTES];
    CUDA_OK(cudaMalloc((void **)&dev, BYTES));
    for (int i = 0; i < BYTES; i++)
        host[i] = (unsigned char)i;
    int64_t shape[2] = {50, 100}, strides[2] = {1, 50};
    DLTensor t = {dev, {kDLCUDA, 0}, 2, {kDLInt, 16, 1}, shape, strides, 0};
    long spins = mockcuda_spin_waits(), waits = mockcuda_calls(MOCKCUDA_EVENT_SYNCHRONIZE);
    assert_int_equal(fsd_unpack_from_host(ctx, host, BYTES, &t, NULL), FSD_SUCCESS);
    assert_int_equal(fsd_pack_to_host(ctx, &t, back, BYTES, NULL), FSD_SUCCESS);
    assert_memory_equal(back, host, BYTES);
    DLManagedTensor *m = from_bytes(ctx, host);
    m->deleter(m);
    assert_true(mockcuda_calls(MOCKCUDA_EVENT_SYNCHRONIZE) > waits + 4);
    assert_int_equal(mockcuda_spin_waits(), spins);
    CUDA_OK(cudaFree(dev));
    fsd_context_destroy(ctx);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The node sysfs reports for the GPU: read from a fake sysfs tree. */
static void test_numa_node_from_sysfs(void **state)
{
    (void)state;
    char root[] = "/tmp/fsd-sysfs-XXXXXX", path[512], bus[32];
    assert_non_null(mkdtemp(root));
    CUDA_OK(cudaDeviceGetPCIBusId(bus, sizeof bus, 0));
    for (char *c = bus; *c; c++)
        if (*c >= 'A' && *c <= 'F')
            *c = (char)(*c - 'A' + 'a');
    const char *dirs[] = {"/devices", "/devices/system", "/devices/system/node", "/bus", "/bus/pci",
                          "/bus/pci/devices"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(path, sizeof path, "%s%s", root, dirs[i]);
        assert_int_equal(mkdir(path, 0700), 0);
    }
    snprintf(path, sizeof path, "%s/bus/pci/devices/%s", root, bus);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(fsd_numa_node_of_device(0, root), -1); /* no node list: -1 */
    snprintf(path, sizeof path, "%s/devices/system/node/online", root);
    write_file(path, "0-1\n");
    assert_int_equal(fsd_numa_node_of_device(0, root), -1); /* no numa_node file */
    snprintf(path, sizeof path, "%s/bus/pci/devices/%s/numa_node", root, bus);
    write_file(path, "1\n");
    assert_int_equal(fsd_numa_node_of_device(0, root), 1);
    write_file(path, "-1\n");
    assert_int_equal(fsd_numa_node_of_device(0, root), -1);
    write_file(path, "1\n");
    snprintf(path, sizeof path, "%s/devices/system/node/online", root);
    write_file(path, "0\n");
    assert_int_equal(fsd_numa_node_of_device(0, root), -1); /* one node: nothing to choose */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

/* Pinned memory placed on node 0 (every machine has one): the kernel's policy for the range
 * is "preferred node 0", and the runtime sees it registered, portable. */
static void test_numa_pinned_placement(void **state)
{
    (void)state;
    size_t n = (size_t)1 << 20;
    long registered = stats().registered;
    char *p = fsd_numa_alloc_pinned(n, 0);
    assert_non_null(p);
    int mode = -1;
    unsigned long mask = 0;
    assert_int_equal(syscall(SYS_get_mempolicy, &mode, &mask, 8 * sizeof mask, p, MPOL_F_ADDR), 0);
    assert_int_equal(mode, MPOL_PREFERRED);
    assert_int_equal(mask, 1ul);
    assert_int_equal(mockcuda_host_flags(p + n - 1), cudaHostRegisterPortable);
    assert_int_equal(stats().registered, registered + 1);
    memset(p, 1, n);
    fsd_numa_free_pinned(p, n);
    assert_int_equal(stats().registered, registered);
    assert_null(fsd_numa_alloc_pinned(n, -1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_bytes_stream_ordered),
        cmocka_unit_test(test_from_bytes_hooks),
        cmocka_unit_test(test_portable_chunks_and_blocking_waits),
        cmocka_unit_test(test_numa_node_from_sysfs),
        cmocka_unit_test(test_numa_pinned_placement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
