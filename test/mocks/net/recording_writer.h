// A ResponseWriter that records what a handler sent, for handler and router tests.
#pragma once

#include "net/http.h"

#include <mutex>
#include <optional>
#include <vector>

namespace forge::test {

class RecordingWriter final : public net::ResponseWriter {
public:
  // net::ResponseWriter
  void send(net::Response response) override {
    std::lock_guard lock(mutex_);
    response_ = std::move(response);
  }
  void startStream(int status, net::Headers headers) override {
    std::lock_guard lock(mutex_);
    response_ = net::Response{status, std::move(headers), {}};
    streaming_ = true;
  }
  bool write(std::string data) override {
    std::lock_guard lock(mutex_);
    chunks_.push_back(std::move(data));
    return !closed_;
  }
  void end() override {
    std::lock_guard lock(mutex_);
    ended_ = true;
  }
  bool closed() const override {
    std::lock_guard lock(mutex_);
    return closed_;
  }
  void onClose(std::function<void()> callback) override {
    callbacks_.push_back(std::move(callback));
  }

  void closeNow() {
    closed_ = true;
    for (auto& cb : callbacks_)
      cb();
  }
  std::optional<net::Response> response() const {
    std::lock_guard lock(mutex_);
    return response_;
  }
  std::vector<std::string> chunks() const {
    std::lock_guard lock(mutex_);
    return chunks_;
  }
  bool ended() const { return ended_; }

private:
  mutable std::mutex mutex_;
  std::optional<net::Response> response_;
  std::vector<std::string> chunks_;
  std::vector<std::function<void()>> callbacks_;
  bool streaming_ = false;
  bool ended_ = false;
  bool closed_ = false;
};

} // namespace forge::test
