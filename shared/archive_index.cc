#include "shared/archive_index.h"

#include <zstd.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

#include "shared/seek_table.h"

namespace clawback::archive_index {
namespace {

constexpr uint32_t kZstdFrameMagic = 0xFD2FB528;
constexpr int kIndexLevel = 3;
constexpr int kIndexWindowLog = 20;     // 1 MiB: the writer's memory, and plenty for JSON lines
constexpr int kReaderWindowLogMax = 23;  // what the reader accepts from an untrusted frame
constexpr uint32_t kMaxMode = 07777;
constexpr uint32_t kNsecPerSec = 1000000000;

constexpr const char* kTypeNames[] = {"file", "dir", "symlink", "hardlink", "char", "block", "fifo"};

// Strict UTF-8 (RFC 3629: no overlongs, no surrogates, at most U+10FFFF),
// the same set nlohmann::json accepts when parsing.
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  while (i < s.size()) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    if (p[i + 1] < lo || p[i + 1] > hi) return false;
    for (size_t k = 2; k < len; ++k)
      if (p[i + k] < 0x80 || p[i + k] > 0xbf) return false;
    i += len;
  }
  return true;
}

void AppendJsonString(std::string& out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  out += '"';
}

std::string Hex(std::string_view bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // uppercase is not what the writer produces
}

bool IsLowerHex(std::string_view s) {
  for (char c : s)
    if (HexDigit(c) < 0) return false;
  return true;
}

// Appends `"key":"value"` or, when value is not UTF-8, `"key_hex":"..."`.
void AppendNameField(std::string& out, std::string_view key, std::string_view value) {
  out += ",\"";
  out += key;
  if (IsValidUtf8(value)) {
    out += "\":";
    AppendJsonString(out, value);
  } else {
    out += "_hex\":\"";
    out += Hex(value);
    out += '"';
  }
}

void AppendNumber(std::string& out, std::string_view key, uint64_t v) {
  out += ",\"";
  out += key;
  out += "\":";
  out += std::to_string(v);
}

bool IsCanonicalPath(std::string_view p) {
  if (p.empty() || p.find('\0') != std::string_view::npos) return false;
  size_t i = 0;
  while (i <= p.size()) {
    size_t end = p.find('/', i);
    if (end == std::string_view::npos) end = p.size();
    std::string_view c = p.substr(i, end - i);
    if (c.empty() || c == "." || c == "..") return false;
    i = end + 1;
  }
  return true;
}

Status LineError(std::string_view what) { return Status::Corruption("index line: " + std::string(what)); }

using Json = nlohmann::json;

Result<uint64_t> GetU64(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return LineError(std::string("missing \"") + key + "\"");
  if (!it->is_number_unsigned()) return LineError(std::string("\"") + key + "\" is not a non-negative integer");
  return it->get<uint64_t>();
}

Result<std::string> GetString(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return LineError(std::string("missing \"") + key + "\"");
  if (!it->is_string()) return LineError(std::string("\"") + key + "\" is not a string");
  return it->get<std::string>();
}

// `key` or `key_hex` (exactly one); `required` false allows neither.
Result<std::string> GetName(const Json& j, const std::string& key, bool required, bool* present) {
  auto plain = j.find(key);
  auto hex = j.find(key + "_hex");
  *present = plain != j.end() || hex != j.end();
  if (plain != j.end() && hex != j.end()) return LineError("both \"" + key + "\" and \"" + key + "_hex\"");
  if (!*present) {
    if (required) return LineError("missing \"" + key + "\"");
    return std::string();
  }
  if (plain != j.end()) {
    if (!plain->is_string()) return LineError("\"" + key + "\" is not a string");
    return plain->get<std::string>();
  }
  if (!hex->is_string()) return LineError("\"" + key + "_hex\" is not a string");
  const std::string& h = hex->get_ref<const std::string&>();
  if (h.size() % 2 != 0 || !IsLowerHex(h)) return LineError("\"" + key + "_hex\" is not lowercase hex");
  std::string out;
  out.reserve(h.size() / 2);
  for (size_t i = 0; i < h.size(); i += 2) out += static_cast<char>(HexDigit(h[i]) * 16 + HexDigit(h[i + 1]));
  if (IsValidUtf8(out)) return LineError("\"" + key + "_hex\" holds valid UTF-8 (must be \"" + key + "\")");
  return out;
}

