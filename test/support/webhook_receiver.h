// A tiny HTTP server on 127.0.0.1 for tests that send webhooks: it accepts connections on a
// thread of its own, reads each POST (headers and Content-Length body), answers with the status
// it is told to, and keeps what it received. Plain POSIX sockets, one request per connection.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace forge::test {

struct ReceivedRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers; // names lower-cased
  std::string body;
};

class WebhookReceiver {
public:
  explicit WebhookReceiver(int status = 200);
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url(const std::string& path = "/hook") const;
  void setStatus(int status) { status_ = status; }
  // Waits until at least `count` requests arrived; false on timeout.
  bool waitFor(std::size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  std::vector<ReceivedRequest> received() const;

private:
  void serve();
  void handle(int fd);

  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<int> status_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<ReceivedRequest> received_;
  std::thread thread_;
};

} // namespace forge::test
