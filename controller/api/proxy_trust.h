// Who sent a request, when the controller sits behind reverse proxies.
//
// Only peers inside a configured trusted range (--trusted-proxy CIDR,
// repeatable; CLAWBACK_TRUSTED_PROXIES) are believed about the client:
// their forwarding header (X-Forwarded-For by default, or RFC 7239
// Forwarded "for=", whichever the proxy writes: --forwarded-header) is read
// right to left, skipping trusted addresses, and the first untrusted one is
// the client. Addresses further left were written by the client itself and
// are never used. Any other peer is the client, whatever it sends. With no
// trusted proxy configured nothing is ever read from headers.
//
// The same trust decides whether a request reached a client over HTTPS
// (X-Forwarded-Proto, or Forwarded "proto=", from a trusted proxy), which
// marks the session cookie Secure.
//
// Immutable after Parse; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controller/api/http_message.h"
#include "shared/status.h"

namespace clawback::controller::api {

enum class ForwardedHeader { kXForwardedFor, kForwarded };

class ProxyTrust {
 public:
  ProxyTrust() = default;  // trusts no one

  // `cidrs`: "10.0.0.0/8", "fd00::/8", or a single address ("127.0.0.1").
  // InvalidArgument "--trusted-proxy: ..." for anything else.
  static Result<ProxyTrust> Parse(const std::vector<std::string>& cidrs, ForwardedHeader header);
  // "x-forwarded-for" or "forwarded" (any case); InvalidArgument otherwise.
  static Result<ForwardedHeader> ParseHeaderName(std::string_view name);

  bool empty() const { return nets_.empty(); }
  // True when `address` (no port) lies in a trusted range.
  bool Trusts(std::string_view address) const;

  // The client's address (no port): see the header comment.
  std::string ClientAddress(const HttpRequest& request) const;
  // True when a trusted proxy says the client used HTTPS.
  bool ForwardedHttps(const HttpRequest& request) const;

 private:
  struct Net {
    std::array<uint8_t, 16> address{};  // IPv4 as IPv4-mapped IPv6
    int prefix = 0;                     // 0..128
  };
  std::vector<Net> nets_;
  ForwardedHeader header_ = ForwardedHeader::kXForwardedFor;
};

// The peer address of `remote` ("ip:port", "[v6]:port", "v6:port") without
// the port.
std::string PeerAddress(const std::string& remote);

}  // namespace clawback::controller::api
