// Webhooks over a real `clawback serve` and real agents, with a loopback
// receiver (tests/support/webhook_receiver.h): each event arrives once with a
// valid X-Clawback-Signature; a 500 is retried and the delivery log shows
// it; a receiver that never answers does not slow backups; the secret is
// never shown again nor logged; only admins manage webhooks; an instance
// without a good backup raises instance.unprotected.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "tests/controller/auth/auth_e2e.h"
#include "tests/controller/e2e/e2e_fixture.h"
#include "tests/support/webhook_receiver.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kSecret = "test-webhook-secret-0123456789";

class WebhooksE2eTest : public E2eTest {
 protected:
  void Start(std::vector<std::string> args = {}) {
    args.insert(args.end(), {"--webhook-backoff-ms", "200"});
    if (std::find(args.begin(), args.end(), "--webhook-timeout") == args.end()) {
      args.insert(args.end(), {"--webhook-timeout", "2"});
    }
    StackOptions options;
    options.controller_args = std::move(args);
    StartStack(options);
  }

  json CreateHook(const std::string& url, const json& events) {
    PlainResponse r = stack_->Call("POST", "/api/v1/webhooks", json{{"url", url}, {"secret", kSecret}, {"events", events}});
    EXPECT_EQ(r.status, 201) << r.Describe();
    return r.Json();
  }

  // Requests carrying `event`, each checked for a valid signature.
  static std::vector<json> Events(WebhookReceiver& receiver, const std::string& event) {
    std::vector<json> out;
    for (const ReceivedRequest& r : receiver.Requests()) {
      json body = json::parse(r.body, nullptr, false);
      EXPECT_FALSE(body.is_discarded()) << r.body;
      EXPECT_EQ(r.headers.count("x-clawback-signature") ? r.headers.at("x-clawback-signature") : "",
                ExpectedSignature(kSecret, r.body))
          << "signature of " << r.body;
      EXPECT_EQ(r.method, "POST");
      EXPECT_EQ(r.target, "/hook");
      if (body.value("event", "") == event) out.push_back(body);
    }
    return out;
  }

  static bool WaitEvent(WebhookReceiver& receiver, const std::string& event, std::chrono::milliseconds timeout) {
    return WaitFor([&] {
      for (const ReceivedRequest& r : receiver.Requests()) {
        if (json::parse(r.body, nullptr, false).value("event", "") == event) return true;
      }
      return false;
    }, timeout);
  }
};

TEST_F(WebhooksE2eTest, EachEventArrivesOnceSigned) {
  Start();
  ASSERT_FALSE(HasFailure());
  WebhookReceiver receiver;
  json hook = CreateHook(receiver.Url(), {"backup.completed", "backup.failed", "verify.failed"});
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(hook.value("secret", ""), kSecret) << "the creation answer shows the secret once";

  json alpha = AddInstance("alpha", MakeSmallRoot(stack_->tmp().Sub("root-alpha")));
  ASSERT_FALSE(HasFailure());
  json b = CompletedBackup(alpha["id"].get<int64_t>());
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(WaitEvent(receiver, "backup.completed", 10s)) << stack_->Logs();

  // verify.failed: a flipped byte.
  const std::string file = StoredFile(b);
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(file) / 2));
    f.put('\x7f');
  }
  ASSERT_EQ(stack_->Call("POST", "/api/v1/backups/" + std::to_string(b["id"].get<int64_t>()) + "/verify").status, 202);
  ASSERT_TRUE(WaitEvent(receiver, "verify.failed", 10s)) << stack_->Logs();

  // backup.failed: the agent is gone.
  stack_->KillAgent("alpha");
  const int64_t failed_id = StartBackup(alpha["id"].get<int64_t>());
  bool ok = false;
  json failed = stack_->WaitBackupFinal(failed_id, 60s, &ok);
  ASSERT_TRUE(ok && failed["status"] == "failed") << failed.dump();
  ASSERT_TRUE(WaitEvent(receiver, "backup.failed", 10s)) << stack_->Logs();

  std::this_thread::sleep_for(1s);  // a duplicate would show up by now
  auto completed = Events(receiver, "backup.completed");
  ASSERT_EQ(completed.size(), 1u);
  EXPECT_EQ(completed[0]["backup"]["id"], b["id"]);
  EXPECT_EQ(completed[0]["instance"]["name"], "alpha");
  EXPECT_TRUE(completed[0]["time"].is_string());
  auto verify = Events(receiver, "verify.failed");
  ASSERT_EQ(verify.size(), 1u);
  EXPECT_NE(verify[0]["detail"].value("error", "").find("sha256 mismatch"), std::string::npos) << verify[0].dump();
  auto bf = Events(receiver, "backup.failed");
  ASSERT_EQ(bf.size(), 1u);
  EXPECT_EQ(bf[0]["backup"]["id"], failed_id);
  EXPECT_EQ(receiver.Requests().size(), 3u) << "nothing but the three subscribed events";

  // The delivery log shows all three delivered at the first attempt.
  PlainResponse log = stack_->Call("GET", "/api/v1/webhooks/" + std::to_string(hook["id"].get<int64_t>()) + "/deliveries");
  ASSERT_EQ(log.status, 200) << log.Describe();
  ASSERT_EQ(log.Json()["deliveries"].size(), 3u) << log.body;
  for (const json& d : log.Json()["deliveries"]) {
    EXPECT_EQ(d.value("status", ""), "delivered") << d.dump();
    EXPECT_EQ(d.value("attempts", 0), 1) << d.dump();
    EXPECT_EQ(d.value("http_status", 0), 200) << d.dump();
  }
}

