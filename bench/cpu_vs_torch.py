#!/usr/bin/python3
"""cpu_vs_torch.py — fastserde's CPU path against memcpy, PyTorch and NumPy, in one process.

    /usr/bin/python3 bench/cpu_vs_torch.py [path/to/libfastserde.so] [--json [FILE]]
                                           [--repeats N] [--quick] [--only TEXT]

The library comes from argv or FASTSERDE_LIBRARY. For each layout (64 MiB of packed bytes,
--quick: 16 MiB) it times, interleaved round by round so that a noisy neighbour hits every
contender alike, and reports medians:

  memcpy     ctypes.memmove of the same number of bytes between two contiguous buffers (one
             thread: glibc's memcpy) — the baseline of every ratio;
  pack       fsd_pack_to_host on a context with cpu_threads = 0 (one thread per core);
  unpack     fsd_unpack_from_host into the same view over another buffer, same context;
  pack 1t    fsd_pack (the calling thread only);
  torch      t.contiguous() (torch's own thread count set to the cores);
  numpy      numpy.ascontiguousarray(t.numpy());
  fastser    LMCache's FastSerializer path: t.contiguous().cpu().view(torch.uint8).numpy()
             .tobytes().

fastserde writes into buffers allocated once; torch, numpy and FastSerializer allocate their
result on every call, as their users do. Then small tensors (4 KiB .. 256 KiB): microseconds
per call of memcpy, fsd_pack (one thread) and fsd_pack_to_host / fsd_unpack_from_host (the
context), each a mean over a loop of calls, median over rounds.

Goals of issue 6 (checked in the last columns): runs >= 256 B: pack and unpack >= 0.80 x
memcpy; runs of 16..255 B: >= 0.60 x; transposes: >= 0.40 x; every layout: pack >= 3 x torch
and >= 5 x FastSerializer; small tensors: the context costs at most a fixed overhead over one
thread.
"""
import argparse
import ctypes
import json
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch

# The ctypes binding of the C ABI is the Python package's (python/fastserde/_lib.py), imported
# from this checkout; FASTSERDE_LIBRARY tells it which library to load (main sets it).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "python"))
from fastserde import _lib  # noqa: E402


def check(lib, status, what):
    if status != 0:
        sys.exit(f"{what}: {lib.fsd_status_string(status).decode()}")


class View:
    """A DLTensor over a torch tensor's memory (data_ptr already includes its offset)."""

    def __init__(self, t):
        self.t = t
        self.shape = (ctypes.c_int64 * t.dim())(*t.shape)
        self.strides = (ctypes.c_int64 * t.dim())(*t.stride())
        e = t.element_size()
        self.dl = _lib.DLTensor(t.data_ptr(), _lib.DLDevice(_lib.kDLCPU, 0), t.dim(),
                                _lib.DLDataType(_lib.kDLUInt, 8 * e, 1), self.shape, self.strides, 0)
        self.ref = ctypes.byref(self.dl)
        self.nbytes = t.numel() * e


DTYPES = {1: torch.uint8, 2: torch.float16, 4: torch.float32, 8: torch.float64}
INTS = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def bits(t):
    """The same elements as integers (random bytes make NaNs, which never compare equal)."""
    return t.view(INTS[t.element_size()])


def fill(t):
    """Random bytes in a contiguous tensor (no all-zero pages)."""
    t.view(-1).view(torch.uint8).random_(0, 256)
    return t


# ---------------------------------------------------------------------------------------------
# Layouts: each returns (the base tensor, filled, and the strided view over it).

def lay_runs(total, run_bytes, e=2, gap=2):
    n = run_bytes // e
    rows = total // run_bytes
    base = fill(torch.empty(rows, n * gap, dtype=DTYPES[e]))
    return base, base[:, :n]


