// AuditLog: the writer of the audit trail. Request handlers record() from any thread without
// waiting; records are written in batches by the StorageWorker (every second, or sooner when
// many are queued). The queue is bounded: when the database cannot keep up, further records are
// dropped and counted, and the drop is logged, rather than memory growing without end.
#pragma once

#include "net/event_loop.h"
#include "storage/identity_store.h"
#include "storage/worker.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <vector>

namespace forge::identity {

class AuditLog {
public:
  AuditLog(net::EventLoop& loop, storage::StorageWorker& storage, std::size_t max_queued = 10'000);
  ~AuditLog();

  // Queues a record; fills in the time if empty.
  void record(storage::AuditRecord record);
  // Writes what is queued now (at shutdown, and before a query that must see it).
  void flush();
  std::uint64_t dropped() const { return dropped_.load(); }

  // Starts the periodic flush.
  void start();

private:
  void scheduleFlush();

  net::EventLoop& loop_;
  storage::StorageWorker& storage_;
  const std::size_t max_queued_;
  std::mutex mutex_;
  std::vector<storage::AuditRecord> queue_;
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<bool> stopping_{false};
};

} // namespace forge::identity
