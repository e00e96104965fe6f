#include "controller/agents/agent_url.h"

#include <charconv>

namespace clawback::controller {
namespace {

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_';
}

bool IsIpv6Char(char c) {
  return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') || c == ':' || c == '.';
}

}  // namespace

Result<AgentEndpoint> ParseAgentUrl(std::string_view url) {
  const std::string original(url);
  constexpr std::string_view kScheme = "https://";
  if (url.size() < kScheme.size() || url.substr(0, kScheme.size()) != kScheme) {
    return Status::InvalidArgument("agent URL must start with https://: " + original);
  }
  std::string_view rest = url.substr(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find_first_of("/?#@") != std::string_view::npos) {
    return Status::InvalidArgument("agent URL must be https://host:port with no path, query or user: " + original);
  }

  AgentEndpoint endpoint;
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return Status::InvalidArgument("agent URL has an unclosed '[': " + original);
    std::string_view host = rest.substr(1, close - 1);
    if (host.empty()) return Status::InvalidArgument("agent URL has an empty host: " + original);
    for (char c : host) {
      if (!IsIpv6Char(c)) return Status::InvalidArgument("agent URL has an invalid IPv6 address: " + original);
    }
    endpoint.host = std::string(host);
    rest.remove_prefix(close + 1);
    if (rest.empty() || rest.front() != ':') {
      return Status::InvalidArgument("agent URL must include a port (https://host:port): " + original);
    }
    port_text = rest.substr(1);
  } else {
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) {
      return Status::InvalidArgument("agent URL must include a port (https://host:port): " + original);
    }
    std::string_view host = rest.substr(0, colon);
    if (host.empty()) return Status::InvalidArgument("agent URL has an empty host: " + original);
    if (host.size() > 253) return Status::InvalidArgument("agent URL host is too long: " + original);
    for (char c : host) {
      if (!IsHostChar(c)) return Status::InvalidArgument("agent URL host has an invalid character: " + original);
    }
    endpoint.host = std::string(host);
    port_text = rest.substr(colon + 1);
  }

  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    return Status::InvalidArgument("agent URL port must be 1-65535: " + original);
  }
  endpoint.port = static_cast<uint16_t>(port);
  return endpoint;
}

}  // namespace clawback::controller
