// Real child processes (/bin/sh, sleep), every wait bounded. A Process's destructor SIGKILLs its
// group, so a failed assertion leaves nothing running.
#include "manager/process.h"

#include "manager/log_files.h"
#include "manager/proc_stats.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <thread>

namespace forge::manager {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (!condition()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class ProcessTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "forge-process-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    log_ = (dir_ / "service.log").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  ProcessSpec shell(const std::string& script) {
    ProcessSpec spec;
    spec.argv = {"sh", "-c", script};
    spec.log_path = log_;
    return spec;
  }
  std::unique_ptr<Process> start(ProcessSpec spec) {
    auto process = Process::start(std::move(spec));
    EXPECT_TRUE(process) << process.error().message;
    if (!process) return nullptr;
    return std::move(*process);
  }
  bool logContains(const std::string& text) {
    return readFile(log_).find(text) != std::string::npos;
  }

  fs::path dir_;
  std::string log_;
};

TEST_F(ProcessTest, CapturesStdoutAndStderrWithTimestamps) {
  auto p = start(shell("echo out; echo err >&2; exit 3"));
  ASSERT_TRUE(p);
  EXPECT_GT(p->pid(), 0);
  EXPECT_GT(p->servicePid(), 0);
  EXPECT_NE(p->servicePid(), p->pid());
  EXPECT_EQ(p->wait(5s), 3);
  EXPECT_FALSE(p->running());
  EXPECT_EQ(p->exitStatus(), 3);
  const auto lines = tailLines(log_, 10);
  ASSERT_EQ(lines.size(), 2u) << readFile(log_);
  const std::regex stamped(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (out|err)$)");
  EXPECT_TRUE(std::regex_match(lines[0], stamped)) << lines[0];
  EXPECT_TRUE(lines[0].ends_with(" out"));
  EXPECT_TRUE(lines[1].ends_with(" err"));
}

TEST_F(ProcessTest, RotatesOutputAtTheSizeLimit) {
  auto spec = shell("i=0; while [ $i -lt 300 ]; do echo \"line $i\"; i=$((i+1)); done");
  spec.log_max_bytes = 2000;
  spec.log_keep = 2;
  auto p = start(std::move(spec));
  ASSERT_TRUE(p);
  ASSERT_EQ(p->wait(10s), 0);
  EXPECT_TRUE(fs::exists(rotatedPath(log_, 1)));
  EXPECT_TRUE(fs::exists(rotatedPath(log_, 2)));
  EXPECT_FALSE(fs::exists(rotatedPath(log_, 3)));
  for (int i = 0; i <= 2; ++i)
    EXPECT_LE(fs::file_size(rotatedPath(log_, i)), 2000u);
  const auto tail = tailLines(log_, 100);
  ASSERT_EQ(tail.size(), 100u);
  EXPECT_TRUE(tail.front().ends_with(" line 200")) << tail.front();
  EXPECT_TRUE(tail.back().ends_with(" line 299")) << tail.back();
}

TEST_F(ProcessTest, ExitStatusIsTheCodeOr128PlusTheSignal) {
  auto exits = start(shell("exit 7"));
  ASSERT_TRUE(exits);
  EXPECT_EQ(exits->wait(5s), 7);
  auto killed = start(shell("kill -USR1 $$"));
  ASSERT_TRUE(killed);
  EXPECT_EQ(killed->wait(5s), 128 + SIGUSR1);
}

TEST_F(ProcessTest, StartFailuresAreErrorsAndLeaveNothingRunning) {
  ProcessSpec missing;
  missing.argv = {"forge-no-such-program-anywhere"};
  auto a = Process::start(missing);
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().message.find("not in PATH"), std::string::npos) << a.error().message;

  ProcessSpec bad_path;
  bad_path.argv = {"/nonexistent/program"};
  bad_path.log_path = log_;
  auto b = Process::start(bad_path);
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message.find("No such file"), std::string::npos) << b.error().message;

  auto bad_cwd = shell("true");
  bad_cwd.cwd = (dir_ / "missing").string();
  auto c = Process::start(bad_cwd);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("cannot change to directory"), std::string::npos)
      << c.error().message;
}

TEST_F(ProcessTest, EnvironmentAndWorkingDirectoryReachTheService) {
  auto spec = shell("echo \"$FORGE_TEST_VALUE in $(pwd)\"");
  spec.env = {{"FORGE_TEST_VALUE", "hello"}};
  spec.cwd = dir_.string();
  auto p = start(std::move(spec));
  ASSERT_TRUE(p);
  ASSERT_EQ(p->wait(5s), 0);
  EXPECT_TRUE(logContains("hello in " + fs::canonical(dir_).string())) << readFile(log_);
}

