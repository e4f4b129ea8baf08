#!/usr/bin/python3
"""paged_vs_torch.py — fastserde's paged gather and scatter against what a Python caller writes
with PyTorch, on the CPU, in one process.

    /usr/bin/python3 bench/paged_vs_torch.py [path/to/libfastserde.so] [--repeats N] [--quick]
                                             [--json FILE]

The cache is vLLM's flash-attention layout, one tensor per layer [2, blocks, 16, kv_heads,
head_dim] bf16, twice the chunk's blocks; the chunk is 256 tokens in whole blocks drawn in a
shuffled order; the packed form is LMCache's KV_2LTD [2, L, T, H*D]. Timed interleaved round
by round (medians), for Llama-3-8B (32 layers, 8 x 128), Qwen2.5-7B (28, 4 x 128) and
Llama-3.1-70B (80, 8 x 128; not with --quick):

  memcpy       ctypes.memmove of the chunk's bytes between two contiguous buffers (the roof)
  gather       fastserde.gather on a Context of one thread per core
  gather 1t    fastserde.gather on the calling thread (a Context of one thread)
  torch        torch.stack([x[:, blocks].flatten(1, 2) ... ], 1): index the blocks, stack the
               layers, into KV_2LTD (torch's threads = the cores)
  index_select the header's torch expression: rows(x).index_select(0, slots), stack, permute,
               .contiguous()
  scatter      fastserde.scatter (Context)
  torch scat.  per layer x[:, blocks] = chunk's slice (index_put_)

fastserde writes into a buffer allocated once; torch allocates its result per call, as its
callers do. Every result is checked against index_select's before timing. OMP_WAIT_POLICY is
PASSIVE unless set: torch's OpenMP threads otherwise spin on both cores for a while after each
of its ops, and the interleaved round's next contender (fastserde's context threads) ran up to
1.6x slower behind them; torch's own figures do not change.
"""
import argparse
import ctypes
import json
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch starts its OpenMP threads
import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "python"))

MODELS = [("llama3-8b", 32, 8, 128), ("qwen2.5-7b", 28, 4, 128), ("llama3.1-70b", 80, 8, 128)]
ORDER = (1, 0, 2, 3, 4)


def median_times(fns, repeats):
    for f in fns.values():  # warm-up
        f()
    t = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            t[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in t.items()}


def run_model(fastserde, name, L, H, D, repeats, ctx, ctx1):
    bs, T = 16, 256
    nb = 2 * T // bs
    gen = torch.Generator().manual_seed(L)
    layers = [torch.empty(2, nb, bs, H, D, dtype=torch.bfloat16).random_(generator=gen) for _ in range(L)]
    blocks = torch.randperm(nb, generator=gen)[:T // bs]
    slots = (blocks.repeat_interleave(bs) * bs + torch.arange(T) % bs).to(torch.int64)
    nbytes = 2 * L * T * H * D * 2
    out = torch.empty(nbytes, dtype=torch.uint8)
    src = torch.empty(nbytes, dtype=torch.uint8).random_(generator=gen)
    dst = torch.empty(nbytes, dtype=torch.uint8)

    def torch_blocks():
        return torch.stack([x[:, blocks].flatten(1, 2) for x in layers], 1)  # [2, L, T, H, D]

    def index_select():
        rows = [x.movedim((1, 2), (0, 1)).flatten(0, 1).index_select(0, slots).movedim(0, 1) for x in layers]
        return torch.stack(rows).permute(ORDER).contiguous()

    want = index_select()
    got = fastserde.gather(layers, slots, 1, 2, ORDER, out=out, ctx=ctx)
    assert torch.equal(got, want) and torch.equal(torch_blocks(), want), f"{name}: results differ"
    chunk = want.clone()

    def torch_scatter():
        for i, x in enumerate(layers):
            x[:, blocks] = chunk[:, i].unflatten(1, (T // bs, bs))

    fns = {
        "memcpy": lambda: ctypes.memmove(dst.data_ptr(), src.data_ptr(), nbytes),
        "gather": lambda: fastserde.gather(layers, slots, 1, 2, ORDER, out=out, ctx=ctx),
        "gather 1t": lambda: fastserde.gather(layers, slots, 1, 2, ORDER, out=out, ctx=ctx1),
        "torch": torch_blocks,
        "index_select": index_select,
        "scatter": lambda: fastserde.scatter(chunk, layers, slots, 1, 2, ORDER, ctx=ctx),
        "torch scat.": torch_scatter,
    }
    t = median_times(fns, repeats)
    gbps = {k: nbytes / v / 1e9 for k, v in t.items()}
    row = {"model": name, "layers": L, "heads": H, "head_dim": D, "block_size": bs, "tokens": T,
           "bytes": nbytes, "median_s": t, "gbps": gbps,
           "gather_x_memcpy": gbps["gather"] / gbps["memcpy"],
           "gather_x_torch": gbps["gather"] / gbps["torch"],
           "gather_x_index_select": gbps["gather"] / gbps["index_select"],
           "scatter_x_memcpy": gbps["scatter"] / gbps["memcpy"],
           "scatter_x_torch": gbps["scatter"] / gbps["torch scat."]}
    print(f"{name:13s} {nbytes / 2**20:6.1f} " + " ".join(f"{gbps[k]:9.2f}" for k in fns) +
          f"   {row['gather_x_memcpy']:5.2f} {row['gather_x_torch']:6.2f} "
          f"{row['gather_x_index_select']:6.2f} {row['scatter_x_memcpy']:5.2f} "
          f"{row['scatter_x_torch']:6.2f}", flush=True)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("library", nargs="?")
    ap.add_argument("--repeats", type=int, default=11)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args()
    if a.library:
        os.environ["FASTSERDE_LIBRARY"] = os.path.abspath(a.library)
    import fastserde
    torch.set_num_threads(os.cpu_count() or 1)
    ctx, ctx1 = fastserde.Context(cpu_threads=0), fastserde.Context(cpu_threads=1)
    print(f"fastserde {fastserde.library_version()} ({fastserde.library_path()}), torch "
          f"{torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}, medians of "
          f"{a.repeats}; GB/s (packed bytes / time)")
    names = ["memcpy", "gather", "gather 1t", "torch", "index_select", "scatter", "torch scat."]
    print(f"{'model':13s} {'MiB':>6s} " + " ".join(f"{n:>9s}" for n in names) +
          "   x mcp x torch x isel  scat x mcp  scat x torch")
    rows = []
    for name, L, H, D in MODELS[:2] if a.quick else MODELS:
        rows.append(run_model(fastserde, name, L, H, D, a.repeats, ctx, ctx1))
    ctx.close()
    ctx1.close()
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "cores": os.cpu_count(), "torch": torch.__version__, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
