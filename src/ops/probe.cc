#include "ops/probe.h"

#include "core/unique_fd.h"

#include <fmt/format.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace forge::ops {
namespace {

using Clock = std::chrono::steady_clock;

core::Error unavailable(std::string message) {
  return core::Error{core::Errc::kUnavailable, std::move(message)};
}

using Fd = core::UniqueFd;

int remainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<std::int64_t>(0, left.count()));
}

// A connected, blocking-free socket to host:port, or an error.
core::Result<int> connectTo(const std::string& host, std::uint16_t port,
                            Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0)
    return unavailable(fmt::format("cannot resolve {}: {}", host, ::gai_strerror(rc)));
  std::string last_error = "no address";
  for (addrinfo* a = found; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int error = 0;
      socklen_t len = sizeof error;
      if (::poll(&p, 1, remainingMs(deadline)) == 1 &&
          ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error == 0) {
        ::freeaddrinfo(found);
        return fd;
      }
      last_error = error ? std::strerror(error) : "timed out";
    } else {
      last_error = std::strerror(errno);
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return unavailable(fmt::format("cannot connect to {}:{}: {}", host, port, last_error));
}

core::Status sendAll(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, remainingMs(deadline)) != 1) return unavailable("timed out sending");
    const auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN) return unavailable(std::strerror(errno));
    if (n > 0) data.remove_prefix(static_cast<std::size_t>(n));
  }
  return core::Ok{};
}

core::Result<std::string> readLine(int fd, Clock::time_point deadline) {
  std::string line;
  while (line.find("\r\n") == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, remainingMs(deadline)) != 1) return unavailable("no answer (timed out)");
    char buffer[512];
    const auto n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n == 0) return unavailable("connection closed without an answer");
    if (n < 0 && errno != EAGAIN) return unavailable(std::strerror(errno));
    if (n > 0) line.append(buffer, static_cast<std::size_t>(n));
    if (line.size() > 4096) break;
  }
  return line.substr(0, line.find("\r\n"));
}

// A RESP command of bulk strings.
std::string respCommand(std::initializer_list<std::string_view> words) {
  std::string out = fmt::format("*{}\r\n", words.size());
  for (auto w : words)
    out += fmt::format("${}\r\n{}\r\n", w.size(), w);
  return out;
}

// Inodes of the sockets listening on `port`, from one /proc/net/tcp* table.
void listeningInodes(const char* table, std::uint16_t port, std::set<std::string>& inodes) {
  std::ifstream in(table);
  std::string line;
  std::getline(in, line); // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
        timeout >> inode;
    if (state != "0A") continue; // TCP_LISTEN
    const auto colon = local.rfind(':');
    if (colon == std::string::npos) continue;
    if (std::stoul(local.substr(colon + 1), nullptr, 16) == port) inodes.insert(inode);
  }
}

// A decimal port 1..65535.
bool parsePort(std::string_view text, std::uint16_t& port) {
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  const int value = std::stoi(std::string(text));
  if (value < 1 || value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

} // namespace

core::Status tcpConnect(const std::string& host, std::uint16_t port,
                        std::chrono::milliseconds timeout) {
  auto fd = connectTo(host, port, Clock::now() + timeout);
  if (!fd) return fd.error();
  ::close(*fd);
  return core::Ok{};
}

std::optional<HostPort> hostPortOf(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  const std::string_view scheme = url.substr(0, scheme_end);
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  HostPort out;
  out.port = scheme == "https" ? 443 : scheme == "redis" ? 6379 : 80;
  std::string_view host = rest;
  if (rest.starts_with('[')) { // [v6]:port
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    if (rest.starts_with(':') && !parsePort(rest.substr(1), out.port)) return std::nullopt;
  } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    if (!parsePort(rest.substr(colon + 1), out.port)) return std::nullopt;
  }
  if (host.empty()) return std::nullopt;
  out.host = std::string(host);
  return out;
}

core::Result<std::string> redisPing(const std::string& url, std::chrono::milliseconds timeout) {
  const auto where = hostPortOf(url);
  if (!url.starts_with("redis://") || !where) {
    return core::Error{core::Errc::kInvalidParams,
                       fmt::format("'{}' is not a redis://host[:port] URL", url)};
  }
  const auto deadline = Clock::now() + timeout;
  auto connected = connectTo(where->host, where->port, deadline);
  if (!connected) return connected.error();
  Fd fd(*connected);
  // redis://[user:password@]host: AUTH first.
  const std::string_view authority = std::string_view(url).substr(8);
  const auto at = authority.substr(0, authority.find('/')).rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    const auto colon = userinfo.find(':');
    const std::string_view user = colon == std::string_view::npos ? "" : userinfo.substr(0, colon);
    const std::string_view password =
        colon == std::string_view::npos ? userinfo : userinfo.substr(colon + 1);
    const std::string auth =
        user.empty() ? respCommand({"AUTH", password}) : respCommand({"AUTH", user, password});
    if (auto sent = sendAll(fd.get(), auth, deadline); !sent) return sent.error();
    auto reply = readLine(fd.get(), deadline);
    if (!reply) return reply.error();
    if (!reply->starts_with("+OK")) return unavailable("AUTH refused: " + *reply);
  }
  if (auto sent = sendAll(fd.get(), respCommand({"PING"}), deadline); !sent) return sent.error();
  auto reply = readLine(fd.get(), deadline);
  if (!reply) return reply.error();
  if (!reply->starts_with("+PONG")) return unavailable("PING answered: " + *reply);
  return *reply;
}

std::optional<PortOwner> listeningOwner(std::uint16_t port) {
  std::set<std::string> inodes;
  listeningInodes("/proc/net/tcp", port, inodes);
  listeningInodes("/proc/net/tcp6", port, inodes);
  if (inodes.empty()) return std::nullopt;
  std::set<std::string> wanted;
  for (const auto& inode : inodes)
    wanted.insert(fmt::format("socket:[{}]", inode));
  std::error_code ec;
  for (const auto& proc : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string pid = proc.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code fd_ec;
    for (const auto& fd : std::filesystem::directory_iterator(proc.path() / "fd", fd_ec)) {
      std::error_code link_ec;
      const auto target = std::filesystem::read_symlink(fd.path(), link_ec);
      if (link_ec || !wanted.contains(target.string())) continue;
      PortOwner owner;
      owner.pid = std::stoi(pid);
      std::ifstream(proc.path() / "comm") >> owner.command;
      return owner;
    }
  }
  return PortOwner{}; // listening, but by a process this user cannot see
}

std::optional<std::string> findExecutable(const std::string& command) {
  auto executable = [](const std::filesystem::path& p) {
    // access() alone says yes to root for files no one may execute.
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0 &&
           ::access(p.c_str(), X_OK) == 0;
  };
  if (command.empty()) return std::nullopt;
  if (command.find('/') != std::string::npos)
    return executable(command) ? std::optional(command) : std::nullopt;
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const auto candidate = std::filesystem::path(dir.empty() ? "." : dir) / command;
    if (executable(candidate)) return candidate.string();
  }
  return std::nullopt;
}

std::optional<std::chrono::system_clock::time_point> parseHttpDate(std::string_view text) {
  std::tm tm{};
  const std::string copy(text);
  const char* end = ::strptime(copy.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

} // namespace forge::ops
