#include "agent/server/agent_server.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <openssl/ssl.h>

#include "agent/server/connection.h"
#include "agent/server/server_state.h"
#include "shared/log.h"
#include "shared/protocol.h"
#include "shared/tls.h"

namespace clawback::agent {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr std::chrono::milliseconds kDrainPoll{100};
constexpr std::chrono::seconds kAbortWait{5};

// Loads the TLS files and the instance name the server certificate carries.
Result<std::shared_ptr<const TlsState>> LoadTls(const AgentServerOptions& options) {
  auto ctx = tls::MakeServerContext({options.cert_file, options.key_file, options.ca_file});
  if (!ctx.ok()) return ctx.status();
  std::vector<std::string> instances;
  for (const std::string& uri : tls::UriSans(SSL_CTX_get0_certificate((*ctx)->native_handle()))) {
    if (uri.rfind(protocol::kInstanceIdentityPrefix, 0) == 0) {
      instances.push_back(uri.substr(protocol::kInstanceIdentityPrefix.size()));
    }
  }
  if (instances.size() != 1) {
    return Status::InvalidArgument("certificate " + options.cert_file + " must carry exactly one " +
                                   std::string(protocol::kInstanceIdentityPrefix) + "<name> URI SAN (found " +
                                   std::to_string(instances.size()) + ")");
  }
  CLAWBACK_RETURN_IF_ERROR(tls::ValidateInstanceName(instances[0]).WithContext(options.cert_file));
  auto state = std::make_shared<TlsState>();
  state->context = std::move(ctx).value();
  state->instance = instances[0];
  return std::shared_ptr<const TlsState>(std::move(state));
}

Result<tcp::endpoint> ParseListen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("--listen must be HOST:PORT: " + listen);
  std::string host = listen.substr(0, colon);
  std::string port_text = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "*") host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  char* end = nullptr;
  errno = 0;
  unsigned long port = std::strtoul(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || errno != 0 || port > 65535) {
    return Status::InvalidArgument("--listen has a bad port: " + listen);
  }
  boost::system::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("--listen needs a numeric IP address: " + listen);
  return tcp::endpoint(address, static_cast<unsigned short>(port));
}

