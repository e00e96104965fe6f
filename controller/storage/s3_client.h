// A small S3 client on libcurl: the requests clawback's archive storage
// needs, signed by libcurl's own SigV4 (CURLOPT_AWS_SIGV4), with retries.
//
// Keys are full object keys (the caller adds the configured prefix). Every
// request is retried up to config.max_attempts times with exponential
// backoff (and jitter) on a connection failure, a timeout or stall, a
// dropped connection, HTTP 5xx, 429, or S3's RequestTimeout/SlowDown codes;
// other answers are final. Errors are Status messages naming the bucket,
// the endpoint and S3's own code and message:
//   Unavailable "s3: bucket clawback unreachable at http://127.0.0.1:9: Connection refused ..."
//   NotFound "s3: clawback/a/b.tar.zst: NoSuchKey: The specified key does not exist. (HTTP 404)"
//   PermissionDenied for 403 (AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch).
//
// Connections are kept alive and reused (curl_handle_pool.h): a request
// checks out an idle curl handle and finds its last connection open, so a
// backup's parts, HEADs, ranged GETs and list pages run over one connection
// (one TCP, and with https one TLS, handshake) instead of one each. A reused
// connection may have been closed by the server while idle (servers close
// idle keep-alive connections, or drop one as a request arrives). libcurl
// checks a connection before reusing it (one whose peer has closed is not
// used), and when the close races the request so that nothing at all comes
// back, libcurl sends it again at once on a fresh connection ("Connection
// died, retrying a fresh connect"). libcurl does not do that when the close
// cuts a request body short (a send error mid-part), so we do: a request
// that failed on a reused connection with a send/receive error or an empty
// reply before any byte of an answer arrived is sent again at once on a
// fresh connection (CURLOPT_FRESH_CONNECT). Neither resend counts as an
// attempt or waits a backoff: nothing says the server failed. The tests
// prove both with a single attempt allowed (s3_connection_reuse_test.cc).
// Any other failure is retried as above, on a fresh connection (libcurl
// closes a connection after a transport error). Requests are idempotent for
// S3 (a part, an object, a delete) or were already retried after a dropped
// connection (create/complete).
//
// Thread-safe: a request uses a handle no other thread holds (the pool hands
// each out to one request at a time); `cancel`, when given, stops a request
// (and its retries) soon after it is set (Canceled).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controller/storage/s3_config.h"
#include "shared/status.h"

namespace clawback::controller::storage {

struct S3Object {
  std::string key;
  uint64_t size = 0;
};

struct S3Upload {
  std::string key;
  std::string upload_id;
  std::string initiated;  // ISO 8601, as S3 reports it
};

struct S3CompletedPart {
  int number = 0;
  std::string etag;             // as UploadPart returned it (quoted)
  std::string checksum_sha256;  // base64, when parts carry x-amz-checksum-sha256
};

// What a client's requests cost in connections, since it was made.
struct S3TransportStats {
  uint64_t requests = 0;     // requests sent, retries included
  uint64_t connections = 0;  // TCP connections they opened (the rest reused one)
};

class CurlHandlePool;

// Global libcurl initialisation; call once at startup before threads (safe to repeat).
void InitCurl();

class S3Client {
 public:
  explicit S3Client(S3Config config);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;
  const S3Config& config() const { return config_; }
  // The configured prefix + name.
  std::string Key(const std::string& name) const { return config_.prefix + name; }

  // HEAD on the bucket: OK when it exists and the credentials may use it.
  Status CheckBucket(const std::atomic<bool>* cancel = nullptr) const;

  Status PutObject(const std::string& key, std::string_view body) const;
  Result<std::string> GetObject(const std::string& key) const;
  // Bytes [offset, offset + size) into `out`; returns how many arrived
  // (fewer only at the object's end).
  Result<size_t> GetRange(const std::string& key, uint64_t offset, char* out, size_t size,
                          const std::atomic<bool>* cancel = nullptr) const;
  // The object's size; NotFound when there is none.
  Result<uint64_t> HeadObject(const std::string& key) const;
  // OK also when the object did not exist.
  Status DeleteObject(const std::string& key) const;
  // Every object whose key starts with `prefix` (all pages).
  Result<std::vector<S3Object>> ListObjects(const std::string& prefix) const;

  Result<std::string> CreateMultipartUpload(const std::string& key) const;
  // Returns the part (its ETag and, with sha256 checksums, the checksum).
  Result<S3CompletedPart> UploadPart(const std::string& key, const std::string& upload_id, int number,
                                     std::string_view data, const std::atomic<bool>* cancel = nullptr) const;
  Status CompleteMultipartUpload(const std::string& key, const std::string& upload_id,
                                 const std::vector<S3CompletedPart>& parts) const;
  // OK also when the upload no longer exists.
  Status AbortMultipartUpload(const std::string& key, const std::string& upload_id) const;
  // Unfinished multipart uploads whose key starts with `prefix` (all pages).
  Result<std::vector<S3Upload>> ListMultipartUploads(const std::string& prefix) const;

  // Object Lock: retain `key` until `until_unix` in `mode` (GOVERNANCE/COMPLIANCE).
  Status PutObjectRetention(const std::string& key, const std::string& mode, int64_t until_unix) const;
  // The object's retain-until date (unix seconds), nullopt when it has none.
  Result<std::optional<int64_t>> GetObjectRetention(const std::string& key) const;

  S3TransportStats transport_stats() const { return {requests_.load(), connections_.load()}; }

 private:
  struct Request;
  struct Response;
  Result<Response> Send(const Request& request) const;
  // `fresh`: on a new connection. Sets `retryable`, and `stale` when the
  // request failed on a reused connection before any answer arrived.
  Result<Response> SendOnce(const Request& request, bool fresh, bool* retryable, bool* stale) const;
  std::string Url(const std::string& key, const std::string& query) const;

  S3Config config_;
  std::unique_ptr<CurlHandlePool> handles_;
  mutable std::atomic<uint64_t> requests_{0};
  mutable std::atomic<uint64_t> connections_{0};
};

// UTC "2026-12-03T15:04:05Z" <-> unix seconds.
std::string Iso8601(int64_t unix_seconds);
std::optional<int64_t> ParseIso8601(const std::string& text);

}  // namespace clawback::controller::storage
