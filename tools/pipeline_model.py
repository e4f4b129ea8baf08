#!/usr/bin/env python3
"""pipeline_model.py — the model behind the round trip's default chunk size and ring depth
(docs/architecture.md, "Chunk size and ring depth"). All figures it prints are modeled.

A round trip through pageable host memory moves a tensor of S bytes in chunks of C bytes
through a ring of n slots, in three stages per chunk: the kernel (pack into a device chunk),
the DMA over PCIe (device chunk <-> pinned chunk), the host copy (pinned chunk <-> the caller's
memory, on the context's CPU threads). The schedule simulated here is the one host/context/transfer.c
enqueues, dependency for dependency:

  pack, chunk k in slot s = k mod n (host loop, in order):
    if k >= n: the host waits for chunk k-n's DMA, then copies it out (H)
    kernel k   starts after: the host enqueued it, kernel k-1, the DMA of chunk k-n (slot s)
    DMA k      starts after: kernel k, DMA k-1
    after the loop the host copies out the last n chunks in order
  unpack, chunk k:
    the host waits for the DMA of chunk k-n (it read pinned slot s), then copies chunk k in (H)
    DMA k      starts after: the host's copy k, DMA k-1, kernel k-n (it read device slot s)
    kernel k   starts after: DMA k, kernel k-1

Stage times per chunk: kernel o_k + C/B_k, DMA o_d + C/B_p, host o_h + C/(B_h * T_eff), with
T_eff the threads fsd_cpu_memcpy_parallel uses for C bytes (one per 4 MiB, at most T) and every
enqueue costing the host o_api. The efficiency of a configuration for a size is the time of the
bottleneck stage alone (S / min(B_p, B_h * T)) over the simulated time: 1 is a perfectly
overlapped pipeline; fill and drain (the first chunk's stages before the bottleneck's, the last
chunk's after) and per-chunk overheads cost the rest.

  python3 tools/pipeline_model.py [--host-gbs 10.3] [--threads 1,8] [--pcie 50,55]
"""
import argparse

MIB = 1 << 20
KIB = 1 << 10
# Bytes per thread from which a chunk's host copy is split over the context's threads:
# FSD_RING_MIN_BYTES_PER_THREAD (host/context/transfer.c); --per-thread-kib 4096 models the CPU path's
# threshold, which the ring used before (FSD_CPU_MIN_BYTES_PER_THREAD).
PER_THREAD = 256 * KIB

# Fixed costs per chunk, modeled (microseconds): a kernel launch reaching the GPU, a DMA's
# setup, the host's wake-up from a blocking-sync event wait, waking and joining the pool's
# threads (when the copy is split), one runtime call enqueueing work.
O_KERNEL, O_DMA, O_HOST, O_POOL, O_API = 4.0, 3.0, 10.0, 20.0, 1.5
KERNEL_GBS = 1000.0  # the pack kernel on an HBM GPU, strided reads: a conservative figure


