#!/usr/bin/env bash
# python-wheel.sh — the Python package as users install it: builds the wheel of the repository
# (pip wheel ., i.e. what `pip install .` builds: scikit-build-core over the CMake project, see
# pyproject.toml), installs it into a fresh virtual environment, and runs the Python tests
# against the installed package (not python/ of this checkout, no FASTSERDE_LIBRARY), then the
# seed's usage example there. CI runs it after tools/run-tests.sh (.ci/run).
#
# The environment is made with Debian's /usr/bin/python3 -m venv --system-site-packages, so
# Debian's python3-torch, numpy and pytest stay visible (Debian 12's pip refuses to install
# outside a virtual environment); pip fetches the build requirements (scikit-build-core) from
# PyPI into its isolated build environment. LMCache 0.3.15's wheel is downloaded without its
# dependencies and unpacked beside, so that fastserde.lmcache is compared with LMCache's own
# classes (python/tests/conftest.py); if it cannot be fetched, the seed's copy stands in and
# the header says so.
#
# Environment: FSD_PYTHON (default /usr/bin/python3), FSD_WHEEL_DIR (default build-wheel).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
python="${FSD_PYTHON:-/usr/bin/python3}"
work="${FSD_WHEEL_DIR:-build-wheel}"
export PATH="/usr/local/cuda/bin:$PATH"
t0=$(date +%s)

rm -rf "$work"
mkdir -p "$work/dist"
venv="$root/$work/venv"
"$python" -m venv --system-site-packages "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check)

echo "== pip wheel . (scikit-build-core; the log: $work/wheel.log)"
if ! "${pip[@]}" wheel --no-deps -w "$work/dist" . > "$work/wheel.log" 2>&1; then
  tail -60 "$work/wheel.log"
  exit 1
fi
wheels=("$work"/dist/fastserde-*.whl)
[ ${#wheels[@]} -eq 1 ] || { echo "expected one wheel, found: ${wheels[*]}"; exit 1; }
wheel=${wheels[0]}
echo "built $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB):"
"$venv/bin/python" -m zipfile -l "$wheel"
case "$(basename "$wheel")" in
  *-py3-none-*) ;;
  *) echo "the wheel is not tagged py3-none-<platform>"; exit 1 ;;
esac

echo "== pip install $(basename "$wheel") into $work/venv"
"${pip[@]}" install -q "$wheel"

# safetensors (PyPI) for the frames' round trips in python/tests/test_frames.py, which then
# must not skip them (FSD_REQUIRE_SAFETENSORS=1); without it they are skipped, saying so.
require_safetensors=0
if "${pip[@]}" install -q "safetensors==0.8.0" > "$work/safetensors.log" 2>&1; then
  echo "safetensors 0.8.0 installed for the frames' round trips"
  require_safetensors=1
else
  echo "safetensors could not be installed ($work/safetensors.log): the frames' round trips"
  echo "through it are skipped"
  tail -5 "$work/safetensors.log" || true
fi

lmcache="$root/$work/lmcache"
if "${pip[@]}" download -q --no-deps -d "$work/lmcache-wheel" lmcache==0.3.15 > "$work/lmcache.log" 2>&1 &&
   "$venv/bin/python" -m zipfile -e "$work"/lmcache-wheel/lmcache-*.whl "$lmcache" &&
   PYTHONPATH="$lmcache" "$venv/bin/python" -c \
     "import lmcache.storage_backend.serde.fast_serde" >> "$work/lmcache.log" 2>&1; then
  echo "LMCache 0.3.15's files (no dependencies) unpacked in $work/lmcache: the reference"
  pythonpath="$lmcache"
else
  echo "LMCache 0.3.15 could not be fetched or imported ($work/lmcache.log): the tests compare"
  echo "fastserde.lmcache with the seed's code copied (python/tests/seed_fast_serde.py)"
  tail -5 "$work/lmcache.log" || true
  pythonpath=""
fi

# From a directory without a fastserde package, with no FASTSERDE_LIBRARY.
cd "$root/$work"
run() { env -u FASTSERDE_LIBRARY PYTHONPATH="$pythonpath" FSD_TEST_INSTALLED=1 \
          FSD_REQUIRE_SAFETENSORS="$require_safetensors" \
          PYTHONDONTWRITEBYTECODE=1 "$venv/bin/python" "$@"; }
echo "== the seed's usage example against the installed package"
run "$root/python/examples/lmcache_usage.py"
echo "== python/tests against the installed package"
run -m pytest -p no:cacheprovider -rs -q "$root/python/tests"
echo "python-wheel: passed ($(( $(date +%s) - t0 )) s)"
