// The HTTP request and response as the router and handlers see them: plain
// structs with no Beast types, so handlers and their tests compile fast and the
// wire details (parsing, limits, keep-alive, TLS) stay in server/session.
//
// A response body is either an in-memory string (JSON, HTML, Prometheus text)
// or a FileSlice streamed from an already-open file descriptor in chunks, so a
// multi-gigabyte download never sits in memory and a concurrent DELETE that
// unlinks the file cannot cut a download short.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "shared/status.h"

namespace clawback::controller::api {

// Owns a file descriptor; closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Bytes [offset, offset + length) of an open file.
struct FileSlice {
  std::shared_ptr<UniqueFd> fd;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// A body produced while it is sent (a file checked as it is read, an archive
// encoded as it goes). The session calls Next() on a worker thread, one call
// at a time; the piece stays valid until the next call. An empty span ends
// the body. An error cuts the connection without ending the body (no final
// chunk, or fewer bytes than Content-Length), so the client sees a broken
// transfer, never a complete-looking one.
class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual Result<std::span<const char>> Next() = 0;
};

struct HttpRequest {
  std::string method;                         // "GET", "POST", ...
  std::string path;                           // percent-decoded, no query string
  std::map<std::string, std::string> query;   // decoded; last value wins
  std::map<std::string, std::string> headers; // names lower-cased
  std::string body;
  std::string remote;                         // client address "ip:port"
  bool tls = false;                           // arrived over HTTPS

  // Header value or "" (name must be lower case).
  const std::string& Header(const std::string& lower_name) const;
  // Query value or nullopt.
  std::optional<std::string> Query(const std::string& name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string body;
  std::optional<FileSlice> file;              // when set, streamed instead of body
  std::shared_ptr<BodySource> stream;         // when set, streamed instead of body
  std::optional<uint64_t> stream_length;      // its Content-Length; none: chunked

  void AddHeader(std::string name, std::string value) { headers.emplace_back(std::move(name), std::move(value)); }
};

// Splits "a=1&b=x%20y" into decoded pairs; '+' decodes to a space.
std::map<std::string, std::string> ParseQueryString(std::string_view qs);
// Percent-decodes; returns nullopt on a malformed escape or a decoded NUL.
std::optional<std::string> PercentDecode(std::string_view in, bool plus_is_space);

}  // namespace clawback::controller::api
