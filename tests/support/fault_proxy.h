// A fault-injecting HTTP/1.1 proxy on 127.0.0.1 (port 0) in front of an
// upstream server (the S3 server of s3_server.h), for the faults a real
// server will not produce on demand. It keeps client connections alive
// (as S3 does; moto's server closes each connection after one answer): a
// client connection carries requests one after another, each relayed over
// a fresh upstream connection, the upstream's "Connection: close" removed.
// For every request the proxy reads the head, decides, then relays or
// injects:
//   kStatus503   answer 503 SlowDown (after reading the request body) and
//                keep the connection
//   kDrop        forward the head and half of the body, then close both
//                sides (a connection dropped mid-part)
//   kDelay       wait `delay` before forwarding (a slow part)
//   kCloseSilently  read the whole request, then close the connection
//                without an answer (a server closing an idle keep-alive
//                connection just as a request arrives on it)
// A rule applies to the `nth` (1-based) request whose request line contains
// `match` (e.g. "partNumber=2"), `times` times in a row from there.
// With CloseAfterEachAnswer(true) the proxy closes every connection right
// after an answer without announcing it (no "Connection: close"), as a
// server with a very short idle timeout does.
//
// With a certificate and key (PEM files) the proxy speaks https to its
// clients (plain HTTP upstream) and counts TLS handshakes and how many of
// them resumed an earlier session.
//
// Requests must carry Content-Length when they have a body (the S3 client
// always sends one); answers may be sized, chunked or closed-delimited.
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

#include <openssl/ssl.h>

namespace clawback::testing {

class FaultProxy {
 public:
  enum class Fault { kStatus503, kDrop, kDelay, kCloseSilently };
  struct Rule {
    std::string match;
    int nth = 1;
    int times = 1;
    Fault fault = Fault::kStatus503;
    std::chrono::milliseconds delay{0};
  };

  explicit FaultProxy(uint16_t upstream_port, const std::string& tls_cert_file = "",
                      const std::string& tls_key_file = "");
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  uint16_t port() const { return port_; }
  std::string Endpoint() const {
    return std::string(tls_ != nullptr ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
  }
  void AddRule(Rule rule);
  void CloseAfterEachAnswer(bool on) { close_after_answer_.store(on); }
  // Request lines seen, how many faults were injected, and how many client
  // connections were accepted.
  std::vector<std::string> RequestLines();
  int injected() const { return injected_.load(); }
  int connections() const { return connections_.load(); }
  int tls_handshakes() const { return tls_handshakes_.load(); }
  int tls_resumed() const { return tls_resumed_.load(); }
  void Stop();

  struct Stream;  // a connection, plain or TLS (fault_proxy.cc)

 private:
  struct Armed {
    Rule rule;
    int seen = 0;
    int fired = 0;
  };
  void Serve();
  void Handle(int client);
  // Relays one request read from `client`; false when the connection is to
  // be closed.
  bool Relay(Stream& client, std::string& pending);

  uint16_t upstream_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> injected_{0};
  std::atomic<int> connections_{0};
  std::atomic<int> tls_handshakes_{0};
  std::atomic<int> tls_resumed_{0};
  SSL_CTX* tls_ = nullptr;  // set once in the constructor
  std::atomic<bool> close_after_answer_{false};
  std::mutex mu_;  // guards rules_, lines_, workers_
  std::vector<Armed> rules_;
  std::vector<std::string> lines_;
  std::vector<std::thread> workers_;
  std::thread thread_;
};

}  // namespace clawback::testing
