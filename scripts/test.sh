#!/usr/bin/env bash
# The README's test command: installs what the tests need (Debian packages,
# the browser-test npm packages), builds everything, and runs every suite:
# unit, integration (real agent processes over mTLS on loopback, a real SQLite
# file), browser (headless Chromium) and packaging checks.
#
#   sudo scripts/test.sh            # all suites
#   scripts/test.sh -L unit         # extra arguments go to ctest (and skip
#                                   # scripts/test-hardening.sh: sanitizers, fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
build=${CLAWBACK_BUILD_DIR:-$top/build}

bash scripts/install-deps.sh --browser

jobs=$(nproc)
export CCACHE_DIR=${CCACHE_DIR:-/var/cache/clawback/ccache}
# A fresh clone lives in another folder: hash relative paths so its objects hit
# the cache a previous build filled (CI reruns stay well inside the budget).
export CCACHE_BASEDIR=$top CCACHE_NOHASHDIR=true
cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j"$jobs"

cd "$build"
ctest --output-on-failure -j"$jobs" --timeout 900 "$@"

# Full runs (no ctest arguments) continue with the sanitizer and fuzzing
# stages: ASan+UBSan, TSan, libFuzzer (CLAWBACK_HARDENING=0 skips them).
if [[ $# == 0 && ${CLAWBACK_HARDENING:-1} != 0 ]]; then
  CLAWBACK_BUILD_DIR=$build bash "$top/scripts/test-hardening.sh"
fi
