// Forge's own HTTP message types: what handlers see and produce. No Beast or Asio here, so
// that every module above `net` compiles without them.
//
// A handler receives the request and a ResponseWriter. It answers once, now or later and from
// any thread, with send(); or it streams (Server-Sent Events) with startStream(), write()... and
// end(). The writer is thread-safe and tells the handler when the client has gone.
#pragma once

#include "auth/roles.h"
#include "core/error.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace forge::net {

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };

const char* methodName(Method method);
Method parseMethod(std::string_view name);

// Header fields in arrival order; names compare case-insensitively.
class Headers {
public:
  // The first value of `name`, if present.
  std::optional<std::string_view> get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  // Replaces every field called `name` with one.
  void set(std::string name, std::string value);
  // Appends a field, keeping any others of the same name.
  void add(std::string name, std::string value);
  void remove(std::string_view name);

  auto begin() const { return fields_.begin(); }
  auto end() const { return fields_.end(); }
  std::size_t size() const { return fields_.size(); }

private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

// ASCII only, as HTTP field names are (std::tolower asks the locale, for every character of
// every header looked up). Inline: most names compared differ in length, and that check is
// cheaper than a call.
inline bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    const char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

struct Request {
  Method method = Method::kGet;
  std::string target; // as received: path and query
  std::string path;   // decoded path, no query
  std::string query;  // raw query string, without '?'
  Headers headers;
  std::string body;
  std::string request_id;     // X-Request-Id from the client if sane, else generated
  std::string remote_address; // "127.0.0.1:53122"
  std::map<std::string, std::string, std::less<>> params; // path parameters set by the Router
  // Who sent the request, set by the access layer before routing; null on public routes and
  // where authentication does not apply.
  std::shared_ptr<const auth::Principal> principal;

  std::optional<std::string_view> header(std::string_view name) const { return headers.get(name); }
  // A query parameter, percent-decoded.
  std::optional<std::string> queryParam(std::string_view name) const;
  std::string_view param(std::string_view name) const;
};
using RequestPtr = std::shared_ptr<Request>;

struct Response {
  int status = 200;
  Headers headers;
  std::string body;

  // A response with a JSON body (Content-Type: application/json).
  static Response json(int status, std::string body);
  // {"detail": "...", "error": "<errc name>"} with the status of the error's code.
  static Response error(const core::Error& error);
  static Response error(core::Errc code, std::string message) {
    return error(core::Error{code, std::move(message)});
  }
};

class ResponseWriter {
public:
  virtual ~ResponseWriter() = default;

  // Sends a complete response. Call at most once, and not after startStream().
  virtual void send(Response response) = 0;
  // Starts a streamed (chunked) response with these headers.
  virtual void startStream(int status, Headers headers) = 0;
  // Queues bytes on a started stream. Returns false once the client is gone or the stream's
  // buffer is over its limit (a client that does not read); the handler should stop writing.
  virtual bool write(std::string data) = 0;
  // Ends a started stream.
  virtual void end() = 0;
  // True once the connection is closed (client left, server shutting down, or error).
  virtual bool closed() const = 0;
  // Runs `callback` once when the connection closes (immediately if it already has).
  virtual void onClose(std::function<void()> callback) = 0;
};
using ResponseWriterPtr = std::shared_ptr<ResponseWriter>;

// A ResponseWriter that hands everything to another: wrappers that watch responses (auditing,
// counting) override only what they look at.
class ForwardingWriter : public ResponseWriter {
public:
  explicit ForwardingWriter(ResponseWriterPtr inner) : inner_(std::move(inner)) {}
  void send(Response response) override { inner_->send(std::move(response)); }
  void startStream(int status, Headers headers) override {
    inner_->startStream(status, std::move(headers));
  }
  bool write(std::string data) override { return inner_->write(std::move(data)); }
  void end() override { inner_->end(); }
  bool closed() const override { return inner_->closed(); }
  void onClose(std::function<void()> callback) override { inner_->onClose(std::move(callback)); }

protected:
  ResponseWriterPtr inner_;
};

using Handler = std::function<void(const RequestPtr&, const ResponseWriterPtr&)>;

} // namespace forge::net
