// ApiClient: what CLI commands use to talk to a running Forge process (the gateway's REST API,
// the manager's API): JSON requests with an optional bearer token, and the answer's status,
// text and parsed body. Errors (cannot connect, timeout) are values.
#pragma once

#include "core/error.h"
#include "net/http.h"

#include <boost/json/value.hpp>

#include <chrono>
#include <string>

namespace forge::cli {

struct Answer {
  int status = 0;
  boost::json::value body; // null when not JSON
  std::string text;
};

class ApiClient {
public:
  ApiClient(std::string base, std::string token, std::chrono::milliseconds timeout)
      : base_(std::move(base)), token_(std::move(token)), timeout_(timeout) {}

  core::Result<Answer> call(net::Method method, const std::string& path,
                            const boost::json::value* body = nullptr) const;
  const std::string& base() const { return base_; }
  // For a replica on this machine reached by its own port over https: its certificate names
  // the public host, not 127.0.0.1, so it is not verified (net::HttpRequestSpec::verify_peer).
  ApiClient& localReplica() {
    verify_peer_ = false;
    return *this;
  }

  // What an error answer says: its "detail", else the start of its body.
  static std::string detail(const Answer& answer);

private:
  std::string base_;
  std::string token_;
  std::chrono::milliseconds timeout_;
  bool verify_peer_ = true;
};

} // namespace forge::cli
