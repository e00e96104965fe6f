// A fault-injecting HTTP proxy on 127.0.0.1 (port 0) in front of an
// upstream server (the S3 server of s3_server.h), for the faults a real
// server will not produce on demand. Each client connection carries one
// request (the S3 client opens a connection per request); the proxy reads
// the request head, decides, and then relays or injects:
//   kStatus503   answer 503 SlowDown (after reading the request body)
//   kDrop        forward the head and half of the body, then close both
//                sides (a connection dropped mid-part)
//   kDelay       wait `delay` before forwarding (a slow part)
// A rule applies to the `nth` (1-based) request whose request line contains
// `match` (e.g. "partNumber=2"), `times` times in a row from there.
//
// Thread-safe: rules may be added while it runs; one thread per connection.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace clawback::testing {

class FaultProxy {
 public:
  enum class Fault { kStatus503, kDrop, kDelay };
  struct Rule {
    std::string match;
    int nth = 1;
    int times = 1;
    Fault fault = Fault::kStatus503;
    std::chrono::milliseconds delay{0};
  };

  explicit FaultProxy(uint16_t upstream_port);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  uint16_t port() const { return port_; }
  std::string Endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void AddRule(Rule rule);
  // Request lines seen, and how many faults were injected.
  std::vector<std::string> RequestLines();
  int injected() const { return injected_.load(); }
  void Stop();

 private:
  struct Armed {
    Rule rule;
    int seen = 0;
    int fired = 0;
  };
  void Serve();
  void Handle(int client);

  uint16_t upstream_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> injected_{0};
  std::mutex mu_;  // guards rules_, lines_, workers_
  std::vector<Armed> rules_;
  std::vector<std::string> lines_;
  std::vector<std::thread> workers_;
  std::thread thread_;
};

}  // namespace clawback::testing
