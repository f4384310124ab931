// `forge debug bundle [-o FILE.tar.gz]`: everything a person debugging the stack asks for first,
// in one archive: the effective configuration, the gateway's /metrics, /version, /health and
// upstreams, the manager's services (`forge ps --json`) and recent logs (the log files under
// <data-dir>/logs, and through the manager's API those not here), `forge --version` and the
// system (kernel, CPUs, memory, disk). Every secret value known here (secrets.json, secret
// configuration keys, the token used) is replaced by [REDACTED] before it is written.
#include "cli/commands.h"
#include "cli/config_flags.h"
#include "cli/ops_support.h"
#include "cli/output.h"
#include "core/version.h"
#include "ops/bundle.h"
#include "ops/probe.h"
#include "server/gateway_config.h"

#include <CLI/CLI.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>
#include <fmt/format.h>

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace forge::cli {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

constexpr std::uintmax_t kLogBytes = 256 * 1024; // the end of each log file
constexpr int kServiceLogLines = 500;

struct Member {
  std::string name;
  std::string content;
};

std::string readTail(const fs::path& path, std::uintmax_t bytes) {
  std::ifstream in(path, std::ios::binary);
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (!in || ec) return {};
  if (size > bytes) in.seekg(static_cast<std::streamoff>(size - bytes));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string firstLines(const char* path, int lines) {
  std::ifstream in(path);
  std::string out, line;
  for (int i = 0; i < lines && std::getline(in, line); ++i)
    out += line + "\n";
  return out;
}

std::string timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &tm);
  return text;
}

class DebugCommand final : public Command {
public:
  std::string name() const override { return "debug"; }
  std::string synopsis() const override { return "Collect a debug bundle (secrets redacted)"; }

  void setup(CLI::App& app) override {
    app.require_subcommand(1);
    bundle_ = app.add_subcommand("bundle", "Write configuration, logs, metrics and versions "
                                           "into one .tar.gz, secrets redacted");
    bundle_->add_option("-o,--output", output_, "The archive (default: forge-debug-<time>.tar.gz)");
    bundle_->add_option("--config", config_path_,
                        "The gateway's configuration (default: ./forge.yaml when it exists)");
    connection_.addOptions(*bundle_, Reach::kBoth);
    bundle_->footer("The archive is created with mode 0600. Secret values found in secrets.json, "
                    "in secret\nconfiguration keys and the token used are replaced by [REDACTED].\n"
                    "Examples:\n  forge debug bundle\n  forge debug bundle -o /tmp/forge.tar.gz "
                    "--data-dir /var/lib/forge");
    app.footer("Example:\n  forge debug bundle -o forge-debug.tar.gz");
  }

  int run() override {
    if (output_.empty()) output_ = fmt::format("forge-debug-{}.tar.gz", timestamp());
    std::vector<Member> members;
    const std::vector<std::pair<const char*, void (DebugCommand::*)(std::vector<Member>&)>> parts{
        {"version and system", &DebugCommand::addSystem},
        {"configuration", &DebugCommand::addConfig},
        {"gateway", &DebugCommand::addGateway},
        {"log files", &DebugCommand::addLogFiles},
        {"manager and services", &DebugCommand::addManager}};
    int step = 0;
    for (const auto& [what, add] : parts) {
      progress(fmt::format("[{}/{}] {}", ++step, parts.size() + 1, what));
      (this->*add)(members);
    }
    progress(fmt::format("[{}/{}] writing {}", parts.size() + 1, parts.size() + 1, output_));
    const auto secrets = secretValues();
    auto archive = ops::TarGzWriter::create(output_);
    if (!archive) return connection_.fail(kExitFailure, archive.error().message);
    std::uintmax_t bytes = 0;
    for (auto& member : members) {
      member.content = ops::redact(std::move(member.content), secrets);
      bytes += member.content.size();
      if (auto added = archive->add("forge-debug/" + member.name, member.content); !added)
        return connection_.fail(kExitFailure, added.error().message);
    }
    if (auto done = archive->finish(); !done)
      return connection_.fail(kExitFailure, done.error().message);
    std::error_code ec;
    const auto size = fs::file_size(output_, ec);
    Table table({"file", "bytes"});
    json::array files;
    for (const auto& member : members) {
      table.addRow({member.name, std::to_string(member.content.size())});
      files.push_back(json::object{{"name", member.name}, {"bytes", member.content.size()}});
    }
    if (connection_.json()) {
      printResult(true, table,
                  json::object{{"archive", output_},
                               {"bytes", ec ? 0 : size},
                               {"content_bytes", bytes},
                               {"files", files},
                               {"notes", json::value_from(notes_)}});
    } else {
      fmt::print("{}", table.render());
      for (const auto& note : notes_)
        fmt::print("note: {}\n", note);
      fmt::print("wrote {} ({}, {} files, secrets redacted)\n", output_,
                 bytesText(static_cast<double>(ec ? 0 : size)), members.size());
    }
    return kExitOk;
  }

private:
  void progress(const std::string& line) const {
    if (!connection_.json()) std::fprintf(stderr, "%s\n", line.c_str());
  }

