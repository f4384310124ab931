// Database maintenance on a real database (SQLite; PostgreSQL with FORGE_TEST_POSTGRES_URL):
// status, stats, vacuum and pruning of old records; and the backup schedule's cron line.
#include "ops/db_maintenance.h"
#include "ops/schedule.h"
#include "ops/utc_time.h"
#include "storage/backends.h"
#include "storage/migrations.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace forge::test {
namespace {

class DbMaintenanceTest : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    db_ = openTestDatabase(GetParam());
    ASSERT_TRUE(db_);
    ASSERT_TRUE(storage::migrate(*db_));
  }
  void addAudit(const std::string& id, const std::string& at) {
    ASSERT_TRUE(db_->query("INSERT INTO audit_log (id, at, actor, action, result) VALUES (?, ?, "
                           "'admin', 'gateway.create', 'ok')",
                           {id, at}));
  }
  void addMetric(const std::string& hour) {
    ASSERT_TRUE(db_->query("INSERT INTO call_metrics (hour, gateway, tool, calls) VALUES (?, "
                           "'g', 't', 1)",
                           {hour}));
  }
  storage::DatabasePtr db_;
};

TEST_P(DbMaintenanceTest, StatusReportsTheSchemaAndNoPendingMigrations) {
  auto status = ops::databaseStatus(*db_);
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(status->backend, GetParam());
  EXPECT_EQ(status->schema_version, storage::migrations().back().version);
  EXPECT_EQ(status->newest_schema, status->schema_version);
  EXPECT_TRUE(status->pending.empty());
  EXPECT_GT(status->size_bytes, 0u);
  EXPECT_FALSE(status->server_version.empty());
}

TEST_P(DbMaintenanceTest, StatsCountRowsPerTable) {
  addAudit("a1", "2026-01-01T00:00:00Z");
  addAudit("a2", "2026-01-02T00:00:00Z");
  auto tables = ops::tableStats(*db_);
  ASSERT_TRUE(tables) << tables.error().message;
  bool seen = false;
  for (const auto& t : *tables) {
    if (t.name == "audit_log") {
      seen = true;
      EXPECT_EQ(t.rows, 2);
      if (GetParam() == "postgresql") {
        EXPECT_FALSE(t.indexes.empty());
      }
    }
  }
  EXPECT_TRUE(seen);
}

TEST_P(DbMaintenanceTest, PruneRemovesOnlyRecordsOlderThanTheCutoff) {
  const auto now = std::chrono::system_clock::now();
  const std::string old_time = ops::formatUtcSeconds(now - std::chrono::hours(24 * 100));
  const std::string new_time = ops::formatUtcSeconds(now - std::chrono::hours(2));
  addAudit("old1", old_time);
  addAudit("old2", ops::formatUtc(now - std::chrono::hours(24 * 95)));
  addAudit("new", new_time);
  addMetric(old_time.substr(0, 13) + ":00:00Z");
  addMetric(new_time.substr(0, 13) + ":00:00Z");
  const std::string cutoff = ops::formatUtcSeconds(now - std::chrono::hours(24 * 90));

  auto dry = ops::pruneRecords(*db_, cutoff, true);
  ASSERT_TRUE(dry) << dry.error().message;
  ASSERT_EQ(dry->size(), 2u);
  EXPECT_EQ((*dry)[0].table, "call_metrics");
  EXPECT_EQ((*dry)[0].rows, 1);
  EXPECT_EQ((*dry)[1].rows, 2);
  auto counts = ops::tableCounts(*db_);
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->at("audit_log"), 3);

  auto pruned = ops::pruneRecords(*db_, cutoff, false);
  ASSERT_TRUE(pruned);
  EXPECT_EQ((*pruned)[0].rows, 1);
  EXPECT_EQ((*pruned)[1].rows, 2);
  counts = ops::tableCounts(*db_);
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->at("audit_log"), 1);
  EXPECT_EQ(counts->at("call_metrics"), 1);
}

