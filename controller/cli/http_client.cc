// HttpClient over Boost.Beast: each request gets its own io_context and
// connection, driven in the calling thread. Every step is an async operation
// with a tcp_stream deadline run to completion, because Asio's synchronous
// calls cannot time out.
#include "controller/cli/http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "shared/version.h"

namespace clawback::controller::cli {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

constexpr uint64_t kInMemoryBodyLimit = 64ull * 1024 * 1024;
constexpr size_t kChunkSize = 256 * 1024;
constexpr uint32_t kHeaderLimit = 64 * 1024;

// Runs one asynchronous operation started by `start` to completion.
template <typename Start>
beast::error_code RunToCompletion(net::io_context& ioc, Start&& start) {
  beast::error_code result = net::error::would_block;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool IsIpAddress(const std::string& host) {
  beast::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

// One connection to the server, plain or TLS.
class Connection {
 public:
  Connection(const ServerUrl& server, const HttpClientOptions& options)
      : server_(server), options_(options), tls_context_(ssl::context::tls_client) {}

  Status Open() {
    tcp::resolver resolver(ioc_);
    beast::error_code ec;
    auto endpoints = resolver.resolve(server_.host, server_.port, ec);
    if (ec) return Status::Unavailable("cannot resolve " + server_.host + ": " + ec.message());

    if (server_.tls) {
      CLAWBACK_RETURN_IF_ERROR(SetUpTls());
      tls_.emplace(ioc_, tls_context_);
    } else {
      plain_.emplace(ioc_);
    }
    auto& lowest = Lowest();
    lowest.expires_after(options_.step_timeout);
    ec = RunToCompletion(ioc_, [&](auto handler) { lowest.async_connect(endpoints, handler); });
    if (ec) return TransportError("cannot connect to " + Authority(), ec);
    if (!server_.tls) return Status::Ok();

    SSL* ssl_handle = tls_->native_handle();
    if (!IsIpAddress(server_.host)) {
      SSL_set_tlsext_host_name(ssl_handle, server_.host.c_str());
      SSL_set1_host(ssl_handle, server_.host.c_str());
    } else {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_handle), server_.host.c_str());
    }
    lowest.expires_after(options_.step_timeout);
    ec = RunToCompletion(ioc_, [&](auto handler) { tls_->async_handshake(ssl::stream_base::client, handler); });
    if (ec) {
      long verify = SSL_get_verify_result(ssl_handle);
      if (verify != X509_V_OK) {
        return Status::Unavailable("TLS: cannot verify " + Authority() + ": " +
                                   X509_verify_cert_error_string(verify) +
                                   (options_.ca_file.empty() ? " (pass --ca FILE for a private CA)" : ""));
      }
      return TransportError("TLS handshake with " + Authority() + " failed", ec);
    }
    return Status::Ok();
  }

  Status Write(http::request<http::string_body>& request) {
    Lowest().expires_after(options_.step_timeout);
    auto ec = WithStream([&](auto& stream) {
      return RunToCompletion(ioc_, [&](auto handler) { http::async_write(stream, request, handler); });
    });
    if (ec) return TransportError("sending the request to " + Authority() + " failed", ec);
    return Status::Ok();
  }

  // Reads the response head into `parser`.
  Status ReadHeader(http::response_parser<http::buffer_body>& parser) {
    Lowest().expires_after(options_.step_timeout);
    auto ec = WithStream([&](auto& stream) {
      return RunToCompletion(ioc_, [&](auto handler) { http::async_read_header(stream, buffer_, parser, handler); });
    });
    if (ec) return TransportError("reading the response from " + Authority() + " failed", ec);
    return Status::Ok();
  }

  // Reads up to `size` body bytes into `data`; sets `got` and `done`.
  Status ReadSome(http::response_parser<http::buffer_body>& parser, char* data, size_t size, size_t& got) {
    parser.get().body().data = data;
    parser.get().body().size = size;
    Lowest().expires_after(options_.step_timeout);
    auto ec = WithStream([&](auto& stream) {
      return RunToCompletion(ioc_, [&](auto handler) { http::async_read(stream, buffer_, parser, handler); });
    });
    got = size - parser.get().body().size;
    if (ec == http::error::need_buffer) ec = {};
    if (ec == http::error::partial_message || ec == net::error::eof || ec == ssl::error::stream_truncated) {
      return Status::Corruption("the server closed the connection before the body was complete");
    }
    if (ec) return TransportError("reading the response from " + Authority() + " failed", ec);
    return Status::Ok();
  }

  void Close() {
    beast::error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    Lowest().close();
  }

 private:
  Status SetUpTls() {
    beast::error_code ec;
    SSL_CTX_set_min_proto_version(tls_context_.native_handle(), TLS1_2_VERSION);
    if (options_.insecure) {
      tls_context_.set_verify_mode(ssl::verify_none);
      return Status::Ok();
    }
    if (!options_.ca_file.empty()) {
      tls_context_.load_verify_file(options_.ca_file, ec);
      if (ec) return Status::InvalidArgument("--ca " + options_.ca_file + ": " + ec.message());
    } else {
      tls_context_.set_default_verify_paths(ec);
      if (ec) return Status::Internal("cannot load the system trust store: " + ec.message());
    }
    tls_context_.set_verify_mode(ssl::verify_peer);
    return Status::Ok();
  }

  beast::tcp_stream& Lowest() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }

  template <typename F>
  beast::error_code WithStream(F&& f) {
    if (tls_) return f(*tls_);
    return f(*plain_);
  }

  std::string Authority() const { return server_.host + ":" + server_.port; }

