// Probes of the machine and the network for health checks and `forge doctor`: TCP connects,
// a Redis PING, who listens on a port, disk usage, executables on PATH, HTTP dates (clock skew).
// Errors are values; every network probe is bounded by its timeout.
#pragma once

#include "core/error.h"
#include "ops/system_usage.h" // diskUsage, which the doctor and the bundle report

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace forge::ops {

// Opens and closes a TCP connection to host:port.
core::Status tcpConnect(const std::string& host, std::uint16_t port,
                        std::chrono::milliseconds timeout);

// Sends PING (after AUTH when the URL has a password) to redis://[user:password@]host[:port][/db]
// and returns the reply line ("+PONG"). An error says what failed.
core::Result<std::string> redisPing(const std::string& url, std::chrono::milliseconds timeout);

// Who listens on a TCP port of this machine (any address), from /proc/net/tcp{,6} and the
// processes' descriptors. pid 0 when the socket's owner is not visible to this user.
struct PortOwner {
  int pid = 0;
  std::string command; // /proc/<pid>/comm
};
std::optional<PortOwner> listeningOwner(std::uint16_t port);

// The path of an executable `command` (given with a '/', or searched on $PATH), or nullopt.
std::optional<std::string> findExecutable(const std::string& command);

// An HTTP Date header (RFC 9110 IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT").
std::optional<std::chrono::system_clock::time_point> parseHttpDate(std::string_view text);

// host and port of an http(s):// or redis:// URL (port defaulted by scheme).
struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};
std::optional<HostPort> hostPortOf(std::string_view url);

} // namespace forge::ops
