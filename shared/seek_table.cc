#include "shared/seek_table.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "shared/archive_index.h"

namespace clawback::seek_table {

void AppendU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

uint32_t ReadU32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint32_t>(u[0]) | static_cast<uint32_t>(u[1]) << 8 | static_cast<uint32_t>(u[2]) << 16 |
         static_cast<uint32_t>(u[3]) << 24;
}

std::string SkippableHeader(uint32_t magic, uint32_t frame_size) {
  std::string out;
  AppendU32(out, magic);
  AppendU32(out, frame_size);
  return out;
}

Result<std::string> EncodeSeekTable(const std::vector<FrameSize>& frames) {
  const uint64_t body = 8ull * frames.size() + kFooterBytes;
  if (frames.size() > std::numeric_limits<uint32_t>::max() || body > std::numeric_limits<uint32_t>::max())
    return Status::InvalidArgument("too many frames for a seek table: " + std::to_string(frames.size()));
  std::string out = SkippableHeader(kSeekTableMagic, static_cast<uint32_t>(body));
  out.reserve(kSkippableHeaderBytes + body);
  for (const FrameSize& f : frames) {
    AppendU32(out, f.compressed);
    AppendU32(out, f.decompressed);
  }
  AppendU32(out, static_cast<uint32_t>(frames.size()));
  out += '\0';  // Seek_Table_Descriptor: no checksums
  AppendU32(out, kFooterMagic);
  return out;
}

Result<std::vector<FrameSize>> ParseSeekTable(std::string_view frame) {
  if (frame.size() < kSkippableHeaderBytes + kFooterBytes)
    return Status::Corruption("seek table: " + std::to_string(frame.size()) + " bytes is too short");
  if (ReadU32(frame.data()) != kSeekTableMagic) return Status::Corruption("seek table: wrong skippable frame magic");
  const uint32_t frame_size = ReadU32(frame.data() + 4);
  if (frame_size != frame.size() - kSkippableHeaderBytes)
    return Status::Corruption("seek table: Frame_Size " + std::to_string(frame_size) + " does not match its " +
                              std::to_string(frame.size() - kSkippableHeaderBytes) + " bytes");
  const char* footer = frame.data() + frame.size() - kFooterBytes;
  if (ReadU32(footer + 5) != kFooterMagic) return Status::Corruption("seek table: wrong footer magic");
  const auto descriptor = static_cast<unsigned char>(footer[4]);
  if ((descriptor & 0x7c) != 0) return Status::Corruption("seek table: reserved descriptor bits set");
  const bool checksums = (descriptor & 0x80) != 0;
  const uint64_t n = ReadU32(footer);
  const uint64_t entry_bytes = checksums ? 12 : 8;
  if (n * entry_bytes + kFooterBytes != frame_size)
    return Status::Corruption("seek table: " + std::to_string(n) + " frames do not fill Frame_Size " +
                              std::to_string(frame_size));
  std::vector<FrameSize> frames;
  frames.reserve(n);
  const char* p = frame.data() + kSkippableHeaderBytes;
  for (uint64_t i = 0; i < n; ++i, p += entry_bytes) frames.push_back({ReadU32(p), ReadU32(p + 4)});
  return frames;
}

Result<ArchiveLayout> LocateArchive(uint64_t file_size, const ReadAtFn& read_at) {
  if (file_size < kSkippableHeaderBytes + kFooterBytes) return Status::NotFound("archive too short for a seek table");
  std::string footer;
  CLAWBACK_RETURN_IF_ERROR(read_at(file_size - kFooterBytes, kFooterBytes, footer));
  if (footer.size() != kFooterBytes) return Status::IoError("short read of the archive's last bytes");
  if (ReadU32(footer.data() + 5) != kFooterMagic) return Status::NotFound("archive does not end with a seek table");
  const auto descriptor = static_cast<unsigned char>(footer[4]);
  const uint64_t entry_bytes = (descriptor & 0x80) != 0 ? 12 : 8;
  const uint64_t n = ReadU32(footer.data());
  const uint64_t table_size = kSkippableHeaderBytes + n * entry_bytes + kFooterBytes;
  if (table_size > file_size)
    return Status::Corruption("seek table of " + std::to_string(n) + " frames is larger than the archive");
  std::string table;
  const uint64_t table_offset = file_size - table_size;
  CLAWBACK_RETURN_IF_ERROR(read_at(table_offset, table_size, table));
  if (table.size() != table_size) return Status::IoError("short read of the seek table");
  Result<std::vector<FrameSize>> frames = ParseSeekTable(table);
  if (!frames.ok()) return frames.status();
  if (frames->size() < 2)
    return Status::Corruption("seek table lists " + std::to_string(frames->size()) +
                              " frames; a format 2 archive has at least one data frame and the index frame");

  ArchiveLayout layout;
  layout.seek_table_offset = table_offset;
  layout.seek_table_size = table_size;
  uint64_t offset = 0;
  const size_t data_frames = frames->size() - 1;
  layout.frames.reserve(data_frames);
  for (size_t i = 0; i < data_frames; ++i) {
    const FrameSize& f = (*frames)[i];
    if (f.decompressed == 0 || f.decompressed > kMaxFrameDecompressed)
      return Status::Corruption("seek table: data frame " + std::to_string(i) + " has decompressed size " +
                                std::to_string(f.decompressed));
    if (f.compressed == 0) return Status::Corruption("seek table: data frame " + std::to_string(i) + " is empty");
    layout.frames.push_back({offset, f.compressed, layout.tar_size, f.decompressed});
    offset += f.compressed;
    layout.tar_size += f.decompressed;
  }
  const FrameSize& index = frames->back();
  if (index.decompressed != 0) return Status::Corruption("seek table: last frame is not the index frame");
  if (index.compressed < kSkippableHeaderBytes + archive_index::kPayloadMagic.size())
    return Status::Corruption("seek table: index frame too small");
  layout.index_offset = offset;
  layout.index_size = index.compressed;
  if (offset + index.compressed != table_offset)
    return Status::Corruption("seek table: frames cover " + std::to_string(offset + index.compressed) +
                              " bytes, the table starts at " + std::to_string(table_offset));

  std::string head;
  const size_t head_size = kSkippableHeaderBytes + archive_index::kPayloadMagic.size();
  CLAWBACK_RETURN_IF_ERROR(read_at(layout.index_offset, head_size, head));
  if (head.size() != head_size) return Status::IoError("short read of the index frame");
  if (ReadU32(head.data()) != archive_index::kIndexFrameMagic)
    return Status::Corruption("index frame: wrong skippable frame magic");
  if (uint64_t{ReadU32(head.data() + 4)} + kSkippableHeaderBytes != index.compressed)
    return Status::Corruption("index frame: Frame_Size does not match the seek table");
  if (std::string_view(head).substr(kSkippableHeaderBytes) != archive_index::kPayloadMagic)
    return Status::Corruption("index frame: payload does not start with CBINDEX1");
  return layout;
}

Result<size_t> FrameAt(const ArchiveLayout& layout, uint64_t tar_offset) {
  if (tar_offset >= layout.tar_size)
    return Status::NotFound("offset " + std::to_string(tar_offset) + " is past the tar stream's " +
                            std::to_string(layout.tar_size) + " bytes");
  auto it = std::upper_bound(layout.frames.begin(), layout.frames.end(), tar_offset,
                             [](uint64_t off, const DataFrame& f) { return off < f.tar_offset; });
  return static_cast<size_t>(it - layout.frames.begin()) - 1;
}

}  // namespace clawback::seek_table
