#include "net/tls_stream_impl.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

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

} // namespace

core::Result<TlsContextPtr> makeServerTlsContext(const std::string& cert_file,
                                                 const std::string& key_file) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use);
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
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

} // namespace forge::net
