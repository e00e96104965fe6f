// TLS session resumption between the controller and real clawback-agent
// processes over mTLS on loopback: a second connection resumes the first
// one's session and still sees the agent's verified identity; a session is
// never resumed by another agent process (another instance, or the same
// instance after a restart), which makes a full handshake instead; and the
// connector's probes resume, fall back and refuse a wrong identity as before.
#include <gtest/gtest.h>

#include <filesystem>

#include "controller/agents/agent_connector.h"
#include "controller/https/https_connection.h"
#include "shared/tls.h"
#include "tests/support/agent_process.h"
#include "tests/support/agent_suite.h"

namespace clawback::testing {
namespace {

using controller::https::Connection;
using controller::https::SessionPtr;

constexpr char kAgentBinary[] = CLAWBACK_AGENT_BINARY;

struct InfoCall {
  bool resumed = false;
  std::string identity;
  int http_status = 0;
  SessionPtr session;
};

class AgentSessionsTest : public AgentSuite {
 protected:
  static void SetUpTestSuite() {
    CreateAgentSuite("clawback-sessions-it-");
    if (HasFatalFailure()) return;
    std::filesystem::create_directories(tmp_->Sub("root/home/claworc"));
    auto beta = pki_->IssueInstance("beta");
    ASSERT_TRUE(beta.ok()) << beta.status().ToString();
    beta_cert_ = *beta;
  }

  void SetUp() override {
    auto ctx = tls::MakeClientContext({pki_->controller().cert, pki_->controller().key, pki_->ca_cert()});
    ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
    ctx_ = *ctx;
  }

  std::unique_ptr<AgentProcess> StartAgent(const std::string& name, const CertFiles& cert) {
    const std::string dir = tmp_->Sub(name + "-" + std::to_string(++started_));
    std::filesystem::create_directories(dir);
    auto agent = AgentProcess::Start({kAgentBinary, dir, cert.cert, cert.key, pki_->ca_cert(), tmp_->Sub("root"), {}});
    EXPECT_TRUE(agent.ok()) << agent.status().ToString();
    return agent.ok() ? std::move(agent).value() : nullptr;
  }

  // GET /v1/info on a new connection, offering `offer`.
  InfoCall Info(uint16_t port, SSL_SESSION* offer) {
    InfoCall out;
    controller::https::ConnectOptions options{"127.0.0.1", std::to_string(port), std::chrono::seconds(5)};
    options.session = offer;
    auto conn = Connection::Open(ctx_->native_handle(), options);
    EXPECT_TRUE(conn.ok()) << conn.status().ToString();
    if (!conn.ok()) return out;
    out.resumed = (*conn)->resumed();
    auto identity = tls::PeerIdentity((*conn)->ssl());
    out.identity = identity.ok() ? *identity : "refused: " + identity.status().message();
    controller::https::RequestHead head{"GET", "/v1/info", "127.0.0.1", {}, std::nullopt};
    EXPECT_TRUE((*conn)->WriteAll(controller::https::EncodeRequestHead(head)).ok());
    auto code = (*conn)->ReadResponseHead(64 * 1024);
    EXPECT_TRUE(code.ok()) << code.status().ToString();
    if (!code.ok()) return out;
    out.http_status = *code;
    auto body = (*conn)->ReadBodyToString(1 << 20);
    EXPECT_TRUE(body.ok()) << body.status().ToString();
    out.session = (*conn)->ResumableSession();
    return out;
  }

