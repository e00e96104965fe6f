// OwnerDb: user and group names of one filesystem root, read from
// <root>/etc/passwd and <root>/etc/group (never through NSS/getpwnam, so the
// static agent needs no NSS modules and a restore maps names the way the
// *target* container does).
//
// Used for archive_read_disk uname/gname lookups on backup and for
// archive_write_disk user/group lookups on restore. Missing or unreadable files
// give an empty database (owners then travel as numeric ids only). The first
// entry for a name or id wins, as with getpwnam/getpwuid. Lines that are
// comments, NIS "+"/"-" entries or malformed are ignored.
//
// Immutable after construction: concurrent lookups are safe. Returned C
// strings stay valid as long as the OwnerDb lives (and is not moved from).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace clawback::agent {

class OwnerDb {
 public:
  OwnerDb() = default;

  // Reads <root>/etc/passwd and <root>/etc/group without following symlinks in
  // "etc" or the file names (a container must not make the agent read host
  // files). Files over 16 MiB are ignored.
  static OwnerDb Load(const std::string& root);

  // Parses file contents (the format of passwd(5) and group(5)).
  static OwnerDb Parse(std::string_view passwd, std::string_view group);

  // nullptr when the id has no entry.
  const char* UserName(int64_t uid) const;
  const char* GroupName(int64_t gid) const;
  // nullopt when the name has no entry.
  std::optional<int64_t> UserId(std::string_view name) const;
  std::optional<int64_t> GroupId(std::string_view name) const;

  size_t user_count() const { return uid_to_name_.size(); }
  size_t group_count() const { return gid_to_name_.size(); }

 private:
  std::unordered_map<int64_t, std::string> uid_to_name_;
  std::unordered_map<std::string, int64_t> name_to_uid_;
  std::unordered_map<int64_t, std::string> gid_to_name_;
  std::unordered_map<std::string, int64_t> name_to_gid_;
};

}  // namespace clawback::agent
