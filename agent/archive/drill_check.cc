#include "agent/archive/drill_check.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <memory>

#include "shared/archive_index.h"

namespace clawback::agent {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kZstdMagic = 0xFD2FB528u;
constexpr uint32_t kIndexMagic = 0x184D2A5Bu;
constexpr uint64_t kMaxIndexPayload = 256ull * 1024 * 1024;
constexpr char kSqliteHeader[16] = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f', 'o', 'r', 'm', 'a', 't', ' ', '3', '\0'};

uint32_t Le(const std::string& b, size_t n) {
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint32_t(static_cast<unsigned char>(b[i])) << (8 * i);
  return v;
}

struct MdFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};

Result<std::string> Sha256OfFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Status::IoError("cannot open: " + std::string(std::strerror(errno)));
  std::unique_ptr<EVP_MD_CTX, MdFree> ctx(EVP_MD_CTX_new());
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 20);
  while (true) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return Status::IoError("cannot read: " + std::string(std::strerror(errno)));
    }
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

bool StartsWithSqliteHeader(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return false;
  char head[16];
  ssize_t n = ::read(fd, head, sizeof head);
  ::close(fd);
  return n == 16 && std::memcmp(head, kSqliteHeader, 16) == 0;
}

// "ok", or what integrity_check (or opening) reported.
std::string IntegrityCheck(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<sqlite3, DbClose> db(raw);
  if (rc != SQLITE_OK) return std::string("cannot open: ") + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc));
  sqlite3_busy_timeout(db.get(), 2000);
  sqlite3_stmt* stmt = nullptr;
  rc = sqlite3_prepare_v2(db.get(), "PRAGMA integrity_check(20)", -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return std::string("integrity_check failed to run: ") + sqlite3_errmsg(db.get());
  std::string result;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    if (!result.empty()) result += "; ";
    result += text ? reinterpret_cast<const char*>(text) : "";
  }
  if (rc != SQLITE_DONE) {
    std::string error = sqlite3_errmsg(db.get());
    sqlite3_finalize(stmt);
    return "integrity_check failed: " + error;
  }
  sqlite3_finalize(stmt);
  return result.empty() ? "integrity_check returned nothing" : result;
}

struct IndexFile {
  uint64_t size = 0;
  std::string sha256;
};

// The `file` entries of the index, by path (shared/archive_index.h reads
// and checks the payload).
Result<std::map<std::string, IndexFile>> ParseIndex(const std::string& payload) {
  std::map<std::string, IndexFile> files;
  auto end = archive_index::ReadIndexPayload(payload, [&](archive_index::IndexEntry&& e) -> Status {
    if (e.type == archive_index::EntryType::kFile) files[e.path] = IndexFile{e.size, std::move(e.sha256)};
    return Status::Ok();
  });
  if (!end.ok()) return Status::Corruption("the archive index is unreadable: " + end.status().message());
  return files;
}

}  // namespace

Result<size_t> IndexCapture::Read(void* buf, size_t capacity) {
  auto n = inner_.Read(buf, capacity);
  if (n.ok() && *n > 0 && !lost_) Scan(static_cast<const unsigned char*>(buf), *n);
  return n;
}

