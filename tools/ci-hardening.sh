#!/usr/bin/env bash
# ci-hardening.sh — the hardening checks CI runs after the normal suite (.ci/run):
#   1. ASan + UBSan: the whole ctest suite on a sanitized tree (build-asan/);
#   2. valgrind memcheck over the CPU test binaries of the normal build (build/);
#   3. libFuzzer: the fuzz targets of tests/fuzz built with clang (build-fuzz/), each run for a
#      bounded time from the committed seed corpus;
#   4. ThreadSanitizer: the concurrency test on a TSan tree (build-tsan/).
# Prints a header per section, a line per check, and "N passed, N failed" at the end; exits
# non-zero when any check failed. See docs/hardening.md.
#
# Environment: FSD_BUILD_DIR (normal build, default build), FSD_FUZZ_SECONDS (per fuzz target,
# default 60), FSD_VALGRIND_CASES (FSD_TEST_CASES under valgrind, default 40), FSD_HARDENING
# (sections to run, default "asan valgrind fuzz tsan").
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export PATH="/usr/local/cuda/bin:$PATH"
jobs=$(nproc)
normal="${FSD_BUILD_DIR:-build}"
fuzz_seconds="${FSD_FUZZ_SECONDS:-60}"
vg_cases="${FSD_VALGRIND_CASES:-40}"
sections="${FSD_HARDENING:-asan valgrind fuzz tsan}"
common=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DFSD_BUILD_BENCH=OFF)

passed=0
failed=0
results=()
t_start=$(date +%s)

section() { printf '\n==================== %s ====================\n' "$*"; }
record() { # record <rc> <name>
  if [ "$1" -eq 0 ]; then
    passed=$((passed + 1)); results+=("PASS  $2")
  else
    failed=$((failed + 1)); results+=("FAIL  $2 (exit $1)")
  fi
  printf -- '--> %s: %s\n' "$2" "$([ "$1" -eq 0 ] && echo passed || echo "FAILED (exit $1)")"
}
configure_build() { # configure_build <dir> <target or ""> <cmake args...>
  local dir=$1 target=$2
  shift 2
  cmake -S . -B "$dir" "${common[@]}" "$@" > "$dir.configure.log" 2>&1 || {
    tail -30 "$dir.configure.log"; return 1; }
  if [ -n "$target" ]; then
    cmake --build "$dir" -j"$jobs" --target "$target" > "$dir.build.log" 2>&1
  else
    cmake --build "$dir" -j"$jobs" > "$dir.build.log" 2>&1
  fi || { grep -E -B2 -A8 'error|Error' "$dir.build.log" | tail -60; return 1; }
}
# The tests of a build that run a test binary built there (not Python, not cmake scripts),
# one per line: name, working dir, environment (VAR=value, \x1f-separated), command (words
# \x1f-separated), the fields \x1e-separated (not tabs: bash would merge empty fields).
native_tests() {
  ctest --test-dir "$1" --show-only=json-v1 2>/dev/null | python3 -c '
import json, os, sys
build = os.path.realpath(sys.argv[1])
for t in json.load(sys.stdin).get("tests", []):
    cmd = t.get("command") or []
    if not cmd or not os.path.realpath(cmd[0]).startswith(build + os.sep):
        continue
    props = {p["name"]: p["value"] for p in t.get("properties", [])}
    env = props.get("ENVIRONMENT", [])
    env = [env] if isinstance(env, str) else env
    wd = props.get("WORKING_DIRECTORY", os.path.dirname(cmd[0]))
    print("\x1e".join([t["name"], wd, "\x1f".join(env), "\x1f".join(cmd)]))' "$1"
}

# CUDA's driver maps memory where ASan keeps its shadow gap; leaks inside the driver are not
# ours (tests/hardening/lsan.supp).
export ASAN_OPTIONS="protect_shadow_gap=0:detect_leaks=1:check_initialization_order=1:strict_init_order=1"
export LSAN_OPTIONS="suppressions=$root/tests/hardening/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# ---------------------------------------------------------------------------------------------
if [[ " $sections " == *" asan "* ]]; then
  section "1. ASan + UBSan: the whole suite (build-asan/)"
  t0=$(date +%s)
  if configure_build build-asan "" -DFSD_SANITIZE="address;undefined"; then
    record 0 "asan: configure and build"
    # The tests that run Python preload the ASan runtime into the interpreter
    # (fsd_add_python_test, cmake/sanitize.cmake), so the whole suite runs here.
    ctest --test-dir build-asan --output-on-failure -j"$jobs"
    record $? "asan+ubsan: ctest"
  else
    record 1 "asan: configure and build"
  fi
  echo "(section: $(( $(date +%s) - t0 )) s)"
fi

