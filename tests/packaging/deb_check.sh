#!/usr/bin/env bash
# deb_check.sh BUILD_DIR
#
# The .deb packages, for real, on this machine (needs root; exit 77 otherwise):
#   1. cpack builds clawback_V_ARCH.deb and clawback-agent_V_ARCH.deb from
#      BUILD_DIR into a temporary directory (V = UPSTREAM-REVISION); lintian
#      finds no error in either (warnings are printed); a "newer" clawback
#      (V+debcheck1) is repacked from it with dpkg-deb to test a real version
#      upgrade;
#   2. `apt-get install ./clawback_V.deb ./clawback-agent_V.deb`; both
#      `--version`s print UPSTREAM; both man pages are installed; the claworc system user, /var/lib/claworc (0750) and
#      /etc/default/clawback (conffile, root:claworc 0640) exist;
#   3. the controller is started exactly as systemd would start it: User=,
#      Group=, Environment=, EnvironmentFile= and ExecStart= are parsed from the
#      installed unit and run with setpriv (systemd is not PID 1 here) after the
#      operator-style edit CLAWBACK_LISTEN=127.0.0.1:0 in the environment file;
#      /healthz answers {"status":"ok","version":UPSTREAM}; the store and PKI appear in
#      the data dir owned by claworc; SIGTERM stops it with exit 0;
#   4. reinstall of the same version, then upgrade to V+debcheck1: the edited
#      conffile, the store and the CA survive, the controller starts again on
#      the same data without creating a new admin;
#   5. remove keeps the conffile and data; purge deletes the conffile and the
#      binaries but keeps /var/lib/claworc and the claworc user (as
#      docs/operations.md documents).
# Idempotent: a state file marks a run in progress, so leftovers of an
# interrupted run are cleaned first; a clawback install it did not make is
# never touched (the check fails instead). On exit it purges the packages and
# removes the user and data dir it created. Last line: "1 passed, 0 failed".
set -uo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

STATE=/var/tmp/clawback-deb-check.state
UNIT=/usr/lib/systemd/system/clawback.service
DATA=/var/lib/claworc
APT=(apt-get -y -q -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0 --no-install-recommends)

fail() { echo "FAIL: $*" >&2; echo "0 passed, 1 failed"; exit 1; }
step() { echo "--- $*"; }

BUILD=${1:-}
[[ -n "$BUILD" && -f "$BUILD/CPackConfig.cmake" ]] || fail "usage: $0 BUILD_DIR (with CPackConfig.cmake; got '$BUILD')"
if [[ $(id -u) != 0 ]]; then
  echo "SKIP: installing packages needs root" >&2
  exit 77
fi
for tool in apt-get dpkg dpkg-deb cpack setpriv curl python3 userdel groupdel lintian; do
  command -v "$tool" >/dev/null || fail "'$tool' is not installed (scripts/install-deps.sh)"
done

