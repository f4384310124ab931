// A small blocking HTTP/1.1 client for command-line operations (`forge register` and the like):
// one request on a fresh connection, the whole answer read, everything within one total timeout.
// http:// and https://: over TLS (1.2 or newer) the server's certificate is verified against the
// system's trusted roots plus an optional CA file, and must name the URL's host (SNI is sent for
// names). No Beast or Asio here (see http_client_impl.cc).
#pragma once

#include "core/error.h"
#include "net/http.h"

#include <chrono>
#include <cstddef>
#include <string>

namespace forge::net {

struct HttpRequestSpec {
  Method method = Method::kGet;
  std::string url; // http(s)://host[:port][/path][?query]
  // Sent as given; Host and User-Agent are added unless present, Content-Length always.
  Headers headers;
  std::string body;
  // For resolving, connecting, sending and reading the whole answer together.
  std::chrono::milliseconds timeout{30'000};
  std::size_t max_body_bytes = 64 * 1024 * 1024;
  // https: a PEM file of extra trusted roots (a private CA, a self-signed certificate), on top of
  // the system's. Empty: $FORGE_CA_FILE, if set.
  std::string ca_file;
  // https: whether the certificate must be trusted and name the host. Off only for probes of a
  // process on this machine (the manager's health checks of 127.0.0.1), where what is checked
  // is that it answers, and its certificate names its public host.
  bool verify_peer = true;
};

// Sends the request and returns the answer, whatever its status. Errors:
//   kInvalidParams  the URL is malformed, or the CA file cannot be read
//   kUnavailable    the host cannot be resolved or connected to, the connection broke, or the
//                   TLS handshake failed, e.g. because the certificate is not trusted, expired
//                   or for another name; the message says what to do ("TLS handshake with
//                   https://127.0.0.1:8443 failed: certificate verify failed (self-signed
//                   certificate) — pass the CA with FORGE_CA_FILE=/path/ca.pem")
//   kTimeout        no complete answer within the timeout (the TLS handshake included)
//   kBadGateway     the answer is not valid HTTP or is larger than max_body_bytes
core::Result<Response> fetch(const HttpRequestSpec& spec);

} // namespace forge::net
