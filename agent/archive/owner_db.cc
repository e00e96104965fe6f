#include "agent/archive/owner_db.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>

namespace clawback::agent {
namespace {

constexpr size_t kMaxDbFileBytes = 16 << 20;

// Reads <dirfd>/<name> if it is a regular file (not a symlink) of sane size.
std::string ReadSmallFileAt(int dirfd, const char* name) {
  int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return {};
  std::string out;
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && static_cast<size_t>(st.st_size) <= kMaxDbFileBytes) {
    char buf[16384];
    for (;;) {
      ssize_t n = read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
      if (out.size() > kMaxDbFileBytes) {
        out.clear();
        break;
      }
    }
  }
  close(fd);
  return out;
}

// Calls fn(name, id) for every well-formed "name:password:id:..." line.
template <typename Fn>
void ForEachNameId(std::string_view text, Fn fn) {
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (line.empty() || line.front() == '#' || line.front() == '+' || line.front() == '-') continue;
    size_t c1 = line.find(':');
    if (c1 == 0 || c1 == std::string_view::npos) continue;
    size_t c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    size_t c3 = line.find(':', c2 + 1);
    std::string_view id_text = line.substr(c2 + 1, c3 == std::string_view::npos ? std::string_view::npos : c3 - c2 - 1);
    if (id_text.empty() || id_text.size() > 10) continue;
    uint64_t id = 0;
    auto [ptr, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
    if (ec != std::errc() || ptr != id_text.data() + id_text.size() || id > 0xfffffffeULL) continue;
    fn(line.substr(0, c1), static_cast<int64_t>(id));
  }
}

}  // namespace

OwnerDb OwnerDb::Load(const std::string& root) {
  std::string passwd, group;
  int root_fd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd >= 0) {
    int etc_fd = openat(root_fd, "etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (etc_fd >= 0) {
      passwd = ReadSmallFileAt(etc_fd, "passwd");
      group = ReadSmallFileAt(etc_fd, "group");
      close(etc_fd);
    }
    close(root_fd);
  }
  return Parse(passwd, group);
}

OwnerDb OwnerDb::Parse(std::string_view passwd, std::string_view group) {
  OwnerDb db;
  ForEachNameId(passwd, [&](std::string_view name, int64_t id) {
    db.uid_to_name_.try_emplace(id, name);
    db.name_to_uid_.try_emplace(std::string(name), id);
  });
  ForEachNameId(group, [&](std::string_view name, int64_t id) {
    db.gid_to_name_.try_emplace(id, name);
    db.name_to_gid_.try_emplace(std::string(name), id);
  });
  return db;
}

const char* OwnerDb::UserName(int64_t uid) const {
  auto it = uid_to_name_.find(uid);
  return it == uid_to_name_.end() ? nullptr : it->second.c_str();
}

const char* OwnerDb::GroupName(int64_t gid) const {
  auto it = gid_to_name_.find(gid);
  return it == gid_to_name_.end() ? nullptr : it->second.c_str();
}

std::optional<int64_t> OwnerDb::UserId(std::string_view name) const {
  auto it = name_to_uid_.find(std::string(name));
  if (it == name_to_uid_.end()) return std::nullopt;
  return it->second;
}

std::optional<int64_t> OwnerDb::GroupId(std::string_view name) const {
  auto it = name_to_gid_.find(std::string(name));
  if (it == name_to_gid_.end()) return std::nullopt;
  return it->second;
}

}  // namespace clawback::agent
