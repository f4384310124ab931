// EventLoop: the I/O threads of a Forge process. Everything asynchronous (HTTP server,
// upstream connections, child-process pipes, timers) runs on one EventLoop. It hides Asio;
// the *_impl.cc files of other modules reach the io_context through net/event_loop_impl.h.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

namespace forge::net {

class EventLoop {
public:
  // threads = 0 means one per CPU core.
  explicit EventLoop(std::size_t threads = 0);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs the loop on `threads()` threads (the caller's is one of them) until stop().
  void run();
  // Makes run() return once the handlers already running have finished. Thread-safe.
  void stop();
  bool stopped() const;
  std::size_t threads() const;

  // Runs `fn` on one of the loop's threads.
  void post(std::function<void()> fn);
  // Runs `fn` on one of the loop's threads after `delay`.
  void postAfter(std::chrono::milliseconds delay, std::function<void()> fn);

  // Calls `handler(signal_number)` on SIGINT and SIGTERM (each time one arrives).
  void onTerminationSignal(std::function<void(int)> handler);

  struct Impl;
  Impl& impl() { return *impl_; }

private:
  std::unique_ptr<Impl> impl_;
};

} // namespace forge::net