Result<Json> ParseObject(std::string_view line) {
  if (line.size() > kMaxLineBytes) return LineError("longer than " + std::to_string(kMaxLineBytes) + " bytes");
  Json j = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return LineError("not valid JSON");
  if (!j.is_object()) return LineError("not a JSON object");
  return j;
}

}  // namespace

std::string_view TypeName(EntryType type) { return kTypeNames[static_cast<int>(type)]; }

Result<EntryType> ParseTypeName(std::string_view name) {
  for (int i = 0; i < static_cast<int>(std::size(kTypeNames)); ++i)
    if (name == kTypeNames[i]) return static_cast<EntryType>(i);
  return Status::InvalidArgument("unknown entry type: " + std::string(name.substr(0, 32)));
}

Status ValidateEntry(const IndexEntry& e) {
  // "." is the root directory itself, archived when "/" is backed up.
  const bool root = e.path == "." && e.type == EntryType::kDir;
  if (!root && !IsCanonicalPath(e.path)) return Status::InvalidArgument("entry name is not a canonical relative path");
  if (e.mode > kMaxMode) return Status::InvalidArgument("mode has bits beyond 07777");
  if (e.mtime_nsec >= kNsecPerSec) return Status::InvalidArgument("mtime_nsec is not below 1e9");
  if (e.data_offset < e.offset) return Status::InvalidArgument("data_offset is before offset");
  const bool file = e.type == EntryType::kFile;
  if (!file && e.size != 0) return Status::InvalidArgument("size is not 0 for a " + std::string(TypeName(e.type)));
  if (file != !e.sha256.empty()) return Status::InvalidArgument("sha256 must be given exactly for files");
  if (file && (e.sha256.size() != 64 || !IsLowerHex(e.sha256)))
    return Status::InvalidArgument("sha256 is not 64 lowercase hex digits");
  const bool link = e.type == EntryType::kSymlink || e.type == EntryType::kHardlink;
  if (link != !e.target.empty()) return Status::InvalidArgument("target must be given exactly for links");
  if (e.target.find('\0') != std::string::npos) return Status::InvalidArgument("target contains NUL");
  if (e.type == EntryType::kHardlink && !IsCanonicalPath(e.target))
    return Status::InvalidArgument("hardlink target is not a canonical relative path");
  if (!IsValidUtf8(e.uname) || !IsValidUtf8(e.gname)) return Status::InvalidArgument("owner name is not UTF-8");
  return Status::Ok();
}

std::string EncodeHeaderLine() { return "{\"clawback_index\":1}"; }

std::string EncodeEntryLine(const IndexEntry& e) {
  std::string out;
  out.reserve(192 + e.path.size() + e.target.size());
  out += '{';
  AppendNameField(out, "path", e.path);
  out.erase(1, 1);  // the leading comma AppendNameField wrote
  out += ",\"type\":\"";
  out += TypeName(e.type);
  out += '"';
  AppendNumber(out, "size", e.size);
  AppendNumber(out, "mode", e.mode);
  AppendNumber(out, "uid", e.uid);
  AppendNumber(out, "gid", e.gid);
  out += ",\"uname\":";
  AppendJsonString(out, IsValidUtf8(e.uname) ? std::string_view(e.uname) : std::string_view());
  out += ",\"gname\":";
  AppendJsonString(out, IsValidUtf8(e.gname) ? std::string_view(e.gname) : std::string_view());
  out += ",\"mtime\":";
  out += std::to_string(e.mtime);
  AppendNumber(out, "mtime_nsec", e.mtime_nsec);
  AppendNumber(out, "offset", e.offset);
  AppendNumber(out, "data_offset", e.data_offset);
  AppendNumber(out, "frame", e.frame);
  if (!e.target.empty()) AppendNameField(out, "target", e.target);
  if (!e.sha256.empty()) {
    out += ",\"sha256\":\"";
    out += e.sha256;
    out += '"';
  }
  out += '}';
  return out;
}

std::string EncodeEndLine(const IndexEnd& end) {
  return "{\"end\":true,\"entries\":" + std::to_string(end.entries) +
         ",\"tar_size\":" + std::to_string(end.tar_size) + "}";
}

Status ParseHeaderLine(std::string_view line) {
  Result<Json> j = ParseObject(line);
  if (!j.ok()) return j.status();
  auto it = j->find("clawback_index");
  if (it == j->end() || !it->is_number_unsigned() || it->get<uint64_t>() != 1)
    return LineError("header is not {\"clawback_index\": 1}");
  return Status::Ok();
}

