// Backups on real databases: SQLite always, PostgreSQL when FORGE_TEST_POSTGRES_URL is set
// (tests named .../postgresql). Create, list, verify (and a damaged backup failing it), restore
// with its safety backup, verify-restore, retention, and the manifest.
#include "ops/backup.h"
#include "ops/files.h"
#include "ops/utc_time.h"
#include "storage/backends.h"
#include "storage/migrations.h"

#include <sys/stat.h>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace forge::test {
namespace {

namespace fs = std::filesystem;

int modeOf(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
}

class BackupTest : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    data_dir_ = makeTempDir() + "/data";
    fs::create_directories(data_dir_);
    if (GetParam() == "postgresql") {
      db_ = openTestDatabase("postgresql"); // wiped
      stack_ = {data_dir_, std::getenv(kPostgresUrlVariable)};
    } else {
      auto db = storage::openDatabase("", data_dir_);
      ASSERT_TRUE(db) << db.error().message;
      db_ = std::move(*db);
      stack_ = {data_dir_, ""};
    }
    ASSERT_TRUE(db_);
    ASSERT_TRUE(storage::migrate(*db_));
    {
      std::ofstream secrets(fs::path(data_dir_) / "secrets.json");
      secrets << R"({"jwt_secret":"a-secret-that-signs-tokens-0123456789abcdef"})";
    }
    fs::permissions(fs::path(data_dir_) / "secrets.json",
                    fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
    addGateways(0, 3);
    addUser("ops@example.com");
    backups_ = makeTempDir() + "/backups";
  }

  void addGateways(int from, int to) {
    for (int i = from; i < to; ++i) {
      auto added = db_->query("INSERT INTO gateways (id, name, slug, transport, created_at, "
                              "updated_at) VALUES (?, ?, ?, 'stdio', ?, ?)",
                              {fmt::format("g{}", i), fmt::format("gateway-{}", i),
                               fmt::format("gateway-{}", i), std::string("2026-01-01T00:00:00Z"),
                               std::string("2026-01-01T00:00:00Z")});
      ASSERT_TRUE(added) << added.error().message;
    }
  }
  void addUser(const std::string& email) {
    auto added = db_->query("INSERT INTO users (id, email, created_at, updated_at) VALUES (?, ?, "
                            "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
                            {email, email});
    ASSERT_TRUE(added) << added.error().message;
  }
  std::int64_t gatewayCount() {
    auto rows = db_->query("SELECT COUNT(*) FROM gateways");
    return rows ? rows->rows[0].integer(0) : -1;
  }
  fs::path databaseFile(const ops::Manifest& m) const {
    return fs::path(backups_) / m.id / (m.backend == "postgresql" ? "forge.dump" : "forge.db");
  }

  ops::BackupRepository repository() const { return ops::BackupRepository(backups_); }

  std::string data_dir_;
  std::string backups_;
  storage::DatabasePtr db_;
  ops::Stack stack_;
};

TEST_P(BackupTest, CreateWritesTheDatabaseSecretsAndAManifestWithChecksumsAndRowCounts) {
  std::vector<std::string> progress;
  auto manifest =
      repository().create(stack_, {"manual", [&](const std::string& m) { progress.push_back(m); }});
  ASSERT_TRUE(manifest) << manifest.error().message;
  EXPECT_EQ(manifest->backend, GetParam());
  EXPECT_EQ(manifest->schema_version, storage::migrations().back().version);
  EXPECT_EQ(manifest->tables.at("gateways"), 3);
  EXPECT_EQ(manifest->tables.at("users"), 1);
  EXPECT_TRUE(ops::parseUtc(manifest->created_at));
  EXPECT_FALSE(progress.empty());
  ASSERT_EQ(manifest->files.size(), 2u);
  std::uint64_t total = 0;
  for (const auto& file : manifest->files) {
    const fs::path path = fs::path(backups_) / manifest->id / file.name;
    auto sum = ops::sha256File(path);
    ASSERT_TRUE(sum);
    EXPECT_EQ(*sum, file.sha256) << file.name;
    EXPECT_EQ(ops::fileSize(path), file.size);
    total += file.size;
  }
  EXPECT_EQ(manifest->size, total);
  EXPECT_EQ(modeOf(fs::path(backups_) / manifest->id / "secrets.json"), 0600);
  EXPECT_EQ(modeOf(fs::path(backups_) / manifest->id), 0700);
  // Nothing but the backup and its manifest: no half-written directory, no -wal beside the copy.
  EXPECT_FALSE(fs::exists(fs::path(backups_) / (manifest->id + ".partial")));
  EXPECT_FALSE(fs::exists(databaseFile(*manifest).string() + "-wal"));
  // The manifest on disk says the same.
  const auto all = repository().list();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].id, manifest->id);
  EXPECT_EQ(all[0].files.size(), 2u);
  EXPECT_EQ(all[0].tables, manifest->tables);
}

