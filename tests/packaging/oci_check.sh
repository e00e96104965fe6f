#!/usr/bin/env bash
# oci_check.sh BUILD_DIR
#
# The OCI images, built for real without a daemon and run from their own root
# filesystems (needs root for umoci's owners and for chroot; exit 77 otherwise):
#   1. scripts/build-oci-images.sh builds the layout (agent, controller,
#      openclaw-layer), then again with OPENCLAW_BASE set to the controller
#      image as a stand-in OpenClaw base, so `openclaw` is a two-layer image;
#   2. every tag is unpacked by tests/packaging/oci_unpack.py, not by umoci:
#      blob digests and sizes, diff_ids of each uncompressed layer, layers
#      applied in order;
#   3. agent: the config's entrypoint is the agent with the /etc/clawback
#      bundle paths; `chroot ROOTFS /clawback-agent --version`; then the
#      entrypoint itself, with a generated bundle at those paths and --listen
#      moved to 127.0.0.1:0, serves /healthz to `curl -k`;
#   4. controller: as the config's user (999:999) and env in the chroot,
#      `clawback --version`, then the entrypoint on 127.0.0.1:0 answers
#      /healthz and creates its store and PKI in /var/lib/claworc;
#   5. openclaw: the base's files and, above them, the agent and the s6-overlay
#      longrun (type, run script naming the installed binary, dependencies.d/base,
#      user/contents.d entry) and the quiesce hooks file (root-owned, stopping
#      and starting /run/service/openclaw with /command/s6-svc); the agent in
#      it prints its version, and the run script itself, run by Debian's
#      execlineb, starts an agent that loads those hooks and answers /healthz.
# Prints the image sizes. Everything lives in one temporary directory, removed
# on exit (processes it started are stopped first). Last line: "1 passed, 0 failed".
set -uo pipefail
export LC_ALL=C

fail() { echo "FAIL: $*" >&2; echo "0 passed, 1 failed"; exit 1; }
step() { echo "--- $*"; }

BUILD=${1:-}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
[[ -n "$BUILD" && -x "$BUILD/agent/clawback-agent" && -x "$BUILD/controller/clawback" ]] ||
  fail "usage: $0 BUILD_DIR (with agent/clawback-agent and controller/clawback built; got '$BUILD')"
if [[ $(id -u) != 0 ]]; then
  echo "SKIP: building layers with their owners and chroot need root" >&2
  exit 77
fi
for tool in umoci python3 tar chroot curl openssl unshare execlineb; do
  command -v "$tool" >/dev/null || fail "'$tool' is not installed (scripts/install-deps.sh)"
done

CHROOT=$(command -v chroot)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/clawback-oci-check.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- 1. build ----------------------------------------------------------------
step "scripts/build-oci-images.sh"
"$SRC/scripts/build-oci-images.sh" "$BUILD" "$WORK/out" >"$WORK/build.log" 2>&1 ||
  fail "build-oci-images.sh failed: $(tail -20 "$WORK/build.log")"
layout=$WORK/out/clawback-oci
OPENCLAW_BASE="$layout:controller" "$SRC/scripts/build-oci-images.sh" "$BUILD" "$WORK/stacked" >"$WORK/build2.log" 2>&1 ||
  fail "build-oci-images.sh with OPENCLAW_BASE failed: $(tail -20 "$WORK/build2.log")"
stacked=$WORK/stacked/clawback-oci

