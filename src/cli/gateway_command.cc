// `forge gateway`: runs the MCP gateway in the foreground until SIGTERM/SIGINT.
#include "cli/commands.h"
#include "cli/config_flags.h"
#include "core/log.h"
#include "server/gateway.h"
#include "server/gateway_config.h"

#include <CLI/CLI.hpp>

namespace forge::cli {
namespace {

class GatewayCommand final : public Command {
public:
  GatewayCommand() : flags_(server::gatewaySchema()) {}

  std::string name() const override { return "gateway"; }
  std::string synopsis() const override { return "Run the MCP gateway (HTTP on 127.0.0.1:8000)"; }

  void setup(CLI::App& app) override {
    flags_.addTo(app);
    app.footer(
        "Examples:\n"
        "  forge gateway                         # embedded defaults, ./forge.yaml if present\n"
        "  forge gateway --config /etc/forge/forge.yaml --log-format json\n"
        "  FORGE_SERVER_PORT=9100 forge gateway\n"
        "Stops gracefully on SIGTERM or SIGINT (a second signal stops at once).");
  }

  int run() override {
    server::GatewayOptions options;
    try {
      options = server::gatewayOptions(flags_.load());
    } catch (const config::ConfigError& error) {
      return reportConfigError(error);
    }
    log::configure(options.log.level, options.log.format);
    server::Gateway gateway(options);
    if (auto status = gateway.start(); !status) {
      log::error("cannot start: {}", status.error().message);
      return kExitFailure;
    }
    gateway.run();
    return kExitOk;
  }

private:
  ConfigFlags flags_;
};

} // namespace

CommandPtr makeGatewayCommand() { return std::make_unique<GatewayCommand>(); }

} // namespace forge::cli
