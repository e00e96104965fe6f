#include "controller/pki/certificate_authority.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "shared/protocol.h"
#include "shared/tls.h"

namespace clawback::pki {
namespace {

struct PkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };
struct BioFree { void operator()(BIO* p) const { BIO_free(p); } };
struct BnFree { void operator()(BIGNUM* p) const { BN_free(p); } };
struct ExtFree { void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); } };
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::string OpenSslReason() {
  unsigned long last = 0;
  while (unsigned long e = ERR_get_error()) last = e;
  if (last == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(last, buf, sizeof buf);
  return buf;
}

Status SslError(std::string_view what) { return Status::Internal(std::string(what) + ": " + OpenSslReason()); }

Result<PkeyPtr> NewP256Key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return SslError("cannot generate P-256 key");
  return key;
}

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

Result<std::string> CertToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return SslError("cannot encode certificate");
  return BioToString(bio.get());
}

Result<std::string> KeyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return SslError("cannot encode private key");
  }
  return BioToString(bio.get());
}

Status SetRandomSerial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return SslError("cannot draw random serial");
  bytes[0] &= 0x7f;  // positive
  bytes[0] |= 0x01;  // and full length
  std::unique_ptr<BIGNUM, BnFree> bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) {
    return SslError("cannot set serial");
  }
  return Status::Ok();
}

Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, ExtFree> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return SslError("cannot add extension " + std::string(OBJ_nid2sn(nid)) + "=" + value);
  }
  return Status::Ok();
}

Status SetValidity(X509* cert, Clock::time_point not_before, Clock::time_point not_after) {
  if (not_after <= not_before) return Status::InvalidArgument("certificate validity ends before it starts");
  if (ASN1_TIME_set(X509_getm_notBefore(cert), Clock::to_time_t(not_before)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert), Clock::to_time_t(not_after)) == nullptr) {
    return SslError("cannot set validity");
  }
  return Status::Ok();
}

Status SetSubject(X509* cert, const std::string& common_name) {
  X509_NAME* name = X509_get_subject_name(cert);
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("claworc"),
                                 -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0) != 1) {
    return SslError("cannot set subject");
  }
  return Status::Ok();
}

Result<X509Ptr> ParseCert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return Status::InvalidArgument("not a PEM certificate: " + OpenSslReason());
  return cert;
}

Result<PkeyPtr> ParseKey(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Status::InvalidArgument("not a PEM private key: " + OpenSslReason());
  return key;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

struct CertificateAuthority::Impl {
  X509Ptr cert;
  PkeyPtr key;
  std::string cert_pem;
  std::string key_pem;
};

CertificateAuthority::CertificateAuthority(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CertificateAuthority::CertificateAuthority(CertificateAuthority&&) noexcept = default;
CertificateAuthority& CertificateAuthority::operator=(CertificateAuthority&&) noexcept = default;
CertificateAuthority::~CertificateAuthority() = default;

const std::string& CertificateAuthority::cert_pem() const { return impl_->cert_pem; }
const std::string& CertificateAuthority::key_pem() const { return impl_->key_pem; }

Result<CertificateAuthority> CertificateAuthority::Create(std::string_view common_name, std::chrono::hours validity) {
  ERR_clear_error();
  auto key = NewP256Key();
  if (!key.ok()) return key.status();
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) return SslError("cannot create certificate");
  CLAWBACK_RETURN_IF_ERROR(SetRandomSerial(cert.get()));
  auto now = Clock::now();
  CLAWBACK_RETURN_IF_ERROR(SetValidity(cert.get(), now - std::chrono::minutes(5), now + validity));
  CLAWBACK_RETURN_IF_ERROR(SetSubject(cert.get(), std::string(common_name)));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) != 1 ||
      X509_set_pubkey(cert.get(), key->get()) != 1) {
    return SslError("cannot set CA issuer/key");
  }
  CLAWBACK_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE"));
  CLAWBACK_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
  CLAWBACK_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), key->get(), EVP_sha256()) == 0) return SslError("cannot sign CA certificate");

  auto cert_pem = CertToPem(cert.get());
  if (!cert_pem.ok()) return cert_pem.status();
  auto key_pem = KeyToPem(key->get());
  if (!key_pem.ok()) return key_pem.status();
  auto impl = std::make_unique<Impl>();
  impl->cert = std::move(cert);
  impl->key = std::move(key).value();
  impl->cert_pem = std::move(cert_pem).value();
  impl->key_pem = std::move(key_pem).value();
  return CertificateAuthority(std::move(impl));
}

