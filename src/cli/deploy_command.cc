// `forge deploy check|validate|backup|apply|verify|rollback|history`: the deployment procedure
// of the operations guide against a stack run by `forge manager` (docs/ops/deployment.md).
//
// apply installs a release (<data-dir>/releases/<id>: the binary and the configuration files),
// moves the `current` pointer to it, has the manager read services.yml again (POST /reload) and
// restarts every service that follows `current` one replica at a time, each healthy before the
// next; then it checks that every replica runs the new release. rollback does the same with the
// previous release. Each run is recorded in the deployments table.
#include "cli/commands.h"
#include "cli/deploy_support.h"
#include "cli/output.h"
#include "net/http_client.h"
#include "ops/program.h"
#include "storage/migrations.h"

#include <CLI/CLI.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <sys/statvfs.h>

#include <algorithm>
#include <filesystem>

namespace forge::cli {
namespace {

namespace json = boost::json;
using ops::Check;
using ops::Level;

class DeployCommand final : public Command {
public:
  std::string name() const override { return "deploy"; }
  std::string synopsis() const override {
    return "Deploy a new release with a rolling restart: check, validate, backup, apply, verify, "
           "rollback";
  }

  void setup(CLI::App& app) override {
    app.require_subcommand(1);
    app.fallthrough(); // the connection options may follow the subcommand
    connection_.addOptions(app, Reach::kAll);
    check_ = app.add_subcommand("check", "Pre-deployment checks of the running stack");
    validate_ = app.add_subcommand("validate", "Validate a new binary and configuration files");
    backup_ = app.add_subcommand("backup", "Back up the stack's database (forge backup create)");
    apply_ = app.add_subcommand("apply", "Install a release and roll it out, one replica at a "
                                         "time");
    verify_ = app.add_subcommand("verify", "Check that every replica runs the current release");
    rollback_ = app.add_subcommand("rollback", "Return to the previous release (or --to ID)");
    history_ = app.add_subcommand("history", "Recorded deployments, newest first");
    for (auto* sub : {validate_, apply_}) {
      sub->add_option("--binary", inputs_.binary, "The forge executable to deploy");
      sub->add_option("--config", inputs_.gateway_config, "The gateway's forge.yaml to deploy");
      sub->add_option("--services", inputs_.services_config, "The stack's services.yml to deploy");
    }
    apply_->add_flag("--install-only", install_only_,
                     "Install the release and point `current` at it, restart nothing (the first "
                     "release of a stack, before `forge up`)");
    apply_
        ->add_option("--pointer", pointer_,
                     "With --install-only: the release pointer to move (blue or green for the "
                     "first release of a blue-green pair)")
        ->capture_default_str();
    apply_->add_flag("--backup", backup_first_, "Run `forge backup create` first");
    for (auto* sub : {apply_, rollback_})
      sub->add_option("--only", only_,
                      "Restart only these services (default: every service "
                      "that follows the current release)");
    rollback_->add_option("--to", to_, "The release to return to (default: the previous one)");
    history_->add_option("--limit", limit_, "How many")->capture_default_str();
    app.footer(
        "A release is <data-dir>/releases/<id>/ (forge, forge.yaml, services.yml); services whose\n"
        "command says {release} run the release `current` points at. Exit codes: 0 done, 1 failed\n"
        "(the message says what to do), 2 usage, 3 critical, 4 warning (check, verify).\n"
        "Examples:\n"
        "  forge deploy check\n"
        "  forge deploy validate --binary ./forge-new --config forge.yaml\n"
        "  forge deploy apply --binary ./forge-new --config forge.yaml --backup\n"
        "  forge deploy verify\n"
        "  forge deploy rollback\n"
        "See docs/ops/deployment.md.");
  }

  int run() override {
    if (check_->parsed()) return check();
    if (validate_->parsed()) return validate();
    if (backup_->parsed()) return backup();
    if (apply_->parsed()) return apply();
    if (verify_->parsed()) return verify();
    if (rollback_->parsed()) return rollback();
    return history();
  }

private:
  // ---- check --------------------------------------------------------------------------------

