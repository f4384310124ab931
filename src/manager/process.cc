#include "manager/process.h"

#include "core/log.h"
#include "core/random.h"
#include "core/unique_fd.h"
#include "manager/log_files.h"
#include "manager/proc_stats.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace forge::manager {
namespace {

using namespace std::chrono_literals;

// ---- the guard and the service, after fork --------------------------------------------------
//
// Both run in a fork of a multi-threaded process: until exec they may only use async-signal-safe
// calls (no allocation, no locks, no logging). Everything they need is prepared before the fork.

constexpr int kGuardFailed = 127;

// What the guard tells the supervisor once, on the report pipe: the service started (value: its
// pid) or failed (value: errno, at `stage`). Smaller than PIPE_BUF, so written atomically.
enum class Stage : std::int32_t { kGuard, kCwd, kLimit, kExec };
struct Report {
  std::int32_t started = 0;
  Stage stage = Stage::kGuard;
  std::int32_t value = 0;
};

// The go-ahead byte the supervisor writes once the guard is in place: which limits to apply.
constexpr char kGoNoLimit = 'n';
constexpr char kGoRlimit = 'r'; // RLIMIT_AS in the service
constexpr char kGoCgroup = 'c'; // the guard is in its cgroup already

struct GuardPlan {
  const char* program;
  char* const* argv;
  char* const* envp;
  const char* cwd; // nullptr: the supervisor's
  rlim_t memory_limit;
  pid_t supervisor;
  int lifeline;               // read end
  int report;                 // write end
  int output;                 // write end, or -1 for /dev/null
  std::array<int, 2> inherit; // passed to the service as kInheritedFd + i, or -1
};

// A handler that does nothing, rather than SIG_IGN: the signal still interrupts the guard's poll,
// and exec gives the service the default disposition back (an ignored signal stays ignored).
void noOp(int) {}

int exitCodeOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return kGuardFailed;
}

[[noreturn]] void killGroupAndExit() {
  ::kill(0, SIGKILL); // the whole group, the guard included
  ::_exit(128 + SIGKILL);
}

// Signals the guard leaves at their default: the uncatchable ones, SIGCONT, SIGCHLD (waitpid
// needs it) and faults.
bool keepsDefault(int sig) {
  for (const int s : {SIGKILL, SIGSTOP, SIGCHLD, SIGCONT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT,
                      SIGTRAP, SIGSYS}) {
    if (s == sig) return true;
  }
  return false;
}

// The guard ignores what the supervisor sends the group: the service acts on it.
void setUpGuardSignals() {
  struct sigaction ignore {};
  ignore.sa_handler = noOp;
  sigemptyset(&ignore.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (!keepsDefault(sig)) ::sigaction(sig, &ignore, nullptr); // glibc's reserved ones fail: fine
  }
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(SIGCHLD, &dfl, nullptr);
  // A report written to a dead supervisor must not kill the guard before it kills the group.
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  ::sigaction(SIGPIPE, &ign, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr); // the forking thread's mask is inherited
}

// Closes every descriptor from 3 up except those in `keep` (-1 entries ignored), so that no other
// process's lifeline (or any other supervisor file) stays open in the guard and its service.
void closeAllBut(std::array<int, 4> keep) {
  std::sort(keep.begin(), keep.end());
  const auto closeRange = [](int from, int to) {
    if (from > to) return;
    if (::close_range(static_cast<unsigned>(from), static_cast<unsigned>(to), 0) == 0) return;
    struct rlimit limit {};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    const int last = static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 1 << 20)) - 1;
    for (int fd = from; fd <= std::min(to, last); ++fd)
      ::close(fd);
  };
  int from = 3;
  for (const int fd : keep) {
    if (fd < from) continue;
    closeRange(from, fd - 1);
    from = fd + 1;
  }
  closeRange(from, INT32_MAX);
}

[[noreturn]] void failService(int exec_fd, Stage stage) {
  const Report report{0, stage, errno};
  (void)!::write(exec_fd, &report, sizeof report);
  ::_exit(kGuardFailed);
}

