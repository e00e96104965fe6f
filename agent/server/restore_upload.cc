#include "agent/server/restore_upload.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include <boost/asio/write.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/read.hpp>
#include <nlohmann/json.hpp>

#include "agent/server/http_responses.h"

namespace clawback::agent {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using json = nlohmann::json;

constexpr uint64_t kDrainAfterFailure = 16 * 1024 * 1024;
constexpr size_t kDrainBuffer = 256 * 1024;

// The upload body as a ChunkSource. Remembers why it broke, so the restore
// reports the cut rather than a generic corrupt archive.
class UploadBody : public ChunkSource {
 public:
  UploadBody(TransferStream& io, http::request_parser<http::empty_body>&& header, beast::flat_buffer& buffer)
      : io_(io), buffer_(buffer) {
    const bool chunked = header.chunked();
    const auto length = header.content_length();
    if (!chunked && length) {
      remaining_ = *length;
    } else {
      parser_.emplace(std::move(header));
      parser_->body_limit(boost::none);
    }
    done_ = !parser_ && remaining_ == 0;
  }

  Result<size_t> Read(void* buf, size_t capacity) override {
    if (!broken_.ok()) return broken_;
    if (done_ || capacity == 0) return size_t{0};
    Result<size_t> n = parser_ ? ReadChunked(buf, capacity) : ReadLength(buf, capacity);
    if (!n.ok()) {
      broken_ = Status::Corruption("stream cut after " + std::to_string(bytes_) + " bytes: " + n.status().message());
      return broken_;
    }
    bytes_ += *n;
    return n;
  }

  // Reads and drops the rest of the body, at most `limit` bytes; true when
  // the body ended within it.
  bool Drain(uint64_t limit) {
    std::vector<char> sink(kDrainBuffer);
    while (!done_ && broken_.ok() && limit > 0) {
      Result<size_t> n = Read(sink.data(), std::min<uint64_t>(sink.size(), limit));
      if (!n.ok() || *n == 0) break;
      limit -= *n;
    }
    return done_;
  }

  bool done() const { return done_; }
  bool broken() const { return !broken_.ok(); }
  uint64_t bytes() const { return bytes_; }

 private:
  Result<size_t> ReadLength(void* buf, size_t capacity) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(capacity, remaining_));
    size_t n = 0;
    if (buffer_.size() > 0) {
      // Body bytes that arrived with the header.
      n = net::buffer_copy(net::buffer(buf, want), buffer_.data());
      buffer_.consume(n);
    } else {
      Result<size_t> got = io_.ReadSome(buf, want);
      if (!got.ok()) return got.status();
      if (*got == 0) return Status::Unavailable("the controller closed the connection");
      n = *got;
    }
    remaining_ -= n;
    done_ = remaining_ == 0;
    return n;
  }

  Result<size_t> ReadChunked(void* buf, size_t capacity) {
    auto& body = parser_->get().body();
    for (;;) {
      body.data = buf;
      body.size = capacity;
      body.more = true;
      beast::error_code ec;
      http::read_some(io_.stream(), buffer_, *parser_, ec);
      if (ec == http::error::need_buffer) ec = {};
      const size_t got = capacity - body.size;
      io_.Moved(got);
      if (ec) return Status::Unavailable(ec.message());
      if (parser_->is_done()) done_ = true;
      if (got > 0 || done_) return got;
    }
  }

  TransferStream& io_;
  beast::flat_buffer& buffer_;
  std::optional<http::request_parser<http::buffer_body>> parser_;  // chunked bodies only
  uint64_t remaining_ = 0;  // Content-Length bodies
  uint64_t bytes_ = 0;
  bool done_ = false;
  Status broken_;
};

json ChangeJson(const ChangeList& list, bool with_names) {
  json out = {{"count", list.count}};
  if (with_names) out["first"] = list.first;
  return out;
}

json SkippedJson(const std::vector<SkippedEntry>& skipped) {
  json out = json::array();
  for (const SkippedEntry& s : skipped) out.push_back({{"path", s.path}, {"reason", s.reason}});
  return out;
}

}  // namespace

RestoreUploadResult ServeRestore(TransferStream& io, http::request_parser<http::empty_body>&& header,
                                 beast::flat_buffer buffer, const RestoreOptions& options, QuiesceScope* quiesce,
                                 bool expect_continue, unsigned http_version) {
  RestoreUploadResult out;
  Status pre = quiesce != nullptr ? quiesce->Begin() : Status::Ok();
  out.quiesced = quiesce != nullptr && quiesce->quiesced();
  // A failed pre-hook answers at once: a client waiting for 100 never sends
  // the body; one that did not wait has it drained below.
  if (expect_continue && pre.ok()) {
    static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
    Status s = io.WriteAll(kContinue, sizeof kContinue - 1);
    if (!s.ok()) {
      out.restore = Status::Corruption("stream cut before the body: " + s.message());
      return out;
    }
    out.bytes_out += sizeof kContinue - 1;
  }

  UploadBody body(io, std::move(header), buffer);
  out.restore = pre.ok() ? ExtractRestore(options, body, &out.partial) : Result<RestoreSummary>(pre);
  out.bytes_in = body.bytes();
  if (quiesce != nullptr) {
    if (std::optional<std::string> warning = quiesce->End())
      (out.restore.ok() ? out.restore.value() : out.partial).warnings.push_back(*warning);
  }
  // A broken upload has no one left to answer.
  if (body.broken()) return out;
  if (!out.restore.ok() && !body.done() && !(expect_continue && !pre.ok())) {
    body.Drain(kDrainAfterFailure);
    out.bytes_in = body.bytes();
  }

  const RestoreSummary& s = out.restore.ok() ? out.restore.value() : out.partial;
  json response = {{"entries_written", s.entries_written},
                   {"bytes_written", s.bytes_written},
                   {"skipped", SkippedJson(s.skipped)},
                   {"warnings", s.warnings},
                   {"quiesced", out.quiesced}};
  if (options.dry_run) {
    response["dry_run"] = true;
    response["entries"] = s.entries;
    response["changes"] = {{"create", ChangeJson(s.changes.create, true)},
                           {"replace", ChangeJson(s.changes.replace, true)},
                           {"unchanged", ChangeJson(s.changes.unchanged, true)}};
  } else {
    response["changes"] = {{"create", ChangeJson(s.changes.create, false)},
                           {"replace", ChangeJson(s.changes.replace, false)}};
  }
  if (out.restore.ok()) {
    response["status"] = "ok";
    out.http_status = 200;
  } else {
    response["error"] = out.restore.status().message();
    response["code"] = Status::CodeName(out.restore.status().code());
    out.http_status = HttpStatusFor(out.restore.status());
  }
  out.bytes_out += WriteJsonResponse(io, out.http_status, response, http_version);
  io.FinishWrites();
  return out;
}

}  // namespace clawback::agent