  int check() {
    std::vector<Check> checks;
    std::fprintf(stderr, "checking the manager, its services, the gateway, disk and database...\n");
    checkManager(checks);
    checkGateway(checks);
    checkDisk(checks);
    checkDatabase(checks);
    checkRelease(checks);
    return printChecks(connection_.json(), checks);
  }

  void checkManager(std::vector<Check>& checks) {
    auto api = connection_.manager(std::chrono::seconds(10));
    if (!api) {
      checks.push_back({"manager", Level::kCritical, api.error().message});
      return;
    }
    auto services = api->call(net::Method::kGet, "/services");
    if (!services || services->status != 200 || !services->body.is_array()) {
      checks.push_back(
          {"manager", Level::kCritical,
           fmt::format("{} does not answer: {} (start the stack with `forge up`)",
                       connection_.managerUrl(),
                       services ? ApiClient::detail(*services) : services.error().message)});
      return;
    }
    checks.push_back({"manager", Level::kOk, fmt::format("{} answers", connection_.managerUrl())});
    for (const auto& s : services->body.as_array()) {
      const std::string state = stringField(s, "state");
      const bool auto_start = s.as_object().at("auto_start").as_bool();
      const Level level = state == "running" || state == "sleeping" ? Level::kOk
                          : state == "stopped" && !auto_start       ? Level::kOk
                          : state == "starting"                     ? Level::kWarning
                                                                    : Level::kCritical;
      checks.push_back({"service " + stringField(s, "name"), level,
                        level == Level::kOk
                            ? state
                            : fmt::format("{}: fix it before deploying (forge logs {}, forge "
                                          "restart {})",
                                          state, stringField(s, "name"), stringField(s, "name"))});
    }
  }

  void checkGateway(std::vector<Check>& checks) {
    net::HttpRequestSpec spec;
    spec.url = connection_.gatewayUrl() + "/health";
    spec.timeout = std::chrono::seconds(5);
    auto reply = net::fetch(spec);
    if (!reply || reply->status != 200) {
      checks.push_back(
          {"gateway", Level::kCritical,
           fmt::format("{} is not healthy: {}", spec.url,
                       reply ? fmt::format("HTTP {}", reply->status) : reply.error().message)});
      return;
    }
    const std::string version = runningVersion(connection_);
    checks.push_back({"gateway", Level::kOk,
                      fmt::format("{} healthy{}", connection_.gatewayUrl(),
                                  version.empty() ? "" : ", forge " + version)});
  }

  void checkDisk(std::vector<Check>& checks) {
    struct statvfs fs {};
    if (::statvfs(connection_.dataDir().c_str(), &fs) != 0 || fs.f_blocks == 0) {
      checks.push_back({"disk", Level::kCritical,
                        fmt::format("cannot read {}: point --data-dir at the stack's data "
                                    "directory",
                                    connection_.dataDir())});
      return;
    }
    const double used =
        100.0 * static_cast<double>(fs.f_blocks - fs.f_bavail) / static_cast<double>(fs.f_blocks);
    const double free_gib =
        static_cast<double>(fs.f_bavail) * static_cast<double>(fs.f_frsize) / (1 << 30);
    const Level level = ops::grade(used, ops::Thresholds{80, 90});
    checks.push_back(
        {"disk", level,
         fmt::format("{:.0f}% used, {:.1f} GiB free at {}{}", used, free_gib, connection_.dataDir(),
                     level == Level::kOk ? ""
                                         : " (a release copies the binary; free "
                                           "space, forge prune)")});
  }

