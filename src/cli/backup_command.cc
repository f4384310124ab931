// `forge backup create|list|verify|restore|verify-restore|prune|schedule`: backups of the
// stack's database and secrets (ops/backup.h), restores, and their schedule (ops/schedule.h).
#include "cli/backup_flags.h"
#include "cli/command.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "net/http_client.h"
#include "ops/backup.h"
#include "ops/files.h"
#include "ops/schedule.h"
#include "ops/sqlite_copy.h"
#include "ops/utc_time.h"
#include "storage/database.h"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

namespace forge::cli {

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

std::string ageOf(const ops::Manifest& manifest) {
  auto created = ops::parseUtc(manifest.created_at);
  if (!created) return "?";
  return ops::humanDuration(std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now() - *created));
}

json::object manifestJson(const ops::Manifest& manifest) {
  return json::value_from(ops::toJson(manifest)).as_object();
}

// Set by SIGTERM/SIGINT: the scheduler loop ends after the backup it is taking, if any.
volatile std::sig_atomic_t g_stop = 0;
extern "C" void onStopSignal(int) { g_stop = 1; }

class BackupCommand final : public Command {
public:
  std::string name() const override { return "backup"; }
  std::string synopsis() const override {
    return "Back up, verify and restore the database and secrets; schedule backups";
  }

  void setup(CLI::App& app) override {
    app.require_subcommand(1);
    app.footer("Examples:\n"
               "  forge backup create --keep 28              # back up now, keep the newest 28\n"
               "  forge backup list\n"
               "  forge backup verify latest\n"
               "  forge backup verify-restore latest         # restore into a scratch place\n"
               "  forge backup restore 20261204T170324Z      # the gateway must be stopped\n"
               "  forge backup schedule --every 6h --keep 28\n"
               "Backups go to <data-dir>/backups unless --backup-dir says otherwise. See\n"
               "docs/ops/backup-and-recovery.md.");

    auto* create = add(app, "create", "Back up the database and secrets.json now");
    create->add_option("--keep", keep_, "Then keep only the newest N backups");
    create->add_option("--max-age", max_age_days_, "Then remove backups older than DAYS");
    create->add_option("--reason", reason_, "Recorded in the manifest")->capture_default_str();
    create->footer("Example: forge backup create --data-dir /var/lib/forge --keep 28\n"
                   "SQLite is copied with the online backup API while the gateway runs;\n"
                   "PostgreSQL with pg_dump -Fc (postgresql-client).");

    add(app, "list", "List the backups, newest first");

    auto* verify = add(app, "verify", "Check a backup: checksums, integrity, schema version");
    verify->add_option("id", id_, "Backup id, or latest")->capture_default_str();
    verify->footer("Example: forge backup verify latest\n"
                   "Exit status: 0 ok, 4 warning, 3 the backup is damaged.");

    auto* restore = add(app, "restore", "Replace the stack's database and secrets with a backup");
    restore->add_option("id", id_, "Backup id, or latest")->required();
    restore->add_flag("--force", force_, "Restore even though a gateway seems to be running");
    restore->footer("Example: forge down && forge backup restore 20261204T170324Z && forge up\n"
                    "Takes a safety backup of the current state first (forge backup list shows "
                    "it).");

    auto* verify_restore =
        add(app, "verify-restore", "Restore a backup into a scratch place and compare row counts");
    verify_restore->add_option("id", id_, "Backup id, or latest")->capture_default_str();
    verify_restore->footer("Example: forge backup verify-restore latest");

    auto* prune = add(app, "prune", "Remove old backups (the newest always stays)");
    prune->add_option("--keep", keep_, "Keep the newest N backups");
    prune->add_option("--max-age", max_age_days_, "Remove backups older than DAYS");
    prune->add_flag("--dry-run", dry_run_, "Only say which backups would go");
    prune->footer("Example: forge backup prune --keep 28 --max-age 30 --dry-run");

    auto* schedule = add(app, "schedule", "Back up at an interval (systemd timer, cron or a loop)");
    schedule->add_option("--every", every_, "Interval: 30m, 6h, 1d...")->capture_default_str();
    schedule->add_option("--keep", keep_, "Keep the newest N backups after each one");
    schedule->add_option("--max-age", max_age_days_, "Remove backups older than DAYS after each");
    schedule->add_flag("--run", run_loop_,
                       "Run in the foreground: back up every interval until SIGTERM (containers)");
    schedule->add_flag("--show", show_, "Print the schedules installed on this machine");
    schedule->add_flag("--print", print_only_,
                       "Print the systemd units and the crontab line; install nothing");
    schedule->footer("Example: forge backup schedule --every 6h --keep 28\n"
                     "Installs a systemd timer when systemd runs this machine (system units as "
                     "root,\nuser units otherwise); else prints the crontab line to add with "
                     "`crontab -e`.");
  }

