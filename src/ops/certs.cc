#include "ops/certs.h"

#include "ops/security.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

namespace forge::ops {
namespace {

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX, SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, Deleter<SSL, SSL_free>>;

void freeChain(STACK_OF(X509) * chain) { sk_X509_pop_free(chain, X509_free); }
using ChainPtr = std::unique_ptr<STACK_OF(X509), Deleter<STACK_OF(X509), freeChain>>;

std::string opensslError(std::string_view what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return std::string(what);
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return fmt::format("{}: {}", what, text);
}

core::Error failure(std::string message) {
  return core::Error{core::Errc::kInvalidParams, std::move(message)};
}

std::string nameText(const X509_NAME* name) {
  BioPtr out(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(out.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long size = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

double epochOf(const ASN1_TIME* time) {
  std::tm tm{};
  ASN1_TIME_to_tm(time, &tm);
  return static_cast<double>(timegm(&tm));
}

double nowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::vector<std::string> altNames(X509* cert) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_DNS) {
      const auto* s = name->d.dNSName;
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<std::size_t>(ASN1_STRING_length(s)));
    } else if (name->type == GEN_IPADD) {
      const auto* ip = name->d.iPAddress;
      char text[INET6_ADDRSTRLEN] = {};
      const int family = ASN1_STRING_length(ip) == 4 ? AF_INET : AF_INET6;
      inet_ntop(family, ASN1_STRING_get0_data(ip), text, sizeof text);
      out.emplace_back(text);
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

// The facts of one certificate; `chain` holds the certificates that came with it.
CertificateInfo describe(X509* cert, STACK_OF(X509) * chain, const std::string& ca_file) {
  CertificateInfo info;
  info.subject = nameText(X509_get_subject_name(cert));
  info.issuer = nameText(X509_get_issuer_name(cert));
  info.names = altNames(cert);
  BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  char* hex = BN_bn2hex(serial);
  info.serial = hex;
  OPENSSL_free(hex);
  BN_free(serial);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  X509_digest(cert, EVP_sha256(), digest, &length);
  for (unsigned int i = 0; i < length; ++i)
    info.fingerprint += fmt::format("{}{:02X}", i ? ":" : "", digest[i]);
  const double not_before = epochOf(X509_get0_notBefore(cert));
  const double not_after = epochOf(X509_get0_notAfter(cert));
  info.not_before = formatUtc(not_before);
  info.not_after = formatUtc(not_after);
  info.days_left = (not_after - nowSeconds()) / 86400.0;
  // Issued by itself and signed with its own key. (X509_check_issued would also demand the
  // keyCertSign usage, which a server certificate does not have.)
  info.self_signed = X509_self_signed(cert, 1) == 1;
  info.chain_length = 1 + (chain ? sk_X509_num(chain) : 0);

  // The chain: the certificates given with it as intermediates, the system's roots (and
  // ca_file) as anchors. A self-signed certificate is its own anchor.
  StorePtr store(X509_STORE_new());
  X509_STORE_set_default_paths(store.get());
  if (!ca_file.empty()) X509_STORE_load_file(store.get(), ca_file.c_str());
  if (info.self_signed) X509_STORE_add_cert(store.get(), cert);
  if (chain) {
    for (int i = 0; i < sk_X509_num(chain); ++i) {
      X509* extra = sk_X509_value(chain, i);
      if (X509_self_signed(extra, 1) == 1) X509_STORE_add_cert(store.get(), extra);
    }
  }
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), cert, chain);
  // Expiry is graded separately; the chain check is about who signed it.
  X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_NO_CHECK_TIME);
  info.chain_verified = X509_verify_cert(ctx.get()) == 1;
  if (!info.chain_verified)
    info.chain_error = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
  ERR_clear_error();
  return info;
}

core::Result<KeyPtr> readKey(const std::string& pem, const std::string& what) {
  BioPtr in(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  KeyPtr key(PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr));
  if (!key) return failure(opensslError(fmt::format("{}: not a PEM private key", what)));
  return key;
}

// The certificates of a PEM text: the first, and the rest as its chain.
core::Result<std::pair<X509Ptr, ChainPtr>> readCertificates(const std::string& pem,
                                                            const std::string& what) {
  BioPtr in(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr first(PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr));
  if (!first) return failure(opensslError(fmt::format("{}: no PEM certificate", what)));
  ChainPtr chain(sk_X509_new_null());
  while (X509* next = PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr))
    sk_X509_push(chain.get(), next);
  ERR_clear_error(); // the end of the file reads as an error
  return std::pair{std::move(first), std::move(chain)};
}

bool coveredBy(const std::string& name, const std::string& pattern) {
  if (name == pattern) return true;
  if (!pattern.starts_with("*.")) return false;
  const auto dot = name.find('.');
  return dot != std::string::npos && name.substr(dot) == pattern.substr(1);
}

