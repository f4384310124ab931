// A small blocking HTTP/1.1 client for command-line operations (`forge register` and the like):
// one request on a fresh connection, the whole answer read, everything within one total timeout.
// Plain http:// only for now. No Beast or Asio here (see http_client_impl.cc).
#pragma once

#include "core/error.h"
#include "net/http.h"

#include <chrono>
#include <cstddef>
#include <string>

namespace forge::net {

struct HttpRequestSpec {
  Method method = Method::kGet;
  std::string url; // http://host[:port][/path][?query]
  // Sent as given; Host and User-Agent are added unless present, Content-Length always.
  Headers headers;
  std::string body;
  // For resolving, connecting, sending and reading the whole answer together.
  std::chrono::milliseconds timeout{30'000};
  std::size_t max_body_bytes = 64 * 1024 * 1024;
};

// Sends the request and returns the answer, whatever its status. Errors:
//   kInvalidParams  the URL is malformed, or https:// (TLS is not supported yet)
//   kUnavailable    the host cannot be resolved or connected to, or the connection broke
//                   ("cannot connect to http://127.0.0.1:8000: Connection refused — ...")
//   kTimeout        no complete answer within the timeout
//   kBadGateway     the answer is not valid HTTP or is larger than max_body_bytes
core::Result<Response> fetch(const HttpRequestSpec& spec);

} // namespace forge::net
