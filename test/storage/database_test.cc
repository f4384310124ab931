#include "storage/database.h"

#include "storage/backends.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <limits>
#include <thread>

namespace forge::storage {
namespace {

using core::Errc;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

unsigned modeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 0777U;
}

// Runs a statement that must succeed.
Rows run(Database& db, std::string_view sql, const std::vector<Value>& params = {}) {
  auto result = db.query(sql, params);
  EXPECT_TRUE(result.ok()) << sql << ": " << (result.ok() ? "" : result.error().message);
  return result.ok() ? std::move(*result) : Rows{};
}

std::int64_t countRows(Database& db, const std::string& table) {
  Rows rows = run(db, "SELECT COUNT(*) FROM " + table);
  return rows.rows.empty() ? -1 : rows.rows[0].integer(0);
}

// Every test runs once per backend: .../sqlite, and .../postgresql when
// FORGE_TEST_POSTGRES_URL is set.
class DatabaseTest : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    db_ = test::openTestDatabase(GetParam());
    ASSERT_NE(db_, nullptr);
  }

  Database& db() { return *db_; }

  DatabasePtr db_;
};

INSTANTIATE_TEST_SUITE_P(Backends, DatabaseTest, ::testing::ValuesIn(test::storageBackends()),
                         test::backendName);

TEST_P(DatabaseTest, NamesItsBackend) {
  EXPECT_EQ(std::string(db().backend()), GetParam());
  EXPECT_FALSE(db().describe().empty());
}

TEST_P(DatabaseTest, RoundTripsEveryValueType) {
  run(db(), "CREATE TABLE items (id BIGINT PRIMARY KEY, i BIGINT, r DOUBLE PRECISION, s TEXT, "
            "n TEXT)");
  const std::string unicode = "h\xC3\xA9llo \xE2\x9C\x93 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x99\x82 "
                              "'single' \"double\" back\\slash\ttab\nnewline";
  std::string big(1 << 20, ' ');
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>('a' + i % 26);

  const std::string insert = "INSERT INTO items (id, i, r, s, n) VALUES (?, ?, ?, ?, ?)";
  const std::int64_t max = std::numeric_limits<std::int64_t>::max();
  const std::int64_t min = std::numeric_limits<std::int64_t>::min();
  run(db(), insert, {std::int64_t{1}, max, 3.25, std::string("plain"), std::monostate{}});
  run(db(), insert, {std::int64_t{2}, min, -1.5e300, unicode, std::monostate{}});
  run(db(), insert, {std::int64_t{3}, std::int64_t{0}, 0.1, std::string(), std::monostate{}});
  run(db(), insert, {std::int64_t{4}, std::int64_t{-7}, 1.0 / 3.0, big, std::monostate{}});
  run(db(), insert,
      {std::int64_t{5}, std::monostate{}, std::monostate{}, std::monostate{}, std::monostate{}});

  Rows rows = run(db(), "SELECT id, i, r, s, n FROM items ORDER BY id");
  EXPECT_EQ(rows.columns, (std::vector<std::string>{"id", "i", "r", "s", "n"}));
  ASSERT_EQ(rows.rows.size(), 5U);

  const std::vector<Value> expected[] = {
      {std::int64_t{1}, max, 3.25, std::string("plain"), std::monostate{}},
      {std::int64_t{2}, min, -1.5e300, unicode, std::monostate{}},
      {std::int64_t{3}, std::int64_t{0}, 0.1, std::string(), std::monostate{}},
      {std::int64_t{4}, std::int64_t{-7}, 1.0 / 3.0, big, std::monostate{}},
      {std::int64_t{5}, std::monostate{}, std::monostate{}, std::monostate{}, std::monostate{}},
  };
  for (std::size_t r = 0; r < 5; ++r) {
    ASSERT_EQ(rows.rows[r].values.size(), 5U);
    for (std::size_t c = 0; c < 5; ++c) {
      // Same alternative (integer / real / text / NULL) and the same value, exactly.
      EXPECT_EQ(rows.rows[r].values[c].index(), expected[r][c].index())
          << "row " << r << " column " << rows.columns[c];
      EXPECT_TRUE(rows.rows[r].values[c] == expected[r][c])
          << "row " << r << " column " << rows.columns[c];
    }
  }
  // The empty string is not NULL.
  EXPECT_FALSE(rows.rows[2].isNull(3));
  EXPECT_TRUE(rows.rows[2].isNull(4));
  EXPECT_EQ(rows.rows[3].text(3).size(), std::size_t{1} << 20);
  EXPECT_EQ(rows.affected, 0);
}

