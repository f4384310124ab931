// `forge dr test`: the disaster-recovery drill (ops/dr_drill.h): restore a backup into a
// scratch stack, start a gateway on it, check it, and report the recovery time and data age.
#include "cli/backup_flags.h"
#include "cli/command.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "ops/dr_drill.h"
#include "ops/utc_time.h"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <cstdio>

namespace forge::cli {

namespace {

namespace json = boost::json;

class DrCommand final : public Command {
public:
  std::string name() const override { return "dr"; }
  std::string synopsis() const override {
    return "Disaster recovery drill: restore a backup into a scratch stack and time it";
  }
  void setup(CLI::App& app) override {
    app.require_subcommand(1);
    test_ = app.add_subcommand("test", "Restore, start a gateway on it, verify, report RTO/RPO");
    flags_.addTo(*test_);
    test_->add_option("--backup", backup_,
                      "Drill with this backup (an id or latest) instead of a new one");
    test_->add_option("--config", config_, "Configuration file for the drill's gateway");
    test_->add_option("--timeout", timeout_seconds_, "Seconds to wait for the gateway's /ready")
        ->capture_default_str();
    test_->add_flag("--keep", keep_, "Keep the scratch data directory (kept anyway on failure)");
    test_->footer("Example: forge dr test --data-dir /var/lib/forge\n"
                  "Creates a backup (or uses --backup), restores it into a temporary data "
                  "directory\n(PostgreSQL: a scratch database, which needs CREATEDB), starts "
                  "`forge gateway` on a free\n127.0.0.1 port, checks /ready, REST /gateways "
                  "and /users, and MCP tools/list, stops it,\nand reports RTO (restore start "
                  "to ready) and RPO (the backup's age).\nExit status: 0 ok, 4 warning, 3 the "
                  "drill failed.");
  }

  int run() override {
    auto say = [](const std::string& message) {
      std::fprintf(stderr, "dr: %s\n", message.c_str());
    };
    const auto repository = flags_.repository();
    const ops::Stack production = flags_.stack();
    core::Result<ops::Manifest> manifest = core::Error{core::Errc::kNotFound, ""};
    if (backup_.empty()) {
      say("creating a backup to drill with");
      manifest = repository.create(production, {"dr drill", say});
    } else {
      manifest = repository.find(backup_);
    }
    if (!manifest) {
      std::fprintf(stderr, "forge dr: %s\n", manifest.error().message.c_str());
      return kExitFailure;
    }
    ops::DrillOptions options;
    options.gateway_binary = "/proc/self/exe";
    options.config_file = config_;
    options.ready_timeout = std::chrono::seconds(timeout_seconds_);
    options.keep_scratch = keep_;
    options.progress = say;
    options.token = [](const std::string& data_dir) {
      Connection scratch;
      scratch.setDataDir(data_dir);
      return scratch.token();
    };
    auto report = ops::runDrill(repository, *manifest, production, options);
    if (!report) {
      std::fprintf(stderr, "forge dr: the drill could not run: %s\n",
                   report.error().message.c_str());
      return kExitFailure;
    }
    const bool ready = report->rto_ms > 0;
    if (!flags_.json()) {
      fmt::print("drill with backup {} ({}, {} database)\n", report->backup.id,
                 report->backup.created_at, report->backup.backend);
      if (ready) {
        fmt::print("RTO {} ms (restore {} ms + gateway start to ready {} ms)\n", report->rto_ms,
                   report->restore_ms, report->start_ms);
      } else {
        fmt::print("RTO: not reached (the scratch gateway never became ready)\n");
      }
      fmt::print("RPO {} (the backup's age when the restore started)\n",
                 ops::humanDuration(std::chrono::milliseconds(report->rpo_ms)));
      if (report->scratch_kept) fmt::print("scratch stack kept in {}\n", report->scratch_dir);
    }
    json::object extra{{"backup", report->backup.id},
                       {"backup_created_at", report->backup.created_at},
                       {"backend", report->backup.backend},
                       {"rpo_ms", report->rpo_ms},
                       {"restore_ms", report->restore_ms},
                       {"start_ms", report->start_ms},
                       {"port", report->port},
                       {"scheme", report->scheme}};
    extra["rto_ms"] = ready ? json::value(report->rto_ms) : json::value(nullptr);
    if (report->scratch_kept) extra["scratch_dir"] = report->scratch_dir;
    return printChecks(flags_.json(), report->checks, &extra);
  }

private:
  BackupFlags flags_;
  CLI::App* test_ = nullptr;
  std::string backup_;
  std::string config_;
  int timeout_seconds_ = 60;
  bool keep_ = false;
};

} // namespace

CommandPtr makeDrCommand() { return std::make_unique<DrCommand>(); }

} // namespace forge::cli
