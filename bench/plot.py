#!/usr/bin/python3
"""Charts of fastserde's benchmark JSON, as PNG files.

    /usr/bin/python3 bench/plot.py RESULT.json [MORE.json ...] [-o OUTDIR]

Reads either format:
  * fastserde-bench --json: for each device and dtype, one chart with a panel per model; bars
    are fastserde's throughput per layout and operation, and the black bar over each one is its
    roof, the baseline measured in the same run on the same bytes (memcpy on the CPU; the faster
    of the 16-byte copy kernel and cudaMemcpyAsync D2D for GPU pack/unpack; pinned cudaMemcpyAsync
    for the round trip). GPU charts also mark the naive kernel and CUB's batched memcpy. The
    frames group's rows get their own charts (roof: the plain pack or unpack of the same view).
  * Google Benchmark --benchmark_format=json of fastserde-gbench-cpu/-gpu: throughput against
    packed size, a line per layout and the baseline dashed in black, a panel per operation.

Each PNG is written as OUTDIR/<json stem>-<what>.png (OUTDIR: the JSON's folder by default);
the paths are printed. Needs matplotlib (Debian: python3-matplotlib).
"""
import argparse
import json
import math
import os
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LAYOUTS = ["contiguous", "token-slice", "head-subset", "permute", "transpose"]
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]

# (op, host_mem, label) per chart kind
CPU_OPS = [
    ("pack", "", "pack (1 thread)"),
    ("unpack", "", "unpack (1 thread)"),
    ("pack_to_host", "", "pack_to_host (ctx threads)"),
    ("unpack_from_host", "", "unpack_from_host (ctx threads)"),
    ("to_bytes", "", "to_bytes (ctx threads)"),
]
GPU_DEVICE_OPS = [("pack", "", "pack"), ("unpack", "", "unpack")]
GPU_ROUNDTRIP_OPS = [
    ("pack_to_host", "pinned", "pack_to_host, pinned"),
    ("pack_to_host", "pageable", "pack_to_host, pageable"),
    ("to_bytes", "pageable", "to_bytes"),
    ("unpack_from_host", "pinned", "unpack_from_host, pinned"),
    ("unpack_from_host", "pageable", "unpack_from_host, pageable"),
]
# the frames group: the roof of each bar is the plain pack (writes) or unpack (reads), same run
FRAME_CPU_OPS = [
    ("frame_write", "", "frame_write"),
    ("frame_write_nocs", "", "frame_write, no checksum"),
    ("frame_read_verify", "", "frame_read, verifying"),
    ("frame_read", "", "frame_read, not verifying"),
]
FRAME_GPU_OPS = [
    ("frame_write", "", "frame_write, device memory"),
    ("frame_write_nocs", "", "frame_write, device, no checksum"),
    ("frame_write", "pageable", "frame_write, pageable"),
    ("frame_write_nocs", "pageable", "frame_write, pageable, no checksum"),
    ("frame_read_verify", "pageable", "frame_read, pageable, verifying"),
    ("frame_read", "pageable", "frame_read, pageable, not verifying"),
    ("frame_kernel", "", "checksum pack kernel (roof: fsd_pack's kernel)"),
]


