#include "storage/worker.h"

namespace forge::storage {

StorageWorker::StorageWorker(DatabasePtr db)
    : db_(std::move(db)), store_(*db_), backend_(db_->backend()), description_(db_->describe()),
      thread_([this] { run(); }) {}

StorageWorker::~StorageWorker() { stop(); }

bool StorageWorker::submit(Job job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

void StorageWorker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

std::size_t StorageWorker::queued() const {
  std::lock_guard lock(mutex_);
  return jobs_.size();
}

void StorageWorker::run() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return; // stopping, and everything queued has run
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job(store_);
  }
}

} // namespace forge::storage
