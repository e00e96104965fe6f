#include "controller/storage/s3_config.h"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>

extern char** environ;

namespace clawback::controller::storage {
namespace {

std::string Get(const std::map<std::string, std::string>& env, const std::string& name) {
  auto it = env.find(name);
  return it == env.end() ? std::string() : it->second;
}

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// Reads only the three credential keys of [profile] from an INI file.
void ReadSharedCredentials(const std::string& path, const std::string& profile, S3Config& c) {
  std::ifstream in(path);
  if (!in) return;
  std::string line;
  bool in_profile = false;
  while (std::getline(in, line)) {
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[' && t.back() == ']') {
      in_profile = Trim(t.substr(1, t.size() - 2)) == profile;
      continue;
    }
    if (!in_profile) continue;
    size_t eq = t.find('=');
    if (eq == std::string::npos) continue;
    std::string key = Trim(t.substr(0, eq));
    std::string value = Trim(t.substr(eq + 1));
    if (key == "aws_access_key_id") c.access_key = value;
    if (key == "aws_secret_access_key") c.secret_key = value;
    if (key == "aws_session_token") c.session_token = value;
  }
}

bool HostIsIpOrHasPort(const std::string& endpoint) {
  size_t start = endpoint.find("://");
  std::string host = endpoint.substr(start == std::string::npos ? 0 : start + 3);
  host = host.substr(0, host.find('/'));
  if (!host.empty() && host.front() == '[') return true;  // IPv6 literal
  if (host.find(':') != std::string::npos) return true;   // explicit port
  for (char ch : host) {
    if (!std::isdigit(static_cast<unsigned char>(ch)) && ch != '.') return false;
  }
  return !host.empty();
}

bool ValidBucket(const std::string& b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char ch : b) {
    if (!(std::islower(static_cast<unsigned char>(ch)) || std::isdigit(static_cast<unsigned char>(ch)) || ch == '-' ||
          ch == '.'))
      return false;
  }
  return b.front() != '-' && b.front() != '.' && b.back() != '-' && b.back() != '.';
}

}  // namespace

bool IsS3Location(const std::string& location) { return location.rfind("s3://", 0) == 0; }

std::string S3Config::Location() const {
  std::string p = prefix;
  if (!p.empty() && p.back() == '/') p.pop_back();
  return "s3://" + bucket + (p.empty() ? "" : "/" + p);
}

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv = *e;
    size_t eq = kv.find('=');
    if (eq != std::string::npos) out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

