// A tiny HTTP/1.1 receiver on 127.0.0.1 (port 0) standing in for a webhook
// endpoint: records every request (headers lowercased, raw body) and answers
// each with the next status of a script (the last one repeats), or never
// answers at all while hanging (a receiver that accepts and then stalls).
// One thread, one connection at a time; Stop() (and the destructor) ends it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace clawback::testing {

struct ReceivedRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
};

class WebhookReceiver {
 public:
  // `statuses`: answers in order (default: always 200).
  explicit WebhookReceiver(std::vector<int> statuses = {200});
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  uint16_t port() const { return port_; }
  std::string Url(const std::string& path = "/hook") const;
  // While set, requests are read and recorded but never answered.
  void set_hang(bool hang) { hang_.store(hang); }

  std::vector<ReceivedRequest> Requests();
  // Waits until at least `n` requests arrived; false on timeout.
  bool WaitForRequests(size_t n, std::chrono::milliseconds timeout);
  void Stop();

 private:
  void Serve();
  void HandleConnection(int fd);

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::vector<int> statuses_;
  size_t answered_ = 0;
  std::atomic<bool> hang_{false};
  std::atomic<bool> stop_{false};
  std::mutex mu_;  // guards requests_
  std::condition_variable arrived_;
  std::vector<ReceivedRequest> requests_;
  std::thread thread_;
};

// "sha256=<hex HMAC-SHA256(body, secret)>", computed independently of the
// controller with OpenSSL, for checking X-Clawback-Signature.
std::string ExpectedSignature(const std::string& secret, const std::string& body);

}  // namespace clawback::testing
