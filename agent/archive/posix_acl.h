// POSIX.1e ACLs of an archive entry in the kernel's xattr form
// ("system.posix_acl_access" / "system.posix_acl_default" values), so a
// restore can set them with fsetxattr on a file descriptor it already holds,
// without libacl and without a path.
//
// The entries are the ones libarchive reports for the entry (for the access
// ACL that includes the owner/group/other entries derived from the mode),
// sorted the way the kernel requires (by tag, then by id). Pure; thread-safe.
#pragma once

#include <string>

struct archive_entry;

namespace clawback::agent {

// The xattr value for the entry's access ACL; empty when the entry has no
// extended access ACL (its mode says everything).
std::string AccessAclXattr(archive_entry* entry);

// The xattr value for the entry's default ACL (directories); empty when none.
std::string DefaultAclXattr(archive_entry* entry);

}  // namespace clawback::agent
