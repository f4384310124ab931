#include "net/url.h"

#include "net/http.h"

#include <fmt/format.h>

#include <algorithm>

namespace forge::net {

std::string HttpUrl::authority() const {
  return host.find(':') == std::string::npos ? host + ":" + port : "[" + host + "]:" + port;
}

std::string HttpUrl::hostHeader() const {
  if (port != (secure ? "443" : "80")) return authority();
  return host.find(':') == std::string::npos ? host : "[" + host + "]";
}

bool startsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && equalsIgnoreCase(text.substr(0, prefix.size()), prefix);
}

bool hasSpaceOrControl(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

bool isHeaderSafe(std::string_view text) {
  return std::none_of(text.begin(), text.end(),
                      [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

// The request target: "/" when the URL has no path. Built in a fresh string; GCC 12 reports a
// false -Wrestrict for `"/" + std::string(...)` here at -O3.
static std::string targetWithPath(std::string_view target) {
  std::string out;
  out.reserve(target.size() + 1);
  if (target.empty() || target.front() == '?') out.push_back('/');
  out.append(target.data(), target.size());
  return out;
}

core::Result<HttpUrl> parseHttpUrl(std::string_view text, std::string_view what) {
  const auto invalid = [text, what](std::string_view why) {
    return core::Error{core::Errc::kInvalidParams,
                       fmt::format("invalid {} '{}': {}", what, text, why)};
  };
  HttpUrl url;
  url.secure = startsWithIgnoreCase(text, "https://");
  if (!url.secure && !startsWithIgnoreCase(text, "http://"))
    return invalid("only http:// and https:// URLs are supported");
  const std::string_view rest = text.substr(url.secure ? 8 : 7);
  const auto authority_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authority_end);
  std::string_view target =
      authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  target = target.substr(0, target.find('#'));
  if (authority.find('@') != std::string_view::npos)
    return invalid("credentials in the URL are not supported");

  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return invalid("unterminated IPv6 address");
    url.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return invalid("garbage after the IPv6 address");
      port = after.substr(1);
    }
  } else {
    const auto colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (url.host.empty() || hasSpaceOrControl(url.host)) return invalid("no host");
  if (!port.empty()) {
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return invalid("bad port");
    }
    const int number = std::stoi(std::string(port));
    if (number < 1 || number > 65535) return invalid("bad port");
    url.port = std::to_string(number);
    url.port_number = static_cast<std::uint16_t>(number);
  } else {
    url.port_number = url.secure ? 443 : 80;
    url.port = std::to_string(url.port_number);
  }
  url.target = targetWithPath(target);
  if (hasSpaceOrControl(url.target)) return invalid("spaces or control characters in the path");
  return url;
}

core::Result<HttpUrl> parsePlainHttpUrl(std::string_view text, std::string_view what) {
  if (startsWithIgnoreCase(text, "https://")) {
    return core::Error{core::Errc::kInvalidParams,
                       fmt::format("{} {}: https is not supported yet for upstream connections; "
                                   "put a TLS-terminating proxy in front of it or use an http:// "
                                   "URL",
                                   what, text)};
  }
  return parseHttpUrl(text, what);
}

} // namespace forge::net