  void checkDatabase(std::vector<Check>& checks) {
    const auto sqlite = std::filesystem::path(connection_.dataDir()) / "forge.db";
    if (connection_.databaseUrl().empty() && !std::filesystem::exists(sqlite)) {
      checks.push_back(
          {"database", Level::kCritical,
           fmt::format("no database at {} (give --data-dir or --database-url)", sqlite.string())});
      return;
    }
    auto db = storage::openDatabase(connection_.databaseUrl(), connection_.dataDir());
    if (!db) {
      checks.push_back({"database", Level::kCritical, db.error().message});
      return;
    }
    auto version = storage::schemaVersion(**db);
    const int newest = storage::migrations().back().version;
    if (!version) {
      checks.push_back({"database", Level::kCritical, version.error().message});
      return;
    }
    checks.push_back(
        {"database", *version > newest ? Level::kCritical : Level::kOk,
         fmt::format("{} reachable, schema version {}{}", (*db)->describe(), *version,
                     *version > newest ? fmt::format(" is newer than this forge knows ({})", newest)
                                       : "")});
    // Open critical alerts (forge monitor records them), when that table exists.
    auto alerts = (*db)->query("SELECT COUNT(*) FROM alerts WHERE level = 'critical' AND "
                               "(ended_at IS NULL OR ended_at = '')");
    if (!alerts) {
      checks.push_back({"alerts", Level::kOk, "skipped: no alerts recorded in this database"});
    } else {
      const auto open = alerts->rows.empty() ? 0 : alerts->rows[0].integer(0);
      checks.push_back({"alerts", open > 0 ? Level::kCritical : Level::kOk,
                        open > 0 ? fmt::format("{} critical alert(s) open: resolve them first "
                                               "(forge monitor --alerts)",
                                               open)
                                 : "no critical alert open"});
    }
  }

  void checkRelease(std::vector<Check>& checks) {
    auto current = releaseAt(connection_.dataDir(), manager::kCurrentRelease);
    if (!current) {
      checks.push_back({"release", Level::kWarning,
                        "no release installed: services that say {release} cannot start (forge "
                        "deploy apply --install-only)"});
      return;
    }
    checks.push_back(
        {"release", Level::kOk,
         fmt::format("current release {} (forge {})", current->id, releaseVersion(*current))});
  }

  // ---- validate -----------------------------------------------------------------------------

  int validate() {
    if (inputs_.binary.empty() && inputs_.gateway_config.empty() &&
        inputs_.services_config.empty()) {
      return connection_.fail(kExitUsage, "nothing to validate: give --binary, --config and/or "
                                          "--services");
    }
    const auto checks = validateInputs(inputs_, runningVersion(connection_));
    printChecks(connection_.json(), checks);
    if (ops::worst(checks) == Level::kCritical) {
      return connection_.fail(kExitFailure, "refused: fix what is marked critical above, then "
                                            "validate again");
    }
    return kExitOk;
  }

  // ---- backup -------------------------------------------------------------------------------

  int backup() {
    std::fprintf(stderr, "backing up with `forge backup create`...\n");
    auto done = runBackup();
    if (!done) return connection_.fail(kExitFailure, done.error().message);
    if (connection_.json()) {
      std::printf("%s\n", done->c_str());
    } else {
      std::printf("backup created: %s\n", done->c_str());
    }
    return kExitOk;
  }

  // `forge backup create --json` as a child process; its JSON answer.
  core::Result<std::string> runBackup() {
    std::vector<std::string> argv{ops::selfExecutable(), "backup", "create", "--json", "--data-dir",
                                  connection_.dataDir()};
    if (!connection_.databaseUrl().empty()) {
      argv.push_back("--database-url");
      argv.push_back(connection_.databaseUrl());
    }
    auto ran = ops::runProgram(argv, std::chrono::minutes(30));
    if (!ran) return ran.error();
    if (ran->exit_code != 0) {
      const bool missing = ran->err.find("backup") != std::string::npos &&
                           ran->err.find("not expected") != std::string::npos;
      return core::Error{core::Errc::kUnavailable,
                         missing ? std::string("this forge has no `backup` command: back up "
                                               "the database by hand before deploying")
                                 : fmt::format("forge backup create failed (exit {}): {}",
                                               ran->exit_code, ran->err)};
    }
    std::string out = ran->out;
    while (!out.empty() && out.back() == '\n')
      out.pop_back();
    return out;
  }

  // ---- apply and rollback -------------------------------------------------------------------

