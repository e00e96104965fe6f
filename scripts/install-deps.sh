#!/usr/bin/env bash
# install-deps.sh [--browser] [--print]
#
# Installs (as root, Debian 12) everything clawback needs to build and test.
# Idempotent and fast on reruns: when every package is already installed
# (checked with dpkg-query) apt-get is not run at all.
#
#   --browser   also chromium + node >= 20 and npm (UI tests with playwright-core)
#   --print     print the package list for the chosen groups and exit
#
# The static agent's own dependencies (multithreaded libzstd.a, minimal
# libarchive.a) are built from Debian source packages by
# scripts/build-static-deps.sh (called by cmake/StaticAgentDeps.cmake); this
# script installs what that needs: dpkg-dev (apt-get source / dpkg-source),
# xz-utils, libacl1-dev (libacl.a), libssl-dev (libssl.a/libcrypto.a),
# libzstd-dev/libarchive-dev (their versions pick the source versions), file.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

log() { printf '[install-deps] %s\n' "$*" >&2; }

BROWSER=0
PRINT=0
for a in "$@"; do
  case "$a" in
    --browser) BROWSER=1 ;;
    --print) PRINT=1 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) log "unknown argument: $a"; exit 2 ;;
  esac
done

PKGS=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config file git ca-certificates
  xz-utils tar dpkg-dev binutils coreutils util-linux
  tcl  # tclsh generates the SQLite amalgamation (scripts/build-static-deps.sh)
  clang libclang-rt-14-dev  # libFuzzer and clang sanitizer runtimes (scripts/test-hardening.sh)
  help2man                  # the .deb packages' man pages, generated from --help
  # libraries (libboost1.81-dev, NOT libboost-dev 1.74: they conflict)
  libboost1.81-dev libssl-dev libarchive-dev libzstd-dev libacl1-dev liblz4-dev
  nlohmann-json3-dev libgtest-dev libgmock-dev libsqlite3-dev libsqlitecpp-dev
  libcli11-dev libspdlog-dev libfmt-dev libhowardhinnant-date-dev tzdata
  prometheus-cpp-dev
  libpq-dev      # the PostgreSQL store (controller/store/postgres_connection.cc)
  libcurl4-openssl-dev  # controller/storage: S3 requests signed by libcurl's SigV4
  # runtime tools used by tests
  zstd sqlite3 openssl curl python3 python3-croniter bc umoci execline
  strace   # tests/agent/archive/restore_syscalls_test.sh counts the restore's syscalls
  lintian  # tests/packaging/deb_check.sh: the .debs have no lintian errors
  postgresql-15  # tests/support/postgres_server.cc runs a private server from /usr/lib/postgresql/15/bin
)
if [[ $BROWSER == 1 ]]; then
  PKGS+=(chromium)
fi

if [[ $PRINT == 1 ]]; then
  printf '%s\n' "${PKGS[@]}"
  exit 0
fi

# One dpkg-query for all packages (unknown names are simply absent from its output).
declare -A installed=()
while read -r name status; do
  [[ "$status" == installed ]] && installed[${name%%:*}]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PKGS[@]}" 2>/dev/null || true)
missing=()
for p in "${PKGS[@]}"; do
  [[ -n "${installed[$p]:-}" ]] || missing+=("$p")
done

# node >= 20 and npm for --browser.  node may come from nodesource (which ships
# npm inside its nodejs package and conflicts with Debian's npm package), so
# only ask apt for what is actually absent.
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [[ $BROWSER == 1 ]]; then
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
fi

if ((${#missing[@]})); then
  if [[ $(id -u) != 0 ]]; then
    log "missing packages (run as root): ${missing[*]}"
    exit 1
  fi
  log "installing: ${missing[*]}"
  apt-get update -qq </dev/null
  apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends "${missing[@]}" </dev/null
else
  log "all ${#PKGS[@]} packages already installed"
fi

if [[ $BROWSER == 1 ]]; then
  major=$(node_major)
  if ((major < 20)); then
    log "WARNING: node $(node --version 2>/dev/null || echo missing) found; playwright-core needs node >= 20"
    exit 1
  fi
  log "node $(node --version), npm $(npm --version), $(chromium --version 2>/dev/null || echo 'chromium ?')"
fi
