// `forge config validate|show`: checks a configuration without starting anything, and shows
// the effective value of every key with where it came from (secrets redacted).
#include "cli/commands.h"
#include "cli/config_flags.h"
#include "cli/output.h"
#include "server/gateway_config.h"

#include <CLI/CLI.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

namespace forge::cli {
namespace {

class ConfigCommand final : public Command {
public:
  ConfigCommand() : flags_(server::gatewaySchema()) {}

  std::string name() const override { return "config"; }
  std::string synopsis() const override { return "Validate or show the configuration"; }

  void setup(CLI::App& app) override {
    app.require_subcommand(1);
    validate_ = app.add_subcommand("validate", "Check forge.yaml, FORGE_* variables and flags; "
                                               "exit 1 with every problem listed");
    show_ = app.add_subcommand("show", "Print every key's effective value and its origin");
    show_->add_flag("--json", json_, "Print JSON instead of a table");
    flags_.addTo(*validate_);
    // `show` takes the same flags; declare them on a second instance bound to that app.
    show_flags_ = std::make_unique<ConfigFlags>(flags_.schema());
    show_flags_->addTo(*show_);
    app.footer("Examples:\n  forge config validate --config forge.yaml\n"
               "  forge config show --json");
  }

  int run() override {
    const ConfigFlags& chosen = show_->parsed() ? *show_flags_ : flags_;
    config::Config config;
    try {
      config = chosen.load();
    } catch (const config::ConfigError& error) {
      return reportConfigError(error);
    }
    if (validate_->parsed()) {
      fmt::print("configuration is valid ({})\n",
                 config.source_file.empty() ? "built-in defaults" : config.source_file);
      return kExitOk;
    }
    Table table({"key", "value", "origin"});
    boost::json::object json;
    describeConfig(config, table, json);
    printResult(json_, table, json);
    return kExitOk;
  }

private:
  ConfigFlags flags_;
  std::unique_ptr<ConfigFlags> show_flags_;
  CLI::App* validate_ = nullptr;
  CLI::App* show_ = nullptr;
  bool json_ = false;
};

} // namespace

CommandPtr makeConfigCommand() { return std::make_unique<ConfigCommand>(); }

} // namespace forge::cli
