#!/usr/bin/env bash
# kernel-report.sh BUILD_DIR — what every CUDA kernel costs, read without a GPU:
#   1. registers, stack frame, spill stores/loads, shared memory and barriers per kernel and
#      architecture, from ptxas -v (the kernel sources are compiled again, with the flags and
#      architectures of BUILD_DIR, into a temporary folder: BUILD_DIR is not touched);
#   2. when cuobjdump (and the nvdisasm it needs) can be found, the width of every global load
#      and store (LDG/STG .8 .16 .32 .64 .128) per kernel, from the SASS of the same objects.
# The library's kernels (kernels/*.cu) come first, then the benchmarks' hand-written baselines
# (bench/bench_kernels.cu). A kernel that starts spilling or loses its 16-byte accesses shows.
#
# Never fails CI: missing tools are reported and skipped; exit status 0 unless
# FSD_KERNEL_REPORT_STRICT=1 and a kernel spills. cuobjdump is looked for in $CUOBJDUMP, PATH,
# the CUDA toolkit's bin/, and Python's site-packages (PyPI: nvidia-cuda-cuobjdump and
# nvidia-cuda-nvdisasm, e.g. `pip install --target DIR ...` then FSD_CUDA_TOOLS_DIR=DIR).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 0
root=$PWD
build=${1:-build}
[ -d "$build" ] || { echo "kernel-report: no build folder '$build' (run tools/setup.sh first)"; exit 0; }
build=$(cd "$build" && pwd)
cache=$build/CMakeCache.txt

cache_get() { [ -f "$cache" ] && sed -n "s/^$1:[A-Z]*=//p" "$cache" | head -1; }

nvcc=$(cache_get CMAKE_CUDA_COMPILER)
[ -n "$nvcc" ] && [ -x "$nvcc" ] || nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
if [ ! -x "$nvcc" ]; then
  echo "kernel-report: nvcc not found: nothing to report"
  exit 0