Status WritePortFile(const std::string& path, uint16_t port) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::string text = std::to_string(port) + "\n";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError("cannot write port file " + tmp + ": " + std::strerror(errno));
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::IoError("cannot write port file " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

std::string EndpointText(const tcp::endpoint& ep) {
  std::string host = ep.address().to_string();
  if (ep.address().is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(ep.port());
}

class AgentServerImpl : public AgentServer {
 public:
  explicit AgentServerImpl(const AgentServerOptions& options)
      : state_(std::make_shared<ServerState>(options)) {}

  Status Init() {
    auto tls = LoadTls(state_->options);
    if (!tls.ok()) return tls.status();
    tls_ = std::move(tls).value();

    auto endpoint = ParseListen(state_->options.listen);
    if (!endpoint.ok()) return endpoint.status();
    boost::system::error_code ec;
    acceptor_.open(endpoint->protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(*endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return Status::Unavailable("cannot listen on " + state_->options.listen + ": " + ec.message());
    tcp::endpoint bound = acceptor_.local_endpoint(ec);
    if (ec) return Status::Internal("cannot read the bound address: " + ec.message());
    port_ = bound.port();
    log::Info("listening", {{"addr", EndpointText(bound)}, {"instance", tls_->instance}});
    if (!state_->options.port_file.empty()) {
      CLAWBACK_RETURN_IF_ERROR(WritePortFile(state_->options.port_file, port_));
    }
    return Status::Ok();
  }

  uint16_t port() const override { return port_; }

  Status Run() override {
    stop_signals_.async_wait([this](boost::system::error_code ec, int signo) { OnStopSignal(ec, signo); });
    WaitForReload();
    DoAccept();
    ioc_.run();
    // Workers post their last word to the io_context: wait for them before it
    // goes away. After a stop they end promptly (their queues are closed).
    state_->WaitForWorkers();
    log::Info("stopped");
    return Status::Ok();
  }

 private:
  void DoAccept() {
    acceptor_.async_accept(net::make_strand(ioc_), [this](boost::system::error_code ec, tcp::socket socket) {
      OnAccept(ec, std::move(socket));
    });
  }

  void OnAccept(boost::system::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // EMFILE and the like: back off briefly instead of spinning.
      log::Warn("accept failed", {{"error", ec.message()}});
      accept_retry_.expires_after(std::chrono::milliseconds(100));
      accept_retry_.async_wait([this](boost::system::error_code wait_ec) {
        if (!wait_ec && acceptor_.is_open()) DoAccept();
      });
      return;
    }
    // At the limit, the oldest connection that has not shown the controller's
    // identity makes room, so sockets held open by someone else (slow or
    // stalled handshakes, idle probes) can never lock the controller out.
    if (state_->connections.load() >= state_->options.max_connections && !EvictOldestUnauthenticated()) {
      log::Warn("connection refused: limit reached", {{"max_connections", state_->options.max_connections}});
      boost::system::error_code ignored;
      socket.close(ignored);
    } else {
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      connections_.push_back(StartConnection(std::move(socket), state_, tls_));
      if (connections_.size() > 2 * static_cast<size_t>(state_->options.max_connections)) PruneConnections();
    }
    DoAccept();
  }

  bool EvictOldestUnauthenticated() {
    for (auto& weak : connections_) {
      auto c = weak.lock();
      if (c == nullptr || !c->Unauthenticated()) continue;
      c->Stop(true);
      weak.reset();
      log::Warn("connection limit reached: closed the oldest unauthenticated connection",
                {{"max_connections", state_->options.max_connections}});
      return true;
    }
    return false;
  }

  void PruneConnections() {
    std::erase_if(connections_, [](const std::weak_ptr<ConnectionHandle>& w) { return w.expired(); });
  }

  void WaitForReload() {
    hup_signals_.async_wait([this](boost::system::error_code ec, int) {
      if (ec) return;
      auto tls = LoadTls(state_->options);
      if (tls.ok()) {
        tls_ = std::move(tls).value();  // new connections only; running ones keep theirs
        log::Info("tls reloaded", {{"instance", tls_->instance}});
      } else {
        log::Error("tls reload failed, keeping the previous certificates", {{"error", tls.status().message()}});
      }
      WaitForReload();
    });
  }

  void OnStopSignal(boost::system::error_code ec, int signo) {
    if (ec) return;
    if (state_->stopping) {
      log::Warn("second stop signal: aborting transfers", {{"signal", signo}});
      AbortAll();
      return;
    }
    log::Info("shutting down", {{"signal", signo},
                                {"transfers", state_->transfers.load()},
                                {"grace_s", state_->options.shutdown_grace.count()}});
    state_->stopping = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    accept_retry_.cancel();
    hup_signals_.cancel();
    PruneConnections();
    for (auto& weak : connections_) {
      if (auto c = weak.lock()) c->Stop(false);
    }
    grace_deadline_ = std::chrono::steady_clock::now() + state_->options.shutdown_grace;
    stop_signals_.async_wait([this](boost::system::error_code e, int s) { OnStopSignal(e, s); });
    PollDrained();
  }

  void AbortAll() {
    if (aborted_) return;
    aborted_ = true;
    PruneConnections();
    for (auto& weak : connections_) {
      if (auto c = weak.lock()) c->Stop(true);
    }
    grace_deadline_ = std::chrono::steady_clock::now() + kAbortWait;
  }

  void PollDrained() {
    bool drained = state_->connections.load() == 0 && state_->Workers() == 0;
    auto now = std::chrono::steady_clock::now();
    if (drained || (aborted_ && now >= grace_deadline_)) {
      stop_signals_.cancel();
      ioc_.stop();
      return;
    }
    if (!aborted_ && now >= grace_deadline_) {
      log::Warn("grace period over: aborting running transfers", {{"transfers", state_->transfers.load()}});
      AbortAll();
    }
    drain_timer_.expires_after(kDrainPoll);
    drain_timer_.async_wait([this](boost::system::error_code wait_ec) {
      if (!wait_ec) PollDrained();
    });
  }

  net::io_context ioc_{1};
  tcp::acceptor acceptor_{ioc_};
  net::signal_set stop_signals_{ioc_, SIGTERM, SIGINT};
  net::signal_set hup_signals_{ioc_, SIGHUP};
  net::steady_timer drain_timer_{ioc_};
  net::steady_timer accept_retry_{ioc_};
  std::shared_ptr<ServerState> state_;
  // Below: used only on the io_context's thread.
  std::shared_ptr<const TlsState> tls_;
  std::vector<std::weak_ptr<ConnectionHandle>> connections_;
  uint16_t port_ = 0;
  std::chrono::steady_clock::time_point grace_deadline_;
  bool aborted_ = false;
};

}  // namespace

Result<std::unique_ptr<AgentServer>> AgentServer::Create(const AgentServerOptions& options) {
  auto server = std::make_unique<AgentServerImpl>(options);
  CLAWBACK_RETURN_IF_ERROR(server->Init());
  return std::unique_ptr<AgentServer>(std::move(server));
}

}  // namespace clawback::agent
