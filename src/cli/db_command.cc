// `forge db status|stats|vacuum` and `forge prune`: database maintenance on SQLite and
// PostgreSQL (ops/db_maintenance.h).
#include "cli/command.h"
#include "cli/commands.h"
#include "cli/connection.h"
#include "cli/output.h"
#include "ops/db_maintenance.h"
#include "ops/utc_time.h"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <cstdio>

namespace forge::cli {

namespace {

namespace json = boost::json;

class DbCommand final : public Command {
public:
  std::string name() const override { return "db"; }
  std::string synopsis() const override {
    return "The database: status (schema, pending migrations, sizes), stats, vacuum";
  }

  void setup(CLI::App& app) override {
    app.require_subcommand(1);
    app.footer("Examples:\n"
               "  forge db status --data-dir /var/lib/forge\n"
               "  forge db stats --json\n"
               "  DATABASE_URL=postgresql://forge@db/forge forge db vacuum");
    status_ = app.add_subcommand("status", "Backend, schema version, pending migrations, sizes");
    stats_ = app.add_subcommand("stats", "Rows per table, table and index sizes");
    vacuum_ = app.add_subcommand(
        "vacuum", "Compact: SQLite VACUUM + wal_checkpoint(TRUNCATE); PostgreSQL VACUUM ANALYZE");
    for (auto* sub : {status_, stats_, vacuum_})
      connection_.addOptions(*sub, Reach::kDatabase);
    vacuum_->footer("SQLite's VACUUM waits for the gateway's writes (busy timeout) and rewrites "
                    "the file;\nrun it when traffic is low.");
  }

  int run() override {
    auto db = connection_.existingDatabase();
    if (!db) return fail(db.error().message);
    if (status_->parsed()) return status(**db);
    if (stats_->parsed()) return stats(**db);
    return vacuum(**db);
  }

private:
  int fail(const std::string& message) const {
    std::fprintf(stderr, "forge db: %s\n", message.c_str());
    return kExitFailure;
  }

  int status(storage::Database& db) {
    auto s = ops::databaseStatus(db);
    if (!s) return fail(s.error().message);
    std::string pending;
    json::array pending_json;
    for (const auto& p : s->pending) {
      pending += (pending.empty() ? "" : ", ") + p;
      pending_json.emplace_back(p);
    }
    Table table({"field", "value"});
    table.addRow({"backend",
                  s->backend + (s->server_version.empty() ? "" : " (" + s->server_version + ")")});
    table.addRow({"database", s->location});
    table.addRow({"schema version",
                  fmt::format("{} (this forge knows {})", s->schema_version, s->newest_schema)});
    table.addRow({"pending migrations",
                  pending.empty() ? "none" : pending + " (applied when the gateway starts)"});
    table.addRow({"size", ops::humanBytes(s->size_bytes)});
    if (s->backend == "sqlite") {
      table.addRow({"file", ops::humanBytes(s->file_bytes)});
      table.addRow(
          {"free pages", ops::humanBytes(s->free_bytes) + " (forge db vacuum returns them)"});
      table.addRow({"WAL", ops::humanBytes(s->wal_bytes)});
    }
    printResult(connection_.json(), table,
                json::object{{"backend", s->backend},
                             {"server_version", s->server_version},
                             {"database", s->location},
                             {"schema_version", s->schema_version},
                             {"newest_schema", s->newest_schema},
                             {"pending_migrations", pending_json},
                             {"size_bytes", s->size_bytes},
                             {"free_bytes", s->free_bytes},
                             {"wal_bytes", s->wal_bytes},
                             {"file_bytes", s->file_bytes}});
    return kExitOk;
  }

