#!/usr/bin/env bash
# build-static-deps.sh [PREFIX_ROOT] [--force]
#
# Builds the three libraries the fully static clawback agent needs from their
# DEBIAN SOURCE packages (so Debian's security patches are included) and
# installs them into a cache directory OUTSIDE the clone:
#
#     PREFIX_ROOT/<key>/{include,lib,clawback-deps.cmake,BUILDINFO,.complete}
#
# The last line printed on stdout is that prefix (everything else goes to
# stderr), so callers can do  prefix=$(scripts/build-static-deps.sh | tail -n1)
# and cmake/StaticAgentDeps.cmake does the same via execute_process.
#
# Why not Debian's own static libraries (see docs/building.md):
#   * Debian's libzstd.a is built single-threaded: ZSTD_c_nbWorkers is bounded
#     to 0 and libarchive silently ignores "zstd:threads".  We build
#     libzstd.a with -DZSTD_MULTITHREAD (the "libzstd.a-mt" make target).
#   * Debian's libarchive.a is built with everything (xml2 -> ICU, lzma, bz2,
#     lz4, zlib, nettle/openssl, iconv ...); linking it statically drags in the
#     xar writer -> libxml2 -> ICU (41 MB stripped).  We build a minimal one.
#   * Debian's libsqlite3 lacks SQLITE_ENABLE_DBPAGE_VTAB (the sqlite_dbpage
#     table the agent reads raw pages through, inside one read transaction).
#     We generate the amalgamation from the Debian source (tclsh is a BUILD
#     tool only) and compile it with the options below.  This libsqlite3.a is
#     used by the agent in BOTH modes (static and CLAWBACK_STATIC_AGENT=OFF).
#
# Cache key = sha256 over: source versions, this script's own contents (so any
# change of flags below gives a new key), compiler version, architecture.
# A prefix is used only when its ".complete" stamp exists; it is built in a
# temporary sibling directory and renamed into place atomically, under a flock,
# so concurrent runs (CI + a developer) are safe.
#
# Rebuild: pass --force, or set CLAWBACK_DEPS_REBUILD=1, or delete the prefix.
# Environment: CLAWBACK_DEPS_JOBS (default: nproc), CI=true works (no stdin).
#
# Network: only apt (deb-src entry + `apt-get source`).  Needs root the first
# time on a machine (to add the deb-src entry and run apt-get update).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
export LC_ALL=C

log() { printf '[build-static-deps] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

FORCE=${CLAWBACK_DEPS_REBUILD:-0}
PREFIX_ROOT=""
for a in "$@"; do
  case "$a" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,32p' "$0" >&2; exit 0 ;;
    -*) die "unknown option $a" ;;
    *) PREFIX_ROOT=$a ;;
  esac
done
if [[ -z "$PREFIX_ROOT" ]]; then
  if [[ -w /var/cache || -w /var/cache/clawback ]]; then
    PREFIX_ROOT=/var/cache/clawback/deps
  else
    PREFIX_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/clawback/deps
  fi
fi
mkdir -p "$PREFIX_ROOT"
PREFIX_ROOT=$(cd "$PREFIX_ROOT" && pwd -P)

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
JOBS=${CLAWBACK_DEPS_JOBS:-$(nproc 2>/dev/null || echo 2)}

# ---------------------------------------------------------------------------
# Flags (recorded here; they are part of the cache key via the script hash).
# ---------------------------------------------------------------------------
# Common: -O2, function/data sections so the agent can link with
# -Wl,--gc-sections; no -fPIC (the agent is a non-PIE static executable).
COMMON_CFLAGS="-O2 -g0 -ffunction-sections -fdata-sections"

# zstd: "libzstd.a-mt" = static lib with -DZSTD_MULTITHREAD (pthread from
# glibc).  ZSTD_LEGACY_SUPPORT=0: we never need to read zstd v0.1-v0.7 frames
# (saves ~150 KB).  Dict builder / deprecated API left at upstream defaults.
ZSTD_MAKE_ARGS=(libzstd.a-mt ZSTD_LEGACY_SUPPORT=0 "MOREFLAGS=$COMMON_CFLAGS")

