#include "controller/clock.h"
#include "controller/storage/s3_client.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cctype>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "controller/storage/curl_handle_pool.h"
#include "controller/storage/s3_xml.h"

namespace clawback::controller::storage {
namespace {

constexpr const char* kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string Hex(const unsigned char* d, unsigned n) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out.push_back(kHex[d[i] >> 4]);
    out.push_back(kHex[d[i] & 15]);
  }
  return out;
}

std::string Base64(const unsigned char* d, unsigned n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), d, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

// Digest of `data` with `md` (SHA-256 or MD5), raw bytes.
std::string Digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

const unsigned char* U(const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// RFC 3986 percent-encoding as SigV4 wants it; '/' kept when `keep_slash`.
std::string UriEncode(std::string_view s, bool keep_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// A canonical (sorted, encoded) query string; every parameter has "=".
std::string Query(const std::map<std::string, std::string>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out.push_back('&');
    out += UriEncode(k, false) + "=" + UriEncode(v, false);
  }
  return out;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

void InitCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct S3Client::Request {
  std::string op;      // for messages: "PUT", "upload part 3 of" ...
  std::string method;  // GET HEAD PUT POST DELETE
  std::string key;     // "" for the bucket itself
  std::string query;   // canonical
  std::vector<std::string> headers;
  std::optional<std::string_view> body;  // sent with PUT/POST
  std::string payload_sha256 = kEmptySha256;
  char* out = nullptr;  // when set, the body goes here (up to out_size)
  size_t out_size = 0;
  const std::atomic<bool>* cancel = nullptr;
};

struct S3Client::Response {
  long http = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  size_t out_bytes = 0;
};

S3Client::S3Client(S3Config config) : config_(std::move(config)) {
  InitCurl();
  handles_ = std::make_unique<CurlHandlePool>();
}

S3Client::~S3Client() = default;

std::string S3Client::Url(const std::string& key, const std::string& query) const {
  std::string url;
  const std::string path = key.empty() ? "" : UriEncode(key, true);
  if (config_.path_style) {
    url = config_.endpoint + "/" + config_.bucket + (path.empty() ? "" : "/" + path);
  } else {
    size_t scheme = config_.endpoint.find("://");
    url = config_.endpoint.substr(0, scheme + 3) + config_.bucket + "." + config_.endpoint.substr(scheme + 3) + "/" +
          path;
  }
  if (path.empty() && config_.path_style) url += "/";
  if (!query.empty()) url += "?" + query;
  return url;
}

namespace {

struct Transfer {
  std::string_view upload;
  std::string* body = nullptr;
  char* out = nullptr;
  size_t out_size = 0;
  size_t out_bytes = 0;
  std::map<std::string, std::string>* headers = nullptr;
  const std::atomic<bool>* cancel = nullptr;
};

size_t OnWrite(char* data, size_t size, size_t n, void* p) {
  auto* t = static_cast<Transfer*>(p);
  size_t len = size * n;
  if (t->out != nullptr) {
    if (len > t->out_size - t->out_bytes) return 0;  // more than asked for: fail
    std::memcpy(t->out + t->out_bytes, data, len);
    t->out_bytes += len;
  } else {
    t->body->append(data, len);
  }
  return len;
}

size_t OnHeader(char* data, size_t size, size_t n, void* p) {
  auto* t = static_cast<Transfer*>(p);
  std::string_view line(data, size * n);
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name = Lower(std::string(line.substr(0, colon)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
    (*t->headers)[name] = std::string(value);
  }
  return size * n;
}

int OnProgress(void* p, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(p);
  return t->cancel != nullptr && t->cancel->load() ? 1 : 0;
}

bool Canceled(const std::atomic<bool>* cancel) { return cancel != nullptr && cancel->load(); }

// Transport failures that a connection closed by the server while it sat
// idle produces on the next request sent over it.
bool DeadConnection(CURLcode rc) {
  return rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING;
}

}  // namespace

Result<S3Client::Response> S3Client::SendOnce(const Request& rq, bool fresh, bool* retryable, bool* stale) const {
  *retryable = false;
  *stale = false;
  CurlHandlePool::Lease curl = handles_->Checkout();
  if (curl.get() == nullptr) return Status::Internal("s3: curl_easy_init failed");
  CURL* c = curl.get();
  Response response;
  Transfer t;
  t.body = &response.body;
  t.out = rq.out;
  t.out_size = rq.out_size;
  t.headers = &response.headers;
  t.cancel = rq.cancel;
  if (rq.body) t.upload = *rq.body;

  const std::string url = Url(rq.key, rq.query);
  const std::string userpwd = config_.access_key + ":" + config_.secret_key;
  const std::string sigv4 = "aws:amz:" + config_.region + ":s3";
  curl_slist* raw = nullptr;
  std::vector<std::string> headers = rq.headers;
  headers.push_back("x-amz-content-sha256: " + rq.payload_sha256);
  if (!config_.session_token.empty()) headers.push_back("x-amz-security-token: " + config_.session_token);
  for (const std::string& h : headers) raw = curl_slist_append(raw, h.c_str());
  std::unique_ptr<curl_slist, SlistDeleter> list(raw);
  char errbuf[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(c, CURLOPT_USERPWD, userpwd.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, config_.connect_timeout_s);
  if (!config_.ca_bundle.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, config_.ca_bundle.c_str());
  // An empty "Expect:" header to suppress 100-continue would be signed but
  // not sent (a signature mismatch); waiting 1 ms for a 100 costs nothing.
  curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, config_.stall_timeout_s);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnWrite);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  if (rq.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (rq.method == "PUT" || rq.method == "POST") {
    // Bodies are always in memory and sent as POSTFIELDS (PUT as a custom
    // method): libcurl's SigV4 (7.88) hashes POSTFIELDS for the signature
    // but not an upload read through a callback, and ignores our
    // x-amz-content-sha256, so the hex SHA-256 we send must be the body's.
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, t.upload.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t.upload.size()));
    if (rq.method == "PUT") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
  } else if (rq.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq.method.c_str());
  }
  CurlHandlePool::ApplyConnectionOptions(c);
  if (fresh) curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);

  CURLcode rc = curl_easy_perform(c);
  long opened = 0, header_bytes = 0;
  curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &opened);
  curl_easy_getinfo(c, CURLINFO_HEADER_SIZE, &header_bytes);
  ++requests_;
  connections_ += static_cast<uint64_t>(opened);
  response.out_bytes = t.out_bytes;
  if (rc != CURLE_OK) {
    if (rc == CURLE_ABORTED_BY_CALLBACK && Canceled(rq.cancel)) return Status::Canceled("s3: " + rq.op + " canceled");
    *retryable = true;
    *stale = opened == 0 && header_bytes == 0 && DeadConnection(rc);
    std::string detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      return Status::DeadlineExceeded("s3: " + rq.op + " timed out at " + config_.endpoint + ": " + detail);
    }
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_SSL_CONNECT_ERROR) {
      return Status::Unavailable("s3: bucket " + config_.bucket + " unreachable at " + config_.endpoint + ": " +
                                 detail);
    }
    return Status::Unavailable("s3: " + rq.op + " failed at " + config_.endpoint + ": " + detail);
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.http);
  // CompleteMultipartUpload can answer 200 with an <Error> body.
  const bool error_body = response.http == 200 && rq.method == "POST" && response.body.find("<Error>") != std::string::npos;
  if (response.http >= 200 && response.http < 300 && !error_body) return response;

  std::string code = xml::First(response.body, "Code").value_or("");
  std::string message = xml::First(response.body, "Message").value_or("");
  *retryable = response.http >= 500 || response.http == 429 || code == "RequestTimeout" || code == "SlowDown" ||
               code == "InternalError";
  const std::string where = "s3: " + rq.op + (rq.key.empty() ? " bucket " + config_.bucket : " " + config_.bucket + "/" + rq.key);
  std::string text = where + ": " + (code.empty() ? "HTTP " + std::to_string(response.http) : code) +
                     (message.empty() ? "" : ": " + message) + (code.empty() ? "" : " (HTTP " + std::to_string(response.http) + ")");
  if (response.http == 404) return Status::NotFound(text);
  if (response.http == 403) return Status::PermissionDenied(text);
  if (*retryable) return Status::Unavailable(text);
  return Status::FailedPrecondition(text);
}

