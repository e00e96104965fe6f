#!/usr/bin/env bash
# test-hardening.sh: the sanitizer and fuzzing stages of the test suite
# (scripts/test.sh runs it after the main suite). Three build trees under the
# main build dir, sharing the ccache:
#
#   <build>/asan   gcc, -DCLAWBACK_SANITIZE=address,undefined: everything
#                  built, every suite run except the labels in
#                  CLAWBACK_ASAN_EXCLUDE (default: browser|packaging)
#   <build>/tsan   gcc, -DCLAWBACK_SANITIZE=thread: the controller's concurrent
#                  parts (jobs, scheduler, API: their unit and e2e suites)
#   <build>/fuzz   clang, -DCLAWBACK_FUZZ=ON with ASan+UBSan: the libFuzzer
#                  targets of tests/fuzz, corpus replay, then each target for
#                  CLAWBACK_FUZZ_SECONDS (default 45)
#
# Sanitizer reports of every process (tests and the controller, agent and CLI
# processes they start) go to log files under <tree>/sanitizer-logs; any
# report fails the stage even when the test that caused it passed.
# Suppressions: tests/sanitizers/*.supp (third-party false positives only).
#
#   scripts/test-hardening.sh                 # all stages
#   scripts/test-hardening.sh asan fuzz       # some stages
#
# Environment: CLAWBACK_BUILD_DIR (main build dir, default ./build),
# CLAWBACK_FUZZ_SECONDS, CLAWBACK_ASAN_EXCLUDE, CLAWBACK_JOBS (default nproc).
# Exits non-zero when any stage fails; prints the time each stage took.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
build=${CLAWBACK_BUILD_DIR:-$top/build}
jobs=${CLAWBACK_JOBS:-$(nproc)}
fuzz_seconds=${CLAWBACK_FUZZ_SECONDS:-45}
asan_exclude=${CLAWBACK_ASAN_EXCLUDE:-browser|packaging}
supp=$top/tests/sanitizers

export CCACHE_DIR=${CCACHE_DIR:-/var/cache/clawback/ccache}
export CCACHE_BASEDIR=$top CCACHE_NOHASHDIR=true

