// A service's output on disk: one file per service (stdout and stderr together), every line
// stamped with the UTC time it was read, rotated by size (log -> log.1 -> ... -> log.<keep>, the
// oldest dropped), and read back from the end across the rotated files.
#pragma once

#include "core/error.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace forge::manager {

// A line longer than this is cut into several lines: one chatty line must not hold memory or
// the rotation hostage.
inline constexpr std::size_t kMaxLogLineBytes = 64 * 1024;

struct LogFileLimits {
  std::uint64_t max_bytes = 10 * 1024 * 1024; // a file is rotated before it would grow past this
  int keep = 5;                               // rotated files kept; 0: the file is just truncated
};

// Appends timestamped lines to one file and rotates it. Thread-safe.
class LogFile {
public:
  // Opens (creates) `path` for appending; its current size counts towards the limit.
  static core::Result<std::unique_ptr<LogFile>> open(std::string path, LogFileLimits limits);
  ~LogFile();
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;

  // Raw output as it arrives: every complete line is written at once, prefixed with
  // "<ISO-8601 UTC> "; an unfinished line waits for its end (or flush()).
  core::Status append(std::string_view bytes);
  // Writes the unfinished line, if any (at the end of the output).
  core::Status flush();

  const std::string& path() const { return path_; }

private:
  LogFile(std::string path, LogFileLimits limits, int fd, std::uint64_t size);
  core::Status writeLines(const std::vector<std::string_view>& lines);
  core::Status writeOut(std::string& buffer);
  core::Status rotate();

  const std::string path_;
  const LogFileLimits limits_;
  std::mutex mutex_;
  int fd_;
  std::uint64_t size_;
  std::string pending_; // the unfinished last line
};

// "2026-11-27T14:00:00.123Z"
std::string isoTimestamp(std::chrono::system_clock::time_point time);

// The path of rotation `index`: 0 is `path` itself, n is "<path>.<n>".
std::string rotatedPath(const std::string& path, int index);

// The last `n` lines of the log at `path` and its rotated files, oldest first, newest last.
// Reads each file backwards in chunks, so memory stays bounded by the lines returned (each at
// most kMaxLogLineBytes; a longer one keeps its beginning). Missing files count as empty.
std::vector<std::string> tailLines(const std::string& path, std::size_t n);

} // namespace forge::manager
