#include "transport/origin_guard.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace forge::transport {
namespace {

bool isLoopbackName(std::string_view host) {
  return host == "localhost" || host == "127.0.0.1" || host == "::1";
}

bool hostAllowed(std::string_view host, const OriginPolicy& policy) {
  if (host.empty()) return false;
  if (isLoopbackName(host)) return true;
  return std::any_of(policy.allowed_hosts.begin(), policy.allowed_hosts.end(),
                     [&](const std::string& allowed) { return allowed == "*" || allowed == host; });
}

} // namespace

std::string hostName(std::string_view value) {
  if (const auto scheme = value.find("://"); scheme != std::string_view::npos) {
    value.remove_prefix(scheme + 3);
    value = value.substr(0, value.find('/'));
  }
  std::string_view host;
  if (value.starts_with('[')) {
    const auto close = value.find(']');
    host = close == std::string_view::npos ? std::string_view() : value.substr(1, close - 1);
  } else {
    host = value.substr(0, value.find(':'));
  }
  std::string out(host);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

core::Status checkOrigin(const net::Request& request, const OriginPolicy& policy) {
  const auto host = request.header("Host");
  if (!host || !hostAllowed(hostName(*host), policy)) {
    return core::Error{
        core::Errc::kForbidden,
        fmt::format("Host '{}' is not allowed (see transport.allowed_hosts)", host ? *host : "")};
  }
  const auto origin = request.header("Origin");
  if (!origin) return core::Ok{};
  const bool listed = std::find(policy.allowed_origins.begin(), policy.allowed_origins.end(),
                                *origin) != policy.allowed_origins.end();
  if (listed || hostAllowed(hostName(*origin), policy)) return core::Ok{};
  return core::Error{
      core::Errc::kForbidden,
      fmt::format("Origin '{}' is not allowed (see transport.allowed_origins)", *origin)};
}

} // namespace forge::transport
