// Where and how to reach an S3-compatible bucket: parsed from
// CLAWORC_BACKUPS_PATH ("s3://BUCKET/PREFIX") and the standard AWS settings.
//
// Settings (environment, as the AWS SDKs read them):
//   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN;
//   otherwise the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, or
//   ~/.aws/credentials), profile AWS_PROFILE (default "default"): only the
//   keys aws_access_key_id, aws_secret_access_key, aws_session_token are read.
//   AWS_REGION (or AWS_DEFAULT_REGION; default us-east-1).
//   AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL; default
//   https://s3.<region>.amazonaws.com.
//   CLAWBACK_S3_ADDRESSING=path|virtual forces the addressing style; by
//   default an endpoint given as an IP address or with a port uses path style
//   (http://127.0.0.1:9000/bucket/key), any other virtual-hosted style
//   (https://bucket.s3.us-east-1.amazonaws.com/key).
//   CLAWBACK_S3_PART_CHECKSUM=sha256|md5|none (default sha256): the per-part
//   checksum header (x-amz-checksum-sha256, Content-MD5, or none).
//   CLAWBACK_S3_OBJECT_LOCK_DAYS=N (default 0: off) and
//   CLAWBACK_S3_OBJECT_LOCK_MODE=GOVERNANCE|COMPLIANCE (default GOVERNANCE):
//   PutObjectRetention on every completed archive and its sidecars.
//   CLAWBACK_S3_PART_SIZE_MIB (default 8; at least 5): the first part size.
//   AWS_CA_BUNDLE: a PEM file of CA certificates trusted for an https
//   endpoint instead of the system's (a MinIO or Ceph with a private CA);
//   it must be readable at start.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "shared/status.h"

namespace clawback::controller::storage {

enum class PartChecksum { kNone, kMd5, kSha256 };

struct S3Config {
  std::string bucket;
  std::string prefix;  // "" or ending in '/': object keys are prefix + name
  std::string region = "us-east-1";
  std::string endpoint;  // scheme://host[:port], no trailing slash
  bool path_style = false;
  std::string access_key;
  std::string secret_key;
  std::string session_token;
  std::string ca_bundle;  // PEM file trusted for https instead of the system CAs; "" = system
  PartChecksum part_checksum = PartChecksum::kSha256;
  uint64_t first_part_size = 8ull << 20;
  int object_lock_days = 0;
  std::string object_lock_mode = "GOVERNANCE";
  // Per request: connect timeout, and a transfer stalled (under 1 KiB/s) this long fails.
  long connect_timeout_s = 10;
  long stall_timeout_s = 30;
  int max_attempts = 6;           // per request, on 5xx/429/timeouts/dropped connections
  long first_backoff_ms = 200;    // doubled per attempt (with jitter), capped at 10 s

  // "s3://bucket" or "s3://bucket/prefix".
  std::string Location() const;
};

// True for "s3://...".
bool IsS3Location(const std::string& location);

// Parses `location` ("s3://BUCKET[/PREFIX]") and reads the settings from
// `env` (the process environment in production; tests pass their own).
// InvalidArgument naming what is missing or wrong: a bad bucket name, no
// credentials ("s3://b: no AWS credentials: set AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY or ..."), an unknown CLAWBACK_S3_* value.
Result<S3Config> S3ConfigFromEnvironment(const std::string& location, const std::map<std::string, std::string>& env);

// The process environment as a map.
std::map<std::string, std::string> ProcessEnvironment();

}  // namespace clawback::controller::storage