  int apply() {
    const auto current = releaseAt(connection_.dataDir(), manager::kCurrentRelease);
    const ops::ReleaseFiles files = releaseFiles(inputs_, current);
    Rollout rollout(connection_, "apply");
    if (install_only_) return installOnly(files, current);
    if (int code =
            rollout.begin(current ? current->id : "", current ? releaseVersion(*current) : "");
        code != kExitOk)
      return code;
    std::string version;
    std::optional<manager::ReleaseRef> installed;
    const bool ok =
        rollout.step("validate",
                     [&]() -> core::Result<std::string> {
                       const auto checks = validateInputs(
                           {files.binary, files.gateway_config, files.services_config},
                           runningVersion(connection_));
                       for (const auto& c : checks)
                         if (c.level == Level::kCritical)
                           return core::Error{core::Errc::kUnprocessable, c.detail};
                       auto v = ops::binaryVersion(files.binary);
                       if (!v) return v.error();
                       version = *v;
                       return fmt::format("forge {}, {} file(s) valid", version, checks.size());
                     }) &&
        (!backup_first_ || rollout.step("backup", [&] { return runBackup(); })) &&
        rollout.step("install release",
                     [&]() -> core::Result<std::string> {
                       auto release = ops::installRelease(connection_.dataDir(), files, version);
                       if (!release) return release.error();
                       installed = *release;
                       return release->dir;
                     }) &&
        rollOut(rollout, *installed, current);
    return rollout.finish(ok, installed ? installed->id : "", version,
                          rollbackAdvice(current, installed));
  }

  int installOnly(const ops::ReleaseFiles& files,
                  const std::optional<manager::ReleaseRef>& current) {
    auto version = ops::binaryVersion(files.binary);
    if (!version) return connection_.fail(kExitFailure, version.error().message);
    auto release = ops::installRelease(connection_.dataDir(), files, *version);
    if (!release) return connection_.fail(kExitFailure, release.error().message);
    auto moved = pointer_ == manager::kCurrentRelease
                     ? pointAt(*release, current)
                     : manager::pointRelease(connection_.dataDir(), pointer_, release->id);
    if (!moved) return connection_.fail(kExitFailure, moved.error().message);
    if (connection_.json()) {
      std::printf("%s\n", json::serialize(ops::releaseInfo(*release)).c_str());
    } else {
      std::printf("installed release %s (forge %s); `%s` points at it: start or restart the "
                  "stack to run it\n",
                  release->id.c_str(), version->c_str(), pointer_.c_str());
    }
    return kExitOk;
  }

  int rollback() {
    const auto current = releaseAt(connection_.dataDir(), manager::kCurrentRelease);
    std::optional<manager::ReleaseRef> target;
    if (!to_.empty()) {
      const auto dir = std::filesystem::path(manager::releasesDir(connection_.dataDir())) / to_;
      if (std::filesystem::is_directory(dir)) target = manager::ReleaseRef{to_, dir.string()};
    } else {
      target = releaseAt(connection_.dataDir(), manager::kPreviousRelease);
    }
    if (!target) {
      return connection_.fail(
          kExitFailure,
          to_.empty() ? "no previous release to return to (forge deploy history shows what ran)"
                      : fmt::format("no release {} in {} (forge deploy history)", to_,
                                    manager::releasesDir(connection_.dataDir())));
    }
    if (current && current->id == target->id) {
      return connection_.fail(kExitFailure,
                              fmt::format("release {} is already current", target->id));
    }
    Rollout rollout(connection_, "rollback");
    if (int code =
            rollout.begin(current ? current->id : "", current ? releaseVersion(*current) : "");
        code != kExitOk)
      return code;
    const bool ok = rollOut(rollout, *target, current);
    return rollout.finish(ok, target->id, releaseVersion(*target),
                          "the stack may run two releases now: `forge deploy verify` shows "
                          "which; fix the cause and run the rollback again");
  }

  core::Status pointAt(const manager::ReleaseRef& release,
                       const std::optional<manager::ReleaseRef>& current) {
    if (current) {
      if (auto kept =
              manager::pointRelease(connection_.dataDir(), manager::kPreviousRelease, current->id);
          !kept)
        return kept;
    }
    return manager::pointRelease(connection_.dataDir(), manager::kCurrentRelease, release.id);
  }

