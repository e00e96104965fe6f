// The signature of a webhook body: "sha256=" + lowercase hex of
// HMAC-SHA256(raw body bytes, secret), sent as X-Clawback-Signature. OpenSSL
// computes the MAC; receivers recompute it over the bytes they received and
// compare in constant time.
#pragma once

#include <string>
#include <string_view>

namespace clawback::controller {

inline constexpr std::string_view kSignatureHeader = "X-Clawback-Signature";

std::string SignWebhookBody(std::string_view secret, std::string_view body);

}  // namespace clawback::controller