void IndexCapture::Scan(const unsigned char* p, size_t n) {
  size_t i = 0;
  while (i < n && !lost_) {
    if (skip_ > 0) {
      const size_t take = static_cast<size_t>(std::min<uint64_t>(skip_, n - i));
      if (capturing_) index_->append(reinterpret_cast<const char*>(p + i), take);
      i += take;
      skip_ -= take;
      if (skip_ > 0) return;
      if (want_ == Want::kMagic) capturing_ = false;
      continue;
    }
    header_.push_back(static_cast<char>(p[i++]));
    if (header_.size() < header_need_) continue;
    const std::string h = std::move(header_);
    header_.clear();
    switch (want_) {
      case Want::kMagic: {
        const uint32_t magic = Le(h, 4);
        if ((magic & 0xFFFFFFF0u) == 0x184D2A50u) {
          capturing_ = magic == kIndexMagic;
          want_ = Want::kSkippableSize;
          header_need_ = 4;
        } else if (magic == kZstdMagic) {
          want_ = Want::kFrameHeaderDescriptor;
          header_need_ = 1;
        } else {
          lost_ = true;
        }
        break;
      }
      case Want::kSkippableSize: {
        skip_ = Le(h, 4);
        if (capturing_) {
          if (skip_ > kMaxIndexPayload) {
            lost_ = true;
            break;
          }
          index_.emplace();
        }
        want_ = Want::kMagic;
        header_need_ = 4;
        if (skip_ == 0) capturing_ = false;
        break;
      }
      case Want::kFrameHeaderDescriptor: {
        const unsigned fhd = static_cast<unsigned char>(h[0]);
        const unsigned fcs = fhd >> 6, single = (fhd >> 5) & 1, did = fhd & 3;
        checksum_ = ((fhd >> 2) & 1) != 0;
        static const size_t kDid[] = {0, 1, 2, 4};
        const size_t fcs_size = fcs == 0 ? (single ? 1 : 0) : (fcs == 1 ? 2 : fcs == 2 ? 4 : 8);
        const size_t rest = (single ? 0 : 1) + kDid[did] + fcs_size;
        if (rest == 0) {
          want_ = Want::kBlockHeader;
          header_need_ = 3;
        } else {
          want_ = Want::kFrameHeaderRest;
          header_need_ = rest;
        }
        break;
      }
      case Want::kFrameHeaderRest:
        want_ = Want::kBlockHeader;
        header_need_ = 3;
        break;
      case Want::kBlockHeader: {
        const uint32_t bh = Le(h, 3);
        const bool last = (bh & 1) != 0;
        const unsigned type = (bh >> 1) & 3;
        if (type == 3) {
          lost_ = true;
          break;
        }
        skip_ = type == 1 ? 1 : (bh >> 3);
        capturing_ = false;
        if (!last) {
          want_ = Want::kBlockHeader;
          header_need_ = 3;
        } else if (checksum_) {
          want_ = Want::kChecksum;
          header_need_ = 4;
        } else {
          want_ = Want::kMagic;
          header_need_ = 4;
        }
        break;
      }
      case Want::kChecksum:
        want_ = Want::kMagic;
        header_need_ = 4;
        break;
    }
  }
}

Result<DrillTreeReport> CheckDrillTree(const std::string& scratch, const std::optional<std::string>& index_payload,
                                       const std::set<std::string>& skipped) {
  DrillTreeReport report;
  // Regular files of the extracted tree, found without following symlinks.
  std::map<std::string, std::string> regular;  // entry name -> path
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(scratch, fs::directory_options::none, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) {
      regular[fs::relative(it->path(), scratch, ec).string()] = it->path().string();
    }
  }
  if (ec) return Status::IoError("cannot walk the drill's scratch tree: " + ec.message());

  if (index_payload) {
    auto index = ParseIndex(*index_payload);
    if (!index.ok()) {
      report.mismatches.push_back({"(index)", index.status().message()});
    } else {
      report.index = true;
      for (const auto& [path, want] : *index) {
        if (skipped.count(path)) continue;
        auto found = regular.find(path);
        if (found == regular.end()) {
          report.mismatches.push_back({path, "listed in the index but missing after extraction"});
          continue;
        }
        ++report.files_checked;
        auto size = fs::file_size(found->second, ec);
        if (ec || size != want.size) {
          report.mismatches.push_back({path, "size " + std::to_string(size) + " differs from the index's " +
                                                 std::to_string(want.size)});
          continue;
        }
        if (want.sha256.empty()) continue;
        auto sha = Sha256OfFile(found->second);
        if (!sha.ok()) {
          report.mismatches.push_back({path, sha.status().message()});
        } else if (*sha != want.sha256) {
          report.mismatches.push_back({path, "sha256 " + *sha + " differs from the index's " + want.sha256});
        }
      }
    }
  }

  for (const auto& [name, path] : regular) {
    if (!StartsWithSqliteHeader(path)) continue;
    ++report.databases_checked;
    std::string result = IntegrityCheck(path);
    if (result != "ok") report.mismatches.push_back({name, "SQLite integrity_check: " + result});
  }
  return report;
}

}  // namespace clawback::agent
