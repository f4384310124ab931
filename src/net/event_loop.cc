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

// The loop and context the calling thread runs, if any (several loops may share a process).
thread_local const EventLoop::Impl* t_loop = nullptr;
thread_local boost::asio::io_context* t_context = nullptr;

std::vector<std::unique_ptr<LoopContext>> makeContexts(std::size_t count) {
  std::vector<std::unique_ptr<LoopContext>> contexts;
  for (std::size_t i = 0; i < count; ++i) {
    // One thread runs each context: Asio may skip the locking a shared one needs.
    contexts.push_back(std::make_unique<LoopContext>(1));
  }
  return contexts;
}

std::vector<EventLoop::Impl::Guard>
makeGuards(const std::vector<std::unique_ptr<LoopContext>>& contexts) {
  std::vector<EventLoop::Impl::Guard> guards;
  for (const auto& context : contexts)
    guards.emplace_back(context->get_executor());
  return guards;
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

EventLoop::Impl::Impl(std::size_t thread_count)
    : threads(thread_count), contexts(makeContexts(thread_count)), guards(makeGuards(contexts)),
      io(*contexts.front()) {}

EventLoop::Impl::~Impl() {
  signals.reset();
  guards.clear();
  for (auto& context : contexts)
    context->shutdownServices();
}

boost::asio::io_context& EventLoop::Impl::pick() {
  if (t_loop == this) return *t_context;
  return next();
}

boost::asio::io_context& EventLoop::Impl::next() {
  return *contexts[turn.fetch_add(1, std::memory_order_relaxed) % contexts.size()];
}

void EventLoop::Impl::runContext(std::size_t index) {
  const auto* outer_loop = t_loop;
  auto* outer_context = t_context;
  t_loop = this;
  t_context = contexts[index].get();
  contexts[index]->run();
  t_loop = outer_loop;
  t_context = outer_context;
}

EventLoop::EventLoop(std::size_t threads)
    : impl_(std::make_unique<Impl>(resolveThreads(threads))) {}

EventLoop::~EventLoop() {
  if (impl_->signals) impl_->signals->cancel();
}

void EventLoop::run() {
  std::vector<std::thread> workers;
  for (std::size_t i = 1; i < impl_->threads; ++i) {
    workers.emplace_back([this, i] { impl_->runContext(i); });
  }
  impl_->runContext(0);
  for (auto& worker : workers)
    worker.join();
}

void EventLoop::stop() {
  if (impl_->signals) {
    boost::system::error_code ignored;
    impl_->signals->cancel(ignored);
  }
  for (auto& guard : impl_->guards)
    guard.reset();
  for (auto& context : impl_->contexts)
    context->stop();
}

bool EventLoop::stopped() const { return impl_->io.stopped(); }
std::size_t EventLoop::threads() const { return impl_->threads; }

void EventLoop::post(std::function<void()> fn) { boost::asio::post(impl_->pick(), std::move(fn)); }

void EventLoop::postAfter(std::chrono::milliseconds delay, std::function<void()> fn) {
  auto timer = std::make_shared<boost::asio::steady_timer>(impl_->pick(), delay);
  timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (!ec) fn();
  });
}

void EventLoop::onTerminationSignal(std::function<void(int)> handler) {
  if (!impl_->signals) impl_->signals.emplace(impl_->io, SIGINT, SIGTERM);
  armSignals(*impl_->signals, std::make_shared<std::function<void(int)>>(std::move(handler)));
}

} // namespace forge::net
