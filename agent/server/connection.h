// One accepted TLS connection serving the agent protocol. Private to
// agent/server. The connection object lives as long as its asynchronous
// operations (Beast's one-object-per-connection style).
#pragma once

#include <memory>

#include <boost/asio/ip/tcp.hpp>

#include "agent/server/server_state.h"

namespace clawback::agent {

class ConnectionHandle {
 public:
  virtual ~ConnectionHandle() = default;
  // Thread-safe. abort=false: close once idle (after the current request);
  // abort=true: cancel any transfer and drop the connection now.
  virtual void Stop(bool abort) = 0;
  // Thread-safe. False once the peer completed the TLS handshake with the
  // controller's identity; until then the connection may be evicted to make
  // room (see AgentServer's connection limit).
  virtual bool Unauthenticated() const = 0;
};

// Starts the TLS handshake on `socket` (whose executor must be a strand) and
// serves requests until the peer leaves, an error, or Stop().
std::shared_ptr<ConnectionHandle> StartConnection(boost::asio::ip::tcp::socket socket,
                                                  std::shared_ptr<ServerState> state,
                                                  std::shared_ptr<const TlsState> tls);

}  // namespace clawback::agent
