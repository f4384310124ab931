// Forge's one error type. On the request path errors are values: a function that can fail
// returns Result<T>, and core::httpStatus()/core::jsonRpcCode() map an Errc to what a client
// sees, in one place. Exceptions are for start-up and configuration only.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace forge::core {

enum class Errc {
  kParseError,           // the bytes are not JSON
  kInvalidRequest,       // JSON, but not a valid request
  kMethodNotFound,       // unknown JSON-RPC method
  kInvalidParams,        // parameters fail validation
  kInternal,             // a bug or an unexpected environment failure
  kBadRequest,           // malformed HTTP request (missing header, bad value)
  kUnauthorized,         // no or invalid credentials
  kForbidden,            // credentials valid, action not allowed (or foreign Origin/Host)
  kNotFound,             // unknown route, object, session
  kMethodNotAllowed,     // route exists, HTTP method does not
  kNotAcceptable,        // Accept header excludes every representation we can produce
  kConflict,             // duplicate name or id
  kPayloadTooLarge,      // body over the configured limit
  kHeadersTooLarge,      // header block over the configured limit
  kUnsupportedMediaType, // Content-Type we cannot read
  kUnprocessable,        // well-formed body with invalid field values
  kRateLimited,          // token bucket empty
  kTimeout,              // a deadline passed (upstream call, request)
  kUnavailable,          // draining, not ready, overloaded
  kBadGateway,           // an upstream failed or answered garbage
};

// A failure: what went wrong (code) and a message meant for the client.
struct Error {
  Errc code = Errc::kInternal;
  std::string message;
};

// The HTTP status for an error code.
int httpStatus(Errc code);

// The JSON-RPC error code for an error code (-32700 ... -32603, or a server-defined code).
int jsonRpcCode(Errc code);

// A short stable name, e.g. "payload_too_large"; used in JSON error bodies and logs.
const char* errcName(Errc code);

// Result<T>: either a value or an Error. Deliberately small; C++23's std::expected is not
// available with GCC 12 in C++20 mode.
template <class T>
class Result {
public:
  Result(T value) : data_(std::move(value)) {}     // NOLINT: implicit by design
  Result(Error error) : data_(std::move(error)) {} // NOLINT: implicit by design
  Result(Errc code, std::string message) : data_(Error{code, std::move(message)}) {}

  bool ok() const { return data_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(data_); }
  const T& value() const& { return std::get<0>(data_); }
  T&& value() && { return std::get<0>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(data_); }

private:
  std::variant<T, Error> data_;
};

// Status: a Result with no value.
struct Ok {};
using Status = Result<Ok>;

} // namespace forge::core
