// RAII owners for libarchive handles, private to agent/archive/.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <memory>

namespace clawback::agent::internal {

struct ArchiveReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct ArchiveEntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
struct LinkResolverFree {
  void operator()(archive_entry_linkresolver* r) const { archive_entry_linkresolver_free(r); }
};

// archive_read_new() / archive_read_disk_new() handles.
using ArchiveReader = std::unique_ptr<archive, ArchiveReadFree>;
// archive_write_new() / archive_write_disk_new() handles.
using ArchiveWriter = std::unique_ptr<archive, ArchiveWriteFree>;
using ArchiveEntry = std::unique_ptr<archive_entry, ArchiveEntryFree>;
using LinkResolver = std::unique_ptr<archive_entry_linkresolver, LinkResolverFree>;

// archive_error_string() that never returns null.
inline const char* ArchiveError(archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unknown libarchive error";
}

}  // namespace clawback::agent::internal