  Status TransportError(const std::string& what, const beast::error_code& ec) const {
    if (ec == beast::error::timeout) {
      return Status::DeadlineExceeded(what + ": no answer within " +
                                      std::to_string(options_.step_timeout.count()) + "s");
    }
    return Status::Unavailable(what + ": " + ec.message());
  }

  const ServerUrl& server_;
  const HttpClientOptions& options_;
  net::io_context ioc_;
  ssl::context tls_context_;
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
};

Result<http::request<http::string_body>> BuildRequest(const ServerUrl& server, const HttpRequest& request) {
  http::verb verb = http::string_to_verb(request.method);
  if (verb == http::verb::unknown) return Status::InvalidArgument("unknown HTTP method " + request.method);
  http::request<http::string_body> req{verb, server.base_path + request.target, 11};
  bool default_port = (server.tls && server.port == "443") || (!server.tls && server.port == "80");
  std::string host = server.host.find(':') != std::string::npos ? "[" + server.host + "]" : server.host;
  req.set(http::field::host, default_port ? host : host + ":" + server.port);
  req.set(http::field::user_agent, std::string("clawback-cli/") + kVersion);
  req.keep_alive(false);
  for (const auto& [name, value] : request.headers) req.set(name, value);
  bool has_body = !request.body.empty() || verb == http::verb::post || verb == http::verb::put ||
                  verb == http::verb::patch;
  if (has_body) {
    req.set(http::field::content_type, request.content_type);
    req.body() = request.body;
  }
  req.prepare_payload();
  return req;
}

}  // namespace

Result<ServerUrl> ParseServerUrl(std::string_view url) {
  ServerUrl out;
  std::string_view rest;
  if (url.substr(0, 7) == "http://") {
    rest = url.substr(7);
  } else if (url.substr(0, 8) == "https://") {
    out.tls = true;
    rest = url.substr(8);
  } else {
    return Status::InvalidArgument("server URL must start with http:// or https://: " + std::string(url));
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string path(rest.substr(slash));
    while (!path.empty() && path.back() == '/') path.pop_back();
    out.base_path = path;
  }
  if (authority.empty()) return Status::InvalidArgument("server URL names no host: " + std::string(url));
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Status::InvalidArgument("bad IPv6 host in " + std::string(url));
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Status::InvalidArgument("bad server URL: " + std::string(url));
      out.port = std::string(after.substr(1));
    }
  } else {
    size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      out.port = std::string(authority.substr(colon + 1));
      // "http://host:" is a port left out by mistake (an empty $PORT), not port 80.
      if (out.port.empty()) return Status::InvalidArgument("bad port in server URL: " + std::string(url));
    }
  }
  if (out.host.empty()) return Status::InvalidArgument("server URL names no host: " + std::string(url));
  if (out.port.empty()) out.port = out.tls ? "443" : "80";
  if (!std::all_of(out.port.begin(), out.port.end(), [](unsigned char c) { return std::isdigit(c); }) ||
      out.port.size() > 5 || std::stoi(out.port) > 65535 || std::stoi(out.port) == 0) {
    return Status::InvalidArgument("bad port in server URL: " + std::string(url));
  }
  return out;
}

HttpClient::HttpClient(ServerUrl server, HttpClientOptions options)
    : server_(std::move(server)), options_(std::move(options)) {}

Result<HttpResponse> HttpClient::Send(const HttpRequest& request) {
  std::string body;
  BodySink sink;
  sink.on_data = [&body](const char* data, size_t size) {
    if (body.size() + size > kInMemoryBodyLimit) return Status::ResourceExhausted("response body too large");
    body.append(data, size);
    return Status::Ok();
  };
  auto response = Stream(request, sink);
  if (response.ok() && response->body.empty()) response->body = std::move(body);
  return response;
}

Result<HttpResponse> HttpClient::Stream(const HttpRequest& request, const BodySink& sink) {
  auto req = BuildRequest(server_, request);
  if (!req.ok()) return req.status();
  Connection connection(server_, options_);
  CLAWBACK_RETURN_IF_ERROR(connection.Open());
  CLAWBACK_RETURN_IF_ERROR(connection.Write(*req));

  http::response_parser<http::buffer_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(boost::none);
  if (request.method == "HEAD") parser.skip(true);
  CLAWBACK_RETURN_IF_ERROR(connection.ReadHeader(parser));

  HttpResponse response;
  response.status = static_cast<int>(parser.get().result_int());
  for (const auto& field : parser.get()) {
    std::string name = Lower(std::string(field.name_string()));
    std::string& slot = response.headers[name];
    if (!slot.empty()) slot += name == "set-cookie" ? "\n" : ", ";
    slot += std::string(field.value());
  }
  bool success = response.status >= 200 && response.status < 300;
  if (success && sink.on_headers) {
    Status st = sink.on_headers(response);
    if (!st.ok()) {
      connection.Close();
      return st;
    }
  }

  std::vector<char> chunk(kChunkSize);
  while (!parser.is_done()) {
    size_t got = 0;
    Status st = connection.ReadSome(parser, chunk.data(), chunk.size(), got);
    if (!st.ok()) {
      connection.Close();
      return st;
    }
    if (got == 0) continue;
    if (success) {
      st = sink.on_data(chunk.data(), got);
      if (!st.ok()) {
        connection.Close();
        return st;
      }
    } else if (response.body.size() < kInMemoryBodyLimit) {
      response.body.append(chunk.data(), got);
    }
  }
  connection.Close();
  return response;
}

}  // namespace clawback::controller::cli
