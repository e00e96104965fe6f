// The controller's own certificate authority: creates a CA, issues leaf
// certificates carrying SPIFFE-style URI SANs (docs/identity.md), and writes
// PEM files. OpenSSL 3 does all cryptography; keys are EC P-256, signatures
// ECDSA-SHA256, serials 128-bit random.
//
// Operators who run their own PKI (cert-manager ...) never need this code:
// the agent and the controller only read PEM files.
//
// Thread safety: CertificateAuthority is immutable after creation; its const
// methods may be called from any thread. Free functions touch only the files
// they name.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "shared/status.h"

namespace clawback::pki {

using Clock = std::chrono::system_clock;

// A certificate and its private key, both PEM.
struct IssuedCert {
  std::string cert_pem;
  std::string key_pem;
};

// What a leaf certificate says. Validity is [not_before, not_after]; both may
// lie in the past (tests use that for expired certificates).
struct LeafSpec {
  std::string common_name;   // informational only; identity is the URI SAN
  std::string uri_san;       // e.g. "spiffe://claworc/controller"
  bool server_auth = false;  // extendedKeyUsage serverAuth
  bool client_auth = true;   // extendedKeyUsage clientAuth
  Clock::time_point not_before = Clock::now() - std::chrono::minutes(5);
  Clock::time_point not_after = Clock::now() + std::chrono::hours(24 * 825);
};

class CertificateAuthority {
 public:
  // A new self-signed CA (CA:TRUE, keyCertSign, cRLSign) valid for `validity`.
  static Result<CertificateAuthority> Create(std::string_view common_name,
                                             std::chrono::hours validity = std::chrono::hours(24 * 3650));
  // An existing CA from PEM text / files. Fails when the key does not match.
  static Result<CertificateAuthority> FromPem(const std::string& cert_pem, const std::string& key_pem);
  static Result<CertificateAuthority> Load(const std::string& cert_file, const std::string& key_file);

  CertificateAuthority(CertificateAuthority&&) noexcept;
  CertificateAuthority& operator=(CertificateAuthority&&) noexcept;
  ~CertificateAuthority();

  const std::string& cert_pem() const;
  const std::string& key_pem() const;

  // Issues a leaf certificate with a fresh P-256 key, signed by this CA.
  Result<IssuedCert> Issue(const LeafSpec& spec) const;

 private:
  struct Impl;
  explicit CertificateAuthority(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// LeafSpecs for the two identities (validity defaults from LeafSpec).
LeafSpec ControllerLeafSpec();                                // clientAuth, spiffe://claworc/controller
LeafSpec InstanceLeafSpec(std::string_view instance_name);    // serverAuth+clientAuth, .../instance/<name>

// Writes `contents` to `path` atomically (temp file in the same directory,
// fsync, rename) with the given mode. Overwrites an existing file.
Status WriteFileAtomic(const std::string& path, std::string_view contents, unsigned mode);

// Reads a whole file (small files only).
Result<std::string> ReadFile(const std::string& path);

// The files InitPki manages under its directory.
struct PkiFiles {
  std::string ca_cert, ca_key, controller_cert, controller_key;
};
PkiFiles PkiFilesIn(const std::string& dir);

// Ensures `dir` holds ca.crt, ca.key, controller.crt and controller.key,
// creating what is missing (dir too, mode 0700; keys 0600). Never overwrites a
// file that exists: an operator's own CA or controller certificate is kept.
// Fails when a certificate exists without its key (or the reverse) for a file
// that would have to be issued from it.
Result<PkiFiles> InitPki(const std::string& dir);

// A bundle for one agent: the CA certificate to trust, and a server
// certificate for spiffe://claworc/instance/<instance_name> with its key.
struct InstanceBundle {
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
};
Result<InstanceBundle> IssueInstanceBundle(const std::string& ca_cert_file, const std::string& ca_key_file,
                                           std::string_view instance_name);

}  // namespace clawback::pki
