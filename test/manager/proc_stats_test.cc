#include "manager/proc_stats.h"

#include "manager/process.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <thread>

namespace forge::manager {
namespace {

using namespace std::chrono_literals;

TEST(ProcStatsTest, ReadsItsOwnStat) {
  const auto self = readProcStat(::getpid());
  ASSERT_TRUE(self);
  EXPECT_EQ(self->pgrp, ::getpgrp());
  EXPECT_EQ(self->ppid, ::getppid());
  EXPECT_GT(self->start_time, 0u);
  EXPECT_FALSE(readProcStat(0));
}

TEST(ProcStatsTest, BusyGroupHasResidentMemoryAndRisingCpuTime) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "while :; do :; done"};
  auto process = Process::start(spec);
  ASSERT_TRUE(process) << process.error().message;
  auto& p = **process;
  const auto whole = sampleGroup(p.pid());
  EXPECT_EQ(whole.processes, 2); // the guard and the shell
  const auto first = sampleGroup(p.pid(), p.pid());
  EXPECT_EQ(first.processes, 1);
  EXPECT_GT(first.rss_bytes, 0u);
  CpuMeter meter;
  EXPECT_FALSE(meter.update(first));
  std::this_thread::sleep_for(500ms);
  const auto second = sampleGroup(p.pid(), p.pid());
  EXPECT_GT(second.cpu_seconds, first.cpu_seconds);
  const auto percent = meter.update(second);
  ASSERT_TRUE(percent);
  EXPECT_GT(*percent, 1.0);
  EXPECT_LT(*percent, 100.0 * std::thread::hardware_concurrency() + 10);
  p.stop(2s);
  EXPECT_EQ(sampleGroup(p.pid()).processes, 0);
}

TEST(ProcStatsTest, CpuMeterTurnsTwoSamplesIntoAPercentage) {
  ProcStats before, after;
  before.cpu_seconds = 1.0;
  after.cpu_seconds = 1.5;
  after.taken = before.taken + 1s;
  EXPECT_DOUBLE_EQ(CpuMeter::percent(before, after), 50.0);
  after.cpu_seconds = 0.5; // a process left the group: no negative use
  EXPECT_DOUBLE_EQ(CpuMeter::percent(before, after), 0.0);
  EXPECT_DOUBLE_EQ(CpuMeter::percent(before, before), 0.0);
}

TEST(ProcStatsTest, SystemSampleDescribesTheMachine) {
  const auto s = systemSample("/");
  EXPECT_GE(s.cpus, 1);
  EXPECT_GE(s.load1, 0.0);
  EXPECT_GT(s.memory_total, 0u);
  EXPECT_GT(s.memory_available, 0u);
  EXPECT_LE(s.memory_available, s.memory_total);
  EXPECT_GT(s.disk_total, 0u);
  EXPECT_LE(s.disk_free, s.disk_total);
}

} // namespace
} // namespace forge::manager