pkg_installed() { [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]; }
pkg_known() { dpkg-query -W -f='${db:Status-Status}' "$1" >/dev/null 2>&1 &&
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$1") != not-installed ]]; }

controller_pid=""
WORK=""
clean_machine() {
  if [[ -n "$controller_pid" ]]; then kill "$controller_pid" 2>/dev/null; wait "$controller_pid" 2>/dev/null; fi
  controller_pid=""
  for p in clawback clawback-agent; do
    if pkg_known "$p"; then "${APT[@]}" purge "$p" </dev/null >/dev/null 2>&1 || dpkg --purge "$p" >/dev/null 2>&1; fi
  done
  rm -rf "$DATA"
  getent passwd claworc >/dev/null && userdel claworc
  getent group claworc >/dev/null && groupdel claworc
  rm -f "$STATE"
}
on_exit() {
  clean_machine
  [[ -n "$WORK" ]] && rm -rf "$WORK"
}

# --- 0. a clean machine ------------------------------------------------------
# One run at a time on this machine (several build dirs may run the suite):
# while we hold the lock, a state file can only be an interrupted run's.
exec 9>/var/lock/clawback-deb-check.lock
flock -w 600 9 || fail "another deb_check.sh holds /var/lock/clawback-deb-check.lock"
if [[ -f $STATE ]]; then
  step "cleaning up after an interrupted run ($(tr '\n' ' ' <"$STATE"))"
  old_work=$(sed -n 's/^work=//p' "$STATE")
  [[ $old_work == "${TMPDIR:-/tmp}"/clawback-deb-check.* ]] && rm -rf "$old_work"
  clean_machine
fi
for p in clawback clawback-agent; do
  pkg_known "$p" && fail "package $p is already on this machine (not installed by this check): refusing to touch it"
done
getent passwd claworc >/dev/null && fail "user claworc already exists (not created by this check): refusing to touch it"
[[ -e $DATA ]] && fail "$DATA already exists (not created by this check): refusing to touch it"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/clawback-deb-check.XXXXXX")
printf 'pid=%s\nstarted=%s\nwork=%s\n' "$$" "$(date -u +%FT%TZ)" "$WORK" >"$STATE"
chmod 0755 "$WORK"  # apt's _apt user reads the .deb files from here
trap on_exit EXIT

# --- 1. build the packages ---------------------------------------------------
step "cpack"
cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$WORK/out" >"$WORK/cpack.log" 2>&1 ||
  fail "cpack failed: $(tail -20 "$WORK/cpack.log")"
ctl_deb=$(ls "$WORK"/out/clawback_*.deb 2>/dev/null | head -1)
agent_deb=$(ls "$WORK"/out/clawback-agent_*.deb 2>/dev/null | head -1)
[[ -f $ctl_deb && -f $agent_deb ]] || fail "cpack made no clawback/clawback-agent .deb: $(ls "$WORK/out")"
version=$(dpkg-deb -f "$ctl_deb" Version)
upstream=${version%-*}  # what the binaries print: the version without the Debian revision
[[ $upstream != "$version" ]] || fail "version $version has no Debian revision"
echo "packages: $(basename "$ctl_deb") $(stat -c %s "$ctl_deb") bytes, $(basename "$agent_deb") $(stat -c %s "$agent_deb") bytes"
dpkg-deb -f "$ctl_deb" Depends

step "lintian"
# Exit status 2 is lintian failing to run, 1 is a tag at --fail-on level.
lintian --fail-on error --display-level '>=warning' "$ctl_deb" "$agent_deb" >"$WORK/lintian.log" 2>&1
rc=$?
cat "$WORK/lintian.log"
((rc == 0)) || fail "lintian exited $rc (errors above: E: lines)"
! grep -q '^E: ' "$WORK/lintian.log" || fail "lintian reported errors"

newer="$version+debcheck1"
dpkg-deb -R "$ctl_deb" "$WORK/newer" || fail "dpkg-deb -R failed"
sed -i "s/^Version: .*/Version: $newer/" "$WORK/newer/DEBIAN/control"
dpkg-deb --root-owner-group -b "$WORK/newer" "$WORK/clawback_newer.deb" >/dev/null || fail "repacking $newer failed"
dpkg --compare-versions "$newer" gt "$version" || fail "$newer does not sort after $version"

# --- helpers -------------------------------------------------------------------
unit_value() { sed -n "s/^$1=//p" "$UNIT" | tail -1; }

# Starts ExecStart= as User=/Group= with Environment= then EnvironmentFile=
# (systemd's order: later assignments win), waits for the "clawback serving"
# log line and sets PORT. UMask= applies too.
PORT=""
start_controller() {
  local log=$1
  [[ -f $UNIT ]] || fail "no unit at $UNIT"
  local user group exec envfile umask optional=0
  umask=$(unit_value UMask)
  user=$(unit_value User) group=$(unit_value Group) exec=$(unit_value ExecStart) envfile=$(unit_value EnvironmentFile)
  [[ -n $user && -n $group && -n $exec ]] || fail "unit lacks User=/Group=/ExecStart=: $(cat "$UNIT")"
  [[ $envfile == -* ]] && { optional=1; envfile=${envfile#-}; }
  declare -A env=([PATH]=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin [LANG]=C.UTF-8)
  local line key
  while IFS= read -r line; do
    for kv in $line; do env[${kv%%=*}]=${kv#*=}; done
  done < <(sed -n 's/^Environment=//p' "$UNIT")
  if [[ -f $envfile ]]; then
    while IFS= read -r line; do
      [[ $line =~ ^[[:space:]]*([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
      key=${BASH_REMATCH[1]} line=${BASH_REMATCH[2]}
      line=${line%\"}; line=${line#\"}
      env[$key]=$line
    done <"$envfile"
  elif [[ $optional == 0 ]]; then
    fail "EnvironmentFile $envfile is missing"
  fi
  env[HOME]=$(getent passwd "$user" | cut -d: -f6) env[USER]=$user env[LOGNAME]=$user
  # ExecStart: words, with ${VAR} expanded from the environment as systemd does.
  local -a argv=() envv=()
  local word
  for word in $exec; do
    while [[ $word =~ \$\{([A-Za-z_][A-Za-z0-9_]*)\} ]]; do
      word=${word//"${BASH_REMATCH[0]}"/${env[${BASH_REMATCH[1]}]:-}}
    done
    argv+=("$word")
  done
  for key in "${!env[@]}"; do envv+=("$key=${env[$key]}"); done
  echo "ExecStart as $user:$group: ${argv[*]}" >&2
  (cd / && umask "${umask:-0022}" && exec setpriv --reuid="$user" --regid="$group" --init-groups --no-new-privs \
     env -i "${envv[@]}" "${argv[@]}") >"$log" 2>&1 &
  controller_pid=$!
  local port=""
  for _ in $(seq 1 300); do
    port=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    try: j=json.loads(l)
    except ValueError: continue
    if j.get("msg")=="clawback serving": print(j["port"]); break' "$log" 2>/dev/null)
    [[ -n $port ]] && break
    kill -0 "$controller_pid" 2>/dev/null || fail "controller exited at start: $(cat "$log")"
    sleep 0.1
  done
  [[ -n $port ]] || fail "controller never logged 'clawback serving': $(cat "$log")"
  PORT=$port
}

stop_controller() {
  kill -TERM "$controller_pid"
  wait "$controller_pid"
  local rc=$?
  controller_pid=""
  [[ $rc == 0 ]] || fail "controller exited $rc after SIGTERM"
}

check_health() {
  local port=$1 want=$2 health
  health=$(curl -sS --max-time 10 "http://127.0.0.1:$port/healthz") || fail "curl /healthz failed"
  echo "healthz: $health"
  # status, version and this replica's identity (a lone controller leads).
  python3 -c 'import json,sys; j=json.loads(sys.argv[1]); r=j.get("replica",{}); sys.exit(0 if j.get("status")=="ok" and j.get("version")==sys.argv[2] and r.get("leader") is True and r.get("id") and r.get("id")==r.get("leader_id") else 1)' \
    "$health" "$want" || fail "unexpected /healthz answer (want version $want): $health"
}

expect_owner() {  # PATH OWNER:GROUP MODE
  local got
  got=$(stat -c '%U:%G %a' "$1" 2>/dev/null) || fail "$1 is missing"
  [[ $got == "$2 $3" ]] || fail "$1 is $got, want $2 $3"
}

# --- 2. install --------------------------------------------------------------
step "apt-get install ./$(basename "$ctl_deb") ./$(basename "$agent_deb")"
"${APT[@]}" install "$ctl_deb" "$agent_deb" </dev/null >"$WORK/apt.log" 2>&1 || fail "install failed: $(tail -20 "$WORK/apt.log")"
pkg_installed clawback && pkg_installed clawback-agent || fail "packages not installed: $(dpkg -l 'clawback*' | tail -2)"
out=$(clawback --version) || fail "clawback --version failed"
echo "$out"; [[ $out == "clawback $upstream" ]] || fail "clawback --version printed '$out', want 'clawback $upstream'"
out=$(clawback-agent --version) || fail "clawback-agent --version failed"
echo "$out"; [[ $out == "clawback-agent $upstream" ]] || fail "clawback-agent --version printed '$out'"
for page in clawback clawback-agent; do
  zgrep -q "$page" "/usr/share/man/man1/$page.1.gz" 2>/dev/null || fail "no man page /usr/share/man/man1/$page.1.gz"
done
[[ $(command -v clawback) == /usr/bin/clawback && $(command -v clawback-agent) == /usr/bin/clawback-agent ]] ||
  fail "binaries not in /usr/bin"
passwd=$(getent passwd claworc) || fail "no claworc user"
echo "user: $passwd"
IFS=: read -r _ _ uid _ _ home shell <<<"$passwd"
((uid < 1000)) || fail "claworc is not a system user (uid $uid)"
[[ $home == "$DATA" && $shell == /usr/sbin/nologin ]] || fail "claworc home/shell: $home $shell"
expect_owner "$DATA" claworc:claworc 750
expect_owner /etc/default/clawback root:claworc 640
grep -qx /etc/default/clawback /var/lib/dpkg/info/clawback.conffiles || fail "/etc/default/clawback is not a conffile"

# --- 3. run it as systemd would --------------------------------------------------
step "start the controller from the installed unit"
sed -i 's/^CLAWBACK_LISTEN=.*/CLAWBACK_LISTEN=127.0.0.1:0/' /etc/default/clawback
grep -qx 'CLAWBACK_LISTEN=127.0.0.1:0' /etc/default/clawback || fail "could not edit /etc/default/clawback"
start_controller "$WORK/run1.log"
check_health "$PORT" "$upstream"
grep -q 'created the first admin user' "$WORK/run1.log" || fail "first run created no admin: $(cat "$WORK/run1.log")"
stop_controller
expect_owner "$DATA/clawback.db" claworc:claworc 600
expect_owner "$DATA/pki/ca.key" claworc:claworc 600
[[ -d $DATA/backups ]] || fail "no $DATA/backups"
ca_sum=$(sha256sum <"$DATA/pki/ca.crt")
echo "data dir: $(cd "$DATA" && find . -maxdepth 2 | sort | tr '\n' ' ')"

# --- 4. reinstall, upgrade -------------------------------------------------------
step "apt-get install --reinstall (same version $version)"
"${APT[@]}" install --reinstall "$ctl_deb" "$agent_deb" </dev/null >"$WORK/apt.log" 2>&1 ||
  fail "reinstall failed: $(tail -20 "$WORK/apt.log")"
grep -qx 'CLAWBACK_LISTEN=127.0.0.1:0' /etc/default/clawback || fail "reinstall lost the edited conffile"

step "apt-get install ./clawback_newer.deb (upgrade to $newer)"
"${APT[@]}" install "$WORK/clawback_newer.deb" </dev/null >"$WORK/apt.log" 2>&1 ||
  fail "upgrade failed: $(tail -20 "$WORK/apt.log")"
[[ $(dpkg-query -W -f='${Version}' clawback) == "$newer" ]] || fail "clawback is not at $newer after the upgrade"
grep -qx 'CLAWBACK_LISTEN=127.0.0.1:0' /etc/default/clawback || fail "upgrade lost the edited conffile"
expect_owner /etc/default/clawback root:claworc 640
[[ $(sha256sum <"$DATA/pki/ca.crt") == "$ca_sum" ]] || fail "upgrade changed the CA"
start_controller "$WORK/run2.log"
check_health "$PORT" "$upstream"  # the binary is the same build; the package version moved
grep -q 'created the first admin user' "$WORK/run2.log" && fail "the upgraded controller did not find its store"
stop_controller

# --- 5. remove, purge --------------------------------------------------------------
step "apt-get remove"
"${APT[@]}" remove clawback clawback-agent </dev/null >"$WORK/apt.log" 2>&1 || fail "remove failed: $(tail -20 "$WORK/apt.log")"
[[ ! -e /usr/bin/clawback && ! -e /usr/bin/clawback-agent && ! -e $UNIT ]] || fail "remove left the binaries or the unit"
[[ -f /etc/default/clawback ]] || fail "remove deleted the conffile (only purge may)"
step "apt-get purge"
"${APT[@]}" purge clawback clawback-agent </dev/null >"$WORK/apt.log" 2>&1 || fail "purge failed: $(tail -20 "$WORK/apt.log")"
grep 'clawback: kept' "$WORK/apt.log"
pkg_known clawback && fail "clawback still known to dpkg after purge"
[[ ! -e /etc/default/clawback ]] || fail "purge left /etc/default/clawback"
[[ -f $DATA/clawback.db && -f $DATA/pki/ca.crt ]] || fail "purge deleted the store or the PKI (documented: kept)"
getent passwd claworc >/dev/null || fail "purge deleted the claworc user (documented: kept)"
echo "after purge: $DATA and user claworc kept, as documented"

clean_machine
trap 'rm -rf "$WORK"' EXIT
getent passwd claworc >/dev/null || [[ -e $DATA ]] && fail "cleanup left the user or $DATA"
echo "1 passed, 0 failed"