Result<IndexEntry> ParseEntryLine(std::string_view line) {
  Result<Json> parsed = ParseObject(line);
  if (!parsed.ok()) return parsed.status();
  const Json& j = *parsed;
  IndexEntry e;
  bool present = false;
  Result<std::string> path = GetName(j, "path", true, &present);
  if (!path.ok()) return path.status();
  e.path = std::move(*path);
  Result<std::string> type = GetString(j, "type");
  if (!type.ok()) return type.status();
  Result<EntryType> t = ParseTypeName(*type);
  if (!t.ok()) return LineError(t.status().message());
  e.type = *t;
  struct U64Field {
    const char* key;
    uint64_t* out;
  };
  uint64_t mode = 0, nsec = 0;
  for (U64Field f : {U64Field{"size", &e.size}, U64Field{"mode", &mode}, U64Field{"uid", &e.uid},
                     U64Field{"gid", &e.gid}, U64Field{"mtime_nsec", &nsec}, U64Field{"offset", &e.offset},
                     U64Field{"data_offset", &e.data_offset}, U64Field{"frame", &e.frame}}) {
    Result<uint64_t> v = GetU64(j, f.key);
    if (!v.ok()) return v.status();
    *f.out = *v;
  }
  if (mode > kMaxMode) return LineError("mode has bits beyond 07777");
  if (nsec >= kNsecPerSec) return LineError("mtime_nsec is not below 1e9");
  e.mode = static_cast<uint32_t>(mode);
  e.mtime_nsec = static_cast<uint32_t>(nsec);
  auto mtime = j.find("mtime");
  if (mtime == j.end() || !mtime->is_number_integer()) return LineError("\"mtime\" is not an integer");
  if (mtime->is_number_unsigned()) {
    uint64_t v = mtime->get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return LineError("\"mtime\" out of range");
    e.mtime = static_cast<int64_t>(v);
  } else {
    e.mtime = mtime->get<int64_t>();
  }
  for (auto [key, out] : {std::pair{"uname", &e.uname}, std::pair{"gname", &e.gname}}) {
    Result<std::string> v = GetString(j, key);
    if (!v.ok()) return v.status();
    *out = std::move(*v);
  }
  Result<std::string> target = GetName(j, "target", false, &present);
  if (!target.ok()) return target.status();
  e.target = std::move(*target);
  if (present && e.target.empty()) return LineError("\"target\" is empty");
  if (j.contains("sha256")) {
    Result<std::string> sha = GetString(j, "sha256");
    if (!sha.ok()) return sha.status();
    e.sha256 = std::move(*sha);
    if (e.sha256.empty()) return LineError("\"sha256\" is empty");
  }
  Status valid = ValidateEntry(e);
  if (!valid.ok()) return LineError(valid.message());
  return e;
}

Result<IndexEnd> ParseEndLine(std::string_view line) {
  Result<Json> j = ParseObject(line);
  if (!j.ok()) return j.status();
  auto end = j->find("end");
  if (end == j->end() || !end->is_boolean() || !end->get<bool>()) return LineError("not the end line");
  IndexEnd out;
  Result<uint64_t> entries = GetU64(*j, "entries");
  if (!entries.ok()) return entries.status();
  Result<uint64_t> tar_size = GetU64(*j, "tar_size");
  if (!tar_size.ok()) return tar_size.status();
  out.entries = *entries;
  out.tar_size = *tar_size;
  return out;
}

// ---------------------------------------------------------------- IndexWriter

struct IndexWriter::Impl {
  ZSTD_CCtx* cctx = nullptr;
  // The whole index frame being built: 8-byte skippable header (Frame_Size
  // patched by Finish), "CBINDEX1", then the zstd frame as it grows.
  std::string frame;
  std::string line;
  ~Impl() { ZSTD_freeCCtx(cctx); }
};

IndexWriter::IndexWriter() : impl_(std::make_unique<Impl>()) {}
IndexWriter::~IndexWriter() = default;

