#include "archive_test_util.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <stdexcept>

namespace clawback::agent::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/clawback-archive-test.XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = buf.data();
}

TempDir::~TempDir() { RemoveTree(path_); }

void RemoveTree(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    chmod(path.c_str(), 0700);
    if (DIR* d = opendir(path.c_str())) {
      std::vector<std::string> names;
      while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(n);
      }
      closedir(d);
      for (const auto& n : names) RemoveTree(path + "/" + n);
    }
    rmdir(path.c_str());
  } else {
    unlink(path.c_str());
  }
}

void MakeDirs(const std::string& path, mode_t mode) {
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos == path.size() || path[pos] == '/') {
      std::string prefix = path.substr(0, pos);
      if (mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) throw std::runtime_error("mkdir " + prefix);
    }
  }
}

void WriteFile(const std::string& path, const std::string& content, mode_t mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = write(fd, content.data() + off, content.size() - off);
    if (n <= 0) throw std::runtime_error("write " + path);
    off += static_cast<size_t>(n);
  }
  close(fd);
  chmod(path.c_str(), mode);
}

std::string ReadFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

std::string RandomBytes(size_t size, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string out(size, '\0');
  for (size_t i = 0; i < size; i += 8) {
    uint64_t v = rng();
    std::memcpy(&out[i], &v, std::min<size_t>(8, size - i));
  }
  return out;
}

std::string SemiCompressibleBytes(size_t size, unsigned seed) {
  static const char* kWords[] = {"agent ", "backup ", "INFO ", "request ", "completed ", "2024-05-01T12:00:00Z ",
                                 "user=claworc ", "path=/home/claworc ", "bytes=", "ok\n", "latency_ms=", "error "};
  std::mt19937 rng(seed);
  std::string out;
  out.reserve(size + 32);
  while (out.size() < size) {
    out += kWords[rng() % 12];
    if (rng() % 4 == 0) out += std::to_string(rng() % 100000);
  }
  out.resize(size);
  return out;
}

Status StringSink::Write(char* d, size_t size) {
  if (on_write) on_write(writes);
  ++writes;
  data.append(static_cast<const char*>(d), size);
  return Status::Ok();
}

Status FailingSink::Write(char*, size_t) {
  if (writes_++ >= fail_after_) return Status::Unavailable("controller went away");
  return Status::Ok();
}

Result<size_t> StringSource::Read(void* buf, size_t capacity) {
  if (pos_ >= fail_at_) return error_;
  size_t n = std::min({capacity, chunk_, data_.size() - pos_});
  if (fail_at_ != static_cast<size_t>(-1)) n = std::min(n, fail_at_ - pos_);
  std::memcpy(buf, data_.data() + pos_, n);
  pos_ += n;
  return n;
}

namespace {

void SnapshotInto(const std::string& top, const std::string& rel, TreeSnapshot* out,
                  std::map<std::pair<dev_t, ino_t>, std::string>* inodes) {
  std::string path = rel.empty() ? top : top + "/" + rel;
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) throw std::runtime_error("lstat " + path);
  EntrySnapshot e;
  e.mode = st.st_mode & 07777;
  e.uid = st.st_uid;
  e.gid = st.st_gid;
  e.mtime_sec = st.st_mtim.tv_sec;
  e.mtime_nsec = st.st_mtim.tv_nsec;
  e.blocks = st.st_blocks;
  if (S_ISREG(st.st_mode)) {
    e.type = 'f';
    e.size = st.st_size;
    e.content = ReadFile(path);
    if (st.st_nlink > 1) {
      auto [it, inserted] = inodes->emplace(std::make_pair(st.st_dev, st.st_ino), rel);
      if (!inserted) e.hardlink_to = it->second;
    }
  } else if (S_ISDIR(st.st_mode)) {
    e.type = 'd';
  } else if (S_ISLNK(st.st_mode)) {
    e.type = 'l';
    char buf[4096];
    ssize_t n = readlink(path.c_str(), buf, sizeof buf);
    e.link_target.assign(buf, n > 0 ? static_cast<size_t>(n) : 0);
    e.mode = 0;  // symlink permission bits are meaningless on Linux
  } else if (S_ISCHR(st.st_mode)) {
    e.type = 'c';
  } else if (S_ISBLK(st.st_mode)) {
    e.type = 'b';
  } else if (S_ISFIFO(st.st_mode)) {
    e.type = 'p';
  } else {
    e.type = 's';
  }
  if (!S_ISLNK(st.st_mode)) {
    char names[4096];
    ssize_t n = llistxattr(path.c_str(), names, sizeof names);
    for (ssize_t i = 0; i < n;) {
      std::string name(names + i);
      i += static_cast<ssize_t>(name.size()) + 1;
      if (name.rfind("user.", 0) != 0) continue;
      char value[4096];
      ssize_t v = lgetxattr(path.c_str(), name.c_str(), value, sizeof value);
      e.xattrs[name] = std::string(value, v > 0 ? static_cast<size_t>(v) : 0);
    }
  }
  (*out)[rel] = e;
  if (S_ISDIR(st.st_mode)) {
    std::vector<std::string> names;
    if (DIR* d = opendir(path.c_str())) {
      while (dirent* de = readdir(d)) {
        std::string n = de->d_name;
        if (n != "." && n != "..") names.push_back(n);
      }
      closedir(d);
    }
    std::sort(names.begin(), names.end());
    for (const auto& n : names) SnapshotInto(top, rel.empty() ? n : rel + "/" + n, out, inodes);
  }
}

}  // namespace

