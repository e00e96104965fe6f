// A real S3-protocol server for tests: `moto_server -H 127.0.0.1 -p <port>`
// (the moto package on this machine image) started as a child (fork/exec,
// no shell), waited for until it answers HTTP, and SIGKILLed and reaped on
// teardown. Buckets are created through its REST API (moto does not check
// signatures, so an unsigned request is enough).
//
// Not thread-safe: one test thread drives it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "shared/status.h"

namespace clawback::testing {

class S3Server {
 public:
  // Starts moto_server with its log in `log_path`.
  static Result<std::unique_ptr<S3Server>> Start(const std::string& log_path);
  // With request signatures checked: moto answers the first `unsigned_requests`
  // requests without authentication (INITIAL_NO_AUTH_ACTION_COUNT), then
  // verifies every SigV4 signature against the IAM users it knows.
  static Result<std::unique_ptr<S3Server>> StartVerifyingSignatures(const std::string& log_path,
                                                                    int unsigned_requests);
  // Spends three unsigned requests: an IAM user allowed s3:*, and its access
  // key as {key id, secret}.
  Result<std::pair<std::string, std::string>> CreateSigningUser();
  ~S3Server();
  S3Server(const S3Server&) = delete;
  S3Server& operator=(const S3Server&) = delete;

  uint16_t port() const { return port_; }
  // "http://127.0.0.1:<port>"
  std::string Endpoint() const;
  // PUT /<bucket> (with Object Lock enabled when asked).
  Status CreateBucket(const std::string& bucket, bool object_lock = false);
  // The environment a clawback process needs to use this server:
  // AWS_ENDPOINT_URL_S3, test credentials, region.
  std::map<std::string, std::string> Environment() const;
  const std::string& log_file() const { return log_; }

 private:
  S3Server() = default;
  static Result<std::unique_ptr<S3Server>> StartWith(const std::string& log_path,
                                                     const std::map<std::string, std::string>& env);
  int pid_ = -1;
  uint16_t port_ = 0;
  std::string log_;
};

// A free TCP port on 127.0.0.1 (bound and released; racy but fine for tests).
uint16_t FreeLoopbackPort();

// One HTTP/1.1 request over a fresh connection to 127.0.0.1:`port`; returns
// the status code (0 when the connection failed) and the body in `body`.
int RawHttp(uint16_t port, const std::string& method, const std::string& target,
            const std::map<std::string, std::string>& headers, const std::string& request_body,
            std::string* body = nullptr);

}  // namespace clawback::testing
