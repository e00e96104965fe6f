// Connection reuse of the S3 client against moto_server behind the keep-alive
// fault proxy (which counts the TCP connections it accepts): sequential
// requests share a connection, a server closing idle connections (after each
// answer, or silently as a request arrives, or mid-part) costs no failed
// request even with a single attempt allowed, and concurrent requests from
// several threads get their own answers. Over https, a kept connection
// costs one TLS handshake, and new connections (on any pooled handle)
// resume the TLS session of an earlier one.
#include <gtest/gtest.h>

#include <random>
#include <thread>
#include <vector>

#include "controller/storage/s3_client.h"
#include "tests/controller/storage/s3_test_env.h"
#include "tests/support/fault_proxy.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace clawback::testing {
namespace {

using controller::storage::S3Client;
using controller::storage::S3CompletedPart;

std::string RandomBytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

class S3ConnectionReuseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = SharedS3Server();
    ASSERT_NE(server_, nullptr);
    bucket_ = FreshBucket();
    proxy_ = std::make_unique<FaultProxy>(server_->port());
  }
  // A client through the proxy that may not retry: any request the
  // connection handling fails is a failed request.
  std::unique_ptr<S3Client> SingleAttemptClient() {
    auto config = TestS3Config(proxy_->Endpoint(), bucket_);
    config.max_attempts = 1;
    return std::make_unique<S3Client>(config);
  }
  // Every kind of request a backup and a restore make, `rounds` times.
  void Exercise(S3Client& client, int rounds) {
    for (int i = 0; i < rounds; ++i) {
      const std::string key = "backups/r/" + std::to_string(i);
      const std::string data = RandomBytes(4096 + i, static_cast<unsigned>(i));
      Status put = client.PutObject(key, data);
      ASSERT_TRUE(put.ok()) << put.message();
      auto size = client.HeadObject(key);
      ASSERT_TRUE(size.ok()) << size.status().message();
      EXPECT_EQ(*size, data.size());
      char buf[100];
      auto got = client.GetRange(key, 10, buf, sizeof buf);
      ASSERT_TRUE(got.ok()) << got.status().message();
      EXPECT_EQ(std::string(buf, *got), data.substr(10, 100));
      auto listed = client.ListObjects("backups/r/");
      ASSERT_TRUE(listed.ok()) << listed.status().message();
      EXPECT_EQ(listed->size(), static_cast<size_t>(i + 1));
    }
  }
  S3Server* server_ = nullptr;
  std::string bucket_;
  std::unique_ptr<FaultProxy> proxy_;
};

TEST_F(S3ConnectionReuseTest, SequentialRequestsShareOneConnection) {
  auto client = SingleAttemptClient();
  Exercise(*client, 10);
  // A multipart upload as a backup makes it: create, parts, complete, HEAD.
  const std::string key = "backups/mp";
  auto id = client->CreateMultipartUpload(key);
  ASSERT_TRUE(id.ok()) << id.status().message();
  std::vector<S3CompletedPart> parts;
  std::string whole;
  for (int n = 1; n <= 3; ++n) {
    const std::string part = RandomBytes(n < 3 ? 5 << 20 : 1000, static_cast<unsigned>(100 + n));
    whole += part;
    auto p = client->UploadPart(key, *id, n, part);
    ASSERT_TRUE(p.ok()) << p.status().message();
    parts.push_back(*p);
  }
  ASSERT_TRUE(client->CompleteMultipartUpload(key, *id, parts).ok());
  auto size = client->HeadObject(key);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, whole.size());

  const size_t requests = proxy_->RequestLines().size();
  EXPECT_EQ(requests, 46u);
  EXPECT_EQ(client->transport_stats().requests, requests);
  EXPECT_EQ(proxy_->connections(), 1) << requests << " requests";
  EXPECT_EQ(client->transport_stats().connections, 1u);
}

TEST_F(S3ConnectionReuseTest, ServerClosingEveryConnectionAfterAnAnswerFailsNoRequest) {
  proxy_->CloseAfterEachAnswer(true);
  auto client = SingleAttemptClient();
  Exercise(*client, 10);
  // Each request found its connection closed and opened another one.
  const int requests = static_cast<int>(proxy_->RequestLines().size());
  EXPECT_EQ(requests, 40);
  EXPECT_EQ(proxy_->connections(), requests);
  EXPECT_EQ(client->transport_stats().connections, static_cast<uint64_t>(requests));
}

TEST_F(S3ConnectionReuseTest, AReusedConnectionClosedAsARequestArrivesIsRetriedOnAFreshOne) {
  auto client = SingleAttemptClient();
  ASSERT_TRUE(client->PutObject("backups/a", "first").ok());
  // The next requests of each kind arrive on the kept connection, which the
  // server closes without answering (its idle timeout racing the request).
  proxy_->AddRule({"GET /", 1, 1, FaultProxy::Fault::kCloseSilently});
  auto got = client->GetObject("backups/a");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, "first");
  proxy_->AddRule({"PUT /", 1, 1, FaultProxy::Fault::kCloseSilently});
  Status put = client->PutObject("backups/b", RandomBytes(3 << 20, 5));
  ASSERT_TRUE(put.ok()) << put.message();
  proxy_->AddRule({"HEAD /", 1, 1, FaultProxy::Fault::kCloseSilently});
  auto size = client->HeadObject("backups/b");
  ASSERT_TRUE(size.ok()) << size.status().message();
  EXPECT_EQ(*size, 3u << 20);
  EXPECT_EQ(proxy_->injected(), 3);
  EXPECT_EQ(proxy_->connections(), 4) << "one, then a fresh one after each close";
}

