// OriginGuard: DNS-rebinding protection for the HTTP transports. A request whose Host, or whose
// Origin when present, names a host that is neither a loopback name nor explicitly allowed is
// refused with 403 before anything else looks at it.
#pragma once

#include "core/error.h"
#include "net/http.h"

#include <string>
#include <string_view>
#include <vector>

namespace forge::transport {

struct OriginPolicy {
  // Host names (no port) accepted besides localhost, 127.0.0.1 and ::1; "*" accepts any.
  std::vector<std::string> allowed_hosts;
  // Full origins accepted besides those whose host is allowed, e.g. "https://app.example.com".
  std::vector<std::string> allowed_origins;
};

// The host name of a Host header value or an origin: "Example.com:8000" -> "example.com",
// "[::1]:9" -> "::1", "http://localhost:3000" -> "localhost".
std::string hostName(std::string_view host_or_origin);

core::Status checkOrigin(const net::Request& request, const OriginPolicy& policy);

} // namespace forge::transport
