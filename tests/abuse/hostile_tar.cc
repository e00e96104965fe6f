#include "tests/abuse/hostile_tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <zstd.h>

#include <memory>
#include <stdexcept>
#include <vector>

namespace clawback::testing {
namespace {

// libarchive write callbacks that zstd-compress into a string.
struct Compressor {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  std::string out;
  std::vector<char> buf = std::vector<char>(ZSTD_CStreamOutSize());
  ~Compressor() { ZSTD_freeCCtx(cctx); }
  void Feed(const void* data, size_t size, ZSTD_EndDirective mode) {
    ZSTD_inBuffer in{data, size, 0};
    for (;;) {
      ZSTD_outBuffer ob{buf.data(), buf.size(), 0};
      size_t left = ZSTD_compressStream2(cctx, &ob, &in, mode);
      if (ZSTD_isError(left)) throw std::runtime_error(ZSTD_getErrorName(left));
      out.append(buf.data(), ob.pos);
      if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size) break;
    }
  }
};

la_ssize_t WriteCb(archive*, void* self, const void* data, size_t size) {
  static_cast<Compressor*>(self)->Feed(data, size, ZSTD_e_continue);
  return static_cast<la_ssize_t>(size);
}

}  // namespace

std::string BuildTarZstd(const std::vector<TarEntry>& entries, int zstd_level) {
  Compressor z;
  ZSTD_CCtx_setParameter(z.cctx, ZSTD_c_compressionLevel, zstd_level);
  std::unique_ptr<archive, int (*)(archive*)> a(archive_write_new(), archive_write_free);
  archive_write_set_format_pax(a.get());
  archive_write_set_bytes_per_block(a.get(), 10240);
  if (archive_write_open(a.get(), &z, nullptr, WriteCb, nullptr) != ARCHIVE_OK)
    throw std::runtime_error(archive_error_string(a.get()));
  std::string zeros(1 << 20, '\0');
  for (const TarEntry& t : entries) {
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(e.get(), t.name.c_str());
    archive_entry_set_mtime(e.get(), 1700000000, 0);
    archive_entry_set_uid(e.get(), 0);
    archive_entry_set_gid(e.get(), 0);
    uint64_t size = 0;
    switch (t.type) {
      case TarEntry::Type::kFile:
        archive_entry_set_filetype(e.get(), AE_IFREG);
        size = t.content.size() + t.zero_bytes;
        break;
      case TarEntry::Type::kDir:
        archive_entry_set_filetype(e.get(), AE_IFDIR);
        break;
      case TarEntry::Type::kSymlink:
        archive_entry_set_filetype(e.get(), AE_IFLNK);
        archive_entry_set_symlink(e.get(), t.link.c_str());
        break;
      case TarEntry::Type::kHardlink:
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_hardlink(e.get(), t.link.c_str());
        size = t.content.size();  // a hardlink "with data" writes through the link
        break;
      case TarEntry::Type::kCharDevice:
        archive_entry_set_filetype(e.get(), AE_IFCHR);
        archive_entry_set_rdev(e.get(), makedev(1, 3));  // /dev/null's numbers
        break;
      case TarEntry::Type::kBlockDevice:
        archive_entry_set_filetype(e.get(), AE_IFBLK);
        archive_entry_set_rdev(e.get(), makedev(7, 0));
        break;
      case TarEntry::Type::kFifo:
        archive_entry_set_filetype(e.get(), AE_IFIFO);
        break;
      case TarEntry::Type::kSocket:
        archive_entry_set_filetype(e.get(), AE_IFSOCK);
        break;
    }
    archive_entry_set_perm(e.get(), t.mode);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
    for (const auto& [k, v] : t.xattrs) archive_entry_xattr_add_entry(e.get(), k.c_str(), v.data(), v.size());
    if (archive_write_header(a.get(), e.get()) < ARCHIVE_WARN)
      throw std::runtime_error(std::string("tar header ") + t.name.substr(0, 80) + ": " + archive_error_string(a.get()));
    if (size == 0) continue;
    if (!t.content.empty()) archive_write_data(a.get(), t.content.data(), t.content.size());
    for (uint64_t left = t.type == TarEntry::Type::kFile ? t.zero_bytes : 0; left > 0;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(left, zeros.size()));
      archive_write_data(a.get(), zeros.data(), n);
      left -= n;
    }
  }
  archive_write_close(a.get());
  z.Feed(nullptr, 0, ZSTD_e_end);
  return z.out;
}

std::string HugeWindowFrame() {
  TarEntry e;
  e.name = "home/claworc/window.txt";
  e.content = std::string(100000, 'w');
  std::string frame = BuildTarZstd({e});
  // Frame header: magic (4 bytes), Frame_Header_Descriptor, then (streaming
  // frames are not single-segment) the Window_Descriptor: exponent in the top
  // five bits, window = 1 << (10 + exponent). 21 -> 2 GiB.
  if (frame.size() > 5 && !(static_cast<unsigned char>(frame[4]) & 0x20)) frame[5] = static_cast<char>(21 << 3);
  return frame;
}

}  // namespace clawback::testing
