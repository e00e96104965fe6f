#include "agent/server/backup_stream.h"

#include <cstdio>
#include <cstring>
#include <optional>

#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include "agent/server/http_responses.h"
#include "shared/protocol.h"

namespace clawback::agent {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

// Frames each compressor block as one HTTP chunk in place and writes it in
// one piece: "<hex size>\r\n" in the headroom, "\r\n" in the tailroom.
class ChunkedWire : public ChunkSink {
 public:
  explicit ChunkedWire(TransferStream& io) : io_(io) {}

  Status Write(char* data, size_t size) override {
    if (size == 0) return Status::Ok();  // a zero-size chunk would end the body
    char line[kHeadroom + 1];
    const int n = std::snprintf(line, sizeof line, "%zx\r\n", size);
    char* start = data - n;
    std::memcpy(start, line, static_cast<size_t>(n));
    data[size] = '\r';
    data[size + 1] = '\n';
    const size_t total = static_cast<size_t>(n) + size + 2;
    Status s = io_.WriteAll(start, total);
    if (!s.ok()) {
      wire_ = s;
      return s;
    }
    bytes_ += total;
    return Status::Ok();
  }

  const Status& wire() const { return wire_; }
  uint64_t bytes() const { return bytes_; }

 private:
  TransferStream& io_;
  Status wire_;
  uint64_t bytes_ = 0;
};

std::string TrailerNames() {
  std::string names;
  for (std::string_view name : {protocol::kTrailerStatus, protocol::kTrailerEntries, protocol::kTrailerBytesRead,
                                protocol::kTrailerBytesSent, protocol::kTrailerSha256, protocol::kTrailerWarnings,
                                protocol::kTrailerWarningDetail, protocol::kTrailerDatabases,
                                protocol::kTrailerDatabasesRaw, protocol::kTrailerQuiesced, protocol::kTrailerError,
                                protocol::kTrailerArchiveFormat, protocol::kTrailerIndexEntries}) {
    if (!names.empty()) names += ", ";
    names += name;
  }
  return names;
}

// A message fit for a header value: printable ASCII on one line, at most
// 4 KiB (other bytes become '?'; a path in the message may hold anything).
std::string OneAsciiLine(const std::string& message) {
  std::string out;
  for (char c : message.substr(0, 4096)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

Status WriteFinalChunk(TransferStream& io, const http::fields& trailers, uint64_t* bytes) {
  boost::system::error_code ec;
  const size_t n = net::write(io.stream(), http::make_chunk_last(trailers), ec);
  io.Moved(n);
  *bytes += n;
  if (ec) return Status::Unavailable("writing the final chunk: " + ec.message());
  return Status::Ok();
}

}  // namespace

BackupStreamResult ServeBackup(TransferStream& io, const BackupOptions& options,
                               const std::vector<std::string>& paths, QuiesceScope* quiesce,
                               unsigned http_version) {
  BackupStreamResult out;
  if (quiesce != nullptr) {
    Status pre = quiesce->Begin();
    if (!pre.ok()) {
      std::optional<std::string> post = quiesce->End();
      nlohmann::json body = {{"error", pre.message()}, {"code", Status::CodeName(pre.code())}};
      if (post) body["warnings"] = {*post};
      out.backup = pre;
      out.refused_before_stream = true;
      out.bytes_out = WriteJsonResponse(io, HttpStatusFor(pre), body, http_version);
      out.wire = Status::Ok();
      return out;
    }
    out.quiesced = quiesce->quiesced();
  }
  http::response<http::empty_body> res(http::status::ok, http_version);
  res.set(http::field::content_type, protocol::kArchiveContentType);
  res.set(http::field::cache_control, "no-store");
  res.set(http::field::trailer, TrailerNames());
  res.chunked(true);
  res.keep_alive(false);
  http::response_serializer<http::empty_body> serializer(res);
  boost::system::error_code ec;
  out.bytes_out = http::write_header(io.stream(), serializer, ec);
  io.Moved(out.bytes_out);
  if (ec) {
    out.wire = Status::Unavailable("writing the response header: " + ec.message());
    out.backup = out.wire;
    return out;
  }

  ChunkedWire wire(io);
  out.backup = WriteBackup(options, paths, wire);
  out.bytes_out += wire.bytes();
  if (quiesce != nullptr) {
    // The data has been read: let the writers go on before the trailers.
    if (std::optional<std::string> warning = quiesce->End(); warning && out.backup.ok())
      out.backup.value().warnings.push_back(*warning);
  }
  if (!wire.wire().ok()) {
    out.wire = wire.wire();
    return out;
  }

  http::fields trailers;
  if (!out.backup.ok()) {
    // Only a refusal the engine decided is said on the wire; everything else
    // is a cut, which the controller reads as a broken archive.
    if (!IsBackupRefusal(out.backup.status())) {
      out.wire = Status::Unavailable("backup failed mid-stream");
      return out;
    }
    trailers.set(protocol::kTrailerStatus, "error");
    trailers.set(protocol::kTrailerError, OneAsciiLine(out.backup.status().message()));
    out.wire = WriteFinalChunk(io, trailers, &out.bytes_out);
    return out;
  }
  const BackupSummary& summary = out.backup.value();
  trailers.set(protocol::kTrailerStatus, "ok");
  trailers.set(protocol::kTrailerEntries, std::to_string(summary.entries));
  trailers.set(protocol::kTrailerBytesRead, std::to_string(summary.bytes_read));
  trailers.set(protocol::kTrailerBytesSent, std::to_string(summary.bytes_sent));
  trailers.set(protocol::kTrailerSha256, summary.sha256);
  trailers.set(protocol::kTrailerWarnings, std::to_string(summary.warnings.size()));
  trailers.set(protocol::kTrailerWarningDetail, WarningDetail(summary.warnings));
  trailers.set(protocol::kTrailerQuiesced, out.quiesced ? "true" : "false");
  trailers.set(protocol::kTrailerDatabases, std::to_string(summary.databases_captured));
  trailers.set(protocol::kTrailerDatabasesRaw, std::to_string(summary.databases_raw));
  trailers.set(protocol::kTrailerArchiveFormat, protocol::kArchiveFormatSeekable);
  trailers.set(protocol::kTrailerIndexEntries, std::to_string(summary.index_entries));
  out.wire = WriteFinalChunk(io, trailers, &out.bytes_out);
  if (out.wire.ok()) io.FinishWrites();
  return out;
}

}  // namespace clawback::agent