  void addSystem(std::vector<Member>& members) {
    members.push_back({"forge-version.txt", fmt::format("forge {} ({}, {})\n", core::kVersion,
                                                        core::kGitCommit, core::kBuildType)});
    std::string system;
    if (utsname u{}; ::uname(&u) == 0)
      system += fmt::format("kernel: {} {} {} {}\n", u.sysname, u.release, u.version, u.machine);
    system += fmt::format("cpus: {}\n", ::sysconf(_SC_NPROCESSORS_ONLN));
    system += fmt::format("time: {}\n", timestamp());
    if (auto disk = ops::diskUsage(fs::exists(connection_.dataDir()) ? connection_.dataDir() : "."))
      system += fmt::format("disk of {}: {:.0f} % used, {} free of {}\n", connection_.dataDir(),
                            disk->usedPercent(), bytesText(static_cast<double>(disk->free_bytes)),
                            bytesText(static_cast<double>(disk->total_bytes)));
    system += "\n/proc/loadavg: " + firstLines("/proc/loadavg", 1);
    system += "\n/proc/meminfo:\n" + firstLines("/proc/meminfo", 8);
    members.push_back({"system.txt", system});
  }

  void addConfig(std::vector<Member>& members) {
    config::LoadOptions load;
    if (!config_path_.empty()) load.config_path = config_path_;
    load.environment = config::processEnvironment();
    try {
      config_ = config::load(server::gatewaySchema(), load);
      Table table({"key", "value", "origin"});
      json::object json;
      describeConfig(*config_, table, json);
      members.push_back({"config.txt", table.render()});
    } catch (const config::ConfigError& error) {
      std::string text = "the configuration does not load:\n";
      for (const auto& p : error.problems())
        text += p + "\n";
      members.push_back({"config.txt", text});
      notes_.push_back("the configuration has errors: see config.txt");
    }
  }

  // GETs `path` into the member `name`; notes what could not be fetched.
  void fetch(const ApiClient& api, const std::string& path, const std::string& name,
             std::vector<Member>& members) {
    std::string error;
    const auto answer = get(api, path, error);
    if (!answer) {
      notes_.push_back(fmt::format("{}{}: {}", api.base(), path, error));
      return;
    }
    if (answer->status != 200)
      notes_.push_back(fmt::format("{}{}: {}", api.base(), path, ApiClient::detail(*answer)));
    members.push_back(
        {name, answer->body.is_null() ? answer->text : json::serialize(answer->body) + "\n"});
  }

