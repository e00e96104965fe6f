#!/usr/bin/env bash
# Agent throughput benchmark (not a test): backup and restore through a real
# clawback-agent over mTLS, against `tar | zstd -3 -T0` and `zstd -dc | tar -x`
# on the same data in the same run. Prints best-of-N times, ratios
# (baseline_time / agent_time: >= 1 means the agent is faster; target >= 0.95)
# and the agents' peak RSS (VmHWM; target <= 32 MiB).
#
#   bench/agent/run.sh [BUILD_DIR]
#   env: AGENT=path/to/clawback-agent  BENCH_SIZE_MIB=1024  BENCH_RUNS=3
#        BENCH_RESTORE_DIR=/dev/shm/...  BENCH_THREADS=<zstd threads>
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-${BUILD_DIR:-$SRC/build}}
AGENT=${AGENT:-$BUILD/agent/clawback-agent}
SIZE_MIB=${BENCH_SIZE_MIB:-1024}
RUNS=${BENCH_RUNS:-3}
OUT=$SRC/bench/out/agent
DATA=$OUT/data-$SIZE_MIB            # the agent's --root; the dataset is home/claworc below it
WORK=$OUT/work
RESTORE=${BENCH_RESTORE_DIR:-/dev/shm/clawback-bench-restore}

[ -x "$AGENT" ] || { echo "no agent binary at $AGENT (build clawback-agent or set AGENT=)" >&2; exit 2; }
for tool in curl tar zstd openssl python3; do
  command -v $tool >/dev/null || { echo "missing tool: $tool" >&2; exit 2; }
done
mkdir -p "$OUT" "$WORK"

# ---- dataset (cached) ----
if [ ! -f "$DATA/.complete" ]; then
  echo "generating ~${SIZE_MIB} MiB dataset in $DATA (cached for later runs) ..."
  rm -rf "$DATA"
  /usr/bin/python3 "$SRC/bench/agent/gen_dataset.py" "$DATA/home/claworc" "$SIZE_MIB"
  touch "$DATA/.complete"
fi
DATA_BYTES=$(du -sb "$DATA/home/claworc" | cut -f1)
DATA_FILES=$(find "$DATA/home/claworc" -type f | wc -l)

# Restores go to tmpfs when it has room for two copies (steadier than ext4 here).
avail_kib=$(df -k --output=avail "$(dirname "$RESTORE")" 2>/dev/null | tail -1 || echo 0)
if [ "${avail_kib:-0}" -lt $((DATA_BYTES * 3 / 1024)) ]; then RESTORE=$WORK/restore; fi
AGENT_RESTORE_ROOT=$RESTORE/agent
BASE_RESTORE_ROOT=$RESTORE/baseline

# ---- PKI (openssl CLI; the agent only reads PEM files) ----
PKI=$WORK/pki
if [ ! -f "$PKI/controller.crt" ]; then
  mkdir -p "$PKI"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=bench CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
    -keyout "$PKI/ca.key" -out "$PKI/ca.crt" 2>/dev/null
  leaf() {  # name uri eku
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
      -keyout "$PKI/$1.key" -out "$PKI/$1.csr" 2>/dev/null
    printf 'subjectAltName=URI:%s,IP:127.0.0.1\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' "$2" "$3" > "$PKI/$1.ext"
    openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days 30 \
      -extfile "$PKI/$1.ext" -out "$PKI/$1.crt" 2>/dev/null
  }
  leaf agent spiffe://claworc/instance/bench serverAuth,clientAuth
  leaf controller spiffe://claworc/controller clientAuth
fi
CURL=(curl -sS --fail --cacert "$PKI/ca.crt" --cert "$PKI/controller.crt" --key "$PKI/controller.key")

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$RESTORE"; }
trap cleanup EXIT

start_agent() {  # root port_file log -> sets AGENT_PID AGENT_PORT
  rm -f "$2"
  local threads=()
  [ -n "${BENCH_THREADS:-}" ] && threads=(--threads "$BENCH_THREADS")
  "$AGENT" --listen 127.0.0.1:0 --port-file "$2" --cert "$PKI/agent.crt" --key "$PKI/agent.key" \
    --ca "$PKI/ca.crt" --root "$1" "${threads[@]}" 2>"$3" &
  AGENT_PID=$!
  PIDS+=("$AGENT_PID")
  for _ in $(seq 200); do [ -s "$2" ] && break; sleep 0.05; done
  [ -s "$2" ] || { echo "agent did not start:" >&2; cat "$3" >&2; exit 1; }
  AGENT_PORT=$(cat "$2")
}

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc -l; }
min() { printf '%s\n' "$@" | sort -g | head -1; }
peak_rss_mib() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

