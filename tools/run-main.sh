#!/usr/bin/env bash
# run-main.sh — the main job: sets up and builds, then runs fastserde-bench (arguments passed on).
set -euo pipefail
cd "$(dirname "$0")/.."
FSD_WITH_TORCH=0 tools/setup.sh
exec "${FSD_BUILD_DIR:-build}/bench/fastserde-bench" "$@"
