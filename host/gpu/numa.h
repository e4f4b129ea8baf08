/*
 * numa.h — placing the context's pinned chunks on the NUMA node near its GPU.
 *
 * What and why: on a machine with several NUMA nodes, the GPU's PCIe root complex hangs off
 * one socket. A DMA into pinned pages of the other socket crosses the inter-socket link, and so
 * does the CPU threads' copy between those pages and the caller's buffer: the pinned chunks
 * are best on the GPU's node. The system says which node that is in sysfs
 * (/sys/bus/pci/devices/<PCI bus id>/numa_node; -1 when it does not know or there is one node),
 * and cudaDeviceGetPCIBusId gives the bus id. Where it names a node and more than one node is
 * online, the chunks are mmap'd, given the kernel's MPOL_PREFERRED policy for that node (the
 * mbind system call: no libnuma needed) and page-locked with cudaHostRegister(Portable), which
 * faults the pages in under that policy. Everywhere else (one node, no sysfs, a call refused)
 * they come from cudaHostAlloc(Portable) as before. Preferred, not bound: a full node still
 * gives memory from another one rather than fail. Where the CPU threads run is the operating
 * system's (and the caller's: numactl, taskset) business.
 */
#ifndef FSD_NUMA_H
#define FSD_NUMA_H

#include <stddef.h>

/* The NUMA node sysfs (under `sysfs_root`, normally "/sys") reports for CUDA device `device`,
 * or -1 when it reports none, there is one node online, or a query fails. */
int fsd_numa_node_of_device(int device, const char *sysfs_root);

/* n bytes of portable page-locked host memory whose pages the kernel prefers to place on
 * `node` (>= 0); NULL when any step fails (nothing is left behind). */
void *fsd_numa_alloc_pinned(size_t n, int node);
/* Frees memory of fsd_numa_alloc_pinned (n: the size it was given). */
void fsd_numa_free_pinned(void *p, size_t n);

#endif
