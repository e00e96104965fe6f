#include "tests/faults/archive_inspect.h"

#include <archive.h>
#include <archive_entry.h>
#include <zstd.h>

#include <dirent.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <set>

namespace clawback::testing {
namespace fs = std::filesystem;

namespace {

Result<std::string> Decompress(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open " + path);
  std::unique_ptr<ZSTD_DStream, size_t (*)(ZSTD_DStream*)> ds(ZSTD_createDStream(), ZSTD_freeDStream);
  ZSTD_initDStream(ds.get());
  std::vector<char> inbuf(ZSTD_DStreamInSize()), outbuf(ZSTD_DStreamOutSize());
  std::string out;
  size_t last = 0;
  bool any = false;
  while (in) {
    in.read(inbuf.data(), static_cast<std::streamsize>(inbuf.size()));
    size_t got = static_cast<size_t>(in.gcount());
    if (got == 0) break;
    any = true;
    ZSTD_inBuffer ib{inbuf.data(), got, 0};
    // Format 2 archives are many frames and end with skippable ones (index,
    // seek table): zstd crosses frames itself and skips those. A full output
    // buffer may leave decompressed bytes inside zstd: call again for them.
    bool full = false;
    while (ib.pos < ib.size || full) {
      ZSTD_outBuffer ob{outbuf.data(), outbuf.size(), 0};
      last = ZSTD_decompressStream(ds.get(), &ob, &ib);
      if (ZSTD_isError(last)) return Status::Corruption(std::string("zstd: ") + ZSTD_getErrorName(last));
      out.append(outbuf.data(), ob.pos);
      full = ob.pos == ob.size;
    }
  }
  if (!any) return Status::Corruption("empty archive file " + path);
  if (last != 0) return Status::Corruption("truncated zstd stream in " + path);
  return out;
}

}  // namespace

Result<ArchiveListing> ListTarZstd(const std::string& path) {
  auto raw = Decompress(path);
  if (!raw.ok()) return raw.status();
  std::unique_ptr<archive, int (*)(archive*)> a(archive_read_new(), archive_read_free);
  archive_read_support_format_tar(a.get());
  if (archive_read_open_memory(a.get(), raw->data(), raw->size()) != ARCHIVE_OK) {
    return Status::Corruption(std::string("libarchive: ") + archive_error_string(a.get()));
  }
  ArchiveListing listing;
  std::vector<char> buf(64 * 1024);
  for (;;) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      return Status::Corruption(std::string("libarchive header: ") + archive_error_string(a.get()));
    }
    std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    if (name.size() > 1 && name.back() == '/') name.pop_back();  // directories are stored as "dir/"
    listing.names.push_back(name);
    for (;;) {
      la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
      if (n == 0) break;
      if (n < 0) return Status::Corruption(std::string("libarchive data: ") + archive_error_string(a.get()));
      listing.data_bytes += static_cast<uint64_t>(n);
    }
  }
  return listing;
}

namespace {
void Walk(const std::string& dir, const std::string& rel, std::set<std::string>* names) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    names->insert(rel + "/" + n);
    struct stat st {};
    if (::lstat((dir + "/" + n).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) Walk(dir + "/" + n, rel + "/" + n, names);
  }
  ::closedir(d);
}
}  // namespace

std::vector<std::string> ExpectedEntries(const std::string& root, const std::vector<std::string>& abs_paths,
                                         bool include_parents) {
  std::set<std::string> names;
  for (const std::string& p : abs_paths) {
    std::string rel = p.substr(1);
    if (include_parents) {
      for (size_t pos = rel.find('/'); pos != std::string::npos; pos = rel.find('/', pos + 1))
        names.insert(rel.substr(0, pos));
    }
    names.insert(rel);
    Walk(root + p, rel, &names);
  }
  return {names.begin(), names.end()};
}

}  // namespace clawback::testing