fi
cuda_bin=$(dirname "$nvcc")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The compile flags of a CMake target (Makefile generator), else flags rebuilt from the cache.
target_flags() { # $1: target name
  local fm=$build/CMakeFiles/$1.dir/flags.make
  if [ ! -f "$fm" ]; then fm=$(find "$build" -path "*/CMakeFiles/$1.dir/flags.make" 2>/dev/null | head -1); fi
  if [ -n "$fm" ] && [ -f "$fm" ]; then
    local dir=${fm%/CMakeFiles/*}
    # includes_CUDA.rsp paths are relative to the folder of the target's Makefile
    echo "cd:$dir"
    sed -n -e 's/^CUDA_FLAGS = //p' -e 's/^CUDA_DEFINES = //p' -e 's/^CUDA_INCLUDES = //p' "$fm" | tr '\n' ' '
    return
  fi
  local archs gen="" dl
  archs=$(cache_get CMAKE_CUDA_ARCHITECTURES)
  [ -n "$archs" ] || archs="80-real;90-real"
  IFS=';' read -ra list <<<"$archs"
  for a in "${list[@]}"; do
    case $a in
      *-virtual) ;;
      *-real) gen+=" -gencode arch=compute_${a%-real},code=sm_${a%-real}" ;;
      native|all|all-major) gen+=" -arch=$a" ;;
      *) gen+=" -gencode arch=compute_$a,code=sm_$a" ;;
    esac
  done
  dl=$(cache_get DLPACK_INCLUDE_DIR)
  echo "cd:$build"
  echo "-O3 -DNDEBUG -std=c++17 --expt-relaxed-constexpr $gen -I$root/include -I$root/host -I$root/kernels -I$root/bench ${dl:+-I$dl}"
}

# Compiles $2 (a source) with the flags of target $1 into $tmp/$3.o; ptxas output to $tmp/$3.log.
compile() {
  local spec cd flags
  spec=$(target_flags "$1")
  cd=$(printf '%s\n' "$spec" | sed -n 's/^cd://p')
  flags=$(printf '%s\n' "$spec" | grep -v '^cd:')
  # shellcheck disable=SC2086
  (cd "$cd" && "$nvcc" $flags -Xptxas=-v -c "$2" -o "$tmp/$3.o") >"$tmp/$3.log" 2>&1
}

demangle() { if command -v c++filt >/dev/null; then c++filt; else cat; fi; }

# ptxas -v log -> "arch<TAB>kernel<TAB>regs<TAB>stack<TAB>spill_st<TAB>spill_ld<TAB>smem<TAB>barriers"
parse_ptxas() {
  awk '
    /Compiling entry function/ {
      match($0, /function \x27[^\x27]+\x27/); name = substr($0, RSTART + 10, RLENGTH - 11)
      match($0, /for \x27[^\x27]+\x27/); arch = substr($0, RSTART + 5, RLENGTH - 6)
      entry = 1; stack = sst = sld = 0; next
    }
    entry && /bytes stack frame/ {
      for (i = 1; i <= NF; i++) {
        if ($(i+1) == "bytes" && $(i+2) == "stack") stack = $i
        if ($(i+1) == "bytes" && $(i+2) == "spill" && $(i+3) ~ /^stores/) sst = $i
        if ($(i+1) == "bytes" && $(i+2) == "spill" && $(i+3) ~ /^loads/) sld = $i
      }
      next
    }
    entry && /Used [0-9]+ registers/ {
      regs = smem = bar = 0
      for (i = 1; i <= NF; i++) {
        if ($(i+1) ~ /^registers/) regs = $i
        if ($(i+1) == "bytes" && $(i+2) ~ /^smem/) smem = $i
        if ($(i+1) ~ /^barriers/) bar = $i
      }
      printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", arch, name, regs, stack, sst, sld, smem, bar
      entry = 0
    }' "$1"
}

find_tool() { # $1: tool name
  local v
  v=$(printenv "$(echo "$1" | tr a-z A-Z)" 2>/dev/null || true)
  [ -n "$v" ] && [ -x "$v" ] && { echo "$v"; return; }
  command -v "$1" 2>/dev/null && return
  [ -x "$cuda_bin/$1" ] && { echo "$cuda_bin/$1"; return; }
  local d
  for d in ${FSD_CUDA_TOOLS_DIR:-} $(python3 -c 'import site,sys; print(" ".join(site.getsitepackages()+[site.getusersitepackages()]))' 2>/dev/null); do
    for f in "$d"/nvidia/cu*/bin/"$1" "$d"/nvidia/cuda_*/bin/"$1" "$d"/bin/"$1"; do
      [ -x "$f" ] && { echo "$f"; return; }
    done
  done
}

# SASS of an object -> "arch<TAB>kernel<TAB>LDG widths<TAB>STG widths" (widths as bits:count)
parse_sass() {
  awk '
    function width(op,   n, parts, i, w) {
      n = split(op, parts, "."); w = 32
      for (i = 2; i <= n; i++) {
        if (parts[i] == "128" || parts[i] == "256" || parts[i] == "64") w = parts[i]
        else if (parts[i] == "U16" || parts[i] == "S16") w = 16
        else if (parts[i] == "U8" || parts[i] == "S8") w = 8
      }
      return w
    }
    function flush(   k, lout, sout, w) {
      if (name == "") return
      lout = sout = ""
      split("256 128 64 32 16 8", ws, " ")
      for (k = 1; k <= 6; k++) {
        w = ws[k]
        if (ld[w]) lout = lout (lout ? " " : "") w "b:" ld[w]
        if (st[w]) sout = sout (sout ? " " : "") w "b:" st[w]
      }
      printf "%s\t%s\t%s\t%s\n", arch, name, lout ? lout : "-", sout ? sout : "-"
      delete ld; delete st; name = ""
    }
    /code for sm_/ { flush(); arch = $NF }
    /Function : / { flush(); name = $NF }
    name != "" {
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^LDG(\.|$)/) { ld[width($i)]++; break }
        if ($i ~ /^STG(\.|$)/) { st[width($i)]++; break }
      }
    }
    END { flush() }' "$1"
}