def stage_times(c, host_gbs, threads, pcie_gbs):
    t_eff = max(1, min(threads, c // PER_THREAD))
    k = O_KERNEL + c / (KERNEL_GBS * 1e3)          # bytes / (GB/s * 1e3) = microseconds
    d = O_DMA + c / (pcie_gbs * 1e3)
    h = O_HOST + (O_POOL if t_eff > 1 else 0.0) + c / (host_gbs * t_eff * 1e3)
    return k, d, h


def simulate(size, c, n, host_gbs, threads, pcie_gbs, pack=True):
    """Simulated time (us) of one call, the schedule of host/context/transfer.c."""
    chunks = [min(c, size - i) for i in range(0, size, c)]
    N = len(chunks)
    k_end, d_end = [0.0] * N, [0.0] * N
    host = 0.0
    if pack:
        def host_copy(i):
            nonlocal host
            host = max(host, d_end[i]) + stage_times(chunks[i], host_gbs, threads, pcie_gbs)[2]
        for i in range(N):
            if i >= n:
                host_copy(i - n)
            kt, dt, _ = stage_times(chunks[i], host_gbs, threads, pcie_gbs)
            host += 4 * O_API  # wait, kernel, record, wait
            start = max(host, k_end[i - 1] if i else 0.0, d_end[i - n] if i >= n else 0.0)
            k_end[i] = start + kt
            host += 2 * O_API  # copy, record
            d_end[i] = max(k_end[i], d_end[i - 1] if i else 0.0) + dt
        for i in range(max(0, N - n), N):
            host_copy(i)
        return host
    for i in range(N):
        kt, dt, ht = stage_times(chunks[i], host_gbs, threads, pcie_gbs)
        host = max(host, d_end[i - n] if i >= n else 0.0) + ht
        host += 2 * O_API
        d_end[i] = max(host, d_end[i - 1] if i else 0.0, k_end[i - n] if i >= n else 0.0) + dt
        host += 4 * O_API
        k_end[i] = max(d_end[i], k_end[i - 1] if i else 0.0) + kt
    return max(host, k_end[-1])


def efficiency(size, c, n, host_gbs, threads, pcie_gbs, pack=True):
    bound = size / (min(pcie_gbs, host_gbs * threads) * 1e3)
    return bound / simulate(size, c, n, host_gbs, threads, pcie_gbs, pack)


def main():
    global PER_THREAD
    ap = argparse.ArgumentParser()
    ap.add_argument('--host-gbs', type=float, default=10.3,
                    help='memcpy GB/s of one core (measured: see docs/architecture.md)')
    ap.add_argument('--threads', default='1,4,8,16')
    ap.add_argument('--pcie', default='50,55')
    ap.add_argument('--chunks-mib', default='0.5,1,2,4,8,16,32')
    ap.add_argument('--depths', default='2,3,4,6,8')
    ap.add_argument('--per-thread-kib', type=int, default=PER_THREAD // KIB)
    args = ap.parse_args()
    PER_THREAD = args.per_thread_kib * KIB
    threads = [int(x) for x in args.threads.split(',')]
    pcies = [float(x) for x in args.pcie.split(',')]
    sizes = [s * MIB for s in (1, 2, 4, 8, 16, 32, 64, 128, 256)]
    cs = [int(float(x) * MIB) for x in args.chunks_mib.split(',')]
    ns = [int(x) for x in args.depths.split(',')]
    print(f'modeled: one core {args.host_gbs} GB/s, PCIe {pcies} GB/s, kernel {KERNEL_GBS} GB/s, '
          f'fixed us: kernel {O_KERNEL}, DMA {O_DMA}, host {O_HOST}, call {O_API}')
    print(f'host copy split over the threads from {PER_THREAD // KIB} KiB per thread')
    print('efficiency (mean over 1..256 MiB, pack and unpack, both PCIe figures; worst for'
          ' 8 MiB and more in brackets), modeled:')
    rows = []
    for c in cs:
        for n in ns:
            line = []
            for t in threads:
                effs = [(s, efficiency(s, c, n, args.host_gbs, t, p, pk))
                        for s in sizes for p in pcies for pk in (True, False)]
                mean = sum(e for _, e in effs) / len(effs)
                worst = min(e for s, e in effs if s >= 8 * MIB)
                line.append((mean, worst))
            rows.append((c, n, line))
    head = ''.join(f'{"T=" + str(t):>14}' for t in threads)
    print(f'{"chunk":>9} {"ring":>4} {head}  ring MiB')
    for c, n, line in rows:
        print(f'{c / MIB:7.2f}Mi {n:4d} ' + ''.join(f'{m:8.3f} [{w:.2f}]' for m, w in line) +
              f'  {c * n / MIB:7.1f}')
    print()
    print('efficiency per size (pack / unpack, PCIe 50 GB/s, modeled):')
    for c, n in ((8 * MIB, 3), (2 * MIB, 4)):
        for t in threads:
            cells = ' '.join(f'{efficiency(s, c, n, args.host_gbs, t, 50.0, True):.2f}/'
                             f'{efficiency(s, c, n, args.host_gbs, t, 50.0, False):.2f}'
                             for s in sizes)
            print(f'  {c // MIB:2d} MiB x {n}, T={t:2d}: ' + cells)
    print('  sizes (MiB):', ' '.join(str(s // MIB) for s in sizes))


if __name__ == '__main__':
    main()
