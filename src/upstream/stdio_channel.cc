// The stdio Channel: an MCP server as a child process speaking one JSON-RPC message per line.
//
// DESIGN. Three threads per child: one reads stdout (messages, delivered in order), one reads
// stderr (logged at debug; the last lines explain a crash), one writes queued lines to stdin so
// that send() never blocks on a slow child. The child runs in its own process group with a
// parent-death signal, so it never outlives the gateway. Shutdown follows MCP: close stdin,
// wait, SIGTERM, wait, SIGKILL.
#include "core/log.h"
#include "net/fd_io.h"
#include "upstream/channel.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

extern char** environ;

namespace forge::upstream {
namespace {

using namespace std::chrono_literals;

std::string describeExit(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with code {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("killed by signal {}", strsignal(WTERMSIG(status)));
  return "ended";
}

class StdioChannel final : public Channel, public std::enable_shared_from_this<StdioChannel> {
public:
  explicit StdioChannel(StdioSpec spec) : spec_(std::move(spec)) {}

  ~StdioChannel() override {
    for (auto* t : {&out_thread_, &err_thread_, &write_thread_}) {
      if (t->joinable()) t->detach();
    }
  }

  // Channel
  void open(ChannelCallbacks callbacks) override {
    callbacks_ = std::move(callbacks);
    std::string error;
    if (!spawn(error)) {
      closed_ = true;
      callbacks_.on_closed(error);
      return;
    }
    auto self = shared_from_this();
    out_thread_ = std::thread([self] { self->readMessages(); });
    err_thread_ = std::thread([self] { self->readStderr(); });
    write_thread_ = std::thread([self] { self->writeLoop(); });
  }

  void send(const mcp::Message& message) override {
    std::string line = mcp::serialize(message);
    line += '\n';
    {
      std::lock_guard lock(write_mutex_);
      if (writer_done_) return;
      write_queue_.push_back(std::move(line));
    }
    write_cv_.notify_one();
  }

  void setProtocolVersion(std::string) override {}

  void close() override {
    if (closing_.exchange(true)) return;
    {
      std::lock_guard lock(write_mutex_);
      writer_done_ = true; // the writer closes stdin once it sees this
    }
    write_cv_.notify_one();
    // Escalate in the background; the stdout reader reaps the child.
    std::thread([self = shared_from_this()] { self->escalate(); }).detach();
  }

  int pid() const override { return pid_; }

  void waitClosed(std::chrono::milliseconds limit) override {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!exited_ && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(10ms);
    }
  }

private:
  bool spawn(std::string& error) {
    int in[2], out[2], err[2], status[2];
    if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC) ||
        ::pipe2(status, O_CLOEXEC)) {
      error = fmt::format("cannot create pipes: {}", std::strerror(errno));
      return false;
    }
    std::vector<std::string> argv{spec_.command};
    argv.insert(argv.end(), spec_.args.begin(), spec_.args.end());
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
      const std::string_view entry(*e);
      const auto name = entry.substr(0, entry.find('='));
      if (!spec_.env.count(std::string(name))) env.emplace_back(entry);
    }
    for (const auto& [k, v] : spec_.env)
      env.push_back(k + "=" + v);
    std::vector<char*> argp, envp;
    for (auto& a : argv)
      argp.push_back(a.data());
    argp.push_back(nullptr);
    for (auto& e : env)
      envp.push_back(e.data());
    envp.push_back(nullptr);
    const pid_t parent = ::getpid();