  int run() override {
    if (parsed("create")) return create();
    if (parsed("list")) return list();
    if (parsed("verify")) return verify();
    if (parsed("restore")) return restore();
    if (parsed("verify-restore")) return verifyRestore();
    if (parsed("prune")) return prune();
    if (parsed("schedule")) return schedule();
    return kExitUsage;
  }

private:
  CLI::App* add(CLI::App& app, const std::string& name, const std::string& description) {
    auto* sub = app.add_subcommand(name, description);
    flags_.addTo(*sub);
    subcommands_[name] = sub;
    return sub;
  }
  bool parsed(const std::string& name) const { return subcommands_.at(name)->parsed(); }

  int fail(int code, const std::string& message) const {
    std::fprintf(stderr, "forge backup: %s\n", message.c_str());
    return code;
  }

  ops::RetentionPolicy policy() const {
    ops::RetentionPolicy policy;
    if (keep_ > 0) policy.keep = keep_;
    if (max_age_days_ > 0) policy.max_age_days = max_age_days_;
    return policy;
  }

  int create() {
    const auto repository = flags_.repository();
    auto manifest = repository.create(flags_.stack(), {reason_, progress()});
    if (!manifest) return fail(kExitFailure, manifest.error().message);
    std::vector<ops::Manifest> removed;
    if (keep_ > 0 || max_age_days_ > 0) {
      auto pruned = repository.prune(policy(), false);
      if (!pruned) return fail(kExitFailure, pruned.error().message);
      removed = std::move(*pruned);
    }
    if (flags_.json()) {
      json::object out = manifestJson(*manifest);
      out["path"] = (repository.dir() / manifest->id).string();
      json::array gone;
      for (const auto& m : removed)
        gone.emplace_back(m.id);
      out["pruned"] = std::move(gone);
      fmt::print("{}\n", json::serialize(out));
      return kExitOk;
    }
    std::int64_t rows = 0;
    for (const auto& [table, n] : manifest->tables)
      rows += n;
    fmt::print("backup {} created: {} ({}, schema {}, {} rows in {} tables, {} files) in {} ms\n",
               manifest->id, (repository.dir() / manifest->id).string(),
               ops::humanBytes(manifest->size), manifest->schema_version, rows,
               manifest->tables.size(), manifest->files.size(), manifest->duration_ms);
    for (const auto& m : removed)
      fmt::print("pruned {} ({}, {} old)\n", m.id, m.created_at, ageOf(m));
    return kExitOk;
  }

  int list() {
    const auto repository = flags_.repository();
    const auto all = repository.list();
    Table table({"id", "created", "age", "backend", "schema", "size", "reason"});
    json::array items;
    for (const auto& m : all) {
      table.addRow({m.id, m.created_at, ageOf(m), m.backend, std::to_string(m.schema_version),
                    ops::humanBytes(m.size), m.reason});
      items.push_back(manifestJson(m));
    }
    if (all.empty() && !flags_.json()) {
      fmt::print("no backups in {} (create one with `forge backup create`)\n",
                 repository.dir().string());
      return kExitOk;
    }
    printResult(
        flags_.json(), table,
        json::object{{"backup_dir", repository.dir().string()}, {"backups", std::move(items)}});
    return kExitOk;
  }

