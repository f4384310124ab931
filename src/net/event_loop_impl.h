// Private to implementation files: the Asio objects behind EventLoop.
//
// One io_context per thread, each run by its thread alone. What belongs to one client
// connection (its socket, the upstream connection its call uses, their timers) lives on one
// context, so a proxied call is handled start to finish by one thread: no wake-up of another
// thread, no lock contention between them. Work that has no connection of its own goes to the
// calling loop thread's context (pick()), or, from other threads, to the contexts in turn.
#pragma once

#include "net/event_loop.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

namespace forge::net {

// An io_context whose services can be shut down (destroying the handlers still queued) before
// any context of the loop is destroyed: a handler queued on one thread's context may own
// objects (timers, sockets) of another's.
class LoopContext : public boost::asio::io_context {
public:
  using boost::asio::io_context::io_context;
  void shutdownServices() { shutdown(); }
};

struct EventLoop::Impl {
  using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

  explicit Impl(std::size_t thread_count);
  // Shuts every context down before destroying any (see LoopContext).
  ~Impl();

  // The context of the calling thread when it runs this loop, else the next one in turn.
  boost::asio::io_context& pick();
  // The contexts in turn (a new connection: spreads connections over the threads).
  boost::asio::io_context& next();
  // Runs context `index` on the calling thread until it stops.
  void runContext(std::size_t index);

  std::size_t threads;
  std::vector<std::unique_ptr<LoopContext>> contexts; // one per thread
  std::vector<Guard> guards;
  // The first context: listening sockets, signals, whatever needs one fixed home.
  boost::asio::io_context& io;
  std::atomic<std::size_t> turn{0};
  std::optional<boost::asio::signal_set> signals;
};

} // namespace forge::net
