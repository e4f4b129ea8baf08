#!/usr/bin/env bash
# gpu-check.sh — every check that needs an NVIDIA GPU, in one command of a few minutes.
#
#   tools/gpu-check.sh
#       On a machine with an NVIDIA GPU, the CUDA toolkit and the build packages (tools/setup.sh):
#       builds for that GPU into build-gpu/ (FSD_CUDA_ARCH, default 90: sm_90 for H100/H200),
#       runs ctest with the GPU tests active (a GPU test reported "skipped" fails the check),
#       compute-sanitizer memcheck and racecheck on the GPU test binaries when the tool exists,
#       fastserde-bench --json (its default groups: views, paged and frames, whose GPU rows time
#       the checksum pack kernel) and the GPU Google Benchmark suite, and writes
#       bench/results/<gpu>-<date>.json (fastserde-bench), -gbench.json (Google Benchmark) and
#       .md (the tables, with GPU, driver, CUDA version and clocks). Then the access model's
#       predictions (fastserde-bench --model: -model.json) and, when Nsight Compute (ncu) is
#       there, its counters of the same kernels (-ncu.csv: sectors/request, shared wavefronts
#       and bank conflicts, DRAM bytes, duration), side by side in -model-vs-ncu.md
#       (bench/model_vs_ncu.py) to calibrate the model. Nothing else is written outside
#       build-gpu/.
#
#   tools/gpu-check.sh --bundle [DIR]
#       On any machine, no GPU needed: builds the same for FSD_CUDA_ARCH into build-bundle-obj/
#       and leaves DIR (default build-gpu-bundle/) holding the test and benchmark binaries, the
#       shared libraries a bare GPU machine lacks (libfastserde, libcmocka, libbenchmark,
#       libcudart; not the driver's libcuda; libstdc++/libgcc_s as a fallback used only when the
#       machine's are missing) and run.sh. Copy DIR to the GPU machine and run, with no package
#       manager needed there:
#           DIR/run.sh
#       It runs the same checks from DIR's binaries and writes the same result files into
#       FSD_RESULTS_DIR, else bench/results/ of the checkout DIR sits in, else DIR/results/.
#
# In both modes, when $OUT is set (the device tool of this workplace), the result files, the
# charts (bench/plot.py, when matplotlib is there) and the full log are copied into $OUT too.
# Variables: FSD_CUDA_ARCH (90), FSD_SANITIZER_CASES (memcheck cases, 150),
# FSD_RACECHECK_CASES (40), FSD_SANITIZER_TIMEOUT (seconds per sanitizer run, 45: a run
# stopped there is reported as incomplete), FSD_BENCH_ARGS / FSD_BENCH_TIMEOUT (240 s) for
# fastserde-bench, FSD_GBENCH_ARGS / FSD_GBENCH_TIMEOUT (150 s) for fastserde-gbench-gpu,
# FSD_NCU_SHAPES (llama3-8b: the models whose views ncu profiles), FSD_NCU_TIMEOUT (120 s each).
# Exit status: 0 when every test, sanitizer run and benchmark check passed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
arch=${FSD_CUDA_ARCH:-90}

log() { echo "gpu-check: $*" >&2; }

