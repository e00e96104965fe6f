#!/usr/bin/env bash
# Scale benchmark for scheduled backups (not a test, not in CI): one real
# `clawback serve` and SCALE_INSTANCES real clawback-agents on loopback, each
# its own process over its own small tree with its own bundle (issued by the
# controller's bundle API), under one all-instances schedule with cron
# `* * * * *`, for SCALE_SLOTS slots. While it runs it samples, every ~10 ms,
# GET /api/v1/backups?status=running and the clawback_transfers_running gauge
# of /metrics (max must stay <= the cap), and times GET /api/v1/instances
# (p50/p99 latency). Afterwards it reads the store (read-only SQLite) and the
# audit log: every backup completed or failed with a reason, one backup per
# instance per fired slot, no slot fired twice. Prints the figures; exits 1
# when a check fails. Takes ~2-4 minutes (it waits for minute boundaries).
#
#   bench/scale/run.sh [BUILD_DIR]
#   env: CLAWBACK=path/to/clawback  AGENT=path/to/clawback-agent
#        SCALE_INSTANCES=200  SCALE_CAP=8 (--max-concurrent-transfers)
#        SCALE_SLOTS=2  SCALE_TREE_KIB=1024  SCALE_PROBE_INTERVAL=15
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-${BUILD_DIR:-$SRC/build}}
export CLAWBACK=${CLAWBACK:-$BUILD/controller/clawback}
export AGENT=${AGENT:-$BUILD/agent/clawback-agent}
export SCALE_INSTANCES=${SCALE_INSTANCES:-200}
export SCALE_CAP=${SCALE_CAP:-8}
export SCALE_SLOTS=${SCALE_SLOTS:-2}
export SCALE_TREE_KIB=${SCALE_TREE_KIB:-1024}
export SCALE_PROBE_INTERVAL=${SCALE_PROBE_INTERVAL:-15}
export SCALE_OUT=$SRC/bench/out/scale

[ -x "$CLAWBACK" ] || { echo "no controller binary at $CLAWBACK (build clawback or set CLAWBACK=)" >&2; exit 2; }
[ -x "$AGENT" ] || { echo "no agent binary at $AGENT (build clawback-agent or set AGENT=)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "missing tool: python3" >&2; exit 2; }

# Each agent, its connections and the controller's sockets and files need
# descriptors; 1024 is tight for 200 agents plus the bench's own.
want=$((SCALE_INSTANCES * 8 + 1024))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want" ]; then
  hard=$(ulimit -Hn)
  if [ "$hard" = unlimited ] || [ "$hard" -ge "$want" ]; then ulimit -n "$want"; else ulimit -n "$hard"; fi
fi
echo "ulimit -n $(ulimit -n); load before: $(uptime)"

exec python3 "$SRC/bench/scale/scale_bench.py"
