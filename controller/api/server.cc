#include "controller/api/server.h"

#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include "controller/api/session.h"
#include "shared/log.h"

namespace clawback::controller::api {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

Result<std::shared_ptr<net::ssl::context>> MakeHttpsContext(const ServerOptions& o) {
  auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                       net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1 |
                       net::ssl::context::single_dh_use,
                   ec);
  ctx->use_certificate_chain_file(o.tls_cert_file, ec);
  if (ec) return Status::IoError("cannot load --tls-cert " + o.tls_cert_file + ": " + ec.message());
  ctx->use_private_key_file(o.tls_key_file, net::ssl::context::pem, ec);
  if (ec) return Status::IoError("cannot load --tls-key " + o.tls_key_file + ": " + ec.message());
  return ctx;
}

class BeastServer final : public HttpServer {
 public:
  BeastServer(const ServerOptions& options, RequestHandler handler)
      : workers_(static_cast<size_t>(std::max(1, options.handler_threads))), acceptor_(ioc_) {
    shared_.options = options;
    shared_.handler = std::move(handler);
    shared_.workers = &workers_;
  }
  ~BeastServer() override { Stop(); }

  Status Listen() {
    const auto& o = shared_.options;
    if (o.tls_cert_file.empty() != o.tls_key_file.empty()) {
      return Status::InvalidArgument("--tls-cert and --tls-key must be given together");
    }
    if (!o.tls_cert_file.empty()) {
      auto ctx = MakeHttpsContext(o);
      if (!ctx.ok()) return ctx.status();
      shared_.ssl = *ctx;
    }
    boost::system::error_code ec;
    auto addr = net::ip::make_address(o.address, ec);
    if (ec) return Status::InvalidArgument("invalid listen address: " + o.address);
    tcp::endpoint ep(addr, o.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::IoError("cannot listen on " + o.address + ":" + std::to_string(o.port) + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    DoAccept();
    for (int i = 0; i < std::max(1, o.io_threads); ++i) {
      io_threads_.emplace_back([this] { ioc_.run(); });
    }
    return Status::Ok();
  }

  uint16_t port() const override { return port_; }
  bool tls() const override { return shared_.ssl != nullptr; }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    net::post(ioc_, [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
    });
    // I/O stops first so no new request reaches a handler; handlers already
    // running finish their store writes, and their responses are dropped with
    // the connections when the io_context is destroyed.
    ioc_.stop();
    for (auto& t : io_threads_) {
      if (t.joinable()) t.join();
    }
    workers_.join();
  }

 private:
  void DoAccept() {
    acceptor_.async_accept(net::make_strand(ioc_), [this](boost::system::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
      if (!ec) {
        StartSession(std::move(socket), shared_);
      } else {
        log::Warn("accept failed", {{"error", ec.message()}});
      }
      DoAccept();
    });
  }

  net::io_context ioc_;
  net::thread_pool workers_;
  tcp::acceptor acceptor_;
  SessionShared shared_;
  std::vector<std::thread> io_threads_;
  uint16_t port_ = 0;
  std::atomic<bool> stopped_{false};
};

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const ServerOptions& options, RequestHandler handler) {
  auto server = std::make_unique<BeastServer>(options, std::move(handler));
  CLAWBACK_RETURN_IF_ERROR(server->Listen());
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace clawback::controller::api