[[noreturn]] void serviceMain(const GuardPlan& plan, char go, int exec_fd, pid_t guard) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL); // a guard killed on its own takes the service along
  if (::getppid() != guard) ::_exit(kGuardFailed);
  ::signal(SIGPIPE, SIG_DFL);
  if (plan.cwd && ::chdir(plan.cwd) != 0) failService(exec_fd, Stage::kCwd);
  if (go == kGoRlimit) {
    const struct rlimit limit { plan.memory_limit, plan.memory_limit };
    if (::setrlimit(RLIMIT_AS, &limit) != 0) failService(exec_fd, Stage::kLimit);
  }
  // Every descriptor that sits where an inherited one goes is moved above them first; then
  // dup2 puts each in place (and clears close-on-exec on the copy).
  const int above = kInheritedFd + static_cast<int>(plan.inherit.size());
  const auto moveAbove = [above](int fd) {
    return fd >= 0 && fd < above ? ::fcntl(fd, F_DUPFD_CLOEXEC, above) : fd;
  };
  exec_fd = moveAbove(exec_fd);
  if (exec_fd < 0) ::_exit(kGuardFailed);
  std::array<int, 2> inherit{};
  for (std::size_t i = 0; i < plan.inherit.size(); ++i) {
    inherit[i] = moveAbove(plan.inherit[i]);
    if (plan.inherit[i] >= 0 && inherit[i] < 0) failService(exec_fd, Stage::kGuard);
  }
  for (std::size_t i = 0; i < inherit.size() && inherit[i] >= 0; ++i) {
    const int target = kInheritedFd + static_cast<int>(i);
    if (::dup2(inherit[i], target) < 0 || ::fcntl(target, F_SETFD, 0) != 0)
      failService(exec_fd, Stage::kGuard);
  }
  ::execve(plan.program, plan.argv, plan.envp);
  failService(exec_fd, Stage::kExec);
}

// Waits for the service's exit or the supervisor's death, whichever comes first.
[[noreturn]] void guardLoop(pid_t supervisor, int lifeline, pid_t service) {
  // Readable when the service exits (Linux 5.3; glibc's wrapper lacks C linkage in C++).
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, service, 0));
  for (;;) {
    pollfd fds[2] = {{lifeline, POLLIN, 0}, {pidfd, POLLIN, 0}};
    const int ready = ::poll(fds, pidfd >= 0 ? 2 : 1, pidfd >= 0 ? -1 : 100);
    if (::getppid() != supervisor) killGroupAndExit(); // re-parented: the supervisor is gone
    if (ready > 0 && fds[0].revents != 0) {
      char byte = 0;
      const ssize_t n = ::read(lifeline, &byte, 1);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) killGroupAndExit();
    }
    int status = 0;
    const pid_t done = ::waitpid(service, &status, WNOHANG);
    if (done == service) ::_exit(exitCodeOf(status));
    if (done < 0 && errno != EINTR) ::_exit(kGuardFailed);
  }
}

