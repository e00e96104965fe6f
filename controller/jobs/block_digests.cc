#include "controller/jobs/block_digests.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "shared/small_file.h"

namespace clawback::controller {
namespace {

constexpr std::string_view kMagic = "clawback-block-digests 1";
constexpr std::string_view kSuffix = ".blocks";
constexpr size_t kMaxSidecar = 64 * 1024 * 1024;  // 1 M blocks: a 1 TiB archive

bool IsHexDigest(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool ParseU64(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

std::string BlockDigestsPath(const std::string& archive_path) {
  return archive_path + std::string(kSuffix);
}

std::string EncodeBlockDigests(const BlockDigests& d) {
  std::string out;
  out.reserve(128 + d.blocks.size() * 65);
  out += kMagic;
  out += "\nblock-size " + std::to_string(d.block_size) + "\nsize " + std::to_string(d.size) + "\nsha256 " +
         d.sha256 + "\n";
  for (const std::string& b : d.blocks) out += b + "\n";
  return out;
}

Result<BlockDigests> ParseBlockDigests(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  auto bad = [](const std::string& why) {
    return Status::Corruption("block digest file unreadable: " + why);
  };
  if (!std::getline(in, line) || line != kMagic) return bad("no '" + std::string(kMagic) + "' line");
  BlockDigests d;
  auto field = [&](const char* name, std::string* value) {
    if (!std::getline(in, line)) return false;
    const std::string prefix = std::string(name) + " ";
    if (line.rfind(prefix, 0) != 0) return false;
    *value = line.substr(prefix.size());
    return true;
  };
  std::string value;
  if (!field("block-size", &value) || !ParseU64(value, &d.block_size) || d.block_size == 0)
    return bad("block-size");
  if (!field("size", &value) || !ParseU64(value, &d.size)) return bad("size");
  if (!field("sha256", &d.sha256) || !IsHexDigest(d.sha256)) return bad("sha256");
  while (std::getline(in, line)) {
    if (!IsHexDigest(line)) return bad("block " + std::to_string(d.blocks.size()));
    d.blocks.push_back(line);
  }
  if (d.blocks.size() != d.ExpectedBlocks()) {
    return bad(std::to_string(d.blocks.size()) + " blocks for " + std::to_string(d.size) + " bytes");
  }
  return d;
}

Status WriteBlockDigests(const std::string& archive_path, const BlockDigests& digests) {
  return WriteFileAtomically(BlockDigestsPath(archive_path), EncodeBlockDigests(digests));
}

Result<BlockDigests> ReadBlockDigests(const std::string& archive_path) {
  auto text = ReadSmallFile(BlockDigestsPath(archive_path), kMaxSidecar);
  if (!text.ok() && text.status().code() == Status::Code::kNotFound) {
    return Status::NotFound("no block digests for " + archive_path);
  }
  if (!text.ok()) return text.status();
  return ParseBlockDigests(*text);
}

void BlockDigester::Update(const char* data, size_t size) {
  whole_.Update(data, size);
  out_.size += size;
  while (size > 0) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(size, out_.block_size - in_block_));
    block_->Update(data, n);
    in_block_ += n;
    data += n;
    size -= n;
    if (in_block_ == out_.block_size) {
      out_.blocks.push_back(block_->HexDigest());
      block_ = std::make_unique<Sha256>();
      in_block_ = 0;
    }
  }
}

BlockDigests BlockDigester::Finish() {
  if (in_block_ > 0) out_.blocks.push_back(block_->HexDigest());
  in_block_ = 0;
  out_.sha256 = whole_.HexDigest();
  return std::move(out_);
}

}  // namespace clawback::controller
