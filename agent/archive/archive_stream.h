// The agent's archive engine: turns paths on disk into a tar+zstd byte stream
// (WriteBackup) and a tar+zstd byte stream back into files (ExtractRestore).
// No shell and no external tar: libarchive reads and writes the filesystem,
// zstd compresses (frames compressed in parallel, seekable_compressor.h).
//
// Both functions are blocking and run on a worker thread, never on an I/O
// thread. They talk to the network side only through ChunkSink / ChunkSource,
// which the server implements over bounded queues. Memory stays bounded by the
// compressor's window and a few fixed-size buffers, whatever the input size.
//
// Thread safety: the functions keep no global state and never chdir, so any
// number may run at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "agent/archive/beneath.h"
#include "shared/exclude_rules.h"
#include "shared/status.h"

namespace clawback::agent {

// Receives the compressed stream. Write blocks until the bytes are accepted and
// returns a non-OK status when the consumer has gone away (then the producer
// stops and fails).
//
// `data` points into the producer's own output buffer, and the sink may also
// write the kHeadroom bytes before it and the kTailroom bytes after
// `data + size` during the call: room to frame the block (e.g. as one HTTP
// chunk) and send it in one piece without copying it.
class ChunkSink {
 public:
  static constexpr size_t kHeadroom = 16;
  static constexpr size_t kTailroom = 2;
  virtual ~ChunkSink() = default;
  virtual Status Write(char* data, size_t size) = 0;
};

// Supplies the compressed stream for a restore. Read blocks until at least one
// byte is available and returns the number of bytes copied into `buf`, 0 at
// the end of the stream, or a non-OK status when the stream broke (cut
// connection, stall): the extractor then fails with that status.
class ChunkSource {
 public:
  virtual ~ChunkSource() = default;
  virtual Result<size_t> Read(void* buf, size_t capacity) = 0;
};

struct BackupOptions {
  std::string root = "/";       // the container's filesystem root on this host
  int compression_level = 3;    // zstd level
  int threads = 0;              // compression workers; 0 = DefaultCompressionThreads()
  const std::atomic<bool>* cancel = nullptr;  // checked between blocks; may be null
  // SQLite databases (sqlite_capture.h): how long a capture waits for a
  // rollback-mode writer before the file is archived as plain bytes instead.
  std::chrono::milliseconds database_busy_timeout{5000};
  // A database that cannot be captured consistently fails the backup
  // (FailedPrecondition) instead of being archived as plain bytes + warning.
  bool strict = false;
  ExcludeRules excludes;        // entries (and subtrees) left out; the request's "excludes"
  // Frame input bounds (seekable_compressor.h); 0 = its kMinFrameInput /
  // kMaxFrameInput. Tests and benchmarks set them; the agent never does.
  size_t min_frame_input = 0;
  size_t max_frame_input = 0;
};

struct BackupSummary {
  uint64_t entries = 0;       // archive entries written
  uint64_t bytes_read = 0;    // file content bytes read from disk
  uint64_t bytes_sent = 0;    // compressed bytes handed to the sink
  std::string sha256;         // lowercase hex SHA-256 of the bytes handed to the sink
  std::vector<std::string> warnings;  // vanished/changed files, unreadable xattrs ...
  uint64_t databases_captured = 0;    // SQLite databases written as a consistent image
  uint64_t databases_raw = 0;         // files with the SQLite header archived as plain bytes (each warned)
  // Format 2 (docs/archive-format.md): what the archive's index and seek table hold.
  uint64_t index_entries = 0;  // index entry lines (== entries)
  uint64_t index_bytes = 0;    // compressed index before its end line (the memory it took)
  uint64_t tar_bytes = 0;      // bytes of the decompressed tar stream
  uint64_t frames = 0;         // data frames
};

// Checks that every path (already resolved by ResolveBackupPaths) exists under
// options.root. InvalidArgument naming the path when one does not.
Status CheckBackupPathsExist(const BackupOptions& options, const std::vector<std::string>& paths);

// Archives `paths` (normalized absolute container paths, from
// ResolveBackupPaths) read from options.root + path, named relative to the
// container root ("home/claworc/x"), as a pax tar compressed with zstd, into
// `sink`. Excluded system dirs and mount points of pseudo filesystems (proc,
// sysfs, devpts, tmpfs under /dev or /run, cgroup ...) are skipped, also below
// "/", and so is whatever options.excludes matches. The archive is format 2:
// zstd frames cut at tar member boundaries, then the index frame and the seek
// table (docs/archive-format.md, seekable_compressor.h). Files that vanish or change while read become warnings. Any error that
// would make the archive incomplete returns a non-OK status; the caller must
// then break the stream rather than end it.
//
// Files that start with the SQLite header are written as a consistent image
// of the database (sqlite_capture.h, docs/live-state.md) and their -wal, -shm
// and -journal are then left out; one that cannot be captured is archived as
// plain bytes, with its sidecars, and a warning naming it and the reason.
// With options.strict that case instead returns FailedPrecondition (see
// IsBackupRefusal) at once: a refusal the caller reports in the stream's
// trailers (Clawback-Status: error, Clawback-Error) rather than a broken stream.
Result<BackupSummary> WriteBackup(const BackupOptions& options, const std::vector<std::string>& paths,
                                  ChunkSink& sink);

// True for the status WriteBackup returns when options (strict) made it refuse
// to finish the archive; every other non-OK status is a failure of the stream.
inline bool IsBackupRefusal(const Status& s) {
  return s.code() == Status::Code::kFailedPrecondition;
}

struct RestoreOptions {
  std::string root = "/";        // entries are written under root + their container path
  bool allow_devices = false;    // device nodes and FIFOs are skipped unless set
  // How multi-component lookups below the root resolve (beneath.h); kAuto
  // unless testing the fallback a container's seccomp profile forces.
  Resolution resolution = Resolution::kAuto;
  const std::atomic<bool>* cancel = nullptr;
  // Preview only (restore_preview.h): read the whole stream, classify each
  // entry against the target, write nothing.
  bool dry_run = false;
};

struct SkippedEntry {
  std::string path;    // entry name as in the archive (escaped if not printable)
  std::string reason;  // why it was not written
};

// Entries of one kind of change: how many, and (dry run) the first names.
struct ChangeList {
  static constexpr size_t kMaxFirst = 100;
  uint64_t count = 0;
  std::vector<std::string> first;  // printable archive names, at most kMaxFirst
};

// What a restore does to the target, per entry written (or, dry run, that
// would be): created where nothing was, replacing what was there, or (dry
// run only) already identical. A real restore rewrites identical entries
// too, so its replace = a preview's replace + unchanged.
struct RestoreChanges {
  ChangeList create, replace, unchanged;
};

struct RestoreSummary {
  uint64_t entries = 0;          // archive entries read (skipped ones included)
  uint64_t entries_written = 0;
  uint64_t bytes_written = 0;
  RestoreChanges changes;
  std::vector<SkippedEntry> skipped;
  std::vector<std::string> warnings;
};

// Reads a tar+zstd stream from `source` and writes its entries under
// options.root at their original container paths, restoring type, mode,
// owner (by name through the root's /etc/passwd and /etc/group, falling back
// to the numeric id), mtime, links, xattrs and ACLs, through directory
// handles held below the root (disk_writer.h), so a concurrent symlink swap in
// the target cannot redirect a write. Existing files are replaced atomically;
// a restored SQLite database first removes the target's -wal/-shm/-journal.
// Entries with "..", absolute names, names under excluded system dirs, writes
// through symlinks, and (unless allowed) devices/FIFOs are skipped with a
// reason, never written. The restored tree is flushed (syncfs) before success
// is returned. A truncated or corrupt stream returns Corruption; `partial`
// (if non-null) then holds what had been written.
//
// With options.dry_run nothing is written: each entry the same rules allow
// is classified read-only against the target (restore_preview.h) into
// changes.create / replace / unchanged (with the first names of each), the
// skipped list is what a real restore would skip, entries_written stays 0.
Result<RestoreSummary> ExtractRestore(const RestoreOptions& options, ChunkSource& source,
                                      RestoreSummary* partial = nullptr);

// zstd worker count for the CPUs this process may use: sched_getaffinity,
// capped by a cgroup v2 cpu.max / v1 cfs quota when present; at least 1.
int DefaultCompressionThreads();

}  // namespace clawback::agent
