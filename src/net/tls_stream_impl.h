// TLS for the HTTP server and the blocking client: a stream that is either plain TCP or TLS over
// TCP, decided when the connection is made, so that one connection type serves both; server
// contexts built from PEM files; client contexts that verify the peer. Implementation files only
// (Asio and OpenSSL).
#pragma once

#include "core/error.h"

#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <memory>
#include <optional>
#include <string>

namespace forge::net {

using TlsContextPtr = std::shared_ptr<boost::asio::ssl::context>;

// A TLS 1.2+ server context holding the certificate chain and private key of two PEM files.
// Errors (unreadable file, not PEM, key not matching the certificate) are values naming the file.
core::Result<TlsContextPtr> makeServerTlsContext(const std::string& cert_file,
                                                 const std::string& key_file);

// A TLS 1.2+ client context that verifies the peer's certificate against the system's default
// roots and, when ca_file is set, the PEM certificates in it. An unreadable ca_file is an error
// (kInvalidParams) naming it.
core::Result<TlsContextPtr> makeClientTlsContext(const std::string& ca_file);

// Plain TCP, or TLS over TCP when made with a context. Meets Beast's AsyncStream requirements;
// timeouts are the TCP stream's (expires_after).
//
// TLS is Asio's stream, not Beast's ssl_stream: the latter sizes a buffer sequence by its first
// buffer, and asio::async_write hands over a written-out (empty) head before the body, so a
// response over 16 KiB would end after its head. Asio's stream skips empty buffers and joins
// small ones into one record itself.
class MaybeTlsStream {
public:
  using executor_type = boost::beast::tcp_stream::executor_type;
  using TlsStream = boost::asio::ssl::stream<boost::beast::tcp_stream>;

  MaybeTlsStream(boost::asio::ip::tcp::socket socket, TlsContextPtr context)
      : context_(std::move(context)) {
    if (context_) {
      tls_.emplace(boost::beast::tcp_stream(std::move(socket)), *context_);
    } else {
      plain_.emplace(std::move(socket));
    }
  }

  bool secure() const { return tls_.has_value(); }
  TlsStream* tls() { return tls_ ? &*tls_ : nullptr; }
  boost::beast::tcp_stream& tcp() { return tls_ ? tls_->next_layer() : *plain_; }
  boost::asio::ip::tcp::socket& socket() { return tcp().socket(); }
  executor_type get_executor() { return tcp().get_executor(); }
  template <class Duration>
  void expires_after(Duration d) {
    tcp().expires_after(d);
  }

  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) {
          if (tls_) {
            tls_->async_read_some(b, std::move(handler));
          } else {
            plain_->async_read_some(b, std::move(handler));
          }
        },
        token, buffers);
  }

  template <class Buffers, class Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) {
          if (tls_) {
            tls_->async_write_some(b, std::move(handler));
          } else {
            plain_->async_write_some(b, std::move(handler));
          }
        },
        token, buffers);
  }

private:
  TlsContextPtr context_; // kept alive as long as the connection uses it
  std::optional<TlsStream> tls_;
  std::optional<boost::beast::tcp_stream> plain_;
};

// Prepares a client connection to `host` before its handshake: SNI (for a name; an address is not
// sent) and the name or address the certificate must carry.
core::Status expectPeerName(MaybeTlsStream::TlsStream& stream, const std::string& host);

// Why a failed client handshake refused the peer's certificate, if it did.
struct CertificateRefusal {
  enum class Kind { kUntrusted, kWrongName, kOutOfDate };
  Kind kind = Kind::kUntrusted;
  std::string reason; // OpenSSL's words, e.g. "self-signed certificate"
};
std::optional<CertificateRefusal> certificateRefusal(MaybeTlsStream::TlsStream& stream);

} // namespace forge::net
