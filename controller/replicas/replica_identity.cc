#include "controller/replicas/replica_identity.h"

#include <openssl/rand.h>
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <iterator>

#include "controller/pki/certificate_authority.h"

namespace clawback::controller {
namespace {

Result<std::string> RandomId() {
  unsigned char bytes[8];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return Status::Internal("random generator failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::string HostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "unknown-host";
  return name;
}

// The id stored by the previous process, or "" when missing or not an id.
std::string ReadPreviousId(const std::string& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  if (text.empty() || text.size() > 64) return "";
  for (char c : text) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return "";
  }
  return text;
}

}  // namespace

Result<ReplicaIdentity> ReplicaIdentity::StartInDataDir(const std::string& data_dir) {
  const std::string path = data_dir + "/replica-id";
  ReplicaIdentity me;
  auto id = RandomId();
  if (!id.ok()) return id.status();
  me.id = *id;
  me.hostname = HostName();
  me.previous_id = ReadPreviousId(path);
  CLAWBACK_RETURN_IF_ERROR(pki::WriteFileAtomic(path, me.id + "\n", 0600));
  return me;
}

}  // namespace clawback::controller