TEST_F(WebhooksE2eTest, FailedRestoreRaisesRestoreFailed) {
  Start();
  ASSERT_FALSE(HasFailure());
  WebhookReceiver receiver;
  CreateHook(receiver.Url(), {"restore.failed"});
  const auto [alpha, beta, beta_root] = AddAlphaAndEmptyBeta(MakeSmallRoot(stack_->tmp().Sub("root-alpha")));
  ASSERT_FALSE(HasFailure());
  json b = CompletedBackup(alpha["id"].get<int64_t>());
  ASSERT_FALSE(HasFailure());
  const std::string file = StoredFile(b);
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(10);
    f.put('\x33');
    f.put('\x44');
  }
  PlainResponse r = stack_->CreateRestore(b["id"], beta["id"]);
  ASSERT_EQ(r.status, 202) << r.Describe();
  bool ok = false;
  json restore = stack_->WaitRestoreFinal(r.Json()["id"], 60s, &ok);
  ASSERT_TRUE(ok && restore["status"] == "failed") << restore.dump();
  ASSERT_TRUE(WaitEvent(receiver, "restore.failed", 10s)) << stack_->Logs();
  auto events = Events(receiver, "restore.failed");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["instance"]["name"], "beta");
  EXPECT_EQ(events[0]["backup"]["id"], b["id"]);
  EXPECT_EQ(events[0]["detail"]["restore_id"], r.Json()["id"]);
  EXPECT_NE(events[0]["detail"].value("error", "").find("sha256 mismatch"), std::string::npos) << events[0].dump();
}

TEST_F(WebhooksE2eTest, FiveHundredIsRetriedAndLogged) {
  Start();
  ASSERT_FALSE(HasFailure());
  WebhookReceiver receiver({500, 200});
  json hook = CreateHook(receiver.Url(), {"backup.completed"});
  ASSERT_FALSE(HasFailure());
  PlainResponse test = stack_->Call("POST", "/api/v1/webhooks/" + std::to_string(hook["id"].get<int64_t>()) + "/test");
  ASSERT_EQ(test.status, 202) << test.Describe();
  ASSERT_TRUE(receiver.WaitForRequests(2, 10s)) << stack_->Logs();
  auto requests = receiver.Requests();
  EXPECT_EQ(requests[0].body, requests[1].body) << "the retry sends the same signed body";
  EXPECT_EQ(json::parse(requests[0].body).value("event", ""), "webhook.test");
  EXPECT_EQ(requests[1].headers["x-clawback-signature"], ExpectedSignature(kSecret, requests[1].body));

  json d;
  ASSERT_TRUE(WaitFor([&] {
    PlainResponse log = stack_->Call("GET", "/api/v1/webhooks/" + std::to_string(hook["id"].get<int64_t>()) + "/deliveries");
    d = log.Json()["deliveries"][0];
    return d.value("status", "") == "delivered";
  }, 10s)) << d.dump();
  EXPECT_EQ(d.value("attempts", 0), 2) << d.dump();
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(receiver.Requests().size(), 2u) << "delivered once it succeeded";
}

