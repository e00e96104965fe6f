// Fuzz target for the format 2 archive's index and seek table parsers
// (shared/archive_index.h, shared/seek_table.h): what the controller reads
// back from an archive an agent sent, so untrusted bytes.
//
// The whole input is tried as each thing a reader meets: one index line
// (entry, header, end), a seek-table frame, an archive tail (LocateArchive
// over the input as the file) and an index payload ("CBINDEX1" + zstd frame).
//
// Properties:
//   - an accepted entry line passes ValidateEntry, and encoding it and parsing
//     that again gives the same entry (nothing is lost or reinterpreted);
//   - an accepted seek table re-encodes to a table that parses to the same
//     frames (and to the very input bytes when it had no checksums);
//   - an accepted layout accounts for every byte of the input: data frames
//     contiguous from 0, then the index frame, then the table to the end;
//     decompressed sizes 1..2^30 and tar offsets their running sum;
//   - an accepted payload listed exactly end.entries valid entries, and
//     writing them again with IndexWriter reads back the same entries;
//   - a refusal is Corruption (NotFound for "no seek table" from
//     LocateArchive) with a message.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "shared/archive_index.h"
#include "shared/seek_table.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using clawback::Result;
using clawback::Status;
using clawback::fuzz::Show;
namespace ai = clawback::archive_index;
namespace st = clawback::seek_table;

void CheckRefusal(const Status& s, bool not_found_ok) {
  FUZZ_CHECK(s.code() == Status::Code::kCorruption || (not_found_ok && s.code() == Status::Code::kNotFound),
             s.ToString());
  FUZZ_CHECK(!s.message().empty(), "refusal without a message");
}

void CheckLine(std::string_view in) {
  Result<ai::IndexEntry> e = ai::ParseEntryLine(in);
  if (!e.ok()) {
    CheckRefusal(e.status(), false);
  } else {
    FUZZ_CHECK(ai::ValidateEntry(*e).ok(), "accepted an invalid entry: " + Show(in));
    std::string again = ai::EncodeEntryLine(*e);
    Result<ai::IndexEntry> back = ai::ParseEntryLine(again);
    FUZZ_CHECK(back.ok() && *back == *e, "entry round trip: " + Show(in) + " -> " + Show(again));
  }
  Status h = ai::ParseHeaderLine(in);
  if (!h.ok()) CheckRefusal(h, false);
  Result<ai::IndexEnd> end = ai::ParseEndLine(in);
  if (!end.ok()) {
    CheckRefusal(end.status(), false);
  } else {
    Result<ai::IndexEnd> back = ai::ParseEndLine(ai::EncodeEndLine(*end));
    FUZZ_CHECK(back.ok() && *back == *end, "end line round trip: " + Show(in));
  }
}

void CheckSeekTable(std::string_view in) {
  Result<std::vector<st::FrameSize>> t = st::ParseSeekTable(in);
  if (!t.ok()) return CheckRefusal(t.status(), false);
  Result<std::string> again = st::EncodeSeekTable(*t);
  FUZZ_CHECK(again.ok(), again.status().ToString());
  Result<std::vector<st::FrameSize>> back = st::ParseSeekTable(*again);
  FUZZ_CHECK(back.ok() && *back == *t, "seek table round trip");
  // The format leaves the descriptor's two low bits unused (any value, ignored
  // by readers); the encoder writes them as zero, so compare with them cleared.
  std::string canonical(in);
  canonical[canonical.size() - 5] = static_cast<char>(canonical[canonical.size() - 5] & ~0x03);
  const bool checksums = (static_cast<unsigned char>(canonical[canonical.size() - 5]) & 0x80) != 0;
  if (!checksums) FUZZ_CHECK(*again == canonical, "seek table re-encodes differently: " + Show(in));
}

void CheckLayout(std::string_view in) {
  int reads = 0;
  auto read_at = [&](uint64_t offset, size_t size, std::string& out) -> Status {
    ++reads;
    FUZZ_CHECK(offset <= in.size() && size <= in.size() - offset,
               "read outside the file: " + std::to_string(offset) + "+" + std::to_string(size));
    out.assign(in.substr(offset, size));
    return Status::Ok();
  };
  Result<st::ArchiveLayout> l = st::LocateArchive(in.size(), read_at);
  FUZZ_CHECK(reads <= 3, "more than three reads");
  if (!l.ok()) return CheckRefusal(l.status(), true);
  uint64_t offset = 0, tar = 0;
  FUZZ_CHECK(!l->frames.empty(), "layout without data frames");
  for (const st::DataFrame& f : l->frames) {
    FUZZ_CHECK(f.offset == offset && f.tar_offset == tar, "frames not contiguous");
    FUZZ_CHECK(f.decompressed_size >= 1 && f.decompressed_size <= st::kMaxFrameDecompressed, "frame size");
    FUZZ_CHECK(f.compressed_size >= 1, "empty frame");
    offset += f.compressed_size;
    tar += f.decompressed_size;
  }
  FUZZ_CHECK(l->tar_size == tar, "tar_size");
  FUZZ_CHECK(l->index_offset == offset && l->seek_table_offset == offset + l->index_size, "index placement");
  FUZZ_CHECK(l->seek_table_offset + l->seek_table_size == in.size(), "table does not end the file");
  FUZZ_CHECK(in.substr(l->index_payload_offset(), 8) == ai::kPayloadMagic, "index payload magic");
  for (uint64_t probe : {uint64_t{0}, tar / 2, tar - 1}) {
    Result<size_t> i = st::FrameAt(*l, probe);
    FUZZ_CHECK(i.ok() && *i < l->frames.size(), "FrameAt inside the stream");
    const st::DataFrame& f = l->frames[*i];
    FUZZ_CHECK(f.tar_offset <= probe && probe < f.tar_offset + f.decompressed_size, "FrameAt picked a wrong frame");
  }
  FUZZ_CHECK(!st::FrameAt(*l, tar).ok(), "FrameAt past the end");
}

void CheckPayload(std::string_view in) {
  std::vector<ai::IndexEntry> entries;
  Result<ai::IndexEnd> end = ai::ReadIndexPayload(in, [&](ai::IndexEntry&& e) {
    FUZZ_CHECK(ai::ValidateEntry(e).ok(), "reader handed out an invalid entry");
    entries.push_back(std::move(e));
    return Status::Ok();
  });
  if (!end.ok()) return CheckRefusal(end.status(), false);
  FUZZ_CHECK(end->entries == entries.size(), "end count differs from the entries listed");
  Result<std::unique_ptr<ai::IndexWriter>> w = ai::IndexWriter::Create();
  FUZZ_CHECK(w.ok(), w.status().ToString());
  for (const ai::IndexEntry& e : entries) FUZZ_CHECK((*w)->Add(e).ok(), "writer refused an accepted entry");
  Result<std::string> frame = (*w)->Finish(end->tar_size);
  FUZZ_CHECK(frame.ok(), frame.status().ToString());
  std::vector<ai::IndexEntry> again;
  Result<ai::IndexEnd> end2 = ai::ReadIndexPayload(std::string_view(*frame).substr(st::kSkippableHeaderBytes),
                                                   [&](ai::IndexEntry&& e) {
                                                     again.push_back(std::move(e));
                                                     return Status::Ok();
                                                   });
  FUZZ_CHECK(end2.ok() && *end2 == *end && again == entries, "payload round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  CheckLine(in);
  CheckSeekTable(in);
  CheckLayout(in);
  CheckPayload(in);
  return 0;
}
