// TLS setup and peer identity for the mTLS link between controller and agents.
//
// Identity scheme (docs/identity.md): certificates carry SPIFFE-style URI SANs.
// The controller's client certificate carries spiffe://claworc/controller; an
// agent's server certificate carries spiffe://claworc/instance/<instance-name>.
// Both chain to one CA (the controller's own, or an operator's such as
// cert-manager's). Only URI SANs are trusted for identity, never the CN.
//
// Contexts require TLS 1.2 at least and prefer 1.3. Loading reads PEM files
// once; a context is immutable after creation and may be shared by threads.
// Reloading (SIGHUP) means building a new context and using it for new
// connections; existing connections keep the old one alive via shared_ptr.
//
// Include only from files that already pay for Asio's SSL headers.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ssl/context.hpp>
#include <openssl/x509.h>

#include "shared/status.h"

namespace clawback::tls {

struct TlsFiles {
  std::string cert_file;  // PEM certificate (may include intermediates)
  std::string key_file;   // PEM private key
  std::string ca_file;    // PEM CA bundle that peers must chain to
};

// Server side (the agent): presents cert/key, requests a client certificate and
// verifies it against ca_file when one is sent. Connections without a client
// certificate still complete the handshake so /healthz can answer a plain
// `curl -k`; every other endpoint must call PeerIdentity() and refuse them.
Result<std::shared_ptr<boost::asio::ssl::context>> MakeServerContext(const TlsFiles& files);

// Client side (the controller): presents cert/key and verifies the server
// against ca_file. Host name checks are not used; callers check the server's
// identity with PeerIdentity() against the instance they meant to reach.
Result<std::shared_ptr<boost::asio::ssl::context>> MakeClientContext(const TlsFiles& files);

// The URI SANs of a certificate, in order. Never fails; no SAN -> empty.
std::vector<std::string> UriSans(X509* cert);

// The identity of the verified peer on an SSL connection: its single
// spiffe://claworc/... URI SAN. Errors (Unauthenticated) when the peer sent no
// certificate, verification failed (with OpenSSL's reason), or the certificate
// carries no claworc identity or more than one.
Result<std::string> PeerIdentity(SSL* ssl);

// "spiffe://claworc/instance/<name>" for an instance name.
std::string InstanceIdentity(std::string_view instance_name);

// Instance names: 1-63 chars of [a-z0-9-], starting and ending alphanumeric
// (DNS label rules, as container names in Claworc). InvalidArgument otherwise.
Status ValidateInstanceName(std::string_view name);

}  // namespace clawback::tls