[[noreturn]] void guardMain(const GuardPlan& plan) {
  ::setpgid(0, 0);
  // The parent-death signal backs up the lifeline (e.g. if a stray fork of the supervisor
  // kept the write end open): it wakes the loop, which then sees it was re-parented.
  ::prctl(PR_SET_PDEATHSIG, SIGHUP);
  ::prctl(PR_SET_NAME, "forge-guard");
  if (::getppid() != plan.supervisor) ::_exit(kGuardFailed); // died before prctl took effect
  setUpGuardSignals();

  // Move the pipes above 2 first: a supervisor started with closed standard descriptors may
  // have received them as 0..2.
  const int lifeline = ::fcntl(plan.lifeline, F_DUPFD_CLOEXEC, 3);
  const int report = ::fcntl(plan.report, F_DUPFD_CLOEXEC, 3);
  const int output = plan.output >= 0 ? ::fcntl(plan.output, F_DUPFD_CLOEXEC, 3) : -1;
  std::array<int, 2> inherit{-1, -1};
  for (std::size_t i = 0; i < inherit.size(); ++i) {
    if (plan.inherit[i] < 0) continue;
    inherit[i] = ::fcntl(plan.inherit[i], F_DUPFD_CLOEXEC, 3);
    if (inherit[i] < 0) ::_exit(kGuardFailed);
  }
  const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (lifeline < 0 || report < 0 || null_fd < 0 || (plan.output >= 0 && output < 0))
    ::_exit(kGuardFailed);
  ::dup2(null_fd, STDIN_FILENO);
  ::dup2(output >= 0 ? output : null_fd, STDOUT_FILENO);
  ::dup2(output >= 0 ? output : null_fd, STDERR_FILENO);
  closeAllBut({lifeline, report, inherit[0], inherit[1]});

  char go = 0;
  for (;;) {
    const ssize_t n = ::read(lifeline, &go, 1);
    if (n == 1) break;
    if (n < 0 && errno == EINTR && ::getppid() == plan.supervisor) continue;
    ::_exit(kGuardFailed); // the supervisor gave up (or died) before the go-ahead
  }

  int exec_pipe[2];
  if (::pipe2(exec_pipe, O_CLOEXEC) != 0) failService(report, Stage::kGuard);
  const pid_t guard = ::getpid();
  const pid_t service = ::fork();
  if (service < 0) failService(report, Stage::kGuard);
  if (service == 0) {
    GuardPlan in_service = plan;
    in_service.inherit = inherit;
    serviceMain(in_service, go, exec_pipe[1], guard);
  }
  for (const int fd : inherit) // the guard needs no copies: the supervisor keeps its own
    if (fd >= 0) ::close(fd);
  ::close(exec_pipe[1]);
  // The exec pipe closes on exec: end-of-file means the service runs, a report that it failed.
  Report failure;
  ssize_t n;
  while ((n = ::read(exec_pipe[0], &failure, sizeof failure)) < 0 && errno == EINTR) {}
  ::close(exec_pipe[0]);
  if (n == sizeof failure) {
    (void)!::write(report, &failure, sizeof failure);
    int status = 0;
    while (::waitpid(service, &status, 0) < 0 && errno == EINTR) {}
    ::_exit(kGuardFailed);
  }
  const Report started{1, Stage::kExec, service};
  (void)!::write(report, &started, sizeof started);
  guardLoop(plan.supervisor, lifeline, service);
}

// ---- preparing the start, in the supervisor ---------------------------------------------------

using core::UniqueFd;

struct Pipe {
  UniqueFd read, write;
  bool open() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    read.reset(fds[0]);
    write.reset(fds[1]);
    return true;
  }
};

void closeFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

bool writeFile(const std::string& path, std::string_view content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok =
      ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  ::close(fd);
  return ok;
}

// The supervisor's environment with the spec's entries added or replaced, as NAME=value.
std::vector<std::string> environmentFor(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string_view entry(*e);
    if (!extra.count(std::string(entry.substr(0, entry.find('='))))) env.emplace_back(entry);
  }
  for (const auto& [name, value] : extra)
    env.push_back(name + "=" + value);
  return env;
}

// argv[0] as execve needs it: a name with a slash as it is (relative to the cwd the service
// gets), otherwise the first executable file of that name in the service's PATH. Looked up
// before the fork so that "not found" is a plain error, and with the PATH the service will see.
core::Result<std::string> findProgram(const std::string& name, const std::vector<std::string>& env,
                                      const std::string& cwd) {
  if (name.find('/') != std::string::npos) return name;
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& entry : env) {
    if (entry.rfind("PATH=", 0) == 0) path = entry.substr(5);
  }
  std::istringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    // Built with append: GCC 12 at -O3 warns (-Wrestrict) about `"." ` assignments and
    // `x + "/" + y` chains here.
    std::string candidate;
    if (dir.empty() || dir.front() != '/') {
      if (!cwd.empty()) candidate.append(cwd).append("/");
      candidate.append(dir.empty() ? std::string_view(".") : std::string_view(dir));
    } else {
      candidate.append(dir);
    }
    candidate.append("/").append(name);
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return core::Error{core::Errc::kNotFound, fmt::format("cannot start '{}': not in PATH", name)};
}

