#include "net/event_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace forge::net {
namespace {

using namespace std::chrono_literals;

// Runs a loop of `threads` threads for the duration of a test.
class RunningLoop {
public:
  explicit RunningLoop(std::size_t threads) : loop(threads), runner([this] { loop.run(); }) {}
  ~RunningLoop() {
    loop.stop();
    runner.join();
  }
  EventLoop loop;

private:
  std::thread runner;
};

// Thread ids recorded by tasks, and a wait for the count of them.
struct Recorder {
  void record() {
    std::lock_guard lock(mutex);
    ids.push_back(std::this_thread::get_id());
    changed.notify_all();
  }
  bool waitFor(std::size_t count) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 5s, [&] { return ids.size() >= count; });
  }
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::thread::id> ids;
};

TEST(EventLoopTest, WorkPostedFromALoopThreadStaysOnThatThread) {
  RunningLoop running(2);
  Recorder recorder;
  std::atomic<int> elsewhere{0};
  for (int i = 0; i < 8; ++i) {
    running.loop.post([&] {
      const auto here = std::this_thread::get_id();
      auto check = [&, here] {
        if (std::this_thread::get_id() != here) ++elsewhere;
        recorder.record();
      };
      running.loop.post(check);
      running.loop.postAfter(1ms, check);
    });
  }
  ASSERT_TRUE(recorder.waitFor(16));
  EXPECT_EQ(elsewhere.load(), 0)
      << "a follow-up ran on another thread than the task that posted it";
  std::lock_guard lock(recorder.mutex);
  EXPECT_EQ(std::set<std::thread::id>(recorder.ids.begin(), recorder.ids.end()).size(), 2u);
}

TEST(EventLoopTest, WorkPostedFromOutsideIsSpreadOverTheThreads) {
  RunningLoop running(2);
  Recorder recorder;
  for (int i = 0; i < 4; ++i)
    running.loop.post([&] { recorder.record(); });
  ASSERT_TRUE(recorder.waitFor(4));
  std::lock_guard lock(recorder.mutex);
  EXPECT_EQ(std::set<std::thread::id>(recorder.ids.begin(), recorder.ids.end()).size(), 2u);
}

} // namespace
} // namespace forge::net
