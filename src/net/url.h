// HttpUrl: the parts of an http:// URL that a client needs, and the text checks shared by
// Forge's HTTP clients (the upstream channels and the CLI's client). https is refused for now:
// Forge has no TLS client yet, and saying so beats a confusing connection error.
#pragma once

#include "core/error.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace forge::net {

struct HttpUrl {
  std::string host; // a name or an address; IPv6 without brackets
  std::string port; // "80" when the URL names none
  std::uint16_t port_number = 80;
  std::string target; // path and query; at least "/"

  bool sameOrigin(const HttpUrl& other) const { return host == other.host && port == other.port; }
  // "host:port" (IPv6 in brackets), for messages.
  std::string authority() const;
  // "http://host:port".
  std::string origin() const { return "http://" + authority(); }
  // The Host header: the authority without the default port.
  std::string hostHeader() const;
};

// Parses http://host[:port][/path][?query]. `what` names the URL in error messages
// ("upstream URL"). Errors are kInvalidParams and say what is wrong.
core::Result<HttpUrl> parseHttpUrl(std::string_view text, std::string_view what);

bool startsWithIgnoreCase(std::string_view text, std::string_view prefix);
// True if text holds a space or a control character (not allowed in a host or a target).
bool hasSpaceOrControl(std::string_view text);
// Whether text may go into an HTTP request line or header without splitting it.
bool isHeaderSafe(std::string_view text);

} // namespace forge::net
