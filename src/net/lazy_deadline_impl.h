// Private to implementation files: a connection's deadline that costs no timer operation per
// read or write.
//
// Beast's tcp_stream arms its timer when each operation starts, cancels it when the operation
// ends, and then runs the cancelled wait's handler: three turns through the reactor and the
// scheduler, with their locks, for every read and every write. A LazyDeadline is told when the
// current phase of the connection (an idle wait, reading a request, writing an answer) must end,
// and records only that. Its timer wakes at the deadline or `check_every` after it was armed,
// whichever is sooner, and then either ends the connection (the deadline has passed) or sleeps
// again. As long as no timeout is shorter than `check_every`, every new deadline falls at or
// after the timer's next wake, so a deadline is never noticed late and the timer is never
// re-armed early; a shorter timeout re-arms it, and is noticed on time too.
//
// Unlike Beast's, the deadline covers a phase, not the operations in flight: it holds until
// changed, also between operations, and expiresNever() ends it.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <functional>
#include <memory>

namespace forge::net {

class LazyDeadline {
public:
  using Clock = std::chrono::steady_clock;

  // `on_expiry` ends the connection (closes its socket, which ends the operations under way);
  // it runs on `executor`, which is the connection's, as every call below must.
  LazyDeadline(const boost::asio::any_io_executor& executor, Clock::duration check_every,
               std::function<void()> on_expiry);
  ~LazyDeadline();
  LazyDeadline(const LazyDeadline&) = delete;
  LazyDeadline& operator=(const LazyDeadline&) = delete;

  // A new phase, which must end within `timeout` from now.
  void expiresAfter(Clock::duration timeout);
  // The current phase has no deadline (the connection waits for something else).
  void expiresNever();
  // Whether the deadline of the current phase passed and ended the connection.
  bool expired() const;
  // `ec`, or beast::error::timeout for the error of an operation the deadline ended.
  boost::system::error_code outcome(const boost::system::error_code& ec) const;

private:
  struct State;
  std::shared_ptr<State> state_;
};

} // namespace forge::net