# libarchive (CMake build of the static target only): everything the agent
# does not use is off.  Kept: tar/pax/ustar read+write (always compiled in),
# zstd filter (our MT libzstd), POSIX.1e ACLs via libacl (libacl.a links
# statically, needs nothing but libc), xattrs via glibc's *xattr() calls (no
# libattr).  Off: OpenSSL/Nettle/mbedTLS/CNG (only used by zip encryption and
# mtree/warc digests), libxml2/expat (xar), bzip2, lzma/xz, lz4, lzo, zlib
# (gzip/zip deflate), libb2 (bundled fallback is compiled but unused),
# iconv (charset conversion falls back to the C library's UTF-8/locale code),
# pcreposix/regex, libgcc, bsdtar/bsdcpio/bsdcat, tests.
ARCHIVE_CMAKE_ARGS=(
  -DCMAKE_BUILD_TYPE=Release
  "-DCMAKE_C_FLAGS=$COMMON_CFLAGS"
  -DCMAKE_POSITION_INDEPENDENT_CODE=OFF
  -DENABLE_ZSTD=ON
  -DENABLE_ACL=ON
  -DENABLE_XATTR=ON
  -DHAVE_LIBATTR=0 -DHAVE_LIBATTR_GNU=0
  -DENABLE_OPENSSL=OFF -DENABLE_NETTLE=OFF -DENABLE_MBEDTLS=OFF -DENABLE_CNG=OFF
  -DENABLE_LIBXML2=OFF -DENABLE_EXPAT=OFF
  -DENABLE_BZip2=OFF -DENABLE_LZMA=OFF -DENABLE_LZ4=OFF -DENABLE_LZO=OFF
  -DENABLE_ZLIB=OFF -DENABLE_LIBB2=OFF
  -DENABLE_ICONV=OFF -DENABLE_PCREPOSIX=OFF -DENABLE_LIBGCC=OFF
  -DENABLE_TAR=OFF -DENABLE_CPIO=OFF -DENABLE_CAT=OFF
  -DENABLE_TEST=OFF -DENABLE_COVERAGE=OFF -DENABLE_INSTALL=OFF
)

# SQLite: the amalgamation compiled once into libsqlite3.a (no -fPIC needed:
# Debian's gcc defaults to -fPIE, which also links into PIE test programs).
#   DBPAGE_VTAB      sqlite_dbpage: raw pages read inside a read transaction.
#   THREADSAFE=1     the agent runs several backups on worker threads.
#   OMIT_LOAD_EXTENSION  no dlopen in a static binary; nothing is loaded.
#   HAVE_USLEEP      busy waits and WAL read retries sleep in microseconds
#                    (without it SQLite sleeps whole seconds).
#   USE_PREAD        pread instead of lseek+read.
#   DEFAULT_MEMSTATUS=0  no global memory-statistics mutex on every malloc.
# Not compiled: tcl bindings, readline, the sqlite3 shell.
SQLITE_CFLAGS=(-DSQLITE_ENABLE_DBPAGE_VTAB -DSQLITE_THREADSAFE=1 -DSQLITE_OMIT_LOAD_EXTENSION
  -DSQLITE_DEFAULT_MEMSTATUS=0 -DHAVE_USLEEP=1 -DUSE_PREAD=1 -DHAVE_LOCALTIME_R=1
  -DHAVE_GMTIME_R=1 -DHAVE_FDATASYNC=1 -DHAVE_STRCHRNUL=1)

# ---------------------------------------------------------------------------
# Versions: the source versions of the installed -dev packages (installed by
# scripts/install-deps.sh), so headers/behaviour match the system libraries
# and the key can be computed without touching the network.
# ---------------------------------------------------------------------------
src_version() { # binary package -> its source version
  dpkg-query -W -f='${source:Version}' "$1" 2>/dev/null || true
}
ZSTD_VER=$(src_version libzstd-dev)
ARCHIVE_VER=$(src_version libarchive-dev)
SQLITE_VER=$(src_version libsqlite3-dev)
[[ -n "$ZSTD_VER" ]] || die "libzstd-dev is not installed (run scripts/install-deps.sh)"
[[ -n "$ARCHIVE_VER" ]] || die "libarchive-dev is not installed (run scripts/install-deps.sh)"
[[ -n "$SQLITE_VER" ]] || die "libsqlite3-dev is not installed (run scripts/install-deps.sh)"
[[ -e /usr/lib/$(gcc -print-multiarch)/libacl.a ]] || die "libacl1-dev is not installed (libacl.a)"

compute_key() {
  {
    echo "zstd=$1"
    echo "libarchive=$2"
    echo "sqlite3=$3"
    echo "cc=$(gcc -dumpfullversion 2>/dev/null) $(gcc -dumpmachine)"
    echo "arch=$(dpkg --print-architecture)"
    sha256sum <"$SCRIPT_PATH"
  } | sha256sum | cut -c1-16
}

