// PasswordWorker: a thread for argon2id hashing and verification, which cost tens of
// milliseconds and 64 MiB each and must never run on an I/O thread or hold up the database
// thread. Its queue is short on purpose: a flood of login attempts gets 503s instead of memory
// and a queue of minutes.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace forge::identity {

class PasswordWorker {
public:
  explicit PasswordWorker(std::size_t max_queued = 32);
  ~PasswordWorker();
  PasswordWorker(const PasswordWorker&) = delete;
  PasswordWorker& operator=(const PasswordWorker&) = delete;

  // Queues a job; false when the queue is full or the worker stopped.
  bool submit(std::function<void()> job);

private:
  void run();

  const std::size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace forge::identity