std::vector<char*> pointersTo(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings)
    out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::string describeFailure(const Report& report, const ProcessSpec& spec) {
  const char* reason = std::strerror(report.value);
  switch (report.stage) {
  case Stage::kCwd:
    return fmt::format("cannot change to directory '{}': {}", spec.cwd, reason);
  case Stage::kLimit:
    return fmt::format("cannot set the memory limit: {}", reason);
  case Stage::kExec:
    return fmt::format("cannot start '{}': {}", spec.argv[0], reason);
  case Stage::kGuard:
    break;
  }
  return fmt::format("cannot start the guard process: {}", reason);
}

// ---- the state file -----------------------------------------------------------------------------

struct LiveGroup {
  pid_t pgid = 0;
  std::uint64_t start_time = 0;
};

std::mutex& stateMutex() {
  static std::mutex mutex;
  return mutex;
}

std::vector<LiveGroup> readState(const std::string& path) {
  std::vector<LiveGroup> groups;
  std::ifstream in(path);
  LiveGroup g;
  while (in >> g.pgid >> g.start_time) {
    if (g.pgid > 1) groups.push_back(g);
  }
  return groups;
}

// Replaces the file whole (write, then rename), so that a crash never leaves half a list.
core::Status writeState(const std::string& path, const std::vector<LiveGroup>& groups) {
  if (groups.empty()) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return core::Error{core::Errc::kInternal,
                         fmt::format("cannot remove {}: {}", path, std::strerror(errno))};
    }
    return core::Ok{};
  }
  std::string text;
  for (const auto& g : groups)
    text += fmt::format("{} {}\n", g.pgid, g.start_time);
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const bool ok =
      fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  if (fd >= 0) ::close(fd);
  if (!ok || ::rename(temporary.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(temporary.c_str());
    return core::Error{core::Errc::kInternal,
                       fmt::format("cannot write {}: {}", path, std::strerror(e))};
  }
  return core::Ok{};
}

} // namespace

// ---- Process ------------------------------------------------------------------------------------

core::Result<std::unique_ptr<Process>> Process::start(ProcessSpec spec) {
  std::unique_ptr<Process> process(new Process(std::move(spec)));
  if (auto started = process->launch(); !started) return started.error();
  return process;
}

Process::Process(ProcessSpec spec) : spec_(std::move(spec)) {}

Process::~Process() {
  {
    std::lock_guard lock(mutex_);
    if (!reaped_ && guard_ > 0) ::kill(-guard_, SIGKILL);
  }
  if (waiter_.joinable()) {
    // Destroyed from its own onExit callback: the callback is the waiter's last use of this
    // object, so the thread may finish on its own.
    if (waiter_.get_id() == std::this_thread::get_id())
      waiter_.detach();
    else
      waiter_.join();
  }
}

// The guard is forked from the waiter thread, which lives until the guard is reaped: a parent-
// death signal fires when the forking *thread* ends, so forking from the caller's thread would
// kill the guard whenever that thread finished.
core::Status Process::launch() {
  waiter_ = std::thread([this] { run(); });
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return start_done_; });
  if (start_result_) return core::Ok{};
  lock.unlock();
  waiter_.join();
  return start_result_;
}

void Process::run() {
  // Writing the go-ahead to a guard that has died raises SIGPIPE on this thread: keep it pending
  // here rather than let it end a supervisor that does not ignore it.
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
  auto started = spawn();
  const bool ok = started.ok();
  {
    std::lock_guard lock(mutex_);
    start_result_ = std::move(started);
    start_done_ = true;
  }
  changed_.notify_all();
  if (ok) superviseUntilExit();
}

