#include "ops/system_usage.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace forge::ops {
namespace {

std::optional<std::string> readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

} // namespace

std::optional<CpuTimes> parseCpuTimes(const std::string& text) {
  std::istringstream in(text);
  std::string label;
  if (!(in >> label) || label != "cpu") return std::nullopt;
  // user nice system idle iowait irq softirq steal (guest times are already in user and nice)
  std::uint64_t field[8] = {};
  int read = 0;
  while (read < 8 && in >> field[read])
    ++read;
  if (read < 4) return std::nullopt;
  CpuTimes times;
  for (int i = 0; i < read; ++i)
    times.total += field[i];
  times.busy = times.total - field[3] - (read > 4 ? field[4] : 0); // idle and iowait are not busy
  return times;
}

std::optional<CpuTimes> readCpuTimes(const std::string& proc_stat) {
  auto text = readFile(proc_stat);
  if (!text) return std::nullopt;
  return parseCpuTimes(*text);
}

double cpuPercent(const CpuTimes& before, const CpuTimes& after) {
  if (after.total <= before.total || after.busy < before.busy) return 0;
  return 100.0 * static_cast<double>(after.busy - before.busy) /
         static_cast<double>(after.total - before.total);
}

std::optional<double> parseMemoryPercent(const std::string& text) {
  std::istringstream in(text);
  std::string key;
  std::uint64_t value = 0;
  std::optional<std::uint64_t> total, available;
  std::string unit;
  while (in >> key >> value) {
    std::getline(in, unit);
    if (key == "MemTotal:") total = value;
    if (key == "MemAvailable:") available = value;
  }
  if (!total || !available || *total == 0) return std::nullopt;
  return 100.0 * static_cast<double>(*total - std::min(*total, *available)) /
         static_cast<double>(*total);
}

std::optional<double> memoryPercent(const std::string& proc_meminfo) {
  auto text = readFile(proc_meminfo);
  if (!text) return std::nullopt;
  return parseMemoryPercent(*text);
}

core::Result<DiskUsage> diskUsage(const std::string& path) {
  struct statvfs fs {};
  if (::statvfs(path.c_str(), &fs) != 0) {
    return core::Error{core::Errc::kNotFound, fmt::format("cannot stat file system of {}: {}", path,
                                                          std::strerror(errno))};
  }
  DiskUsage usage;
  usage.total_bytes = static_cast<std::uint64_t>(fs.f_blocks) * fs.f_frsize;
  usage.free_bytes = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
  usage.used_bytes = static_cast<std::uint64_t>(fs.f_blocks - fs.f_bfree) * fs.f_frsize;
  return usage;
}

std::optional<double> diskPercent(const std::string& path) {
  auto usage = diskUsage(path);
  if (!usage) return std::nullopt;
  const double used = static_cast<double>(usage->used_bytes);
  const double usable = used + static_cast<double>(usage->free_bytes);
  if (usable <= 0) return std::nullopt;
  return 100.0 * used / usable;
}

int onlineCpus() {
  const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

SystemReadings sampleSystem(const std::string& disk_path, std::chrono::milliseconds interval,
                            const std::function<std::optional<double>()>& gateway_cpu_seconds) {
  SystemReadings out;
  out.cpus = onlineCpus();
  const auto cpu_before = readCpuTimes();
  const auto gateway_before = gateway_cpu_seconds ? gateway_cpu_seconds() : std::nullopt;
  const auto started = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(interval);
  const auto cpu_after = readCpuTimes();
  const auto gateway_after = gateway_cpu_seconds ? gateway_cpu_seconds() : std::nullopt;
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;

  if (cpu_before && cpu_after) out.cpu = cpuPercent(*cpu_before, *cpu_after);
  if (gateway_before && gateway_after && elapsed.count() > 0) {
    // A restarted replica's time starts again from zero: no use rather than negative use.
    const double used = std::max(0.0, *gateway_after - *gateway_before);
    out.gateway_cpu = 100.0 * used / (elapsed.count() * out.cpus);
  }
  out.memory = memoryPercent();
  out.disk = diskPercent(disk_path);
  return out;
}

} // namespace forge::ops
