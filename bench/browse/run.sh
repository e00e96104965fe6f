#!/usr/bin/env bash
# Browse benchmark (not a test): looking inside a ~1 GiB backup through a real
# `clawback serve` and a real clawback-agent over mTLS (issue 17).
#   1. back up the bench/agent data set (gen_dataset.py, BENCH_SIZE_MIB) plus
#      one directory of BENCH_DIR_ENTRIES tiny files;
#   2. fetch 1 KiB files (GET /files/content) at several places in the
#      archive: latency (median and min-max of BENCH_RUNS each, curl
#      time_total on loopback), compressed bytes read and frames decompressed
#      (the controller's "file content read" log line);
#   3. list the big directory: first page (limit 500), a page at its end, and
#      a name search (q=) over the whole backup;
#   4. restore one small directory (paths: [...]) vs the whole backup into an
#      empty second instance: time to `completed`, median of BENCH_RUNS.
#   bench/browse/run.sh [BUILD_DIR]
#   5. with BENCH_VERIFY_ALL=1: fetch every regular file of the backup singly
#      and compare it with the source file byte for byte (exit 1 on any
#      difference).
#   env: CLAWBACK= AGENT= BENCH_SIZE_MIB=1024 BENCH_RUNS=7 BENCH_DIR_ENTRIES=10000 BENCH_VERIFY_ALL=0
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-${BUILD_DIR:-$SRC/build}}
CLAWBACK=${CLAWBACK:-$BUILD/controller/clawback}
AGENT=${AGENT:-$BUILD/agent/clawback-agent}
SIZE_MIB=${BENCH_SIZE_MIB:-1024}
RUNS=${BENCH_RUNS:-7}
ENTRIES=${BENCH_DIR_ENTRIES:-10000}
DATA=$SRC/bench/out/agent/data-$SIZE_MIB   # shared with bench/agent and bench/controller
OUT=$SRC/bench/out/browse
WORK=$OUT/work
PASSWORD=bench-admin-password-$(date +%s)-long-enough

[ -x "$CLAWBACK" ] || { echo "no controller binary at $CLAWBACK" >&2; exit 2; }
[ -x "$AGENT" ] || { echo "no agent binary at $AGENT" >&2; exit 2; }
for tool in curl python3; do command -v $tool >/dev/null || { echo "missing tool: $tool" >&2; exit 2; }; done
rm -rf "$WORK"
mkdir -p "$OUT" "$WORK"

if [ ! -f "$DATA/.complete" ]; then
  echo "generating ~${SIZE_MIB} MiB dataset in $DATA (cached for later runs) ..."
  rm -rf "$DATA"
  /usr/bin/python3 "$SRC/bench/agent/gen_dataset.py" "$DATA/home/claworc" "$SIZE_MIB"
  touch "$DATA/.complete"
fi
# The backed-up root: the data set (hard-linked, no copy) plus the big directory.
ROOT=$WORK/root
mkdir -p "$ROOT/home"
cp -al "$DATA/home/claworc" "$ROOT/home/claworc"
python3 - "$ROOT/home/claworc/many" "$ENTRIES" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d, exist_ok=True)
for i in range(n):
    with open(os.path.join(d, "entry-%06d.txt" % i), "w") as f: f.write("entry %d\n" % i)
PY
TARGET=$WORK/target
mkdir -p "$TARGET"

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
wait_port() { for _ in $(seq 400); do [ -s "$1" ] && return 0; sleep 0.05; done; cat "$2" >&2; exit 1; }
json_get() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

DIR=$WORK/data; mkdir -p "$DIR"; chmod 700 "$DIR"
CLAWORC_DATA_PATH=$DIR CLAWORC_ADMIN_PASSWORD=$PASSWORD "$CLAWBACK" serve --data-dir "$DIR" \
  --listen 127.0.0.1:0 --port-file "$WORK/ctl.port" --log-format json >"$WORK/ctl.log" 2>&1 &
