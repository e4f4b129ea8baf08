#!/usr/bin/env bash
# setup.sh — installs the Debian packages fastserde needs (only those missing), then configures
# and builds into ${FSD_BUILD_DIR:-build}. Used by run-main.sh and run-tests.sh; extra arguments
# go to cmake's configure step. Expects the CUDA toolkit in /usr/local/cuda (no GPU needed).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake make gcc g++ pkg-config libcmocka-dev libdlpack-dev libbenchmark-dev libxxhash-dev
  libjansson-dev)
# The test suite's extras: the PyTorch oracles and the Python package's tests (Debian's
# python3-torch, pytest), charts (matplotlib), sanitizer/fuzzer builds (clang and its
# runtimes), valgrind, and python3-venv for the wheel check (tools/python-wheel.sh: pip
# fetches scikit-build-core from PyPI inside the virtual environment).
[ "${FSD_WITH_TORCH:-1}" = 1 ] && packages+=(python3 python3-torch python3-numpy python3-pytest
  python3-matplotlib clang libclang-rt-14-dev valgrind python3-venv)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

export PATH="/usr/local/cuda/bin:$PATH"
build="${FSD_BUILD_DIR:-build}"
# The frames' round trips through the `safetensors` package (tests/frame) run in a venv over
# Debian's python3 (its torch and numpy) with safetensors from PyPI, made before configuring
# so that CMake finds it (a missing one leaves that test unregistered, with a message).
venv="$build/safetensors-venv"
if [ "${FSD_WITH_TORCH:-1}" = 1 ] && ! "$venv/bin/python" -c "import safetensors" 2>/dev/null; then
  echo "setup: making $venv (safetensors from PyPI)" >&2
  mkdir -p "$build"
  { /usr/bin/python3 -m venv --system-site-packages "$venv" &&
    "$venv/bin/pip" install -q "safetensors==0.8.0"; } >&2 ||
    echo "setup: WARNING: no safetensors venv; the frame round trips are not registered" >&2
fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release "$@" >&2
cmake --build "$build" -j"$(nproc)" >&2
