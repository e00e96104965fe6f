#include "controller/browse/catalog_build.h"

#include <archive.h>
#include <archive_entry.h>

#include "controller/browse/tar_reader.h"

namespace clawback::controller::browse {

Status ScanIntoCatalog(VerifiedBlocks& blocks, const std::string& archive_sha256, const std::string& catalog_path) {
  auto writer = CatalogWriter::Create(catalog_path);
  if (!writer.ok()) return writer.status();
  FrameInfo whole{0, 0, blocks.size(), 0, 0};
  TarStream stream(blocks, {whole}, TarStream::kUnknownSize);
  auto reader = TarReader::Open(stream, 0);
  if (!reader.ok()) return reader.status();
  uint64_t entries = 0;
  std::string buf(1024 * 1024, '\0');
  for (;;) {
    auto header = (*reader)->NextHeader();
    if (!header.ok()) return header.status();
    archive_entry* h = *header;
    if (h == nullptr) break;
    IndexEntry e;
    e.path = ArchiveName(h);
    e.type = EntryTypeName(h);
    if (e.path.empty() || e.path == "." || e.type.empty()) continue;  // the root itself, or a type we do not list
    e.size = e.type == "file" && archive_entry_size_is_set(h) ? static_cast<uint64_t>(archive_entry_size(h)) : 0;
    e.mode = archive_entry_mode(h) & 07777;
    e.uid = archive_entry_uid(h);
    e.gid = archive_entry_gid(h);
    e.uname = archive_entry_uname(h) ? archive_entry_uname(h) : "";
    e.gname = archive_entry_gname(h) ? archive_entry_gname(h) : "";
    e.mtime = archive_entry_mtime(h);
    e.mtime_nsec = archive_entry_mtime_nsec(h);
    if (e.type == "symlink" && archive_entry_symlink(h)) e.target = archive_entry_symlink(h);
    if (e.type == "hardlink") {
      e.target = archive_entry_hardlink(h);
      while (e.target.rfind("./", 0) == 0) e.target.erase(0, 2);
    }
    e.offset = (*reader)->header_offset();
    e.data_offset = e.offset;  // exact for format 2 (from the agent); informational here
    e.frame = 0;
    if (e.type == "file") {
      Sha256 sha;
      uint64_t got = 0;
      for (;;) {
        auto n = (*reader)->ReadData(buf.data(), buf.size());
        if (!n.ok()) return n.status();
        if (*n == 0) break;
        sha.Update(buf.data(), *n);
        got += *n;
      }
      if (got != e.size) {
        return Status::Corruption("archive entry " + e.path + " is shorter than its header says");
      }
      e.sha256 = sha.HexDigest();
    }
    CLAWBACK_RETURN_IF_ERROR((*writer)->AddEntry(e));
    ++entries;
  }
  // The rest of the stream (end-of-archive blocks and padding) counts
  // towards the tar size.
  auto rest = stream.Skip(TarStream::kUnknownSize);
  if (!rest.ok()) return rest.status();
  whole.d_size = stream.position();
  CLAWBACK_RETURN_IF_ERROR((*writer)->AddFrame(whole));
  CatalogMeta meta;
  meta.archive_format = 1;
  meta.archive_sha256 = archive_sha256;
  meta.archive_size = blocks.size();
  meta.tar_size = whole.d_size;
  meta.entries = entries;
  return (*writer)->Commit(meta);
}

}  // namespace clawback::controller::browse
