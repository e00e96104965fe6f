#!/usr/bin/env bash
# Controller benchmark (not a test): backups and restores end to end through a
# real `clawback serve` and real clawback-agents over mTLS, against
# `tar --format=pax --xattrs --acls | zstd -3 -T<CPUs>` (the agent's level and
# workers) and `zstd -dc | tar -x --xattrs --acls && sync` on the same data in
# the same run; the order of the two sides alternates between runs.
#   1. backup: POST /api/v1/instances/{id}/backups, poll GET /api/v1/backups/{id}
#      every BENCH_POLL_MS (10) ms until `completed` (archive fsynced and renamed
#      by then). The baseline writes to the same filesystem; it is timed both
#      as is (page cache only) and including `sync FILE` (as durable as the
#      controller's archive, which is fsynced before it is `completed`);
#   2. restore: POST /api/v1/backups/{id}/restore into a second instance's empty
#      root, poll GET /api/v1/restores/{id} until `completed`; diff -r once;
#   3. fleet: 32 agents (each its own ~20 MiB root) backing up at once through a
#      controller run with --max-concurrent-transfers 32: how many completed,
#      the controller's peak RSS (VmHWM; target < 128 MiB) and its CPU time
#      (utime+stime) as a fraction of the agents' summed CPU time, both counted
#      from the first POST to the last final status.
# Both sides start from a warm page cache for the source data and after a
# `sync`. Prints, per measure, the median and min-max of N runs, and ratios
# (baseline_time / controller_time, paired per run: >= 1 means the controller
# path is faster; target >= 0.9) as median and min-max.
#
#   bench/controller/run.sh [BUILD_DIR]
#   env: CLAWBACK=path/to/clawback  AGENT=path/to/clawback-agent  BENCH_SIZE_MIB=1024
#        BENCH_RUNS=5  BENCH_RESTORE_DIR=/dev/shm/...  BENCH_FLEET=32  BENCH_FLEET_MIB=20
#        BENCH_POLL_MS=10  BENCH_SKIP_FLEET=1 (parts 1-2 only)  BENCH_SKIP_SINGLE=1 (part 3 only)
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-${BUILD_DIR:-$SRC/build}}
CLAWBACK=${CLAWBACK:-$BUILD/controller/clawback}
AGENT=${AGENT:-$BUILD/agent/clawback-agent}
SIZE_MIB=${BENCH_SIZE_MIB:-1024}
RUNS=${BENCH_RUNS:-5}
FLEET=${BENCH_FLEET:-32}
FLEET_MIB=${BENCH_FLEET_MIB:-20}
export BENCH_POLL_MS=${BENCH_POLL_MS:-10}
DATA=$SRC/bench/out/agent/data-$SIZE_MIB   # shared with bench/agent/run.sh; dataset is home/claworc below it
OUT=$SRC/bench/out/controller
WORK=$OUT/work
FLEET_DATA=$OUT/fleet-${FLEET}x$FLEET_MIB      # cached roots fleet-NN/root
RESTORE=${BENCH_RESTORE_DIR:-/dev/shm/clawback-bench-controller-restore}
PASSWORD=bench-admin-password-$(date +%s)-long-enough

[ -x "$CLAWBACK" ] || { echo "no controller binary at $CLAWBACK (build clawback or set CLAWBACK=)" >&2; exit 2; }
[ -x "$AGENT" ] || { echo "no agent binary at $AGENT (build clawback-agent or set AGENT=)" >&2; exit 2; }
for tool in curl tar zstd python3 bc diff; do
  command -v $tool >/dev/null || { echo "missing tool: $tool" >&2; exit 2; }
done
rm -rf "$WORK"
mkdir -p "$OUT" "$WORK"

