// UploadBody: a handed-over upload's body as a ChunkSource, read straight
// from TLS (Content-Length, no copy beyond TLS's own) or through Beast's
// parser (chunked). Shared by restores (restore_upload.cc) and restore
// drills (drill_upload.cc). Private to agent/server.
#pragma once

#include <algorithm>
#include <optional>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include "agent/archive/archive_stream.h"
#include "agent/server/transfer_stream.h"

namespace clawback::agent::upload {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

inline constexpr size_t kDrainBuffer = 256 * 1024;

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

}  // namespace clawback::agent::upload