def bar_chart(rows, machine, device, dtype, ops, title, path, markers=()):
    """One panel per model: bars per (layout, op) with the roof drawn over each bar."""
    models = []
    for r in rows:
        if r["model"] not in models:
            models.append(r["model"])
    layouts = [lay for lay in LAYOUTS if any(r["layout"] == lay for r in rows)]
    ops = [o for o in ops if any(r["op"] == o[0] and r["host_mem"] == o[1] for r in rows)]
    if not models or not layouts or not ops:
        return None
    ncol = 2 if len(models) > 1 else 1
    nrow = math.ceil(len(models) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(7.5 * ncol, 3.6 * nrow + 1.2), squeeze=False)
    width = 0.8 / len(ops)
    roof_labelled = False
    marker_labelled = set()
    for mi, model in enumerate(models):
        ax = axes[mi // ncol][mi % ncol]
        mrows = [r for r in rows if r["model"] == model]
        title_m = mrows[0].get("model_title", model)
        shape = mrows[0].get("cache_shape")
        mib = mrows[0]["bytes"] / 2**20
        ax.set_title(f"{title_m} {shape} {dtype}, {mib:.0f} MiB", fontsize=10)
        for oi, (op, mem, label) in enumerate(ops):
            for li, lay in enumerate(layouts):
                r = next((x for x in mrows if x["layout"] == lay and x["op"] == op and x["host_mem"] == mem), None)
                if r is None:
                    continue
                x = li + (oi - (len(ops) - 1) / 2) * width
                ax.bar(x, r["gbps"], width * 0.92, color=COLORS[oi % len(COLORS)],
                       label=label if li == 0 else None)
                if r.get("roof_gbps"):
                    ax.hlines(r["roof_gbps"], x - width / 2, x + width / 2, colors="black", linewidth=2.2,
                              label=None if roof_labelled else "roof: baseline, same bytes, same run")
                    roof_labelled = True
                for name, style in markers:
                    g = r.get("baselines", {}).get(name)
                    if g:
                        ax.plot([x], [g], style, color="black", markersize=5,
                                label=None if name in marker_labelled else f"{name} (baseline)")
                        marker_labelled.add(name)
                if r.get("check", "ok") != "ok":
                    ax.text(x, r["gbps"], "!", ha="center", va="bottom", color="red", fontsize=12)
        ax.set_xticks(range(len(layouts)))
        ax.set_xticklabels(layouts, fontsize=9)
        ax.set_ylabel("GB/s (packed bytes / time)", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    for k in range(len(models), nrow * ncol):
        axes[k // ncol][k % ncol].axis("off")
    handles, labels = [], []
    for row_axes in axes:
        for ax in row_axes:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                if lab not in labels:
                    handles.append(h)
                    labels.append(lab)
    # the operations first, then the roof and the markers
    order = sorted(range(len(labels)), key=lambda i: ("baseline" in labels[i], i))
    handles, labels = [handles[i] for i in order], [labels[i] for i in order]
    fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize=9, frameon=False)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.1 if len(labels) > 4 else 0.06, 1, 0.95))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_bench(data, stem, outdir):
    machine = data.get("machine", {})
    out = []
    rows = data.get("results", [])
    for device in ("cpu", "gpu"):
        drows = [r for r in rows if r["device"] == device]
        for dtype in sorted({r["dtype"] for r in drows}):
            trows = [r for r in drows if r["dtype"] == dtype]
            if device == "cpu":
                threads = next((r["threads"] for r in trows if r["op"] == "pack_to_host"), "?")
                title = (f"fastserde CPU throughput, {machine.get('cpu', '?')} ({machine.get('cores', '?')} cores, "
                         f"context: {threads} threads)\nblack bar = memcpy of the same bytes in the same run "
                         f"(1 thread for pack/unpack; the faster of 1 and {threads} threads for the others)")
                p = bar_chart(trows, machine, device, dtype, CPU_OPS, title,
                              os.path.join(outdir, f"{stem}-cpu-{dtype}.png"))
                out.append(p)
                title = (f"fastserde frames on the CPU ({machine.get('cores', '?')} cores, context: {threads} threads)\n"
                         f"black bar = plain pack_to_host / unpack_from_host, same bytes, same run")
                out.append(bar_chart(trows, machine, device, dtype, FRAME_CPU_OPS, title,
                                     os.path.join(outdir, f"{stem}-cpu-frames-{dtype}.png")))
            else:
                gpu = machine.get("gpu") or {}
                name = gpu.get("name", "GPU")
                title = (f"fastserde GPU pack/unpack, {name}\nblack bar = the faster of a 16-byte copy kernel "
                         f"and cudaMemcpyAsync D2D of the same bytes; x = naive kernel, + = CUB batched memcpy")
                out.append(bar_chart(trows, machine, device, dtype, GPU_DEVICE_OPS, title,
                                     os.path.join(outdir, f"{stem}-gpu-{dtype}.png"),
                                     markers=(("naive", "x"), ("cub", "+"))))
                title = (f"fastserde GPU <-> host round trip, {name}\n"
                         f"black bar = cudaMemcpyAsync of the same bytes to/from pinned memory, same run")
                out.append(bar_chart(trows, machine, device, dtype, GPU_ROUNDTRIP_OPS, title,
                                     os.path.join(outdir, f"{stem}-gpu-roundtrip-{dtype}.png")))
                title = (f"fastserde frames of CUDA tensors, {name}\n"
                         f"black bar = plain pack (device) / pack_to_host / unpack_from_host, same run")
                out.append(bar_chart(trows, machine, device, dtype, FRAME_GPU_OPS, title,
                                     os.path.join(outdir, f"{stem}-gpu-frames-{dtype}.png")))
    return [p for p in out if p]


def human(n):
    for unit, div in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= div and n % div == 0:
            return f"{n // div} {unit}"
    return str(n)


NAME_RE = re.compile(r"^([a-z_]+)/([a-z-]+)/e(\d+)/(\d+)")


