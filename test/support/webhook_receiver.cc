#include "support/webhook_receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace forge::test {

WebhookReceiver::WebhookReceiver(int status) : status_(status) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 16) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("webhook receiver: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

WebhookReceiver::~WebhookReceiver() {
  stopping_ = true;
  thread_.join();
  ::close(listen_fd_);
}

std::string WebhookReceiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

bool WebhookReceiver::waitFor(std::size_t count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return arrived_.wait_for(lock, timeout, [&] { return received_.size() >= count; });
}

std::vector<ReceivedRequest> WebhookReceiver::received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

void WebhookReceiver::serve() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    handle(fd);
    ::close(fd);
  }
}

void WebhookReceiver::handle(int fd) {
  std::string data;
  ReceivedRequest request;
  std::size_t body_at = std::string::npos;
  std::size_t length = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (body_at != std::string::npos && data.size() >= body_at + length) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    char buffer[4096];
    const auto n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) return;
    data.append(buffer, static_cast<std::size_t>(n));
    if (body_at != std::string::npos) continue;
    const auto end = data.find("\r\n\r\n");
    if (end == std::string::npos) continue;
    body_at = end + 4;
    std::size_t line_end = data.find("\r\n");
    const std::string first = data.substr(0, line_end);
    request.method = first.substr(0, first.find(' '));
    request.target = first.substr(first.find(' ') + 1, first.rfind(' ') - first.find(' ') - 1);
    while (line_end < end) {
      const auto next = data.find("\r\n", line_end + 2);
      const std::string line = data.substr(line_end + 2, next - line_end - 2);
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        const auto value = line.find_first_not_of(" ", colon + 1);
        request.headers[name] = value == std::string::npos ? "" : line.substr(value);
      }
      line_end = next;
    }
    if (auto found = request.headers.find("content-length"); found != request.headers.end())
      length = std::stoul(found->second);
  }
  if (body_at == std::string::npos) return;
  request.body = data.substr(body_at, length);
  const int status = status_;
  const std::string reply = "HTTP/1.1 " + std::to_string(status) +
                            (status < 300 ? " OK" : " Error") +
                            "\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: "
                            "close\r\n\r\nok";
  (void)::write(fd, reply.data(), reply.size());
  {
    std::lock_guard lock(mutex_);
    received_.push_back(std::move(request));
  }
  arrived_.notify_all();
}

} // namespace forge::test