PIDS+=($!)
wait_port "$WORK/ctl.port" "$WORK/ctl.log"
BASE=http://127.0.0.1:$(cat "$WORK/ctl.port")
API=$BASE/api/v1
jar=$WORK/cookies
csrf=$(curl -fsS -c "$jar" -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" "$API/auth/login" | json_get "d['csrf_token']")
TOKEN=$(curl -fsS -b "$jar" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
  -d '{"name":"bench"}' "$API/auth/tokens" | json_get "d['secret']")
call() { curl -fsS -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -X "$1" ${3:+-d "$3"} "$API$2"; }

add_instance() {  # name root -> prints id
  local name=$1 root=$2 bundle=$WORK/bundles/$1 id
  id=$(call POST /instances "{\"name\":\"$name\",\"agent_url\":\"https://127.0.0.1:1\"}" | json_get "d['id']")
  mkdir -p "$bundle"
  call POST "/instances/$id/bundle" | python3 -c '
import json, os, sys
d = json.load(sys.stdin)
for k, f in (("ca_crt", "ca.crt"), ("agent_crt", "agent.crt"), ("agent_key", "agent.key")):
    open(os.path.join(sys.argv[1], f), "w").write(d[k])
os.chmod(os.path.join(sys.argv[1], "agent.key"), 0o600)' "$bundle"
  "$AGENT" --listen 127.0.0.1:0 --port-file "$bundle/port" --cert "$bundle/agent.crt" --key "$bundle/agent.key" \
    --ca "$bundle/ca.crt" --root "$root" --log-format text >"$bundle/agent.log" 2>&1 &
  PIDS+=($!)
  wait_port "$bundle/port" "$bundle/agent.log"
  call PATCH "/instances/$id" "{\"agent_url\":\"https://127.0.0.1:$(cat "$bundle/port")\"}" >/dev/null
  echo "$id"
}
SRC_ID=$(add_instance source "$ROOT")
DST_ID=$(add_instance target "$TARGET")
sleep 1.5  # first health probe

export API TOKEN RUNS SRC_ID DST_ID WORK ROOT BENCH_VERIFY_ALL=${BENCH_VERIFY_ALL:-0}
python3 - <<'PY'
import http.client, json, os, sqlite3, statistics, sys, time, urllib.parse
api, token, runs = os.environ["API"], os.environ["TOKEN"], int(os.environ["RUNS"])
u = urllib.parse.urlsplit(api)
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
def req(method, path, body=None, raw=False):
    conn.request(method, u.path + path, None if body is None else json.dumps(body),
                 {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    r = conn.getresponse(); data = r.read()
    if r.status >= 300: sys.exit("%s %s -> %d %s" % (method, path, r.status, data[:300]))
    return data if raw else (json.loads(data) if data else None)
def poll(path):
    while True:
        d = req("GET", path)
        if d["status"] in ("completed", "failed", "canceled"): return d
        time.sleep(0.01)
def med(xs): return "%.1f ms (min %.1f, max %.1f)" % (statistics.median(xs) * 1e3, min(xs) * 1e3, max(xs) * 1e3)

t0 = time.monotonic()
bid = req("POST", "/instances/%s/backups" % os.environ["SRC_ID"], {})["id"]
b = poll("/backups/%d" % bid)
assert b["status"] == "completed", b
print("backup %d: %.1f MiB archive, %d entries, %.1f s" % (bid, b["size_bytes"] / 2**20, b["entries"], time.monotonic() - t0))
data_dir = os.path.join(os.environ["WORK"], "data")
index = os.path.join(data_dir, "backups", b["instance_name"], b["file_name"]) + ".index"
db = sqlite3.connect("file:%s?mode=ro" % index, uri=True)
fmt = db.execute("SELECT value FROM meta WHERE key='archive_format'").fetchone()[0]
frames = db.execute("SELECT count(*), avg(c_size), avg(d_size) FROM frames").fetchone()
print("index: format %s, %d frames (avg %.2f MiB compressed, %.2f MiB tar)" % (fmt, frames[0], frames[1] / 2**20, frames[2] / 2**20))

# 1 KiB files spread over the archive.
files = db.execute("SELECT path, offset FROM entries WHERE type='file' AND size BETWEEN 900 AND 1100 ORDER BY offset").fetchall()
picks = [files[int(i * (len(files) - 1) / 4)] for i in range(5)]
log = os.path.join(os.environ["WORK"], "ctl.log")
lat, reads = [], []
for path, offset in picks:
    q = "/backups/%d/files/content?path=%s" % (bid, urllib.parse.quote("/" + path))
    for _ in range(runs):
        t = time.monotonic(); body = req("GET", q, raw=True); lat.append(time.monotonic() - t)
    assert len(body) <= 1100
for line in open(log):
    if '"file content read"' in line:
        d = json.loads(line); reads.append((d["archive_bytes_read"], d["frames"]))
print("fetch 1 KiB file: %s over %d requests at %d places" % (med(lat), len(lat), len(picks)))
print("  compressed bytes read per fetch: median %.0f KiB (max %.0f KiB); frames decompressed: median %d (max %d)" % (
    statistics.median(r[0] for r in reads) / 1024, max(r[0] for r in reads) / 1024,
    statistics.median(r[1] for r in reads), max(r[1] for r in reads)))

# The big directory.
for label, query in (("list many/ first 500", "path=/home/claworc/many&limit=500"),
                     ("list many/ last page", "path=/home/claworc/many&limit=500&offset=9500"),
                     ("search q=entry-0099* (whole backup)", "q=entry-0099*&limit=500")):
    xs = []
    for _ in range(runs):
        t = time.monotonic(); d = req("GET", "/backups/%d/files?%s" % (bid, query)); xs.append(time.monotonic() - t)
    print("%s: %s (total %d)" % (label, med(xs), d["total"]))

# Partial vs full restore.
small = db.execute("SELECT path, (SELECT count(*) FROM entries e WHERE e.path LIKE d.path || '/%') FROM entries d "
                   "WHERE type='dir' AND path LIKE 'home/claworc/app/node_modules/pkg%' AND path NOT LIKE '%/%/%/%/%/%' "
                   "ORDER BY offset LIMIT 1 OFFSET 100").fetchone()
def restore(body):
    t = time.monotonic()
    rid = req("POST", "/backups/%d/restore" % bid, dict(body, instance_id=int(os.environ["DST_ID"])))["id"]
    r = poll("/restores/%d" % rid)
    assert r["status"] == "completed", r
    return time.monotonic() - t, r
part, full = [], []
for _ in range(max(1, runs // 2)):
    dt, r = restore({"paths": ["/" + small[0]]}); part.append(dt)
print("partial restore of /%s (%d entries): %s, %d entries written" % (small[0], small[1], med(part), r["entries_written"]))
for _ in range(2):
    dt, r = restore({}); full.append(dt)
print("full restore (%d entries): %s" % (r["entries_written"], med(full)))
print("partial / full: %.4f" % (statistics.median(part) / statistics.median(full)))

if os.environ["BENCH_VERIFY_ALL"] == "1":
    root, n, bad, t = os.environ["ROOT"], 0, [], time.monotonic()
    for (path,) in db.execute("SELECT path FROM entries WHERE type='file' ORDER BY offset"):
        body = req("GET", "/backups/%d/files/content?path=%s" % (bid, urllib.parse.quote("/" + path)), raw=True)
        if body != open(os.path.join(root, path), "rb").read(): bad.append(path)
        n += 1
    print("every file fetched singly: %d files, %d differ from the source (%.0f s)" % (n, len(bad), time.monotonic() - t))
    if bad: sys.exit("differ: %s" % bad[:10])
PY
