#include "controller/browse/catalog_import.h"

#include "controller/browse/catalog.h"
#include "shared/archive_index.h"
#include "shared/path_rules.h"

namespace clawback::controller::browse {

Status ImportArchiveIndex(uint64_t file_size, const seek_table::ReadAtFn& read_at,
                          std::optional<uint64_t> expected_entries, const std::string& archive_sha256,
                          const std::string& catalog_path) {
  auto layout = seek_table::LocateArchive(file_size, read_at);
  if (!layout.ok()) return layout.status();
  auto writer = CatalogWriter::Create(catalog_path);
  if (!writer.ok()) return writer.status();
  for (size_t i = 0; i < layout->frames.size(); ++i) {
    const auto& f = layout->frames[i];
    CLAWBACK_RETURN_IF_ERROR((*writer)->AddFrame({i, f.offset, f.compressed_size, f.tar_offset, f.decompressed_size}));
  }

  const uint64_t tar_size = layout->tar_size;
  std::optional<uint64_t> last_offset;
  uint64_t line = 1;
  auto on_entry = [&](archive_index::IndexEntry&& in) -> Status {
    ++line;
    auto bad = [&](const std::string& what) {
      return Status::Corruption("archive index entry " + std::to_string(line - 1) + " (" + PrintablePath(in.path) +
                                "): " + what);
    };
    if (last_offset && in.offset <= *last_offset) return bad("offsets do not increase");
    last_offset = in.offset;
    if (in.offset >= tar_size || in.data_offset > tar_size || in.size > tar_size - in.data_offset) {
      return bad("lies beyond the end of the tar stream (" + std::to_string(tar_size) + " bytes)");
    }
    auto frame = seek_table::FrameAt(*layout, in.offset);
    if (!frame.ok() || *frame != in.frame) return bad("names frame " + std::to_string(in.frame) + ", which does not hold its offset");
    if (in.path == ".") return Status::Ok();  // the root directory itself: implied, never listed
    IndexEntry e;
    e.path = in.path;
    e.type = std::string(archive_index::TypeName(in.type));
    e.size = in.size;
    e.mode = in.mode;
    e.uid = static_cast<int64_t>(in.uid);
    e.gid = static_cast<int64_t>(in.gid);
    e.uname = in.uname;
    e.gname = in.gname;
    e.mtime = in.mtime;
    e.mtime_nsec = in.mtime_nsec;
    e.target = in.target;
    e.offset = in.offset;
    e.data_offset = in.data_offset;
    e.frame = in.frame;
    e.sha256 = in.sha256;
    return (*writer)->AddEntry(e);
  };
  auto reader = archive_index::IndexReader::Create(on_entry);
  if (!reader.ok()) return reader.status();
  // The payload in pieces, so a large index never sits in memory whole.
  constexpr uint64_t kPiece = 1024 * 1024;
  std::string buf;
  for (uint64_t at = 0; at < layout->index_payload_size(); at += kPiece) {
    const uint64_t n = std::min(kPiece, layout->index_payload_size() - at);
    CLAWBACK_RETURN_IF_ERROR(read_at(layout->index_payload_offset() + at, static_cast<size_t>(n), buf));
    CLAWBACK_RETURN_IF_ERROR((*reader)->Feed(buf));
  }
  auto end = (*reader)->Finish();
  if (!end.ok()) return end.status();
  if (end->tar_size != tar_size) {
    return Status::Corruption("archive index says the tar stream is " + std::to_string(end->tar_size) +
                              " bytes, the seek table " + std::to_string(tar_size));
  }
  if (expected_entries && end->entries != *expected_entries) {
    return Status::Corruption("archive index lists " + std::to_string(end->entries) + " entries, the agent reported " +
                              std::to_string(*expected_entries));
  }
  CatalogMeta meta;
  meta.archive_format = 2;
  meta.archive_sha256 = archive_sha256;
  meta.archive_size = file_size;
  meta.tar_size = tar_size;
  meta.entries = end->entries;
  return (*writer)->Commit(meta);
}

}  // namespace clawback::controller::browse
