// The seek table of a format 2 archive: zstd's published seekable format
// (contrib/seekable_format/zstd_seekable_compression_format.md) in a trailing
// skippable frame, listing the archive's data frames and then its index frame
// (docs/archive-format.md, "Seekable archives and the index").
//
//   0x184D2A5E (u32 LE)  Frame_Size (u32 LE) = 8 * N + 9   (12 * N + 9 with checksums)
//   N x { Compressed_Size (u32 LE), Decompressed_Size (u32 LE) [, Checksum (u32 LE)] }
//   Number_Of_Frames (u32 LE)  Seek_Table_Descriptor (u8)  0x8F92EAB1 (u32 LE)
//
// This file owns that layout in both directions (EncodeSeekTable /
// ParseSeekTable) and finds the pieces of an archive from its tail
// (LocateArchive) through a caller's ranged-read callback, so it works on a
// local file and on object storage alike. All input is untrusted: anything
// inconsistent is Corruption with a message saying what. Pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/status.h"

namespace clawback::seek_table {

inline constexpr uint32_t kSeekTableMagic = 0x184D2A5E;  // skippable frame magic
inline constexpr uint32_t kFooterMagic = 0x8F92EAB1;
inline constexpr size_t kFooterBytes = 9;         // Number_Of_Frames, descriptor, magic
inline constexpr size_t kSkippableHeaderBytes = 8;  // magic, Frame_Size
// The seekable format's limit on one frame's decompressed size.
inline constexpr uint64_t kMaxFrameDecompressed = 1ull << 30;

struct FrameSize {
  uint32_t compressed = 0;
  uint32_t decompressed = 0;
  bool operator==(const FrameSize&) const = default;
};

// The whole skippable frame (header, entries, footer), Checksum_Flag 0.
// InvalidArgument when there are more than 2^32 - 1 frames or the frame would
// exceed the u32 Frame_Size.
Result<std::string> EncodeSeekTable(const std::vector<FrameSize>& frames);

// Parses one whole seek-table skippable frame (header included, nothing after
// the footer). Accepts Checksum_Flag 1 too (the checksums are skipped).
Result<std::vector<FrameSize>> ParseSeekTable(std::string_view frame);

// Reads `size` bytes at `offset` into `out` (resized by the callee); a short
// read is an error the callee reports.
using ReadAtFn = std::function<Status(uint64_t offset, size_t size, std::string& out)>;

// One data frame of an archive, placed in both streams.
struct DataFrame {
  uint64_t offset = 0;              // in the archive file
  uint32_t compressed_size = 0;
  uint64_t tar_offset = 0;          // of its first byte in the decompressed tar stream
  uint32_t decompressed_size = 0;
};

struct ArchiveLayout {
  std::vector<DataFrame> frames;    // the data frames, in order
  uint64_t tar_size = 0;            // sum of their decompressed sizes
  uint64_t index_offset = 0;        // the index frame (skippable header included)
  uint32_t index_size = 0;          // its whole size, header included
  uint64_t seek_table_offset = 0;   // == index_offset + index_size
  uint64_t seek_table_size = 0;     // == file_size - seek_table_offset
  // The index payload ("CBINDEX1" + zstd frame) is at index_offset + 8,
  // index_size - 8 bytes long.
  uint64_t index_payload_offset() const { return index_offset + kSkippableHeaderBytes; }
  uint64_t index_payload_size() const { return index_size - kSkippableHeaderBytes; }
};

// Finds the seek table at the end of an archive of `file_size` bytes, checks
// that its compressed sizes sum exactly to its own offset (every byte
// accounted for), that the last listed frame is the index frame (decompressed
// size 0, a 0x184D2A5B skippable frame of exactly its listed size whose
// payload starts with "CBINDEX1") and every other one a data frame of
// 1..2^30 decompressed bytes. Two or three small reads: the footer, the table,
// the index frame's first 16 bytes. NotFound when the file does not end with
// a seek table at all (a format 1 archive); Corruption when it does but
// something is inconsistent; read errors as the callback returns them.
Result<ArchiveLayout> LocateArchive(uint64_t file_size, const ReadAtFn& read_at);

// The index of the data frame holding tar-stream offset `tar_offset`
// (binary search); NotFound past the end.
Result<size_t> FrameAt(const ArchiveLayout& layout, uint64_t tar_offset);

// Little-endian helpers shared by the writers of these frames.
void AppendU32(std::string& out, uint32_t v);
uint32_t ReadU32(const char* p);
// The 8-byte skippable frame header: magic, Frame_Size.
std::string SkippableHeader(uint32_t magic, uint32_t frame_size);

}  // namespace clawback::seek_table
