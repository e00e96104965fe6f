// Deleting backups (by a user, or by a schedule's retention) and sweeping up
// after a crash in the middle of one.
//
// Order: the record first, then the archive file. A crash in between leaves a
// file that no record owns, which RemoveOrphanArchives deletes at the next
// start; it never leaves a `completed` record whose file is gone, so nothing
// listed as downloadable or restorable is missing.
//
// Deleting at startup is the most dangerous thing the controller does, so
// the sweep is narrow: it matches files to records by their name relative to
// the (canonical) backups directory, never deletes a file any record names
// or whose id belongs to a queued, running or completed record, and refuses
// to delete anything when the directory does not look like this store's
// (see RemoveOrphanArchives).
#pragma once

#include <string>

#include "controller/store/model.h"
#include "controller/store/store.h"
#include "shared/status.h"

namespace clawback::controller {
namespace storage {
class ArchiveStorage;
}

// Deletes the record of a finished backup, then its file (when it has one;
// Backup::file_path resolved against `backups_dir`, see archive_location.h)
// and the file's block digests (block_digests.h).
// The file must be a regular file (or nothing); a symlink or directory there
// is refused before anything is deleted. When the record is gone but the
// file cannot be unlinked, the error is logged and OK is returned: the record
// is what users see, and the next start removes the file.
Status RemoveBackup(Store& store, const std::string& backups_dir, const Backup& backup);

// The same for any archive storage (local storage: exactly the above). On
// object storage an archive still under Object Lock retention is refused
// before the record is touched: FailedPrecondition "archive ... is locked
// (S3 Object Lock) until <date>; ...", so retention skips it and a user
// sees why.
Status RemoveBackup(Store& store, storage::ArchiveStorage& archives, const Backup& backup);

// Above this many orphans in one start the sweep refuses (a crash can cut
// short only the deletes in flight, a handful at most).
inline constexpr int kMaxOrphansPerSweep = 8;

// At startup, once no transfer is running. `backups_dir` is the canonical
// directory (ResolveBackupsDir). Candidates are regular files in
// `<backups_dir>/<instance>/` named "<instance>-<id>-<yyyymmdd-hhmmss>.tar.zst"
// that no record (in any state) names and whose id has no queued, running
// or completed record. When there are more than kMaxOrphansPerSweep
// candidates, or more candidates than archives that records do own, the
// directory looks like another store's (a reset data dir, a wrong path):
// nothing is deleted, a warning is logged, and `refused` (if non-null) is set.
// Otherwise the candidates are deleted; `removed` (if non-null) gets the
// count. An archive's block digests ("<archive>.blocks") go with it: kept
// while their archive's record owns it, removed with the orphans otherwise
// (they do not count towards the limit). Anything not named like an archive
// or its digests is never touched. Completed
// records whose archive is not in the directory are logged as a warning.
// The same sweep over any archive storage: on object storage, objects named
// "<instance>/<archive>[.blocks|.index]" under the prefix, with the same
// rules and limits; an orphan is removed with its sidecars (RemoveArchive,
// so an object under Object Lock retention stays, with an error logged).
Status RemoveOrphanArchives(Store& store, storage::ArchiveStorage& archives, int* removed = nullptr,
                            bool* refused = nullptr);
Status RemoveOrphanArchives(Store& store, const std::string& backups_dir, int* removed = nullptr,
                            bool* refused = nullptr);

}  // namespace clawback::controller