is_complete() { [[ -f "$1/.complete" ]]; }

KEY=$(compute_key "$ZSTD_VER" "$ARCHIVE_VER" "$SQLITE_VER")
PREFIX="$PREFIX_ROOT/$KEY"

if [[ "$FORCE" != 1 ]] && is_complete "$PREFIX"; then
  log "cached: zstd $ZSTD_VER, libarchive $ARCHIVE_VER, sqlite3 $SQLITE_VER"
  echo "$PREFIX"
  exit 0
fi

# ---------------------------------------------------------------------------
# Slow path: serialize builders.
# ---------------------------------------------------------------------------
exec 9>"$PREFIX_ROOT/.lock"
flock 9
if [[ "$FORCE" != 1 ]] && is_complete "$PREFIX"; then # built while we waited
  echo "$PREFIX"
  exit 0
fi
[[ "$FORCE" == 1 && -d "$PREFIX" ]] && { log "--force: removing $PREFIX"; rm -rf "$PREFIX"; }

for tool in dpkg-source cmake make gcc xz tclsh; do
  command -v "$tool" >/dev/null || die "$tool missing (run scripts/install-deps.sh)"
done

# --- deb-src entry --------------------------------------------------------
ensure_deb_src() {
  local src=/etc/apt/sources.list.d/debian-src.sources
  if [[ -f "$src" ]] || grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    return 0
  fi
  [[ $(id -u) == 0 ]] || die "no deb-src entry and not root: add one (see docs/building.md)"
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    # Same URIs/Suites/Components/Signed-By as the binary entries.
    sed -E 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$src"
  elif [[ -f /etc/apt/sources.list ]]; then
    sed -nE 's/^deb (.*)$/deb-src \1/p' /etc/apt/sources.list >/etc/apt/sources.list.d/debian-src.list
  else
    die "cannot find Debian apt sources to derive a deb-src entry from"
  fi
  log "added deb-src entry"
  NEED_UPDATE=1
}
NEED_UPDATE=0
ensure_deb_src
if [[ $NEED_UPDATE == 0 ]] && ! apt-cache showsrc libzstd 2>/dev/null | grep -q '^Package:'; then
  NEED_UPDATE=1
fi
apt_update() {
  [[ $(id -u) == 0 ]] || die "apt-get update needed but not root"
  log "apt-get update"
  apt-get update -qq >&2 </dev/null
}
[[ $NEED_UPDATE == 1 ]] && apt_update

WORK=$(mktemp -d "${TMPDIR:-/tmp}/clawback-deps.XXXXXX")
STAGE="$PREFIX_ROOT/.$KEY.tmp.$$"
cleanup() { rm -rf "$WORK" "$STAGE"; }
trap cleanup EXIT
chmod 755 "$WORK" # lets apt's _apt sandbox user write here (avoids a warning)