TEST_P(DatabaseTest, BindsPlaceholdersButNotQuestionMarksInLiteralsOrComments) {
  run(db(), "CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT)");
  run(db(), "INSERT INTO notes (id, body) VALUES (?, 'what?')", {std::int64_t{1}});
  run(db(), "INSERT INTO notes (id, body) VALUES (?, ?)",
      {std::int64_t{2}, std::string("it's ? here")});
  run(db(), "INSERT INTO notes (id, body) VALUES (?, 'it''s ? quoted')", {std::int64_t{3}});

  Rows rows = run(db(),
                  "SELECT id, body, 'a ''?'' b' AS lit FROM notes /* which? */ "
                  "WHERE body = 'what?' OR id = ? -- or this one?\n"
                  "ORDER BY id",
                  {std::int64_t{2}});
  ASSERT_EQ(rows.rows.size(), 2U);
  EXPECT_EQ(rows.rows[0].integer(0), 1);
  EXPECT_EQ(rows.rows[0].text(1), "what?");
  EXPECT_EQ(rows.rows[0].text(2), "a '?' b");
  EXPECT_EQ(rows.rows[1].integer(0), 2);
  EXPECT_EQ(rows.rows[1].text(1), "it's ? here");

  rows = run(db(), "SELECT body FROM notes WHERE id = ?", {std::int64_t{3}});
  ASSERT_EQ(rows.rows.size(), 1U);
  EXPECT_EQ(rows.rows[0].text(0), "it's ? quoted");

  // A placeholder whose type the statement does not tell needs a CAST (PostgreSQL).
  rows = run(db(), "SELECT COUNT(*) FROM notes WHERE (CAST(? AS TEXT) IS NULL OR body = ?)",
             {std::monostate{}, std::monostate{}});
  ASSERT_EQ(rows.rows.size(), 1U);
  EXPECT_EQ(rows.rows[0].integer(0), 3);
  rows = run(db(), "SELECT COUNT(*) FROM notes WHERE (CAST(? AS TEXT) IS NULL OR body = ?)",
             {std::string("what?"), std::string("what?")});
  ASSERT_EQ(rows.rows.size(), 1U);
  EXPECT_EQ(rows.rows[0].integer(0), 1);

  // Too few or too many values is a bug, reported before anything runs.
  auto too_few = db().query("SELECT body FROM notes WHERE id = ? AND body = ?", {std::int64_t{1}});
  ASSERT_FALSE(too_few.ok());
  EXPECT_EQ(too_few.error().code, Errc::kInternal);
  auto too_many =
      db().query("SELECT body FROM notes WHERE id = ?", {std::int64_t{1}, std::int64_t{2}});
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().code, Errc::kInternal);
}

TEST_P(DatabaseTest, UniqueViolationIsConflict) {
  run(db(), "CREATE TABLE users (id BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE)");
  run(db(), "INSERT INTO users (id, name) VALUES (?, ?)", {std::int64_t{1}, std::string("ann")});

  auto same_name = db().query("INSERT INTO users (id, name) VALUES (?, ?)",
                              {std::int64_t{2}, std::string("ann")});
  ASSERT_FALSE(same_name.ok());
  EXPECT_EQ(same_name.error().code, Errc::kConflict);
  EXPECT_NE(lower(same_name.error().message).find("unique"), std::string::npos)
      << same_name.error().message;

  auto same_id = db().query("INSERT INTO users (id, name) VALUES (?, ?)",
                            {std::int64_t{1}, std::string("bob")});
  ASSERT_FALSE(same_id.ok());
  EXPECT_EQ(same_id.error().code, Errc::kConflict);

  // Other constraints are bugs, not conflicts.
  auto no_name =
      db().query("INSERT INTO users (id, name) VALUES (?, ?)", {std::int64_t{3}, std::monostate{}});
  ASSERT_FALSE(no_name.ok());
  EXPECT_EQ(no_name.error().code, Errc::kInternal);

  EXPECT_EQ(countRows(db(), "users"), 1);
}