echo "== kernel report: $build"
echo "nvcc: $("$nvcc" --version | grep -o 'release [^,]*' | head -1) ($nvcc)"
sources=()
for f in "$root"/kernels/*.cu; do [ -f "$f" ] && sources+=("fsd_kernel_objects|$f|lib_$(basename "$f" .cu)"); done
[ -f "$root/bench/bench_kernels.cu" ] && sources+=("fsdb_gpu_baselines|$root/bench/bench_kernels.cu|bench_kernels")

: >"$tmp/all.tsv"
for s in "${sources[@]}"; do
  IFS='|' read -r target src tag <<<"$s"
  if ! compile "$target" "$src" "$tag"; then
    echo "kernel-report: compiling ${src#"$root"/} failed (no figures for it):"
    tail -5 "$tmp/$tag.log" | sed 's/^/  /'
    continue
  fi
  parse_ptxas "$tmp/$tag.log" | sed "s|^|${src#"$root"/}\t|" >>"$tmp/all.tsv"
done

if [ ! -s "$tmp/all.tsv" ]; then
  echo "kernel-report: no kernel compiled: nothing to report"
  exit 0
fi

echo
echo "Registers, stack, spills (bytes) and shared memory (bytes) per kernel, from ptxas -v:"
printf '%-22s %-6s %5s %6s %8s %8s %7s %4s  %s\n' source arch regs stack spill_st spill_ld smem bar kernel
sort -t$'\t' -k2,2 -s "$tmp/all.tsv" | while IFS=$'\t' read -r src arch name regs stack sst sld smem bar; do
  printf '%-22s %-6s %5s %6s %8s %8s %7s %4s  %s\n' "$src" "$arch" "$regs" "$stack" "$sst" "$sld" "$smem" "$bar" \
    "$(echo "$name" | demangle)"
done
kernels=$(wc -l <"$tmp/all.tsv")
spilling=$(awk -F'\t' '$6 > 0 || $7 > 0' "$tmp/all.tsv" | wc -l)
echo "$kernels kernel builds, $spilling with spills (goal: 0)."

cuobjdump=$(find_tool cuobjdump)
nvdisasm=$(find_tool nvdisasm)
echo
if [ -z "$cuobjdump" ]; then
  echo "Global load/store widths: cuobjdump not found (CUDA toolkit bin/, or PyPI nvidia-cuda-cuobjdump"
  echo "with nvidia-cuda-nvdisasm): skipped."
elif [ -z "$nvdisasm" ]; then
  echo "Global load/store widths: $cuobjdump found, but not nvdisasm, which it needs for SASS"
  echo "(CUDA toolkit bin/, or PyPI nvidia-cuda-nvdisasm): skipped."
else
  PATH="$(dirname "$nvdisasm"):$PATH"
  export PATH
  echo "Global loads (LDG) and stores (STG) per kernel by width in bits (b:count), from SASS ($cuobjdump):"
  printf '%-6s %-30s %-30s  %s\n' arch LDG STG kernel
  for s in "${sources[@]}"; do
    IFS='|' read -r target src tag <<<"$s"
    [ -f "$tmp/$tag.o" ] || continue
    if "$cuobjdump" -sass "$tmp/$tag.o" >"$tmp/$tag.sass" 2>"$tmp/$tag.sass.err"; then
      parse_sass "$tmp/$tag.sass"
    else
      echo "kernel-report: cuobjdump -sass ${src#"$root"/} failed: $(head -1 "$tmp/$tag.sass.err")" >&2
    fi
  done | sort -t$'\t' -k1,1 -s | while IFS=$'\t' read -r arch name ld st; do
    printf '%-6s %-30s %-30s  %s\n' "$arch" "$ld" "$st" "$(echo "$name" | demangle)"
  done
fi

if [ "${FSD_KERNEL_REPORT_STRICT:-0}" = 1 ] && [ "$spilling" -gt 0 ]; then
  exit 1
fi
exit 0
