#!/usr/bin/env bash
# static_agent_check.sh BINARY
#
# Proves BINARY (the clawback agent) is fully static and self-contained:
#   1. `file BINARY` says "statically linked";
#   2. copied ALONE into an empty directory, `chroot DIR /clawback-agent --version`
#      exits 0 and prints a version (no /proc, /etc, /lib, locale or CA files there);
#   3. as root: in that chroot (plus only its own PEM files) it serves mTLS, a plain
#      `curl -k` gets /healthz, and a controller-identity client gets a whole
#      backup of a file inside the chroot (trailer Clawback-Status: ok).
# Needs root for chroot; otherwise falls back to an unprivileged user namespace
# (`unshare -r`), and skips (exit 77) when neither is possible.
# Prints "1 passed, 0 failed" / "0 passed, 1 failed" as its closing line.
set -uo pipefail

fail() { echo "FAIL: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

BIN=${1:-}
[[ -n "$BIN" && -f "$BIN" && -x "$BIN" ]] || fail "usage: $0 BINARY (got '${BIN}')"
command -v file >/dev/null || fail "'file' is not installed (scripts/install-deps.sh)"

desc=$(file -b "$BIN")
echo "file: $desc"
[[ "$desc" == *"statically linked"* ]] || fail "$BIN is not statically linked"
# belt and braces: no program interpreter, no NEEDED entries
if command -v readelf >/dev/null; then
  dyn=$(readelf -d "$BIN" 2>/dev/null || true)
  hdr=$(readelf -l "$BIN" 2>/dev/null || true)
  grep -q 'INTERP' <<<"$hdr" && fail "$BIN has a program interpreter"
  grep -q '(NEEDED)' <<<"$dyn" && fail "$BIN has NEEDED shared libraries"
fi

ROOT=$(mktemp -d "${TMPDIR:-/tmp}/clawback-chroot.XXXXXX")
trap 'rm -rf "$ROOT"' EXIT
cp "$BIN" "$ROOT/clawback-agent"
chmod 755 "$ROOT" "$ROOT/clawback-agent"

if [[ $(id -u) == 0 ]]; then
  runner=(chroot "$ROOT" /clawback-agent --version)
elif unshare -r true 2>/dev/null; then
  runner=(unshare -r chroot "$ROOT" /clawback-agent --version)
else
  echo "SKIP: chroot needs root or user namespaces" >&2
  exit 77
fi

out=$(timeout 30 "${runner[@]}" 2>&1)
rc=$?
echo "chroot output: $out"
[[ $rc == 0 ]] || fail "'${runner[*]}' exited $rc"
grep -qE '[0-9]+\.[0-9]+' <<<"$out" || fail "--version printed no version number"

if [[ $(id -u) == 0 ]] && command -v openssl >/dev/null && command -v curl >/dev/null; then
  pki=$ROOT/pki
  mkdir -p "$pki" "$ROOT/home/claworc"
  echo "inside the chroot" >"$ROOT/home/claworc/note.txt"
  ossl() { openssl "$@" >/dev/null 2>&1 || fail "openssl $1 failed"; }
  ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=check-ca \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
    -keyout "$pki/ca.key" -out "$pki/ca.crt"
  for who in agent:spiffe://claworc/instance/check controller:spiffe://claworc/controller; do
    n=${who%%:*} uri=${who#*:}
    ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$n" -keyout "$pki/$n.key" -out "$pki/$n.csr"
    printf 'subjectAltName=URI:%s,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' "$uri" >"$pki/$n.ext"
    ossl x509 -req -in "$pki/$n.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 2 \
      -extfile "$pki/$n.ext" -out "$pki/$n.crt"
  done
  chroot "$ROOT" /clawback-agent --listen 127.0.0.1:0 --port-file /port --cert /pki/agent.crt \
    --key /pki/agent.key --ca /pki/ca.crt --root / >"$ROOT.log" 2>&1 &
  agent_pid=$!
  trap 'kill "$agent_pid" 2>/dev/null; rm -rf "$ROOT" "$ROOT.log"' EXIT
  for _ in $(seq 1 100); do [[ -s $ROOT/port ]] && break; sleep 0.05; done
  [[ -s $ROOT/port ]] || fail "agent in the chroot did not start: $(cat "$ROOT.log")"
  port=$(cat "$ROOT/port")
  health=$(curl -ksS "https://127.0.0.1:$port/healthz") || fail "curl -k /healthz failed"
  echo "healthz in chroot: $health"
  grep -q '"status":"ok"' <<<"$health" || fail "unexpected /healthz answer: $health"
  headers=$(curl -sS --cacert "$pki/ca.crt" --cert "$pki/controller.crt" --key "$pki/controller.key" \
    -H 'Content-Type: application/json' -d '{"paths":["HOME"]}' -D - -o "$ROOT.tar.zst" \
    "https://127.0.0.1:$port/v1/backup") || fail "mTLS backup from the chroot failed"
  grep -qi '^Clawback-Status: ok' <<<"$headers" || fail "backup stream did not end whole: $headers"
  listing=$(tar --zstd -tf "$ROOT.tar.zst" 2>&1) || fail "archive from the chroot does not list: $listing"
  rm -f "$ROOT.tar.zst"
  grep -q 'home/claworc/note.txt' <<<"$listing" || fail "archive lacks home/claworc/note.txt: $listing"
  echo "backup in chroot: whole, $(wc -l <<<"$listing") entries"
fi

echo "size: $(stat -c %s "$BIN") bytes"
if command -v strip >/dev/null && strip -o "$ROOT/stripped" "$BIN" 2>/dev/null; then
  echo "stripped size: $(stat -c %s "$ROOT/stripped") bytes"
fi
echo "1 passed, 0 failed"
