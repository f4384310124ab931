// `forge manager`: runs the service manager in the foreground until SIGTERM/SIGINT.
#include "cli/commands.h"
#include "cli/config_flags.h"
#include "core/log.h"
#include "manager/manager.h"
#include "manager/service_config.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace forge::cli {
namespace {

class ManagerCommand final : public Command {
public:
  ManagerCommand() : flags_(manager::managerSchema(), "services.yml") {}

  std::string name() const override { return "manager"; }
  std::string synopsis() const override {
    return "Run the service manager (services.yml; API on 127.0.0.1:9000)";
  }

  void setup(CLI::App& app) override {
    flags_.addTo(app);
    app.footer(
        "Supervises the processes of services.yml: start, stop, restart, scale, health checks,\n"
        "restart with back-off, log capture, sleep and wake of idle MCP servers. Children never\n"
        "outlive the manager, even when it is killed with SIGKILL.\n"
        "Examples:\n"
        "  forge manager                          # ./services.yml when present\n"
        "  forge manager --config /etc/forge/services.yml --manager-port 9000\n"
        "  curl -H \"Authorization: Bearer $TOKEN\" http://127.0.0.1:9000/services\n"
        "See docs/MANAGER.md for the file format.");
  }

  int run() override {
    manager::ManagerOptions options;
    try {
      options = manager::managerOptions(flags_.load());
    } catch (const config::ConfigError& error) {
      return reportConfigError(error);
    }
    log::configure(options.log.level, options.log.format);
    // POST /reload reads the same file again, with the same flags and environment; only the
    // services are taken (the manager's own keys need a restart of the manager).
    options.reload = [this]() -> core::Result<std::vector<manager::ServiceConfig>> {
      try {
        return manager::managerOptions(flags_.load()).services;
      } catch (const config::ConfigError& error) {
        return core::Error{
            core::Errc::kUnprocessable,
            fmt::format("services.yml is not valid: {}", fmt::join(error.problems(), "; "))};
      }
    };
    manager::Manager manager(options);
    if (auto status = manager.start(); !status) {
      log::error("cannot start: {}", status.error().message);
      return kExitFailure;
    }
    manager.run();
    return kExitOk;
  }

private:
  ConfigFlags flags_;
};

} // namespace

CommandPtr makeManagerCommand() { return std::make_unique<ManagerCommand>(); }

} // namespace forge::cli