// A shared listening socket and a replica's own arrive as descriptors 3 and 4, in that order,
// whichever numbers the supervisor holds them under, and nothing else is open above them.
TEST_F(ProcessTest, InheritedDescriptorsArriveAsThreeAndFour) {
  const auto open_file = [&](const char* name) {
    return ::open((dir_ / name).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  };
  const int first = open_file("first");
  const int second = open_file("second");
  ASSERT_GE(first, 0);
  ASSERT_GE(second, 0);
  auto spec = shell("for fd in 5 6 7 8 9; do [ -e /proc/$$/fd/$fd ] && echo leaked $fd; done; "
                    "echo shared >&3; echo own >&4; echo done");
  spec.inherit_fds = {second, first}; // the higher number first: both must move
  auto p = start(std::move(spec));
  ::close(first);
  ::close(second);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->wait(5s), 0) << readFile(log_);
  EXPECT_EQ(readFile((dir_ / "second").string()), "shared\n");
  EXPECT_EQ(readFile((dir_ / "first").string()), "own\n");
  EXPECT_TRUE(logContains("done")) << readFile(log_);
  EXPECT_FALSE(logContains("leaked")) << readFile(log_);
}

TEST_F(ProcessTest, StopEndsAPoliteServiceWithSigterm) {
  auto p = start(shell("exec sleep 30"));
  ASSERT_TRUE(p);
  const auto begin = Clock::now();
  EXPECT_EQ(p->stop(5s), 128 + SIGTERM);
  EXPECT_LT(Clock::now() - begin, 2s);
}

TEST_F(ProcessTest, StopEscalatesToSigkillAfterTheGraceAndNotBefore) {
  auto p = start(shell("trap '' TERM; echo ready; sleep 30"));
  ASSERT_TRUE(p);
  ASSERT_TRUE(eventually([&] { return logContains("ready"); }, 5s));
  const auto grace = 700ms;
  const auto begin = Clock::now();
  std::atomic<int> status{-1};
  std::thread stopper([&] { status = p->stop(grace); });
  std::this_thread::sleep_for(grace / 2);
  EXPECT_TRUE(p->running()) << "killed before the grace period ended";
  EXPECT_GE(groupProcesses(p->pid()).size(), 3u); // guard, sh, sleep: SIGTERM is ignored
  stopper.join();
  const auto took = Clock::now() - begin;
  EXPECT_EQ(status, 128 + SIGKILL);
  EXPECT_GE(took, grace);
  EXPECT_LT(took, grace + 3s);
}

TEST_F(ProcessTest, StopTakesGrandchildrenAlong) {
  auto p = start(shell("sleep 300 & sleep 300"));
  ASSERT_TRUE(p);
  const pid_t pgid = p->pid();
  ASSERT_TRUE(eventually([&] { return groupProcesses(pgid).size() >= 4; }, 5s));
  const auto members = groupProcesses(pgid);
  p->stop(2s);
  EXPECT_TRUE(eventually([&] { return groupProcesses(pgid).empty(); }, 1s));
  for (const pid_t pid : members) {
    const auto stat = readProcStat(pid);
    EXPECT_TRUE(!stat || stat->state == 'Z' || stat->pgrp != pgid) << "pid " << pid << " lives";
  }
}

TEST_F(ProcessTest, DescendantsDoNotOutliveTheService) {
  auto p = start(shell("sleep 300 & echo started; exit 0"));
  ASSERT_TRUE(p);
  const pid_t pgid = p->pid();
  EXPECT_EQ(p->wait(5s), 0);
  EXPECT_TRUE(eventually([&] { return groupProcesses(pgid).empty(); }, 1s));
}

TEST_F(ProcessTest, DestructorKillsTheGroup) {
  auto p = start(shell("sleep 300 & sleep 300"));
  ASSERT_TRUE(p);
  const pid_t pgid = p->pid();
  ASSERT_TRUE(eventually([&] { return groupProcesses(pgid).size() >= 4; }, 5s));
  p.reset();
  EXPECT_TRUE(eventually([&] { return groupProcesses(pgid).empty(); }, 1s));
}

