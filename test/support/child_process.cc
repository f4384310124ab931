#include "support/child_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

extern char** environ;

namespace forge::test {

ChildProcess::ChildProcess(std::vector<std::string> argv, std::vector<std::string> env,
                           std::string cwd) {
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) return;
  std::vector<std::string> environment;
  for (char** e = environ; *e; ++e)
    environment.emplace_back(*e);
  environment.insert(environment.end(), env.begin(), env.end());
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(127);
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : environment)
      envp.push_back(e.data());
    envp.push_back(nullptr);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  reader_ = std::thread([this, o = out_pipe[0], e = err_pipe[0]] { readLoop(o, e); });
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !exit_code_) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::seconds(10));
  }
  if (reader_.joinable()) reader_.join();
}

void ChildProcess::readLoop(int out_fd, int err_fd) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    if (::poll(fds, 2, 200) < 0 && errno != EINTR) break;
    for (auto& p : fds) {
      if (p.fd < 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[8192];
      const ssize_t n = ::read(p.fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(p.fd);
        p.fd = -1;
        --open_fds;
        continue;
      }
      std::lock_guard lock(mutex_);
      (p.fd == out_fd ? out_ : err_).append(buf, static_cast<std::size_t>(n));
      changed_.notify_all();
    }
  }
  std::lock_guard lock(mutex_);
  eof_ = true;
  changed_.notify_all();
}

std::optional<std::string> ChildProcess::waitForLine(std::string_view needle,
                                                     std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  std::optional<std::string> found;
  auto search = [&](const std::string& text) {
    const auto at = text.find(needle);
    if (at == std::string::npos) return false;
    const auto start = text.rfind('\n', at);
    const auto end = text.find('\n', at);
    found =
        text.substr(start == std::string::npos ? 0 : start + 1,
                    end == std::string::npos ? std::string::npos
                                             : end - (start == std::string::npos ? 0 : start + 1));
    return true;
  };
  changed_.wait_for(lock, timeout, [&] { return search(out_) || search(err_) || eof_; });
  return found;
}

void ChildProcess::signal(int signal_number) {
  if (pid_ > 0 && !exit_code_) ::kill(pid_, signal_number);
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

std::string ChildProcess::out() const {
  std::lock_guard lock(mutex_);
  return out_;
}

std::string ChildProcess::err() const {
  std::lock_guard lock(mutex_);
  return err_;
}

CommandResult runCommand(std::vector<std::string> argv, std::vector<std::string> env,
                         std::string cwd, std::chrono::milliseconds timeout) {
  CommandResult result;
  {
    ChildProcess child(std::move(argv), std::move(env), std::move(cwd));
    auto code = child.wait(timeout);
    if (!code) {
      child.signal(SIGKILL);
      code = child.wait(std::chrono::seconds(5));
    }
    result.exit_code = code.value_or(-1);
    // Let the reader drain the pipes.
    child.waitForLine("\x01never\x01", std::chrono::milliseconds(2000));
    result.out = child.out();
    result.err = child.err();
  }
  return result;
}

std::uint16_t freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

namespace {
bool portIsFree(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return bound;
}
} // namespace

std::uint16_t freePorts(int count) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const std::uint16_t first = freePort();
    if (first > 65535 - count) continue;
    bool all = true;
    for (int i = 1; i < count && all; ++i)
      all = portIsFree(static_cast<std::uint16_t>(first + i));
    if (all) return first;
  }
  return freePort(); // a crowded machine: the caller's bind will say so
}

} // namespace forge::test