core::Status Process::spawn() {
  if (spec_.argv.empty() || spec_.argv[0].empty())
    return core::Error{core::Errc::kInvalidParams, "no command to run"};
  std::vector<std::string> env = environmentFor(spec_.env);
  auto program = findProgram(spec_.argv[0], env, spec_.cwd);
  if (!program) return program.error();
  if (!spec_.log_path.empty()) {
    auto log = LogFile::open(spec_.log_path, {spec_.log_max_bytes, spec_.log_keep});
    if (!log) return log.error();
    log_ = std::move(*log);
  }
  Pipe lifeline, report, output;
  if (!lifeline.open() || !report.open() || (log_ && !output.open()))
    return core::Error{core::Errc::kInternal,
                       fmt::format("cannot create pipes: {}", std::strerror(errno))};
  UniqueFd wake(log_ ? ::eventfd(0, EFD_CLOEXEC) : -1);
  if (log_ && wake.get() < 0)
    return core::Error{core::Errc::kInternal,
                       fmt::format("cannot create an eventfd: {}", std::strerror(errno))};

  const bool in_cgroup = prepareCgroup();
  std::vector<std::string> argv = spec_.argv;
  const auto argp = pointersTo(argv);
  const auto envp = pointersTo(env);
  const GuardPlan plan{program->c_str(),
                       argp.data(),
                       envp.data(),
                       spec_.cwd.empty() ? nullptr : spec_.cwd.c_str(),
                       static_cast<rlim_t>(spec_.memory_limit_bytes),
                       ::getpid(),
                       lifeline.read.get(),
                       report.write.get(),
                       output.write.get(),
                       spec_.inherit_fds};
  const pid_t guard = ::fork();
  if (guard == 0) guardMain(plan);
  if (guard < 0) {
    const int e = errno;
    removeCgroup();
    return core::Error{core::Errc::kInternal, fmt::format("cannot fork: {}", std::strerror(e))};
  }
  ::setpgid(guard, guard); // also here, so that no signal to the group can precede the group
  lifeline.read.reset();
  report.write.reset();
  output.write.reset();
  {
    std::lock_guard lock(mutex_);
    guard_ = guard;
    lifeline_ = lifeline.write.release();
    report_ = report.read.release();
    output_ = output.read.release();
    reader_wake_ = wake.release();
  }
  if (log_) reader_ = std::thread([this] { readOutput(); });

  char go = spec_.memory_limit_bytes > 0 ? kGoRlimit : kGoNoLimit;
  if (in_cgroup && writeFile(cgroup_path_ + "/cgroup.procs", std::to_string(guard))) {
    go = kGoCgroup;
    limits_mode_ = "cgroup";
  } else {
    if (in_cgroup) {
      log::debug("process {}: cannot use cgroup {}: {}", guard, cgroup_path_, std::strerror(errno));
      removeCgroup();
      cgroup_path_.clear();
    }
    limits_mode_ = go == kGoRlimit ? "rlimit" : "none";
  }
  (void)!::write(lifeline_, &go, 1); // if the guard is gone, the report says so

  Report first;
  ssize_t n;
  while ((n = ::read(report_, &first, sizeof first)) < 0 && errno == EINTR) {}
  if (n == sizeof first && first.started) {
    service_ = first.value;
    if (!spec_.state_file.empty()) {
      if (auto recorded = record(spec_.state_file, guard); !recorded)
        log::warn("process {}: {}", guard, recorded.error().message);
    }
    return core::Ok{};
  }
  const std::string error =
      n == sizeof first ? describeFailure(first, spec_) : "the guard process failed to start";
  ::kill(guard, SIGKILL); // it is leaving anyway; do not wait on it
  superviseUntilExit();
  return core::Error{core::Errc::kUnavailable, error};
}