  int stats(storage::Database& db) {
    auto tables = ops::tableStats(db);
    if (!tables) return fail(tables.error().message);
    Table table({"table", "rows", "size", "indexes"});
    json::array items;
    for (const auto& t : *tables) {
      std::string indexes;
      json::array index_json;
      for (const auto& i : t.indexes) {
        indexes +=
            fmt::format("{}{} {}", indexes.empty() ? "" : ", ", i.name, ops::humanBytes(i.bytes));
        index_json.push_back(json::object{{"name", i.name}, {"bytes", i.bytes}});
      }
      table.addRow({t.name, std::to_string(t.rows), t.bytes ? ops::humanBytes(*t.bytes) : "-",
                    indexes.empty() ? "-" : indexes});
      json::object item{{"name", t.name}, {"rows", t.rows}, {"indexes", index_json}};
      if (t.bytes) item["bytes"] = *t.bytes;
      items.push_back(std::move(item));
    }
    printResult(connection_.json(), table,
                json::object{{"backend", db.backend()}, {"tables", std::move(items)}});
    return kExitOk;
  }

  int vacuum(storage::Database& db) {
    std::fprintf(stderr, "db: vacuuming %s...\n", db.describe().c_str());
    auto report = ops::vacuumDatabase(db);
    if (!report) return fail(report.error().message + " (is a long write running? try again)");
    if (connection_.json()) {
      fmt::print("{}\n", json::serialize(json::object{{"statements", report->statements},
                                                      {"size_before", report->size_before},
                                                      {"size_after", report->size_after},
                                                      {"wal_before", report->wal_before},
                                                      {"wal_after", report->wal_after},
                                                      {"duration_ms", report->duration_ms}}));
      return kExitOk;
    }
    fmt::print("{} in {} ms: size {} -> {}", report->statements, report->duration_ms,
               ops::humanBytes(report->size_before), ops::humanBytes(report->size_after));
    if (std::string_view(db.backend()) == "sqlite") {
      fmt::print(", WAL {} -> {}", ops::humanBytes(report->wal_before),
                 ops::humanBytes(report->wal_after));
    }
    fmt::print("\n");
    return kExitOk;
  }

  Connection connection_;
  CLI::App* status_ = nullptr;
  CLI::App* stats_ = nullptr;
  CLI::App* vacuum_ = nullptr;
};

class PruneCommand final : public Command {
public:
  std::string name() const override { return "prune"; }
  std::string synopsis() const override {
    return "Delete old call metrics and audit entries from the database";
  }
  void setup(CLI::App& app) override {
    connection_.addOptions(app, Reach::kDatabase);
    app.add_option("--older-than", days_, "Days: records older than this go")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_flag("--dry-run", dry_run_, "Count what would go; delete nothing");
    app.footer("Example: forge prune --older-than 90 --dry-run\n"
               "Removes hourly call metrics and audit trail entries; back up first if the "
               "audit trail\nmust be kept (forge backup create).");
  }
  int run() override {
    auto db = connection_.existingDatabase();
    if (!db) {
      std::fprintf(stderr, "forge prune: %s\n", db.error().message.c_str());
      return kExitFailure;
    }
    const std::string cutoff =
        ops::formatUtcSeconds(std::chrono::system_clock::now() - std::chrono::hours(24) * days_);
    auto counts = ops::pruneRecords(**db, cutoff, dry_run_);
    if (!counts) {
      std::fprintf(stderr, "forge prune: %s\n", counts.error().message.c_str());
      return kExitFailure;
    }
    Table table({"table", "what", dry_run_ ? "would remove" : "removed"});
    json::array items;
    std::int64_t total = 0;
    for (const auto& c : *counts) {
      table.addRow({c.table, c.what, std::to_string(c.rows)});
      items.push_back(json::object{{"table", c.table}, {"what", c.what}, {"rows", c.rows}});
      total += c.rows;
    }
    if (connection_.json()) {
      fmt::print(
          "{}\n",
          json::serialize(json::object{
              {"cutoff", cutoff}, {"dry_run", dry_run_}, {"removed", items}, {"total", total}}));
      return kExitOk;
    }
    fmt::print("records older than {} ({} days):\n{}{} {} rows\n", cutoff, days_, table.render(),
               dry_run_ ? "would remove" : "removed", total);
    return kExitOk;
  }

private:
  Connection connection_;
  int days_ = 90;
  bool dry_run_ = false;
};

} // namespace

CommandPtr makeDbCommand() { return std::make_unique<DbCommand>(); }
CommandPtr makePruneCommand() { return std::make_unique<PruneCommand>(); }

} // namespace forge::cli
