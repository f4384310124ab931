// Figures from /proc: what a process group uses (CPU time, resident memory, processes) and what
// the machine has (CPUs, load, memory, disk). Linux only; a figure that cannot be read is 0.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace forge::manager {

// The fields of /proc/<pid>/stat that supervision needs (times in clock ticks).
struct ProcStat {
  pid_t pid = 0;
  char state = '?'; // 'R', 'S', 'Z' (zombie: dead, not yet reaped), ...
  pid_t ppid = 0;
  pid_t pgrp = 0;
  std::uint64_t utime = 0, stime = 0;   // the process's own CPU time
  std::uint64_t cutime = 0, cstime = 0; // its children's, once it has reaped them
  std::uint64_t start_time = 0;         // field 22: when it started, in ticks since boot
};

// /proc/<pid>/stat, or nothing when the process does not exist (or cannot be read).
std::optional<ProcStat> readProcStat(pid_t pid);

// The live (not zombie) processes whose process group is `pgid`.
std::vector<pid_t> groupProcesses(pid_t pgid);

// What one process group uses.
struct ProcStats {
  int processes = 0;           // live processes in the group
  double cpu_seconds = 0;      // user + system, reaped children's included (see sampleGroup)
  std::uint64_t rss_bytes = 0; // resident memory, summed (shared pages count once per process)
  std::chrono::steady_clock::time_point taken = std::chrono::steady_clock::now();
};

// Sums the group's processes from /proc/*/stat and /proc/<pid>/statm. CPU time includes what
// each process's reaped children used (cutime + cstime), so that short-lived commands a service
// runs are counted once they end. `exclude` leaves one process out: a manager::Process's guard
// (its group leader, Process::pid()) is a fork of the supervisor and its resident set mirrors the
// supervisor's memory (shared copy-on-write), which is not the service's.
ProcStats sampleGroup(pid_t pgid, pid_t exclude = 0);
inline ProcStats sample(pid_t pgid, pid_t exclude = 0) { return sampleGroup(pgid, exclude); }

// What the machine has.
struct SystemStats {
  int cpus = 0; // online CPUs
  double load1 = 0, load5 = 0, load15 = 0;
  std::uint64_t memory_total = 0;     // bytes (MemTotal)
  std::uint64_t memory_available = 0; // bytes (MemAvailable)
  std::uint64_t disk_total = 0;       // bytes of the file system holding disk_path
  std::uint64_t disk_free = 0;        // bytes available to unprivileged users there
};

SystemStats systemSample(const std::string& disk_path = "/");

// Turns successive samples of one group into a CPU percentage (100 = one core busy; a group can
// use more than one core). A drop in CPU time (a process of the group ended before its parent
// reaped it) counts as no use rather than negative use.
class CpuMeter {
public:
  // The percentage between two samples, 0 when no time passed.
  static double percent(const ProcStats& before, const ProcStats& after);
  // The percentage since the previous call; nothing on the first.
  std::optional<double> update(const ProcStats& now);

private:
  std::optional<ProcStats> last_;
};

} // namespace forge::manager