bool isIpAddress(const std::string& name) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, name.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, name.c_str(), buffer) == 1;
}

core::Status addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return failure(opensslError(fmt::format("extension {}", value)));
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return core::Ok{};
}

std::string pemOf(X509* cert) {
  BioPtr out(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(out.get(), cert);
  char* data = nullptr;
  const long size = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string pemOf(EVP_PKEY* key) {
  BioPtr out(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(out.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long size = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

// Writes `text` to a new file beside `target` with `mode`, flushed; returns its path.
core::Result<std::string> writeBeside(const std::string& target, const std::string& text,
                                      mode_t mode) {
  const std::string temp = target + ".new";
  std::filesystem::remove(temp);
  const mode_t old_mask = ::umask(0777 & ~mode);
  std::FILE* file = std::fopen(temp.c_str(), "wb");
  ::umask(old_mask);
  if (!file) return failure(fmt::format("cannot write {}", temp));
  const bool written = std::fwrite(text.data(), 1, text.size(), file) == text.size() &&
                       std::fflush(file) == 0 && ::fsync(fileno(file)) == 0;
  std::fclose(file);
  ::chmod(temp.c_str(), mode);
  if (!written) return failure(fmt::format("cannot write {}", temp));
  return temp;
}

} // namespace

core::Result<std::string> readPemFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return failure(fmt::format("cannot read {}", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

core::Result<CertificateInfo> inspectCertificateFile(const std::string& cert_file,
                                                     const std::string& key_file,
                                                     const std::string& ca_file) {
  auto pem = readPemFile(cert_file);
  if (!pem) return pem.error();
  auto certs = readCertificates(*pem, cert_file);
  if (!certs) return certs.error();
  auto info = describe(certs->first.get(), certs->second.get(), ca_file);
  if (!key_file.empty()) {
    auto key_pem = readPemFile(key_file);
    if (!key_pem) return key_pem.error();
    auto key = readKey(*key_pem, key_file);
    if (!key) return key.error();
    info.key_matches = X509_check_private_key(certs->first.get(), key->get()) == 1;
    ERR_clear_error();
  }
  return info;
}

core::Result<CertificateInfo> inspectServer(const std::string& host, const std::string& port,
                                            std::chrono::milliseconds timeout,
                                            const std::string& ca_file) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  BioPtr bio(BIO_new_ssl_connect(ctx.get()));
  if (!bio) return failure(opensslError("TLS client"));
  SSL* ssl = nullptr;
  BIO_get_ssl(bio.get(), &ssl);
  if (!isIpAddress(host)) // SNI (the macro SSL_set_tlsext_host_name casts old-style)
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(host.c_str()));
  const std::string address = host.find(':') != std::string::npos
                                  ? fmt::format("[{}]:{}", host, port)
                                  : fmt::format("{}:{}", host, port);
  BIO_set_conn_hostname(bio.get(), address.c_str());
  // Bounded: a non-blocking connect and handshake, waited on with BIO_wait.
  BIO_set_nbio(bio.get(), 1);
  const auto deadline = std::time(nullptr) +
                        std::max<std::time_t>(1, static_cast<std::time_t>(timeout.count() / 1000));
  for (;;) {
    if (BIO_do_handshake(bio.get()) == 1) break;
    if (!BIO_should_retry(bio.get()) || BIO_wait(bio.get(), deadline, 100) <= 0) {
      return core::Error{core::Errc::kUnavailable,
                         opensslError(fmt::format("TLS handshake with {}", address))};
    }
  }
  X509Ptr cert(SSL_get1_peer_certificate(ssl));
  if (!cert) return core::Error{core::Errc::kUnavailable, address + " presented no certificate"};
  // The server's chain includes its own certificate first; keep the rest.
  ChainPtr chain(sk_X509_new_null());
  if (STACK_OF(X509)* sent = SSL_get_peer_cert_chain(ssl)) {
    for (int i = 1; i < sk_X509_num(sent); ++i) {
      X509* extra = sk_X509_value(sent, i);
      X509_up_ref(extra);
      sk_X509_push(chain.get(), extra);
    }
  }
  return describe(cert.get(), chain.get(), ca_file);
}

std::vector<Check> gradeCertificate(const CertificateInfo& info, const CertificateLimits& limits,
                                    const std::vector<std::string>& expected_names) {
  std::vector<Check> checks;
  Level expiry = Level::kOk;
  if (info.days_left < limits.critical_days) {
    expiry = Level::kCritical;
  } else if (info.days_left < limits.warning_days) {
    expiry = Level::kWarning;
  }
  std::string detail =
      info.days_left < 0
          ? fmt::format("expired {:.1f} days ago ({})", -info.days_left, info.not_after)
          : fmt::format("{:.1f} days left, until {}", info.days_left, info.not_after);
  if (expiry != Level::kOk) detail += "; renew it: forge certs renew";
  checks.push_back({"expiry", expiry, detail});
  if (info.key_matches) {
    checks.push_back({"key", *info.key_matches ? Level::kOk : Level::kCritical,
                      *info.key_matches ? "the key belongs to the certificate"
                                        : "the key does not belong to the certificate"});
  }
  if (info.chain_verified) {
    checks.push_back({"chain", Level::kOk,
                      info.self_signed ? "self-signed: clients must trust this certificate itself"
                                       : fmt::format("verified ({} certificate(s), issuer {})",
                                                     info.chain_length, info.issuer)});
  } else {
    checks.push_back({"chain", Level::kWarning,
                      fmt::format("not verified: {} (issuer {}; give the CA with --ca-file, or "
                                  "put the intermediates after the certificate)",
                                  info.chain_error, info.issuer)});
  }
  for (const auto& name : expected_names) {
    const bool covered = std::any_of(info.names.begin(), info.names.end(),
                                     [&](const auto& n) { return coveredBy(name, n); });
    checks.push_back({"name " + name, covered ? Level::kOk : Level::kCritical,
                      covered ? "covered by the certificate"
                              : fmt::format("not among the certificate's names ({})",
                                            fmt::join(info.names, ", "))});
  }
  return checks;
}

core::Result<PemPair> makeCertificate(const CertificateRequest& request) {
  if (request.names.empty()) return failure("a certificate needs at least one name");
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return failure(opensslError("generating a P-256 key"));
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  // 159 random bits: unique serials without keeping state.
  unsigned char serial_bytes[20];
  RAND_bytes(serial_bytes, sizeof serial_bytes);
  serial_bytes[0] &= 0x7f;
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(request.days) * 86400L);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(request.names[0].c_str()), -1,
                             -1, 0);

  X509Ptr ca_cert;
  KeyPtr ca_key;
  if (!request.ca_cert_pem.empty()) {
    auto ca = readCertificates(request.ca_cert_pem, "CA certificate");
    if (!ca) return ca.error();
    auto signing = readKey(request.ca_key_pem, "CA key");
    if (!signing) return signing.error();
    if (X509_check_private_key(ca->first.get(), signing->get()) != 1)
      return failure("the CA key does not belong to the CA certificate");
    ca_cert = std::move(ca->first);
    ca_key = std::move(*signing);
  }
  X509* issuer = ca_cert ? ca_cert.get() : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer));

  std::string sans;
  for (const auto& name : request.names)
    sans += fmt::format("{}{}:{}", sans.empty() ? "" : ",", isIpAddress(name) ? "IP" : "DNS", name);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, sans},
                            {NID_basic_constraints, std::string("critical,CA:FALSE")},
                            {NID_key_usage, std::string("critical,digitalSignature")},
                            {NID_ext_key_usage, std::string("serverAuth")},
                            {NID_subject_key_identifier, std::string("hash")}}) {
    if (auto status = addExtension(cert.get(), issuer, nid, value); !status) return status.error();
  }
  if (X509_sign(cert.get(), ca_key ? ca_key.get() : key.get(), EVP_sha256()) == 0)
    return failure(opensslError("signing the certificate"));
  PemPair pair{pemOf(cert.get()), pemOf(key.get())};
  if (ca_cert) pair.cert_pem += pemOf(ca_cert.get());
  return pair;
}

core::Status installPair(const PemPair& pair, const std::string& cert_file,
                         const std::string& key_file) {
  auto certs = readCertificates(pair.cert_pem, "the new certificate");
  if (!certs) return certs.error();
  auto key = readKey(pair.key_pem, "the new key");
  if (!key) return key.error();
  if (X509_check_private_key(certs->first.get(), key->get()) != 1) {
    ERR_clear_error();
    return failure("the key does not belong to the certificate: nothing installed");
  }
  auto key_temp = writeBeside(key_file, pair.key_pem, 0600);
  if (!key_temp) return key_temp.error();
  auto cert_temp = writeBeside(cert_file, pair.cert_pem, 0644);
  if (!cert_temp) return cert_temp.error();
  // The key first: a reader that sees the new key with the old certificate refuses the pair
  // and keeps what it has until the certificate follows.
  std::error_code ec;
  std::filesystem::rename(*key_temp, key_file, ec);
  if (!ec) std::filesystem::rename(*cert_temp, cert_file, ec);
  if (ec) return failure(fmt::format("installing {}: {}", cert_file, ec.message()));
  return core::Ok{};
}

} // namespace forge::ops
