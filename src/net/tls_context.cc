#include "net/tls_stream_impl.h"

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

namespace forge::net {
namespace {

namespace ssl = boost::asio::ssl;

// The newest OpenSSL error as text ("" when there is none).
std::string opensslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return {};
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

// TLS 1.2 or newer only, for both sides.
void refuseOldProtocols(ssl::context& context) {
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
}

bool isAddress(const std::string& host) {
  boost::system::error_code ec;
  (void)boost::asio::ip::make_address(host, ec);
  return !ec;
}

} // namespace

core::Result<TlsContextPtr> makeServerTlsContext(const std::string& cert_file,
                                                 const std::string& key_file) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  refuseOldProtocols(*context);
  context->set_options(ssl::context::single_dh_use);
  SSL_CTX* native = context->native_handle();
  boost::system::error_code ec;
  context->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    return core::Error{core::Errc::kInvalidParams,
                       fmt::format("TLS certificate {}: {} (a PEM certificate chain is expected)",
                                   cert_file, ec.message())};
  }
  context->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) {
    return core::Error{
        core::Errc::kInvalidParams,
        fmt::format("TLS key {}: {} (a PEM private key is expected)", key_file, ec.message())};
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return core::Error{core::Errc::kInvalidParams,
                       fmt::format("TLS key {} does not match the certificate {} ({})", key_file,
                                   cert_file, opensslError())};
  }
  return context;
}

core::Result<TlsContextPtr> makeClientTlsContext(const std::string& ca_file) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  refuseOldProtocols(*context);
  boost::system::error_code ec;
  // A system without a default store still works with ca_file; without either every peer is
  // refused, with a message that names FORGE_CA_FILE.
  context->set_default_verify_paths(ec);
  if (!ca_file.empty()) {
    context->load_verify_file(ca_file, ec);
    if (ec) {
      return core::Error{
          core::Errc::kInvalidParams,
          fmt::format("CA file {}: {} (PEM certificates are expected)", ca_file, ec.message())};
    }
  }
  context->set_verify_mode(ssl::verify_peer);
  return context;
}

core::Status expectPeerName(MaybeTlsStream::TlsStream& stream, const std::string& host) {
  SSL* native = stream.native_handle();
  X509_VERIFY_PARAM* param = SSL_get0_param(native);
  bool ok = false;
  if (isAddress(host)) {
    ok = X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1; // RFC 6066: no SNI for these
  } else {
    // SNI through SSL_ctrl: the macro SSL_set_tlsext_host_name casts old-style.
    ok = SSL_ctrl(native, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                  const_cast<char*>(host.c_str())) == 1 &&
         SSL_set1_host(native, host.c_str()) == 1;
  }
  if (!ok) {
    return core::Error{
        core::Errc::kInvalidParams,
        fmt::format("cannot expect the TLS peer name '{}': {}", host, opensslError())};
  }
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return core::Ok{};
}

std::optional<CertificateRefusal> certificateRefusal(MaybeTlsStream::TlsStream& stream) {
  const long code = SSL_get_verify_result(stream.native_handle());
  if (code == X509_V_OK) return std::nullopt;
  CertificateRefusal refusal;
  refusal.reason = X509_verify_cert_error_string(code);
  switch (code) {
  case X509_V_ERR_HOSTNAME_MISMATCH:
  case X509_V_ERR_IP_ADDRESS_MISMATCH:
    refusal.kind = CertificateRefusal::Kind::kWrongName;
    break;
  case X509_V_ERR_CERT_HAS_EXPIRED:
  case X509_V_ERR_CERT_NOT_YET_VALID:
    refusal.kind = CertificateRefusal::Kind::kOutOfDate;
    break;
  default:
    refusal.kind = CertificateRefusal::Kind::kUntrusted;
  }
  return refusal;
}

} // namespace forge::net
