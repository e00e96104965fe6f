// Fuzz target for the agent's restore entry filter (agent/archive/entry_filter.h):
// the decision whether an archive entry may be written, and where.
//
// Input layout (printable, so seeds are readable files):
//   byte 0   entry type: 'f' regular, 'd' directory, 'l' symlink, 'c' char dev,
//            'b' block dev, 'p' FIFO, 's' socket, 'h' hard link, other unknown
//   byte 1   '1' (or any odd byte): allow_devices
//   byte 2   restore root length class (byte % 8 -> 1, 5, 17, 64, 200, 1000, 3000, 4000)
//   rest     the entry name; for a hard link, "name\0target"
//
// Properties of an allowed entry:
//   - its path is the normalized container path ArchiveNameToPath gives, with
//     no "." / ".." / empty component and outside the excluded system dirs;
//   - joined to a restore root of the given length it resolves INSIDE that
//     root (lexically: the root is a prefix at a component boundary and no
//     component can climb out) and fits in PATH_MAX;
//   - sockets and unknown types are never allowed, devices and FIFOs only with
//     allow_devices, the root itself only as a directory; a hard link's target
//     obeys the same rules and is never the root.
// A refused entry always carries a reason. PrintableEntryName never lets a
// control byte through and stays bounded.
#include <climits>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/archive/entry_filter.h"
#include "shared/path_rules.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using clawback::agent::EntryType;
using clawback::fuzz::Show;

EntryType TypeOf(char c) {
  switch (c) {
    case 'f': return EntryType::kRegular;
    case 'd': return EntryType::kDirectory;
    case 'l': return EntryType::kSymlink;
    case 'c': return EntryType::kCharDevice;
    case 'b': return EntryType::kBlockDevice;
    case 'p': return EntryType::kFifo;
    case 's': return EntryType::kSocket;
    default: return EntryType::kUnknown;
  }
}

bool Clean(std::string_view p) {
  if (p == "/") return true;
  if (p.empty() || p.front() != '/' || p.back() == '/') return false;
  size_t i = 1;
  while (i <= p.size()) {
    size_t end = p.find('/', i);
    if (end == std::string_view::npos) end = p.size();
    std::string_view c = p.substr(i, end - i);
    if (c.empty() || c == "." || c == ".." || c.find('\0') != std::string_view::npos) return false;
    i = end + 1;
  }
  return true;
}

// The joined host path lies inside `root`: root itself, or root + "/" + a
// clean relative path.
void CheckInsideRoot(const std::string& root, const std::string& container_path, std::string_view name) {
  const std::string joined = clawback::agent::JoinRoot(root, container_path);
  FUZZ_CHECK(Clean(joined), "joined path not clean: " + Show(joined) + " for " + Show(name));
  if (root != "/") {
    FUZZ_CHECK(joined == root || (joined.size() > root.size() && joined.compare(0, root.size(), root) == 0 &&
                                  joined[root.size()] == '/'),
               "escapes the restore root: " + Show(joined) + " for " + Show(name));
  }
  FUZZ_CHECK(joined.size() + 1 < PATH_MAX, "joined path exceeds PATH_MAX for " + Show(name));
  FUZZ_CHECK(!clawback::IsExcludedSystemPath(container_path), "excluded system path allowed: " + Show(name));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  static constexpr size_t kRootLengths[8] = {1, 5, 17, 64, 200, 1000, 3000, 4000};

  clawback::agent::EntryCandidate c;
  c.is_hardlink = in[0] == 'h';
  c.type = TypeOf(in[0]);
  c.allow_devices = (static_cast<unsigned char>(in[1]) & 1) != 0;
  c.root_length = kRootLengths[static_cast<unsigned char>(in[2]) % 8];
  std::string_view rest = in.substr(3);
  if (c.is_hardlink) {
    size_t nul = rest.find('\0');
    c.name = rest.substr(0, nul);
    c.hardlink_name = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
  } else {
    c.name = rest;
  }
  // A realpath'd root of that length: "/" or "/rrr...".
  const std::string root = c.root_length == 1 ? "/" : "/" + std::string(c.root_length - 1, 'r');

  clawback::agent::EntryDecision d = clawback::agent::DecideEntry(c);
  auto model_path = clawback::ArchiveNameToPath(c.name);
  if (!d.allowed) {
    FUZZ_CHECK(!d.reason.empty(), "refused without a reason: " + Show(c.name));
  } else {
    FUZZ_CHECK(d.reason.empty(), "allowed with a reason");
    FUZZ_CHECK(model_path.ok() && *model_path == d.path,
               "path " + Show(d.path) + " is not ArchiveNameToPath(" + Show(c.name) + ")");
    FUZZ_CHECK(Clean(d.path), "unclean path " + Show(d.path));
    CheckInsideRoot(root, d.path, c.name);
    if (c.is_hardlink) {
      FUZZ_CHECK(d.path != "/" && d.hardlink_path != "/", "hard link of or to the root");
      FUZZ_CHECK(Clean(d.hardlink_path), "unclean link target " + Show(d.hardlink_path));
      auto model_target = clawback::ArchiveNameToPath(c.hardlink_name);
      FUZZ_CHECK(model_target.ok() && *model_target == d.hardlink_path, "link target " + Show(c.hardlink_name));
      CheckInsideRoot(root, d.hardlink_path, c.hardlink_name);
    } else {
      FUZZ_CHECK(c.type != EntryType::kSocket && c.type != EntryType::kUnknown, "socket/unknown allowed");
      bool special = c.type == EntryType::kCharDevice || c.type == EntryType::kBlockDevice || c.type == EntryType::kFifo;
      FUZZ_CHECK(!special || c.allow_devices, "device/FIFO allowed without allow_devices");
      FUZZ_CHECK(d.path != "/" || c.type == EntryType::kDirectory, "root restored as a non-directory");
    }
  }
  // A name ArchiveNameToPath refuses is always refused (and vice versa the
  // filter only adds refusals on top of the path rules).
  if (!model_path.ok()) FUZZ_CHECK(!d.allowed, "refused name allowed: " + Show(c.name));

  std::string printable = clawback::agent::PrintableEntryName(c.name);
  FUZZ_CHECK(printable.size() <= 1030, "printable name too long");
  for (unsigned char ch : printable) FUZZ_CHECK(ch >= 0x20 && ch != 0x7f, "control byte in printable name");
  return 0;
}
