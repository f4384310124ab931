// Private to implementation files: the Asio objects behind EventLoop.
#pragma once

#include "net/event_loop.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <optional>

namespace forge::net {

struct EventLoop::Impl {
  explicit Impl(std::size_t thread_count)
      : threads(thread_count), io(static_cast<int>(thread_count)), guard(io.get_executor()) {}

  std::size_t threads;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard;
  std::optional<boost::asio::signal_set> signals;
};

} // namespace forge::net
