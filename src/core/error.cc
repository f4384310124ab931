// The single mapping from Errc to HTTP status, JSON-RPC code and name.
#include "core/error.h"

namespace forge::core {

int httpStatus(Errc code) {
  switch (code) {
  case Errc::kParseError:
  case Errc::kInvalidRequest:
  case Errc::kInvalidParams:
  case Errc::kBadRequest:
    return 400;
  case Errc::kMethodNotFound:
  case Errc::kNotFound:
    return 404;
  case Errc::kUnauthorized:
    return 401;
  case Errc::kForbidden:
    return 403;
  case Errc::kMethodNotAllowed:
    return 405;
  case Errc::kNotAcceptable:
    return 406;
  case Errc::kConflict:
    return 409;
  case Errc::kPayloadTooLarge:
    return 413;
  case Errc::kUnsupportedMediaType:
    return 415;
  case Errc::kUnprocessable:
    return 422;
  case Errc::kRateLimited:
    return 429;
  case Errc::kHeadersTooLarge:
    return 431;
  case Errc::kInternal:
    return 500;
  case Errc::kBadGateway:
    return 502;
  case Errc::kUnavailable:
    return 503;
  case Errc::kTimeout:
    return 504;
  }
  return 500;
}

int jsonRpcCode(Errc code) {
  switch (code) {
  case Errc::kParseError:
    return -32700;
  case Errc::kInvalidRequest:
  case Errc::kBadRequest:
  case Errc::kPayloadTooLarge:
  case Errc::kHeadersTooLarge:
  case Errc::kNotAcceptable:
  case Errc::kUnsupportedMediaType:
  case Errc::kMethodNotAllowed:
    return -32600;
  case Errc::kMethodNotFound:
    return -32601;
  case Errc::kInvalidParams:
  case Errc::kUnprocessable:
    return -32602;
  case Errc::kInternal:
    return -32603;
  // Server-defined codes (-32000 .. -32099).
  case Errc::kUnavailable:
  case Errc::kBadGateway:
    return -32000;
  case Errc::kTimeout:
    return -32001;
  case Errc::kNotFound:
    return -32002; // MCP's "resource not found"
  case Errc::kUnauthorized:
    return -32003;
  case Errc::kForbidden:
    return -32004;
  case Errc::kConflict:
    return -32005;
  case Errc::kRateLimited:
    return -32029;
  }
  return -32603;
}

const char* errcName(Errc code) {
  switch (code) {
  case Errc::kParseError:
    return "parse_error";
  case Errc::kInvalidRequest:
    return "invalid_request";
  case Errc::kMethodNotFound:
    return "method_not_found";
  case Errc::kInvalidParams:
    return "invalid_params";
  case Errc::kInternal:
    return "internal_error";
  case Errc::kBadRequest:
    return "bad_request";
  case Errc::kUnauthorized:
    return "unauthorized";
  case Errc::kForbidden:
    return "forbidden";
  case Errc::kNotFound:
    return "not_found";
  case Errc::kMethodNotAllowed:
    return "method_not_allowed";
  case Errc::kNotAcceptable:
    return "not_acceptable";
  case Errc::kConflict:
    return "conflict";
  case Errc::kPayloadTooLarge:
    return "payload_too_large";
  case Errc::kHeadersTooLarge:
    return "headers_too_large";
  case Errc::kUnsupportedMediaType:
    return "unsupported_media_type";
  case Errc::kUnprocessable:
    return "unprocessable_entity";
  case Errc::kRateLimited:
    return "rate_limited";
  case Errc::kTimeout:
    return "timeout";
  case Errc::kUnavailable:
    return "unavailable";
  case Errc::kBadGateway:
    return "bad_gateway";
  }
  return "internal_error";
}

} // namespace forge::core
