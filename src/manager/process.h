// One supervised child: a service run under a small guard process so that nothing it starts
// outlives the supervisor, however the supervisor dies (SIGKILL included).
//
// DESIGN. start() forks a guard. The guard makes its own process group (pgid = its pid), asks
// for a parent-death signal, holds the read end of a "lifeline" pipe whose write end only the
// supervisor holds, waits for the go-ahead (after the supervisor has put it into its cgroup, if
// any), then forks and execs the service in the same group. It then waits for whichever comes
// first: the service exits (the guard exits with its status: the exit code, or 128 + signal), or
// the lifeline reaches end-of-file or the guard is re-parented (the supervisor died): the guard
// SIGKILLs its whole process group, itself included. Descendants stay in the group (npx -> node,
// forge translate -> its stdio child), so killing the group catches them too.
//
// The guard ignores every signal it can (the supervisor signals the whole group; the service
// acts on them) and is resumed at once when the group is paused, so that it can always act.
// The supervisor holds one waiter thread per process: it waits for the guard to exit, SIGKILLs
// what is left of the group while the guard's zombie still pins the group id (a recycled pid can
// never be hit), reaps it and calls onExit. Exit detection does not use SIGCHLD, but a supervisor
// must not set SIGCHLD to SIG_IGN (that reaps children behind waitpid's back).
//
// The guard is a fork of the supervisor that never execs (it only makes system calls): its
// resident set mirrors the supervisor's memory, shared copy-on-write. sampleGroup(pid(), pid())
// measures the service without it.
//
// Output: stdin is /dev/null; stdout and stderr of the service (and its descendants) go to one
// pipe, read by a second thread and written to spec.log_path by a LogFile (timestamped lines,
// rotated by size).
//
// Limits: with a writable cgroup v2 root (a directory of its own: cgroup v2 allows no processes
// in a cgroup that hands controllers to its children), each process gets `<root>/forge-<random>`
// with memory.max and cpu.max (quota per 100 ms period); the guard is moved there before the
// service is forked, and the cgroup is emptied (cgroup.kill) and removed after the exit. Without
// cgroups (none given, not v2, a controller missing, not writable) the memory limit falls back to
// RLIMIT_AS in the service (address space, not resident memory: a program that reserves much
// more than it uses, e.g. some JITs, needs a higher limit) and the CPU limit is not enforced:
// no rlimit caps a rate of CPU use (RLIMIT_CPU kills after a total), so limitsMode() says
// "rlimit" only for memory, or "none".
#pragma once

#include "core/error.h"

#include <sys/types.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace forge::manager {

class LogFile;

struct ProcessSpec {
  std::vector<std::string> argv; // argv[0] is looked up in PATH (the env's, if it sets one)
  std::map<std::string, std::string> env; // added to (or replacing) the supervisor's environment
  std::string cwd;                        // empty: the supervisor's
  std::uint64_t memory_limit_bytes = 0;   // 0: none
  double cpu_limit = 0;                   // cores; 0: none (enforced with cgroups only)
  std::string log_path;                   // stdout + stderr, one file; empty: discarded
  std::uint64_t log_max_bytes = 10 * 1024 * 1024;
  int log_keep = 5;        // rotated files kept (log.1 ... log.<keep>)
  std::string cgroup_root; // a cgroup v2 directory to create this process's cgroup under
  std::string state_file;  // if set, the live group is recorded there until it exits (see record)
  // Descriptors the service inherits as descriptors kInheritedFd, kInheritedFd + 1 (a listening
  // socket shared by a service's replicas, one of the replica's own); the caller keeps its own
  // copies. -1: none (and none after it).
  std::array<int, 2> inherit_fds{-1, -1};
};

// Where the service finds ProcessSpec::inherit_fds[0] (the first after stdin, stdout and stderr,
// as in systemd's socket activation); the next one follows it.
inline constexpr int kInheritedFd = 3;

class Process {
public:
  // `status` is the service's exit code, or 128 + the signal that killed it.
  using ExitCallback = std::function<void(int status)>;

  // Starts the guard and the service; an error if the program cannot be found or started
  // (nothing is left running then).
  static core::Result<std::unique_ptr<Process>> start(ProcessSpec spec);

  // SIGKILLs the group if it still runs and waits for the threads (an onExit callback still set
  // runs meanwhile, on the waiter). May also run inside the onExit callback.
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // The guard's pid, which is also the process group id.
  pid_t pid() const { return guard_; }
  // The service's own pid (a child of the guard).
  pid_t servicePid() const { return service_; }
  // How the limits are enforced: "cgroup", "rlimit" (memory only) or "none".
  const std::string& limitsMode() const { return limits_mode_; }
  // The process's cgroup directory while it exists ("" when none is used).
  const std::string& cgroupPath() const { return cgroup_path_; }

  // Sends a signal to the whole group (the guard ignores it). An error once the group is gone.
  core::Status signalGroup(int signal_number);
  // SIGSTOP / SIGCONT to the group (the guard itself keeps running).
  core::Status pause();
  core::Status resume();
  bool paused() const;

  // SIGTERM to the group (resumed first if paused), then SIGKILL to the group once `grace` has
  // passed. Blocks until the process has exited; returns its status.
  int stop(std::chrono::milliseconds grace);
  // Waits up to `timeout` for the exit; its status, or nothing if it is still running.
  std::optional<int> wait(std::chrono::milliseconds timeout);

  bool running() const;
  std::optional<int> exitStatus() const;
  // Called once, from the waiter thread, after the exit (at once, on this thread, if the process
  // has already exited). Replaces an earlier callback not yet called.
  void onExit(ExitCallback callback);

  // The state file: one line "<pgid> <start time>" per live group, the start time being field 22
  // of /proc/<pgid>/stat. A supervisor restarted after a crash calls killLeftovers() to SIGKILL
  // each recorded group still alive with the same start time (a recycled pid has another one),
  // then forgets them all. Returns the number of groups killed.
  static int killLeftovers(const std::string& state_file);
  static core::Status record(const std::string& state_file, pid_t pgid);
  static core::Status forget(const std::string& state_file, pid_t pgid);

private:
  explicit Process(ProcessSpec spec);
  core::Status launch();
  void run();
  core::Status spawn();
  bool prepareCgroup();
  void removeCgroup();
  void readOutput();
  void superviseUntilExit();
  void finish(int status);

  const ProcessSpec spec_;
  pid_t guard_ = -1;
  pid_t service_ = -1;
  std::string limits_mode_ = "none";
  std::string cgroup_path_;
  std::unique_ptr<LogFile> log_;
  int lifeline_ = -1;    // write end: its end-of-file tells the guard the supervisor is gone
  int report_ = -1;      // read end: the guard's start report
  int output_ = -1;      // read end: the service's stdout + stderr
  int reader_wake_ = -1; // eventfd: tells the reader the guard is gone, to drain and stop

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool start_done_ = false;
  core::Status start_result_ = core::Ok{};
  bool reaped_ = false; // the group id is no longer ours to signal
  bool paused_ = false;
  bool finished_ = false;
  int status_ = 0;
  ExitCallback callback_;
  std::thread waiter_;
  std::thread reader_;
};

} // namespace forge::manager