TEST_P(BackupTest, TwoBackupsInOneSecondGetDifferentIdsAndListNewestFirst) {
  auto first = repository().create(stack_, {});
  auto second = repository().create(stack_, {});
  ASSERT_TRUE(first && second);
  EXPECT_NE(first->id, second->id);
  const auto all = repository().list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, second->id);
  auto latest = repository().find("latest");
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->id, second->id);
  EXPECT_FALSE(repository().find("no-such-backup"));
  EXPECT_FALSE(repository().find("../escape"));
}

TEST_P(BackupTest, VerifyPassesOnAWholeBackup) {
  auto manifest = repository().create(stack_, {});
  ASSERT_TRUE(manifest);
  auto report = repository().verify(manifest->id);
  ASSERT_TRUE(report) << report.error().message;
  for (const auto& check : report->checks)
    EXPECT_EQ(check.level, ops::Level::kOk) << check.name << ": " << check.detail;
  EXPECT_GE(report->checks.size(), 5u); // database, secrets checksums; integrity; schema; secrets
}

TEST_P(BackupTest, AFlippedByteFailsVerifyWithAChecksumMismatchAndIsNotRestored) {
  auto manifest = repository().create(stack_, {});
  ASSERT_TRUE(manifest);
  const fs::path file = databaseFile(*manifest);
  {
    std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
    io.seekg(static_cast<std::streamoff>(ops::fileSize(file) / 2));
    char byte = 0;
    io.read(&byte, 1);
    io.seekp(static_cast<std::streamoff>(ops::fileSize(file) / 2));
    byte = static_cast<char>(byte ^ 0x5a);
    io.write(&byte, 1);
  }
  auto report = repository().verify(manifest->id);
  ASSERT_TRUE(report);
  EXPECT_EQ(ops::worst(report->checks), ops::Level::kCritical);
  const std::string name = "checksum " + file.filename().string();
  bool found = false;
  for (const auto& check : report->checks) {
    if (check.name != name) continue;
    found = true;
    EXPECT_EQ(check.level, ops::Level::kCritical);
    EXPECT_NE(check.detail.find("sha256 mismatch"), std::string::npos) << check.detail;
    EXPECT_NE(check.detail.find("do not restore it"), std::string::npos) << check.detail;
  }
  EXPECT_TRUE(found);

  addGateways(3, 4);
  auto restored = repository().restore(manifest->id, stack_, true, {});
  ASSERT_FALSE(restored);
  EXPECT_NE(restored.error().message.find("fails verification"), std::string::npos);
  EXPECT_EQ(gatewayCount(), 4); // untouched
}

TEST_P(BackupTest, RestoreBringsBackTheBackupAfterASafetyBackupOfTheCurrentState) {
  auto manifest = repository().create(stack_, {});
  ASSERT_TRUE(manifest);
  addGateways(3, 7);
  ASSERT_EQ(gatewayCount(), 7);
  std::ofstream(fs::path(data_dir_) / "secrets.json", std::ios::trunc) << R"({"jwt_secret":"x"})";
  db_.reset(); // the gateway is stopped for a restore

  auto report = repository().restore(manifest->id, stack_, true, {});
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_TRUE(report->safety);
  EXPECT_EQ(report->safety->tables.at("gateways"), 7);
  EXPECT_EQ(report->safety->reason, "before restoring " + manifest->id);

  auto db = storage::openDatabase(stack_.database_url, data_dir_);
  ASSERT_TRUE(db);
  db_ = std::move(*db);
  EXPECT_EQ(gatewayCount(), 3);
  std::ifstream secrets(fs::path(data_dir_) / "secrets.json");
  std::string text((std::istreambuf_iterator<char>(secrets)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("a-secret-that-signs-tokens"), std::string::npos);
  EXPECT_EQ(modeOf(fs::path(data_dir_) / "secrets.json"), 0600);
  EXPECT_EQ(repository().list().size(), 2u);
}

TEST_P(BackupTest, VerifyRestoreRestoresIntoScratchAndComparesRowsPerTable) {
  auto manifest = repository().create(stack_, {});
  ASSERT_TRUE(manifest);
  addGateways(3, 5); // the live database moves on; the scratch copy must not
  auto report = repository().verifyRestore(manifest->id, stack_, {});
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(ops::worst(report->checks), ops::Level::kOk);
  EXPECT_EQ(report->tables.at("gateways"), 3);
  EXPECT_EQ(report->tables.at("users"), 1);
  bool compared = false;
  for (const auto& check : report->checks)
    compared = compared || check.name == "rows gateways";
  EXPECT_TRUE(compared);
  EXPECT_EQ(gatewayCount(), 5);
}

TEST_P(BackupTest, VerifyRestoreReportsRowsThatDoNotMatchTheManifest) {
  auto manifest = repository().create(stack_, {});
  ASSERT_TRUE(manifest);
  // A manifest that claims more rows than the copy holds.
  const fs::path path = fs::path(backups_) / manifest->id / "manifest.json";
  auto edited = *manifest;
  edited.tables["gateways"] = 42;
  std::ofstream(path, std::ios::trunc) << boost::json::serialize(ops::toJson(edited));
  auto report = repository().verifyRestore(manifest->id, stack_, {});
  ASSERT_TRUE(report);
  EXPECT_EQ(ops::worst(report->checks), ops::Level::kCritical);
  bool flagged = false;
  for (const auto& check : report->checks) {
    if (check.name == "rows gateways") {
      flagged = check.level == ops::Level::kCritical &&
                check.detail.find("3 rows, the manifest recorded 42") != std::string::npos;
    }
  }
  EXPECT_TRUE(flagged);
}

INSTANTIATE_TEST_SUITE_P(Backends, BackupTest, ::testing::ValuesIn(storageBackends()), backendName);

// ---- retention and manifest (backend-independent) -----------------------------------------

class RetentionTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = makeTempDir();
    auto db = storage::openDatabase("", dir_ + "/data");
    ASSERT_TRUE(db);
    ASSERT_TRUE(storage::migrate(**db));
  }
  ops::BackupRepository repository() const { return ops::BackupRepository(dir_ + "/backups"); }
  // Rewrites a backup's created_at `days` into the past.
  void age(const std::string& id, int days) {
    const fs::path path = fs::path(dir_) / "backups" / id / "manifest.json";
    auto manifest = repository().find(id);
    ASSERT_TRUE(manifest);
    manifest->created_at =
        ops::formatUtc(std::chrono::system_clock::now() - std::chrono::hours(24 * days));
    std::ofstream(path, std::ios::trunc) << boost::json::serialize(ops::toJson(*manifest));
  }
  std::string dir_;
};

