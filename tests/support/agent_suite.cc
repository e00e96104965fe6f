#include "tests/support/agent_suite.h"

namespace clawback::testing {

TempDir* AgentSuite::tmp_ = nullptr;
TestPki* AgentSuite::pki_ = nullptr;
CertFiles AgentSuite::agent_cert_;

void AgentSuite::CreateAgentSuite(const std::string& temp_prefix) {
  tmp_ = new TempDir(temp_prefix);
  auto pki = TestPki::Create(tmp_->Sub("pki"));
  ASSERT_TRUE(pki.ok()) << pki.status().ToString();
  pki_ = new TestPki(*pki);
  auto cert = pki_->IssueInstance("alpha");
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  agent_cert_ = *cert;
}

void AgentSuite::TearDownTestSuite() {
  delete pki_;
  pki_ = nullptr;
  delete tmp_;
  tmp_ = nullptr;
}

}  // namespace clawback::testing
