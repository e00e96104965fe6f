#!/usr/bin/env bash
# Agent throughput benchmark (not a test): backup and restore through a real
# clawback-agent over mTLS, against baselines doing the same work on the same
# data in the same run:
#   backup   `tar --format=pax --xattrs --acls -cf - | zstd -3 -T<threads> > file`, with and
#            without `| tee file | sha256sum` (the agent hashes what it sends),
#            threads = the agent's zstd workers (BENCH_THREADS, default: CPUs);
#   restore  `zstd -dc file | tar -x --xattrs --acls` into tmpfs AND into a
#            loop-mounted ext4, page cache warm AND cold (drop_caches, when
#            writable), `sync` included in both sides' time;
#   scaling  backup pinned with taskset to 1 and 2 cores (agent and baseline
#            alike, baseline -T = cores).
# `sync` before every timed step; the order of agent and baseline alternates
# between runs. Prints per measure the median and min-max of N runs, the
# ratio baseline/agent per run (>= 1: the agent is faster; target >= 0.95) as
# median and min-max, CPU-seconds (user+sys) of every process on each side,
# archive sizes and the agents' peak RSS (VmHWM; target <= 32 MiB).
# Archive size: the agent's seekable archive (frames at member boundaries,
# index, seek table) against the baseline's single zstd stream, and with
# BENCH_REF_AGENT=<older clawback-agent> against that agent's archive of the
# same data (the cost of the format change; target <= 2 %).
#
#   bench/agent/run.sh [BUILD_DIR]
#   env: AGENT=path/to/clawback-agent  BENCH_SIZE_MIB=1024  BENCH_RUNS=5
#        BENCH_THREADS=<zstd threads>  BENCH_SKIP_EXT4=1  BENCH_SKIP_COLD=1  BENCH_SKIP_SCALING=1
#        BENCH_REF_AGENT=path/to/older/clawback-agent  BENCH_SKIP_RESTORE=1
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-${BUILD_DIR:-$SRC/build}}
AGENT=${AGENT:-$BUILD/agent/clawback-agent}
SIZE_MIB=${BENCH_SIZE_MIB:-1024}
RUNS=${BENCH_RUNS:-5}
THREADS=${BENCH_THREADS:-$(nproc)}
OUT=$SRC/bench/out/agent
DATA=$OUT/data-$SIZE_MIB            # the agent's --root; the dataset is home/claworc below it
WORK=$OUT/work
RESTORE=${BENCH_RESTORE_DIR:-/dev/shm/clawback-bench-restore}

[ -x "$AGENT" ] || { echo "no agent binary at $AGENT (build clawback-agent or set AGENT=)" >&2; exit 2; }
for tool in curl tar zstd openssl python3 sha256sum taskset bc; do
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

TMPFS_RESTORE=$RESTORE
EXT4_IMG=$WORK/ext4.img
EXT4_RESTORE=$WORK/ext4
mkdir -p "$TMPFS_RESTORE"

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
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$TMPFS_RESTORE"
  mountpoint -q "$EXT4_RESTORE" 2>/dev/null && umount "$EXT4_RESTORE"
  rm -f "$EXT4_IMG"
}
trap cleanup EXIT

start_agent() {  # root port_file log [taskset cpus] -> sets AGENT_PID AGENT_PORT
  rm -f "$2"
  local pin=()
  [ -n "${4:-}" ] && pin=(taskset -c "$4")
  "${pin[@]}" "$AGENT" --listen 127.0.0.1:0 --port-file "$2" --cert "$PKI/agent.crt" --key "$PKI/agent.key" \
    --ca "$PKI/ca.crt" --root "$1" --threads "${5:-$THREADS}" 2>"$3" &
  AGENT_PID=$!
  PIDS+=("$AGENT_PID")
  for _ in $(seq 200); do [ -s "$2" ] && break; sleep 0.05; done
  [ -s "$2" ] || { echo "agent did not start:" >&2; cat "$3" >&2; exit 1; }
  AGENT_PORT=$(cat "$2")
}

