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

# Full runs (no ctest arguments) continue with the hardening stages
# (scripts/test-hardening.sh): by default the libFuzzer stage (clang,
# ASan+UBSan fuzz targets, corpus replay, then each target for
# CLAWBACK_FUZZ_SECONDS). CLAWBACK_HARDENING=full adds the whole suite under
# ASan+UBSan and the controller's concurrent parts under TSan (each a full
# build: not yet inside CI's time budget on 2 cores); CLAWBACK_HARDENING=0
# skips hardening.
if [[ $# == 0 ]]; then
  case ${CLAWBACK_HARDENING:-fuzz} in
    0) ;;
    full) CLAWBACK_BUILD_DIR=$build bash "$top/scripts/test-hardening.sh" asan tsan fuzz ;;
    *) CLAWBACK_BUILD_DIR=$build CLAWBACK_FUZZ_SECONDS=${CLAWBACK_FUZZ_SECONDS:-30} \
         bash "$top/scripts/test-hardening.sh" fuzz ;;
  esac
fi
