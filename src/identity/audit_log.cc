#include "identity/audit_log.h"

#include "core/log.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace forge::identity {
namespace {

constexpr std::chrono::milliseconds kFlushInterval{1'000};
constexpr std::size_t kFlushBatch = 200;

// "2026-11-27T16:30:05.123Z": milliseconds, so that records of one second keep their order.
std::string nowWithMillis() {
  const auto now = std::chrono::system_clock::now();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", std::chrono::floor<std::chrono::seconds>(now),
                     static_cast<int>(ms));
}

} // namespace

AuditLog::AuditLog(net::EventLoop& loop, storage::StorageWorker& storage, std::size_t max_queued)
    : loop_(loop), storage_(storage), max_queued_(max_queued) {}

AuditLog::~AuditLog() { stopping_ = true; }

void AuditLog::start() { scheduleFlush(); }

void AuditLog::record(storage::AuditRecord record) {
  if (record.at.empty()) record.at = nowWithMillis();
  bool flush_now = false;
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= max_queued_) {
      // Log the first drop and then every 1000th, not each one.
      if (dropped_.fetch_add(1) % 1000 == 0)
        log::error("audit log queue full ({} records): dropping records", max_queued_);
      return;
    }
    queue_.push_back(std::move(record));
    flush_now = queue_.size() == kFlushBatch;
  }
  if (flush_now) flush();
}

void AuditLog::flush() {
  std::vector<storage::AuditRecord> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(queue_);
  }
  if (batch.empty()) return;
  storage_.submit([batch = std::move(batch)](storage::Store& store) {
    if (auto status = store.identity().appendAudit(batch); !status)
      log::error("writing {} audit records: {}", batch.size(), status.error().message);
  });
}

void AuditLog::scheduleFlush() {
  loop_.postAfter(kFlushInterval, [this] {
    if (stopping_) return;
    flush();
    scheduleFlush();
  });
}

} // namespace forge::identity