    pid_ = ::fork();
    if (pid_ < 0) {
      error = fmt::format("cannot fork: {}", std::strerror(errno));
      return false;
    }
    if (pid_ == 0) {
      // Child: own process group, dies with the gateway, stdio on the pipes.
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      // Forge ignores SIGPIPE (a closed pipe is an error value to it); an ignored signal would
      // stay ignored across exec, and the server expects the default.
      ::signal(SIGPIPE, SIG_DFL);
      if (::getppid() != parent) ::_exit(127);
      ::dup2(in[0], STDIN_FILENO);
      ::dup2(out[1], STDOUT_FILENO);
      ::dup2(err[1], STDERR_FILENO);
      if (!spec_.cwd.empty() && ::chdir(spec_.cwd.c_str()) != 0) {
        const int e = errno;
        (void)!::write(status[1], &e, sizeof e);
        ::_exit(127);
      }
      ::execvpe(argp[0], argp.data(), envp.data());
      const int e = errno;
      (void)!::write(status[1], &e, sizeof e);
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    ::close(status[1]);
    stdin_ = in[1];
    stdout_ = out[0];
    stderr_ = err[0];
    int child_errno = 0;
    const ssize_t n = ::read(status[0], &child_errno, sizeof child_errno);
    ::close(status[0]);
    if (n == sizeof child_errno) {
      ::waitpid(pid_, nullptr, 0);
      ::close(stdin_);
      ::close(stdout_);
      ::close(stderr_);
      error = fmt::format("cannot start '{}': {}", spec_.command, std::strerror(child_errno));
      return false;
    }
    log::info("upstream {}: started '{}' (pid {})", spec_.name, spec_.command, pid_);
    return true;
  }

  void readMessages() {
    net::LineReader reader(stdout_);
    std::string line;
    while (reader.next(line)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      auto parsed = mcp::parse(line);
      if (!parsed) {
        log::warn("upstream {}: ignoring a line that is not JSON-RPC: {}", spec_.name,
                  parsed.error().message);
        continue;
      }
      for (auto& m : parsed->messages) {
        if (closing_) return reap();
        callbacks_.on_message(std::move(m), std::nullopt);
      }
    }
    reap();
  }

  void reap() {
    ::close(stdout_);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {}
    exited_ = true;
    {
      std::lock_guard lock(write_mutex_);
      writer_done_ = true;
    }
    write_cv_.notify_one();
    if (closing_) return;
    std::string reason = describeExit(status);
    {
      std::lock_guard lock(stderr_mutex_);
      if (!last_stderr_.empty()) reason += ": " + last_stderr_;
    }
    callbacks_.on_closed(reason);
  }

  void readStderr() {
    net::LineReader reader(stderr_);
    std::string line;
    while (reader.next(line)) {
      log::debug("upstream {} stderr: {}", spec_.name, line);
      std::lock_guard lock(stderr_mutex_);
      last_stderr_ = line.substr(0, 300);
    }
    ::close(stderr_);
  }

  void writeLoop() {
    for (;;) {
      std::vector<std::string> batch; // swapped whole: no allocation while empty
      {
        std::unique_lock lock(write_mutex_);
        write_cv_.wait(lock, [this] { return writer_done_ || !write_queue_.empty(); });
        if (write_queue_.empty() && writer_done_) break;
        batch.swap(write_queue_);
      }
      std::string joined;
      for (auto& line : batch)
        joined += line;
      if (!net::writeAll(stdin_, joined)) break;
    }
    ::close(stdin_);
  }

  // Waits for the child to leave after stdin closed; then SIGTERM, then SIGKILL (its group).
  void escalate() {
    for (int signal_number : {SIGTERM, SIGKILL}) {
      for (int i = 0; i < 40 && !exited_; ++i)
        std::this_thread::sleep_for(50ms);
      if (exited_) return;
      ::kill(-pid_, signal_number);
    }
  }

  StdioSpec spec_;
  ChannelCallbacks callbacks_;
  pid_t pid_ = -1;
  int stdin_ = -1, stdout_ = -1, stderr_ = -1;
  std::atomic<bool> closing_{false};
  std::atomic<bool> closed_{false};
  std::atomic<bool> exited_{false};
  std::mutex write_mutex_;
  std::condition_variable write_cv_;
  std::vector<std::string> write_queue_;
  bool writer_done_ = false;
  std::mutex stderr_mutex_;
  std::string last_stderr_;
  std::thread out_thread_, err_thread_, write_thread_;
};

} // namespace

ChannelPtr makeStdioChannel(net::EventLoop&, StdioSpec spec) {
  return std::make_shared<StdioChannel>(std::move(spec));
}

} // namespace forge::upstream