min() { printf '%s\n' "$@" | sort -g | head -1; }
max() { printf '%s\n' "$@" | sort -g | tail -1; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
stat3() { printf '%.2f (%.2f-%.2f)' "$(median "$@")" "$(min "$@")" "$(max "$@")"; }
ratios() { local -n b=$1 a=$2; local i; for i in "${!b[@]}"; do echo "${b[$i]} / ${a[$i]}" | bc -l; done; }
peak_rss_mib() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
cpu_of() { awk '{print ($14 + $15) / '"$(getconf CLK_TCK)"'}' "/proc/$1/stat"; }
COLD_OK=0
if [ -z "${BENCH_SKIP_COLD:-}" ] && (echo 1 > /proc/sys/vm/drop_caches) 2>/dev/null; then COLD_OK=1; fi
settle() {  # cold|warm: sync, and drop the page cache when cold
  sync
  if [ "$1" = cold ]; then echo 3 > /proc/sys/vm/drop_caches; fi
}

# timed WALL_VAR CPU_VAR AGENT_PID|- CMD: runs CMD (a bash -c string, pinned
# with PIN when set), appends its wall time and the CPU-seconds of its
# processes (+ the agent's CPU delta) to the two arrays.
PIN=()
timed() {
  local -n _w=$1 _c=$2; local apid=$3 a0=0; shift 3
  [ "$apid" != - ] && a0=$(cpu_of "$apid")
  /usr/bin/time -f '%e %U %S' -o "$WORK/time.out" "${PIN[@]}" bash -c "$1"
  read -r w u s < "$WORK/time.out"
  _w+=("$w")
  local c; c=$(echo "$u + $s" | bc -l)
  [ "$apid" != - ] && c=$(echo "$c + $(cpu_of "$apid") - $a0" | bc -l)
  _c+=("$c")
}

AGENT_BACKUP_CMD() {  # port out
  echo "curl -sS --fail --cacert $PKI/ca.crt --cert $PKI/controller.crt --key $PKI/controller.key -H 'Content-Type: application/json' -d '{\"paths\":[\"HOME\"]}' https://127.0.0.1:$1/v1/backup -o $2 && sync $2"
}
AGENT_RESTORE_CMD() {  # port archive dir
  echo "curl -sS --fail --cacert $PKI/ca.crt --cert $PKI/controller.crt --key $PKI/controller.key -X POST -H 'Content-Type: application/zstd' -T $2 https://127.0.0.1:$1/v1/restore -o $WORK/restore.json && sync -f $3"
}
BASE_BACKUP_CMD() {  # threads out [tee-sha]
  if [ -n "${3:-}" ]; then
    echo "tar --format=pax --xattrs --acls -cf - -C $DATA home/claworc | zstd -3 -T$1 -q | tee $2 | sha256sum >/dev/null && sync $2"
  else
    echo "tar --format=pax --xattrs --acls -cf - -C $DATA home/claworc | zstd -3 -T$1 -q > $2 && sync $2"
  fi
}
BASE_RESTORE_CMD() { echo "zstd -dc -q $1 | tar -x --xattrs --acls -C $2 && sync -f $2"; }

report() {  # label base_w agent_w base_c agent_c
  local -n bw=$2 aw=$3 bc=$4 ac=$5
  local r; mapfile -t r < <(ratios "$2" "$3")
  printf '%-34s agent %s s  baseline %s s  ratio %s  | CPU-s agent %s  baseline %s\n' "$1" \
    "$(stat3 "${aw[@]}")" "$(stat3 "${bw[@]}")" "$(stat3 "${r[@]}")" "$(stat3 "${ac[@]}")" "$(stat3 "${bc[@]}")"
}

echo "dataset: $((DATA_BYTES / 1048576)) MiB in $DATA_FILES files; $RUNS runs each; zstd threads $THREADS; load $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- backup (warm source) ----
start_agent "$DATA" "$WORK/backup.port" "$WORK/backup-agent.log"
BACKUP_PID=$AGENT_PID BACKUP_PORT=$AGENT_PORT
tar -cf - -C "$DATA" home/claworc | cat > /dev/null  # warm the page cache for both sides alike
ab_w=() ab_c=() bb_w=() bb_c=() bs_w=() bs_c=()
for i in $(seq "$RUNS"); do
  agent_step() { settle warm; timed ab_w ab_c "$BACKUP_PID" "$(AGENT_BACKUP_CMD "$BACKUP_PORT" "$WORK/agent.tar.zst")"; }
  base_step() {
    settle warm; timed bb_w bb_c - "$(BASE_BACKUP_CMD "$THREADS" "$WORK/baseline.tar.zst")"
    settle warm; timed bs_w bs_c - "$(BASE_BACKUP_CMD "$THREADS" "$WORK/baseline-sha.tar.zst" sha)"
  }
  if (( i % 2 )); then agent_step; base_step; else base_step; agent_step; fi
done
report "backup" bb_w ab_w bb_c ab_c
report "backup (baseline + sha256sum tee)" bs_w ab_w bs_c ab_c
AGENT_SIZE=$(stat -c %s "$WORK/agent.tar.zst") BASE_SIZE=$(stat -c %s "$WORK/baseline.tar.zst")
printf 'archive sizes: agent %s B, baseline %s B; agent/baseline %.4f (%+.2f %%)\n' "$AGENT_SIZE" "$BASE_SIZE" \
  "$(echo "$AGENT_SIZE / $BASE_SIZE" | bc -l)" "$(echo "($AGENT_SIZE - $BASE_SIZE) * 100 / $BASE_SIZE" | bc -l)"
if [ -n "${BENCH_REF_AGENT:-}" ]; then
  REAL_AGENT=$AGENT AGENT=$BENCH_REF_AGENT
  start_agent "$DATA" "$WORK/ref.port" "$WORK/ref-agent.log"
  REF_PID=$AGENT_PID; AGENT=$REAL_AGENT
  bash -c "$(AGENT_BACKUP_CMD "$AGENT_PORT" "$WORK/ref.tar.zst")"
  kill "$REF_PID"; wait "$REF_PID" 2>/dev/null || true
  REF_SIZE=$(stat -c %s "$WORK/ref.tar.zst")
  printf 'archive size vs reference agent (%s): %s B vs %s B, cost %+.2f %% (target <= 2 %%)\n' "$BENCH_REF_AGENT" \
    "$AGENT_SIZE" "$REF_SIZE" "$(echo "($AGENT_SIZE - $REF_SIZE) * 100 / $REF_SIZE" | bc -l)"
fi

# ---- restore: tmpfs and ext4, warm and cold ----
restore_into() {  # fs_label dir
  local dir=$2 mode
  mkdir -p "$dir/agent" "$dir/baseline"
  start_agent "$dir/agent" "$WORK/restore.port" "$WORK/restore-agent.log"
  local rpid=$AGENT_PID rport=$AGENT_PORT
  for mode in warm cold; do
    [ "$mode" = cold ] && [ "$COLD_OK" = 0 ] && continue
    ar_w=() ar_c=() br_w=() br_c=()
    for i in $(seq "$RUNS"); do
      rm -rf "${dir:?}/agent"/* "${dir:?}/baseline"/*
      agent_step() { settle "$mode"; timed ar_w ar_c "$rpid" "$(AGENT_RESTORE_CMD "$rport" "$WORK/agent.tar.zst" "$dir/agent")"; }
      base_step() { settle "$mode"; timed br_w br_c - "$(BASE_RESTORE_CMD "$WORK/baseline.tar.zst" "$dir/baseline")"; }
      if (( i % 2 )); then agent_step; base_step; else base_step; agent_step; fi
      grep -q '"status":"ok"' "$WORK/restore.json" || { echo "restore failed: $(cat "$WORK/restore.json")" >&2; exit 1; }
    done
    report "restore $1 $mode" br_w ar_w br_c ar_c
  done
  diff -rq "$DATA/home/claworc" "$dir/agent/home/claworc" >/dev/null || { echo "restored tree differs!" >&2; exit 1; }
  echo "peak RSS (VmHWM) restore agent ($1): $(peak_rss_mib "$rpid") MiB (target <= 32 MiB)"
  kill "$rpid"; wait "$rpid" 2>/dev/null || true
}
[ -z "${BENCH_SKIP_RESTORE:-}" ] && restore_into tmpfs "$TMPFS_RESTORE"
if [ -z "${BENCH_SKIP_EXT4:-}" ] && [ -z "${BENCH_SKIP_RESTORE:-}" ]; then
  rm -f "$EXT4_IMG"; truncate -s $((DATA_BYTES * 3 + (512 << 20))) "$EXT4_IMG"
  mkfs.ext4 -q -F "$EXT4_IMG"; mkdir -p "$EXT4_RESTORE"
  if mount -o loop "$EXT4_IMG" "$EXT4_RESTORE" 2>/dev/null; then
    restore_into ext4 "$EXT4_RESTORE"
  else
    echo "restore ext4: cannot loop-mount here, skipped"
  fi
fi
echo "peak RSS (VmHWM) backup agent: $(peak_rss_mib "$BACKUP_PID") MiB (target <= 32 MiB)"

# ---- backup scaling: 1 and 2 cores ----
if [ -z "${BENCH_SKIP_SCALING:-}" ]; then
  for cores in 1 2; do
    (( cores > $(nproc) )) && continue
    cpus=$(seq -s, 0 $((cores - 1)))
    start_agent "$DATA" "$WORK/scale.port" "$WORK/scale-agent.log" "$cpus" "$cores"
    spid=$AGENT_PID sport=$AGENT_PORT
    PIN=(taskset -c "$cpus")
    sa_w=() sa_c=() sb_w=() sb_c=()
    for i in $(seq "$RUNS"); do
      agent_step() { settle warm; timed sa_w sa_c "$spid" "$(AGENT_BACKUP_CMD "$sport" "$WORK/agent.tar.zst")"; }
      base_step() { settle warm; timed sb_w sb_c - "$(BASE_BACKUP_CMD "$cores" "$WORK/baseline.tar.zst")"; }
      if (( i % 2 )); then agent_step; base_step; else base_step; agent_step; fi
    done
    PIN=()
    report "backup on $cores core(s)" sb_w sa_w sb_c sa_c
    kill "$spid"; wait "$spid" 2>/dev/null || true
  done
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
