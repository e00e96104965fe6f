// Where archives live: the backups directory and the names inside it. This
// file owns the archive name format in both directions.
//
// The backups directory is resolved once, at startup (ResolveBackupsDir): an
// absolute, canonical path (symlinks, "..", "." and repeated or trailing
// slashes resolved). Records store an archive's location RELATIVE to it,
// "<instance>/<instance>-<id>-<UTC yyyymmdd-hhmmss>.tar.zst", so the same
// directory spelled differently, reached through a symlink, or moved (with
// the configuration updated) still names the same files. Rows written by
// older versions hold absolute paths; migration 2 turns those that follow
// the layout into relative names, and any left absolute are read as they are.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "controller/store/model.h"
#include "shared/status.h"

namespace clawback::controller {

// The directory archives go to. `configured` is CLAWORC_BACKUPS_PATH /
// --backups-dir; when empty, "<data_dir>/backups" is used. A configured path
// must be an absolute local path: a relative one (it would depend on the
// working directory the service happens to start in) or a URL such as
// "s3://bucket/prefix" is InvalidArgument, so the service refuses to start.
// Creates the directory (mode 0700) when missing and returns its canonical
// absolute path.
Result<std::string> ResolveBackupsDir(const std::string& configured, const std::string& data_dir);

// "<instance>-<id>-<UTC yyyymmdd-hhmmss>.tar.zst" for a backup record.
std::string ArchiveFileName(const std::string& instance_name, Id backup_id, UnixTime created_at);

// The record's location relative to the backups directory:
// "<instance>/<file name>". This is what Backup::file_path stores.
std::string ArchiveRelativeName(const Backup& backup);

// "<archive path>.index": the archive's file index (controller/browse,
// docs/archive-format.md), kept, removed and swept like its ".blocks".
std::string ArchiveIndexPath(const std::string& archive_path);

// The backup id in an archive file name, or nullopt when `file_name` is not
// named like one of our archives (an instance directory's other files).
std::optional<Id> ArchiveIdFromFileName(std::string_view file_name);

// The absolute path of a stored Backup::file_path: a relative name is joined
// to `backups_dir`; an absolute one (a row from before migration 2 that did
// not follow the layout) is returned unchanged. Empty stays empty. A relative
// name with "." or ".." components, or an empty component, is Internal: it was
// not written by us and must not be followed out of the directory.
Result<std::string> ArchiveAbsolutePath(const std::string& backups_dir, const std::string& file_path);

// `message` with every "<backups_dir>/" removed, for errors users see: they
// name an archive by its relative name, never by a host path (the full
// message goes to the log).
std::string WithoutBackupsDir(const std::string& message, const std::string& backups_dir);

}  // namespace clawback::controller