def lay_lthd(total, e=2):
    L, T, H, D = 64, 256, 16, 128  # 64 MiB at e = 2
    L = max(1, total // (T * H * D * e))
    base = fill(torch.empty(L, T, H, D, dtype=DTYPES[e]))
    return base, base.permute(0, 2, 1, 3)


def lay_transpose(total, e):
    A = B = 1024
    batch = max(1, total // (A * B * e))
    base = fill(torch.empty(batch, A, B, dtype=DTYPES[e]))
    return base, base.transpose(1, 2)


def layouts(total):
    rows = [
        ("runs 2 KiB", "runs>=256", lambda: lay_runs(total, 2048)),
        ("runs 256 B", "runs>=256", lambda: lay_runs(total, 256)),
        ("[L,T,H,D]->[L,H,T,D] (256 B runs)", "runs>=256", lambda: lay_lthd(total)),
    ]
    for r in (16, 48, 64, 100, 128, 200):
        rows.append((f"runs {r} B", "runs16-255", lambda r=r: lay_runs(total, r)))
    for e in (2, 1, 4, 8):
        name = "transpose last two dims" + (" fp16" if e == 2 else f" {e} B")
        rows.append((name, "transpose", lambda e=e: lay_transpose(total, e)))
    return rows


GOAL_MEMCPY = {"runs>=256": 0.80, "runs16-255": 0.60, "transpose": 0.40}
GOAL_TORCH, GOAL_FASTSER = 3.0, 5.0


def timed(fn):
    t0 = time.perf_counter()
    r = fn()
    dt = time.perf_counter() - t0
    del r
    return dt


def bench_layout(lib, ctx, name, cat, make, repeats):
    base, view = make()
    v = View(view)
    n = v.nbytes
    src = fill(torch.empty(n, dtype=torch.uint8))
    dst = torch.empty(n, dtype=torch.uint8)
    dst.fill_(1)
    packed = torch.empty(n, dtype=torch.uint8)
    packed.fill_(1)
    # unpack target: the same view over a second base
    base2 = torch.zeros_like(base)
    target = base2.as_strided(view.shape, view.stride(), view.storage_offset())
    vt = View(target)
    ctx_p = ctypes.c_void_p(ctx)
    src_p, dst_p, packed_p = src.data_ptr(), dst.data_ptr(), packed.data_ptr()
    nn = ctypes.c_size_t(n)
    a = view.numpy()

    ops = {
        "memcpy": lambda: ctypes.memmove(dst_p, src_p, n),
        "pack": lambda: lib.fsd_pack_to_host(ctx_p, v.ref, packed_p, nn, None),
        "unpack": lambda: lib.fsd_unpack_from_host(ctx_p, packed_p, nn, vt.ref, None),
        "pack 1t": lambda: lib.fsd_pack(v.ref, packed_p, nn, None),
        "torch": lambda: view.contiguous(),
        "numpy": lambda: np.ascontiguousarray(a),
        "fastser": lambda: view.contiguous().cpu().view(torch.uint8).numpy().tobytes(),
    }
    # Correctness first: pack equals torch's bytes; unpack rebuilds the view.
    check(lib, lib.fsd_pack_to_host(ctx_p, v.ref, packed_p, nn, None), f"{name}: pack")
    want = view.contiguous().view(-1).view(torch.uint8)
    if not torch.equal(packed, want):
        sys.exit(f"{name}: fsd_pack_to_host differs from torch .contiguous()")
    check(lib, lib.fsd_unpack_from_host(ctx_p, packed_p, nn, vt.ref, None), f"{name}: unpack")
    if not torch.equal(bits(target), bits(view)):
        sys.exit(f"{name}: fsd_unpack_from_host did not rebuild the view")
    check(lib, lib.fsd_pack(v.ref, packed_p, nn, None), f"{name}: pack 1t")
    if not torch.equal(packed, want):
        sys.exit(f"{name}: fsd_pack differs from torch .contiguous()")
    del want
    times = {k: [] for k in ops}
    for f in ops.values():  # warm-up
        timed(f)
    for _ in range(repeats):
        for k, f in ops.items():
            times[k].append(timed(f))
    med = {k: statistics.median(t) for k, t in times.items()}
    gbs = {k: n / t / 1e9 for k, t in med.items()}
    row = {"layout": name, "category": cat, "bytes": n, "shape": list(view.shape),
           "strides": list(view.stride()), "elem_size": view.element_size(),
           "gbps": gbs, "seconds": med}
    row["pack_x_memcpy"] = gbs["pack"] / gbs["memcpy"]
    row["unpack_x_memcpy"] = gbs["unpack"] / gbs["memcpy"]
    row["pack1t_x_memcpy"] = gbs["pack 1t"] / gbs["memcpy"]
    row["pack_x_torch"] = gbs["pack"] / gbs["torch"]
    row["pack_x_numpy"] = gbs["pack"] / gbs["numpy"]
    row["pack_x_fastser"] = gbs["pack"] / gbs["fastser"]
    goal = GOAL_MEMCPY[cat]
    row["goals"] = {
        f"pack >= {goal} x memcpy": row["pack_x_memcpy"] >= goal,
        f"unpack >= {goal} x memcpy": row["unpack_x_memcpy"] >= goal,
        f"pack >= {GOAL_TORCH} x torch": row["pack_x_torch"] >= GOAL_TORCH,
        f"pack >= {GOAL_FASTSER} x fastser": row["pack_x_fastser"] >= GOAL_FASTSER,
    }
    return row


# ---------------------------------------------------------------------------------------------
# Small tensors: microseconds per call.

def small_layouts():
    rows = []
    for kib in (4, 16, 64, 256):
        total = kib << 10
        rows.append((f"runs 256 B, {kib} KiB", lambda total=total: lay_runs(total, 256)))
        side = int((total // 2) ** 0.5)
        a = 1 << (side.bit_length() - 1)
        b = total // 2 // a

        def tr(a=a, b=b):
            base = fill(torch.empty(a, b, dtype=torch.float16))
            return base, base.t()
        rows.append((f"transpose fp16, {kib} KiB", tr))
    return rows


def per_call(fn, n_calls):
    t0 = time.perf_counter()
    for _ in range(n_calls):
        fn()
    return (time.perf_counter() - t0) / n_calls


def bench_small(lib, ctx, name, make, repeats):
    base, view = make()
    v = View(view)
    n = v.nbytes
    src = fill(torch.empty(n, dtype=torch.uint8))
    dst = torch.empty(n, dtype=torch.uint8)
    packed = torch.empty(n, dtype=torch.uint8)
    base2 = torch.zeros_like(base)
    vt = View(base2.as_strided(view.shape, view.stride(), view.storage_offset()))
    ctx_p = ctypes.c_void_p(ctx)
    src_p, dst_p, packed_p = src.data_ptr(), dst.data_ptr(), packed.data_ptr()
    nn = ctypes.c_size_t(n)
    ops = {
        "memcpy": lambda: ctypes.memmove(dst_p, src_p, n),
        "pack 1t": lambda: lib.fsd_pack(v.ref, packed_p, nn, None),
        "pack": lambda: lib.fsd_pack_to_host(ctx_p, v.ref, packed_p, nn, None),
        "unpack": lambda: lib.fsd_unpack_from_host(ctx_p, packed_p, nn, vt.ref, None),
        "torch": lambda: view.contiguous(),
    }
    check(lib, lib.fsd_pack_to_host(ctx_p, v.ref, packed_p, nn, None), f"{name}: pack")
    if not torch.equal(packed, view.contiguous().view(-1).view(torch.uint8)):
        sys.exit(f"{name}: fsd_pack_to_host differs from torch .contiguous()")
    calls = max(20, int(2e-3 / max(per_call(ops["pack 1t"], 20), 1e-7)))
    times = {k: [] for k in ops}
    for _ in range(repeats):
        for k, f in ops.items():
            times[k].append(per_call(f, calls))
    us = {k: statistics.median(t) * 1e6 for k, t in times.items()}
    return {"layout": name, "bytes": n, "us": us, "calls_per_sample": calls,
            "pack_over_memcpy_us": us["pack"] - us["memcpy"],
            "pack_over_1t_us": us["pack"] - us["pack 1t"],
            "unpack_over_memcpy_us": us["unpack"] - us["memcpy"]}


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("library", nargs="?", default=os.environ.get("FASTSERDE_LIBRARY"))
    ap.add_argument("--json", nargs="?", const="-", default=None,
                    help="write the results as JSON to FILE ('-' or no FILE: stdout, no table)")
    ap.add_argument("--repeats", type=int, default=11, help="timed rounds per layout (11)")
    ap.add_argument("--quick", action="store_true", help="16 MiB layouts, 5 rounds")
    ap.add_argument("--only", default=None, help="only layouts whose name contains TEXT")
    ap.add_argument("--small-overhead-us", type=float, default=25.0,
                    help="fixed overhead the small-tensor goal allows over one thread (25 us)")
    args = ap.parse_args()
    if not args.library:
        sys.exit("usage: cpu_vs_torch.py path/to/libfastserde.so (or set FASTSERDE_LIBRARY)")
    os.environ["FASTSERDE_LIBRARY"] = args.library
    lib = _lib.load()
    cores = os.cpu_count() or 1
    torch.set_num_threads(cores)
    cfg = _lib.ContextConfig.default()  # cpu_threads 0: one thread per core
    ctx = ctypes.c_void_p()
    check(lib, lib.fsd_context_create(ctypes.byref(ctx), ctypes.byref(cfg)), "fsd_context_create")
    total = (16 if args.quick else 64) << 20
    repeats = 5 if args.quick else args.repeats
    to_stdout = args.json == "-"
    out = sys.stderr if to_stdout else sys.stdout

    v = lib.fsd_version()
    meta = {"fastserde": f"{v // 10000}.{v // 100 % 100}.{v % 100}", "torch": torch.__version__,
            "numpy": np.__version__, "cores": cores, "torch_threads": torch.get_num_threads(),
            "machine": platform.machine(), "processor": cpu_name(), "bytes": total,
            "repeats": repeats}
    print(f"fastserde {meta['fastserde']} CPU path vs torch {meta['torch']} "
          f"({meta['torch_threads']} threads), numpy {meta['numpy']}; {cores} cores, "
          f"{meta['processor']}; {total >> 20} MiB per layout, median of {repeats} rounds", file=out)
    rows, small = [], []
    hdr = (f"{'layout':36} {'memcpy':>7} {'pack':>7} {'unpack':>7} {'pack1t':>7} {'torch':>6} "
           f"{'numpy':>6} {'fastser':>7} | {'pack':>5} {'unpk':>5} {'1t':>5} {'xtorch':>6} "
           f"{'xfser':>6}  goals")
    print("\nGB/s of packed bytes | ratios: pack, unpack, pack 1t vs memcpy; pack vs torch, "
          "FastSerializer", file=out)
    print(hdr, file=out)
    for name, cat, make in layouts(total):
        if args.only and args.only not in name:
            continue
        r = bench_layout(lib, ctx.value, name, cat, make, repeats)
        rows.append(r)
        g = r["gbps"]
        ok = "met" if all(r["goals"].values()) else "MISSED: " + ", ".join(
            k for k, met in r["goals"].items() if not met)
        print(f"{name:36} {g['memcpy']:7.2f} {g['pack']:7.2f} {g['unpack']:7.2f} {g['pack 1t']:7.2f} "
              f"{g['torch']:6.2f} {g['numpy']:6.2f} {g['fastser']:7.2f} | {r['pack_x_memcpy']:5.2f} "
              f"{r['unpack_x_memcpy']:5.2f} {r['pack1t_x_memcpy']:5.2f} {r['pack_x_torch']:6.1f} "
              f"{r['pack_x_fastser']:6.1f}  {ok}", file=out, flush=True)

    print("\nSmall tensors: microseconds per call (mean of a loop of calls, median of rounds); "
          "ctypes call cost included in every column", file=out)
    print(f"{'layout':28} {'memcpy':>8} {'pack 1t':>8} {'pack':>8} {'unpack':>8} {'torch':>8} | "
          f"{'pack-1t':>8} {'pack-memcpy':>11}", file=out)
    for name, make in small_layouts():
        if args.only and args.only not in name:
            continue
        s = bench_small(lib, ctx.value, name, make, repeats)
        s["goal_met"] = s["pack_over_1t_us"] <= args.small_overhead_us
        small.append(s)
        u = s["us"]
        print(f"{name:28} {u['memcpy']:8.2f} {u['pack 1t']:8.2f} {u['pack']:8.2f} {u['unpack']:8.2f} "
              f"{u['torch']:8.2f} | {s['pack_over_1t_us']:8.2f} {s['pack_over_memcpy_us']:11.2f}",
              file=out, flush=True)
    lib.fsd_context_destroy(ctx)
    if args.json is not None:
        doc = {"meta": meta, "layouts": rows, "small": small}
        if to_stdout:
            json.dump(doc, sys.stdout, indent=1)
            print()
        else:
            with open(args.json, "w") as f:
                json.dump(doc, f, indent=1)


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
