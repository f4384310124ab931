// Certificates of the gateway's TLS: what a certificate says (names, validity, fingerprint), the
// certificate a server presents, graded checks (expiry, key, chain, names), new certificates
// (self-signed or signed by a local CA) and their atomic installation. OpenSSL stays in certs.cc.
#pragma once

#include "core/error.h"
#include "ops/check.h"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace forge::ops {

struct CertificateInfo {
  std::string subject; // "CN=gateway.example.com"
  std::string issuer;
  std::vector<std::string> names; // subjectAltName DNS names and IP addresses
  std::string serial;             // hex
  std::string fingerprint;        // SHA-256 of the DER, hex with colons
  std::string not_before;         // ISO 8601 UTC
  std::string not_after;
  double days_left = 0; // negative once expired
  bool self_signed = false;
  int chain_length = 1;            // certificates in the file or presented by the server
  std::optional<bool> key_matches; // when a key was given
  bool chain_verified = false;     // the chain leads to a trusted root (or is self-signed)
  std::string chain_error;         // why not
};

// The first certificate of a PEM file (the rest is its chain); with key_file, whether the key is
// the certificate's. ca_file: extra trusted roots for the chain check.
core::Result<CertificateInfo> inspectCertificateFile(const std::string& cert_file,
                                                     const std::string& key_file = "",
                                                     const std::string& ca_file = "");

// The certificate `host:port` presents in a TLS handshake (sent with SNI `host`).
core::Result<CertificateInfo> inspectServer(const std::string& host, const std::string& port,
                                            std::chrono::milliseconds timeout,
                                            const std::string& ca_file = "");

struct CertificateLimits {
  double warning_days = 30;
  double critical_days = 7;
};

// Checks: expiry (days left against the limits), key (when known), chain, and that every name
// in `expected_names` is covered (exact or one-level wildcard).
std::vector<Check> gradeCertificate(const CertificateInfo& info, const CertificateLimits& limits,
                                    const std::vector<std::string>& expected_names = {});

struct CertificateRequest {
  std::vector<std::string> names; // the first is the common name; IPs become IP SANs
  int days = 90;
  // A local CA to sign with (PEM); empty: self-signed.
  std::string ca_cert_pem;
  std::string ca_key_pem;
};

struct PemPair {
  std::string cert_pem; // the certificate, then the CA's when signed by one
  std::string key_pem;  // PKCS#8, unencrypted
};

// A fresh P-256 key and its certificate (serverAuth, SANs), valid from a minute ago.
core::Result<PemPair> makeCertificate(const CertificateRequest& request);

// PEM text of a file.
core::Result<std::string> readPemFile(const std::string& path);

// Checks that the key belongs to the certificate, then writes both next to their targets and
// renames them into place (the key with mode 0600), so a reader sees the old pair or the new
// one, never half of one.
core::Status installPair(const PemPair& pair, const std::string& cert_file,
                         const std::string& key_file);

} // namespace forge::ops