Result<CertificateAuthority> CertificateAuthority::FromPem(const std::string& cert_pem, const std::string& key_pem) {
  ERR_clear_error();
  auto cert = ParseCert(cert_pem);
  if (!cert.ok()) return cert.status();
  auto key = ParseKey(key_pem);
  if (!key.ok()) return key.status();
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    return Status::InvalidArgument("CA key does not match CA certificate");
  }
  if (X509_check_ca(cert->get()) == 0) return Status::InvalidArgument("certificate is not a CA (CA:TRUE missing)");
  auto impl = std::make_unique<Impl>();
  impl->cert = std::move(cert).value();
  impl->key = std::move(key).value();
  impl->cert_pem = cert_pem;
  impl->key_pem = key_pem;
  return CertificateAuthority(std::move(impl));
}

Result<CertificateAuthority> CertificateAuthority::Load(const std::string& cert_file, const std::string& key_file) {
  auto cert_pem = ReadFile(cert_file);
  if (!cert_pem.ok()) return cert_pem.status();
  auto key_pem = ReadFile(key_file);
  if (!key_pem.ok()) return key_pem.status();
  auto ca = FromPem(*cert_pem, *key_pem);
  if (!ca.ok()) return ca.status().WithContext(cert_file);
  return ca;
}

Result<IssuedCert> CertificateAuthority::Issue(const LeafSpec& spec) const {
  ERR_clear_error();
  if (spec.uri_san.empty()) return Status::InvalidArgument("leaf certificate needs a URI SAN");
  if (spec.uri_san.find_first_of(",\r\n") != std::string::npos) {
    return Status::InvalidArgument("URI SAN contains a forbidden character: " + spec.uri_san);
  }
  auto key = NewP256Key();
  if (!key.ok()) return key.status();
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) return SslError("cannot create certificate");
  CLAWBACK_RETURN_IF_ERROR(SetRandomSerial(cert.get()));
  CLAWBACK_RETURN_IF_ERROR(SetValidity(cert.get(), spec.not_before, spec.not_after));
  CLAWBACK_RETURN_IF_ERROR(SetSubject(cert.get(), spec.common_name.empty() ? spec.uri_san : spec.common_name));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(impl_->cert.get())) != 1 ||
      X509_set_pubkey(cert.get(), key->get()) != 1) {
    return SslError("cannot set issuer/key");
  }
  X509* ca = impl_->cert.get();
  CLAWBACK_RETURN_IF_ERROR(AddExtension(cert.get(), ca, NID_basic_constraints, "critical,CA:FALSE"));
  CLAWBACK_RETURN_IF_ERROR(AddExtension(cert.get(), ca, NID_key_usage, "critical,digitalSignature,keyAgreement"));
  std::string eku;
  if (spec.server_auth) eku = "serverAuth";
  if (spec.client_auth) eku += eku.empty() ? "clientAuth" : ",clientAuth";
  if (!eku.empty()) CLAWBACK_RETURN_IF_ERROR(AddExtension(cert.get(), ca, NID_ext_key_usage, eku));
  CLAWBACK_RETURN_IF_ERROR(AddExtension(cert.get(), ca, NID_subject_alt_name, "URI:" + spec.uri_san));
  CLAWBACK_RETURN_IF_ERROR(AddExtension(cert.get(), ca, NID_subject_key_identifier, "hash"));
  CLAWBACK_RETURN_IF_ERROR(AddExtension(cert.get(), ca, NID_authority_key_identifier, "keyid:always"));
  if (X509_sign(cert.get(), impl_->key.get(), EVP_sha256()) == 0) return SslError("cannot sign certificate");

  auto cert_pem = CertToPem(cert.get());
  if (!cert_pem.ok()) return cert_pem.status();
  auto key_pem = KeyToPem(key->get());
  if (!key_pem.ok()) return key_pem.status();
  return IssuedCert{std::move(cert_pem).value(), std::move(key_pem).value()};
}

