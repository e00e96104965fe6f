// A throwaway PKI for tests, built with controller/pki: a CA with a
// controller certificate (InitPki), plus any leaf certificates a test needs
// (instance server certs, expired certs, wrong identities).
#pragma once

#include <string>

#include "controller/pki/certificate_authority.h"
#include "shared/status.h"

namespace clawback::testing {

struct CertFiles {
  std::string cert;
  std::string key;
};

class TestPki {
 public:
  // Creates ca.crt/ca.key/controller.crt/controller.key under `dir`.
  static Result<TestPki> Create(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const std::string& ca_cert() const { return files_.ca_cert; }
  const std::string& ca_key() const { return files_.ca_key; }
  CertFiles controller() const { return {files_.controller_cert, files_.controller_key}; }

  // Issues `spec` from this CA into <dir>/<name>.crt and <name>.key
  // (atomically replacing files of that name).
  Result<CertFiles> Issue(const std::string& name, const pki::LeafSpec& spec) const;
  // An agent server certificate for spiffe://claworc/instance/<instance>.
  Result<CertFiles> IssueInstance(const std::string& instance) const;

 private:
  std::string dir_;
  pki::PkiFiles files_;
};

}  // namespace clawback::testing