# Fetches a Debian source package, preferring the installed -dev package's
# source version.  A mirror may list a newer point/security release in its
# index without carrying the files (seen: a snapshot mirror 404ing the
# debian-security pool), so on failure every other version apt knows is tried,
# newest first.  Sets FETCHED_VERSION to the version actually unpacked.
fetch_source() { # srcpkg version
  local pkg=$1 ver=$2 v
  local -a candidates=("$ver")
  try_fetch() { (cd "$WORK" && rm -f "${pkg}"_* && apt-get source --download-only -qq "$pkg=$1" >&2 </dev/null); }
  if ! try_fetch "$ver"; then
    log "apt-get source $pkg=$ver failed; retrying after apt-get update"
    apt_update
    while read -r v; do
      [[ -n "$v" && "$v" != "$ver" ]] && candidates+=("$v")
    done < <(apt-cache showsrc "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | sort -V -r -u)
    FETCHED_VERSION=""
    for v in "${candidates[@]}"; do
      if try_fetch "$v"; then FETCHED_VERSION=$v; break; fi
      log "apt-get source $pkg=$v failed"
    done
    [[ -n "$FETCHED_VERSION" ]] ||
      die "cannot fetch Debian source $pkg (tried: ${candidates[*]})"
    [[ "$FETCHED_VERSION" == "$ver" ]] || log "using $pkg $FETCHED_VERSION (installed -dev is $ver; same upstream API)"
  else
    FETCHED_VERSION=$ver
  fi
  local dsc
  dsc=$(ls "$WORK"/"${pkg}"_*.dsc | head -n1)
  # apt already verified the .dsc/.orig hashes against the signed Release file;
  # dpkg-source's own gpgv check has no keyring here and only prints noise.
  if ! (cd "$WORK" && dpkg-source -x "$dsc" "$pkg-src" >"$WORK/$pkg-unpack.log" 2>&1 </dev/null); then
    cat "$WORK/$pkg-unpack.log" >&2
    die "dpkg-source -x $dsc failed"
  fi
}

T0=$(date +%s)
log "fetching Debian sources: libzstd $ZSTD_VER, libarchive $ARCHIVE_VER, sqlite3 $SQLITE_VER"
fetch_source libzstd "$ZSTD_VER"
ZSTD_VER=$FETCHED_VERSION
fetch_source libarchive "$ARCHIVE_VER"
ARCHIVE_VER=$FETCHED_VERSION
fetch_source sqlite3 "$SQLITE_VER"
SQLITE_VER=$FETCHED_VERSION

mkdir -p "$STAGE/include" "$STAGE/lib"
LOG="$WORK/build.log"
run() { # run a build step, keep its output in $LOG, show the tail on failure
  if ! "$@" >>"$LOG" 2>&1 </dev/null; then
    tail -n 60 "$LOG" >&2
    die "step failed: $*"
  fi
}

# --- zstd ------------------------------------------------------------------
log "building libzstd.a (multithreaded) with -j$JOBS"
run make -C "$WORK/libzstd-src/lib" -j"$JOBS" "${ZSTD_MAKE_ARGS[@]}"
install -m 644 "$WORK/libzstd-src/lib/libzstd.a" "$STAGE/lib/"
install -m 644 "$WORK/libzstd-src/lib/"{zstd.h,zstd_errors.h,zdict.h} "$STAGE/include/"
# Prove it is the MT build: the MT code creates threads.
# (nm output captured first: `nm | grep -q` would SIGPIPE under pipefail)
ZSTD_SYMS=$(nm "$STAGE/lib/libzstd.a" 2>/dev/null || true)
grep -q ' U pthread_create' <<<"$ZSTD_SYMS" || die "libzstd.a was not built with ZSTD_MULTITHREAD"

# --- libarchive ------------------------------------------------------------
GEN=(-G "Unix Makefiles"); BUILD_TOOL=(make -j"$JOBS")
if command -v ninja >/dev/null; then GEN=(-G Ninja); BUILD_TOOL=(ninja -j"$JOBS"); fi
log "configuring libarchive (minimal)"
run cmake -S "$WORK/libarchive-src" -B "$WORK/libarchive-build" "${GEN[@]}" \
  "${ARCHIVE_CMAKE_ARGS[@]}" \
  -DZSTD_INCLUDE_DIR="$STAGE/include" -DZSTD_LIBRARY="$STAGE/lib/libzstd.a"
CFG="$WORK/libarchive-build/config.h"
for must in HAVE_ZSTD_H HAVE_LIBZSTD HAVE_LIBZSTD_COMPRESSOR; do
  grep -qE "^#define $must 1" "$CFG" || die "libarchive configure: $must not set (zstd not usable)"
done
for mustnot in HAVE_LIBXML_XMLWRITER_H HAVE_LZMA_H HAVE_BZLIB_H HAVE_ZLIB_H HAVE_LZ4_H HAVE_ICONV; do
  if grep -qE "^#define $mustnot 1" "$CFG"; then die "libarchive configure: $mustnot unexpectedly enabled"; fi
done
ACL=OFF; grep -qE '^#define ARCHIVE_ACL_LIBACL 1' "$CFG" && ACL=ON
XATTR=OFF; grep -qE '^#define ARCHIVE_XATTR_LINUX 1' "$CFG" && XATTR=ON
log "building libarchive.a (ACL=$ACL XATTR=$XATTR) with ${BUILD_TOOL[*]}"
run "${BUILD_TOOL[@]}" -C "$WORK/libarchive-build" archive_static
install -m 644 "$WORK/libarchive-build/libarchive/libarchive.a" "$STAGE/lib/"
install -m 644 "$WORK/libarchive-src/libarchive/"{archive.h,archive_entry.h} "$STAGE/include/"

# --- sqlite3 ---------------------------------------------------------------
# `make sqlite3.c` only generates the amalgamation (lemon, mkkeywordhash and
# the tcl scripts run at build time); we compile it ourselves.
log "building libsqlite3.a (amalgamation, sqlite_dbpage)"
mkdir -p "$WORK/sqlite3-build"
(cd "$WORK/sqlite3-build" &&
  run "$WORK/sqlite3-src/configure" --disable-tcl --disable-readline --disable-shared &&
  run make sqlite3.c)
run gcc -c $COMMON_CFLAGS "${SQLITE_CFLAGS[@]}" "$WORK/sqlite3-build/sqlite3.c" -o "$WORK/sqlite3-build/sqlite3.o"
run ar rcs "$STAGE/lib/libsqlite3.a" "$WORK/sqlite3-build/sqlite3.o"
# In a directory of its own: the OFF mode puts only this on the include path,
# next to the system's zstd/libarchive headers.
mkdir -p "$STAGE/include/sqlite3"
install -m 644 "$WORK/sqlite3-build/sqlite3.h" "$STAGE/include/sqlite3/"
grep -q 'sqlite_dbpage' "$STAGE/lib/libsqlite3.a" || die "libsqlite3.a was built without the sqlite_dbpage table"

# --- metadata for consumers --------------------------------------------------
ZSTD_UP=${ZSTD_VER%%+*}; ZSTD_UP=${ZSTD_UP%%-*}
ARCHIVE_UP=${ARCHIVE_VER%%-*}
EXTRA_LIBS=""; [[ $ACL == ON ]] && EXTRA_LIBS="acl"
cat >"$STAGE/clawback-deps.cmake" <<EOF
# Generated by scripts/build-static-deps.sh; read by cmake/StaticAgentDeps.cmake
set(CLAWBACK_DEPS_ZSTD_VERSION "$ZSTD_UP")
set(CLAWBACK_DEPS_ZSTD_DEBIAN_VERSION "$ZSTD_VER")
set(CLAWBACK_DEPS_LIBARCHIVE_VERSION "$ARCHIVE_UP")
set(CLAWBACK_DEPS_LIBARCHIVE_DEBIAN_VERSION "$ARCHIVE_VER")
set(CLAWBACK_DEPS_SQLITE_VERSION "${SQLITE_VER%%-*}")
set(CLAWBACK_DEPS_SQLITE_DEBIAN_VERSION "$SQLITE_VER")
set(CLAWBACK_DEPS_ZSTD_MULTITHREAD ON)
set(CLAWBACK_DEPS_LIBARCHIVE_ACL $ACL)
set(CLAWBACK_DEPS_LIBARCHIVE_XATTR $XATTR)
# System static libraries libarchive.a needs besides libzstd.a
set(CLAWBACK_DEPS_LIBARCHIVE_EXTRA_LIBS "$EXTRA_LIBS")
EOF
mkdir -p "$STAGE/lib/pkgconfig"
cat >"$STAGE/lib/pkgconfig/libzstd.pc" <<EOF
prefix=$PREFIX
libdir=\${prefix}/lib
includedir=\${prefix}/include
Name: zstd
Description: fast lossless compression algorithm library (static, multithreaded)
Version: $ZSTD_UP
Libs: -L\${libdir} -lzstd -pthread
Cflags: -I\${includedir}
EOF
cat >"$STAGE/lib/pkgconfig/libarchive.pc" <<EOF
prefix=$PREFIX
libdir=\${prefix}/lib
includedir=\${prefix}/include
Name: libarchive
Description: minimal static libarchive for the clawback agent
Version: $ARCHIVE_UP
Requires.private: libzstd
Libs: -L\${libdir} -larchive
Libs.private: ${EXTRA_LIBS:+-l$EXTRA_LIBS}
Cflags: -I\${includedir}
EOF
T1=$(date +%s)
{
  echo "key=$KEY"
  echo "zstd=$ZSTD_VER make ${ZSTD_MAKE_ARGS[*]}"
  echo "libarchive=$ARCHIVE_VER cmake ${ARCHIVE_CMAKE_ARGS[*]}"
  echo "sqlite3=$SQLITE_VER gcc ${SQLITE_CFLAGS[*]}"
  echo "libarchive_acl=$ACL libarchive_xattr=$XATTR"
  echo "cc=$(gcc -dumpfullversion) $(gcc -dumpmachine)"
  echo "jobs=$JOBS build_seconds=$((T1 - T0))"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$STAGE/BUILDINFO"
touch "$STAGE/.complete"

rm -rf "$PREFIX" # stale incomplete dir (no stamp) from an interrupted older run
mv "$STAGE" "$PREFIX"
log "done in $((T1 - T0)) s: $PREFIX"
echo "$PREFIX"
