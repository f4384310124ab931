// UniqueFd: a file descriptor closed when it goes out of scope (or on reset/close).
#pragma once

#include <unistd.h>

#include <utility>

namespace forge::core {

class UniqueFd {
public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  // Closes now, reporting a failure (a write error can surface only at close on some systems).
  bool close() { return ::close(release()) == 0; }

private:
  int fd_;
};

} // namespace forge::core
