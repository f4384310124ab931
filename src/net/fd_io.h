// Blocking I/O on pipes for the stdio transports: whole writes and line reads, retrying when a
// signal interrupts a call.
#pragma once

#include <string>
#include <string_view>

namespace forge::net {

// Writes all of `data`; false when the descriptor fails (e.g. the reader has gone).
bool writeAll(int fd, std::string_view data);

// Reads newline-terminated lines from a descriptor.
class LineReader {
public:
  explicit LineReader(int fd) : fd_(fd) {}
  // The next line without its newline; a last line without one counts too. False at the end.
  bool next(std::string& line);

private:
  int fd_;
  std::string buffer_;
};

} // namespace forge::net