  void addGateway(std::vector<Member>& members) {
    const ApiClient api = gatewayClient(connection_);
    fetch(api, "/health", "gateway/health.json", members);
    fetch(api, "/version", "gateway/version.json", members);
    fetch(api, "/metrics", "gateway/metrics.txt", members);
    fetch(api, "/gateways?include_inactive=true&limit=0", "gateway/upstreams.json", members);
    fetch(api, "/admin/log-level", "gateway/log-level.json", members);
  }

  void addManager(std::vector<Member>& members) {
    const ApiClient api = managerClient(connection_);
    std::string error;
    const auto services = get(api, "/services", error);
    if (!services || services->status != 200) {
      notes_.push_back(fmt::format("the manager at {} did not list services: {}", api.base(),
                                   services ? ApiClient::detail(*services) : error));
      return;
    }
    members.push_back({"manager/ps.json", json::serialize(services->body) + "\n"});
    fetch(api, "/health", "manager/health.json", members);
    fetch(api, "/metrics", "manager/metrics.txt", members);
    for (const auto& service : services->body.as_array()) {
      const std::string name = textOf(service, "name");
      const auto& replicas = service.as_object().at("replicas").as_array();
      for (std::size_t i = 0; i < replicas.size(); ++i) {
        // The manager's own file, when it is here, holds more than its API returns.
        const std::string file = fmt::format("logs/{}-{}.log", name, i);
        if (std::any_of(members.begin(), members.end(),
                        [&file](const Member& m) { return m.name == file; }))
          continue;
        const auto logs =
            get(api, fmt::format("/services/{}/logs?tail={}&replica={}", name, kServiceLogLines, i),
                error);
        if (!logs || logs->status != 200) continue;
        std::string text;
        for (const auto& line : logs->body.as_object().at("lines").as_array())
          text += std::string(line.as_string()) + "\n";
        members.push_back({fmt::format("services/{}-{}.log", name, i), text});
      }
    }
  }

  void addLogFiles(std::vector<Member>& members) {
    const fs::path logs = fs::path(connection_.dataDir()) / "logs";
    std::error_code ec;
    if (!fs::is_directory(logs, ec)) {
      notes_.push_back(fmt::format("no log directory at {}", logs.string()));
      return;
    }
    for (const auto& entry : fs::recursive_directory_iterator(logs, ec)) {
      if (!entry.is_regular_file()) continue;
      const auto relative = fs::relative(entry.path(), logs).string();
      members.push_back({"logs/" + relative, readTail(entry.path(), kLogBytes)});
    }
  }

  // Every secret value this command can know of.
  std::vector<std::string> secretValues() {
    std::vector<std::string> values;
    std::ifstream in(fs::path(connection_.dataDir()) / "secrets.json");
    std::ostringstream text;
    text << in.rdbuf();
    boost::system::error_code ec;
    const auto parsed = json::parse(text.str(), ec);
    if (!ec && parsed.is_object()) {
      for (const auto& [key, value] : parsed.as_object())
        if (value.is_string()) values.emplace_back(value.as_string());
    }
    if (config_) {
      for (const auto& [key, entry] : config_->entries()) {
        if (const auto* secret = std::get_if<core::Secret>(&entry.value))
          if (!secret->reveal().empty()) values.push_back(secret->reveal());
      }
    }
    if (auto token = connection_.token(); token && !token->empty()) values.push_back(*token);
    for (const char* name : {"JWT_SECRET_KEY", "AUTH_ENCRYPTION_SECRET", "PLATFORM_ADMIN_PASSWORD",
                             "DATABASE_URL", "REDIS_URL", "FORGE_TOKEN", "MCP_GATEWAY_TOKEN"})
      if (auto value = fromEnvironment({name}); !value.empty()) values.push_back(value);
    return values;
  }

  Connection connection_;
  CLI::App* bundle_ = nullptr;
  std::string output_;
  std::string config_path_;
  std::optional<config::Config> config_;
  std::vector<std::string> notes_;
};

} // namespace

CommandPtr makeDebugCommand() { return std::make_unique<DebugCommand>(); }

} // namespace forge::cli