TEST_P(DatabaseTest, BadSqlIsInternalWithAMessage) {
  auto syntax = db().query("SELEC 1");
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.error().code, Errc::kInternal);
  EXPECT_NE(syntax.error().message.find("SELEC"), std::string::npos) << syntax.error().message;

  auto no_table = db().query("SELECT * FROM no_such_table");
  ASSERT_FALSE(no_table.ok());
  EXPECT_EQ(no_table.error().code, Errc::kInternal);
  EXPECT_NE(no_table.error().message.find("no_such_table"), std::string::npos)
      << no_table.error().message;

  // query() runs exactly one statement.
  auto two = db().query("SELECT 1; SELECT 2");
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.error().code, Errc::kInternal);
  auto none = db().query("  ");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, Errc::kInternal);

  // The connection is still usable.
  Rows rows = run(db(), "SELECT 1");
  ASSERT_EQ(rows.rows.size(), 1U);
  EXPECT_EQ(rows.rows[0].integer(0), 1);
}

TEST_P(DatabaseTest, TransactionCommitsOnOkAndRollsBackOnError) {
  run(db(), "CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT)");
  const std::string insert = "INSERT INTO t (id, v) VALUES (?, ?)";

  auto committed = transaction(db(), [&]() -> core::Status {
    run(db(), insert, {std::int64_t{1}, std::string("one")});
    run(db(), insert, {std::int64_t{2}, std::string("two")});
    return core::Ok{};
  });
  ASSERT_TRUE(committed.ok()) << committed.error().message;
  EXPECT_EQ(countRows(db(), "t"), 2);

  // The body's error comes back unchanged and nothing it did remains.
  auto refused = transaction(db(), [&]() -> core::Status {
    run(db(), insert, {std::int64_t{3}, std::string("three")});
    return core::Error{Errc::kUnprocessable, "changed my mind"};
  });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kUnprocessable);
  EXPECT_EQ(refused.error().message, "changed my mind");
  EXPECT_TRUE(run(db(), "SELECT v FROM t WHERE id = ?", {std::int64_t{3}}).rows.empty());

  // A failed statement whose error the body returns rolls back what came before it.
  auto failed = transaction(db(), [&]() -> core::Status {
    run(db(), insert, {std::int64_t{4}, std::string("four")});
    auto duplicate = db().query(insert, {std::int64_t{1}, std::string("again")});
    if (!duplicate) return duplicate.error();
    return core::Ok{};
  });
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, Errc::kConflict);
  EXPECT_TRUE(run(db(), "SELECT v FROM t WHERE id = ?", {std::int64_t{4}}).rows.empty());

  // And the next transaction works.
  auto again = transaction(db(), [&]() -> core::Status {
    run(db(), "UPDATE t SET v = ? WHERE id = ?", {std::string("uno"), std::int64_t{1}});
    return core::Ok{};
  });
  ASSERT_TRUE(again.ok()) << again.error().message;
  Rows rows = run(db(), "SELECT v FROM t ORDER BY id");
  ASSERT_EQ(rows.rows.size(), 2U);
  EXPECT_EQ(rows.rows[0].text(0), "uno");
  EXPECT_EQ(rows.rows[1].text(0), "two");
}

