#include "net/lazy_deadline_impl.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>

#include <algorithm>

namespace forge::net {

namespace asio = boost::asio;
using Clock = LazyDeadline::Clock;

// Shared with the timer's handler, which holds it weakly: the owner's destruction cancels the
// wait and the handler then finds nothing to do.
struct LazyDeadline::State : std::enable_shared_from_this<State> {
  State(const asio::any_io_executor& executor, Clock::duration every, std::function<void()> fn)
      : timer(executor), check_every(every), on_expiry(std::move(fn)) {}

  void arm(Clock::time_point at) {
    wake = at;
    timer.expires_at(at); // cancels a wait still pending: its handler sees another `wake`
    timer.async_wait([weak = weak_from_this(), at](const boost::system::error_code& ec) {
      const auto self = weak.lock();
      if (!self || ec || self->wake != at) return; // gone, cancelled, or armed again since
      self->wake = Clock::time_point::max();
      self->woke();
    });
  }

  void woke() {
    if (expired || deadline == Clock::time_point::max()) return;
    const auto now = Clock::now();
    if (deadline <= now) {
      expired = true;
      on_expiry();
      return;
    }
    arm(std::min(deadline, now + check_every));
  }

  asio::steady_timer timer;
  const Clock::duration check_every;
  const std::function<void()> on_expiry;
  Clock::time_point deadline = Clock::time_point::max();
  Clock::time_point wake = Clock::time_point::max(); // when the pending wait ends; max: none
  bool expired = false;
};

LazyDeadline::LazyDeadline(const asio::any_io_executor& executor, Clock::duration check_every,
                           std::function<void()> on_expiry)
    : state_(std::make_shared<State>(executor, check_every, std::move(on_expiry))) {}

LazyDeadline::~LazyDeadline() { state_->timer.cancel(); }

void LazyDeadline::expiresAfter(Clock::duration timeout) {
  State& s = *state_;
  s.expired = false; // a new phase (on a new socket, perhaps)
  const auto now = Clock::now();
  s.deadline = now + timeout;
  if (s.wake > s.deadline) s.arm(std::min(s.deadline, now + s.check_every));
}

void LazyDeadline::expiresNever() { state_->deadline = Clock::time_point::max(); }

bool LazyDeadline::expired() const { return state_->expired; }

boost::system::error_code LazyDeadline::outcome(const boost::system::error_code& ec) const {
  if (ec && state_->expired) return boost::beast::error::timeout;
  return ec;
}

} // namespace forge::net