# ---- datasets (cached) ----
if [ ! -f "$DATA/.complete" ]; then
  echo "generating ~${SIZE_MIB} MiB dataset in $DATA (cached for later runs) ..."
  rm -rf "$DATA"
  /usr/bin/python3 "$SRC/bench/agent/gen_dataset.py" "$DATA/home/claworc" "$SIZE_MIB"
  touch "$DATA/.complete"
fi
DATA_BYTES=$(du -sb "$DATA/home/claworc" | cut -f1)
DATA_FILES=$(find "$DATA/home/claworc" -type f | wc -l)

if [ ! -f "$FLEET_DATA/.complete" ]; then
  echo "generating $FLEET roots of ~${FLEET_MIB} MiB in $FLEET_DATA (cached for later runs) ..."
  rm -rf "$FLEET_DATA"
  # Mixed per root: ~35% small text files in nested dirs, 35% log text, 30% random.
  /usr/bin/python3 - "$FLEET_DATA" "$FLEET" "$FLEET_MIB" <<'EOF'
import os, random, sys
dest, count, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
base = random.Random(99)
vocab = [bytes(base.choices(b"abcdefghijklmnopqrstuvwxyz", k=base.randint(2, 9))) + b" " for _ in range(4096)]
def text(rng, size):
    out, n = [], 0
    while n < size:
        chunk = b"".join(rng.choices(vocab, k=512)) + b"\n"
        out.append(chunk); n += len(chunk)
    return b"".join(out)[:size]