stages=("$@")
((${#stages[@]})) || stages=(asan tsan fuzz)

log() { printf '[hardening] %s\n' "$*" >&2; }
summary=()
failed=0

# Fails (returns 1) when any sanitizer report was written under $1.
check_reports() {
  local dir=$1 files
  files=$(find "$dir" -type f -size +0 2>/dev/null | sort || true)
  [[ -z "$files" ]] && return 0
  log "sanitizer reports in $dir:"
  local f
  for f in $files; do
    printf '==== %s\n' "$f" >&2
    head -n 60 "$f" >&2
  done
  return 1
}

configure() {  # configure DIR ARGS...
  local dir=$1
  shift
  cmake -S "$top" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$dir.configure.log" 2>&1 || {
    cat "$dir.configure.log" >&2
    return 1
  }
}

ctest_count() {  # the "N tests passed" line of a ctest log
  grep -E 'tests passed|tests failed' "$1" | tail -n 1 || true
}

stage_asan() {
  local dir=$build/asan logs=$build/asan/sanitizer-logs
  mkdir -p "$dir"
  configure "$dir" -DCLAWBACK_SANITIZE=address,undefined || return 1
  cmake --build "$dir" -j"$jobs" || return 1
  rm -rf "$logs" && mkdir -p "$logs"
  local rc=0
  (
    cd "$dir"
    export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=0:log_path=$logs/asan:suppressions=$supp/asan.supp"
    export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan:suppressions=$supp/ubsan.supp"
    ctest --output-on-failure -j"$jobs" --timeout 900 -LE "$asan_exclude" | tee "$dir/ctest.log"
  ) || rc=1
  check_reports "$logs" || rc=1
  asan_result="$(ctest_count "$dir/ctest.log") (excluded labels: $asan_exclude)"
  return "$rc"
}

# The controller's concurrent parts: the job queue and transfers (driven by the
# e2e suites), the scheduler, the API router and server, sessions.
tsan_targets=(clawback clawback-agent controller_api_test controller_auth_test scheduler_cron_test scheduler_test
              controller_e2e_test controller_auth_e2e_test)

stage_tsan() {
  local dir=$build/tsan logs=$build/tsan/sanitizer-logs
  mkdir -p "$dir"
  configure "$dir" -DCLAWBACK_SANITIZE=thread || return 1
  local present=() t
  for t in "${tsan_targets[@]}"; do
    # A suite another change removed or renamed is skipped, not fatal.
    if ninja -C "$dir" -t query "$t" >/dev/null 2>&1; then present+=("$t"); else log "tsan: no target $t"; fi
  done
  cmake --build "$dir" -j"$jobs" --target "${present[@]}" || return 1
  rm -rf "$logs" && mkdir -p "$logs"
  local rc=0 suites
  suites=$(printf '%s|' "${present[@]}")
  (
    cd "$dir"
    export TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1:history_size=4:log_path=$logs/tsan:suppressions=$supp/tsan.supp"
    # Only the suites built above carry labels (the others are *_NOT_BUILT
    # placeholders without any); fuzz corpus replays are not built here.
    ctest --output-on-failure -j"$jobs" --timeout 900 -L 'unit|integration' -LE 'fuzz|browser|packaging' \
      | tee "$dir/ctest.log"
  ) || rc=1
  check_reports "$logs" || rc=1
  tsan_result="$(ctest_count "$dir/ctest.log") (suites: ${suites%|})"
  return "$rc"
}

stage_fuzz() {
  local dir=$build/fuzz logs=$build/fuzz/sanitizer-logs
  mkdir -p "$dir"
  configure "$dir" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCLAWBACK_BUILD_TESTS=OFF -DCLAWBACK_FUZZ=ON \
    -DCLAWBACK_SANITIZE=address,undefined || return 1
  cmake --build "$dir" -j"$jobs" --target clawback_fuzzers || return 1
  local rc=0
  (cd "$dir" && ctest --output-on-failure -j"$jobs" -L fuzz | tee "$dir/ctest.log") || rc=1
  fuzz_result="corpus replay: $(ctest_count "$dir/ctest.log")"
  local corpus=$top/tests/fuzz/corpus t bin out execs
  for bin in "$dir"/tests/fuzz/*_fuzz; do
    t=$(basename "$bin")
    # New inputs go to a scratch corpus in the build tree; the seeds stay read-only.
    mkdir -p "$dir/work/$t" "$dir/artifacts"
    out=$dir/$t.log
    log "fuzzing $t for ${fuzz_seconds}s"
    if ASAN_OPTIONS="detect_leaks=1:halt_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
       "$bin" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
         -artifact_prefix="$dir/artifacts/$t-" "$dir/work/$t" "$corpus/$t" >"$out" 2>&1; then
      execs=$(awk '/stat::number_of_executed_units/ {print $NF}' "$out" | tail -n 1)
      fuzz_result+=$'\n'"  $t: ${execs:-?} executions in ${fuzz_seconds}s, corpus $(ls "$dir/work/$t" | wc -l) new inputs"
    else
      rc=1
      log "$t FAILED; its output (last 60 lines):"
      tail -n 60 "$out" >&2
      fuzz_result+=$'\n'"  $t: FAILED (artifacts in $dir/artifacts)"
    fi
  done
  return "$rc"
}

asan_result="" tsan_result="" fuzz_result=""
for s in "${stages[@]}"; do
  case "$s" in
    asan|tsan|fuzz) ;;
    *) log "unknown stage: $s (asan, tsan, fuzz)"; exit 2 ;;
  esac
  log "stage $s"
  start=$SECONDS
  if "stage_$s"; then status=ok; else status=FAILED; failed=1; fi
  summary+=("$(printf '%-5s %-6s %5ds' "$s" "$status" $((SECONDS - start)))")
done

log "summary:"
for line in "${summary[@]}"; do printf '  %s\n' "$line" >&2; done
[[ -n "$asan_result" ]] && printf '  asan: %s\n' "$asan_result" >&2
[[ -n "$tsan_result" ]] && printf '  tsan: %s\n' "$tsan_result" >&2
[[ -n "$fuzz_result" ]] && printf '  fuzz: %s\n' "$fuzz_result" >&2
exit "$failed"
