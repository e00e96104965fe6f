// Reading side shared by the tests' HTTP clients (mtls_client.cc here and
// tests/controller/e2e/http_client.cc): header names, socket timeouts and the
// body loop. It pulls in Beast, so only those .cc files include it.
#pragma once

#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/status.h"

namespace clawback::testing::http_read {

inline std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// SO_RCVTIMEO and SO_SNDTIMEO: a blocking read or write gives up after `timeout`.
inline void SetSocketTimeouts(boost::asio::ip::tcp::socket& socket, std::chrono::seconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count());
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// Reads the body of the message whose header `parser` holds from `stream`, in
// 64 KiB pieces, into `on_body` when set or else response.body, adding up
// response.body_bytes. A read error goes to response.error and ends the body.
// Returns false when `on_body` refused a piece (response.error says so): the
// caller stops reading there.
template <class Stream, class Response>
bool ReadBody(Stream& stream, boost::beast::flat_buffer& buffer,
              boost::beast::http::response_parser<boost::beast::http::buffer_body>& parser,
              const std::function<Status(const char* data, size_t size)>& on_body, Response& response) {
  namespace http = boost::beast::http;
  std::vector<char> chunk(64 * 1024);
  boost::beast::error_code ec;
  while (!parser.is_done()) {
    auto& body = parser.get().body();
    body.data = chunk.data();
    body.size = chunk.size();
    http::read(stream, buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    size_t n = chunk.size() - body.size;
    response.body_bytes += n;
    if (n > 0) {
      if (on_body) {
        Status st = on_body(chunk.data(), n);
        if (!st.ok()) {
          response.error = "receiver stopped: " + st.ToString();
          return false;
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
  return true;
}

}  // namespace clawback::testing::http_read
