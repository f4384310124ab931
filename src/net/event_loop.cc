#include "net/event_loop.h"

#include "core/log.h"
#include "net/event_loop_impl.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <csignal>
#include <thread>
#include <vector>

namespace forge::net {
namespace {

std::size_t resolveThreads(std::size_t requested) {
  if (requested > 0) return requested;
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : cores;
}

void armSignals(boost::asio::signal_set& signals,
                std::shared_ptr<std::function<void(int)>> handler) {
  signals.async_wait([&signals, handler](const boost::system::error_code& ec, int signal_number) {
    if (ec) return; // cancelled at shutdown
    (*handler)(signal_number);
    armSignals(signals, handler);
  });
}

} // namespace

EventLoop::EventLoop(std::size_t threads)
    : impl_(std::make_unique<Impl>(resolveThreads(threads))) {}

EventLoop::~EventLoop() {
  if (impl_->signals) impl_->signals->cancel();
}

void EventLoop::run() {
  std::vector<std::thread> workers;
  for (std::size_t i = 1; i < impl_->threads; ++i) {
    workers.emplace_back([this] { impl_->io.run(); });
  }
  impl_->io.run();
  for (auto& worker : workers)
    worker.join();
}

void EventLoop::stop() {
  if (impl_->signals) {
    boost::system::error_code ignored;
    impl_->signals->cancel(ignored);
  }
  impl_->guard.reset();
  impl_->io.stop();
}

bool EventLoop::stopped() const { return impl_->io.stopped(); }
std::size_t EventLoop::threads() const { return impl_->threads; }

void EventLoop::post(std::function<void()> fn) { boost::asio::post(impl_->io, std::move(fn)); }

void EventLoop::postAfter(std::chrono::milliseconds delay, std::function<void()> fn) {
  auto timer = std::make_shared<boost::asio::steady_timer>(impl_->io, delay);
  timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (!ec) fn();
  });
}

void EventLoop::onTerminationSignal(std::function<void(int)> handler) {
  if (!impl_->signals) impl_->signals.emplace(impl_->io, SIGINT, SIGTERM);
  armSignals(*impl_->signals, std::make_shared<std::function<void(int)>>(std::move(handler)));
}

} // namespace forge::net
