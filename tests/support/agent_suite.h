// AgentSuite: the suite-level setup the agent integration suites share, made
// once per suite: a temp dir, a test PKI (whose controller identity is the
// suite's client) and an instance certificate for "alpha", all removed again
// after the suite. Derive from it and call CreateAgentSuite(prefix) first
// in SetUpTestSuite (fatal failures propagate; check HasFatalFailure()).
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace clawback::testing {

class AgentSuite : public ::testing::Test {
 protected:
  static void CreateAgentSuite(const std::string& temp_prefix);
  static void TearDownTestSuite();

  static TempDir* tmp_;
  static TestPki* pki_;
  static CertFiles agent_cert_;  // spiffe://claworc/instance/alpha
};

}  // namespace clawback::testing
