// Runs a real program as a child process for tests, capturing stdout and stderr, and always
// reaping it: the destructor SIGKILLs a child that is still running (by its pid only).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace forge::test {

class ChildProcess {
public:
  // argv[0] is the program path. `env` entries ("NAME=value") are added to the environment.
  ChildProcess(std::vector<std::string> argv, std::vector<std::string> env = {},
               std::string cwd = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Waits until stdout or stderr contains `needle`; returns the whole line that holds it.
  std::optional<std::string> waitForLine(std::string_view needle,
                                         std::chrono::milliseconds timeout);
  void signal(int signal_number);
  // Waits for exit; returns the exit code, or 128 + signal for a killed child.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  std::string out() const;
  std::string err() const;

private:
  void readLoop(int out_fd, int err_fd);

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::string out_;
  std::string err_;
  bool eof_ = false;
  std::thread reader_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a command to completion (killed after `timeout`).
CommandResult runCommand(std::vector<std::string> argv, std::vector<std::string> env = {},
                         std::string cwd = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

// A TCP port on 127.0.0.1 that was free a moment ago.
std::uint16_t freePort();
// The first of `count` consecutive ports free on 127.0.0.1 when asked (replicas of a service
// that listen on port + i): a free port's neighbour may be anyone's.
std::uint16_t freePorts(int count);

} // namespace forge::test