Result<S3Client::Response> S3Client::Send(const Request& rq) const {
  thread_local std::mt19937 rng(std::random_device{}());
  long backoff = config_.first_backoff_ms;
  for (int attempt = 1;; ++attempt) {
    bool retryable = false, stale = false;
    auto r = SendOnce(rq, /*fresh=*/false, &retryable, &stale);
    // A kept connection the server closed under us (libcurl resends by
    // itself when it notices on reading, not when the close cuts a body it
    // is sending): once more at once on a new connection, not counted as an
    // attempt (see the header).
    if (!r.ok() && stale && !Canceled(rq.cancel)) r = SendOnce(rq, /*fresh=*/true, &retryable, &stale);
    if (r.ok() || !retryable || attempt >= config_.max_attempts || Canceled(rq.cancel)) {
      if (!r.ok() && retryable && attempt > 1) {
        return Status(r.status().code(), r.status().message() + " (after " + std::to_string(attempt) + " attempts)");
      }
      return r;
    }
    // Full jitter in [backoff/2, backoff], then double, capped at 10 s.
    long sleep_ms = backoff / 2 + static_cast<long>(rng() % static_cast<unsigned>(backoff / 2 + 1));
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(sleep_ms);
    while (std::chrono::steady_clock::now() < until) {
      if (Canceled(rq.cancel)) return Status::Canceled("s3: " + rq.op + " canceled");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    backoff = std::min(backoff * 2, 10000L);
  }
}

Status S3Client::CheckBucket(const std::atomic<bool>* cancel) const {
  Request rq;
  rq.op = "HEAD";
  rq.method = "HEAD";
  rq.cancel = cancel;
  auto r = Send(rq);
  if (!r.ok() && r.status().code() == Status::Code::kNotFound) {
    return Status::NotFound("s3: bucket " + config_.bucket + " does not exist at " + config_.endpoint);
  }
  return r.status();
}

Status S3Client::PutObject(const std::string& key, std::string_view body) const {
  Request rq;
  rq.op = "PUT";
  rq.method = "PUT";
  rq.key = key;
  rq.body = body;
  const std::string sha = Digest(EVP_sha256(), body);
  rq.payload_sha256 = Hex(U(sha), static_cast<unsigned>(sha.size()));
  rq.headers.push_back("Content-Type: application/octet-stream");
  return Send(rq).status();
}

Result<std::string> S3Client::GetObject(const std::string& key) const {
  Request rq;
  rq.op = "GET";
  rq.method = "GET";
  rq.key = key;
  auto r = Send(rq);
  if (!r.ok()) return r.status();
  return std::move(r->body);
}

Result<size_t> S3Client::GetRange(const std::string& key, uint64_t offset, char* out, size_t size,
                                  const std::atomic<bool>* cancel) const {
  if (size == 0) return size_t{0};
  Request rq;
  rq.op = "GET";
  rq.method = "GET";
  rq.key = key;
  rq.out = out;
  rq.out_size = size;
  rq.cancel = cancel;
  rq.headers.push_back("Range: bytes=" + std::to_string(offset) + "-" + std::to_string(offset + size - 1));
  auto r = Send(rq);
  if (!r.ok()) {
    if (r.status().message().find("InvalidRange") != std::string::npos) return size_t{0};
    return r.status();
  }
  if (r->http == 200 && offset != 0) {
    return Status::FailedPrecondition("s3: GET " + config_.bucket + "/" + key + " ignored the Range header");
  }
  return r->out_bytes;
}

Result<uint64_t> S3Client::HeadObject(const std::string& key) const {
  Request rq;
  rq.op = "HEAD";
  rq.method = "HEAD";
  rq.key = key;
  auto r = Send(rq);
  if (!r.ok()) return r.status();
  auto it = r->headers.find("content-length");
  if (it == r->headers.end()) return Status::Internal("s3: HEAD " + key + " without Content-Length");
  return static_cast<uint64_t>(std::stoull(it->second));
}

Status S3Client::DeleteObject(const std::string& key) const {
  Request rq;
  rq.op = "DELETE";
  rq.method = "DELETE";
  rq.key = key;
  auto r = Send(rq);
  if (!r.ok() && r.status().code() == Status::Code::kNotFound &&
      r.status().message().find("NoSuchKey") != std::string::npos) {
    return Status::Ok();
  }
  return r.status();
}

Result<std::vector<S3Object>> S3Client::ListObjects(const std::string& prefix) const {
  std::vector<S3Object> out;
  std::string token;
  for (;;) {
    std::map<std::string, std::string> q{{"list-type", "2"}, {"prefix", prefix}};
    if (!token.empty()) q["continuation-token"] = token;
    Request rq;
    rq.op = "LIST";
    rq.method = "GET";
    rq.query = Query(q);
    auto r = Send(rq);
    if (!r.ok()) return r.status();
    for (std::string_view item : xml::All(r->body, "Contents")) {
      S3Object o;
      o.key = xml::First(item, "Key").value_or("");
      o.size = std::stoull(xml::First(item, "Size").value_or("0"));
      out.push_back(std::move(o));
    }
    if (xml::First(r->body, "IsTruncated").value_or("false") != "true") break;
    token = xml::First(r->body, "NextContinuationToken").value_or("");
    if (token.empty()) return Status::Internal("s3: LIST truncated without a continuation token");
  }
  return out;
}

Result<std::string> S3Client::CreateMultipartUpload(const std::string& key) const {
  Request rq;
  rq.op = "create multipart upload";
  rq.method = "POST";
  rq.key = key;
  rq.query = "uploads=";
  rq.body = std::string_view();
  rq.headers.push_back("Content-Type: application/octet-stream");
  if (config_.part_checksum == PartChecksum::kSha256) rq.headers.push_back("x-amz-checksum-algorithm: SHA256");
  auto r = Send(rq);
  if (!r.ok()) return r.status();
  auto id = xml::First(r->body, "UploadId");
  if (!id || id->empty()) return Status::Internal("s3: CreateMultipartUpload answered without an UploadId");
  return *id;
}

Result<S3CompletedPart> S3Client::UploadPart(const std::string& key, const std::string& upload_id, int number,
                                             std::string_view data, const std::atomic<bool>* cancel) const {
  Request rq;
  rq.op = "upload part " + std::to_string(number) + " of";
  rq.method = "PUT";
  rq.key = key;
  rq.query = Query({{"partNumber", std::to_string(number)}, {"uploadId", upload_id}});
  rq.body = data;
  rq.cancel = cancel;
  S3CompletedPart part;
  part.number = number;
  // The signed payload hash is the part's SHA-256 in every mode (see SendOnce).
  const std::string sha = Digest(EVP_sha256(), data);
  rq.payload_sha256 = Hex(U(sha), static_cast<unsigned>(sha.size()));
  rq.headers.push_back("Content-Type: application/octet-stream");
  if (config_.part_checksum == PartChecksum::kSha256) {
    part.checksum_sha256 = Base64(U(sha), static_cast<unsigned>(sha.size()));
    rq.headers.push_back("x-amz-checksum-sha256: " + part.checksum_sha256);
  } else if (config_.part_checksum == PartChecksum::kMd5) {
    const std::string md5 = Digest(EVP_md5(), data);
    rq.headers.push_back("Content-MD5: " + Base64(U(md5), static_cast<unsigned>(md5.size())));
  }
  auto r = Send(rq);
  if (!r.ok()) return r.status();
  auto it = r->headers.find("etag");
  if (it == r->headers.end() || it->second.empty()) {
    return Status::Internal("s3: UploadPart " + std::to_string(number) + " answered without an ETag");
  }
  part.etag = it->second;
  return part;
}

Status S3Client::CompleteMultipartUpload(const std::string& key, const std::string& upload_id,
                                         const std::vector<S3CompletedPart>& parts) const {
  std::string body = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (const S3CompletedPart& p : parts) {
    body += "<Part><PartNumber>" + std::to_string(p.number) + "</PartNumber><ETag>" + xml::Escape(p.etag) + "</ETag>";
    if (!p.checksum_sha256.empty()) body += "<ChecksumSHA256>" + p.checksum_sha256 + "</ChecksumSHA256>";
    body += "</Part>";
  }
  body += "</CompleteMultipartUpload>";
  Request rq;
  rq.op = "complete multipart upload of";
  rq.method = "POST";
  rq.key = key;
  rq.query = Query({{"uploadId", upload_id}});
  rq.body = body;
  const std::string sha = Digest(EVP_sha256(), body);
  rq.payload_sha256 = Hex(U(sha), static_cast<unsigned>(sha.size()));
  rq.headers.push_back("Content-Type: application/xml");
  return Send(rq).status();
}

Status S3Client::AbortMultipartUpload(const std::string& key, const std::string& upload_id) const {
  Request rq;
  rq.op = "abort multipart upload of";
  rq.method = "DELETE";
  rq.key = key;
  rq.query = Query({{"uploadId", upload_id}});
  auto r = Send(rq);
  if (!r.ok() && r.status().code() == Status::Code::kNotFound) return Status::Ok();
  return r.status();
}

Result<std::vector<S3Upload>> S3Client::ListMultipartUploads(const std::string& prefix) const {
  std::vector<S3Upload> out;
  std::string key_marker, id_marker;
  for (;;) {
    std::map<std::string, std::string> q{{"uploads", ""}, {"prefix", prefix}};
    if (!key_marker.empty()) q["key-marker"] = key_marker;
    if (!id_marker.empty()) q["upload-id-marker"] = id_marker;
    Request rq;
    rq.op = "list multipart uploads in";
    rq.method = "GET";
    rq.query = Query(q);
    auto r = Send(rq);
    if (!r.ok()) return r.status();
    for (std::string_view item : xml::All(r->body, "Upload")) {
      S3Upload u;
      u.key = xml::First(item, "Key").value_or("");
      u.upload_id = xml::First(item, "UploadId").value_or("");
      u.initiated = xml::First(item, "Initiated").value_or("");
      if (!u.key.empty() && !u.upload_id.empty()) out.push_back(std::move(u));
    }
    if (xml::First(r->body, "IsTruncated").value_or("false") != "true") break;
    key_marker = xml::First(r->body, "NextKeyMarker").value_or("");
    id_marker = xml::First(r->body, "NextUploadIdMarker").value_or("");
    if (key_marker.empty()) return Status::Internal("s3: ListMultipartUploads truncated without a marker");
  }
  return out;
}

Status S3Client::PutObjectRetention(const std::string& key, const std::string& mode, int64_t until_unix) const {
  const std::string body = "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>" + mode +
                           "</Mode><RetainUntilDate>" + Iso8601(until_unix) + "</RetainUntilDate></Retention>";
  Request rq;
  rq.op = "put object retention on";
  rq.method = "PUT";
  rq.key = key;
  rq.query = "retention=";
  rq.body = body;
  const std::string sha = Digest(EVP_sha256(), body);
  rq.payload_sha256 = Hex(U(sha), static_cast<unsigned>(sha.size()));
  const std::string md5 = Digest(EVP_md5(), body);
  rq.headers.push_back("Content-MD5: " + Base64(U(md5), static_cast<unsigned>(md5.size())));
  rq.headers.push_back("Content-Type: application/xml");
  return Send(rq).status();
}

Result<std::optional<int64_t>> S3Client::GetObjectRetention(const std::string& key) const {
  // HEAD reports the retention as headers (with s3:GetObjectRetention), which
  // every S3-compatible server that supports Object Lock answers.
  Request rq;
  rq.op = "HEAD";
  rq.method = "HEAD";
  rq.key = key;
  auto r = Send(rq);
  if (!r.ok()) {
    if (r.status().code() == Status::Code::kNotFound) return std::optional<int64_t>();
    return r.status();
  }
  auto it = r->headers.find("x-amz-object-lock-retain-until-date");
  if (it == r->headers.end() || it->second.empty()) return std::optional<int64_t>();
  auto parsed = ParseIso8601(it->second);
  if (!parsed) return Status::Internal("s3: unreadable retain-until date \"" + it->second + "\" of " + key);
  return std::optional<int64_t>(*parsed);
}

std::string Iso8601(int64_t unix_seconds) { return FormatUtcRfc3339(unix_seconds); }

std::optional<int64_t> ParseIso8601(const std::string& text) {
  std::tm tm{};
  int year = 0, mon = 0, day = 0, hour = 0, min = 0, sec = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &year, &mon, &day, &hour, &min, &sec) != 6) {
    return std::nullopt;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace clawback::controller::storage
