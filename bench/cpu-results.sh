#!/usr/bin/env bash
# cpu-results.sh [BUILD_DIR] — the CPU figures of this machine, ready to commit: runs the default
# fastserde-bench (the README's main job) and the default CPU Google Benchmark suite, and writes
# into bench/results/:
#   cpu-<cpu>-<N>cores-<date>.json / .txt     fastserde-bench --json / its table
#   cpu-<cpu>-<N>cores-<date>-gbench.json     fastserde-gbench-cpu --benchmark_format=json
#   ...-cpu-bf16.png, ...-gbench-sizes.png, ...-gbench-elems.png   bench/plot.py charts
# Extra arguments go to fastserde-bench (e.g. --quick).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
bench=$build/bench/fastserde-bench
gbench=$build/bench/fastserde-gbench-cpu
[ -x "$bench" ] || { echo "cpu-results: build first ($bench missing)" >&2; exit 1; }

cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)
slug=$(echo "${cpu:-cpu}" | tr '[:upper:]' '[:lower:]' | sed 's/([^)]*)//g; s/[^a-z0-9]\+/-/g; s/^-//; s/-$//')
stem=bench/results/cpu-$slug-$(nproc)cores-$(date -u +%Y-%m-%d)
mkdir -p bench/results

"$bench" --json "$stem.json" "$@" | tee "$stem.txt"
if [ -x "$gbench" ]; then
  "$gbench" --benchmark_format=json --benchmark_out="$stem-gbench.json" --benchmark_out_format=json \
    >/dev/null
fi
if /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then
  files=("$stem.json")
  [ -f "$stem-gbench.json" ] && files+=("$stem-gbench.json")
  /usr/bin/python3 bench/plot.py "${files[@]}"
fi
ls -l "$stem"*
