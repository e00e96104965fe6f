// Agent URLs: where the controller reaches an instance's agent.
//
// Only "https://host:port" is accepted (an optional trailing "/" is allowed):
// no path, query, credentials or plain http, because every call is mTLS and
// identity comes from the certificate, never from the URL. The host is a DNS
// name, an IPv4 address or a bracketed IPv6 address; the port is 1-65535.
// Used by the connector before dialing and by the API to validate input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "shared/status.h"

namespace clawback::controller {

struct AgentEndpoint {
  std::string host;   // without brackets for IPv6
  uint16_t port = 0;
  std::string port_text() const { return std::to_string(port); }
};

// InvalidArgument with a message naming the problem ("agent URL must use
// https://: http://web-1:8443").
Result<AgentEndpoint> ParseAgentUrl(std::string_view url);

}  // namespace clawback::controller