def plot_gbench(data, stem, outdir):
    """Throughput against size: a panel per op, a line per layout, the baseline dashed."""
    runs = []
    for b in data.get("benchmarks", []):
        if b.get("error_occurred") or b.get("run_type", "iteration") != "iteration":
            continue
        m = NAME_RE.match(b["name"])
        if not m:
            continue
        runs.append({"op": m.group(1), "layout": m.group(2), "elem": int(m.group(3)), "size": int(m.group(4)),
                     "gbps": b.get("bytes_per_second", 0) / 1e9, "base": b.get("baseline_GBps", 0),
                     "label": b.get("label", "")})
    if not runs:
        skipped = [b for b in data.get("benchmarks", []) if b.get("error_occurred")]
        if skipped:
            print(f"{stem}: every benchmark was skipped ({skipped[0].get('error_message', '')}): no chart")
        return []
    ctx = data.get("context", {})
    where = ctx.get("gpu") or f"{ctx.get('host_name', '')} {ctx.get('num_cpus', '?')} CPUs".strip()
    out = []
    # The main elem size: the one with the most sizes; the others form the sweep panel.
    elems = sorted({r["elem"] for r in runs}, key=lambda e: -len({r["size"] for r in runs if r["elem"] == e}))
    main = elems[0]
    ops = []
    for r in runs:
        if r["op"] not in ops:
            ops.append(r["op"])
    ncol = 2 if len(ops) > 1 else 1
    nrow = math.ceil(len(ops) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(7 * ncol, 3.4 * nrow + 1.0), squeeze=False)
    for oi, op in enumerate(ops):
        ax = axes[oi // ncol][oi % ncol]
        orows = [r for r in runs if r["op"] == op and r["elem"] == main]
        base_label = ""
        for li, lay in enumerate(LAYOUTS):
            lr = sorted((r for r in orows if r["layout"] == lay), key=lambda r: r["size"])
            if len(lr) < 2:
                continue
            ax.plot([r["size"] for r in lr], [r["gbps"] for r in lr], "o-", color=COLORS[li], label=lay,
                    markersize=3)
        base = {}
        for r in orows:
            base[r["size"]] = r["base"]
            base_label = r["label"].replace("baseline=", "")
        if base:
            xs = sorted(base)
            ax.plot(xs, [base[x] for x in xs], "--", color="black", linewidth=1.6,
                    label=f"baseline: {base_label}")
        ax.set_xscale("log", base=2)
        sizes = sorted({r["size"] for r in orows})
        ax.set_xticks(sizes)
        ax.set_xticklabels([human(s) for s in sizes], fontsize=8)
        ax.set_title(f"{op}, {main}-byte elements", fontsize=10)
        ax.set_xlabel("packed bytes", fontsize=9)
        ax.set_ylabel("GB/s", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for k in range(len(ops), nrow * ncol):
        axes[k // ncol][k % ncol].axis("off")
    fig.suptitle(f"fastserde Google Benchmark ({stem}): throughput by size, {where}", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    path = os.path.join(outdir, f"{stem}-sizes.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    out.append(path)

    sweep = [r for r in runs if r["elem"] != main]
    if sweep:
        size = max({r["size"] for r in sweep}, key=lambda s: sum(1 for r in sweep if r["size"] == s))
        sops = [op for op in ops if any(r["op"] == op and r["size"] == size for r in sweep)]
        fig, axes = plt.subplots(1, len(sops), figsize=(6 * len(sops), 3.8), squeeze=False)
        for oi, op in enumerate(sops):
            ax = axes[0][oi]
            srows = [r for r in runs if r["op"] == op and r["size"] == size]
            for li, lay in enumerate(LAYOUTS):
                lr = sorted((r for r in srows if r["layout"] == lay), key=lambda r: r["elem"])
                if lr:
                    ax.plot([r["elem"] for r in lr], [r["gbps"] for r in lr], "o-", color=COLORS[li], label=lay)
            if srows:
                ax.axhline(srows[0]["base"], color="black", linestyle="--", label="baseline")
            ax.set_xscale("log", base=2)
            ax.set_xticks([1, 2, 4, 8, 16])
            ax.set_xticklabels(["1", "2", "4", "8", "16"])
            ax.set_xlabel("element bytes", fontsize=9)
            ax.set_ylabel("GB/s", fontsize=9)
            ax.set_title(f"{op}, {human(size)}", fontsize=10)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
        fig.suptitle(f"fastserde ({stem}): element-size sweep, {where}", fontsize=11)
        fig.tight_layout(rect=(0, 0, 1, 0.93))
        path = os.path.join(outdir, f"{stem}-elems.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        out.append(path)
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("json", nargs="+", help="fastserde-bench --json or Google Benchmark JSON files")
    ap.add_argument("-o", "--outdir", help="folder for the PNG files (default: beside each JSON)")
    args = ap.parse_args(argv)
    written = []
    for path in args.json:
        with open(path) as f:
            data = json.load(f)
        stem = os.path.splitext(os.path.basename(path))[0]
        outdir = args.outdir or os.path.dirname(os.path.abspath(path))
        os.makedirs(outdir, exist_ok=True)
        if "benchmarks" in data:
            written += plot_gbench(data, stem, outdir)
        elif "results" in data:
            written += plot_bench(data, stem, outdir)
        else:
            print(f"{path}: neither fastserde-bench nor Google Benchmark JSON", file=sys.stderr)
            return 1
    for p in written:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
