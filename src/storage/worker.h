// StorageWorker: the thread that owns the Database. Jobs run one at a time, in the order they
// were submitted, so the I/O threads never block on a disk or a database socket and the
// database connection is never shared between threads. A job answers its caller itself (an
// HTTP ResponseWriter is thread-safe; anything else posts back to the event loop).
#pragma once

#include "storage/database.h"
#include "storage/store.h"

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

namespace forge::storage {

class StorageWorker {
public:
  explicit StorageWorker(DatabasePtr db);
  // Runs what is queued, then stops.
  ~StorageWorker();
  StorageWorker(const StorageWorker&) = delete;
  StorageWorker& operator=(const StorageWorker&) = delete;

  using Job = std::function<void(Store&)>;
  // Queues a job. After stop(), jobs are refused (false) and never run.
  bool submit(Job job);

  // Runs `fn` on the worker and waits for its result: for start-up and tests, never for the
  // I/O threads.
  template <class F>
  auto call(F fn) -> decltype(fn(std::declval<Store&>())) {
    using R = decltype(fn(std::declval<Store&>()));
    std::packaged_task<R(Store&)> task(std::move(fn));
    auto future = task.get_future();
    auto shared = std::make_shared<decltype(task)>(std::move(task));
    if (!submit([shared](Store& store) { (*shared)(store); })) {
      return R(core::Error{core::Errc::kUnavailable, "storage is shut down"});
    }
    return future.get();
  }

  // Finishes the queued jobs and joins the thread.
  void stop();
  std::size_t queued() const;
  const char* backend() const { return backend_; }
  const std::string& description() const { return description_; }

private:
  void run();

  DatabasePtr db_;
  Store store_;
  const char* backend_;
  std::string description_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace forge::storage