TEST_P(DatabaseTest, CountsAffectedRows) {
  run(db(), "CREATE TABLE t (id BIGINT PRIMARY KEY, v BIGINT)");
  EXPECT_EQ(run(db(), "INSERT INTO t (id, v) VALUES (1, 10)").affected, 1);
  EXPECT_EQ(run(db(), "INSERT INTO t (id, v) VALUES (2, 20), (3, 30)").affected, 2);
  EXPECT_EQ(
      run(db(), "UPDATE t SET v = v + ? WHERE id > ?", {std::int64_t{1}, std::int64_t{1}}).affected,
      2);
  EXPECT_EQ(run(db(), "UPDATE t SET v = 0 WHERE id = ?", {std::int64_t{99}}).affected, 0);
  // Statements that change nothing report 0, not the last change's count.
  EXPECT_EQ(run(db(), "SELECT * FROM t").affected, 0);
  EXPECT_EQ(run(db(), "CREATE TABLE u (id BIGINT)").affected, 0);
  EXPECT_EQ(run(db(), "DELETE FROM t WHERE id = ?", {std::int64_t{1}}).affected, 1);
  EXPECT_EQ(run(db(), "DELETE FROM t").affected, 2);
  EXPECT_EQ(countRows(db(), "t"), 0);
}

TEST_P(DatabaseTest, UpsertsWithOnConflictDoUpdate) {
  run(db(), "CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT NOT NULL, n BIGINT NOT NULL DEFAULT 1)");
  const std::string upsert = "INSERT INTO kv (k, v) VALUES (?, ?) "
                             "ON CONFLICT (k) DO UPDATE SET v = excluded.v, n = kv.n + 1";
  EXPECT_EQ(run(db(), upsert, {std::string("a"), std::int64_t{1}}).affected, 1);
  EXPECT_EQ(run(db(), upsert, {std::string("a"), std::int64_t{2}}).affected, 1);
  EXPECT_EQ(run(db(), upsert, {std::string("b"), std::int64_t{3}}).affected, 1);
  EXPECT_EQ(run(db(), "INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO NOTHING",
                {std::string("b"), std::int64_t{4}})
                .affected,
            0);

  Rows rows = run(db(), "SELECT k, v, n FROM kv ORDER BY k");
  ASSERT_EQ(rows.rows.size(), 2U);
  EXPECT_EQ(rows.rows[0].text(0), "a");
  EXPECT_EQ(rows.rows[0].integer(1), 2);
  EXPECT_EQ(rows.rows[0].integer(2), 2);
  EXPECT_EQ(rows.rows[1].text(0), "b");
  EXPECT_EQ(rows.rows[1].integer(1), 3);
  EXPECT_EQ(rows.rows[1].integer(2), 1);
}

TEST_P(DatabaseTest, ExecScriptRunsSeveralStatements) {
  auto status = db().execScript(R"sql(
    -- a migration
    CREATE TABLE a (id BIGINT PRIMARY KEY, name TEXT NOT NULL);
    CREATE TABLE b (id BIGINT PRIMARY KEY, a_id BIGINT REFERENCES a (id));
    CREATE INDEX b_a_id ON b (a_id);
    INSERT INTO a (id, name) VALUES (1, 'x'), (2, 'y');
    INSERT INTO b (id, a_id) VALUES (10, 1);
  )sql");
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(countRows(db(), "a"), 2);
  EXPECT_EQ(countRows(db(), "b"), 1);

  auto broken = db().execScript("CREATE TABLE c (id BIGINT); CREATE TABLEX d (id BIGINT);");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().code, Errc::kInternal);
  EXPECT_FALSE(broken.error().message.empty());
}

TEST_P(DatabaseTest, EnforcesForeignKeysAndCascadesDeletes) {
  run(db(), "CREATE TABLE parent (id BIGINT PRIMARY KEY)");
  run(db(), "CREATE TABLE child (id BIGINT PRIMARY KEY, "
            "parent_id BIGINT NOT NULL REFERENCES parent (id) ON DELETE CASCADE)");
  run(db(), "INSERT INTO parent (id) VALUES (1), (2)");
  run(db(), "INSERT INTO child (id, parent_id) VALUES (10, 1), (11, 1), (20, 2)");

  auto orphan = db().query("INSERT INTO child (id, parent_id) VALUES (?, ?)",
                           {std::int64_t{30}, std::int64_t{99}});
  ASSERT_FALSE(orphan.ok());
  EXPECT_EQ(orphan.error().code, Errc::kInternal);

  // Rows removed by the cascade are not counted as affected, on either backend.
  EXPECT_EQ(run(db(), "DELETE FROM parent WHERE id = ?", {std::int64_t{1}}).affected, 1);
  Rows rows = run(db(), "SELECT id FROM child ORDER BY id");
  ASSERT_EQ(rows.rows.size(), 1U);
  EXPECT_EQ(rows.rows[0].integer(0), 20);
}

