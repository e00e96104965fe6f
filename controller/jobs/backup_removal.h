// Deleting backups (by a user, or by a schedule's retention) and sweeping up
// after a crash in the middle of one.
//
// Order: the record first, then the archive file. A crash in between leaves a
// file that no record owns, which RemoveOrphanArchives deletes at the next
// start; it never leaves a `completed` record whose file is gone, so nothing
// listed as downloadable or restorable is missing.
//
// The backups directory belongs to one controller: an archive file named like
// ours whose backup id has no record is taken to be ours and deleted.
#pragma once

#include <string>

#include "controller/store/model.h"
#include "controller/store/store.h"
#include "shared/status.h"

namespace clawback::controller {

// Deletes the record of a finished backup, then its file (when it has one)
// and the file's block digests.
// The file path must be absolute and name a regular file (or nothing); a
// symlink or directory there is refused before anything is deleted. When the
// record is gone but the file cannot be unlinked, the error is logged and OK
// is returned: the record is what users see, and the next start removes the
// file.
Status RemoveBackup(Store& store, const Backup& backup);

// At startup, once no transfer is running: removes every regular file in
// `<backups_dir>/<instance>/` named "<instance>-<id>-<yyyymmdd-hhmmss>.tar.zst"
// that no completed backup record owns (no record with that id, or one whose
// file is another path), and block digest files ("<that name>.blocks") whose
// archive no completed record owns. Anything else is left alone.
// `removed` (if non-null) gets the count.
Status RemoveOrphanArchives(Store& store, const std::string& backups_dir, int* removed = nullptr);

}  // namespace clawback::controller