  static CertFiles beta_cert_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;
  int started_ = 0;
};

CertFiles AgentSessionsTest::beta_cert_;

TEST_F(AgentSessionsTest, SecondConnectionResumesAndKeepsTheVerifiedIdentity) {
  auto alpha = StartAgent("alpha", agent_cert_);
  ASSERT_NE(alpha, nullptr);
  InfoCall first = Info(alpha->port(), nullptr);
  EXPECT_FALSE(first.resumed);
  EXPECT_EQ(first.identity, "spiffe://claworc/instance/alpha");
  EXPECT_EQ(first.http_status, 200);
  ASSERT_NE(first.session, nullptr) << "the agent issued no resumable session";

  InfoCall second = Info(alpha->port(), first.session.get());
  EXPECT_TRUE(second.resumed);
  EXPECT_EQ(second.identity, "spiffe://claworc/instance/alpha");
  EXPECT_EQ(second.http_status, 200);  // the agent accepted the resumed client identity too
  ASSERT_NE(second.session, nullptr);

  InfoCall third = Info(alpha->port(), second.session.get());
  EXPECT_TRUE(third.resumed);
  EXPECT_EQ(third.http_status, 200);
}

TEST_F(AgentSessionsTest, AnotherAgentProcessMakesAFullHandshakeWithItsOwnIdentity) {
  auto alpha = StartAgent("alpha", agent_cert_);
  ASSERT_NE(alpha, nullptr);
  InfoCall made = Info(alpha->port(), nullptr);
  ASSERT_NE(made.session, nullptr);

  // Another instance's agent: its own certificate, never alpha's.
  auto beta = StartAgent("beta", beta_cert_);
  ASSERT_NE(beta, nullptr);
  InfoCall at_beta = Info(beta->port(), made.session.get());
  EXPECT_FALSE(at_beta.resumed);
  EXPECT_EQ(at_beta.identity, "spiffe://claworc/instance/beta");
  EXPECT_EQ(at_beta.http_status, 200);

  // The same instance restarted (new process, new ticket keys).
  alpha.reset();
  auto restarted = StartAgent("alpha", agent_cert_);
  ASSERT_NE(restarted, nullptr);
  InfoCall again = Info(restarted->port(), made.session.get());
  EXPECT_FALSE(again.resumed);
  EXPECT_EQ(again.identity, "spiffe://claworc/instance/alpha");
  EXPECT_EQ(again.http_status, 200);
}

TEST_F(AgentSessionsTest, ConnectorProbesResumeAndStillRefuseAnotherIdentity) {
  auto connector = controller::MakeAgentConnector(
      {pki_->ca_cert(), pki_->controller().cert, pki_->controller().key});
  ASSERT_TRUE(connector.ok()) << connector.status().ToString();
  auto alpha = StartAgent("alpha", agent_cert_);
  auto beta = StartAgent("beta", beta_cert_);
  ASSERT_NE(alpha, nullptr);
  ASSERT_NE(beta, nullptr);

  controller::Instance instance;
  instance.id = 7;
  instance.name = "alpha";
  instance.agent_url = "https://127.0.0.1:" + std::to_string(alpha->port());
  for (int i = 0; i < 3; ++i) {  // the first makes the session, the others resume it
    controller::InstanceHealth h = (*connector)->Probe(instance);
    EXPECT_EQ(h.status, "running") << h.reason;
  }
  // Pointed at beta's agent, alpha's session is not offered and beta's
  // certificate is refused.
  controller::Instance moved = instance;
  moved.agent_url = "https://127.0.0.1:" + std::to_string(beta->port());
  controller::InstanceHealth wrong = (*connector)->Probe(moved);
  EXPECT_EQ(wrong.status, "unreachable");
  EXPECT_NE(wrong.reason.find("identity mismatch"), std::string::npos) << wrong.reason;
  // Back at alpha's agent after it restarted: a full handshake, running.
  alpha.reset();
  auto restarted = StartAgent("alpha", agent_cert_);
  ASSERT_NE(restarted, nullptr);
  instance.agent_url = "https://127.0.0.1:" + std::to_string(restarted->port());
  EXPECT_EQ((*connector)->Probe(instance).status, "running");
  EXPECT_EQ((*connector)->Probe(instance).status, "running");
}

}  // namespace
}  // namespace clawback::testing
