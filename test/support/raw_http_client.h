// A deliberately plain HTTP/1.1 client on POSIX sockets, for tests: it can send anything
// (malformed requests, bytes one at a time, oversize headers) and read what comes back.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace forge::test {

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers; // names lower-cased
  std::string body;                           // de-chunked
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class RawConnection {
public:
  RawConnection() = default;
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connect(std::uint16_t port);
  bool send(std::string_view bytes);
  // Reads one response; nullopt on timeout, error or a close before a full response.
  std::optional<HttpReply> readReply(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Reads the response head of a streamed reply and returns it (body left unread).
  std::optional<HttpReply> readHead(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Reads raw bytes that arrive within `timeout` (for streams).
  std::string readSome(std::chrono::milliseconds timeout);
  // True if the server closes the connection within `timeout`.
  bool waitForClose(std::chrono::milliseconds timeout);
  void close();

private:
  bool fill(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  std::string buffer_;
};

// Sends one request on a fresh connection and reads the reply.
std::optional<HttpReply> httpRequest(std::uint16_t port, std::string_view method,
                                     std::string_view path, std::string_view body = {},
                                     const std::map<std::string, std::string>& headers = {});

} // namespace forge::test