TEST_P(DbMaintenanceTest, VacuumRunsAndReportsSizes) {
  for (int i = 0; i < 200; ++i)
    addAudit(fmt::format("a{}", i), "2026-01-01T00:00:00Z");
  ASSERT_TRUE(db_->query("DELETE FROM audit_log"));
  auto report = ops::vacuumDatabase(*db_);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_GT(report->size_before, 0u);
  EXPECT_GT(report->size_after, 0u);
  if (GetParam() == "sqlite") {
    EXPECT_LE(report->size_after, report->size_before);
    EXPECT_EQ(report->wal_after, 0u); // checkpointed and truncated
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, DbMaintenanceTest, ::testing::ValuesIn(storageBackends()),
                         backendName);

TEST(ScheduleTest, CronLinesForIntervalsCronCanExpress) {
  ops::ScheduleSpec spec;
  spec.forge_binary = "/usr/bin/forge";
  spec.data_dir = "/var/lib/forge";
  spec.backup_dir = "/var/lib/forge/backups";
  spec.keep = 28;
  spec.every = std::chrono::hours(6);
  auto line = ops::cronLine(spec);
  ASSERT_TRUE(line);
  EXPECT_EQ(*line, "0 */6 * * * /usr/bin/forge backup create --reason scheduled --data-dir "
                   "/var/lib/forge --backup-dir /var/lib/forge/backups --keep 28");
  spec.every = std::chrono::minutes(15);
  EXPECT_EQ(ops::cronLine(spec)->substr(0, 13), "*/15 * * * * ");
  spec.every = std::chrono::hours(24);
  EXPECT_EQ(ops::cronLine(spec)->substr(0, 10), "0 3 * * * ");
  spec.every = std::chrono::hours(7); // 24 is not a multiple of 7
  EXPECT_FALSE(ops::cronLine(spec));
  spec.every = std::chrono::hours(6);
  spec.env_file = "/var/lib/forge/backup-schedule.env";
  EXPECT_NE(ops::cronLine(spec)->find("sh -c 'set -a; . /var/lib/forge/backup-schedule.env; exec "),
            std::string::npos);
}

TEST(ScheduleTest, SystemdUnitsRunTheBackupEveryInterval) {
  ops::ScheduleSpec spec;
  spec.forge_binary = "/usr/bin/forge";
  spec.data_dir = "/srv/forge data";
  spec.backup_dir = "/srv/backups";
  spec.every = std::chrono::hours(6);
  const auto units = ops::systemdUnits(spec);
  EXPECT_NE(units.timer.find("OnUnitActiveSec=21600s"), std::string::npos);
  EXPECT_NE(units.service.find("ExecStart=/usr/bin/forge backup create"), std::string::npos);
  EXPECT_NE(units.service.find("'/srv/forge data'"), std::string::npos);
  EXPECT_EQ(units.service.find("EnvironmentFile"), std::string::npos);
}

// Installing the timer, for a user manager. systemd cannot run in a test, so a stand-in
// `systemctl` first on PATH records how it is called (and fails when told to).
TEST(ScheduleTest, InstallingTheTimerWritesUnitsReloadsSystemdAndEnablesIt) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / fmt::format("forge-schedule-{}", ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir / "bin");
  const fs::path calls = dir / "systemctl-calls";
  {
    std::ofstream stand_in(dir / "bin" / "systemctl");
    stand_in << "#!/bin/sh\necho \"$*\" >> '" << calls.string() << "'\n"
             << "[ -e '" << (dir / "fail").string()
             << "' ] && { echo 'Failed to enable unit: Access denied' >&2; exit 1; }\nexit 0\n";
  }
  fs::permissions(dir / "bin" / "systemctl", fs::perms::owner_all);
  const std::string path = (dir / "bin").string() + ":" + std::getenv("PATH");
  ::setenv("PATH", path.c_str(), 1);
  ::setenv("XDG_CONFIG_HOME", (dir / "config").c_str(), 1);

  ops::ScheduleSpec spec;
  spec.forge_binary = "/usr/bin/forge";
  spec.data_dir = "/srv/forge";
  spec.backup_dir = "/srv/forge/backups";
  spec.every = std::chrono::hours(6);
  spec.keep = 28;
  auto written = ops::installSystemdTimer(spec, ops::SystemdScope::kUser);
  ASSERT_TRUE(written) << written.error().message;
  const fs::path units = dir / "config" / "systemd" / "user";
  EXPECT_EQ(*written, (std::vector<std::string>{(units / "forge-backup.service").string(),
                                                (units / "forge-backup.timer").string()}));
  auto read = [](const fs::path& file) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  EXPECT_EQ(read(units / "forge-backup.timer"), ops::systemdUnits(spec).timer);
  EXPECT_NE(read(units / "forge-backup.service").find("--keep 28"), std::string::npos);
  EXPECT_EQ(read(calls), "--user daemon-reload\n--user enable --now forge-backup.timer\n");
  // What is installed is listed (systemd itself not answering here).
  const auto installed = ops::installedSchedules();
  ASSERT_FALSE(installed.empty());
  EXPECT_NE(installed.front().find("forge-backup.timer every 21600s"), std::string::npos)
      << installed.front();

  // systemctl refusing is an error that carries its message.
  std::ofstream(dir / "fail") << "";
  auto refused = ops::installSystemdTimer(spec, ops::SystemdScope::kUser);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("Access denied"), std::string::npos)
      << refused.error().message;
  // No systemd at all: nothing to install into.
  EXPECT_FALSE(ops::installSystemdTimer(spec, ops::SystemdScope::kNone));
  fs::remove_all(dir);
}

} // namespace
} // namespace forge::test
