#include "manager/proc_stats.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace forge::manager {
namespace {

// A small /proc file in one read; empty when it cannot be read.
std::string readSmallFile(const char* path) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string out;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

// Every numeric entry of /proc: the pids of all processes.
std::vector<pid_t> allPids() {
  std::vector<pid_t> pids;
  DIR* dir = ::opendir("/proc");
  if (!dir) return pids;
  while (const dirent* entry = ::readdir(dir)) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (pid > 0 && end && *end == '\0') pids.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(dir);
  return pids;
}

std::uint64_t residentBytes(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/statm", static_cast<int>(pid));
  unsigned long long size = 0, resident = 0;
  if (std::sscanf(readSmallFile(path).c_str(), "%llu %llu", &size, &resident) != 2) return 0;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

double ticksToSeconds(std::uint64_t ticks) {
  static const double per_second = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return static_cast<double>(ticks) / per_second;
}

} // namespace

std::optional<ProcStat> readProcStat(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  const std::string text = readSmallFile(path);
  // The command name (field 2) is in parentheses and may itself hold spaces and parentheses:
  // the fields that follow start after the last ')'.
  const auto close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream in(text.substr(close + 1));
  ProcStat s;
  s.pid = pid;
  std::uint64_t skip = 0;
  in >> s.state >> s.ppid >> s.pgrp;
  for (int field = 6; field <= 13; ++field) // session .. cmajflt
    in >> skip;
  in >> s.utime >> s.stime >> s.cutime >> s.cstime;
  for (int field = 18; field <= 21; ++field) // priority .. itrealvalue
    in >> skip;
  in >> s.start_time;
  if (!in) return std::nullopt;
  return s;
}

std::vector<pid_t> groupProcesses(pid_t pgid) {
  std::vector<pid_t> members;
  if (pgid <= 0) return members;
  for (const pid_t pid : allPids()) {
    const auto s = readProcStat(pid);
    if (s && s->pgrp == pgid && s->state != 'Z') members.push_back(pid);
  }
  return members;
}

ProcStats sampleGroup(pid_t pgid, pid_t exclude) {
  ProcStats out;
  if (pgid <= 0) return out;
  std::uint64_t ticks = 0;
  for (const pid_t pid : allPids()) {
    if (pid == exclude) continue;
    const auto s = readProcStat(pid);
    if (!s || s->pgrp != pgid) continue;
    ticks += s->utime + s->stime + s->cutime + s->cstime;
    if (s->state == 'Z') continue;
    ++out.processes;
    out.rss_bytes += residentBytes(pid);
  }
  out.cpu_seconds = ticksToSeconds(ticks);
  out.taken = std::chrono::steady_clock::now();
  return out;
}

SystemStats systemSample(const std::string& disk_path) {
  SystemStats out;
  out.cpus = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  std::sscanf(readSmallFile("/proc/loadavg").c_str(), "%lf %lf %lf", &out.load1, &out.load5,
              &out.load15);
  std::istringstream meminfo(readSmallFile("/proc/meminfo"));
  std::string key;
  std::uint64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib) {
    if (key == "MemTotal:") out.memory_total = kib * 1024;
    if (key == "MemAvailable:") out.memory_available = kib * 1024;
    std::getline(meminfo, unit); // " kB"
  }
  struct statvfs fs {};
  if (::statvfs(disk_path.c_str(), &fs) == 0) {
    out.disk_total = static_cast<std::uint64_t>(fs.f_blocks) * fs.f_frsize;
    out.disk_free = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
  }
  return out;
}

double CpuMeter::percent(const ProcStats& before, const ProcStats& after) {
  const double wall = std::chrono::duration<double>(after.taken - before.taken).count();
  if (wall <= 0) return 0;
  const double used = after.cpu_seconds - before.cpu_seconds;
  return used > 0 ? 100.0 * used / wall : 0;
}

std::optional<double> CpuMeter::update(const ProcStats& now) {
  std::optional<double> out;
  if (last_) out = percent(*last_, now);
  last_ = now;
  return out;
}

} // namespace forge::manager
