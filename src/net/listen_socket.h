// A listening TCP socket as a plain descriptor: what HttpServer binds for itself, and what
// `forge manager` binds once for a service whose replicas share one port (handed down to each).
#pragma once

#include "core/error.h"

#include <cstdint>
#include <string>

namespace forge::net {

struct ListenOptions {
  std::string host = "127.0.0.1"; // an IPv4 or IPv6 address
  std::uint16_t port = 0;         // 0 picks a free port
  bool reuse_port = false;        // SO_REUSEPORT: other processes may bind the port too
  int backlog = 4096;
};

// A bound, listening, close-on-exec socket (SO_REUSEADDR set); the caller owns it. Errors name
// the address: kInvalidParams for a host that is not an IP address, kUnavailable otherwise.
core::Result<int> openListener(const ListenOptions& options);

// The port a bound socket has, or 0.
std::uint16_t localPort(int fd);

} // namespace forge::net