  // Points `current` at the release, reloads the manager, restarts what follows it, checks.
  // When it fails before any service was restarted, the pointers are put back.
  bool rollOut(Rollout& rollout, const manager::ReleaseRef& release,
               const std::optional<manager::ReleaseRef>& current) {
    const auto previous = releaseAt(connection_.dataDir(), manager::kPreviousRelease);
    std::vector<std::string> restart;
    if (rollOutSteps(rollout, release, current, restart)) return true;
    const bool restarted =
        std::any_of(rollout.record().steps.begin(), rollout.record().steps.end(),
                    [](const ops::DeploymentStep& s) { return s.name.starts_with("restart "); });
    if (!restarted && current) {
      rollout.step("restore current", [&]() -> core::Result<std::string> {
        if (previous)
          (void)manager::pointRelease(connection_.dataDir(), manager::kPreviousRelease,
                                      previous->id);
        if (auto back =
                manager::pointRelease(connection_.dataDir(), manager::kCurrentRelease, current->id);
            !back)
          return back.error();
        return "nothing was restarted: current -> " + current->id + " again";
      });
    }
    return false;
  }

  bool rollOutSteps(Rollout& rollout, const manager::ReleaseRef& release,
                    const std::optional<manager::ReleaseRef>& current,
                    std::vector<std::string>& restart) {
    return rollout.step("point current",
                        [&]() -> core::Result<std::string> {
                          if (auto moved = pointAt(release, current); !moved) return moved.error();
                          return fmt::format("current -> {}{}", release.id,
                                             current ? fmt::format(", previous -> {}", current->id)
                                                     : "");
                        }) &&
           rollout.step("reload services.yml",
                        [&]() -> core::Result<std::string> {
                          auto changed = rollout.reload();
                          if (!changed) return changed.error();
                          auto services = rollout.get("/services");
                          if (!services) return services.error();
                          restart = servicesFollowing(*services, manager::kCurrentRelease);
                          for (const auto& name : *changed)
                            if (std::find(restart.begin(), restart.end(), name) == restart.end())
                              restart.push_back(name);
                          if (!only_.empty()) {
                            std::erase_if(restart, [&](const std::string& name) {
                              return std::find(only_.begin(), only_.end(), name) == only_.end();
                            });
                          }
                          if (restart.empty()) {
                            return core::Error{core::Errc::kNotFound,
                                               "no service follows the current release (say "
                                               "{release} in services.yml, see "
                                               "docs/ops/deployment.md)"};
                          }
                          return fmt::format("changed: {}; to restart: {}",
                                             changed->empty()
                                                 ? "none"
                                                 : fmt::format("{}", fmt::join(*changed, ", ")),
                                             fmt::join(restart, ", "));
                        }) &&
           std::all_of(restart.begin(), restart.end(),
                       [&](const std::string& service) {
                         return rollout.step("restart " + service,
                                             [&] { return rollout.restart(service); });
                       }) &&
           rollout.step("check replicas", [&] { return rollout.replicasRun(restart, release.id); });
  }

  std::string rollbackAdvice(const std::optional<manager::ReleaseRef>& previous,
                             const std::optional<manager::ReleaseRef>& installed) {
    if (!installed) return "nothing was changed: fix the problem above and apply again";
    if (!previous) return "no previous release to return to: fix the problem and apply again";
    if (auto now = releaseAt(connection_.dataDir(), manager::kCurrentRelease);
        now && now->id == previous->id) {
      return fmt::format("nothing was restarted and `current` is {} again: fix the problem and "
                         "apply again",
                         previous->id);
    }
    return fmt::format("`forge deploy rollback` returns to release {}", previous->id);
  }

  // ---- verify -------------------------------------------------------------------------------

  int verify() {
    std::vector<Check> checks;
    const auto current = releaseAt(connection_.dataDir(), manager::kCurrentRelease);
    if (!current) {
      checks.push_back(
          {"release", Level::kCritical, "no current release (forge deploy apply installs one)"});
      return printChecks(connection_.json(), checks);
    }
    const std::string version = releaseVersion(*current);
    checks.push_back({"release", Level::kOk,
                      fmt::format("current release {} (forge {})", current->id, version)});
    std::fprintf(stderr, "verifying release %s: replicas, gateway version, MCP...\n",
                 current->id.c_str());
    verifyReplicas(checks, current->id);
    verifyGatewayVersion(checks, current->id, version);
    auto token = connection_.token();
    const auto mcp =
        endpointChecks("gateway", connection_.gatewayUrl(), token ? *token : std::string());
    checks.insert(checks.end(), mcp.begin(), mcp.end());
    return printChecks(connection_.json(), checks);
  }