TEST_F(WebhooksE2eTest, HangingReceiverDoesNotSlowBackups) {
  Start({"--webhook-timeout", "30"});
  ASSERT_FALSE(HasFailure());
  WebhookReceiver receiver;
  receiver.set_hang(true);
  CreateHook(receiver.Url(), {"backup.completed"});
  json alpha = AddInstance("alpha", MakeSmallRoot(stack_->tmp().Sub("root-alpha")));
  ASSERT_FALSE(HasFailure());
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) {
    json b = CompletedBackup(alpha["id"].get<int64_t>());
    ASSERT_EQ(b.value("status", ""), "completed");
  }
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(receiver.WaitForRequests(1, 5s)) << "the receiver was called (and hangs)";
  // Three backups while the first delivery waits out its 30 s timeout.
  EXPECT_LT(elapsed, 15s) << "backups waited on the hanging receiver";
  receiver.set_hang(false);
}

TEST_F(WebhooksE2eTest, SecretNeverShownAgainNorLogged) {
  Start();
  ASSERT_FALSE(HasFailure());
  WebhookReceiver receiver;
  json hook = CreateHook(receiver.Url(), {"backup.failed"});
  const std::string path = "/api/v1/webhooks/" + std::to_string(hook["id"].get<int64_t>());
  PlainResponse one = stack_->Call("GET", path);
  ASSERT_EQ(one.status, 200) << one.Describe();
  EXPECT_FALSE(one.Json().contains("secret")) << one.body;
  PlainResponse list = stack_->Call("GET", "/api/v1/webhooks");
  EXPECT_EQ(list.body.find(kSecret), std::string::npos) << list.body;
  PlainResponse patched = stack_->Call("PATCH", path, json{{"secret", "another-secret-abcdefgh"}, {"enabled", false}});
  ASSERT_EQ(patched.status, 200) << patched.Describe();
  EXPECT_FALSE(patched.Json().contains("secret"));
  EXPECT_EQ(patched.Json().value("enabled", true), false);
  ASSERT_EQ(stack_->Call("POST", path + "/test").status, 202);
  ASSERT_TRUE(receiver.WaitForRequests(1, 10s));
  EXPECT_EQ(receiver.Requests()[0].headers["x-clawback-signature"],
            ExpectedSignature("another-secret-abcdefgh", receiver.Requests()[0].body));
  PlainResponse audit = stack_->Call("GET", "/api/v1/audit?limit=500");
  EXPECT_EQ(audit.body.find(kSecret), std::string::npos);
  EXPECT_EQ(audit.body.find("another-secret"), std::string::npos);
  EXPECT_EQ(stack_->Logs().find(kSecret), std::string::npos);

  // Bad input: 400 naming the field.
  PlainResponse bad = stack_->Call("POST", "/api/v1/webhooks", json{{"url", "ftp://x"}, {"events", {"backup.failed"}}});
  EXPECT_EQ(bad.status, 400) << bad.Describe();
  PlainResponse bad_event = stack_->Call("POST", "/api/v1/webhooks", json{{"url", receiver.Url()}, {"events", {"nope"}}});
  EXPECT_EQ(bad_event.status, 400) << bad_event.Describe();
  EXPECT_NE(bad_event.body.find("events"), std::string::npos) << bad_event.body;
  EXPECT_EQ(stack_->Call("DELETE", path).status, 204);
  EXPECT_EQ(stack_->Call("GET", path).status, 404);
}