TEST_P(DatabaseTest, ReadsExpressionsThroughTheAccessors) {
  run(db(), "CREATE TABLE t (id BIGINT PRIMARY KEY, v BIGINT, r DOUBLE PRECISION)");
  run(db(), "INSERT INTO t (id, v, r) VALUES (1, 5, 0.5), (2, 7, 1.25)");
  Rows rows = run(db(), "SELECT COUNT(*), SUM(v), MAX(v), SUM(r), 1 = 1, 1 = 2 FROM t");
  ASSERT_EQ(rows.rows.size(), 1U);
  const Row& row = rows.rows[0];
  // COUNT is an integer on both; SUM of integers is one in SQLite but numeric (read as a real)
  // in PostgreSQL, and comparisons are integers in SQLite, booleans in PostgreSQL: the
  // accessors read them all the same.
  EXPECT_TRUE(std::holds_alternative<std::int64_t>(row.values[0]));
  EXPECT_EQ(row.integer(0), 2);
  EXPECT_EQ(row.integer(1), 12);
  EXPECT_EQ(row.integer(2), 7);
  EXPECT_DOUBLE_EQ(row.real(3), 1.75);
  EXPECT_EQ(row.integer(4), 1);
  EXPECT_EQ(row.integer(5), 0);
}

// PostgreSQL only: what a server connection can do that a file cannot.
class PostgresDatabaseTest : public DatabaseTest {
protected:
  // Ends this test's connection from another one and waits until it is gone.
  void terminateConnection() {
    Rows pid = run(db(), "SELECT pg_backend_pid()");
    ASSERT_EQ(pid.rows.size(), 1U);
    auto other = openDatabase(std::getenv(test::kPostgresUrlVariable), "");
    ASSERT_TRUE(other.ok()) << other.error().message;
    run(**other, "SELECT pg_terminate_backend(CAST(? AS INTEGER))", {pid.rows[0].values[0]});
    for (int i = 0; i < 100; ++i) {
      Rows left = run(**other, "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ?",
                      {pid.rows[0].values[0]});
      if (!left.rows.empty() && left.rows[0].integer(0) == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL() << "the connection was not terminated";
  }
};
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(PostgresDatabaseTest);
INSTANTIATE_TEST_SUITE_P(Backends, PostgresDatabaseTest,
                         ::testing::ValuesIn(test::postgresBackends()), test::backendName);

TEST_P(PostgresDatabaseTest, ReconnectsAfterTheConnectionIsLost) {
  ASSERT_NO_FATAL_FAILURE(terminateConnection());
  // The statement that finds the connection gone fails; the next one reconnects.
  auto lost = db().query("SELECT 1");
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.error().code, Errc::kUnavailable) << lost.error().message;
  Rows rows = run(db(), "SELECT 2");
  ASSERT_EQ(rows.rows.size(), 1U);
  EXPECT_EQ(rows.rows[0].integer(0), 2);
}

TEST_P(PostgresDatabaseTest, DoesNotReconnectInsideATransaction) {
  run(db(), "CREATE TABLE t (id BIGINT PRIMARY KEY)");
  ASSERT_TRUE(db().begin().ok());
  run(db(), "INSERT INTO t (id) VALUES (1)");
  ASSERT_NO_FATAL_FAILURE(terminateConnection());
  auto lost = db().query("INSERT INTO t (id) VALUES (2)");
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.error().code, Errc::kUnavailable);
  // Still inside the (lost) transaction: no silent reconnect that would run the rest of it
  // in autocommit mode.
  auto still_lost = db().query("INSERT INTO t (id) VALUES (3)");
  ASSERT_FALSE(still_lost.ok());
  EXPECT_EQ(still_lost.error().code, Errc::kUnavailable);
  EXPECT_TRUE(db().rollback().ok());
  EXPECT_EQ(countRows(db(), "t"), 0);
}

