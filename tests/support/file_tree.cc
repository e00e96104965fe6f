#include "tests/support/file_tree.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <vector>

#include <openssl/evp.h>

namespace clawback::testing {
namespace fs = std::filesystem;

namespace {

void WriteFile(const fs::path& path, const std::string& data, mode_t mode = 0644) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
  ::chmod(path.c_str(), mode);
}

std::string TextLike(std::mt19937_64& rng, size_t size) {
  static const char* kWords[] = {"module", "exports", "require", "function", "return", "const", "=>", "{",
                                 "}",      "\n",      "import",  "default",  "async",  "await", "0.1.3", ";"};
  std::string out;
  out.reserve(size + 16);
  while (out.size() < size) {
    out += kWords[rng() % 16];
    out += ' ';
  }
  out.resize(size);
  return out;
}

struct Entry {
  std::string type;
  unsigned mode = 0;
  uintmax_t size = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string detail;  // content hash or link target
};

std::map<std::string, Entry> Scan(const std::string& root) {
  std::map<std::string, Entry> out;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::none);
       it != fs::recursive_directory_iterator(); ++it) {
    const fs::path& p = it->path();
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) continue;
    Entry e;
    e.mode = st.st_mode & 07777;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    if (S_ISLNK(st.st_mode)) {
      e.type = "symlink";
      e.detail = fs::read_symlink(p).string();
      e.mode = 0;
    } else if (S_ISDIR(st.st_mode)) {
      e.type = "dir";
    } else if (S_ISREG(st.st_mode)) {
      e.type = "file";
      e.size = static_cast<uintmax_t>(st.st_size);
      e.detail = Sha256OfFile(p.string());
    } else {
      e.type = "other";
    }
    out[fs::relative(p, root).string()] = e;
  }
  return out;
}

}  // namespace

void GenerateTree(const std::string& dir, const TreeSpec& spec) {
  std::mt19937_64 rng(42);
  fs::path root(dir);
  fs::create_directories(root);
  std::vector<fs::path> dirs;
  for (int i = 0; i < spec.dirs; ++i) {
    fs::path d = root / ("pkg" + std::to_string(i)) / (i % 2 ? "lib" : "src");
    fs::create_directories(d);
    dirs.push_back(d);
  }
  if (dirs.empty()) dirs.push_back(root);
  for (int i = 0; i < spec.small_files; ++i) {
    size_t size = rng() % 8192;
    WriteFile(dirs[static_cast<size_t>(i) % dirs.size()] / ("file" + std::to_string(i) + ".js"), TextLike(rng, size));
  }
  if (spec.big_file_bytes > 0) {
    std::ostringstream log;
    uint64_t n = 0;
    while (static_cast<uint64_t>(log.tellp()) < spec.big_file_bytes) {
      log << "2024-05-0" << (n % 9) + 1 << "T12:00:" << (n % 60) << "Z level=info req=" << rng() % 100000
          << " msg=\"handled request\" took_ms=" << rng() % 500 << "\n";
      ++n;
    }
    WriteFile(root / "logs" / "app.log", log.str().substr(0, spec.big_file_bytes));
  }
  if (spec.random_file_bytes > 0) {
    fs::create_directories(root / "blobs");
    std::ofstream out(root / "blobs" / "random.bin", std::ios::binary);
    std::vector<uint64_t> buf(8192);
    for (uint64_t written = 0; written < spec.random_file_bytes; written += buf.size() * 8) {
      for (auto& v : buf) v = rng();
      size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size() * 8, spec.random_file_bytes - written));
      out.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(n));
    }
  }
  if (spec.special) {
    WriteFile(root / ".config" / "secret.json", "{\"token\":\"x\"}\n", 0600);
    WriteFile(root / "bin" / "tool.sh", "#!/bin/sh\necho hi\n", 0755);
    fs::create_directories(root / "empty" / "dir");
    ::chmod((root / "empty").c_str(), 0700);
    fs::create_symlink("../bin/tool.sh", root / ".config" / "tool-link");
    fs::create_symlink("/nonexistent/target", root / "dangling");
    fs::create_hard_link(root / "bin" / "tool.sh", root / "bin" / "tool-hardlink.sh");
    WriteFile(root / "caf\xc3\xa9 notes.txt", "non-ascii name\n");
  }
}

std::string CompareTrees(const std::string& a, const std::string& b) {
  auto ta = Scan(a), tb = Scan(b);
  std::ostringstream diff;
  int shown = 0;
  for (const auto& [path, ea] : ta) {
    if (shown > 10) break;
    auto it = tb.find(path);
    if (it == tb.end()) {
      diff << "missing in " << b << ": " << path << "\n";
      ++shown;
      continue;
    }
    const Entry& eb = it->second;
    if (ea.type != eb.type || ea.mode != eb.mode || ea.size != eb.size || ea.detail != eb.detail ||
        ea.uid != eb.uid || ea.gid != eb.gid) {
      diff << "differs: " << path << " (" << ea.type << " " << std::oct << ea.mode << std::dec << " " << ea.size
           << " " << ea.uid << ":" << ea.gid << " vs " << eb.type << " " << std::oct << eb.mode << std::dec << " "
           << eb.size << " " << eb.uid << ":" << eb.gid << ")\n";
      ++shown;
    }
  }
  for (const auto& [path, eb] : tb) {
    if (shown > 10) break;
    if (!ta.count(path)) {
      diff << "extra in " << b << ": " << path << "\n";
      ++shown;
    }
  }
  return diff.str();
}

std::string Sha256OfFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0) EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(in.gcount()));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

}  // namespace clawback::testing