TreeSnapshot Snapshot(const std::string& dir) {
  TreeSnapshot out;
  std::map<std::pair<dev_t, ino_t>, std::string> inodes;
  SnapshotInto(dir, "", &out, &inodes);
  return out;
}

std::string DiffTrees(const TreeSnapshot& expected, const TreeSnapshot& actual, bool check_xattrs) {
  std::ostringstream diff;
  for (const auto& [path, e] : expected) {
    auto it = actual.find(path);
    if (it == actual.end()) {
      diff << "missing: '" << path << "'\n";
      continue;
    }
    const EntrySnapshot& a = it->second;
    auto field = [&](const char* what, auto x, auto y) {
      if (x != y) diff << path << ": " << what << " expected " << x << " got " << y << "\n";
    };
    field("type", e.type, a.type);
    field("mode", e.mode, a.mode);
    field("uid", e.uid, a.uid);
    field("gid", e.gid, a.gid);
    field("size", e.size, a.size);
    if (e.content != a.content) diff << path << ": content differs\n";
    field("link target", e.link_target, a.link_target);
    field("hard link", e.hardlink_to, a.hardlink_to);
    if (!path.empty()) {  // the top directory's mtime belongs to whoever made it
      field("mtime", e.mtime_sec, a.mtime_sec);
      if (e.type != 'l') field("mtime ns", e.mtime_nsec, a.mtime_nsec);
    }
    if (check_xattrs && e.xattrs != a.xattrs) diff << path << ": xattrs differ\n";
  }
  for (const auto& [path, a] : actual)
    if (!expected.count(path)) diff << "unexpected: '" << path << "'\n";
  return diff.str();
}

int RunProcess(const std::vector<std::string>& argv, std::string* output) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipefd[1], 1);
    dup2(pipefd[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(pipefd[1]);
  char buf[4096];
  for (;;) {
    ssize_t n = read(pipefd[0], buf, sizeof buf);
    if (n <= 0) break;
    if (output) output->append(buf, static_cast<size_t>(n));
  }
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool XattrsSupported(const std::string& dir) {
  std::string probe = dir + "/.xattr-probe";
  WriteFile(probe, "x");
  bool ok = setxattr(probe.c_str(), "user.probe", "1", 1, 0) == 0;
  unlink(probe.c_str());
  return ok;
}

std::string ZstdCompress(const std::string& raw) {
  // Like the agent's own archives: level 3 with the frame checksum, so a
  // flipped byte anywhere (even in the tar padding) is detectable.
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  size_t n = ZSTD_compress2(cctx, out.data(), out.size(), raw.data(), raw.size());
  ZSTD_freeCCtx(cctx);
  if (ZSTD_isError(n)) throw std::runtime_error("ZSTD_compress2 failed");
  out.resize(n);
  return out;
}

namespace {
la_ssize_t AppendToString(archive*, void* s, const void* d, size_t n) {
  static_cast<std::string*>(s)->append(static_cast<const char*>(d), n);
  return static_cast<la_ssize_t>(n);
}
}  // namespace

std::string BuildTarZstd(const std::vector<TarSpec>& entries) {
  std::string raw;
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_per_block(a, 0);
  archive_write_open(a, &raw, nullptr, AppendToString, nullptr);
  for (const TarSpec& spec : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_copy_pathname(e, spec.name.c_str());
    archive_entry_set_perm(e, spec.mode);
    archive_entry_set_mtime(e, 1700000000, 0);
    long long size = 0;
    switch (spec.type) {
      case 'f': archive_entry_set_filetype(e, AE_IFREG); size = static_cast<long long>(spec.content.size()); break;
      case 'd': archive_entry_set_filetype(e, AE_IFDIR); break;
      case 'l': archive_entry_set_filetype(e, AE_IFLNK); archive_entry_copy_symlink(e, spec.link.c_str()); break;
      case 'h':
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_copy_hardlink(e, spec.link.c_str());
        size = static_cast<long long>(spec.content.size());
        break;
      case 'c': archive_entry_set_filetype(e, AE_IFCHR); archive_entry_set_rdev(e, makedev(1, 3)); break;
      case 'b': archive_entry_set_filetype(e, AE_IFBLK); archive_entry_set_rdev(e, makedev(7, 0)); break;
      case 'p': archive_entry_set_filetype(e, AE_IFIFO); break;
      case 's': archive_entry_set_filetype(e, AE_IFSOCK); break;
    }
    if (spec.size_override >= 0) size = spec.size_override;
    archive_entry_set_size(e, size);
    if (archive_write_header(a, e) < ARCHIVE_WARN)
      throw std::runtime_error(std::string("tar header: ") + archive_error_string(a));
    if (!spec.content.empty()) archive_write_data(a, spec.content.data(), spec.content.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return ZstdCompress(raw);
}

std::string ResolutionName(Resolution resolution) {
  switch (resolution) {
    case Resolution::kOpenat2: return "Openat2";
    case Resolution::kComponentWalk: return "ComponentWalk";
    case Resolution::kAuto: return "Auto";
  }
  return "Unknown";
}

}  // namespace clawback::agent::testing