  int verify() {
    auto report = flags_.repository().verify(id_);
    if (!report) return fail(kExitFailure, report.error().message);
    if (!flags_.json()) {
      fmt::print("backup {} ({}, {}, {} old)\n", report->manifest.id, report->manifest.backend,
                 report->manifest.created_at, ageOf(report->manifest));
    }
    const json::object extra{{"backup", manifestJson(report->manifest)}};
    return printChecks(flags_.json(), report->checks, &extra);
  }

  // Who uses the stack's database now: processes holding the SQLite file open, or a gateway
  // answering /health at --gateway-url. Empty when nothing was seen.
  std::string inUse() {
    const std::string url = flags_.connection().databaseUrl();
    if (!ops::isPostgresUrl(url)) {
      const auto file = ops::sqliteFileOf(url, flags_.connection().dataDir());
      const auto pids = ops::processesWithOpen(file);
      if (!pids.empty()) {
        std::string list;
        for (pid_t pid : pids) {
          std::ifstream comm(fmt::format("/proc/{}/comm", pid));
          std::string name;
          std::getline(comm, name);
          list += fmt::format("{}{} ({})", list.empty() ? "" : ", ", pid, name);
        }
        return fmt::format("{} is open in process {}", file.string(), list);
      }
    }
    net::HttpRequestSpec spec;
    spec.url = flags_.connection().gatewayUrl() + "/health";
    spec.timeout = 2s;
    if (auto answer = net::fetch(spec); answer && answer->status == 200) {
      return fmt::format("a gateway answers {}", spec.url);
    }
    return {};
  }

  int restore() {
    const std::string using_it = inUse();
    if (!using_it.empty() && !force_) {
      return fail(kExitFailure,
                  fmt::format("refusing to restore while the stack runs: {}.\nStop it first "
                              "(`forge down`, or stop the gateway), or pass --force and restart "
                              "it right after.",
                              using_it));
    }
    if (!using_it.empty()) {
      std::fprintf(stderr, "forge backup: --force: restoring although %s\n", using_it.c_str());
    }
    const auto repository = flags_.repository();
    const ops::Stack stack = flags_.stack();
    auto report = repository.restore(id_, stack, true, progress());
    if (!report) return fail(kExitFailure, report.error().message);
    const std::string target = stack.database_url.empty()
                                   ? ops::sqliteFileOf("", stack.data_dir).string()
                                   : storage::redactUrl(stack.database_url);
    if (flags_.json()) {
      json::object out{{"restored", manifestJson(report->restored)},
                       {"target", target},
                       {"duration_ms", report->duration_ms}};
      if (report->safety) out["safety_backup"] = report->safety->id;
      fmt::print("{}\n", json::serialize(out));
      return kExitOk;
    }
    fmt::print("restored backup {} (taken {}, {} old) into {} in {} ms\n", report->restored.id,
               report->restored.created_at, ageOf(report->restored), target, report->duration_ms);
    if (report->safety) {
      fmt::print("the previous state is in safety backup {} (undo: forge backup restore {})\n",
                 report->safety->id, report->safety->id);
    }
    fmt::print("next:\n"
               "  1. start the stack: forge up (or forge gateway --data-dir {})\n"
               "  2. check it: forge health, and forge backup verify-restore {} if in doubt\n"
               "  3. anything written after {} is not in the restored data\n",
               stack.data_dir, report->restored.id, report->restored.created_at);
    return kExitOk;
  }

  int verifyRestore() {
    auto report = flags_.repository().verifyRestore(id_, flags_.stack(), progress());
    if (!report) return fail(kExitFailure, report.error().message);
    if (!flags_.json()) {
      fmt::print("backup {} restored into a scratch place and compared\n", report->manifest.id);
    }
    json::object tables;
    for (const auto& [name, rows] : report->tables)
      tables[name] = rows;
    const json::object extra{{"backup", manifestJson(report->manifest)},
                             {"restore_ms", report->duration_ms},
                             {"tables", std::move(tables)}};
    return printChecks(flags_.json(), report->checks, &extra);
  }