# ---------------------------------------------------------------------------------------------
if [[ " $sections " == *" valgrind "* ]]; then
  section "2. valgrind memcheck: CPU test binaries of $normal/ (FSD_TEST_CASES=$vg_cases)"
  t0=$(date +%s)
  if ! command -v valgrind > /dev/null; then
    echo "valgrind is not installed (tools/setup.sh installs it)"
    record 1 "valgrind: installed"
  else
    if [ ! -f "$normal/CTestTestfile.cmake" ]; then
      FSD_BUILD_DIR="$normal" tools/setup.sh > "$normal.setup.log" 2>&1 || tail -30 "$normal.setup.log"
    fi
    ran=0
    while IFS=$'\x1e' read -r name wd envs cmd; do
      # GPU tests: valgrind cannot run the CUDA driver (they skip without a GPU anyway).
      if [[ "$name" == *gpu* ]]; then
        echo "skip $name (GPU test: the CUDA driver does not run under valgrind)"
        continue
      fi
      IFS=$'\x1f' read -r -a argv <<< "$cmd"
      IFS=$'\x1f' read -r -a tenv <<< "$envs"
      log="$root/$normal/valgrind-$name.log"
      (cd "$wd" && env "${tenv[@]}" FSD_TEST_CASES="$vg_cases" FSD_TEST_THREADS=4 \
        valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect -q \
        "${argv[@]}") > "$log" 2>&1 < /dev/null
      rc=$?
      if [ $rc -eq 77 ]; then
        echo "skip $name (it skipped itself: exit 77)"
        continue
      fi
      [ $rc -eq 0 ] || tail -40 "$log"
      record $rc "valgrind: $name"
      ran=$((ran + 1))
    done < <(native_tests "$normal")
    [ $ran -gt 0 ] || record 1 "valgrind: found no test binaries in $normal"
  fi
  echo "(section: $(( $(date +%s) - t0 )) s)"
fi

# ---------------------------------------------------------------------------------------------
if [[ " $sections " == *" fuzz "* ]]; then
  section "3. libFuzzer (build-fuzz/, clang, ASan + UBSan): ${fuzz_seconds} s per target"
  t0=$(date +%s)
  if ! command -v clang > /dev/null; then
    echo "clang is not installed (tools/setup.sh installs clang and libclang-rt-14-dev)"
    record 1 "fuzz: clang"
  elif configure_build build-fuzz fsd_fuzzers -DCMAKE_C_COMPILER=clang -DFSD_FUZZ=ON; then
    record 0 "fuzz: configure and build"
    total=0
    for src in tests/fuzz/fuzz_*.c; do
      t=$(basename "$src" .c)
      bin="build-fuzz/tests/fuzz/$t"
      [ -x "$bin" ] || { record 1 "fuzz: $t not built"; continue; }
      work="build-fuzz/fuzz-run/$t"
      rm -rf "$work" && mkdir -p "$work/corpus"
      cp tests/fuzz/corpus/"$t"/* "$work/corpus/" 2>/dev/null
      dict=()
      [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
      "$bin" "$work/corpus" "${dict[@]}" -max_total_time="$fuzz_seconds" -timeout=30 -rss_limit_mb=4096 \
        -print_final_stats=1 -artifact_prefix="$work/" > "$work/log" 2>&1
      rc=$?
      execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
      echo "$t: ${execs:-?} executions (limit ${fuzz_seconds} s), exit $rc, corpus $(ls "$work/corpus" | wc -l) inputs"
      if [ $rc -ne 0 ]; then
        grep -E -A25 'ERROR|runtime error|check failed|deadly signal' "$work/log" | head -60
        ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null
      fi
      total=$((total + ${execs:-0}))
      record $rc "fuzz: $t"
    done
    echo "fuzz executions, all targets: $total"
  else
    record 1 "fuzz: configure and build"
  fi
  echo "(section: $(( $(date +%s) - t0 )) s)"
fi

# ---------------------------------------------------------------------------------------------
if [[ " $sections " == *" tsan "* ]]; then
  section "4. ThreadSanitizer: test_concurrency (build-tsan/)"
  t0=$(date +%s)
  if configure_build build-tsan test_concurrency -DFSD_SANITIZE=thread; then
    record 0 "tsan: configure and build"
    # TSan needs its fixed memory layout: run without address-space randomisation when we can.
    norand=()
    if command -v setarch > /dev/null && setarch "$(uname -m)" -R true 2> /dev/null; then
      norand=(setarch "$(uname -m)" -R)
    fi
    TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1" "${norand[@]}" \
      ctest --test-dir build-tsan --output-on-failure --no-tests=error -R '^test_concurrency$'
    record $? "tsan: test_concurrency"
  else
    record 1 "tsan: configure and build"
  fi
  echo "(section: $(( $(date +%s) - t0 )) s)"
fi

# ---------------------------------------------------------------------------------------------
section "Summary ($(( $(date +%s) - t_start )) s)"
for r in "${results[@]}"; do echo "$r"; done
echo "hardening: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
