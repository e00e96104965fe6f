#!/usr/bin/env bash
# Object storage benchmark (not a test): backups end to end through a real
# `clawback serve` and a real clawback-agent into a local S3-protocol server
# (moto_server, on this machine) versus into a local directory, on the same
# data in the same run, the order alternating between runs. A backup is timed
# from the POST to the poll that sees `completed` (for S3: after
# CompleteMultipartUpload and the HEAD check). Prints the median and min-max
# of N runs per side, the paired ratio (s3 / local), and each controller's
# peak RSS (VmHWM, the controllers are fresh processes that do nothing else).
#
# moto is a Python server: its own CPU cost dominates the S3 side, so the
# ratio says more about moto than about a real bucket; the RSS figure is the
# controller's own (bounded: one part filling + one in flight).
#
# The S3 side reaches moto through bench/s3/keepalive_relay.py, which keeps
# client connections alive as S3 does (moto closes each after one answer)
# and counts them: each backup's requests and TCP connections are printed.
# With CLAWBACK_BEFORE=<another clawback binary> a third controller runs that
# binary against the same moto and relay (an "s3-before" side, e.g. the
# build before a change), and the paired ratio s3/s3-before is printed.
#
#   bench/s3/run.sh [BUILD_DIR]
#   env: BENCH_SIZE_MIB=256  BENCH_RUNS=5  CLAWBACK=...  AGENT=...  CLAWBACK_BEFORE=...
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-${BUILD_DIR:-$SRC/build}}
export CLAWBACK=${CLAWBACK:-$BUILD/controller/clawback}
export AGENT=${AGENT:-$BUILD/agent/clawback-agent}
export SIZE_MIB=${BENCH_SIZE_MIB:-256}
export RUNS=${BENCH_RUNS:-5}
export DATA=$SRC/bench/out/agent/data-$SIZE_MIB
export WORK=$SRC/bench/out/s3/work
[ -x "$CLAWBACK" ] || { echo "no controller binary at $CLAWBACK" >&2; exit 2; }
[ -x "$AGENT" ] || { echo "no agent binary at $AGENT" >&2; exit 2; }
command -v moto_server >/dev/null || { echo "moto_server not on PATH" >&2; exit 2; }
if [ ! -f "$DATA/.complete" ]; then
  echo "generating ~${SIZE_MIB} MiB dataset in $DATA (cached for later runs) ..."
  rm -rf "$DATA"
  /usr/bin/python3 "$SRC/bench/agent/gen_dataset.py" "$DATA/home/claworc" "$SIZE_MIB"
  touch "$DATA/.complete"
fi
rm -rf "$WORK"
mkdir -p "$WORK"
exec /usr/bin/python3 "$SRC/bench/s3/bench_s3.py"