  int prune() {
    if (keep_ <= 0 && max_age_days_ <= 0) {
      return fail(kExitUsage, "say what to keep: --keep N and/or --max-age DAYS");
    }
    auto removed = flags_.repository().prune(policy(), dry_run_);
    if (!removed) return fail(kExitFailure, removed.error().message);
    Table table({"id", "created", "age", "size"});
    json::array items;
    for (const auto& m : *removed) {
      table.addRow({m.id, m.created_at, ageOf(m), ops::humanBytes(m.size)});
      items.emplace_back(m.id);
    }
    if (flags_.json()) {
      fmt::print("{}\n", json::serialize(json::object{{"dry_run", dry_run_}, {"removed", items}}));
      return kExitOk;
    }
    if (removed->empty()) {
      fmt::print("nothing to prune\n");
      return kExitOk;
    }
    fmt::print("{}{} {} backup(s)\n", table.render(), dry_run_ ? "would remove" : "removed",
               removed->size());
    return kExitOk;
  }

  int schedule() {
    if (show_) return showSchedule();
    auto every = parseInterval(every_);
    if (!every) return fail(kExitUsage, every.error().message);
    if (run_loop_) return runLoop(*every);
    const auto scope = ops::availableSystemd();
    const bool install = !print_only_ && scope != ops::SystemdScope::kNone;
    auto spec = scheduleSpec(*every, !print_only_);
    if (!spec) return fail(kExitFailure, spec.error().message);
    const auto cron = ops::cronLine(*spec);
    if (!install) {
      const auto units = ops::systemdUnits(*spec);
      if (flags_.json()) {
        fmt::print("{}\n", json::serialize(json::object{{"installed", false},
                                                        {"crontab", cron ? *cron : std::string()},
                                                        {"systemd_service", units.service},
                                                        {"systemd_timer", units.timer}}));
        return kExitOk;
      }
      if (scope == ops::SystemdScope::kNone && !print_only_) {
        fmt::print("systemd is not running here: nothing was installed.\n");
      }
      if (!spec->env_file.empty() && !print_only_) {
        fmt::print("wrote {} (mode 0600): the database URL the line below reads\n", spec->env_file);
      }
      if (cron) {
        fmt::print("add this line with `crontab -e`:\n{}\n", *cron);
      } else {
        fmt::print("{}\n", cron.error().message);
      }
      fmt::print("or, in a container, run `forge backup schedule --run --every {}` (with the "
                 "same --keep/--max-age) as a service.\n",
                 every_);
      if (print_only_) {
        fmt::print("\nsystemd units (forge-backup.service, forge-backup.timer):\n{}\n{}",
                   units.service, units.timer);
      }
      // Nothing installed and no crontab line to give: the schedule is not set up.
      return cron || print_only_ ? kExitOk : kExitFailure;
    }
    auto written = ops::installSystemdTimer(*spec, scope);
    if (!written) return fail(kExitFailure, written.error().message);
    if (flags_.json()) {
      json::array files;
      for (const auto& f : *written)
        files.emplace_back(f);
      fmt::print("{}\n", json::serialize(json::object{{"installed", true}, {"files", files}}));
      return kExitOk;
    }
    fmt::print("installed and started the systemd timer forge-backup.timer ({}): every {}\n",
               scope == ops::SystemdScope::kSystem ? "system" : "user", every_);
    for (const auto& f : *written)
      fmt::print("  {}\n", f);
    return kExitOk;
  }