// A cgroup v2 directory with the limits written, or false to fall back to rlimits. The limits
// are written before any process joins, so the service never runs unlimited.
bool Process::prepareCgroup() {
  const bool memory = spec_.memory_limit_bytes > 0;
  const bool cpu = spec_.cpu_limit > 0;
  const std::string& root = spec_.cgroup_root;
  if (root.empty() || (!memory && !cpu)) return false;
  if (::access((root + "/cgroup.controllers").c_str(), F_OK) != 0) return false; // not v2
  const std::string path = root + "/forge-" + core::randomHex(6);
  if (::mkdir(path.c_str(), 0755) != 0) return false;
  cgroup_path_ = path;
  // A controller's files appear only once the parent enables it for its children; try that,
  // which fails harmlessly where the root is not ours to change.
  const auto set = [&](const char* controller, const char* file, const std::string& value) {
    const std::string target = path + "/" + file;
    if (::access(target.c_str(), F_OK) != 0)
      writeFile(root + "/cgroup.subtree_control", std::string("+") + controller);
    return writeFile(target, value);
  };
  const auto quota = std::max<long long>(1000, std::llround(spec_.cpu_limit * 100000));
  if ((memory && !set("memory", "memory.max", std::to_string(spec_.memory_limit_bytes))) ||
      (cpu && !set("cpu", "cpu.max", fmt::format("{} 100000", quota)))) {
    log::debug("cgroup {}: cannot set the limits: {}", path, std::strerror(errno));
    removeCgroup();
    cgroup_path_.clear();
    return false;
  }
  return true;
}

// The group's processes were SIGKILLed just before: rmdir succeeds once they are gone.
void Process::removeCgroup() {
  if (cgroup_path_.empty()) return;
  for (int attempt = 0; attempt < 200; ++attempt) {
    if (::rmdir(cgroup_path_.c_str()) == 0 || errno == ENOENT) return;
    if (errno != EBUSY) break;
    std::this_thread::sleep_for(5ms);
  }
  log::warn("cannot remove cgroup {}: {}", cgroup_path_, std::strerror(errno));
}

// Copies the service's output to the log until every writer has closed the pipe, or until the
// waiter says the group is gone: then only what is already in the pipe is taken, so that a
// process that escaped the group and still holds the pipe cannot keep this thread.
void Process::readOutput() {
  std::vector<char> buffer(64 * 1024);
  bool warned = false;
  const auto save = [&](ssize_t n) {
    auto saved = log_->append(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    if (!saved && !std::exchange(warned, true))
      log::warn("process {}: {}", guard_, saved.error().message);
  };
  pollfd fds[2] = {{output_, POLLIN, 0}, {reader_wake_, POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents != 0) {
      const ssize_t n = ::read(output_, buffer.data(), buffer.size());
      if (n > 0) {
        save(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      break; // end of output
    }
    if (fds[1].revents != 0) {
      ::fcntl(output_, F_SETFL, O_NONBLOCK);
      for (;;) {
        const ssize_t n = ::read(output_, buffer.data(), buffer.size());
        if (n > 0)
          save(n);
        else if (!(n < 0 && errno == EINTR))
          break;
      }
      break;
    }
  }
  if (auto flushed = log_->flush(); !flushed && !warned)
    log::warn("process {}: {}", guard_, flushed.error().message);
}

// Waits for the guard to exit and leaves nothing behind: SIGKILL to what is left of the group
// while the unreaped guard still pins the group id, then the reap, the output, the cgroup.
void Process::superviseUntilExit() {
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(guard_), &info, WEXITED | WNOWAIT) < 0 &&
         errno == EINTR) {}
  int wait_status = 0;
  {
    std::lock_guard lock(mutex_);
    ::kill(-guard_, SIGKILL);
    if (!cgroup_path_.empty()) writeFile(cgroup_path_ + "/cgroup.kill", "1"); // escapees too
    pid_t reaped;
    while ((reaped = ::waitpid(guard_, &wait_status, 0)) < 0 && errno == EINTR) {}
    if (reaped < 0) {
      log::error("process {}: cannot wait for it: {}", guard_, std::strerror(errno));
      wait_status = W_EXITCODE(kGuardFailed, 0);
    }
    reaped_ = true;
  }
  if (reader_.joinable()) {
    const std::uint64_t one = 1;
    (void)!::write(reader_wake_, &one, sizeof one);
    reader_.join();
  }
  closeFd(lifeline_);
  closeFd(report_);
  closeFd(output_);
  closeFd(reader_wake_);
  removeCgroup();
  if (!spec_.state_file.empty() && service_ > 0) (void)forget(spec_.state_file, guard_);
  finish(exitCodeOf(wait_status));
}

void Process::finish(int status) {
  ExitCallback callback;
  {
    std::lock_guard lock(mutex_);
    status_ = status;
    finished_ = true;
    callback = std::move(callback_);
    callback_ = nullptr;
  }
  changed_.notify_all();
  if (callback) callback(status); // the last thing this thread does with the object
}

void Process::onExit(ExitCallback callback) {
  std::unique_lock lock(mutex_);
  if (!finished_) {
    callback_ = std::move(callback);
    return;
  }
  const int status = status_;
  lock.unlock();
  if (callback) callback(status);
}

core::Status Process::signalGroup(int signal_number) {
  std::lock_guard lock(mutex_);
  if (reaped_ || guard_ <= 0) return core::Error{core::Errc::kNotFound, "the process has exited"};
  if (::kill(-guard_, signal_number) != 0) {
    return core::Error{core::Errc::kInternal, fmt::format("cannot signal process group {}: {}",
                                                          guard_, std::strerror(errno))};
  }
  // SIGSTOP cannot be ignored: let the guard go on, or it could not act on the supervisor's death.
  if (signal_number == SIGSTOP) ::kill(guard_, SIGCONT);
  return core::Ok{};
}

core::Status Process::pause() {
  auto status = signalGroup(SIGSTOP);
  std::lock_guard lock(mutex_);
  if (status) paused_ = true;
  return status;
}

core::Status Process::resume() {
  auto status = signalGroup(SIGCONT);
  std::lock_guard lock(mutex_);
  if (status) paused_ = false;
  return status;
}

bool Process::paused() const {
  std::lock_guard lock(mutex_);
  return paused_ && !finished_;
}

int Process::stop(std::chrono::milliseconds grace) {
  if (running()) {
    (void)signalGroup(SIGTERM);
    if (paused()) (void)resume(); // a stopped process acts on SIGTERM only once continued
    if (!wait(grace)) {
      (void)signalGroup(SIGKILL);
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [this] { return finished_; });
    }
  }
  std::lock_guard lock(mutex_);
  return status_;
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!changed_.wait_for(lock, timeout, [this] { return finished_; })) return std::nullopt;
  return status_;
}

