// HttpUrl: the parts of an http:// or https:// URL that a client needs, and the text checks
// shared by Forge's HTTP clients. The CLI's client (http_client.h) speaks both; the upstream
// channels and the OAuth token client have no TLS and parse with parsePlainHttpUrl, which refuses
// https with advice, because saying so beats a confusing connection error.
#pragma once

#include "core/error.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace forge::net {

struct HttpUrl {
  bool secure = false; // https
  std::string host;    // a name or an address; IPv6 without brackets
  std::string port;    // "80" (http) or "443" (https) when the URL names none
  std::uint16_t port_number = 80;
  std::string target; // path and query; at least "/"

  bool sameOrigin(const HttpUrl& other) const {
    return secure == other.secure && host == other.host && port == other.port;
  }
  const char* scheme() const { return secure ? "https" : "http"; }
  // "host:port" (IPv6 in brackets), for messages.
  std::string authority() const;
  // "http://host:port" or "https://host:port".
  std::string origin() const { return std::string(scheme()) + "://" + authority(); }
  // The Host header: the authority without the default port of the scheme.
  std::string hostHeader() const;
};

// Parses http(s)://host[:port][/path][?query]. `what` names the URL in error messages
// ("upstream URL"). Errors are kInvalidParams and say what is wrong.
core::Result<HttpUrl> parseHttpUrl(std::string_view text, std::string_view what);
// The same for clients without TLS (the upstream channels, the OAuth token client): an https://
// URL is kInvalidParams with a message that says what to do instead.
core::Result<HttpUrl> parsePlainHttpUrl(std::string_view text, std::string_view what);

bool startsWithIgnoreCase(std::string_view text, std::string_view prefix);
// True if text holds a space or a control character (not allowed in a host or a target).
bool hasSpaceOrControl(std::string_view text);
// Whether text may go into an HTTP request line or header without splitting it.
bool isHeaderSafe(std::string_view text);

} // namespace forge::net