  int showSchedule() {
    const auto found = ops::installedSchedules();
    if (flags_.json()) {
      json::array items;
      for (const auto& f : found)
        items.emplace_back(f);
      fmt::print("{}\n", json::serialize(json::object{{"schedules", items}}));
      return kExitOk;
    }
    if (found.empty()) {
      fmt::print("no backup schedule is installed on this machine (no forge-backup timer, no "
                 "crontab line)\n");
    }
    for (const auto& f : found)
      fmt::print("{}\n", f);
    return kExitOk;
  }

  // With `write_env_file`, a PostgreSQL URL is written to <data-dir>/backup-schedule.env;
  // otherwise the spec only names that file (for printing).
  core::Result<ops::ScheduleSpec> scheduleSpec(std::chrono::seconds every, bool write_env_file) {
    ops::ScheduleSpec spec;
    spec.every = every;
    if (keep_ > 0) spec.keep = keep_;
    if (max_age_days_ > 0) spec.max_age_days = max_age_days_;
    spec.forge_binary = fs::read_symlink("/proc/self/exe").string();
    spec.data_dir = fs::absolute(flags_.connection().dataDir()).string();
    spec.backup_dir = fs::absolute(flags_.repository().dir()).string();
    const std::string url = flags_.connection().databaseUrl();
    if (!url.empty()) {
      // The URL (with its password) goes to a file only its owner reads, not into the unit.
      spec.env_file = (fs::path(spec.data_dir) / "backup-schedule.env").string();
      if (!write_env_file) return spec;
      std::ofstream out(spec.env_file, std::ios::trunc);
      out << "DATABASE_URL=" << url << "\n";
      if (!out.flush()) {
        return core::Error{core::Errc::kUnavailable, "cannot write " + spec.env_file};
      }
      fs::permissions(spec.env_file, fs::perms::owner_read | fs::perms::owner_write);
    }
    return spec;
  }

  // The scheduler loop: a backup (and pruning) now, then every interval, until SIGTERM/SIGINT.
  int runLoop(std::chrono::seconds every) {
    std::signal(SIGTERM, onStopSignal);
    std::signal(SIGINT, onStopSignal);
    const auto repository = flags_.repository();
    int failures = 0;
    std::fprintf(stderr, "forge backup: scheduler: a backup every %s into %s (SIGTERM stops)\n",
                 every_.c_str(), repository.dir().c_str());
    while (g_stop == 0) {
      const auto started = std::chrono::steady_clock::now();
      auto manifest = repository.create(flags_.stack(), {"scheduled", progress()});
      if (manifest) {
        fmt::print("{} backup {} ({}, {} ms)\n", ops::formatUtc(std::chrono::system_clock::now()),
                   manifest->id, ops::humanBytes(manifest->size), manifest->duration_ms);
        if (keep_ > 0 || max_age_days_ > 0) {
          if (auto removed = repository.prune(policy(), false)) {
            for (const auto& m : *removed)
              fmt::print("pruned {}\n", m.id);
          }
        }
      } else {
        ++failures;
        std::fprintf(stderr, "forge backup: scheduled backup failed: %s\n",
                     manifest.error().message.c_str());
      }
      std::fflush(stdout);
      while (g_stop == 0 && std::chrono::steady_clock::now() - started < every)
        std::this_thread::sleep_for(100ms);
    }
    std::fprintf(stderr, "forge backup: scheduler stopped (%d failed backups)\n", failures);
    return failures == 0 ? kExitOk : kExitFailure;
  }

  ops::Progress progress() const {
    return
        [](const std::string& message) { std::fprintf(stderr, "backup: %s\n", message.c_str()); };
  }

  BackupFlags flags_;
  std::map<std::string, CLI::App*> subcommands_;
  std::string id_ = "latest";
  std::string reason_ = "manual";
  std::string every_ = "6h";
  int keep_ = 0;
  int max_age_days_ = 0;
  bool force_ = false;
  bool dry_run_ = false;
  bool run_loop_ = false;
  bool show_ = false;
  bool print_only_ = false;
};

} // namespace

CommandPtr makeBackupCommand() { return std::make_unique<BackupCommand>(); }

} // namespace forge::cli
