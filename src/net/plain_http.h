// Reading the plain HTTP/1.1 requests that nearly every client sends, and the plain answers of
// upstream servers, without Beast's parser, which spends about 700 instructions on each header
// field (a lookup of the field's name among all known names, special cases for a dozen of them)
// and calls back once per field. Anything out of the ordinary is left to Beast, so that every
// message is accepted or refused exactly as Beast decides.
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

// A 2xx answer read by readPlainAnswer(): what the upstream channel needs of it. The views point
// into the bytes read.
struct PlainAnswer {
  enum Outcome { kPlain, kIncomplete, kNotPlain };
  int status = 0;
  std::string_view content_type; // the first Content-Type, or empty
  std::string_view session_id;   // the first Mcp-Session-Id, or empty
  std::string_view body;
  std::size_t size = 0; // of head and body
  bool keep_alive = true;
};

// The answer at the start of `bytes` (into `answer`, kPlain) when all of it is there and it is
// plain in the sense of readPlainRequest(), with a 2xx status other than 204 and a
// Content-Length; kIncomplete while its head is still arriving (fewer than `header_limit` bytes);
// kNotPlain for anything else, which the caller reads with Beast.
PlainAnswer::Outcome readPlainAnswer(std::string_view bytes, std::size_t header_limit,
                                     std::uint64_t body_limit, PlainAnswer& answer);

} // namespace forge::net
