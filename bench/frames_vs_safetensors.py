#!/usr/bin/python3
"""frames_vs_safetensors.py — fastserde.frames against the `safetensors` package, in one
process, on the same tensors (issue 16: dumps and loads at least 2x safetensors' save / load).

    FASTSERDE_LIBRARY=build/libfastserde.so PYTHONPATH=python \\
        build/safetensors-venv/bin/python bench/frames_vs_safetensors.py [--repeats N]
        [--json FILE] [--smoke]

Write side, per case:  frames.dumps (checksum on), frames.dumps(checksum=False),
                       safetensors.torch.save, and fastserde.to_bytes (the plain pack into new
                       bytes: no header, no checksum) for reference.
Read side:             frames.loads (verify on), frames.loads(verify=False),
                       frames.loads(copy=False) (verified, then tensors sharing the frame's
                       memory: torch.frombuffer's semantics, which LMCache's deserializer has),
                       safetensors.torch.load, and fastserde.from_bytes for reference; and
                       "memcpy", one copy of safetensors' file into a new bytearray (malloc and
                       memcpy: the least any load that copies must do, and all that
                       safetensors.load does besides parsing its header).
Each function is given {name: tensor} (or the bytes) and returns what a user gets: bytes, or a
dict of tensors on the CPU. safetensors refuses non-contiguous tensors, so for a strided view
its call includes the .contiguous() it needs (fastserde packs the view in one pass).

Each case runs twice: "hot", the same input every call (a frame that fits the 32 MiB L3 stays
in it, as in a loop that re-reads one buffer), and "cold", distinct inputs in turn (at least
96 MiB of them, as frames arriving from disk or network are: not in any cache). The
contenders run interleaved, round after round (a noisy neighbour hits them alike); a
round times a loop of calls (at least --budget seconds) of each. Per round, the ratio
safetensors / fastserde is taken (> 1: fastserde faster); the table gives the median GB/s
(tensor bytes / time) over the rounds and the median of the per-round ratios. Every result is
checked (values, both directions through safetensors) before anything is timed.

Cases: bf16 KV-cache chunks [2, layers, 256 tokens, heads * head_dim] as LMCache stores them:
Llama-3-8B [2,32,256,1024] (32 MiB), Llama-3.1-70B [2,80,256,1024] (80 MiB), Qwen2.5-7B
[2,28,256,512] (14 MiB), Llama-3.2-1B [2,16,256,512] (8 MiB), and the Llama-3-8B chunk as a
token slice of a 512-token cache (strided). --smoke: tiny tensors, 2 rounds (a ctest check that
the script runs and its checks pass; its figures mean nothing).
"""
import argparse
import json
import os
import platform
import statistics
import time
import warnings

import torch

import fastserde
from fastserde import frames

try:
    import safetensors
    import safetensors.torch as st
except ImportError:
    raise SystemExit("frames_vs_safetensors: the safetensors package is not importable (run it "
                     "with build/safetensors-venv/bin/python, made by tools/setup.sh)")

SHAPES = [("Llama-3-8B", (2, 32, 256, 1024)), ("Llama-3.1-70B", (2, 80, 256, 1024)),
          ("Qwen2.5-7B", (2, 28, 256, 512)), ("Llama-3.2-1B", (2, 16, 256, 512))]
COLD_BYTES = 96 << 20
SMOKE_SHAPES = [("tiny", (2, 2, 16, 64)), ("small", (2, 4, 64, 128))]