Result<std::unique_ptr<IndexWriter>> IndexWriter::Create() {
  std::unique_ptr<IndexWriter> w(new IndexWriter());
  Impl& impl = *w->impl_;
  impl.cctx = ZSTD_createCCtx();
  if (impl.cctx == nullptr) return Status::Internal("cannot allocate the index compressor");
  size_t r = ZSTD_CCtx_setParameter(impl.cctx, ZSTD_c_compressionLevel, kIndexLevel);
  if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(impl.cctx, ZSTD_c_windowLog, kIndexWindowLog);
  if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(impl.cctx, ZSTD_c_checksumFlag, 1);
  if (ZSTD_isError(r)) return Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(r));
  impl.frame = seek_table::SkippableHeader(kIndexFrameMagic, 0);
  impl.frame += kPayloadMagic;
  CLAWBACK_RETURN_IF_ERROR(w->Compress(EncodeHeaderLine() + "\n", false));
  return w;
}

size_t IndexWriter::compressed_bytes() const { return impl_->frame.size(); }

Status IndexWriter::Compress(std::string_view line, bool end) {
  Impl& impl = *impl_;
  ZSTD_inBuffer in{line.data(), line.size(), 0};
  const size_t step = ZSTD_CStreamOutSize();
  for (;;) {
    const size_t used = impl.frame.size();
    impl.frame.resize(used + step);
    ZSTD_outBuffer out{impl.frame.data() + used, step, 0};
    size_t r = ZSTD_compressStream2(impl.cctx, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
    impl.frame.resize(used + out.pos);
    if (ZSTD_isError(r)) return Status::Internal(std::string("zstd (index): ") + ZSTD_getErrorName(r));
    if (end ? r == 0 : in.pos == in.size) return Status::Ok();
  }
}

Status IndexWriter::Add(const IndexEntry& entry) {
  if (finished_) return Status::Internal("index: add after finish");
  CLAWBACK_RETURN_IF_ERROR(ValidateEntry(entry).WithContext("index entry"));
  impl_->line = EncodeEntryLine(entry);
  impl_->line += '\n';
  CLAWBACK_RETURN_IF_ERROR(Compress(impl_->line, false));
  ++entries_;
  return Status::Ok();
}

Result<std::string> IndexWriter::Finish(uint64_t tar_size) {
  if (finished_) return Status::Internal("index: finish called twice");
  finished_ = true;
  CLAWBACK_RETURN_IF_ERROR(Compress(EncodeEndLine({entries_, tar_size}) + "\n", true));
  std::string frame = std::move(impl_->frame);
  const uint64_t body = frame.size() - seek_table::kSkippableHeaderBytes;
  if (body > std::numeric_limits<uint32_t>::max()) return Status::ResourceExhausted("index larger than 4 GiB");
  std::string header = seek_table::SkippableHeader(kIndexFrameMagic, static_cast<uint32_t>(body));
  frame.replace(0, header.size(), header);
  return frame;
}

// ---------------------------------------------------------------- IndexReader

struct IndexReader::Impl {
  EntryFn on_entry;
  ZSTD_DCtx* dctx = nullptr;
  std::string prefix;       // the first bytes, until "CBINDEX1" + zstd magic are checked
  bool prefix_done = false;
  bool frame_done = false;  // zstd reported the frame complete
  int state = 0;            // 0: expect header, 1: entries, 2: after the end line
  std::string line;
  uint64_t entries = 0;
  uint64_t line_no = 0;
  IndexEnd end;
  Status error;
  std::vector<char> out;
  ~Impl() { ZSTD_freeDCtx(dctx); }
};

IndexReader::IndexReader() : impl_(std::make_unique<Impl>()) {}
IndexReader::~IndexReader() = default;

Result<std::unique_ptr<IndexReader>> IndexReader::Create(EntryFn on_entry) {
  std::unique_ptr<IndexReader> r(new IndexReader());
  r->impl_->on_entry = std::move(on_entry);
  r->impl_->dctx = ZSTD_createDCtx();
  if (r->impl_->dctx == nullptr) return Status::Internal("cannot allocate the index decompressor");
  size_t z = ZSTD_DCtx_setParameter(r->impl_->dctx, ZSTD_d_windowLogMax, kReaderWindowLogMax);
  if (ZSTD_isError(z)) return Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(z));
  r->impl_->out.resize(ZSTD_DStreamOutSize());
  return r;
}

Status IndexReader::Fail(Status s) {
  impl_->error = s;
  return s;
}