TEST_F(WebhooksE2eTest, OnlyAdminsManageWebhooks) {
  Start();
  ASSERT_FALSE(HasFailure());
  WebhookReceiver receiver;
  json hook = CreateHook(receiver.Url(), {"backup.failed"});
  const uint16_t port = stack_->controller()->port();
  ASSERT_EQ(stack_->Call("POST", "/api/v1/users", json{{"username", "ops"}, {"password", "ops-password-123"}}).status, 201);
  const auto ops = BearerHeaders(MintToken(port, "ops", "ops-password-123"));
  const std::string one = "/api/v1/webhooks/" + std::to_string(hook["id"].get<int64_t>());
  EXPECT_EQ(Send(port, "POST", "/api/v1/webhooks", json{{"url", receiver.Url()}, {"events", {"backup.failed"}}}, ops).status, 403);
  EXPECT_EQ(Send(port, "GET", "/api/v1/webhooks", nullptr, ops).status, 403);
  EXPECT_EQ(Send(port, "GET", one, nullptr, ops).status, 403);
  EXPECT_EQ(Send(port, "PATCH", one, json{{"enabled", false}}, ops).status, 403);
  EXPECT_EQ(Send(port, "DELETE", one, nullptr, ops).status, 403);
  EXPECT_EQ(Send(port, "POST", one + "/test", nullptr, ops).status, 403);
  EXPECT_EQ(Send(port, "GET", one + "/deliveries", nullptr, ops).status, 403);
  EXPECT_EQ(Send(port, "GET", "/api/v1/webhooks/999", nullptr, ops).status, 403) << "403 whether or not it exists";
  EXPECT_EQ(stack_->CallAnonymous("GET", "/api/v1/webhooks").status, 401);
}

TEST_F(WebhooksE2eTest, InstanceWithoutGoodBackupRaisesUnprotectedOnce) {
  Start({"--unprotected-after", "1", "--trust-scan-interval", "1"});
  ASSERT_FALSE(HasFailure());
  WebhookReceiver receiver;
  CreateHook(receiver.Url(), {"instance.unprotected"});
  json alpha = AddInstance("alpha", MakeSmallRoot(stack_->tmp().Sub("root-alpha")));
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(WaitEvent(receiver, "instance.unprotected", 15s)) << stack_->Logs();
  std::this_thread::sleep_for(3s);
  auto events = Events(receiver, "instance.unprotected");
  ASSERT_EQ(events.size(), 1u) << "once per transition";
  EXPECT_EQ(events[0]["instance"]["name"], "alpha");
  EXPECT_TRUE(events[0]["backup"].is_null());
}

// A delivery still pending when the controller dies is sent by its next start.
TEST_F(WebhooksE2eTest, PendingDeliveryIsSentAfterARestart) {
  StackOptions options;
  options.controller_args = {"--webhook-backoff-ms", "600000", "--webhook-timeout", "2"};
  StartStack(options);
  ASSERT_FALSE(HasFailure());
  WebhookReceiver receiver({500, 200});
  json hook = CreateHook(receiver.Url(), {"backup.completed"});
  ASSERT_FALSE(HasFailure());
  const std::string deliveries = "/api/v1/webhooks/" + std::to_string(hook["id"].get<int64_t>()) + "/deliveries";
  ASSERT_EQ(stack_->Call("POST", "/api/v1/webhooks/" + std::to_string(hook["id"].get<int64_t>()) + "/test").status, 202);
  ASSERT_TRUE(receiver.WaitForRequests(1, 10s)) << stack_->Logs();
  json d;
  ASSERT_TRUE(WaitFor([&] {
    d = stack_->Call("GET", deliveries).Json()["deliveries"][0];
    return d.value("attempts", 0) == 1;
  }, 10s)) << d.dump();
  EXPECT_EQ(d.value("status", ""), "pending") << "the retry waits out its 10 minute backoff";

  stack_->KillController();
  ASSERT_TRUE(stack_->StartController().ok()) << stack_->Logs();
  ASSERT_TRUE(receiver.WaitForRequests(2, 10s)) << "the restarted controller resumes the delivery";
  auto requests = receiver.Requests();
  EXPECT_EQ(requests[0].body, requests[1].body) << "the same signed body";
  EXPECT_EQ(requests[1].headers["x-clawback-signature"], ExpectedSignature(kSecret, requests[1].body));
  ASSERT_TRUE(WaitFor([&] {
    d = stack_->Call("GET", deliveries).Json()["deliveries"][0];
    return d.value("status", "") == "delivered";
  }, 10s)) << d.dump();
  EXPECT_EQ(d.value("attempts", 0), 2) << d.dump();
}

}  // namespace
}  // namespace clawback::testing