def cases(smoke):
    """(label, layout, make): make() returns a new tensor of the case's layout (random values)."""
    shapes = SMOKE_SHAPES if smoke else SHAPES
    for label, shape in shapes:
        yield label, "contiguous", lambda shape=shape: torch.randn(shape).to(torch.bfloat16)
    label, shape = shapes[0]

    def token_slice(shape=shape):  # the chunk's 256 tokens out of a 512-token cache
        big = torch.randn(shape[0], shape[1], 2 * shape[2], shape[3]).to(torch.bfloat16)
        return big[:, :, shape[2] // 2:shape[2] // 2 + shape[2]]
    yield label, "token slice", token_slice


def per_call(fn, inputs, budget):
    """Seconds per call of fn over a loop of at least `budget` seconds, cycling through
    `inputs`."""
    n, t0 = 0, time.perf_counter()
    while True:
        fn(inputs[n % len(inputs)])
        n += 1
        dt = time.perf_counter() - t0
        if dt >= budget:
            return dt / n


def race(contenders, inputs, repeats, budget):
    """{name: [seconds per call, one per round]}"""
    times = {name: [] for name, _ in contenders}
    for _ in range(repeats):
        for name, fn in contenders:
            times[name].append(per_call(fn, inputs, budget))
    return times


def copies(nbytes, smoke):
    """How many distinct inputs a "cold" run cycles through: enough that one call's input was
    last touched more than COLD_BYTES ago (out of a 32 MiB L3)."""
    return 2 if smoke else max(2, -(-COLD_BYTES // nbytes))


def writers(t):
    contiguous = t.is_contiguous()
    return [
        ("frames.dumps", lambda d: frames.dumps(d)),
        ("frames.dumps nocs", lambda d: frames.dumps(d, checksum=False)),
        ("safetensors.save", (lambda d: st.save(d)) if contiguous else
         (lambda d: st.save({k: v.contiguous() for k, v in d.items()}))),
        ("to_bytes", lambda d: fastserde.to_bytes(d["kv"])),
    ]


def readers(t):
    return [
        ("frames.loads", lambda b: frames.loads(b[0])),
        ("frames.loads noverify", lambda b: frames.loads(b[0], verify=False)),
        ("frames.loads shared", lambda b: frames.loads(b[0], copy=False)),
        ("safetensors.load", lambda b: st.load(b[1])),
        ("from_bytes", lambda b: fastserde.from_bytes(b[2], t.dtype)),
        ("memcpy", lambda b: bytearray(b[1])),
    ]


def check(t):
    """The bytes each reader is given: (our frame, safetensors' file, the packed bytes), after
    checking values both ways."""
    ours, theirs = frames.dumps({"kv": t}), st.save({"kv": t.contiguous()})
    packed = fastserde.to_bytes(t)
    want = t.contiguous()
    assert torch.equal(frames.loads(ours)["kv"], want)
    assert torch.equal(frames.loads(ours, verify=False)["kv"], want)
    assert torch.equal(frames.loads(ours, copy=False)["kv"], want)
    assert torch.equal(st.load(ours)["kv"], want), "safetensors reads our frame"
    assert torch.equal(frames.loads(theirs)["kv"], want), "we read safetensors' file"
    assert torch.equal(frames.loads(frames.dumps({"kv": t}, checksum=False))["kv"], want)
    assert torch.equal(fastserde.from_bytes(packed, t.dtype).view(t.shape), want)
    assert packed == want.view(-1).view(torch.uint8).numpy().tobytes()
    return ours, theirs, packed


def summarise(times, nbytes, pairs):
    """GB/s medians per contender; per-round ratios' medians for (baseline, ours) pairs."""
    gbps = {name: nbytes / statistics.median(ts) / 1e9 for name, ts in times.items()}
    ratios = {}
    for base, ours in pairs:
        rs = [b / o for b, o in zip(times[base], times[ours])]
        ratios[f"{base}/{ours}"] = dict(median=statistics.median(rs), min=min(rs), max=max(rs))
    return gbps, ratios


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=15, help="interleaved rounds (15)")
    ap.add_argument("--budget", type=float, default=0.05, help="seconds per timed loop (0.05)")
    ap.add_argument("--smoke", action="store_true", help="tiny tensors, 2 rounds")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    if args.smoke:
        args.repeats, args.budget = 2, 0.002
    warnings.simplefilter("ignore")  # torch.frombuffer's read-only warning (safetensors.load)

    load0 = os.getloadavg()
    ctx_threads = fastserde.default_context().memory()["cpu_threads"]
    head = [f"fastserde {fastserde.__version__} ({fastserde.library_path()}), safetensors "
            f"{safetensors.__version__}, torch {torch.__version__} ({torch.get_num_threads()} "
            f"threads)",
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, context "
            f"cpu_threads {ctx_threads}, load average {load0[0]:.2f}; {args.repeats} rounds "
            f"interleaved, >= {args.budget * 1e3:.0f} ms of calls each; GB/s: median over "
            f"rounds; ratio: median of per-round ratios (min-max)"]
    print("\n".join(head))
    w_pairs = [("safetensors.save", "frames.dumps"), ("safetensors.save", "frames.dumps nocs"),
               ("to_bytes", "frames.dumps")]
    r_pairs = [("safetensors.load", "frames.loads"),
               ("safetensors.load", "frames.loads noverify"),
               ("safetensors.load", "frames.loads shared"), ("from_bytes", "frames.loads"),
               ("memcpy", "safetensors.load"), ("memcpy", "frames.loads")]
    rows = []
    for label, layout, make in cases(args.smoke):
        t = make()
        nbytes = t.numel() * t.element_size()
        blobs = check(t)
        k = copies(nbytes, args.smoke)
        for temp in ("hot", "cold"):
            if temp == "hot":  # the same input every call: in the caches when it fits
                tensors, frames_in = [{"kv": t}], [blobs]
            else:  # k distinct inputs in turn: none in the caches
                made = [t] + [make() for _ in range(k - 1)]
                tensors = [{"kv": v} for v in made]
                frames_in = [blobs] + [check(v) for v in made[1:]]
                del made
            wt = race(writers(t), tensors, args.repeats, args.budget)
            rt = race(readers(t), frames_in, args.repeats, args.budget)
            wg, wr = summarise(wt, nbytes, w_pairs)
            rg, rr = summarise(rt, nbytes, r_pairs)
            row = dict(model=label, layout=layout, inputs=temp, copies=len(tensors),
                       shape=list(t.shape), stride=list(t.stride()), mib=nbytes / 2**20,
                       gbps={**wg, **rg}, ratios={**wr, **rr}, seconds={**wt, **rt})
            rows.append(row)
            del tensors, frames_in
            print(f"\n{label} {layout} {list(t.shape)} bf16, {nbytes / 2**20:.1f} MiB, {temp} "
                  f"({row['copies']} input{'s' if row['copies'] > 1 else ''} in turn)")
            for name, g in row["gbps"].items():
                print(f"  {name:<24}{g:7.2f} GB/s")
            for name, r in row["ratios"].items():
                print(f"  {name + ' (time ratio)':<53}{r['median']:6.2f}x  ({r['min']:.2f}-"
                      f"{r['max']:.2f})")
    load1 = os.getloadavg()
    print(f"\nload average at the end: {load1[0]:.2f}")
    print("\nsummary: medians of per-round ratios; a/b = time of a / time of b = how many times")
    print("faster b is. Goal (issue 16): save/dumps and load/loads >= 2")
    print(f"  {'case':<33}{'save/dumps':>11}{'save/nocs':>10}{'load/loads':>11}"
          f"{'load/noverify':>14}{'load/shared':>12}{'to_bytes/dumps':>15}"
          f"{'from_bytes/loads':>17}{'memcpy/load':>12}{'memcpy/loads':>13}")
    for row in rows:
        r = row["ratios"]
        print(f"  {row['model'] + ' ' + row['layout'] + ' ' + row['inputs']:<33}"
              f"{r['safetensors.save/frames.dumps']['median']:10.2f}x"
              f"{r['safetensors.save/frames.dumps nocs']['median']:9.2f}x"
              f"{r['safetensors.load/frames.loads']['median']:10.2f}x"
              f"{r['safetensors.load/frames.loads noverify']['median']:13.2f}x"
              f"{r['safetensors.load/frames.loads shared']['median']:11.2f}x"
              f"{r['to_bytes/frames.dumps']['median']:14.2f}x"
              f"{r['from_bytes/frames.loads']['median']:16.2f}x"
              f"{r['memcpy/safetensors.load']['median']:11.2f}x"
              f"{r['memcpy/frames.loads']['median']:12.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(header=head, load=[load0[0], load1[0]], repeats=args.repeats,
                           budget=args.budget, rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
