/* numa.c — pinned chunks on the GPU's NUMA node (see numa.h). */
#define _GNU_SOURCE /* syscall */
#include <stdio.h>
#include <string.h>
#if defined(__linux__)
#include <linux/mempolicy.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <cuda_runtime_api.h>

#include "error.h"
#include "numa.h"

/* The first line of a small file, or 0 when it cannot be read. */
static int read_line(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    int ok = fgets(buf, (int)n, f) != NULL;
    fclose(f);
    if (ok)
        buf[strcspn(buf, "\n")] = '\0';
    return ok;
}

int fsd_numa_node_of_device(int device, const char *sysfs_root)
{
    char online[64], bus[32], path[256], node[32];
    snprintf(path, sizeof path, "%s/devices/system/node/online", sysfs_root);
    if (!read_line(path, online, sizeof online) || strcmp(online, "0") == 0)
        return -1; /* one node (or no sysfs): nothing to choose */
    cudaError_t e = cudaDeviceGetPCIBusId(bus, (int)sizeof bus, device);
    if (e != cudaSuccess) {
        fsd_cuda_forget(e);
        return -1;
    }
    for (char *c = bus; *c; c++) /* sysfs spells the bus id in lower case */
        if (*c >= 'A' && *c <= 'F')
            *c = (char)(*c - 'A' + 'a');
    snprintf(path, sizeof path, "%s/bus/pci/devices/%s/numa_node", sysfs_root, bus);
    if (!read_line(path, node, sizeof node))
        return -1;
    int n = -1;
    return sscanf(node, "%d", &n) == 1 && n >= 0 && n < 1024 ? n : -1;
}

#if defined(__linux__) && defined(SYS_mbind)
void *fsd_numa_alloc_pinned(size_t n, int node)
{
    if (n == 0 || node < 0 || node >= 1024)
        return NULL;
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    unsigned long mask[1024 / (8 * sizeof(unsigned long))];
    memset(mask, 0, sizeof mask);
    mask[node / (8 * sizeof(unsigned long))] = 1ul << (node % (8 * sizeof(unsigned long)));
    if (syscall(SYS_mbind, p, n, MPOL_PREFERRED, mask, (unsigned long)(8 * sizeof mask), 0ul) != 0) {
        munmap(p, n);
        return NULL;
    }
    cudaError_t e = cudaHostRegister(p, n, cudaHostRegisterPortable);
    if (e != cudaSuccess) {
        fsd_cuda_forget(e);
        munmap(p, n);
        return NULL;
    }
    return p;
}

void fsd_numa_free_pinned(void *p, size_t n)
{
    if (p == NULL)
        return;
    fsd_cuda_forget(cudaHostUnregister(p));
    munmap(p, n);
}
#else
void *fsd_numa_alloc_pinned(size_t n, int node)
{
    (void)n;
    (void)node;
    return NULL;
}

void fsd_numa_free_pinned(void *p, size_t n)
{
    (void)p;
    (void)n;
}
#endif