Status IndexReader::Line(std::string_view line) {
  Impl& impl = *impl_;
  ++impl.line_no;
  auto at = [&](const Status& s) { return s.WithContext("index line " + std::to_string(impl.line_no)); };
  if (impl.state == 0) {
    Status s = ParseHeaderLine(line);
    if (!s.ok()) return at(s);
    impl.state = 1;
    return Status::Ok();
  }
  if (impl.state == 2) return at(Status::Corruption("index: line after the end line"));
  // The end line is the only one with "end"; anything else must be an entry.
  if (line.find("\"end\"") != std::string_view::npos) {
    Result<IndexEnd> end = ParseEndLine(line);
    if (end.ok()) {
      if (end->entries != impl.entries)
        return at(Status::Corruption("index: end line counts " + std::to_string(end->entries) + " entries, " +
                                     std::to_string(impl.entries) + " were listed"));
      impl.end = *end;
      impl.state = 2;
      return Status::Ok();
    }
  }
  Result<IndexEntry> entry = ParseEntryLine(line);
  if (!entry.ok()) return at(entry.status());
  ++impl.entries;
  return impl.on_entry(std::move(*entry));
}

Status IndexReader::Feed(std::string_view bytes) {
  Impl& impl = *impl_;
  if (!impl.error.ok()) return impl.error;
  if (!impl.prefix_done) {
    const size_t need = kPayloadMagic.size() + 4;
    const size_t take = std::min(need - impl.prefix.size(), bytes.size());
    impl.prefix.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    if (impl.prefix.size() < need) return Status::Ok();
    if (std::string_view(impl.prefix).substr(0, kPayloadMagic.size()) != kPayloadMagic)
      return Fail(Status::Corruption("index payload does not start with CBINDEX1"));
    if (seek_table::ReadU32(impl.prefix.data() + kPayloadMagic.size()) != kZstdFrameMagic)
      return Fail(Status::Corruption("index payload is not followed by a zstd frame"));
    impl.prefix_done = true;
    // The zstd magic goes to the decompressor like the rest of the frame.
    std::string magic = impl.prefix.substr(kPayloadMagic.size());
    Status s = Feed(magic);
    if (!s.ok()) return s;
  }
  ZSTD_inBuffer in{bytes.data(), bytes.size(), 0};
  bool flush_pending = false;  // a full output buffer: zstd may hold more
  while (in.pos < in.size || flush_pending) {
    if (impl.frame_done) {
      if (in.pos < in.size) return Fail(Status::Corruption("index payload has bytes after its zstd frame"));
      break;
    }
    ZSTD_outBuffer out{impl.out.data(), impl.out.size(), 0};
    size_t r = ZSTD_decompressStream(impl.dctx, &out, &in);
    if (ZSTD_isError(r)) return Fail(Status::Corruption(std::string("index payload: zstd: ") + ZSTD_getErrorName(r)));
    if (r == 0) impl.frame_done = true;
    flush_pending = out.pos == out.size;
    CLAWBACK_RETURN_IF_ERROR(Produced(std::string_view(impl.out.data(), out.pos)));
  }
  return Status::Ok();
}

Status IndexReader::Produced(std::string_view bytes) {
  Impl& impl = *impl_;
  while (!bytes.empty()) {
    size_t nl = bytes.find('\n');
    size_t take = nl == std::string_view::npos ? bytes.size() : nl;
    if (impl.line.size() + take > kMaxLineBytes)
      return Fail(Status::Corruption("index line " + std::to_string(impl.line_no + 1) + " is longer than " +
                                     std::to_string(kMaxLineBytes) + " bytes"));
    impl.line.append(bytes.substr(0, take));
    if (nl == std::string_view::npos) break;
    bytes.remove_prefix(nl + 1);
    Status s = Line(impl.line);
    impl.line.clear();
    if (!s.ok()) return Fail(s);
  }
  return Status::Ok();
}

Result<IndexEnd> IndexReader::Finish() {
  Impl& impl = *impl_;
  if (!impl.error.ok()) return impl.error;
  if (!impl.prefix_done) return Fail(Status::Corruption("index payload is truncated"));
  if (!impl.frame_done) return Fail(Status::Corruption("index payload's zstd frame is truncated"));
  if (!impl.line.empty()) return Fail(Status::Corruption("index does not end with a newline"));
  if (impl.state != 2) return Fail(Status::Corruption("index has no end line"));
  return impl.end;
}

Result<IndexEnd> ReadIndexPayload(std::string_view payload, const IndexReader::EntryFn& on_entry) {
  Result<std::unique_ptr<IndexReader>> reader = IndexReader::Create(on_entry);
  if (!reader.ok()) return reader.status();
  CLAWBACK_RETURN_IF_ERROR((*reader)->Feed(payload));
  return (*reader)->Finish();
}

}  // namespace clawback::archive_index
