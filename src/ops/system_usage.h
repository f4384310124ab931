// What the machine uses now, read from /proc and the file system (Linux): CPU over a short
// interval, memory, and the disk holding a directory. A figure that cannot be read is nullopt.
#pragma once

#include "core/error.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace forge::ops {

// The aggregate "cpu" line of /proc/stat, in clock ticks.
struct CpuTimes {
  std::uint64_t busy = 0;
  std::uint64_t total = 0;
};

std::optional<CpuTimes> readCpuTimes(const std::string& proc_stat = "/proc/stat");
// Parses the text of /proc/stat.
std::optional<CpuTimes> parseCpuTimes(const std::string& text);
// Busy share of the time between two readings, in percent (0 when no time passed).
double cpuPercent(const CpuTimes& before, const CpuTimes& after);

// Memory in use, (MemTotal - MemAvailable) / MemTotal, in percent.
std::optional<double> memoryPercent(const std::string& proc_meminfo = "/proc/meminfo");
std::optional<double> parseMemoryPercent(const std::string& text);

// The file system holding `path`: its size, the space available to unprivileged users, and the
// space in use (blocks not free; reserved blocks are neither used nor available).
struct DiskUsage {
  std::uint64_t total_bytes = 0;
  std::uint64_t free_bytes = 0; // available to unprivileged users
  std::uint64_t used_bytes = 0;
  // (total - available) / total, in percent.
  double usedPercent() const {
    return total_bytes ? 100.0 * static_cast<double>(total_bytes - free_bytes) /
                             static_cast<double>(total_bytes)
                       : 0;
  }
};
core::Result<DiskUsage> diskUsage(const std::string& path);

// Space used on the file system holding `path`, as df counts it: used / (used + available to
// unprivileged users), in percent.
std::optional<double> diskPercent(const std::string& path);

int onlineCpus();

// One sampling of the machine: CPU is measured over `interval`. `gateway_cpu_seconds`, when
// given, reads the CPU time the gateway's processes have used so far (from the manager); it is
// read at both ends of the interval and turned into a share of the whole machine.
struct SystemReadings {
  std::optional<double> cpu;         // percent of every CPU
  std::optional<double> gateway_cpu; // percent of every CPU, the gateway's processes only
  std::optional<double> memory;
  std::optional<double> disk;
  int cpus = 1;
};

SystemReadings sampleSystem(const std::string& disk_path, std::chrono::milliseconds interval,
                            const std::function<std::optional<double>()>& gateway_cpu_seconds);

} // namespace forge::ops
