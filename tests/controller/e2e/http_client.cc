#include "tests/controller/e2e/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "tests/support/http_read.h"

namespace clawback::testing {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

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
  http_read::SetSocketTimeouts(socket, request.timeout);

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
    std::string name = http_read::Lower(field.name_string());
    auto [it, fresh] = response.headers.emplace(name, std::string(field.value()));
    if (!fresh) it->second += ", " + std::string(field.value());
  }
  response.status = static_cast<int>(parser.get().result_int());

  // A refusing receiver ends the body; complete says whether it was all read.
  http_read::ReadBody(socket, buffer, parser, request.on_body, response);
  response.complete = parser.is_done();
  beast::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
  return response;
}

}  // namespace clawback::testing