TEST_P(PostgresDatabaseTest, CommitReportsATransactionAbortedByAFailedStatement) {
  run(db(), "CREATE TABLE t (id BIGINT PRIMARY KEY)");
  run(db(), "INSERT INTO t (id) VALUES (1)");
  ASSERT_TRUE(db().begin().ok());
  run(db(), "INSERT INTO t (id) VALUES (2)");
  auto duplicate = db().query("INSERT INTO t (id) VALUES (1)");
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code, Errc::kConflict);
  // PostgreSQL aborts the whole transaction at the first failed statement; a COMMIT then
  // rolls back, and says so.
  auto committed = db().commit();
  ASSERT_FALSE(committed.ok());
  EXPECT_EQ(countRows(db(), "t"), 1);
}

// SQLite only: the file and how it is opened.
TEST(SqliteDatabaseTest, UsesWalFullSynchronousForeignKeysAndABusyTimeout) {
  auto db = test::openTestDatabase("sqlite");
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(run(*db, "PRAGMA journal_mode").rows.at(0).text(0), "wal");
  EXPECT_EQ(run(*db, "PRAGMA synchronous").rows.at(0).integer(0), 2); // FULL
  EXPECT_EQ(run(*db, "PRAGMA foreign_keys").rows.at(0).integer(0), 1);
  EXPECT_EQ(run(*db, "PRAGMA busy_timeout").rows.at(0).integer(0), 5000);
}

TEST(SqliteDatabaseTest, CommittedDataSurvivesReopeningTheFile) {
  std::string dir = test::makeTempDir();
  ASSERT_FALSE(dir.empty());
  {
    auto db = openDatabase("", dir);
    ASSERT_TRUE(db.ok()) << db.error().message;
    EXPECT_EQ((*db)->describe(), dir + "/forge.db");
    run(**db, "CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT)");
    auto committed = transaction(**db, [&]() -> core::Status {
      run(**db, "INSERT INTO t (id, v) VALUES (?, ?)", {std::int64_t{1}, std::string("kept")});
      return core::Ok{};
    });
    ASSERT_TRUE(committed.ok()) << committed.error().message;
    // Only its owner may read the file.
    EXPECT_EQ(modeOf(dir + "/forge.db"), 0600U);
  }
  auto db = openDatabase("sqlite://" + dir + "/forge.db", "/nonexistent");
  ASSERT_TRUE(db.ok()) << db.error().message;
  Rows rows = run(**db, "SELECT v FROM t WHERE id = ?", {std::int64_t{1}});
  ASSERT_EQ(rows.rows.size(), 1U);
  EXPECT_EQ(rows.rows[0].text(0), "kept");
}

TEST(SqliteDatabaseTest, CreatesAMissingDataDirectoryPrivately) {
  std::string dir = test::makeTempDir();
  ASSERT_FALSE(dir.empty());
  auto db = openDatabase("", dir + "/data/");
  ASSERT_TRUE(db.ok()) << db.error().message;
  EXPECT_EQ((*db)->describe(), dir + "/data/forge.db");
  EXPECT_EQ(modeOf(dir + "/data"), 0700U);
}

TEST(SqliteDatabaseTest, OpensARelativePath) {
  std::string dir = test::makeTempDir();
  ASSERT_FALSE(dir.empty());
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
  ASSERT_EQ(::chdir(dir.c_str()), 0);
  auto db = openDatabase("sqlite://relative.db", "");
  EXPECT_EQ(::chdir(cwd), 0);
  ASSERT_TRUE(db.ok()) << db.error().message;
  EXPECT_EQ((*db)->describe(), "relative.db");
  struct stat st {};
  EXPECT_EQ(::stat((dir + "/relative.db").c_str(), &st), 0);
}

TEST(SqliteDatabaseTest, AFileThatCannotBeOpenedIsUnavailable) {
  auto db = openDatabase("sqlite:///nonexistent-forge-dir/x/forge.db", "");
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().code, Errc::kUnavailable);
  EXPECT_NE(db.error().message.find("/nonexistent-forge-dir/x/forge.db"), std::string::npos);
}

