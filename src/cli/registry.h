// The command registry and the entry point of the `forge` binary.
#pragma once

#include "cli/command.h"

#include <functional>
#include <vector>

namespace forge::cli {

using CommandFactory = std::function<CommandPtr()>;

// Every built-in command, in the order `forge --help` lists them.
std::vector<CommandFactory> builtinCommands();

// Parses argv, runs the chosen command, returns the process exit code.
int runMain(int argc, char** argv);

} // namespace forge::cli