TEST_F(RetentionTest, KeepLeavesTheNewestNAndDryRunRemovesNothing) {
  const ops::Stack stack{dir_ + "/data", ""};
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    auto m = repository().create(stack, {});
    ASSERT_TRUE(m);
    ids.push_back(m->id);
  }
  auto dry = repository().prune({2, std::nullopt}, true);
  ASSERT_TRUE(dry);
  EXPECT_EQ(dry->size(), 2u);
  EXPECT_EQ(repository().list().size(), 4u);

  auto removed = repository().prune({2, std::nullopt}, false);
  ASSERT_TRUE(removed);
  ASSERT_EQ(removed->size(), 2u);
  const auto left = repository().list();
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].id, ids[3]);
  EXPECT_EQ(left[1].id, ids[2]);
}

TEST_F(RetentionTest, MaxAgeRemovesOldBackupsButNeverTheNewest) {
  const ops::Stack stack{dir_ + "/data", ""};
  auto old = repository().create(stack, {});
  auto recent = repository().create(stack, {});
  ASSERT_TRUE(old && recent);
  age(old->id, 40);
  auto removed = repository().prune({std::nullopt, 30}, false);
  ASSERT_TRUE(removed);
  ASSERT_EQ(removed->size(), 1u);
  EXPECT_EQ((*removed)[0].id, old->id);
  age(recent->id, 400); // the only one left: kept however old
  removed = repository().prune({std::nullopt, 30}, false);
  ASSERT_TRUE(removed);
  EXPECT_TRUE(removed->empty());
  EXPECT_EQ(repository().list().size(), 1u);
}

TEST_F(RetentionTest, AnInterruptedBackupIsNotListed) {
  fs::create_directories(fs::path(dir_) / "backups" / "20260101T000000Z.partial");
  fs::create_directories(fs::path(dir_) / "backups" / "not-a-backup");
  EXPECT_TRUE(repository().list().empty());
}

TEST(ManifestTest, RoundTripsThroughJsonAndRefusesIncompleteOnes) {
  ops::Manifest m;
  m.id = "20261204T170324Z";
  m.forge_version = "0.1.0";
  m.schema_version = 3;
  m.backend = "sqlite";
  m.created_at = "2026-12-04T17:03:24.512Z";
  m.source = "/var/lib/forge/forge.db";
  m.reason = "manual";
  m.size = 12345;
  m.duration_ms = 17;
  m.files = {{"forge.db", 12000, "ab"}, {"secrets.json", 345, "cd"}};
  m.tables = {{"gateways", 3}, {"users", 1}};
  auto back = ops::manifestFromJson(ops::toJson(m));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->id, m.id);
  EXPECT_EQ(back->schema_version, 3);
  EXPECT_EQ(back->size, 12345u);
  EXPECT_EQ(back->duration_ms, 17);
  ASSERT_EQ(back->files.size(), 2u);
  EXPECT_EQ(back->files[1].sha256, "cd");
  EXPECT_EQ(back->tables, m.tables);
  EXPECT_FALSE(ops::manifestFromJson(boost::json::parse(R"({"id":"x"})")));
  EXPECT_FALSE(ops::manifestFromJson(boost::json::parse(R"([1,2])")));
}

} // namespace
} // namespace forge::test
