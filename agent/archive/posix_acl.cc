#include "agent/archive/posix_acl.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace clawback::agent {
namespace {

// The kernel's ACL xattr layout (include/uapi/linux/posix_acl_xattr.h):
// a little-endian u32 version 2, then {u16 tag, u16 perm, u32 id} entries.
constexpr uint32_t kXattrVersion = 2;
constexpr uint32_t kUndefinedId = 0xffffffffu;
enum KernelTag : uint16_t { kUserObj = 0x01, kUser = 0x02, kGroupObj = 0x04, kGroup = 0x08, kMask = 0x10, kOther = 0x20 };

struct Entry {
  uint16_t tag;
  uint16_t perm;
  uint32_t id;
};

bool KernelTagFor(int archive_tag, uint16_t* tag) {
  switch (archive_tag) {
    case ARCHIVE_ENTRY_ACL_USER_OBJ: *tag = kUserObj; return true;
    case ARCHIVE_ENTRY_ACL_USER: *tag = kUser; return true;
    case ARCHIVE_ENTRY_ACL_GROUP_OBJ: *tag = kGroupObj; return true;
    case ARCHIVE_ENTRY_ACL_GROUP: *tag = kGroup; return true;
    case ARCHIVE_ENTRY_ACL_MASK: *tag = kMask; return true;
    case ARCHIVE_ENTRY_ACL_OTHER: *tag = kOther; return true;
    default: return false;
  }
}

void PutLe(std::string& out, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::string Encode(archive_entry* entry, int type) {
  if (archive_entry_acl_reset(entry, type) <= 0) return "";
  std::vector<Entry> entries;
  int entry_type, permset, tag, id;
  const char* name;
  while (archive_entry_acl_next(entry, type, &entry_type, &permset, &tag, &id, &name) == ARCHIVE_OK) {
    Entry e{};
    if (!KernelTagFor(tag, &e.tag)) continue;  // NFSv4 entries have no POSIX form
    e.perm = static_cast<uint16_t>(permset & (ARCHIVE_ENTRY_ACL_READ | ARCHIVE_ENTRY_ACL_WRITE |
                                              ARCHIVE_ENTRY_ACL_EXECUTE));
    e.id = (e.tag == kUser || e.tag == kGroup) ? static_cast<uint32_t>(id) : kUndefinedId;
    entries.push_back(e);
  }
  // An access ACL of only the three mode entries is no ACL at all.
  const bool extended = std::any_of(entries.begin(), entries.end(),
                                    [](const Entry& e) { return e.tag == kUser || e.tag == kGroup || e.tag == kMask; });
  if (entries.empty() || (type == ARCHIVE_ENTRY_ACL_TYPE_ACCESS && !extended)) return "";
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.tag != b.tag ? a.tag < b.tag : a.id < b.id; });
  std::string out;
  PutLe(out, kXattrVersion, 4);
  for (const Entry& e : entries) {
    PutLe(out, e.tag, 2);
    PutLe(out, e.perm, 2);
    PutLe(out, e.id, 4);
  }
  return out;
}

}  // namespace

std::string AccessAclXattr(archive_entry* entry) { return Encode(entry, ARCHIVE_ENTRY_ACL_TYPE_ACCESS); }

std::string DefaultAclXattr(archive_entry* entry) { return Encode(entry, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT); }

}  // namespace clawback::agent
