#!/usr/bin/env python3
"""model_vs_ncu.py — the access model's figures beside Nsight Compute's, for calibration.

    python3 bench/model_vs_ncu.py MODEL.json NCU.csv [BENCH.json] > report.md

MODEL.json: `fastserde-bench --model --json` (key "model"). NCU.csv: rows of
`ncu --csv --page raw --print-units base --metrics ...` (tools/gpu-check.sh writes them with two
leading columns of its own, "fsd_model" and "fsd_layout", and profiles, per view, the first two
kernels of the library that fastserde-bench launches: its pack check, then its unpack check).
BENCH.json (optional): `fastserde-bench --json` on the GPU, for the measured fraction of the
roof (fastserde GB/s / the faster of the 16-byte copy kernel and cudaMemcpyAsync).

Prints a Markdown table per view and operation: sectors per request (loads, stores), shared
wavefronts per request and bank conflicts, DRAM bytes per packed byte, duration, and the model's
predicted range next to the measured fraction. Standard library only.
"""
import csv
import json
import sys


def num(x):
    try:
        return float(str(x).replace(",", ""))
    except (TypeError, ValueError):
        return None


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(x, spec=".2f"):
    return "-" if x is None else format(x, spec)


def read_ncu(path):
    """{(model, layout): [row, ...]} in launch order, rows as {metric: value}."""
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f) if r]
    out = {}
    header = None
    for r in rows:
        if "Kernel Name" in r:
            header = r
            continue
        if header is None or len(r) != len(header):
            continue
        d = dict(zip(header, r))
        if num(d.get("ID")) is None:  # the units row
            continue
        out.setdefault((d.get("fsd_model", ""), d.get("fsd_layout", "")), []).append(d)
    return out


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    model = json.load(open(argv[1]))["model"]
    ncu = read_ncu(argv[2])
    measured = {}
    if len(argv) > 3:
        for r in json.load(open(argv[3])).get("results", []):
            if r.get("device") == "gpu" and r.get("op") in ("pack", "unpack"):
                measured[(r["model"], r["layout"], r["op"])] = (r.get("ratio"), r.get("gbps"), r.get("bytes"))
    print("| model | layout | op | kernel | ld sectors/req model / ncu | st sectors/req model / ncu "
          "| smem wavefronts/req model / ncu (ncu bank conflicts) | DRAM bytes per packed byte model / ncu "
          "| ncu duration us | predicted (model) | measured x roof |")
    print("|---|---|---|---|---|---|---|---|---:|---|---:|")
    for m in model:
        key = (m["model"], m["layout"])
        launches = ncu.get(key, [])
        idx = 0 if m["op"] == "pack" else 1
        n = launches[idx] if idx < len(launches) else {}
        g = lambda k: num(n.get(k))
        ld = ratio(g("l1tex__t_sectors_pipe_lsu_mem_global_op_ld.sum"), g("l1tex__t_requests_pipe_lsu_mem_global_op_ld.sum"))
        st = ratio(g("l1tex__t_sectors_pipe_lsu_mem_global_op_st.sum"), g("l1tex__t_requests_pipe_lsu_mem_global_op_st.sum"))
        sh_w = (g("l1tex__data_pipe_lsu_wavefronts_mem_shared_op_ld.sum") or 0) + (g("l1tex__data_pipe_lsu_wavefronts_mem_shared_op_st.sum") or 0)
        sh_r = (g("smsp__inst_executed_op_shared_ld.sum") or 0) + (g("smsp__inst_executed_op_shared_st.sum") or 0)
        conflicts = None
        if n:
            conflicts = (g("l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum") or 0) + \
                        (g("l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_st.sum") or 0)
        dram = None
        meas = measured.get((m["model"], m["layout"], m["op"]))
        packed = meas[2] if meas else None
        if n and packed:
            dram = ((g("dram__bytes_read.sum") or 0) + (g("dram__bytes_write.sum") or 0)) / packed
        eff = m.get("sector_efficiency")
        dram_model = 2.0 / eff if eff else None
        dur = g("gpu__time_duration.sum")
        nsight_sh = m.get("shared_wavefronts_per_request_nsight")
        print(f"| {m['model']} | {m['layout']} | {m['op']} | {m['kernel']} "
              f"| {fmt(m.get('load_sectors_per_request'), '.1f')} / {fmt(ld, '.1f')} "
              f"| {fmt(m.get('store_sectors_per_request'), '.1f')} / {fmt(st, '.1f')} "
              f"| {fmt(nsight_sh if m.get('shared_requests') else None)} / {fmt(ratio(sh_w, sh_r) if sh_r else None)} "
              f"({fmt(conflicts, '.0f')}) "
              f"| {fmt(dram_model)} / {fmt(dram)} "
              f"| {fmt(dur / 1e3 if dur else None, '.1f')} "
              f"| {fmt(m.get('predicted_low'))}-{fmt(m.get('predicted_high'))} "
              f"| {fmt(meas[0] if meas else None)} |")
    print("\nModel: modeled, not measured (" + json.load(open(argv[1])).get("model_limits", "") + "). "
          "ncu: one profiled launch each (--clock-control none), the durations under the profiler.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
