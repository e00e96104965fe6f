#!/usr/bin/env bash
# zstd parameters for the agent, chosen by measurement (not a test). Builds
# bench/zstd/zstd_params.cc against the agent's own static libzstd (the one
# with threads, from scripts/build-static-deps.sh), makes a pax tar of the
# bench dataset once, then compresses it at level 3 with 2 workers for each
# job size x overlap log, BENCH_RUNS times in interleaved order. Prints per
# configuration the median wall time (min-max), CPU-seconds, peak RSS of the
# compressing process and the output size. Results and the choice:
# bench/README.md.
#   bench/zstd/run.sh TAR_INPUT    env: BENCH_RUNS=3 BENCH_JOBS="1 2 3 4 0" BENCH_OVERLAPS="0 1 3"
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
TAR=${1:?usage: bench/zstd/run.sh TAR_INPUT}
RUNS=${BENCH_RUNS:-3}
DEPS=$(ls -td /var/cache/clawback/deps/*/ | head -1)
BIN=$SRC/bench/out/zstd_params
mkdir -p "$SRC/bench/out"
g++ -O2 -std=c++20 -I"$DEPS/include" "$SRC/bench/zstd/zstd_params.cc" "$DEPS/lib/libzstd.a" -lpthread -o "$BIN"
echo "input: $(stat -c %s "$TAR") bytes; load: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A rows
for run in $(seq "$RUNS"); do
  for job in ${BENCH_JOBS:-1 2 3 4 0}; do
    for ov in ${BENCH_OVERLAPS:-0 1 3}; do
      sync
      rows["$job $ov"]+="$("$BIN" "$TAR" 3 2 "$job" "$ov")"$'\n'
    done
  done
done
printf '%-7s %-7s %-22s %-10s %-10s %s\n' job_MiB overlap "wall_s median(min-max)" cpu_s rss_MiB out_bytes
for key in "${!rows[@]}"; do
  printf '%s' "${rows[$key]}" | sort -k3 -g | awk -v n="$RUNS" '
    {w[NR]=$3; c[NR]=$4; r[NR]=$5; o=$6; j=$1; v=$2}
    END {m=int((NR+1)/2); printf "%-7s %-7s %.2f (%.2f-%.2f)       %-10.2f %-10.1f %d\n", (j==0?"default":j), (v==0?"default":v), w[m], w[1], w[NR], c[m], r[NR], o}'
done | sort
