#include "tests/controller/e2e/http_client.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>

namespace clawback::testing {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

nlohmann::json PlainResponse::Json() const {
  return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
}

std::string PlainResponse::Describe() const {
  std::string shown = body.size() > 2000 ? body.substr(0, 2000) + "..." : body;
  return request_line + " -> " + std::to_string(status) + ": " + shown +
         (error.empty() ? "" : " [" + error + "]");
}

Result<PlainResponse> SendPlain(uint16_t port, const PlainRequest& request) {
  net::io_context ioc;
  tcp::socket socket(ioc);
  beast::error_code ec;
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return Status::Unavailable("connect to port " + std::to_string(port) + ": " + ec.message());
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(request.timeout.count());
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

  http::request<http::string_body> req{http::string_to_verb(request.method), request.target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  req.set(http::field::connection, "close");
  for (const auto& [name, value] : request.headers) req.set(name, value);
  bool has_body = !request.body.empty() || request.method == "POST" || request.method == "PUT" ||
                  request.method == "PATCH";
  if (has_body) {
    req.set(http::field::content_type, request.content_type);
    req.body() = request.body;
    req.prepare_payload();
  }
  http::write(socket, req, ec);
  // A server may answer (e.g. 401) and close before reading the body; still
  // try to read what it said.
  std::string write_error = ec ? ec.message() : "";

  PlainResponse response;
  response.request_line = request.method + " " + request.target;
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  if (request.method == "HEAD") parser.skip(true);
  http::read_header(socket, buffer, parser, ec);
  if (ec) {
    return Status::Unavailable(response.request_line + ": no response" +
                               (write_error.empty() ? "" : " (write: " + write_error + ")") + ": " +
                               ec.message());
  }
  for (const auto& field : parser.get()) {
    std::string name = Lower(field.name_string());
    auto [it, fresh] = response.headers.emplace(name, std::string(field.value()));
    if (!fresh) it->second += ", " + std::string(field.value());
  }
  response.status = static_cast<int>(parser.get().result_int());

  std::vector<char> chunk(64 * 1024);
  while (!parser.is_done()) {
    auto& body = parser.get().body();
    body.data = chunk.data();
    body.size = chunk.size();
    http::read(socket, buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    size_t n = chunk.size() - body.size;
    response.body_bytes += n;
    if (n > 0) {
      if (request.on_body) {
        Status st = request.on_body(chunk.data(), n);
        if (!st.ok()) {
          response.error = "receiver stopped: " + st.ToString();
          break;
        }
      } else {
        response.body.append(chunk.data(), n);
      }
    }
    if (ec) {
      response.error = ec.message();
      break;
    }
  }
  response.complete = parser.is_done();
  beast::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
  return response;
}

}  // namespace clawback::testing
