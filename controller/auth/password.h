// Password hashing for controller users: scrypt via OpenSSL 3's EVP_KDF.
//
// Stored form: "scrypt$<N>$<r>$<p>$<base64 salt>$<base64 hash>", e.g.
// "scrypt$32768$8$1$3q2+7w...$Xb9...". The cost parameters travel with each
// hash, so raising the defaults later only affects new hashes, and
// PasswordNeedsRehash tells a caller (on a successful sign-in) to upgrade an
// old one. Salts are 16 random bytes per hash; hashes are 32 bytes.
//
// Thread-safe (no shared state). Never log the inputs or the stored string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "shared/status.h"

namespace clawback::controller::auth {

struct ScryptParams {
  uint64_t n = uint64_t{1} << 15;  // CPU/memory cost (power of two); 32 MiB with r = 8
  uint32_t r = 8;
  uint32_t p = 1;
};

// The production cost. Tests may pass cheaper params where they hash a lot.
inline constexpr ScryptParams kDefaultScryptParams{};

// Passwords must have at least 8 characters (UTF-8 code points) and at most
// 1024 bytes, and contain no NUL. InvalidArgument names the rule broken,
// prefixed "password: ".
Status CheckPasswordPolicy(std::string_view password);

// Hashes `password` with a fresh random salt. Does not apply the policy
// (callers do, where a user chooses a password). Internal if the KDF or the
// random generator fails.
Result<std::string> HashPassword(std::string_view password, const ScryptParams& params = kDefaultScryptParams);

// OK when `password` matches `stored`; Unauthenticated("wrong password") when
// not; Corruption when `stored` is malformed or its parameters are outside
// sane bounds (so a tampered row cannot make the KDF allocate gigabytes).
// The final comparison is constant-time (CRYPTO_memcmp).
Status VerifyPassword(std::string_view password, std::string_view stored);

// True when `stored` was made with weaker parameters than `params`.
bool PasswordNeedsRehash(std::string_view stored, const ScryptParams& params = kDefaultScryptParams);

}  // namespace clawback::controller::auth
