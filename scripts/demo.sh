#!/usr/bin/env bash
# The README's run command: a working clawback on this machine in one step.
#
#   scripts/demo.sh            # as root on Debian 12
#
# Installs the dependencies, builds, then starts on loopback:
#   - `clawback serve` (SQLite under ./data, PKI in ./data/pki, archives in
#     ./data/backups) on http://127.0.0.1:${CLAWBACK_DEMO_PORT:-8080}/
#   - two demo instances, web-1 and web-2: one clawback-agent each, over a
#     sample container root in ./data/demo/<name>/root (a realistic
#     /home/claworc), each with the mTLS bundle the controller issued for it.
# and prints the dashboard URL and the admin credentials. Ctrl-C stops
# everything. Running it again reuses ./data (same password, same backups).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
build=${CLAWBACK_BUILD_DIR:-$top/build}
data=${CLAWORC_DATA_PATH:-$top/data}
port=${CLAWBACK_DEMO_PORT:-8080}
demo=$data/demo

log() { printf '[demo] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

bash scripts/install-deps.sh
export CCACHE_DIR=${CCACHE_DIR:-/var/cache/clawback/ccache} CCACHE_BASEDIR=$top CCACHE_NOHASHDIR=true
cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target clawback clawback-agent

clawback=$build/controller/clawback
agent=$build/agent/clawback-agent
mkdir -p "$demo"
chmod 700 "$data"

# The admin password is made once and kept, so a rerun prints the same one.
if [[ ! -s $demo/admin-password ]]; then
  (umask 077; openssl rand -base64 18 | tr -d '/+=' >"$demo/admin-password")
fi
admin_password=$(cat "$demo/admin-password")

pids=()
stop_all() {
  trap - INT TERM EXIT
  log "stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_all INT TERM EXIT

wait_for_file() { # file what
  for _ in $(seq 1 200); do [[ -s $1 ]] && return 0; sleep 0.05; done
  die "timed out waiting for $2 (see $demo/*.log)"
}

# ---- controller -----------------------------------------------------------
rm -f "$demo/controller.port"
CLAWORC_DATA_PATH=$data CLAWORC_ADMIN_PASSWORD=$admin_password \
  "$clawback" serve --data-dir "$data" --listen "127.0.0.1:$port" --port-file "$demo/controller.port" \
  --log-format text >"$demo/controller.log" 2>&1 &
pids+=($!)
wait_for_file "$demo/controller.port" "the controller to listen"
api=http://127.0.0.1:$port/api/v1

# A session for the setup calls below (cookie + CSRF token).
jar=$demo/cookies
login=$(curl -fsS -c "$jar" -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$admin_password\"}" "$api/auth/login") ||
  die "cannot sign in as admin (was ./data made with another password? remove $data to start over)"
csrf=$(printf '%s' "$login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
call() { # METHOD PATH [JSON]
  curl -fsS -b "$jar" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' -X "$1" \
    ${3:+-d "$3"} "$api$2"
}
json_get() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# ---- sample container roots ------------------------------------------------
make_sample_root() { # root name
  local h=$1/home/claworc
  [[ -f $1/.sample-complete ]] && return 0
  mkdir -p "$1/etc" "$h/.openclaw/memory" "$h/.openclaw/skills/web-search" "$h/.config/openclaw" \
    "$h/work/reports" "$h/.ssh" "$1/home/linuxbrew/.linuxbrew/bin"
  printf 'root:x:0:0:root:/root:/bin/bash\nclaworc:x:1000:1000::/home/claworc:/bin/bash\n' >"$1/etc/passwd"
  printf 'root:x:0:\nclaworc:x:1000:\n' >"$1/etc/group"
  for i in $(seq 1 40); do
    printf '# Memory %s of %s\n\nThe user prefers concise answers. Project %s is due on Friday.\n' \
      "$i" "$2" "$i" >"$h/.openclaw/memory/note-$i.md"
  done
  printf 'name: web-search\nentry: run.py\n' >"$h/.openclaw/skills/web-search/skill.yaml"
  printf 'print("searching")\n' >"$h/.openclaw/skills/web-search/run.py"
  printf '{"model": "demo", "instance": "%s"}\n' "$2" >"$h/.config/openclaw/config.json"
  printf 'ssh-ed25519 AAAAdemo claworc@%s\n' "$2" >"$h/.ssh/authorized_keys"
  chmod 700 "$h/.ssh"; chmod 600 "$h/.ssh/authorized_keys"
  head -c 4000000 /dev/urandom >"$h/work/reports/dataset.bin"
  seq 1 200000 | sed 's/^/log line /' >"$h/work/agent.log"
  ln -sfn work/reports "$h/latest-reports"
  printf '#!/bin/sh\necho brew\n' >"$1/home/linuxbrew/.linuxbrew/bin/brew"
  chmod 755 "$1/home/linuxbrew/.linuxbrew/bin/brew"
  chown -R 1000:1000 "$h"
  touch "$1/.sample-complete"
}

# ---- demo instances -------------------------------------------------------
declare -A instance_id=()
for name in web-1 web-2; do
  root=$demo/$name/root
  bundle=$demo/$name/bundle
  make_sample_root "$root" "$name"
  id=$(call GET /instances | json_get "next((i['id'] for i in d['instances'] if i['name']=='$name'), '')")
  if [[ -z $id ]]; then
    id=$(call POST /instances "{\"name\":\"$name\",\"agent_url\":\"https://127.0.0.1:1\"}" | json_get "d['id']")
  fi
  instance_id[$name]=$id
  if [[ ! -s $bundle/agent.key ]]; then
    mkdir -p "$bundle"; chmod 700 "$bundle"
    call POST "/instances/$id/bundle" | python3 -c '
import json, os, sys
d = json.load(sys.stdin); out = sys.argv[1]
for key, fname, mode in (("ca_crt", "ca.crt", 0o644), ("agent_crt", "agent.crt", 0o644), ("agent_key", "agent.key", 0o600)):
    path = os.path.join(out, fname)
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f: f.write(d[key])
    os.rename(path + ".tmp", path)' "$bundle"
  fi
  rm -f "$demo/$name/agent.port"
  "$agent" --listen 127.0.0.1:0 --cert "$bundle/agent.crt" --key "$bundle/agent.key" --ca "$bundle/ca.crt" \
    --root "$root" --port-file "$demo/$name/agent.port" --log-format text >"$demo/$name/agent.log" 2>&1 &
  pids+=($!)
  wait_for_file "$demo/$name/agent.port" "agent $name to listen"
  call PATCH "/instances/$id" "{\"agent_url\":\"https://127.0.0.1:$(cat "$demo/$name/agent.port")\"}" >/dev/null
done

cat <<EOF

  clawback is running.

    Dashboard   http://127.0.0.1:$port/
    API         $api   (docs/api.md)
    Sign in     admin / $admin_password

    Instances   web-1 (root $demo/web-1/root), web-2 (root $demo/web-2/root)
    Archives    $data/backups
    Logs        $demo/*.log, $demo/*/agent.log

  Try: Backups -> Create Backup -> web-1, then restore it into web-2.
  Ctrl-C stops everything; run scripts/demo.sh again to continue with the same data.

EOF
wait "${pids[0]}"