TEST_F(ProcessTest, PauseStopsTheServiceButNotTheGuard) {
  auto p = start(shell("sleep 300 & sleep 300"));
  ASSERT_TRUE(p);
  const pid_t pgid = p->pid();
  ASSERT_TRUE(eventually([&] { return groupProcesses(pgid).size() >= 4; }, 5s));
  const auto stateOf = [](pid_t pid) {
    const auto s = readProcStat(pid);
    return s ? s->state : '?';
  };
  const auto allServiceProcesses = [&](const std::string& states) {
    for (const pid_t pid : groupProcesses(pgid)) {
      if (pid != pgid && states.find(stateOf(pid)) == std::string::npos) return false;
    }
    return true;
  };
  ASSERT_TRUE(p->pause());
  EXPECT_TRUE(p->paused());
  const auto states = [&] {
    std::string out;
    for (const pid_t pid : groupProcesses(pgid))
      out += std::to_string(pid) + ":" + stateOf(pid) + " ";
    return out;
  };
  // Stopped ('T'), or for dash, which starts commands with vfork, possibly waiting for a child
  // stopped before its exec ('D': a vfork parent cannot stop until then, nor run).
  EXPECT_TRUE(eventually([&] { return allServiceProcesses("TD"); }, 2s)) << states();
  EXPECT_TRUE(eventually([&] { return stateOf(pgid) != 'T'; }, 2s)) << "the guard stays awake";
  ASSERT_TRUE(p->resume());
  EXPECT_FALSE(p->paused());
  EXPECT_TRUE(eventually([&] { return allServiceProcesses("S"); }, 2s)) << states();
  // A paused service still stops on SIGTERM.
  ASSERT_TRUE(p->pause());
  const auto begin = Clock::now();
  EXPECT_EQ(p->stop(5s), 128 + SIGTERM);
  EXPECT_LT(Clock::now() - begin, 2s);
}

// The supervisor is a real process, SIGKILLed: its guard must take the whole group along.
void expectNoOrphansAfterSupervisorKill(bool paused) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t supervisor = ::fork();
  ASSERT_GE(supervisor, 0);
  if (supervisor == 0) {
    ::close(fds[0]);
    ProcessSpec spec;
    spec.argv = {"sh", "-c", "sleep 300 & sleep 300"};
    auto p = Process::start(spec);
    pid_t pgid = p ? (*p)->pid() : -1;
    if (p && paused) {
      // Once the shell has started both sleeps, so that the whole group is stopped.
      eventually([&] { return groupProcesses(pgid).size() >= 4; }, 5s);
      (void)(*p)->pause();
    }
    (void)!::write(fds[1], &pgid, sizeof pgid);
    for (;;)
      ::pause();
  }
  ::close(fds[1]);
  pid_t pgid = -1;
  pollfd readable{fds[0], POLLIN, 0};
  if (::poll(&readable, 1, 5000) == 1) (void)!::read(fds[0], &pgid, sizeof pgid);
  ::close(fds[0]);
  if (pgid <= 0) {
    ::kill(supervisor, SIGKILL);
    ::waitpid(supervisor, nullptr, 0);
    FAIL() << "the supervisor did not start its process";
  }
  EXPECT_TRUE(eventually([&] { return groupProcesses(pgid).size() >= 4; }, 5s))
      << groupProcesses(pgid).size() << " processes in the group";
  if (paused) {
    EXPECT_TRUE(eventually(
        [&] {
          for (const pid_t pid : groupProcesses(pgid)) {
            const auto stat = readProcStat(pid);
            if (pid != pgid && stat && stat->state != 'T' && stat->state != 'D') return false;
          }
          return true;
        },
        2s))
        << "the service is not stopped";
  }
  ::kill(supervisor, SIGKILL);
  ::waitpid(supervisor, nullptr, 0);
  const bool gone = eventually([&] { return groupProcesses(pgid).empty(); }, 1s);
  EXPECT_TRUE(gone) << groupProcesses(pgid).size() << " orphans left in group " << pgid;
  if (!gone) ::kill(-pgid, SIGKILL);
}

TEST_F(ProcessTest, NoOrphansWhenTheSupervisorIsKilled) {
  expectNoOrphansAfterSupervisorKill(false);
}

TEST_F(ProcessTest, NoOrphansWhenTheSupervisorIsKilledWhilePaused) {
  expectNoOrphansAfterSupervisorKill(true);
}

// RLIMIT_AS: the shell must hold 100 MB in a variable, which cannot fit in 50 MB of address space.
TEST_F(ProcessTest, MemoryLimitMakesAGreedyServiceFail) {
  const std::string greedy = "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo \"size ${#x}\"";
  auto limited = shell(greedy);
  limited.memory_limit_bytes = 50 * 1000 * 1000;
  auto p = start(std::move(limited));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->limitsMode(), "rlimit");
  const auto status = p->wait(20s);
  ASSERT_TRUE(status);
  EXPECT_NE(*status, 0);
  EXPECT_FALSE(logContains("size 100000000")) << readFile(log_);

  // The same command with room to spare succeeds: it is the limit that failed it.
  auto roomy = shell(greedy);
  roomy.memory_limit_bytes = 2000ull * 1000 * 1000;
  auto q = start(std::move(roomy));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->wait(20s), 0);
  EXPECT_TRUE(logContains("size 100000000")) << readFile(log_);
}