# --- 2. unpack ----------------------------------------------------------------
unpack() {  # LAYOUT TAG -> $WORK/TAG/{rootfs,config.json}
  mkdir -p "$WORK/$2"
  local out
  out=$(python3 "$HERE/oci_unpack.py" "$1" "$2" "$WORK/$2/rootfs" "$WORK/$2/config.json" 2>&1) ||
    fail "unpacking $2: $out"
  echo "$out" | sed "s/^/$2 /"
  local total
  total=$(python3 -c 'import json,sys,os
idx=json.load(open(os.path.join(sys.argv[1],"index.json")))
d=[m for m in idx["manifests"] if m.get("annotations",{}).get("org.opencontainers.image.ref.name")==sys.argv[2]][0]
b=lambda x: os.path.join(sys.argv[1],"blobs","sha256",x["digest"].split(":")[1])
m=json.load(open(b(d)))
print(sum(l["size"] for l in m["layers"]) + m["config"]["size"] + d["size"])' "$1" "$2")
  echo "$2 image: $total bytes compressed, $(du -sb "$WORK/$2/rootfs" | cut -f1) bytes unpacked"
}
config() { python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["config"]; print(json.dumps(c.get(sys.argv[2])))' "$WORK/$1/config.json" "$2"; }
step "unpack (digests, diff_ids, layer order)"
unpack "$layout" agent
unpack "$layout" controller
unpack "$layout" openclaw-layer
unpack "$stacked" openclaw

# Reads "clawback serving" / "listening" JSON log lines for the bound port.
wait_port() {  # LOGFILE PID KEY
  local port=""
  for _ in $(seq 1 300); do
    port=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    try: j=json.loads(l)
    except ValueError: continue
    if j.get("msg") in ("listening","clawback serving"):
        v=j.get(sys.argv[2],"")
        print(str(v).rsplit(":",1)[-1]); break' "$1" "$3" 2>/dev/null)
    [[ -n $port ]] && { echo "$port"; return 0; }
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# --- 3. agent -------------------------------------------------------------------
step "agent image"
root=$WORK/agent/rootfs
entry=$(config agent Entrypoint)
echo "entrypoint: $entry"
want='["/clawback-agent", "--listen", "0.0.0.0:8443", "--cert", "/etc/clawback/agent.crt", "--key", "/etc/clawback/agent.key", "--ca", "/etc/clawback/ca.crt"]'
[[ $entry == "$want" ]] || fail "agent entrypoint is $entry, want $want"
[[ $(config agent ExposedPorts) == '{"8443/tcp": {}}' ]] || fail "agent image does not expose 8443/tcp"
listing=$(cd "$root" && find . -mindepth 1 | sort | tr '\n' ' ')
[[ $listing == "./clawback-agent " ]] || fail "agent image holds more than the binary: $listing"
out=$(chroot "$root" /clawback-agent --version 2>&1) || fail "chroot agent --version: $out"
echo "$out"
[[ $out == "clawback-agent "* ]] || fail "agent --version printed '$out'"

pki=$root/etc/clawback  # what a Docker volume / Kubernetes Secret would mount
mkdir -p "$pki"
ossl() { openssl "$@" >/dev/null 2>&1 || fail "openssl $1 failed"; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=oci-check-ca \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
  -keyout "$WORK/ca.key" -out "$pki/ca.crt"
ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=oci-check \
  -keyout "$pki/agent.key" -out "$WORK/agent.csr"
printf 'subjectAltName=URI:spiffe://claworc/instance/oci-check,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$WORK/agent.ext"
ossl x509 -req -in "$WORK/agent.csr" -CA "$pki/ca.crt" -CAkey "$WORK/ca.key" -CAcreateserial -days 2 \
  -extfile "$WORK/agent.ext" -out "$pki/agent.crt"
chmod 0600 "$pki/agent.key"
# The image's entrypoint, only --listen moved to loopback and a free port.
mapfile -t argv < <(python3 -c 'import json,sys; a=json.loads(sys.argv[1]); i=a.index("--listen"); a[i+1]="127.0.0.1:0"; print("\n".join(a))' "$entry")
chroot "$root" "${argv[@]}" >"$WORK/agent.log" 2>&1 &
pids+=($!)
port=$(wait_port "$WORK/agent.log" "${pids[-1]}" addr) || fail "agent in the image did not start: $(cat "$WORK/agent.log")"
health=$(curl -ksS --max-time 10 "https://127.0.0.1:$port/healthz") || fail "curl -k /healthz failed"
echo "agent healthz: $health"
grep -q '"status":"ok"' <<<"$health" || fail "unexpected agent /healthz: $health"

# --- 4. controller ---------------------------------------------------------------
step "controller image"
root=$WORK/controller/rootfs
user=$(config controller User | tr -d '"')
[[ $user == 999:999 ]] || fail "controller image user is $user, want 999:999"
mapfile -t envv < <(python3 -c 'import json,sys; print("\n".join(json.loads(sys.argv[1])))' "$(config controller Env)")
entry=$(config controller Entrypoint)
echo "entrypoint: $entry (user $user, env ${envv[*]})"
[[ $(stat -c '%u:%g %a' "$root/var/lib/claworc") == "999:999 750" ]] || fail "/var/lib/claworc in the image is not 999:999 0750"
# The image has no env(1): the environment is set from outside, as a runtime does.
incontainer() { env -i "${envv[@]}" "$CHROOT" --userspec="$user" "$root" "$@"; }
out=$(incontainer /usr/bin/clawback --version 2>&1) || fail "chroot clawback --version: $out"
echo "$out"
[[ $out == "clawback "* ]] || fail "clawback --version printed '$out'"
mapfile -t argv < <(python3 -c 'import json,sys; a=json.loads(sys.argv[1]); i=a.index("--listen"); a[i+1]="127.0.0.1:0"; print("\n".join(a))' "$entry")
env -i "${envv[@]}" "$CHROOT" --userspec="$user" "$root" "${argv[@]}" >"$WORK/controller.log" 2>&1 &
pids+=($!)
port=$(wait_port "$WORK/controller.log" "${pids[-1]}" port) || fail "controller in the image did not start: $(cat "$WORK/controller.log")"
health=$(curl -sS --max-time 10 "http://127.0.0.1:$port/healthz") || fail "curl /healthz failed"
echo "controller healthz: $health"
grep -q '"status":"ok"' <<<"$health" || fail "unexpected controller /healthz: $health"
for f in clawback.db pki/ca.crt pki/controller.crt backups; do
  [[ $(stat -c %u "$root/var/lib/claworc/$f" 2>/dev/null) == 999 ]] || fail "controller did not create /var/lib/claworc/$f as 999"
done
kill -TERM "${pids[-1]}"; wait "${pids[-1]}"; rc=$?; unset 'pids[-1]'
[[ $rc == 0 ]] || fail "controller in the image exited $rc after SIGTERM: $(tail -5 "$WORK/controller.log")"

# --- 5. openclaw -----------------------------------------------------------------
step "openclaw image (stand-in base + agent layer)"
root=$WORK/openclaw/rootfs
[[ $(grep -c '^layer' <<<"$(python3 "$HERE/oci_unpack.py" "$stacked" openclaw "$WORK/again" "$WORK/again.json")") == 2 ]] ||
  fail "openclaw image is not base + one layer"
[[ -x $root/usr/bin/clawback ]] || fail "openclaw image lost its base's files"
s6=$root/etc/s6-overlay/s6-rc.d
[[ $(cat "$s6/clawback-agent/type") == longrun ]] || fail "s6 service type is not longrun"
[[ -f $s6/clawback-agent/dependencies.d/base && -f $s6/user/contents.d/clawback-agent ]] ||
  fail "s6 service lacks dependencies.d/base or user/contents.d/clawback-agent"
run=$s6/clawback-agent/run
[[ -x $run && $(stat -c %u "$run") == 0 ]] || fail "s6 run script is not an executable owned by root"
[[ $(head -1 "$run") == '#!/command/execlineb -P' ]] || fail "run script is not execline for s6-overlay v3: $(head -1 "$run")"
bin=$(grep -o '/usr/local/bin/clawback-agent' "$run" | head -1)
[[ -n $bin && -x $root$bin ]] || fail "run script does not start $root/usr/local/bin/clawback-agent"
hooks=$root/etc/clawback-agent/hooks.json
[[ -f $hooks && $(stat -c '%u %a' "$hooks") == "0 644" ]] || fail "hooks file $hooks missing or not root-owned 0644"
python3 -c 'import json,sys
h=json.load(open(sys.argv[1]))
assert set(h) == {"pre-restore", "post-restore"}, h
assert h["pre-restore"]["argv"][0] == "/command/s6-svc" and h["pre-restore"]["argv"][-2:] == ["-d", "/run/service/openclaw"], h
assert h["post-restore"]["argv"] == ["/command/s6-svc", "-u", "/run/service/openclaw"], h' "$hooks" ||
  fail "hooks file does not stop and start the openclaw s6 service: $(cat "$hooks")"
grep -q -- "-D /etc/clawback-agent/hooks.json hooks CLAWBACK_AGENT_HOOKS" "$run" || fail "run script does not default --hooks to /etc/clawback-agent/hooks.json"
out=$(chroot "$root" /usr/local/bin/clawback-agent --version 2>&1) || fail "openclaw agent --version: $out"
echo "$out"
# The run script itself, with Debian's execline (s6-overlay's /command holds
# the same programs): in a private mount namespace the image's /usr/local/bin
# replaces the host's, with-contenv is a pass-through (our environment is the
# container's), and CLAWBACK_AGENT_* from that environment reach the agent.
mkdir -p "$WORK/shim"
printf '#!/bin/sh\nexec "$@"\n' >"$WORK/shim/with-contenv"
chmod 0755 "$WORK/shim/with-contenv"
env -i PATH="$WORK/shim:/usr/lib/execline/bin:/usr/bin:/bin" CLAWBACK_AGENT_LISTEN=127.0.0.1:0 \
  CLAWBACK_AGENT_CERT="$WORK/agent/rootfs/etc/clawback/agent.crt" CLAWBACK_AGENT_KEY="$WORK/agent/rootfs/etc/clawback/agent.key" \
  CLAWBACK_AGENT_CA="$WORK/agent/rootfs/etc/clawback/ca.crt" CLAWBACK_AGENT_HOOKS="$hooks" \
  unshare -m sh -c 'mount --bind "$1/usr/local/bin" /usr/local/bin && exec execlineb -P "$2"' sh "$root" "$run" \
  >"$WORK/s6run.log" 2>&1 &
pids+=($!)
port=$(wait_port "$WORK/s6run.log" "${pids[-1]}" addr) || fail "the s6 run script did not start the agent: $(cat "$WORK/s6run.log")"
health=$(curl -ksS --max-time 10 "https://127.0.0.1:$port/healthz") || fail "curl -k /healthz (s6 run script) failed"
echo "s6 run script: agent up, healthz $health"
grep -q '"status":"ok"' <<<"$health" || fail "unexpected /healthz from the s6-run agent: $health"
grep -q '"msg":"quiesce hooks loaded".*"hooks":\["pre-restore","post-restore"\]' "$WORK/s6run.log" ||
  fail "the s6-run agent did not load the image's hooks: $(cat "$WORK/s6run.log")"
for d in /etc/clawback/agent.crt /etc/clawback/agent.key /etc/clawback/ca.crt; do
  grep -q -- "-D $d " "$run" || fail "run script does not default to $d"
done
[[ $(config openclaw User | tr -d '"') == 0:0 ]] || fail "openclaw image does not end as root"

step "sizes"
du -sb "$layout" "$stacked" | sed "s|$WORK/||"
echo "1 passed, 0 failed"
