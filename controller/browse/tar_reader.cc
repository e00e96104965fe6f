#include "controller/browse/tar_reader.h"

#include <archive.h>
#include <archive_entry.h>

#include "shared/path_rules.h"

namespace clawback::controller::browse {

std::string EntryTypeName(archive_entry* e) {
  if (archive_entry_hardlink(e) != nullptr) return "hardlink";
  switch (archive_entry_filetype(e)) {
    case AE_IFREG: return "file";
    case AE_IFDIR: return "dir";
    case AE_IFLNK: return "symlink";
    case AE_IFCHR: return "char";
    case AE_IFBLK: return "block";
    case AE_IFIFO: return "fifo";
    default: return "";
  }
}

std::string ArchiveName(archive_entry* e) {
  const char* raw = archive_entry_pathname(e);
  std::string name = raw ? raw : "";
  while (name.rfind("./", 0) == 0) name.erase(0, 2);
  while (!name.empty() && name.back() == '/') name.pop_back();
  return name;
}

TarReader::TarReader(TarStream& stream, uint64_t base) : stream_(stream), base_(base), buf_(256 * 1024, '\0') {}

TarReader::~TarReader() {
  if (ar_ != nullptr) archive_read_free(ar_);
}

long TarReader::ReadCallback(archive* a, void* p, const void** out) {
  auto* self = static_cast<TarReader*>(p);
  auto n = self->stream_.Read(self->buf_.data(), self->buf_.size());
  if (!n.ok()) {
    self->broken_ = n.status();
    archive_set_error(a, EIO, "%s", n.status().message().c_str());
    return -1;
  }
  *out = self->buf_.data();
  return static_cast<long>(*n);
}

int64_t TarReader::SkipCallback(archive* a, void* p, int64_t request) {
  auto* self = static_cast<TarReader*>(p);
  if (request <= 0) return 0;
  auto n = self->stream_.Skip(static_cast<uint64_t>(request));
  if (!n.ok()) {
    self->broken_ = n.status();
    archive_set_error(a, EIO, "%s", n.status().message().c_str());
    return ARCHIVE_FATAL;
  }
  return static_cast<int64_t>(*n);
}

Result<std::unique_ptr<TarReader>> TarReader::Open(TarStream& stream, uint64_t offset) {
  CLAWBACK_RETURN_IF_ERROR(stream.Seek(offset));
  std::unique_ptr<TarReader> r(new TarReader(stream, offset));
  r->ar_ = archive_read_new();
  archive_read_support_format_tar(r->ar_);
  archive_read_set_read_callback(r->ar_, &TarReader::ReadCallback);
  archive_read_set_skip_callback(r->ar_, &TarReader::SkipCallback);
  archive_read_set_callback_data(r->ar_, r.get());
  if (archive_read_open1(r->ar_) != ARCHIVE_OK) {
    if (!r->broken_.ok()) return r->broken_;
    return Status::Corruption(std::string("cannot read the archive: ") + archive_error_string(r->ar_));
  }
  return r;
}

Result<archive_entry*> TarReader::NextHeader() {
  archive_entry* e = nullptr;
  int rc = archive_read_next_header(ar_, &e);
  if (rc == ARCHIVE_EOF) return static_cast<archive_entry*>(nullptr);
  if (rc < ARCHIVE_WARN) {
    if (!broken_.ok()) return broken_;
    const char* why = archive_error_string(ar_);
    return Status::Corruption(std::string("unreadable tar header at offset ") +
                              std::to_string(base_ + static_cast<uint64_t>(archive_read_header_position(ar_))) +
                              ": " + (why ? why : "unknown error"));
  }
  header_offset_ = base_ + static_cast<uint64_t>(archive_read_header_position(ar_));
  return e;
}

Result<size_t> TarReader::ReadData(char* buf, size_t capacity) {
  la_ssize_t n = archive_read_data(ar_, buf, capacity);
  if (n < 0) {
    if (!broken_.ok()) return broken_;
    const char* why = archive_error_string(ar_);
    return Status::Corruption(std::string("cannot read archived content: ") + (why ? why : "unknown error"));
  }
  return static_cast<size_t>(n);
}

Status CheckHeader(archive_entry* h, const IndexEntry& want) {
  const std::string name = ArchiveName(h);
  const std::string type = EntryTypeName(h);
  auto mismatch = [&](const std::string& what) {
    return Status::Corruption("file index does not match the archive at offset " + std::to_string(want.offset) +
                              ": " + what + " (index says " + PrintablePath(want.path) + ", " + want.type + ", " +
                              std::to_string(want.size) + " bytes)");
  };
  if (name != want.path) return mismatch("the header there names " + PrintablePath(name));
  if (type != want.type) return mismatch("the entry there is a " + (type.empty() ? "special file" : type));
  const uint64_t size = archive_entry_size_is_set(h) ? static_cast<uint64_t>(archive_entry_size(h)) : 0;
  if (type == "file" && size != want.size) return mismatch("the entry there holds " + std::to_string(size) + " bytes");
  return Status::Ok();
}

FileContent::FileContent(std::unique_ptr<TarReader> reader, IndexEntry entry)
    : reader_(std::move(reader)), entry_(std::move(entry)) {}

Result<std::unique_ptr<FileContent>> FileContent::Open(TarStream& stream, const IndexEntry& entry) {
  if (entry.type != "file" || !entry.in_archive) {
    return Status::FailedPrecondition("not a regular file: /" + entry.path);
  }
  auto reader = TarReader::Open(stream, entry.offset);
  if (!reader.ok()) return reader.status();
  auto header = (*reader)->NextHeader();
  if (!header.ok()) return header.status();
  if (*header == nullptr) return Status::Corruption("file index offset " + std::to_string(entry.offset) + " is past the archive's end");
  if ((*reader)->header_offset() != entry.offset) {
    return Status::Corruption("file index does not match the archive: no header at offset " + std::to_string(entry.offset));
  }
  CLAWBACK_RETURN_IF_ERROR(CheckHeader(*header, entry));
  return std::unique_ptr<FileContent>(new FileContent(std::move(reader).value(), entry));
}

Result<size_t> FileContent::Read(char* buf, size_t capacity) {
  const uint64_t left = entry_.size - read_;
  if (left == 0) return size_t{0};
  auto n = reader_->ReadData(buf, static_cast<size_t>(std::min<uint64_t>(capacity, left)));
  if (!n.ok()) return n.status();
  if (*n == 0) return Status::Corruption("archive ends inside /" + PrintablePath(entry_.path));
  sha_.Update(buf, *n);
  read_ += *n;
  if (read_ == entry_.size && !entry_.sha256.empty()) {
    std::string got = sha_.HexDigest();
    if (got != entry_.sha256) {
      return Status::Corruption("content of /" + PrintablePath(entry_.path) + " does not match the file index (sha256 " +
                                got + ", index says " + entry_.sha256 + ")");
    }
  }
  return n;
}

Result<std::string> ReadWholeFile(TarStream& stream, const IndexEntry& entry) {
  auto content = FileContent::Open(stream, entry);
  if (!content.ok()) return content.status();
  std::string out;
  out.resize(static_cast<size_t>(entry.size));
  size_t at = 0;
  while (at < out.size()) {
    auto n = (*content)->Read(out.data() + at, out.size() - at);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    at += *n;
  }
  if (at != out.size()) return Status::Corruption("short content for /" + PrintablePath(entry.path));
  return out;
}

}  // namespace clawback::controller::browse