  void verifyReplicas(std::vector<Check>& checks, const std::string& release) {
    auto api = connection_.manager(std::chrono::seconds(10));
    auto services =
        api ? api->call(net::Method::kGet, "/services") : core::Result<Answer>(api.error());
    if (!services || services->status != 200 || !services->body.is_array()) {
      checks.push_back({"manager", Level::kCritical,
                        fmt::format("cannot list the services at {}", connection_.managerUrl())});
      return;
    }
    const auto following = servicesFollowing(services->body, manager::kCurrentRelease);
    if (following.empty())
      checks.push_back({"services", Level::kWarning, "no running service follows `current`"});
    for (const auto& s : services->body.as_array()) {
      const std::string name = stringField(s, "name");
      if (std::find(following.begin(), following.end(), name) == following.end()) continue;
      std::vector<std::string> wrong;
      std::size_t total = 0;
      for (const auto& r : s.as_object().at("replicas").as_array()) {
        ++total;
        if (stringField(r, "state") != "running" || stringField(r, "release") != release)
          wrong.push_back(fmt::format("replica {} {} on '{}'",
                                      json::serialize(r.as_object().at("index")),
                                      stringField(r, "state"), stringField(r, "release")));
      }
      checks.push_back(
          {"service " + name, wrong.empty() ? Level::kOk : Level::kCritical,
           wrong.empty()
               ? fmt::format("{} replica(s) running release {}", total, release)
               : fmt::format("{} (restart it: forge restart {}; or forge deploy rollback)",
                             fmt::join(wrong, ", "), name)});
    }
  }

  void verifyGatewayVersion(std::vector<Check>& checks, const std::string& release,
                            const std::string& version) {
    auto api = connection_.gateway(std::chrono::seconds(10));
    auto answer =
        api ? api->call(net::Method::kGet, "/version") : core::Result<Answer>(api.error());
    if (!answer || answer->status != 200 || !answer->body.is_object()) {
      checks.push_back({"gateway version", Level::kCritical,
                        fmt::format("{}/version does not answer", connection_.gatewayUrl())});
      return;
    }
    const auto& app = answer->body.as_object().at("app");
    const std::string runs = stringField(app, "version");
    const std::string from = stringField(app, "release");
    const bool ok = runs == version && (from.empty() || from == release);
    checks.push_back(
        {"gateway version", ok ? Level::kOk : Level::kCritical,
         fmt::format("forge {}{}{}", runs,
                     from.empty() ? " (not started from a release)"
                                  : fmt::format(", release {}", from),
                     ok ? "" : fmt::format("; expected forge {} from {}", version, release))});
  }

  // ---- history ------------------------------------------------------------------------------

  int history() {
    auto db = connection_.database();
    if (!db) return connection_.fail(kExitFailure, db.error().message);
    ops::DeploymentLog log(**db);
    auto recent = log.recent(limit_);
    if (!recent) return connection_.fail(kExitFailure, recent.error().message);
    Table table({"STARTED", "KIND", "FROM", "TO", "VERSION", "RESULT", "STEPS"});
    json::array out;
    for (const auto& d : *recent) {
      table.addRow({d.started_at, d.kind, d.from_release, d.to_release, d.to_version, d.result,
                    std::to_string(d.steps.size())});
      out.push_back(d.toJson());
    }
    printResult(connection_.json(), table, out);
    return kExitOk;
  }

  Connection connection_;
  DeployInputs inputs_;
  std::vector<std::string> only_;
  std::string to_;
  std::string pointer_ = manager::kCurrentRelease;
  bool install_only_ = false;
  bool backup_first_ = false;
  int limit_ = 20;
  CLI::App* check_ = nullptr;
  CLI::App* validate_ = nullptr;
  CLI::App* backup_ = nullptr;
  CLI::App* apply_ = nullptr;
  CLI::App* verify_ = nullptr;
  CLI::App* rollback_ = nullptr;
  CLI::App* history_ = nullptr;
};

} // namespace

CommandPtr makeDeployCommand() { return std::make_unique<DeployCommand>(); }

} // namespace forge::cli