TEST_F(ProcessTest, LimitsFallBackWithoutCgroups) {
  auto none = start(shell("exit 0"));
  ASSERT_TRUE(none);
  EXPECT_EQ(none->limitsMode(), "none");

  auto cpu_only_spec = shell("exit 0");
  cpu_only_spec.cpu_limit = 0.5; // no rlimit caps a rate of CPU use
  auto cpu_only = start(std::move(cpu_only_spec));
  ASSERT_TRUE(cpu_only);
  EXPECT_EQ(cpu_only->limitsMode(), "none");

  auto not_a_cgroup = shell("exit 0");
  not_a_cgroup.memory_limit_bytes = 500 * 1000 * 1000;
  not_a_cgroup.cpu_limit = 1;
  not_a_cgroup.cgroup_root = dir_.string(); // no cgroup.controllers: not cgroup v2
  auto p = start(std::move(not_a_cgroup));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->limitsMode(), "rlimit");
  EXPECT_EQ(p->cgroupPath(), "");
  EXPECT_EQ(p->wait(5s), 0);
}

// Needs a writable cgroup v2 directory: FORGE_TEST_CGROUP_ROOT=/sys/fs/cgroup/<delegated>.
TEST_F(ProcessTest, CgroupHoldsTheLimitsAndIsRemovedAfterTheExit) {
  const char* root = std::getenv("FORGE_TEST_CGROUP_ROOT");
  if (!root) GTEST_SKIP() << "set FORGE_TEST_CGROUP_ROOT to a writable cgroup v2 directory";
  auto spec = shell("sleep 300");
  spec.memory_limit_bytes = 200 * 1000 * 1000;
  spec.cpu_limit = 0.5;
  spec.cgroup_root = root;
  auto p = start(std::move(spec));
  ASSERT_TRUE(p);
  if (p->limitsMode() == "cgroup") {
    const std::string cgroup = p->cgroupPath();
    EXPECT_EQ(readFile(cgroup + "/memory.max"), "200000000\n");
    EXPECT_EQ(readFile(cgroup + "/cpu.max"), "50000 100000\n");
    EXPECT_NE(readFile(cgroup + "/cgroup.procs").find(std::to_string(p->servicePid())),
              std::string::npos);
    p->stop(2s);
    EXPECT_FALSE(fs::exists(cgroup));
  } else {
    // The hierarchy lacks a controller: rlimits, and no cgroup left behind.
    EXPECT_EQ(p->limitsMode(), "rlimit");
    p->stop(2s);
    for (const auto& entry : fs::directory_iterator(root))
      EXPECT_FALSE(entry.path().filename().string().starts_with("forge-")) << entry.path();
  }
}

TEST_F(ProcessTest, OnExitIsCalledOnceFromTheWaiterThread) {
  auto p = start(shell("sleep 0.2; exit 5"));
  ASSERT_TRUE(p);
  std::atomic<int> calls{0}, status{-1};
  std::atomic<bool> other_thread{false};
  const auto caller = std::this_thread::get_id();
  p->onExit([&](int s) {
    status = s;
    other_thread = std::this_thread::get_id() != caller;
    ++calls;
  });
  ASSERT_EQ(p->wait(5s), 5);
  ASSERT_TRUE(eventually([&] { return calls > 0; }, 1s));
  EXPECT_EQ(status, 5);
  EXPECT_TRUE(other_thread);
  // Registered after the exit: called at once, here.
  int late = -1;
  p->onExit([&](int s) { late = s; });
  EXPECT_EQ(late, 5);
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(p->signalGroup(SIGTERM)); // the group is gone
}

TEST_F(ProcessTest, KillLeftoversKillsRecordedLiveGroupsOnly) {
  const std::string state = (dir_ / "groups").string();
  auto recorded_spec = shell("sleep 300");
  recorded_spec.state_file = state;
  auto recorded = start(std::move(recorded_spec));
  ASSERT_TRUE(recorded);
  EXPECT_NE(readFile(state).find(std::to_string(recorded->pid()) + " "), std::string::npos);

  // A pid whose start time differs is someone else (a recycled pid): left alone.
  auto stranger = start(shell("sleep 300"));
  ASSERT_TRUE(stranger);
  const auto start_time = readProcStat(stranger->pid())->start_time;
  std::ofstream(state, std::ios::app) << stranger->pid() << ' ' << start_time + 1 << '\n';

  EXPECT_EQ(Process::killLeftovers(state), 1);
  EXPECT_EQ(recorded->wait(2s), 128 + SIGKILL);
  EXPECT_TRUE(stranger->running());
  EXPECT_FALSE(fs::exists(state));
  stranger->stop(2s);

  // A process forgets itself when it exits.
  auto brief_spec = shell("exit 0");
  brief_spec.state_file = state;
  auto brief = start(std::move(brief_spec));
  ASSERT_TRUE(brief);
  ASSERT_EQ(brief->wait(5s), 0);
  EXPECT_EQ(readFile(state).find(std::to_string(brief->pid()) + " "), std::string::npos);
}

} // namespace
} // namespace forge::manager
