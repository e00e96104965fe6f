// Secrets the controller hands out: session cookies, CSRF tokens and API
// tokens, and the hash under which the store keeps them.
//
// Every secret is 32 bytes from OpenSSL's RAND_bytes, base64url-encoded
// without padding (43 characters). API tokens carry the prefix "cbk_" so
// they are recognisable in configs and secret scanners. The store only ever
// sees SHA-256 hex digests of cookies and API tokens (TokenHash); a stolen
// database does not yield usable credentials. CSRF tokens are stored as-is:
// they are only useful together with the session cookie.
//
// Thread-safe. Internal only if the random generator fails.
#pragma once

#include <string>
#include <string_view>

#include "shared/status.h"

namespace clawback::controller::auth {

inline constexpr std::string_view kApiTokenPrefix = "cbk_";

// `bytes` random bytes, base64url without padding.
Result<std::string> RandomSecret(size_t bytes = 32);

Result<std::string> NewSessionCookieValue();
Result<std::string> NewCsrfToken();
Result<std::string> NewApiTokenSecret();  // "cbk_" + 43 characters

// Lowercase hex SHA-256 of `secret`: the form stored for cookies and tokens.
std::string TokenHash(std::string_view secret);

// Compares in time independent of where the strings differ (CRYPTO_memcmp);
// only the lengths leak.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Base64 (standard alphabet, padded) and base64url (no padding) codecs.
std::string Base64Encode(std::string_view bytes);
Result<std::string> Base64Decode(std::string_view text);
std::string Base64UrlEncode(std::string_view bytes);

}  // namespace clawback::controller::auth
