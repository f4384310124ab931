#include "net/lazy_deadline_impl.h"

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/error.hpp>
#include <gtest/gtest.h>

#include <memory>

namespace forge::net {
namespace {

using namespace std::chrono_literals;
using Clock = LazyDeadline::Clock;

// One io_context, run by the test's thread in slices, and the expiries it saw.
struct Fixture {
  boost::asio::io_context io;
  int expiries = 0;

  LazyDeadline make(Clock::duration check_every) {
    return LazyDeadline(io.get_executor(), check_every, [this] { ++expiries; });
  }
  void runFor(Clock::duration d) {
    io.restart();
    io.run_for(d);
  }
  // Runs until the deadline ends the connection once more, for 5 s at most; the time it took.
  Clock::duration runUntilExpired() {
    const auto start = Clock::now();
    const int before = expiries;
    while (expiries == before && Clock::now() - start < 5s)
      runFor(5ms);
    return Clock::now() - start;
  }
};

TEST(LazyDeadlineTest, EndsTheConnectionAtTheDeadlineAndNotBefore) {
  Fixture f;
  auto deadline = f.make(100ms);
  const auto start = Clock::now();
  deadline.expiresAfter(400ms);
  f.runFor(100ms);
  EXPECT_EQ(f.expiries, 0);
  EXPECT_FALSE(deadline.expired());
  f.runUntilExpired();
  EXPECT_EQ(f.expiries, 1);
  EXPECT_GE(Clock::now() - start, 400ms);
  EXPECT_TRUE(deadline.expired());
  // The error of the operation the close ended reads as a timeout; success stays success.
  EXPECT_EQ(deadline.outcome(boost::asio::error::operation_aborted), boost::beast::error::timeout);
  EXPECT_FALSE(deadline.outcome({}));
}

TEST(LazyDeadlineTest, ADeadlineMovedOnInTimeNeverExpires) {
  Fixture f;
  auto deadline = f.make(50ms);
  // 600 ms in all, each phase given 200 ms and replaced after 50 ms.
  for (int i = 0; i < 12; ++i) {
    deadline.expiresAfter(200ms);
    f.runFor(50ms);
  }
  EXPECT_EQ(f.expiries, 0);
  EXPECT_FALSE(deadline.expired());
  EXPECT_EQ(deadline.outcome(boost::asio::error::operation_aborted),
            boost::asio::error::operation_aborted);
}

TEST(LazyDeadlineTest, ExpiresNeverEndsThePhaseAndTheTimerStops) {
  Fixture f;
  auto deadline = f.make(50ms);
  deadline.expiresAfter(100ms);
  deadline.expiresNever();
  f.runFor(2s); // returns as soon as nothing is left to run
  EXPECT_EQ(f.expiries, 0);
  EXPECT_TRUE(f.io.stopped()) << "the timer went on waking without a deadline";
}

TEST(LazyDeadlineTest, ATimeoutShorterThanTheCheckIntervalIsOnTime) {
  Fixture f;
  auto deadline = f.make(10s);
  deadline.expiresAfter(60s); // the timer now waits 10 s
  deadline.expiresAfter(100ms);
  const auto took = f.runUntilExpired();
  EXPECT_EQ(f.expiries, 1);
  EXPECT_GE(took, 50ms);
  EXPECT_LT(took, 5s);
}

TEST(LazyDeadlineTest, ANewPhaseAfterAnExpiryStartsAfresh) {
  Fixture f;
  auto deadline = f.make(50ms);
  deadline.expiresAfter(50ms);
  f.runUntilExpired();
  ASSERT_TRUE(deadline.expired());
  deadline.expiresAfter(400ms);
  EXPECT_FALSE(deadline.expired());
  f.runFor(100ms);
  EXPECT_EQ(f.expiries, 1);
  f.runUntilExpired();
  EXPECT_EQ(f.expiries, 2);
}

TEST(LazyDeadlineTest, DestroyedWhileItsTimerWaitsItCallsNothing) {
  Fixture f;
  auto deadline = std::make_unique<LazyDeadline>(f.io.get_executor(), 20ms, [&f] { ++f.expiries; });
  deadline->expiresAfter(20ms);
  deadline.reset();
  f.runFor(200ms);
  EXPECT_EQ(f.expiries, 0);
  EXPECT_TRUE(f.io.stopped());
}

} // namespace
} // namespace forge::net
