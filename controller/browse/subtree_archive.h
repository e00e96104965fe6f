// A .tar.zst of selected entries of a stored backup, produced piece by piece
// (public: the API streams it to a client, a partial restore to an agent).
//
// The entries (SelectSubtrees, archive order) are read from the archive with
// every compressed block verified, each header checked against the catalog
// (a lying index fails the stream, it never substitutes another entry), and
// written again with libarchive (pax) and zstd under their archive names.
// Regular files of at most kBufferedFile bytes are read whole and checked
// against the catalog's SHA-256 before any byte of them is encoded; larger
// ones are checked as they pass and a mismatch fails the stream before the
// archive is finished. A hardlink whose target is not in the selection is
// written as a regular file holding the target's content.
//
// Next() returns the next piece of the .tar.zst (valid until the next call),
// an empty span at the end, or an error: the consumer must then cut its
// stream (never end it as if complete). One thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "controller/browse/browse.h"
#include "controller/jobs/transfers.h"
#include "shared/status.h"

namespace clawback::controller::browse {

class SubtreeArchive {
 public:
  static constexpr uint64_t kBufferedFile = 16 * 1024 * 1024;

  // Takes the opened archive; `entries` from SelectSubtrees on its catalog.
  static Result<std::unique_ptr<SubtreeArchive>> Open(std::unique_ptr<BackupArchive> archive,
                                                      std::vector<IndexEntry> entries, int zstd_level = 3);
  ~SubtreeArchive();
  SubtreeArchive(const SubtreeArchive&) = delete;
  SubtreeArchive& operator=(const SubtreeArchive&) = delete;

  Result<std::span<const char>> Next();
  uint64_t entries_written() const { return written_; }
  BackupArchive& archive() { return *archive_; }

 private:
  class Impl;
  explicit SubtreeArchive(std::unique_ptr<BackupArchive> archive);
  std::unique_ptr<BackupArchive> archive_;
  std::unique_ptr<Impl> impl_;
  uint64_t written_ = 0;
  bool finished_sent_ = false;
};

// The transfer service's hooks (controller/jobs/transfers.h), wired by the
// service: format 2 archives indexed before they are published
// (IndexWrittenArchive), and partial restores streamed from a selection
// (a SubtreeArchive over OpenBackupArchive, sent chunked).
ArchiveIndexer MakeArchiveIndexer();
SelectionOpener MakeSelectionOpener(std::string backups_dir);

}  // namespace clawback::controller::browse