// libcurl resends on its own only when nothing was sent or received; a body
// cut short is a send error it returns, and the client resends it (fresh
// connection, not counted as an attempt).
TEST_F(S3ConnectionReuseTest, APartDroppedMidBodyOnAReusedConnectionIsSentAgain) {
  auto client = SingleAttemptClient();
  const std::string key = "backups/dropped";
  auto id = client->CreateMultipartUpload(key);
  ASSERT_TRUE(id.ok()) << id.status().message();
  proxy_->AddRule({"partNumber=1", 1, 1, FaultProxy::Fault::kDrop});
  const std::string data = RandomBytes(6 << 20, 8);
  auto part = client->UploadPart(key, *id, 1, data);
  ASSERT_TRUE(part.ok()) << part.status().message();
  ASSERT_TRUE(client->CompleteMultipartUpload(key, *id, {*part}).ok());
  auto stored = client->GetObject(key);
  ASSERT_TRUE(stored.ok()) << stored.status().message();
  EXPECT_TRUE(*stored == data) << "the part arrived whole after the drop";
  EXPECT_EQ(proxy_->injected(), 1);
}

TEST_F(S3ConnectionReuseTest, ConcurrentRequestsFromSeveralThreadsGetTheirOwnAnswers) {
  auto config = TestS3Config(proxy_->Endpoint(), bucket_);
  S3Client client(config);
  constexpr int kThreads = 8, kRounds = 15;
  std::vector<std::thread> threads;
  std::vector<std::string> failures(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds && failures[t].empty(); ++i) {
        const std::string key = "backups/t" + std::to_string(t) + "/" + std::to_string(i);
        const std::string data = RandomBytes(20000 + 1000 * t + i, static_cast<unsigned>(t * 1000 + i));
        Status put = client.PutObject(key, data);
        if (!put.ok()) {
          failures[t] = put.message();
          break;
        }
        auto whole = client.GetObject(key);
        if (!whole.ok() || *whole != data) {
          failures[t] = "GET " + key + ": " + (whole.ok() ? "other bytes" : whole.status().message());
          break;
        }
        char buf[64];
        auto got = client.GetRange(key, 1000, buf, sizeof buf);
        if (!got.ok() || std::string(buf, *got) != data.substr(1000, 64)) {
          failures[t] = "range of " + key + ": " + (got.ok() ? "other bytes" : got.status().message());
          break;
        }
        auto size = client.HeadObject(key);
        if (!size.ok() || *size != data.size()) failures[t] = "HEAD " + key;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], "") << "thread " << t;
  const auto stats = client.transport_stats();
  EXPECT_EQ(stats.requests, static_cast<uint64_t>(kThreads * kRounds * 4));
  // At most one connection per request in flight at once (the pool keeps 16).
  EXPECT_LE(proxy_->connections(), kThreads);
  EXPECT_EQ(stats.connections, static_cast<uint64_t>(proxy_->connections()));
}

TEST(S3HttpsConnectionReuseTest, OneHandshakeForManyRequestsAndNewConnectionsResumeTheSession) {
  S3Server* server = SharedS3Server();
  ASSERT_NE(server, nullptr);
  const std::string bucket = FreshBucket();
  TempDir dir;
  auto pki = TestPki::Create(dir.path());
  ASSERT_TRUE(pki.ok()) << pki.status().message();
  pki::LeafSpec spec;
  spec.common_name = "127.0.0.1";
  spec.uri_san = "spiffe://claworc/test-s3";
  spec.server_auth = true;
  auto cert = pki->Issue("s3", spec);
  ASSERT_TRUE(cert.ok()) << cert.status().message();
  FaultProxy proxy(server->port(), cert->cert, cert->key);
  auto config = TestS3Config(proxy.Endpoint(), bucket);
  config.ca_bundle = pki->ca_cert();
  config.max_attempts = 1;
  S3Client client(config);

  for (int i = 0; i < 10; ++i) {
    Status put = client.PutObject("backups/k" + std::to_string(i), "body " + std::to_string(i));
    ASSERT_TRUE(put.ok()) << put.message();
    auto got = client.GetObject("backups/k" + std::to_string(i));
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_EQ(*got, "body " + std::to_string(i));
  }
  EXPECT_EQ(proxy.connections(), 1);
  EXPECT_EQ(proxy.tls_handshakes(), 1);

  // Four threads at once: the handles beyond the first open connections of
  // their own and resume a session another handle negotiated (the TLS
  // session cache is shared between handles; without it none resumes).
  // Not necessarily every one: with TLS 1.3 a handle may start its handshake
  // while the ticket it would use is being replaced.
  // The first HEADs are held back 150 ms so that the threads overlap.
  proxy.AddRule({"HEAD /", 1, 4, FaultProxy::Fault::kDelay, std::chrono::milliseconds(150)});
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        if (!client.HeadObject("backups/k" + std::to_string(t)).ok()) ++failed;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(proxy.tls_handshakes(), 1) << "no concurrent requests happened";
  EXPECT_GE(proxy.tls_resumed(), 1);

  // A server closing after every answer: a new connection per request (the
  // first may still find an open one), each a resumed session, none a
  // failed request.
  proxy.CloseAfterEachAnswer(true);
  const int handshakes = proxy.tls_handshakes(), resumed = proxy.tls_resumed();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client.HeadObject("backups/k1").ok());
  EXPECT_GE(proxy.tls_handshakes() - handshakes, 4);
  EXPECT_EQ(proxy.tls_resumed() - resumed, proxy.tls_handshakes() - handshakes);
  EXPECT_EQ(client.transport_stats().connections, static_cast<uint64_t>(proxy.connections()));
}

}  // namespace
}  // namespace clawback::testing
