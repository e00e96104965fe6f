#!/usr/bin/env bash
# restore_syscalls_test.sh EXTRACT_TOOL
#
# Counts the file-system syscalls the restore engine makes per new regular
# file (strace -c over extract_tool restoring 4,000 small files in 40
# directories into an empty root), and GNU tar's on the same archive for
# comparison. Fails when the engine needs more than 8 per file, on either
# resolution path. Counted, not timed: the numbers do not depend on load.
set -euo pipefail
tool=$1
limit=8
files_per_dir=100
dirs=40
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/src/home/claworc"
for ((d = 0; d < dirs; d++)); do
  mkdir -p "$work/src/home/claworc/d$d"
  for ((f = 0; f < files_per_dir; f++)); do printf 'file %d/%d\n' "$d" "$f" > "$work/src/home/claworc/d$d/f$f"; done
done
files=$((dirs * files_per_dir))
tar --format=pax -C "$work/src" -cf - home | zstd -q -3 > "$work/a.tar.zst"

# File-system syscalls: everything that names, creates, changes or closes a
# file. Left out: the input stream's read(2)s and the read-ahead thread's
# futex waits, which depend on the archive's size, not on its entries.
fs_calls='openat,open,creat,mkdirat,mkdir,write,pwrite64,writev,fchown,fchownat,chown,lchown,fchmod,fchmodat,chmod,utimensat,futimesat,utimes,close,renameat,renameat2,rename,unlinkat,unlink,rmdir,newfstatat,fstat,lstat,stat,statx,linkat,link,symlinkat,symlink,mknodat,ftruncate,fsetxattr,setxattr,lsetxattr,lseek,fcntl,syncfs,fsync,fdatasync,openat2,fchdir,chdir,getdents64,access,faccessat,faccessat2,readlink,readlinkat'

count() {  # count NAME ROOT -- CMD...: prints the total file-system syscalls
  local name=$1 root=$2; shift 3
  rm -rf "$root"; mkdir -p "$root"
  strace -f -qq -c -o "$work/$name.trace" -e "trace=$fs_calls" "$@" < "$work/a.tar.zst" > "$work/$name.out"
  awk '$NF == "total" {print $(NF-2) + 0; found=1} END {if (!found) print 0}' "$work/$name.trace"
}

status=0
for mode in openat2 walk; do
  total=$(count "clawback-$mode" "$work/root-$mode" -- "$tool" "$work/root-$mode" "$mode")
  diff -r "$work/src/home" "$work/root-$mode/home" > /dev/null || { echo "FAIL: $mode restore differs from the source"; status=1; }
  per_file=$(echo "scale=2; $total / $files" | bc)
  echo "clawback ($mode): $total file-system syscalls for $files files = $per_file per file"
  sed 's/^/    /' "$work/clawback-$mode.trace" | sort -k4 -n -r | head -12
  if (( total > limit * files )); then
    echo "FAIL: more than $limit file-system syscalls per new regular file ($per_file)"
    status=1
  fi
done
total=$(count tar "$work/root-tar" -- tar --zstd -xpf - -C "$work/root-tar")
echo "GNU tar: $total file-system syscalls for $files files = $(echo "scale=2; $total / $files" | bc) per file"
exit $status