bool Process::running() const {
  std::lock_guard lock(mutex_);
  return !finished_;
}

std::optional<int> Process::exitStatus() const {
  std::lock_guard lock(mutex_);
  if (!finished_) return std::nullopt;
  return status_;
}

// ---- leftovers ----------------------------------------------------------------------------------

core::Status Process::record(const std::string& state_file, pid_t pgid) {
  const auto stat = readProcStat(pgid);
  if (!stat) {
    return core::Error{core::Errc::kNotFound,
                       fmt::format("process {} is not running: not recorded", pgid)};
  }
  std::lock_guard lock(stateMutex());
  auto groups = readState(state_file);
  std::erase_if(groups, [&](const LiveGroup& g) { return g.pgid == pgid; });
  groups.push_back({pgid, stat->start_time});
  return writeState(state_file, groups);
}

core::Status Process::forget(const std::string& state_file, pid_t pgid) {
  std::lock_guard lock(stateMutex());
  auto groups = readState(state_file);
  const auto removed = std::erase_if(groups, [&](const LiveGroup& g) { return g.pgid == pgid; });
  if (removed == 0) return core::Ok{};
  return writeState(state_file, groups);
}

int Process::killLeftovers(const std::string& state_file) {
  std::vector<pid_t> killed;
  {
    std::lock_guard lock(stateMutex());
    for (const auto& g : readState(state_file)) {
      const auto stat = readProcStat(g.pgid);
      // Same pid, still leading its group, same start time: the very group recorded.
      if (!stat || stat->pgrp != g.pgid || stat->start_time != g.start_time) continue;
      if (::kill(-g.pgid, SIGKILL) == 0) killed.push_back(g.pgid);
    }
    if (auto cleared = writeState(state_file, {}); !cleared)
      log::warn("{}", cleared.error().message);
  }
  // Give them a moment to go, so that what they held (ports, files) is free for the new run.
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  for (const pid_t pgid : killed) {
    while (!groupProcesses(pgid).empty() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(10ms);
  }
  return static_cast<int>(killed.size());
}

} // namespace forge::manager