def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f: f.write(data)
for i in range(1, count + 1):
    rng = random.Random(i)
    home = os.path.join(dest, "fleet-%02d" % i, "root", "home", "claworc")
    budget = mib << 20
    used, j = 0, 0
    while used < budget * 35 // 100:
        size = min(int(rng.lognormvariate(8.2, 1.0)), 128 << 10)
        d = rng.choice(["", ".openclaw/memory", ".openclaw/skills/s%d" % (j % 7), "work/src", "work/src/lib"])
        write(os.path.join(home, d, "f%04d.txt" % j), text(rng, size))
        used += size; j += 1
    write(os.path.join(home, "work", "agent.log"), text(rng, budget * 35 // 100))
    write(os.path.join(home, "work", "blob.bin"), rng.randbytes(budget * 30 // 100))
EOF
  touch "$FLEET_DATA/.complete"
fi

# Restores go to tmpfs when it has room for two copies (steadier than ext4 here).
avail_kib=$(df -k --output=avail "$(dirname "$RESTORE")" 2>/dev/null | tail -1 || echo 0)
if [ "${avail_kib:-0}" -lt $((DATA_BYTES * 3 / 1024)) ]; then RESTORE=$WORK/restore; fi
CTL_RESTORE_ROOT=$RESTORE/controller
BASE_RESTORE_ROOT=$RESTORE/baseline

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$RESTORE"
}
trap cleanup EXIT

wait_port() {  # port_file log pid
  for _ in $(seq 400); do [ -s "$1" ] && return 0; kill -0 "$3" 2>/dev/null || break; sleep 0.05; done
  echo "process did not start (log $2):" >&2; cat "$2" >&2; exit 1
}

start_controller() {  # data_dir name [serve flags...] -> sets CTL_PID API TOKEN
  local dir=$1 name=$2; shift 2
  rm -rf "$dir"; mkdir -p "$dir"; chmod 700 "$dir"
  CLAWORC_DATA_PATH=$dir CLAWORC_ADMIN_PASSWORD=$PASSWORD \
    "$CLAWBACK" serve --data-dir "$dir" --listen 127.0.0.1:0 --port-file "$WORK/$name.port" \
    --log-format text "$@" >"$WORK/$name.log" 2>&1 &
  CTL_PID=$!
  PIDS+=("$CTL_PID")
  wait_port "$WORK/$name.port" "$WORK/$name.log" "$CTL_PID"
  API=http://127.0.0.1:$(cat "$WORK/$name.port")/api/v1
  local jar=$WORK/$name.cookies csrf
  csrf=$(curl -fsS -c "$jar" -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" "$API/auth/login" | json_get "d['csrf_token']")
  TOKEN=$(curl -fsS -b "$jar" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
    -d '{"name":"bench"}' "$API/auth/tokens" | json_get "d['secret']")
}
stop_controller() { kill "$CTL_PID"; wait "$CTL_PID" 2>/dev/null || true; }

json_get() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
call() {  # METHOD PATH [JSON]
  curl -fsS -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -X "$1" \
    ${3:+-d "$3"} "$API$2"
}

add_instance() {  # name root -> sets INST_ID AGENT_PID (agent running with its issued bundle, URL patched)
  local name=$1 root=$2 bundle=$WORK/bundles/$1
  INST_ID=$(call POST /instances "{\"name\":\"$name\",\"agent_url\":\"https://127.0.0.1:1\"}" | json_get "d['id']")
  mkdir -p "$bundle"
  call POST "/instances/$INST_ID/bundle" | python3 -c '
import json, os, sys
d = json.load(sys.stdin)
for key, fname in (("ca_crt", "ca.crt"), ("agent_crt", "agent.crt"), ("agent_key", "agent.key")):
    with open(os.path.join(sys.argv[1], fname), "w") as f: f.write(d[key])
os.chmod(os.path.join(sys.argv[1], "agent.key"), 0o600)' "$bundle"
  rm -f "$bundle/port"
  "$AGENT" --listen 127.0.0.1:0 --port-file "$bundle/port" --cert "$bundle/agent.crt" --key "$bundle/agent.key" \
    --ca "$bundle/ca.crt" --root "$root" --log-format text >"$bundle/agent.log" 2>&1 &
  AGENT_PID=$!
  PIDS+=("$AGENT_PID")
  wait_port "$bundle/port" "$bundle/agent.log" "$AGENT_PID"
  call PATCH "/instances/$INST_ID" "{\"agent_url\":\"https://127.0.0.1:$(cat "$bundle/port")\"}" >/dev/null
}

# In-process API client (keep-alive HTTP, no per-poll process spawn), timing
# from just before the POST to the poll that sees the final status.
#   backup INSTANCE_ID            -> "BACKUP_ID SECONDS"
#   restore BACKUP_ID INSTANCE_ID -> "RESTORE_ID SECONDS"
#   wait_running ID...            -> waits until every instance's status is running
#   fleet CTL_PID AGENT_PID:INSTANCE_ID... -> counts, wall time, CPU seconds
API_PY=$(cat <<'EOF'
import http.client, json, os, sys, time, urllib.parse
api, token, cmd, args = os.environ["API"], os.environ["TOKEN"], sys.argv[1], sys.argv[2:]
u = urllib.parse.urlsplit(api)
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
FINAL = ("completed", "failed", "canceled")
def req(method, path, body=None):
    for attempt in range(3):
        try:
            conn.request(method, u.path + path, None if body is None else json.dumps(body),
                         {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
            r = conn.getresponse(); data = r.read()
            break
        except (http.client.HTTPException, ConnectionError):
            conn.close()
            if attempt == 2: raise
    if r.status >= 300: sys.exit("%s %s -> %d %s" % (method, path, r.status, data.decode()))
    return json.loads(data) if data else None
POLL = int(os.environ.get("BENCH_POLL_MS", "10")) / 1000.0
def poll(path):
    while True:
        d = req("GET", path)
        if d["status"] in FINAL: return d
        time.sleep(POLL)
def cpu(pid):  # utime+stime of the whole process, seconds
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
CTL = int(os.environ.get("CTL_PID", "0"))
if cmd == "backup":
    c0 = cpu(CTL) if CTL else 0
    t0 = time.monotonic()
    bid = req("POST", "/instances/%s/backups" % args[0], {})["id"]
    d = poll("/backups/%d" % bid); t = time.monotonic() - t0
    if d["status"] != "completed": sys.exit("backup %d %s: %s" % (bid, d["status"], d.get("error_message")))
    print(bid, "%.3f" % t, "%.2f" % ((cpu(CTL) - c0) if CTL else 0))
elif cmd == "restore":
    c0 = cpu(CTL) if CTL else 0
    t0 = time.monotonic()
    rid = req("POST", "/backups/%s/restore" % args[0], {"instance_id": int(args[1])})["id"]
    d = poll("/restores/%d" % rid); t = time.monotonic() - t0
    if d["status"] != "completed": sys.exit("restore %d %s: %s" % (rid, d["status"], d.get("error_message")))
    print(rid, "%.3f" % t, "%.2f" % ((cpu(CTL) - c0) if CTL else 0))
elif cmd == "wait_running":
    deadline = time.monotonic() + 60
    for i in args:
        while (d := req("GET", "/instances/" + i))["status"] != "running":
            if time.monotonic() > deadline: sys.exit("instance %s not running: %s %s" % (i, d["status"], d.get("status_reason")))
            time.sleep(0.05)
elif cmd == "fleet":
    ctl = int(args[0]); pairs = [a.split(":") for a in args[1:]]
    agents = [int(p) for p, _ in pairs]
    c0, a0 = cpu(ctl), sum(cpu(p) for p in agents)
    t0 = time.monotonic()
    ids = {req("POST", "/instances/%s/backups" % i, {})["id"] for _, i in pairs}
    while True:  # one list request per poll, not one per backup
        lst = req("GET", "/backups?limit=500")["backups"]
        st = {b["id"]: b for b in lst if b["id"] in ids}
        if len(st) == len(ids) and all(b["status"] in FINAL for b in st.values()): break
        time.sleep(0.05)
    t = time.monotonic() - t0
    c1, a1 = cpu(ctl), sum(cpu(p) for p in agents)
    done = sum(b["status"] == "completed" for b in st.values())
    for b in st.values():
        if b["status"] != "completed": print("  backup %d %s: %s" % (b["id"], b["status"], b["error_message"]), file=sys.stderr)
    print(done, len(ids), "%.3f" % t, "%.2f" % (c1 - c0), "%.2f" % (a1 - a0),
          sum(b["size_bytes"] or 0 for b in st.values()))
EOF
)
api_py() { API=$API TOKEN=$TOKEN python3 -c "$API_PY" "$@"; }

elapsed() { echo "$2 - $1" | bc -l; }
now() { date +%s.%N; }
min() { printf '%s\n' "$@" | sort -g | head -1; }
max() { printf '%s\n' "$@" | sort -g | tail -1; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
ratios() {  # baseline-array-name controller-array-name -> per-run ratios
  local -n b=$1 c=$2; local i
  for i in "${!b[@]}"; do echo "${b[$i]} / ${c[$i]}" | bc -l; done
}
stat3() { printf '%.2f (%.2f-%.2f)' "$(median "$@")" "$(min "$@")" "$(max "$@")"; }
peak_rss_mib() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

# ======== parts 1 and 2: one big backup and restore ========
if [ -z "${BENCH_SKIP_SINGLE:-}" ]; then
start_controller "$WORK/ctl-a" ctl-a
SRC_CTL_PID=$CTL_PID
add_instance bench-src "$DATA"
SRC_ID=$INST_ID
mkdir -p "$CTL_RESTORE_ROOT" "$BASE_RESTORE_ROOT"
add_instance bench-dst "$CTL_RESTORE_ROOT"
DST_ID=$INST_ID
api_py wait_running "$SRC_ID" "$DST_ID"

# Warm the page cache for both sides alike.
tar -cf - -C "$DATA" home/claworc | cat > /dev/null

echo "load before: $(uptime)"
echo "dataset: $((DATA_BYTES / 1048576)) MiB in $DATA_FILES files; $RUNS runs each; restores into $RESTORE"
ctl_b=() base_b=() base_bs=() direct_b=() ctl_r=() base_r=() cpu_b=() cpu_r=() prev_bid=
SRC_PORT=$(cat "$WORK/bundles/bench-src/port")
# The controller's own client identity; -k: the agent's bundle names no IP SAN.
AGENT_CURL=(curl -sS --fail -k --cert "$WORK/ctl-a/pki/controller.crt" --key "$WORK/ctl-a/pki/controller.key")
THREADS=$(nproc)  # the agent's default zstd workers: the CPUs it may use
ctl_backup() {
  sync
  read -r bid t c < <(CTL_PID=$SRC_CTL_PID api_py backup "$SRC_ID")
  ctl_b+=("$t") cpu_b+=("$c")
}
base_backup() {
  rm -f "$WORK/baseline.tar.zst"
  sync
  t1=$(now)
  tar --format=pax --xattrs --acls -cf - -C "$DATA" home/claworc | zstd -3 -T"$THREADS" -q > "$WORK/baseline.tar.zst"
  t2=$(now)
  sync "$WORK/baseline.tar.zst"   # fsync, as the controller does before `completed`
  t3=$(now)
  base_b+=("$(elapsed "$t1" "$t2")") base_bs+=("$(elapsed "$t1" "$t3")")
}
ctl_restore() {
  rm -rf "${CTL_RESTORE_ROOT:?}"/*
  sync
  read -r _ t c < <(CTL_PID=$SRC_CTL_PID api_py restore "$bid" "$DST_ID")
  t1=$(now)
  sync -f "$CTL_RESTORE_ROOT"   # written back, timed like the baseline's
  t2=$(now)
  ctl_r+=("$(echo "$t + $(elapsed "$t1" "$t2")" | bc -l)") cpu_r+=("$c")
}
base_restore() {
  rm -rf "${BASE_RESTORE_ROOT:?}"/*
  sync
  t1=$(now)
  zstd -dc -q "$WORK/baseline.tar.zst" | tar -x --xattrs --acls -C "$BASE_RESTORE_ROOT"
  sync -f "$BASE_RESTORE_ROOT"   # written back, like the baseline the issue names (`... && sync`)
  t2=$(now)
  base_r+=("$(elapsed "$t1" "$t2")")
}
for i in $(seq "$RUNS"); do
  # Keep one archive at a time on disk (deletion is not timed).
  [ -n "$prev_bid" ] && call DELETE "/backups/$prev_bid" >/dev/null
  # Alternate which side goes first.
  if (( i % 2 )); then ctl_backup; base_backup; else base_backup; ctl_backup; fi
  prev_bid=$bid
  # Reference: the same agent streamed straight to a file by curl (no
  # controller), fsynced like the controller's archive.
  rm -f "$WORK/direct.tar.zst"
  sync
  t1=$(now)
  "${AGENT_CURL[@]}" -H 'Content-Type: application/json' -d '{"paths":["HOME"]}' \
    "https://127.0.0.1:$SRC_PORT/v1/backup" -o "$WORK/direct.tar.zst"
  sync "$WORK/direct.tar.zst"
  t2=$(now)
  direct_b+=("$(elapsed "$t1" "$t2")")
  rm -f "$WORK/direct.tar.zst"

  if (( i % 2 )); then ctl_restore; base_restore; else base_restore; ctl_restore; fi
done
diff -r "$DATA/home/claworc" "$CTL_RESTORE_ROOT/home/claworc" >"$WORK/diff.txt" 2>&1 ||
  { echo "restored tree differs! (see $WORK/diff.txt)" >&2; head "$WORK/diff.txt" >&2; exit 1; }
ARCHIVE_BYTES=$(call GET "/backups/$prev_bid" | json_get "d['size_bytes']")
SRC_CTL_RSS=$(peak_rss_mib "$SRC_CTL_PID")
stop_controller
rm -rf "$RESTORE"

mapfile -t rb < <(ratios base_b ctl_b)
mapfile -t rbs < <(ratios base_bs ctl_b)
mapfile -t rr < <(ratios base_r ctl_r)
mapfile -t rd < <(ratios direct_b ctl_b)
cb=$(median "${ctl_b[@]}") cr=$(median "${ctl_r[@]}")
mib=$(echo "$DATA_BYTES / 1048576" | bc -l)
echo "median (min-max) of $RUNS runs; ratio = baseline / controller, paired per run (target >= 0.9)"
printf 'backup   controller %s s (%.0f MiB/s, %s MiB archive)\n' "$(stat3 "${ctl_b[@]}")" "$(echo "$mib / $cb" | bc -l)" \
  "$((ARCHIVE_BYTES / 1048576))"
printf 'backup   baseline   %s s, ratio %s  (tar pax | zstd -3 -T$THREADS > file, %s MiB out)\n' "$(stat3 "${base_b[@]}")" \
  "$(stat3 "${rb[@]}")" "$(( $(stat -c %s "$WORK/baseline.tar.zst") / 1048576 ))"
printf 'backup   baseline   %s s, ratio %s  (same + sync FILE: as durable as the controller)\n' \
  "$(stat3 "${base_bs[@]}")" "$(stat3 "${rbs[@]}")"
printf 'backup   agent direct %s s, ratio %s  (curl from the agent + sync FILE, no controller: its overhead)\n' \
  "$(stat3 "${direct_b[@]}")" "$(stat3 "${rd[@]}")"
printf 'restore  controller %s s (%.0f MiB/s)  baseline %s s  ratio %s  (diff -r: identical)\n' \
  "$(stat3 "${ctl_r[@]}")" "$(echo "$mib / $cr" | bc -l)" "$(stat3 "${base_r[@]}")" "$(stat3 "${rr[@]}")"
echo "all runs (s): backup controller ${ctl_b[*]} | baseline ${base_b[*]} | +sync ${base_bs[*]} | direct ${direct_b[*]}; restore controller ${ctl_r[*]} | baseline ${base_r[*]}"
echo "controller CPU (utime+stime) per run (s): backup ${cpu_b[*]}; restore ${cpu_r[*]}"
echo "controller peak RSS (VmHWM) over parts 1-2: $SRC_CTL_RSS MiB"
fi
[ -n "${BENCH_SKIP_FLEET:-}" ] && exit 0

# ======== part 3: a fleet of agents backing up at once ========
start_controller "$WORK/ctl-b" ctl-b --max-concurrent-transfers "$FLEET"
pairs=() ids=()
for n in $(seq -f %02g "$FLEET"); do
  add_instance "fleet-$n" "$FLEET_DATA/fleet-$n/root"
  pairs+=("$AGENT_PID:$INST_ID") ids+=("$INST_ID")
done
api_py wait_running "${ids[@]}"
FLEET_BYTES=$(du -sb "$FLEET_DATA" | cut -f1)
read -r done total t ctl_cpu agents_cpu out_bytes < <(api_py fleet "$CTL_PID" "${pairs[@]}")
printf 'fleet    %s agents, %s MiB total: %s/%s completed in %.2f s (%s MiB archived)\n' \
  "$FLEET" "$((FLEET_BYTES / 1048576))" "$done" "$total" "$t" "$((out_bytes / 1048576))"
printf 'fleet    controller peak RSS (VmHWM) %s MiB (target < 128 MiB); CPU controller %.2f s vs agents %.2f s = %.3f\n' \
  "$(peak_rss_mib "$CTL_PID")" "$ctl_cpu" "$agents_cpu" "$(echo "$ctl_cpu / $agents_cpu" | bc -l)"
echo "load after: $(uptime)"
[ "$done" = "$total" ] || { echo "not all fleet backups completed" >&2; exit 1; }
