#!/usr/bin/env bash
# run-tests.sh — sets up and builds, then runs the whole test suite with ctest. GPU tests report
# "skipped" on a machine without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
ctest --test-dir "${FSD_BUILD_DIR:-build}" --output-on-failure -j"$(nproc)" "$@"
