#include "tests/support/mtls_client.h"

#include <fstream>
#include <set>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "shared/tls.h"
#include "tests/support/http_read.h"

namespace clawback::testing {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

std::string SslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

Status MakeContext(const ClientIdentity& id, ssl::context& ctx) {
  SSL_CTX* native = ctx.native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  if (!id.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(native, id.ca_file.c_str(), nullptr) != 1) {
      return Status::InvalidArgument("cannot load CA " + id.ca_file + ": " + SslErrors());
    }
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr);
  }
  if (!id.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(native, id.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(native, id.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return Status::InvalidArgument("cannot load client cert " + id.cert_file + ": " + SslErrors());
    }
  }
  return Status::Ok();
}

}  // namespace

Result<HttpResponse> SendRequest(uint16_t port, const ClientIdentity& identity, const HttpRequest& request) {
  net::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  CLAWBACK_RETURN_IF_ERROR(MakeContext(identity, ctx));
  beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
  beast::error_code ec;
  auto& socket = beast::get_lowest_layer(stream).socket();
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return Status::Unavailable("connect to port " + std::to_string(port) + ": " + ec.message());
  http_read::SetSocketTimeouts(socket, request.timeout);
  stream.handshake(ssl::stream_base::client, ec);
  if (ec) return Status::Unavailable("TLS handshake: " + ec.message());

  HttpResponse response;
  if (X509* cert = SSL_get0_peer_certificate(stream.native_handle())) {
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
    char* hex = BN_bn2hex(bn);
    response.server_serial_hex = hex;
    OPENSSL_free(hex);
    BN_free(bn);
    response.server_uri_sans = tls::UriSans(cert);
  }

  // Request header (and a small body in one go).
  std::string write_error;
  uint64_t upload_size = 0;
  if (!request.upload_file.empty()) {
    std::ifstream in(request.upload_file, std::ios::binary | std::ios::ate);
    if (!in) return Status::InvalidArgument("cannot open " + request.upload_file);
    upload_size = static_cast<uint64_t>(in.tellg());
  }
  http::request<http::empty_body> req{http::string_to_verb(request.method), request.target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  for (const auto& [name, value] : request.headers) req.set(name, value);
  if (!request.upload_file.empty()) {
    req.set(http::field::content_type, "application/zstd");
    if (request.chunked_upload) {
      req.chunked(true);
    } else {
      req.content_length(upload_size);
    }
  } else if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    req.set(http::field::content_type, request.content_type);
    req.content_length(request.body.size());
  }
  http::request_serializer<http::empty_body> sr{req};
  http::write_header(stream, sr, ec);
  if (ec) return Status::Unavailable("writing request header: " + ec.message());
  if (request.upload_file.empty()) {
    if (!request.body.empty()) net::write(stream, net::buffer(request.body), ec);
    if (ec) write_error = ec.message();
  } else {
    std::ifstream in(request.upload_file, std::ios::binary);
    std::vector<char> buf(256 * 1024);
    uint64_t sent = 0;
    bool cut = false;
    while (!ec && in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      size_t n = static_cast<size_t>(in.gcount());
      if (n == 0) break;
      if (sent + n > request.cut_upload_after) {
        n = static_cast<size_t>(request.cut_upload_after - sent);
        cut = true;
      }
      if (n > 0) {
        if (request.chunked_upload) {
          net::write(stream, http::make_chunk(net::buffer(buf.data(), n)), ec);
        } else {
          net::write(stream, net::buffer(buf.data(), n), ec);
        }
      }
      sent += n;
      if (cut) break;
    }
    if (cut) {
      // Like a crashed controller: the TCP connection goes, no TLS close.
      socket.shutdown(tcp::socket::shutdown_both, ec);
      socket.close(ec);
      response.error = "upload cut after " + std::to_string(sent) + " bytes";
      return response;
    }
    if (!ec && request.chunked_upload) net::write(stream, http::make_chunk_last(), ec);
    if (ec) write_error = ec.message();
  }

  // Response.
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  http::read_header(stream, buffer, parser, ec);
  if (ec) {
    return Status::Unavailable("no response" + (write_error.empty() ? "" : " (write: " + write_error + ")") + ": " +
                               ec.message());
  }
  std::set<std::string> header_names;
  for (const auto& field : parser.get()) {
    std::string name = http_read::Lower(field.name_string());
    header_names.insert(name);
    response.headers[name] = std::string(field.value());
  }
  response.status = static_cast<int>(parser.get().result_int());
  response.chunked = parser.get().chunked();

  if (!http_read::ReadBody(stream, buffer, parser, request.on_body, response)) {
    socket.close(ec);
    return response;
  }
  response.complete = parser.is_done();
  for (const auto& field : parser.get()) {
    std::string name = http_read::Lower(field.name_string());
    if (!header_names.count(name)) response.trailers[name] = std::string(field.value());
  }
  beast::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
  return response;
}

}  // namespace clawback::testing
