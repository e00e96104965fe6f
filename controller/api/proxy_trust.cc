#include "controller/api/proxy_trust.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

namespace clawback::controller::api {
namespace {

using Bytes = std::array<uint8_t, 16>;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// An IPv4 or IPv6 address (no port, no brackets) as 16 bytes.
std::optional<Bytes> ParseIp(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  std::string s(text);
  Bytes out{};
  in_addr v4{};
  if (::inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

// "[v6]:port", "[v6]", "v4:port", "v4", "v6" -> the address alone.
std::string_view StripPort(std::string_view s) {
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    return close == std::string_view::npos ? s : s.substr(1, close - 1);
  }
  size_t colon = s.find(':');
  if (colon != std::string_view::npos && s.find(':', colon + 1) == std::string_view::npos)
    return s.substr(0, colon);
  return s;
}

// Splits a header value on commas, trimmed, empty parts dropped.
std::vector<std::string_view> SplitList(std::string_view v) {
  std::vector<std::string_view> out;
  while (true) {
    size_t comma = v.find(',');
    std::string_view part = Trim(v.substr(0, comma));
    if (!part.empty()) out.push_back(part);
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return out;
}

// The value of parameter `name` in one RFC 7239 element ("for=a;proto=https").
std::string_view ForwardedParam(std::string_view element, std::string_view name) {
  while (!element.empty()) {
    size_t semi = element.find(';');
    std::string_view pair = Trim(element.substr(0, semi));
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos && EqualsNoCase(Trim(pair.substr(0, eq)), name)) {
      std::string_view value = Trim(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
        value = value.substr(1, value.size() - 2);
      return value;
    }
    if (semi == std::string_view::npos) break;
    element.remove_prefix(semi + 1);
  }
  return {};
}

}  // namespace

std::string PeerAddress(const std::string& r) {
  if (!r.empty() && r.front() == '[') {  // "[::1]:5000"
    size_t close = r.find(']');
    if (close != std::string::npos) return r.substr(1, close - 1);
  }
  // The server always writes "address:port", and Asio prints IPv6 addresses
  // without brackets ("::1:5000"), so the port is whatever follows the last
  // colon. Keeping it would give every connection its own rate-limit key.
  size_t colon = r.rfind(':');
  if (colon != std::string::npos && colon + 1 < r.size() &&
      r.find_first_not_of("0123456789", colon + 1) == std::string::npos) {
    return r.substr(0, colon);
  }
  return r;
}

Result<ForwardedHeader> ProxyTrust::ParseHeaderName(std::string_view name) {
  if (EqualsNoCase(name, "x-forwarded-for")) return ForwardedHeader::kXForwardedFor;
  if (EqualsNoCase(name, "forwarded")) return ForwardedHeader::kForwarded;
  return Status::InvalidArgument("--forwarded-header must be X-Forwarded-For or Forwarded, not \"" +
                                 std::string(name) + "\"");
}

Result<ProxyTrust> ProxyTrust::Parse(const std::vector<std::string>& cidrs, ForwardedHeader header) {
  ProxyTrust trust;
  trust.header_ = header;
  for (const std::string& raw : cidrs) {
    std::string_view text = Trim(raw);
    if (text.empty()) continue;
    size_t slash = text.find('/');
    auto address = ParseIp(text.substr(0, slash));
    if (!address) {
      return Status::InvalidArgument("--trusted-proxy: not an IP address or CIDR range: \"" + raw + "\"");
    }
    const bool v4 = text.substr(0, slash).find(':') == std::string_view::npos;
    int prefix = 128;
    if (slash != std::string_view::npos) {
      std::string_view bits = text.substr(slash + 1);
      int n = -1;
      auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), n);
      if (ec != std::errc() || end != bits.data() + bits.size() || n < 0 || n > (v4 ? 32 : 128)) {
        return Status::InvalidArgument("--trusted-proxy: bad prefix length in \"" + raw + "\"");
      }
      prefix = v4 ? n + 96 : n;
    }
    trust.nets_.push_back({*address, prefix});
  }
  return trust;
}

bool ProxyTrust::Trusts(std::string_view address) const {
  if (nets_.empty()) return false;
  auto ip = ParseIp(address);
  if (!ip) return false;
  for (const Net& net : nets_) {
    int bits = net.prefix;
    bool match = true;
    for (int i = 0; i < 16 && bits > 0 && match; ++i, bits -= 8) {
      const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
      match = ((*ip)[i] & mask) == (net.address[i] & mask);
    }
    if (match) return true;
  }
  return false;
}

std::string ProxyTrust::ClientAddress(const HttpRequest& request) const {
  std::string peer = PeerAddress(request.remote);
  if (!Trusts(peer)) return peer;
  std::vector<std::string_view> hops;
  if (header_ == ForwardedHeader::kForwarded) {
    for (std::string_view element : SplitList(request.Header("forwarded"))) {
      hops.push_back(ForwardedParam(element, "for"));
    }
  } else {
    hops = SplitList(request.Header("x-forwarded-for"));
  }
  if (hops.empty()) return peer;
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    std::string_view hop = StripPort(*it);
    if (!Trusts(hop)) return std::string(hop.substr(0, 64));
  }
  return std::string(StripPort(hops.front()).substr(0, 64));  // every hop trusted: the first is the client
}

bool ProxyTrust::ForwardedHttps(const HttpRequest& request) const {
  if (!Trusts(PeerAddress(request.remote))) return false;
  if (header_ == ForwardedHeader::kForwarded) {
    auto elements = SplitList(request.Header("forwarded"));
    return !elements.empty() && EqualsNoCase(ForwardedParam(elements.back(), "proto"), "https");
  }
  auto protos = SplitList(request.Header("x-forwarded-proto"));
  return !protos.empty() && EqualsNoCase(protos.back(), "https");
}

}  // namespace clawback::controller::api