# ---------------------------------------------------------------------------------------------
# --bundle: build here and pack the folder.
bundle() {
  local root dir obj
  root=$(cd "$here/.." && pwd)
  dir=${1:-$root/build-gpu-bundle}
  obj=${FSD_BUNDLE_BUILD_DIR:-$root/build-bundle-obj}
  export PATH="/usr/local/cuda/bin:$PATH"
  log "building for sm_$arch into $obj"
  cmake -S "$root" -B "$obj" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$arch" >&2 || return 1
  cmake --build "$obj" -j"$(nproc)" >&2 || return 1
  rm -rf "$dir"
  mkdir -p "$dir/bin" "$dir/tests" "$dir/lib/fallback"
  local b
  for b in fastserde-bench fastserde-gbench-gpu fastserde-gbench-cpu; do
    [ -x "$obj/bench/$b" ] && cp "$obj/bench/$b" "$dir/bin/"
  done
  [ -x "$dir/bin/fastserde-bench" ] || { log "no fastserde-bench in $obj/bench"; return 1; }
  while IFS= read -r t; do
    cp "$t" "$dir/tests/"
  done < <(find "$obj/tests" -type f -executable -name 'test_*' 2>/dev/null | sort)
  # The shared libraries, copied under their sonames.
  local f lib path
  for f in "$dir"/bin/* "$dir"/tests/*; do
    ldd "$f" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}'
  done | sort -u | while read -r lib path; do
    case $lib in
      libfastserde.so*|libcmocka.so*|libbenchmark.so*|libcudart.so*) cp -L "$path" "$dir/lib/$lib" ;;
      libstdc++.so*|libgcc_s.so*) cp -L "$path" "$dir/lib/fallback/$lib" ;;
    esac
  done
  cp "$here/gpu-check.sh" "$dir/gpu-check.sh"
  [ -f "$root/bench/plot.py" ] && cp "$root/bench/plot.py" "$dir/plot.py"
  [ -f "$root/bench/model_vs_ncu.py" ] && cp "$root/bench/model_vs_ncu.py" "$dir/model_vs_ncu.py"
  cat >"$dir/run.sh" <<'EOF'
#!/usr/bin/env bash
# Runs the GPU checks from this folder's binaries (made by tools/gpu-check.sh --bundle).
d=$(cd "$(dirname "$0")" && pwd)
exec bash "$d/gpu-check.sh" --run-bundle "$d" "$@"
EOF
  chmod +x "$dir/run.sh" "$dir/gpu-check.sh"
  {
    echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet 2>/dev/null || echo ' (with local changes)')"
    echo "built: $(date -u +%Y-%m-%dT%H:%MZ) on $(uname -n), $(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-?}")"
    echo "cuda_arch: $arch"
    echo "nvcc: $(nvcc --version 2>/dev/null | grep -o 'release [^,]*' | head -1)"
  } >"$dir/BUILD_INFO"
  log "bundle ready: $dir ($(du -sh "$dir" | cut -f1)); run it on the GPU machine with: $dir/run.sh"
  ls -R "$dir" >&2
}

# ---------------------------------------------------------------------------------------------
# The checks, from a build folder (check mode) or a bundle (run-bundle mode).
#   $1 mode: build | bundle;  $2: the build folder or the bundle
run_checks() {
  local mode=$1 src=$2 bench gbench results fails=0
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  if [ "$mode" = bundle ]; then
    bench=$src/bin/fastserde-bench
    gbench=$src/bin/fastserde-gbench-gpu
    export LD_LIBRARY_PATH="$src/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    if ldd "$bench" 2>/dev/null | grep -q "not found"; then
      export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$src/lib/fallback"
      log "some system libraries are missing: using the bundled fallback ($src/lib/fallback)"
    fi
    ldd "$bench" | grep "not found" && { log "libraries missing even with the bundle"; return 1; }
    if [ -n "${FSD_RESULTS_DIR:-}" ]; then results=$FSD_RESULTS_DIR
    elif [ -d "$src/../bench" ]; then results=$src/../bench/results
    else results=$src/results; fi
  else
    bench=$src/bench/fastserde-bench
    gbench=$src/bench/fastserde-gbench-gpu
    results=${FSD_RESULTS_DIR:-$here/../bench/results}
  fi
  mkdir -p "$results"
  results=$(cd "$results" && pwd)
  local full_log=$work/log.txt
  : >"$full_log"

  # The GPU, as nvidia-smi sees it.
  local gpu_name slug date smi
  smi=$(command -v nvidia-smi || true)
  if [ -n "$smi" ]; then
    gpu_name=$("$smi" --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
    "$smi" --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,clocks.mem,clocks.max.mem,power.draw,temperature.gpu,pstate \
      --format=csv >"$work/smi.csv" 2>&1
    "$smi" >>"$full_log" 2>&1
  else
    log "nvidia-smi not found"
  fi
  gpu_name=${gpu_name:-unknown-gpu}
  slug=$(echo "$gpu_name" | tr 'A-Z' 'a-z' | sed 's/[^a-z0-9.]\+/-/g; s/^-//; s/-$//')
  date=$(date -u +%Y-%m-%d)
  local stem=$results/$slug-$date
  log "GPU: $gpu_name; results: $stem.*"

  # 1. Tests.
  local tests_summary
  if [ "$mode" = build ]; then
    log "ctest"
    if ctest --test-dir "$src" --output-on-failure -j"$(nproc)" --timeout 300 >"$work/ctest.txt" 2>&1; then :; else fails=1; fi
    cat "$work/ctest.txt" >>"$full_log"
    tests_summary=$(grep -E "tests passed|tests failed" "$work/ctest.txt" | tail -1)
    if grep -E "kernels_gpu|gpu" "$work/ctest.txt" | grep -q "Skipped"; then
      tests_summary+="; a GPU test was SKIPPED on a GPU machine"
      fails=1
    fi
  else
    local t rc pass=0 fail=0 skip=0 failed_names=""
    for t in "$src"/tests/test_*; do
      [ -x "$t" ] || continue
      log "test $(basename "$t")"
      echo "=== $(basename "$t")" >>"$full_log"
      (cd "$work" && timeout "${FSD_TEST_TIMEOUT:-120}" "$t") >>"$full_log" 2>&1
      rc=$?
      if [ $rc = 0 ]; then pass=$((pass + 1))
      elif [ $rc = 77 ]; then
        skip=$((skip + 1))
        case $(basename "$t") in *gpu*) failed_names+=" $(basename "$t")(skipped-on-GPU)"; fail=$((fail + 1)) ;; esac
      else fail=$((fail + 1)); failed_names+=" $(basename "$t")(rc=$rc)"; fi
    done
    tests_summary="$pass passed, $fail failed, $skip skipped${failed_names:+:$failed_names}"
    [ $fail = 0 ] || fails=1
  fi
  log "tests: $tests_summary"

  # 2. compute-sanitizer on the GPU test binaries.
  local san sanitizer_summary="" gpu_tests=()
  san=$(command -v compute-sanitizer || true)
  for c in /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer; do
    [ -z "$san" ] && [ -x "$c" ] && san=$c
  done
  if [ "$mode" = bundle ]; then
    for t in "$src"/tests/test_*gpu*; do [ -x "$t" ] && gpu_tests+=("$t"); done
  else
    while IFS= read -r t; do gpu_tests+=("$t"); done < <(find "$src/tests" -type f -executable -name 'test_*gpu*' | sort)
  fi
  if [ -z "$san" ]; then
    sanitizer_summary="compute-sanitizer not found: not run"
  elif [ ${#gpu_tests[@]} = 0 ]; then
    sanitizer_summary="no GPU test binaries"
  else
    local tool cases rc limit=${FSD_SANITIZER_TIMEOUT:-45} section
    for t in "${gpu_tests[@]}"; do
      for tool in memcheck racecheck; do
        cases=${FSD_SANITIZER_CASES:-150}
        [ $tool = racecheck ] && cases=${FSD_RACECHECK_CASES:-40}
        log "compute-sanitizer --tool $tool $(basename "$t") ($cases cases, at most ${limit} s)"
        section=$work/san-$tool-$(basename "$t").txt
        (cd "$work" && FSD_TEST_CASES=$cases timeout "$limit" "$san" --tool $tool --error-exitcode 99 "$t") >"$section" 2>&1
        rc=$?
        cat "$section" >>"$full_log"
        if grep -qE '^========= (Invalid|Race|Error|Program hit)|ERROR SUMMARY: [1-9]' "$section"; then
          sanitizer_summary+="$tool $(basename "$t"): ERRORS FOUND; "; fails=1
        else
          case $rc in
            0) sanitizer_summary+="$tool $(basename "$t"): clean; " ;;
            77) sanitizer_summary+="$tool $(basename "$t"): SKIPPED (no usable GPU); "; fails=1 ;;
            124) sanitizer_summary+="$tool $(basename "$t"): stopped after ${limit} s, no error reported before (incomplete); " ;;
            *) sanitizer_summary+="$tool $(basename "$t"): FAILED (rc $rc); "; fails=1 ;;
          esac
        fi
      done
    done
  fi
  log "sanitizers: $sanitizer_summary"

  # 3. fastserde-bench (CPU and GPU rows).
  log "fastserde-bench"
  # shellcheck disable=SC2086
  if ! timeout "${FSD_BENCH_TIMEOUT:-240}" "$bench" --json "$stem.json" ${FSD_BENCH_ARGS:-} >"$work/bench.txt" 2>"$work/bench.err"; then
    fails=1
    log "fastserde-bench failed (see the log)"
  fi
  cat "$work/bench.err" >>"$full_log"

  # 3b. The access model of the same kernels (no GPU needed), and Nsight Compute's counters of
  # them: per view, the first two launches of the library's kernels are fastserde-bench's pack
  # and unpack checks.
  log "fastserde-bench --model"
  if ! timeout "${FSD_MODEL_TIMEOUT:-300}" "$bench" --model --quiet --json "$stem-model.json" >"$work/model.txt" 2>>"$full_log"; then
    fails=1
    log "fastserde-bench --model failed (see the log)"
  fi
  local ncu ncu_summary="ncu not found: not run" joiner=""
  ncu=$(command -v ncu || ls /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
  for p in "$here/../bench/model_vs_ncu.py" "$src/model_vs_ncu.py"; do [ -f "$p" ] && joiner=$p && break; done
  if [ -n "$ncu" ]; then
    local metrics shape layout n_ok=0 n_all=0
    metrics=gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum
    metrics+=,l1tex__t_sectors_pipe_lsu_mem_global_op_ld.sum,l1tex__t_requests_pipe_lsu_mem_global_op_ld.sum
    metrics+=,l1tex__t_sectors_pipe_lsu_mem_global_op_st.sum,l1tex__t_requests_pipe_lsu_mem_global_op_st.sum
    metrics+=,l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum,l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_st.sum
    metrics+=,l1tex__data_pipe_lsu_wavefronts_mem_shared_op_ld.sum,l1tex__data_pipe_lsu_wavefronts_mem_shared_op_st.sum
    metrics+=,smsp__inst_executed_op_shared_ld.sum,smsp__inst_executed_op_shared_st.sum
    metrics+=,smsp__inst_executed.sum,sm__warps_active.avg.pct_of_peak_sustained_active,launch__registers_per_thread
    : >"$stem-ncu.csv"
    for shape in ${FSD_NCU_SHAPES:-llama3-8b}; do
      for layout in token-slice head-subset permute transpose; do
        n_all=$((n_all + 1))
        log "ncu: $shape $layout"
        if timeout "${FSD_NCU_TIMEOUT:-120}" "$ncu" --clock-control none --csv --page raw --print-units base \
            --metrics "$metrics" --kernel-name regex:'^fsd_(runs|transpose)' --launch-count 2 \
            "$bench" --device gpu --quick --iters 1 --quiet --shape "$shape" --layout "$layout" \
            >"$work/ncu.csv" 2>>"$full_log"; then
          n_ok=$((n_ok + 1))
        fi
        # keep ncu's CSV lines (quoted), tagged with the view
        grep '^"' "$work/ncu.csv" | sed "s/^/\"$shape\",\"$layout\",/" \
          | sed '1s/^"[^"]*","[^"]*",/"fsd_model","fsd_layout",/' >>"$stem-ncu.csv"
      done
    done
    ncu_summary="$n_ok of $n_all views profiled ($(basename "$stem")-ncu.csv)"
    if [ -n "$joiner" ] && command -v python3 >/dev/null; then
      python3 "$joiner" "$stem-model.json" "$stem-ncu.csv" "$stem.json" >"$stem-model-vs-ncu.md" 2>>"$full_log" ||
        ncu_summary+="; model_vs_ncu.py failed"
    fi
  fi
  log "ncu: $ncu_summary"

  # 4. The GPU Google Benchmark suite.
  local gb_summary="not run"
  if [ -x "$gbench" ]; then
    log "fastserde-gbench-gpu"
    # shellcheck disable=SC2086
    if timeout "${FSD_GBENCH_TIMEOUT:-150}" "$gbench" --benchmark_format=console --benchmark_out="$stem-gbench.json" \
        --benchmark_out_format=json ${FSD_GBENCH_ARGS:-} >"$work/gbench.txt" 2>&1; then
      gb_summary="$(grep -c '/manual_time' "$work/gbench.txt") benchmarks"
    else
      gb_summary="FAILED or timed out"
      fails=1
    fi
    cat "$work/gbench.txt" >>"$full_log"
  fi

  # 5. The report.
  {
    echo "# fastserde GPU check: $gpu_name, $date"
    echo
    echo "- Mode: $mode ($( [ "$mode" = bundle ] && head -1 "$src/BUILD_INFO" 2>/dev/null || git -C "$here/.." rev-parse --short HEAD 2>/dev/null))"
    echo "- Built for: sm_$arch$( [ "$mode" = bundle ] && sed -n 's/^nvcc: /, nvcc /p' "$src/BUILD_INFO" 2>/dev/null)"
    echo "- Host: $(uname -n), $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
    echo "- Tests: $tests_summary"
    echo "- compute-sanitizer: ${sanitizer_summary:-not run}"
    echo "- Google Benchmark GPU suite: $gb_summary ($(basename "$stem")-gbench.json)"
    echo "- Access model vs Nsight Compute: $ncu_summary ($(basename "$stem")-model.json, -model-vs-ncu.md)"
    echo
    echo "## GPU (nvidia-smi, at the start of the run)"
    echo
    echo '```'
    cat "$work/smi.csv" 2>/dev/null || echo "nvidia-smi not available"
    echo '```'
    echo
    echo "## fastserde-bench"
    echo
    echo '```'
    cat "$work/bench.txt"
    echo '```'
    if [ -s "$stem-gbench.json" ] && command -v python3 >/dev/null; then
      echo
      echo "## Google Benchmark, GPU suite (GB/s of packed bytes; x = / baseline, same run)"
      echo
      python3 - "$stem-gbench.json" <<'EOF' || true
import json, sys
d = json.load(open(sys.argv[1]))
rows = [b for b in d.get("benchmarks", []) if not b.get("error_occurred")]
print("| benchmark | GB/s | baseline GB/s | x baseline | baseline |")
print("|---|---:|---:|---:|---|")
for b in rows:
    print(f"| {b['name'].replace('/manual_time', '')} | {b.get('bytes_per_second', 0) / 1e9:.1f} | "
          f"{b.get('baseline_GBps', 0):.1f} | {b.get('x_baseline', 0):.2f} | {b.get('label', '').replace('baseline=', '')} |")
skipped = [b for b in d.get("benchmarks", []) if b.get("error_occurred")]
if skipped:
    print(f"\n{len(skipped)} skipped: {skipped[0].get('error_message', '')}")
EOF
    fi
  } >"$stem.md"

  # 6. Charts, and the copies into $OUT.
  local plot=""
  for p in "$here/../bench/plot.py" "$src/plot.py"; do [ -f "$p" ] && plot=$p && break; done
  local charts=()
  if [ -n "$plot" ] && python3 -c "import matplotlib" 2>/dev/null; then
    while IFS= read -r c; do charts+=("$c"); done < <(python3 "$plot" "$stem.json" "$stem-gbench.json" -o "$work/charts" 2>>"$full_log" | grep -E 'gpu|sizes' | head -3)
  fi
  if [ -n "${OUT:-}" ] && [ -d "$OUT" ]; then
    cp "$stem.json" "$stem.md" "$full_log" "$OUT/" 2>/dev/null
    mv "$OUT/log.txt" "$OUT/$(basename "$stem").log" 2>/dev/null
    [ -f "$stem-gbench.json" ] && cp "$stem-gbench.json" "$OUT/"
    for f in "$stem-model.json" "$stem-ncu.csv" "$stem-model-vs-ncu.md"; do [ -s "$f" ] && cp "$f" "$OUT/"; done
    for c in "${charts[@]}"; do cp "$c" "$OUT/"; done
    log "copied the results into \$OUT"
  fi
  # results/ keeps the JSON, the report and the charts; the full log goes to $OUT only.
  if [ ${#charts[@]} -gt 0 ]; then cp "${charts[@]}" "$results/"; fi

  # The tables last, so that the end of the output shows them.
  cat "$work/bench.txt"
  echo
  echo "tests: $tests_summary"
  echo "compute-sanitizer: ${sanitizer_summary:-not run}"
  echo "gbench: $gb_summary"
  echo "ncu: $ncu_summary"
  [ -s "$stem-model-vs-ncu.md" ] && cat "$stem-model-vs-ncu.md"
  echo "results: $stem.json $stem.md ${stem}-gbench.json"
  [ $fails = 0 ] && echo "gpu-check: all passed" || echo "gpu-check: SOME CHECKS FAILED"
  return $fails
}

# ---------------------------------------------------------------------------------------------
case "${1:-}" in
  --bundle)
    bundle "${2:-}"
    ;;
  --run-bundle)
    [ -n "${2:-}" ] && [ -d "$2" ] || { log "--run-bundle DIR"; exit 2; }
    run_checks bundle "$(cd "$2" && pwd)"
    ;;
  ""|--check)
    root=$(cd "$here/.." && pwd)
    if ! command -v nvidia-smi >/dev/null && [ ! -e /dev/nvidia0 ]; then
      log "no NVIDIA GPU here. On a machine without one, prepare a bundle with: $0 --bundle"
      exit 1
    fi
    export PATH="/usr/local/cuda/bin:$PATH"
    build=${FSD_GPU_BUILD_DIR:-$root/build-gpu}
    log "building for sm_$arch into $build"
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$arch" >&2 || exit 1
    cmake --build "$build" -j"$(nproc)" >&2 || exit 1
    run_checks build "$build"
    ;;
  -h|--help)
    sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    ;;
  *)
    log "unknown mode '$1' (none, --bundle [DIR], --run-bundle DIR, --help)"
    exit 2
    ;;
esac