LeafSpec ControllerLeafSpec() {
  LeafSpec spec;
  spec.common_name = "claworc controller";
  spec.uri_san = std::string(protocol::kControllerIdentity);
  spec.server_auth = false;
  spec.client_auth = true;
  return spec;
}

LeafSpec InstanceLeafSpec(std::string_view instance_name) {
  LeafSpec spec;
  spec.common_name = std::string(instance_name);
  spec.uri_san = tls::InstanceIdentity(instance_name);
  spec.server_auth = true;
  spec.client_auth = true;
  return spec;
}

Status WriteFileAtomic(const std::string& path, std::string_view contents, unsigned mode) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status::IoError("cannot create " + tmp + ": " + std::strerror(errno));
  ::fchmod(fd, mode);  // regardless of umask
  const char* p = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::IoError("cannot write " + tmp + ": " + std::strerror(err));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Status::IoError("cannot sync " + tmp + ": " + std::strerror(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Status::IoError("cannot rename " + tmp + " to " + path + ": " + std::strerror(err));
  }
  return Status::Ok();
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

PkiFiles PkiFilesIn(const std::string& dir) {
  return {dir + "/ca.crt", dir + "/ca.key", dir + "/controller.crt", dir + "/controller.key"};
}

Result<PkiFiles> InitPki(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::IoError("cannot create " + dir + ": " + std::strerror(errno));
  }
  PkiFiles files = PkiFilesIn(dir);
  bool have_ca_cert = Exists(files.ca_cert), have_ca_key = Exists(files.ca_key);
  bool have_cert = Exists(files.controller_cert), have_key = Exists(files.controller_key);
  if (have_cert != have_key) {
    return Status::FailedPrecondition("found only one of " + files.controller_cert + " and " +
                                      files.controller_key + "; provide both or neither");
  }
  if (have_cert && have_ca_cert) return files;  // an operator's PKI: the CA key is not needed
  if (have_ca_cert != have_ca_key) {
    return Status::FailedPrecondition("found only one of " + files.ca_cert + " and " + files.ca_key +
                                      "; the controller certificate cannot be issued");
  }
  if (have_cert && !have_ca_cert) {
    return Status::FailedPrecondition(files.controller_cert + " exists but " + files.ca_cert +
                                      " does not; provide the CA that issued it");
  }

  Result<CertificateAuthority> ca = have_ca_cert ? CertificateAuthority::Load(files.ca_cert, files.ca_key)
                                                 : CertificateAuthority::Create("claworc clawback CA");
  if (!ca.ok()) return ca.status();
  if (!have_ca_cert) {
    // Key first: a crash in between leaves "key without cert", which is refused
    // above rather than silently replaced.
    CLAWBACK_RETURN_IF_ERROR(WriteFileAtomic(files.ca_key, ca->key_pem(), 0600));
    CLAWBACK_RETURN_IF_ERROR(WriteFileAtomic(files.ca_cert, ca->cert_pem(), 0644));
  }
  auto leaf = ca->Issue(ControllerLeafSpec());
  if (!leaf.ok()) return leaf.status();
  CLAWBACK_RETURN_IF_ERROR(WriteFileAtomic(files.controller_key, leaf->key_pem, 0600));
  CLAWBACK_RETURN_IF_ERROR(WriteFileAtomic(files.controller_cert, leaf->cert_pem, 0644));
  return files;
}

Result<InstanceBundle> IssueInstanceBundle(const std::string& ca_cert_file, const std::string& ca_key_file,
                                           std::string_view instance_name) {
  CLAWBACK_RETURN_IF_ERROR(tls::ValidateInstanceName(instance_name));
  auto ca = CertificateAuthority::Load(ca_cert_file, ca_key_file);
  if (!ca.ok()) return ca.status();
  auto leaf = ca->Issue(InstanceLeafSpec(instance_name));
  if (!leaf.ok()) return leaf.status();
  return InstanceBundle{ca->cert_pem(), std::move(leaf->cert_pem), std::move(leaf->key_pem)};
}

}  // namespace clawback::pki
