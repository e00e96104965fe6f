#include "controller/auth/password.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <charconv>
#include <memory>
#include <vector>

#include "controller/auth/tokens.h"

namespace clawback::controller::auth {
namespace {

constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;
constexpr std::string_view kScheme = "scrypt";

// Bounds for parameters read back from the database: generous enough to
// raise the cost for years, tight enough that a tampered row cannot make
// one sign-in allocate gigabytes.
constexpr uint64_t kMaxN = uint64_t{1} << 20;
constexpr uint32_t kMaxR = 32;
constexpr uint32_t kMaxP = 16;
constexpr uint64_t kMaxMemBytes = uint64_t{1} << 30;

struct KdfDeleter {
  void operator()(EVP_KDF* k) const { EVP_KDF_free(k); }
};
struct KdfCtxDeleter {
  void operator()(EVP_KDF_CTX* c) const { EVP_KDF_CTX_free(c); }
};

bool ValidParams(const ScryptParams& p) {
  return p.n >= 2 && p.n <= kMaxN && (p.n & (p.n - 1)) == 0 && p.r >= 1 && p.r <= kMaxR && p.p >= 1 &&
         p.p <= kMaxP;
}

Status Scrypt(std::string_view password, std::string_view salt, const ScryptParams& sp, size_t out_len,
              std::string* out) {
  std::unique_ptr<EVP_KDF, KdfDeleter> kdf(EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_SCRYPT, nullptr));
  if (!kdf) return Status::Internal("OpenSSL has no scrypt KDF");
  std::unique_ptr<EVP_KDF_CTX, KdfCtxDeleter> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return Status::Internal("cannot create scrypt context");
  uint64_t n = sp.n;
  uint32_t r = sp.r;
  uint32_t p = sp.p;
  uint64_t maxmem = kMaxMemBytes;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, const_cast<char*>(password.data()),
                                        password.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()), salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end(),
  };
  out->assign(out_len, '\0');
  if (EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char*>(out->data()), out->size(), params) != 1) {
    return Status::Internal("scrypt key derivation failed");
  }
  return Status::Ok();
}

bool ParseUint(std::string_view s, uint64_t* v) {
  if (s.empty() || s.size() > 20) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && ptr == s.data() + s.size();
}

struct ParsedHash {
  ScryptParams params;
  std::string salt;
  std::string hash;
};

Result<ParsedHash> Parse(std::string_view stored) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t pos = stored.find('$', start);
    parts.push_back(stored.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  if (parts.size() != 6 || parts[0] != kScheme) return Status::Corruption("stored password hash is malformed");
  ParsedHash h;
  uint64_t r = 0, p = 0;
  if (!ParseUint(parts[1], &h.params.n) || !ParseUint(parts[2], &r) || !ParseUint(parts[3], &p) || r > kMaxR ||
      p > kMaxP) {
    return Status::Corruption("stored password hash has bad parameters");
  }
  h.params.r = static_cast<uint32_t>(r);
  h.params.p = static_cast<uint32_t>(p);
  if (!ValidParams(h.params)) return Status::Corruption("stored password hash has out-of-range parameters");
  Result<std::string> salt = Base64Decode(parts[4]);
  Result<std::string> hash = Base64Decode(parts[5]);
  if (!salt.ok() || !hash.ok() || salt->size() < 8 || hash->size() < 16 || hash->size() > 64) {
    return Status::Corruption("stored password hash is malformed");
  }
  h.salt = std::move(salt).value();
  h.hash = std::move(hash).value();
  return h;
}

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

}  // namespace

Status CheckPasswordPolicy(std::string_view password) {
  if (password.size() > 1024) return Status::InvalidArgument("password: must be at most 1024 bytes");
  if (password.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("password: must not contain NUL characters");
  }
  if (Utf8Length(password) < 8) return Status::InvalidArgument("password: must be at least 8 characters");
  return Status::Ok();
}

Result<std::string> HashPassword(std::string_view password, const ScryptParams& params) {
  if (!ValidParams(params)) return Status::InvalidArgument("invalid scrypt parameters");
  std::string salt(kSaltBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) != 1) {
    return Status::Internal("random number generator failed");
  }
  std::string hash;
  CLAWBACK_RETURN_IF_ERROR(Scrypt(password, salt, params, kHashBytes, &hash));
  std::string stored = std::string(kScheme) + "$" + std::to_string(params.n) + "$" + std::to_string(params.r) +
                       "$" + std::to_string(params.p) + "$" + Base64Encode(salt) + "$" + Base64Encode(hash);
  OPENSSL_cleanse(hash.data(), hash.size());
  return stored;
}

Status VerifyPassword(std::string_view password, std::string_view stored) {
  Result<ParsedHash> parsed = Parse(stored);
  if (!parsed.ok()) return parsed.status();
  std::string computed;
  CLAWBACK_RETURN_IF_ERROR(Scrypt(password, parsed->salt, parsed->params, parsed->hash.size(), &computed));
  bool match = CRYPTO_memcmp(computed.data(), parsed->hash.data(), computed.size()) == 0;
  OPENSSL_cleanse(computed.data(), computed.size());
  return match ? Status::Ok() : Status::Unauthenticated("wrong password");
}

bool PasswordNeedsRehash(std::string_view stored, const ScryptParams& params) {
  Result<ParsedHash> parsed = Parse(stored);
  if (!parsed.ok()) return true;
  return parsed->params.n < params.n || parsed->params.r < params.r || parsed->params.p < params.p;
}

}  // namespace clawback::controller::auth