TEST(DatabaseUrlTest, RejectsUnknownSchemesNamingTheAcceptedOnes) {
  auto db = openDatabase("mysql://user:hunter2@db.example/forge", "/tmp");
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().code, Errc::kInvalidParams);
  const std::string& message = db.error().message;
  EXPECT_NE(message.find("sqlite://"), std::string::npos) << message;
  EXPECT_NE(message.find("postgresql://"), std::string::npos) << message;
  EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;

  auto empty_sqlite = openDatabase("sqlite://", "/tmp");
  ASSERT_FALSE(empty_sqlite.ok());
  EXPECT_EQ(empty_sqlite.error().code, Errc::kInvalidParams);

  auto bad_option = openDatabase("postgresql://user:hunter2@127.0.0.1/db?no_such_option=1", "");
  ASSERT_FALSE(bad_option.ok());
  EXPECT_EQ(bad_option.error().code, Errc::kInvalidParams);
  EXPECT_EQ(bad_option.error().message.find("hunter2"), std::string::npos)
      << bad_option.error().message;
}

TEST(DatabaseUrlTest, AnUnreachablePostgresIsUnavailable) {
  // Port 1 on the loopback interface: nothing listens, the connection is refused at once.
  auto db = openDatabase("postgres://forge:hunter2@127.0.0.1:1/forge?connect_timeout=2", "");
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().code, Errc::kUnavailable);
  EXPECT_EQ(db.error().message.find("hunter2"), std::string::npos) << db.error().message;
  EXPECT_NE(db.error().message.find("forge:***@127.0.0.1:1"), std::string::npos)
      << db.error().message;
}

TEST(DatabaseUrlTest, RedactUrlHidesThePassword) {
  EXPECT_EQ(redactUrl("postgresql://forge:s3cret@db.internal:5432/forge?sslmode=require"),
            "postgresql://forge:***@db.internal:5432/forge?sslmode=require");
  EXPECT_EQ(redactUrl("postgres://forge:s3cret@db/forge"), "postgres://forge:***@db/forge");
  EXPECT_EQ(redactUrl("postgresql://forge:p@ss?w/rd@db/forge"), "postgresql://forge:***@db/forge");
  EXPECT_EQ(redactUrl("postgresql://db/forge?user=forge&password=s3cret&sslmode=verify-full"),
            "postgresql://db/forge?user=forge&password=***&sslmode=verify-full");
  // Nothing to hide.
  EXPECT_EQ(redactUrl("postgresql://forge@db:5432/forge"), "postgresql://forge@db:5432/forge");
  EXPECT_EQ(redactUrl("postgresql://db:5432/forge"), "postgresql://db:5432/forge");
  EXPECT_EQ(redactUrl("sqlite:///var/lib/forge/forge.db"), "sqlite:///var/lib/forge/forge.db");
  EXPECT_EQ(redactUrl(""), "");
}

TEST(DatabaseRowTest, AccessorsConvertBetweenTypes) {
  Row row{{std::monostate{}, std::int64_t{-42}, 2.5, std::string("17"), std::string("x"),
           std::string(" 3.75 "), 1e300}};
  EXPECT_TRUE(row.isNull(0));
  EXPECT_FALSE(row.isNull(1));
  EXPECT_TRUE(row.isNull(99)); // past the end reads as NULL
  EXPECT_EQ(row.text(0), "");
  EXPECT_EQ(row.text(1), "-42");
  EXPECT_EQ(row.text(2), "2.5");
  EXPECT_EQ(row.text(3), "17");
  EXPECT_EQ(row.integer(0), 0);
  EXPECT_EQ(row.integer(1), -42);
  EXPECT_EQ(row.integer(2), 2);
  EXPECT_EQ(row.integer(3), 17);
  EXPECT_EQ(row.integer(4), 0);
  EXPECT_EQ(row.integer(5), 3);
  EXPECT_EQ(row.integer(6), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(row.real(0), 0.0);
  EXPECT_EQ(row.real(1), -42.0);
  EXPECT_EQ(row.real(2), 2.5);
  EXPECT_EQ(row.real(3), 17.0);
  EXPECT_EQ(row.real(4), 0.0);
  EXPECT_EQ(row.real(5), 3.75);
}

} // namespace
} // namespace forge::storage
