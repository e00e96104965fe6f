#include "tests/support/test_pki.h"

namespace clawback::testing {

Result<TestPki> TestPki::Create(const std::string& dir) {
  auto files = pki::InitPki(dir);
  if (!files.ok()) return files.status();
  TestPki out;
  out.dir_ = dir;
  out.files_ = *files;
  return out;
}

Result<CertFiles> TestPki::Issue(const std::string& name, const pki::LeafSpec& spec) const {
  auto ca = pki::CertificateAuthority::Load(files_.ca_cert, files_.ca_key);
  if (!ca.ok()) return ca.status();
  auto leaf = ca->Issue(spec);
  if (!leaf.ok()) return leaf.status();
  CertFiles out{dir_ + "/" + name + ".crt", dir_ + "/" + name + ".key"};
  CLAWBACK_RETURN_IF_ERROR(pki::WriteFileAtomic(out.key, leaf->key_pem, 0600));
  CLAWBACK_RETURN_IF_ERROR(pki::WriteFileAtomic(out.cert, leaf->cert_pem, 0644));
  return out;
}

Result<CertFiles> TestPki::IssueInstance(const std::string& instance) const {
  return Issue(instance, pki::InstanceLeafSpec(instance));
}

}  // namespace clawback::testing