Result<S3Config> S3ConfigFromEnvironment(const std::string& location, const std::map<std::string, std::string>& env) {
  if (!IsS3Location(location)) return Status::InvalidArgument("not an s3:// location: \"" + location + "\"");
  S3Config c;
  std::string rest = location.substr(5);
  size_t slash = rest.find('/');
  c.bucket = rest.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (!ValidBucket(c.bucket)) {
    return Status::InvalidArgument("backups path \"" + location +
                                   "\": bucket name must be 3-63 characters of a-z, 0-9, '-' and '.'");
  }
  if (prefix.find("//") != std::string::npos || prefix.find("..") != std::string::npos) {
    return Status::InvalidArgument("backups path \"" + location + "\": prefix must not contain \"//\" or \"..\"");
  }
  for (char ch : prefix) {
    // Keys are then plain: nothing in them needs percent-encoding, the one
    // case of SigV4 canonicalization S3-compatibles disagree on.
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.' || ch == '/')) {
      return Status::InvalidArgument("backups path \"" + location +
                                     "\": the prefix may hold only letters, digits, '-', '_', '.' and '/'");
    }
  }
  c.prefix = prefix.empty() ? "" : prefix + "/";

  c.region = Get(env, "AWS_REGION");
  if (c.region.empty()) c.region = Get(env, "AWS_DEFAULT_REGION");
  if (c.region.empty()) c.region = "us-east-1";

  c.endpoint = Get(env, "AWS_ENDPOINT_URL_S3");
  if (c.endpoint.empty()) c.endpoint = Get(env, "AWS_ENDPOINT_URL");
  if (c.endpoint.empty()) c.endpoint = "https://s3." + c.region + ".amazonaws.com";
  if (c.endpoint.rfind("http://", 0) != 0 && c.endpoint.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL must start with http:// or https://: \"" +
                                   c.endpoint + "\"");
  }
  while (!c.endpoint.empty() && c.endpoint.back() == '/') c.endpoint.pop_back();
  const std::string addressing = Get(env, "CLAWBACK_S3_ADDRESSING");
  if (addressing.empty()) {
    c.path_style = HostIsIpOrHasPort(c.endpoint);
  } else if (addressing == "path" || addressing == "virtual") {
    c.path_style = addressing == "path";
  } else {
    return Status::InvalidArgument("CLAWBACK_S3_ADDRESSING must be \"path\" or \"virtual\", not \"" + addressing + "\"");
  }

  c.ca_bundle = Get(env, "AWS_CA_BUNDLE");
  if (!c.ca_bundle.empty() && ::access(c.ca_bundle.c_str(), R_OK) != 0) {
    return Status::InvalidArgument("AWS_CA_BUNDLE: cannot read \"" + c.ca_bundle + "\": " + std::strerror(errno));
  }

  c.access_key = Get(env, "AWS_ACCESS_KEY_ID");
  c.secret_key = Get(env, "AWS_SECRET_ACCESS_KEY");
  c.session_token = Get(env, "AWS_SESSION_TOKEN");
  if (c.access_key.empty() || c.secret_key.empty()) {
    std::string file = Get(env, "AWS_SHARED_CREDENTIALS_FILE");
    if (file.empty() && !Get(env, "HOME").empty()) file = Get(env, "HOME") + "/.aws/credentials";
    std::string profile = Get(env, "AWS_PROFILE");
    if (profile.empty()) profile = "default";
    S3Config from_file;
    if (!file.empty()) ReadSharedCredentials(file, profile, from_file);
    if (!from_file.access_key.empty() && !from_file.secret_key.empty()) {
      c.access_key = from_file.access_key;
      c.secret_key = from_file.secret_key;
      c.session_token = from_file.session_token;
    }
  }
  if (c.access_key.empty() || c.secret_key.empty()) {
    return Status::InvalidArgument(location +
                                   ": no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or put "
                                   "them in the shared credentials file (AWS_SHARED_CREDENTIALS_FILE or "
                                   "~/.aws/credentials, profile AWS_PROFILE)");
  }

  const std::string checksum = Get(env, "CLAWBACK_S3_PART_CHECKSUM");
  if (checksum.empty() || checksum == "sha256") {
    c.part_checksum = PartChecksum::kSha256;
  } else if (checksum == "md5") {
    c.part_checksum = PartChecksum::kMd5;
  } else if (checksum == "none") {
    c.part_checksum = PartChecksum::kNone;
  } else {
    return Status::InvalidArgument("CLAWBACK_S3_PART_CHECKSUM must be sha256, md5 or none, not \"" + checksum + "\"");
  }
  auto number = [&](const std::string& name, long long min, long long max, long long* out) -> Status {
    const std::string v = Get(env, name);
    if (v.empty()) return Status::Ok();
    size_t used = 0;
    long long n = -1;
    try {
      n = std::stoll(v, &used);
    } catch (...) {
      used = 0;
    }
    if (used != v.size() || n < min || n > max) {
      return Status::InvalidArgument(name + " must be a whole number from " + std::to_string(min) + " to " +
                                     std::to_string(max) + ", not \"" + v + "\"");
    }
    *out = n;
    return Status::Ok();
  };
  long long part_mib = 8, lock_days = 0;
  CLAWBACK_RETURN_IF_ERROR(number("CLAWBACK_S3_PART_SIZE_MIB", 5, 5 * 1024, &part_mib));
  CLAWBACK_RETURN_IF_ERROR(number("CLAWBACK_S3_OBJECT_LOCK_DAYS", 0, 36500, &lock_days));
  c.first_part_size = static_cast<uint64_t>(part_mib) << 20;
  c.object_lock_days = static_cast<int>(lock_days);
  const std::string mode = Get(env, "CLAWBACK_S3_OBJECT_LOCK_MODE");
  if (!mode.empty()) {
    if (mode != "GOVERNANCE" && mode != "COMPLIANCE") {
      return Status::InvalidArgument("CLAWBACK_S3_OBJECT_LOCK_MODE must be GOVERNANCE or COMPLIANCE, not \"" + mode +
                                     "\"");
    }
    c.object_lock_mode = mode;
  }
  long long attempts = c.max_attempts, stall = c.stall_timeout_s;
  CLAWBACK_RETURN_IF_ERROR(number("CLAWBACK_S3_MAX_ATTEMPTS", 1, 20, &attempts));
  CLAWBACK_RETURN_IF_ERROR(number("CLAWBACK_S3_STALL_TIMEOUT", 1, 3600, &stall));
  c.max_attempts = static_cast<int>(attempts);
  c.stall_timeout_s = static_cast<long>(stall);
  return c;
}

}  // namespace clawback::controller::storage
