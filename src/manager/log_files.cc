#include "manager/log_files.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <iterator>

namespace forge::manager {
namespace {

constexpr std::size_t kTailChunk = 64 * 1024;

int openForAppend(const std::string& path, bool truncate) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0),
                0644);
}

core::Error fileError(const std::string& what, const std::string& path) {
  return core::Error{core::Errc::kInternal,
                     fmt::format("cannot {} {}: {}", what, path, std::strerror(errno))};
}

// Collects the lines of one file from its end, newest first, until `out` holds `n`.
void tailFile(const std::string& path, std::size_t n, std::vector<std::string>& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return;
  }
  std::vector<char> chunk(kTailChunk);
  auto position = static_cast<std::uint64_t>(st.st_size);
  std::string carry;  // the end of a line whose beginning lies further back
  bool at_end = true; // the file's final newline ends the last line; it does not start one
  const auto emit = [&](std::string line) {
    if (std::exchange(at_end, false) && line.empty()) return;
    out.push_back(std::move(line));
  };
  while (position > 0 && out.size() < n) {
    const auto length = static_cast<std::size_t>(std::min<std::uint64_t>(kTailChunk, position));
    position -= length;
    const ssize_t got = ::pread(fd, chunk.data(), length, static_cast<off_t>(position));
    if (got != static_cast<ssize_t>(length)) break; // truncated under us: what we have will do
    std::string_view view(chunk.data(), length);
    for (;;) {
      const auto newline = view.rfind('\n');
      if (newline == std::string_view::npos) {
        carry.insert(0, view);
        // Keep a runaway line's beginning (its timestamp) and bound the memory.
        if (carry.size() > kMaxLogLineBytes) carry.resize(kMaxLogLineBytes);
        break;
      }
      std::string line(view.substr(newline + 1));
      line += carry;
      if (line.size() > kMaxLogLineBytes) line.resize(kMaxLogLineBytes);
      carry.clear();
      view = view.substr(0, newline);
      emit(std::move(line));
      if (out.size() >= n) break;
    }
  }
  if (position == 0 && out.size() < n && (!carry.empty() || !at_end)) emit(std::move(carry));
  ::close(fd);
}

} // namespace

std::string isoTimestamp(std::chrono::system_clock::time_point time) {
  const auto secs = std::chrono::system_clock::to_time_t(time);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

std::string rotatedPath(const std::string& path, int index) {
  return index == 0 ? path : fmt::format("{}.{}", path, index);
}

core::Result<std::unique_ptr<LogFile>> LogFile::open(std::string path, LogFileLimits limits) {
  const int fd = openForAppend(path, false);
  if (fd < 0) return fileError("open", path);
  struct stat st {};
  const std::uint64_t size = ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  limits.keep = std::max(limits.keep, 0);
  return std::unique_ptr<LogFile>(new LogFile(std::move(path), limits, fd, size));
}

LogFile::LogFile(std::string path, LogFileLimits limits, int fd, std::uint64_t size)
    : path_(std::move(path)), limits_(limits), fd_(fd), size_(size) {}

LogFile::~LogFile() {
  if (fd_ >= 0) ::close(fd_);
}

core::Status LogFile::append(std::string_view bytes) {
  std::lock_guard lock(mutex_);
  std::vector<std::string_view> lines;
  std::vector<std::string> owned; // lines completed from pending_ (views into it would move)
  owned.reserve(bytes.size() / kMaxLogLineBytes + 2);
  while (!bytes.empty()) {
    const auto newline = bytes.find('\n');
    const auto room = kMaxLogLineBytes - pending_.size();
    const auto take = std::min(newline == std::string_view::npos ? bytes.size() : newline, room);
    const bool ended = take == newline; // the newline comes next
    const bool full = take == room;
    if (pending_.empty() && (ended || full)) {
      lines.push_back(bytes.substr(0, take)); // the common case: no copy
    } else {
      pending_.append(bytes.substr(0, take));
      if (ended || full) {
        owned.push_back(std::exchange(pending_, {}));
        lines.push_back(owned.back());
      }
    }
    bytes.remove_prefix(take + (ended ? 1 : 0));
  }
  return writeLines(lines);
}

core::Status LogFile::flush() {
  std::lock_guard lock(mutex_);
  if (pending_.empty()) return core::Ok{};
  const std::string line = std::exchange(pending_, {});
  return writeLines({line});
}

// Formats the lines behind one timestamp and writes them, rotating first whenever the next line
// would take the file past its limit (a file holds at least one line, however long).
core::Status LogFile::writeLines(const std::vector<std::string_view>& lines) {
  if (lines.empty()) return core::Ok{};
  const std::string stamp = isoTimestamp(std::chrono::system_clock::now());
  std::string out;
  for (const auto line : lines) {
    const std::size_t entry = stamp.size() + 1 + line.size() + 1;
    if (size_ + out.size() > 0 && size_ + out.size() + entry > limits_.max_bytes) {
      if (auto written = writeOut(out); !written) return written;
      if (auto rotated = rotate(); !rotated) return rotated;
    }
    out += stamp;
    out += ' ';
    out += line;
    out += '\n';
  }
  return writeOut(out);
}

core::Status LogFile::writeOut(std::string& buffer) {
  if (buffer.empty()) return core::Ok{};
  if (fd_ < 0 && (fd_ = openForAppend(path_, false)) < 0) return fileError("open", path_);
  std::string_view rest(buffer);
  while (!rest.empty()) {
    const ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      buffer.clear();
      return fileError("write", path_);
    }
    size_ += static_cast<std::uint64_t>(n);
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  buffer.clear();
  return core::Ok{};
}

// log.<keep-1> -> log.<keep>, ..., log -> log.1 (each rename replaces the older file), then a
// new, empty log. Files missing from the chain are skipped.
core::Status LogFile::rotate() {
  ::close(fd_);
  fd_ = -1;
  if (limits_.keep > 0) {
    for (int i = limits_.keep - 1; i >= 0; --i)
      ::rename(rotatedPath(path_, i).c_str(), rotatedPath(path_, i + 1).c_str());
  }
  size_ = 0;
  fd_ = openForAppend(path_, limits_.keep == 0);
  if (fd_ < 0) return fileError("open", path_);
  return core::Ok{};
}

std::vector<std::string> tailLines(const std::string& path, std::size_t n) {
  std::vector<std::string> newest_first;
  for (int i = 0; newest_first.size() < n; ++i) {
    const std::string file = rotatedPath(path, i);
    if (i > 0 && ::access(file.c_str(), F_OK) != 0) break; // the end of the rotation chain
    tailFile(file, n, newest_first);
  }
  return {std::make_move_iterator(newest_first.rbegin()),
          std::make_move_iterator(newest_first.rend())};
}

} // namespace forge::manager
