#include "cli/registry.h"

#include "cli/commands.h"
#include "core/version.h"

#include <CLI/CLI.hpp>
#include <csignal>
#include <fmt/format.h>

namespace forge::cli {

std::vector<CommandFactory> builtinCommands() {
  // One per line, in the order `forge --help` lists them.
  // clang-format off
  return {
      makeGatewayCommand,
      makeConfigCommand,
      makeTranslateCommand,
      makeWrapperCommand,
      makeRegisterCommand,
      makeTokenCommand,
      makeManagerCommand,
      makeUpCommand,
      makeDownCommand,
      makePsCommand,
      makeRestartCommand,
      makeScaleCommand,
      makeLogsCommand,
      makeAutoscaleCommand,
      makeBackupCommand,
      makeDrCommand,
      makeDbCommand,
      makePruneCommand,
      makeIncidentCommand,
      makeMonitorCommand,
      makeReportCommand,
      makeDeployCommand,
      makeBlueGreenCommand,
      makeHealthCommand,
      makeSmokeTestCommand,
      makeVerifyCommand,
      makeDoctorCommand,
      makeStatsCommand,
      makeLogLevelCommand,
      makeDebugCommand,
      makeSecurityCommand,
      makeAccessCommand,
      makeCertsCommand,
  };
  // clang-format on
}

int runMain(int argc, char** argv) {
  // Writing to a peer that has gone (an upstream's stdin, a client socket) must be an error
  // value on that one channel, not the death of the process.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"Forge: a fast, self-hosted Model Context Protocol gateway", "forge"};
  app.set_version_flag("-v,--version", fmt::format("forge {} ({}, {})", core::kVersion,
                                                   core::kGitCommit, core::kBuildType));
  app.require_subcommand(1);
  app.footer("Run 'forge COMMAND --help' for a command's options.\n"
             "Documentation: README.md and docs/ in the source tree.");

  std::vector<CommandPtr> commands;
  std::vector<CLI::App*> apps;
  for (const auto& factory : builtinCommands()) {
    commands.push_back(factory());
    apps.push_back(app.add_subcommand(commands.back()->name(), commands.back()->synopsis()));
    commands.back()->setup(*apps.back());
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  for (std::size_t i = 0; i < commands.size(); ++i) {
    if (apps[i]->parsed()) return commands[i]->run();
  }
  return kExitUsage;
}

} // namespace forge::cli
