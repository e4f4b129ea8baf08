#!/usr/bin/python3
"""lmcache_vs_fastserde.py — fastserde.lmcache against LMCache's FastSerializer /
FastDeserializer, in one process, on the same tensors.

    python3 bench/lmcache_vs_fastserde.py [--repeats N] [--quick] [--json FILE]

fastserde is whatever `import fastserde` finds (the installed package, or python/ with
FASTSERDE_LIBRARY); LMCache's classes are lmcache.storage_backend.serde.fast_serde when
importable, else the seed's code copied (python/tests/seed_fast_serde.py): the same one-line
bodies. For each case both contenders run interleaved, round after round (a noisy neighbour
hits both alike); a round times a loop of calls (enough for ~20 ms), and the table gives the
median time per call over the rounds and the ratio LMCache / fastserde (> 1: fastserde
faster). Every result is checked against LMCache's before timing.

Cases (bf16 KV-cache chunks [2, layers, tokens, heads*dim] as LMCache stores them):
  to_bytes contiguous   a whole chunk (64 KiB .. 64 MiB)
  to_bytes token slice  kv[:, :, 256:512] of a 1024-token cache (runs of heads*dim*2 bytes)
  to_bytes permuted     [2, L, T, D] -> [L, 2, T, D] (whole planes exchanged)
  to_bytes transposed   the last two dims swapped (element-wise)
  from_bytes            FastDeserializer(bf16).from_bytes(bytes) (both torch.frombuffer)
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings

import torch

import fastserde
import fastserde.lmcache as ours

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    import lmcache.storage_backend.serde.fast_serde as theirs
    THEIRS = f"LMCache ({theirs.__file__})"
except ImportError:
    sys.path.insert(0, os.path.join(HERE, os.pardir, "python", "tests"))
    import seed_fast_serde as theirs
    THEIRS = "the seed's code (python/tests/seed_fast_serde.py; lmcache not importable)"


def kv(layers, tokens, width):
    return torch.randn(2, layers, tokens, width).to(torch.bfloat16)


def cases(quick):
    # (label, MiB of packed bytes, tensor)
    sizes = [(1, 32, 512), (4, 256, 1024)] if quick else \
        [(1, 32, 512), (2, 256, 512), (4, 256, 1024), (16, 256, 1024), (32, 256, 2048)]
    for layers, tokens, width in sizes:
        c = kv(layers, tokens, width)
        yield "contiguous", c
    for layers, tokens, width in sizes[1:]:
        big = kv(layers, 1024, width)
        yield "token slice", big[:, :, 256:512]
    for layers, tokens, width in sizes[1:]:
        yield "permuted", kv(layers, tokens, width).permute(1, 0, 2, 3)
    for layers, tokens, width in sizes[1:2] + sizes[-2:-1]:
        yield "transposed", kv(layers, tokens, width).transpose(-1, -2)


def per_call(fn, arg, budget=0.02):
    n, t0 = 0, time.perf_counter()
    while True:
        fn(arg)
        n += 1
        dt = time.perf_counter() - t0
        if dt >= budget:
            return dt / n


def race(contenders, arg, repeats):
    times = {name: [] for name, _ in contenders}
    for _ in range(repeats):
        for name, fn in contenders:
            times[name].append(per_call(fn, arg))
    return {name: statistics.median(ts) for name, ts in times.items()}


def fmt(seconds):
    return f"{seconds * 1e6:9.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:9.2f} ms"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    warnings.simplefilter("ignore")  # torch.frombuffer's read-only warning (both sides)

    s_ours, s_theirs = ours.FastSerializer(), theirs.FastSerializer()
    d_ours, d_theirs = ours.FastDeserializer(torch.bfloat16), theirs.FastDeserializer(torch.bfloat16)
    load0 = os.getloadavg()
    print(f"fastserde {fastserde.__version__} ({fastserde.library_path()}) vs {THEIRS}")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
          f"{torch.__version__} ({torch.get_num_threads()} threads), context cpu_threads "
          f"{fastserde.default_context().memory()['cpu_threads']}, load average "
          f"{load0[0]:.2f}; median of {args.repeats} rounds, interleaved")
    print(f"{'case':<26}{'MiB':>7}{'LMCache':>14}{'fastserde':>14}{'ratio':>8}")
    rows = []
    for label, t in cases(args.quick):
        want = s_theirs.to_bytes(t)
        assert s_ours.to_bytes(t) == want, label
        r = race([("lmcache", s_theirs.to_bytes), ("fastserde", s_ours.to_bytes)], t,
                 args.repeats)
        rows.append(dict(case=f"to_bytes {label}", mib=len(want) / 2**20, **r))
        if label == "contiguous":
            assert torch.equal(d_ours.from_bytes(want), d_theirs.from_bytes(want))
            r = race([("lmcache", d_theirs.from_bytes), ("fastserde", d_ours.from_bytes)], want,
                     args.repeats)
            rows.append(dict(case="from_bytes", mib=len(want) / 2**20, **r))
        row = rows[-1] if label != "contiguous" else rows[-2]
        for row in rows[-2:] if label == "contiguous" else rows[-1:]:
            print(f"{row['case']:<26}{row['mib']:7.2f}{fmt(row['lmcache']):>14}"
                  f"{fmt(row['fastserde']):>14}{row['lmcache'] / row['fastserde']:7.2f}x")
    load1 = os.getloadavg()
    print(f"load average at the end: {load1[0]:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(reference=THEIRS, load=[load0[0], load1[0]], rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
