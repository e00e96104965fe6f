#!/usr/bin/env bash
# Schedule benchmark with two controller replicas (issue 18; not a test, not
# in CI): a private PostgreSQL 15 (initdb/postgres run as user `postgres`,
# data in a temp dir, TCP on a free loopback port), one moto_server bucket
# (CLAWORC_BACKUPS_PATH=s3://bench/fleet), two `clawback serve` replicas on
# both (B gets a copy of A's PKI), REPL_INSTANCES real agents, one
# all-instances schedule with cron `* * * * *` for REPL_SLOTS slots. The
# leader is killed with SIGKILL REPL_KILL_AFTER_S seconds after the first
# slot fired. Reports completed / failed / duplicated (two backups of one
# instance in one slot) backups, slots fired, the takeover time (kill until
# the survivor's /healthz says leader) and the p99 of GET /api/v1/instances
# against the survivor (10 per second for the whole run). Exits 1 when a
# slot fired twice or not at all, a backup was duplicated or left unfinished.
# Needs root (runuser), PostgreSQL 15 in PG_BIN, moto_server on PATH.
#
#   bench/replicas/run.sh [BUILD_DIR]
#   env: REPL_INSTANCES=50 REPL_SLOTS=3 REPL_CAP=8 REPL_KILL_AFTER_S=0.5 REPL_TREE_KIB=1024
#        PG_BIN=/usr/lib/postgresql/15/bin CLAWBACK=... AGENT=...
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-${BUILD_DIR:-$SRC/build}}
export CLAWBACK=${CLAWBACK:-$BUILD/controller/clawback}
export AGENT=${AGENT:-$BUILD/agent/clawback-agent}
export REPL_INSTANCES=${REPL_INSTANCES:-50}
export REPL_SLOTS=${REPL_SLOTS:-3}
export REPL_CAP=${REPL_CAP:-8}
export REPL_KILL_AFTER_S=${REPL_KILL_AFTER_S:-0.5}
export REPL_TREE_KIB=${REPL_TREE_KIB:-1024}
export PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
export REPL_OUT=$SRC/bench/out/replicas

[ -x "$CLAWBACK" ] || { echo "no controller binary at $CLAWBACK (build clawback or set CLAWBACK=)" >&2; exit 2; }
[ -x "$AGENT" ] || { echo "no agent binary at $AGENT (build clawback-agent or set AGENT=)" >&2; exit 2; }
[ -x "$PG_BIN/initdb" ] || { echo "no PostgreSQL 15 in $PG_BIN (apt-get install postgresql-15)" >&2; exit 2; }
for tool in python3 moto_server runuser; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "run as root: PostgreSQL is started as user postgres through runuser" >&2; exit 2; }

want=$((REPL_INSTANCES * 8 + 1024))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want" ]; then ulimit -n "$want" 2>/dev/null || true; fi
echo "load before: $(uptime)"
exec python3 "$SRC/bench/replicas/replicas_bench.py"