start_agent "$DATA" "$WORK/backup.port" "$WORK/backup-agent.log"
BACKUP_PID=$AGENT_PID BACKUP_PORT=$AGENT_PORT
mkdir -p "$AGENT_RESTORE_ROOT" "$BASE_RESTORE_ROOT"
start_agent "$AGENT_RESTORE_ROOT" "$WORK/restore.port" "$WORK/restore-agent.log"
RESTORE_PID=$AGENT_PID RESTORE_PORT=$AGENT_PORT

# Warm the page cache for both sides alike.
tar -cf - -C "$DATA" home/claworc | cat > /dev/null

echo "dataset: $((DATA_BYTES / 1048576)) MiB in $DATA_FILES files; $RUNS runs each; restores into $RESTORE"
agent_b=() base_b=() agent_r=() base_r=()
for i in $(seq "$RUNS"); do
  t0=$(now)
  "${CURL[@]}" -H 'Content-Type: application/json' -d '{"paths":["HOME"]}' \
    "https://127.0.0.1:$BACKUP_PORT/v1/backup" -o "$WORK/agent.tar.zst"
  t1=$(now)
  tar -cf - -C "$DATA" home/claworc | zstd -3 -T0 -q > "$WORK/baseline.tar.zst"
  t2=$(now)
  agent_b+=("$(elapsed "$t0" "$t1")") base_b+=("$(elapsed "$t1" "$t2")")

  rm -rf "${AGENT_RESTORE_ROOT:?}"/* "${BASE_RESTORE_ROOT:?}"/*
  sync
  t0=$(now)
  "${CURL[@]}" -X POST -H 'Content-Type: application/zstd' -T "$WORK/agent.tar.zst" \
    "https://127.0.0.1:$RESTORE_PORT/v1/restore" -o "$WORK/restore.json"
  t1=$(now)
  zstd -dc -q "$WORK/baseline.tar.zst" | tar -x -C "$BASE_RESTORE_ROOT"
  t2=$(now)
  agent_r+=("$(elapsed "$t0" "$t1")") base_r+=("$(elapsed "$t1" "$t2")")
  grep -q '"status":"ok"' "$WORK/restore.json" || { echo "restore failed: $(cat "$WORK/restore.json")" >&2; exit 1; }
done
diff -rq "$DATA/home/claworc" "$AGENT_RESTORE_ROOT/home/claworc" >/dev/null || { echo "restored tree differs!" >&2; exit 1; }

ab=$(min "${agent_b[@]}") bb=$(min "${base_b[@]}") ar=$(min "${agent_r[@]}") br=$(min "${base_r[@]}")
mib=$(echo "$DATA_BYTES / 1048576" | bc -l)
printf '%-8s agent %6.2f s (%4.0f MiB/s, %s MiB out)  baseline %6.2f s (%s MiB out)  ratio %.2f  (target >= 0.95)\n' \
  backup "$ab" "$(echo "$mib / $ab" | bc -l)" "$(( $(stat -c %s "$WORK/agent.tar.zst") / 1048576 ))" \
  "$bb" "$(( $(stat -c %s "$WORK/baseline.tar.zst") / 1048576 ))" "$(echo "$bb / $ab" | bc -l)"
printf '%-8s agent %6.2f s (%4.0f MiB/s)  baseline %6.2f s  ratio %.2f  (target >= 0.95)\n' \
  restore "$ar" "$(echo "$mib / $ar" | bc -l)" "$br" "$(echo "$br / $ar" | bc -l)"
echo "all runs (s): backup agent ${agent_b[*]} | baseline ${base_b[*]}; restore agent ${agent_r[*]} | baseline ${base_r[*]}"
echo "peak RSS (VmHWM): backup agent $(peak_rss_mib "$BACKUP_PID") MiB, restore agent $(peak_rss_mib "$RESTORE_PID") MiB (target <= 32 MiB)"
