#include "shared/tls.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "shared/protocol.h"

namespace clawback::tls {
namespace {

namespace ssl = boost::asio::ssl;

constexpr std::string_view kClaworcPrefix = "spiffe://claworc/";

// The reason of the most recent OpenSSL error on this thread, and clears the
// queue so the next call starts clean.
std::string OpenSslReason() {
  unsigned long last = 0;
  while (unsigned long e = ERR_get_error()) last = e;
  if (last == 0) return "unknown OpenSSL error";
  const char* reason = ERR_reason_error_string(last);
  if (reason != nullptr) return reason;
  char buf[256];
  ERR_error_string_n(last, buf, sizeof buf);
  return buf;
}

// Fails with a message naming the file when it cannot be opened for reading;
// OpenSSL's own "system lib" error says nothing useful about that case.
Status CheckReadable(std::string_view what, const std::string& path) {
  if (path.empty()) return Status::InvalidArgument(std::string(what) + " file not set");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return Status::InvalidArgument("cannot read " + std::string(what) + " " + path + ": " +
                                   std::strerror(errno));
  }
  std::fclose(f);
  return Status::Ok();
}

Status LoadFiles(SSL_CTX* ctx, const TlsFiles& files) {
  ERR_clear_error();
  CLAWBACK_RETURN_IF_ERROR(CheckReadable("certificate", files.cert_file));
  CLAWBACK_RETURN_IF_ERROR(CheckReadable("private key", files.key_file));
  CLAWBACK_RETURN_IF_ERROR(CheckReadable("CA bundle", files.ca_file));
  if (SSL_CTX_use_certificate_chain_file(ctx, files.cert_file.c_str()) != 1) {
    return Status::InvalidArgument("cannot load certificate " + files.cert_file + ": " + OpenSslReason());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, files.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    // OpenSSL already compares the key with the certificate here.
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      return Status::InvalidArgument("private key " + files.key_file + " does not match certificate " +
                                     files.cert_file);
    }
    return Status::InvalidArgument("cannot load private key " + files.key_file + ": " + OpenSslReason());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return Status::InvalidArgument("private key " + files.key_file + " does not match certificate " +
                                   files.cert_file + ": " + OpenSslReason());
  }
  if (SSL_CTX_load_verify_locations(ctx, files.ca_file.c_str(), nullptr) != 1) {
    return Status::InvalidArgument("cannot load CA bundle " + files.ca_file + ": " + OpenSslReason());
  }
  return Status::Ok();
}

Result<std::shared_ptr<ssl::context>> NewContext(ssl::context::method method) {
  auto ctx = std::make_shared<ssl::context>(method);
  SSL_CTX* native = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(native, 0) != 1) {  // 0 = highest supported (TLS 1.3)
    return Status::Internal("cannot set TLS protocol versions: " + OpenSslReason());
  }
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::no_compression);
  // TLS 1.2 only: forward-secret AEAD suites. TLS 1.3 suites are OpenSSL's defaults.
  SSL_CTX_set_cipher_list(native,
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                          "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
  return ctx;
}

// Server-side verify callback: lets the handshake finish whatever the
// verification outcome, so a refused client gets a 401 JSON naming the reason
// (and /healthz keeps working). OpenSSL still records the outcome, and
// PeerIdentity() refuses any connection whose SSL_get_verify_result is not OK.
int AcceptAndRecord(int /*preverify_ok*/, X509_STORE_CTX* /*store*/) { return 1; }

}  // namespace

Result<std::shared_ptr<ssl::context>> MakeServerContext(const TlsFiles& files) {
  auto made = NewContext(ssl::context::tls_server);
  if (!made.ok()) return made.status();
  std::shared_ptr<ssl::context> ctx = std::move(made).value();
  SSL_CTX* native = ctx->native_handle();
  CLAWBACK_RETURN_IF_ERROR(LoadFiles(native, files));

  // Tell clients which CA we accept so they pick the right certificate.
  if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.ca_file.c_str())) {
    SSL_CTX_set_client_CA_list(native, names);
  }
  ERR_clear_error();
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, AcceptAndRecord);
  SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE);
  static const unsigned char kSessionContext[] = "clawback-agent";
  SSL_CTX_set_session_id_context(native, kSessionContext, sizeof kSessionContext - 1);
  return ctx;
}

Result<std::shared_ptr<ssl::context>> MakeClientContext(const TlsFiles& files) {
  auto made = NewContext(ssl::context::tls_client);
  if (!made.ok()) return made.status();
  std::shared_ptr<ssl::context> ctx = std::move(made).value();
  CLAWBACK_RETURN_IF_ERROR(LoadFiles(ctx->native_handle(), files));
  // Default verify callback: a server that does not chain to the CA fails the
  // handshake. Identity (the URI SAN) is checked by the caller.
  SSL_CTX_set_verify(ctx->native_handle(), SSL_VERIFY_PEER, nullptr);
  return ctx;
}

std::vector<std::string> UriSans(X509* cert) {
  std::vector<std::string> out;
  if (cert == nullptr) return out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                     static_cast<size_t>(ASN1_STRING_length(uri)));
  }
  GENERAL_NAMES_free(names);
  return out;
}

Result<std::string> PeerIdentity(SSL* ssl) {
  if (ssl == nullptr) return Status::Unauthenticated("no TLS session");
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return Status::Unauthenticated("no client certificate presented");
  long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    return Status::Unauthenticated(std::string("certificate rejected: ") + X509_verify_cert_error_string(verify));
  }
  std::string identity;
  int count = 0;
  for (std::string& uri : UriSans(cert)) {
    if (uri.size() > kClaworcPrefix.size() && uri.compare(0, kClaworcPrefix.size(), kClaworcPrefix) == 0) {
      ++count;
      identity = std::move(uri);
    }
  }
  if (count == 0) return Status::Unauthenticated("certificate carries no spiffe://claworc/ URI SAN");
  if (count > 1) return Status::Unauthenticated("certificate carries more than one spiffe://claworc/ URI SAN");
  return identity;
}

std::string InstanceIdentity(std::string_view instance_name) {
  return std::string(protocol::kInstanceIdentityPrefix) + std::string(instance_name);
}

Status ValidateInstanceName(std::string_view name) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (name.empty() || name.size() > 63) {
    return Status::InvalidArgument("instance name must be 1-63 characters: " + std::string(name));
  }
  for (char c : name) {
    if (!alnum(c) && c != '-') {
      return Status::InvalidArgument("instance name may contain only a-z, 0-9 and '-': " + std::string(name));
    }
  }
  if (!alnum(name.front()) || !alnum(name.back())) {
    return Status::InvalidArgument("instance name must start and end with a letter or digit: " +
                                   std::string(name));
  }
  return Status::Ok();
}

}  // namespace clawback::tls
