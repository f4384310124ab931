// Reading the plain HTTP/1.1 requests that nearly every client sends without Beast's parser,
// which spends about 700 instructions on each header field (a lookup of the field's name among
// all known names, special cases for a dozen of them) and calls back once per field. A proxied
// call's request is read here in a fifth of that. Anything out of the ordinary is left to Beast,
// so that every request is accepted or refused exactly as Beast decides.
#pragma once

#include "net/http.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace forge::net {

struct PlainRequest {
  RequestPtr request;     // method, target, headers and body
  std::size_t size = 0;   // of head and body: the bytes it took
  bool keep_alive = true; // false when the client sent "Connection: close"
};

// The request at the start of `bytes`, when all of it is there and it is plain: HTTP/1.1, a
// method Forge knows, a target of visible ASCII, well-formed fields (no folded lines), a body
// announced by one Content-Length or none, and no Transfer-Encoding, Expect, Upgrade or
// Proxy-Connection field, nor a Connection field saying more than close or keep-alive. The
// head must be under `header_limit` bytes and the body at most `body_limit`. Anything else,
// and a request still arriving, gives nullopt: the caller then reads it with Beast.
std::optional<PlainRequest> readPlainRequest(std::string_view bytes, std::size_t header_limit,
                                             std::uint64_t body_limit);

} // namespace forge::net
