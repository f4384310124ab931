#include "net/listen_socket.h"

#include <fmt/format.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace forge::net {
namespace {

// The socket address of host:port; false when host is not an IP address.
bool socketAddress(const ListenOptions& o, sockaddr_storage& out, socklen_t& length) {
  out = {};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  if (::inet_pton(AF_INET, o.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(o.port);
    length = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (::inet_pton(AF_INET6, o.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(o.port);
    length = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

} // namespace

core::Result<int> openListener(const ListenOptions& o) {
  sockaddr_storage address;
  socklen_t length = 0;
  if (!socketAddress(o, address, length)) {
    return core::Error{core::Errc::kInvalidParams,
                       fmt::format("'{}' is not an IP address", o.host)};
  }
  const int fd = ::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int on = 1;
  const bool ok =
      fd >= 0 && ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0 &&
      (!o.reuse_port || ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) == 0) &&
      ::bind(fd, reinterpret_cast<sockaddr*>(&address), length) == 0 &&
      ::listen(fd, o.backlog) == 0;
  if (!ok) {
    const int error = errno;
    if (fd >= 0) ::close(fd);
    return core::Error{core::Errc::kUnavailable, fmt::format("cannot listen on {}:{}: {}", o.host,
                                                             o.port, std::strerror(error))};
  }
  return fd;
}

std::uint16_t localPort(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
  if (address.ss_family == AF_INET)
    return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
  if (address.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  return 0;
}

} // namespace forge::net
