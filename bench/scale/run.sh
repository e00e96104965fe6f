#!/usr/bin/env bash
# Scale benchmark for one controller (not a test, not in CI): one real
# `clawback serve` and SCALE_INSTANCES (default 1,000) real clawback-agents on
# loopback, each its own process over its own small tree with its own bundle
# (issued by the controller's bundle API), under one all-instances schedule
# with cron `* * * * *`, for SCALE_SLOTS slots.
#
# While it runs it samples GET /api/v1/backups?status=running every ~10 ms and
# the clawback_transfers_running gauge of /metrics every SCALE_METRICS_EVERY_S
# (0.5; the bench before issue 18 scraped it every ~10 ms) (max must stay <=
# the cap), and, from a process of its own, times GET /api/v1/instances (request
# sent to whole body received) at a fixed pace of 10 per second: idle (SCALE_IDLE_S
# before the schedule exists: only the prober and the samplers run; one p99
# per 5 s window) and while a slot's transfers run (one p99 per 5 s window).
# Per slot it reads utime+stime of the controller and of every agent from
# /proc/<pid>/stat, from 1 s before the slot until its last backup is final,
# and again at each quarter of the slot's backups; it prints the CPU-seconds,
# the controller/agents ratio and the CPU per 1,000 backups, median (min-max)
# over the quarters.
# Afterwards it reads the store (read-only SQLite) and the audit log: every
# backup completed or failed with a reason, one backup per instance per fired
# slot, no slot fired twice. Exits 1 when a check fails. Takes ~4-6 minutes
# at 1,000 instances (agent start-up, minute boundaries); SCALE_QUICK=1 is a
# ~1-2 minute smoke run (100 instances, 5 s idle).
#
#   bench/scale/run.sh [BUILD_DIR]
#   env: CLAWBACK=path/to/clawback  AGENT=path/to/clawback-agent
#        SCALE_QUICK=1 (smaller defaults below)
#        SCALE_INSTANCES=1000 (quick 100)  SCALE_CAP=8 (--max-concurrent-transfers)
#        SCALE_SLOTS=1  SCALE_TREE_KIB=1024  SCALE_PROBE_INTERVAL=15
#        SCALE_IDLE_S=20 (quick 5)
#        SCALE_AGENT_NICE=10: agents run niced, as if on their own hosts (0: they
#        compete with the controller for the 2 cores as equals)
#        SCALE_PERF=1 (or idle): `perf record` the controller during the slots (or the idle phase)
#        (bench/out/scale/work/perf.data)
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-${BUILD_DIR:-$SRC/build}}
export CLAWBACK=${CLAWBACK:-$BUILD/controller/clawback}
export AGENT=${AGENT:-$BUILD/agent/clawback-agent}
if [ "${SCALE_QUICK:-0}" = 1 ]; then
  export SCALE_INSTANCES=${SCALE_INSTANCES:-100} SCALE_SLOTS=${SCALE_SLOTS:-1} SCALE_IDLE_S=${SCALE_IDLE_S:-5}
fi
export SCALE_INSTANCES=${SCALE_INSTANCES:-1000}
export SCALE_CAP=${SCALE_CAP:-8}
export SCALE_SLOTS=${SCALE_SLOTS:-1}
export SCALE_IDLE_S=${SCALE_IDLE_S:-20}
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
