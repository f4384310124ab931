// A `forge` subcommand. Each command lives in its own file, declares its options in setup()
// and does its work in run(). The registry (registry.cc) lists them; adding a command means
// adding its file and one line there.
//
// Exit codes: 0 success; 1 failure (stderr says what to do); 2 bad usage; 3 unhealthy or
// critical, 4 warning (for commands that check health: ops::exitCodeOf).
#pragma once

#include <memory>
#include <string>

namespace CLI {
class App;
}

namespace forge::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnhealthy = 3;
inline constexpr int kExitWarning = 4;

class Command {
public:
  virtual ~Command() = default;
  virtual std::string name() const = 0;
  virtual std::string synopsis() const = 0;
  // Declares options (and nested commands) on this command's CLI11 app.
  virtual void setup(CLI::App& app) = 0;
  // Runs once the command line has been parsed; returns the exit code.
  virtual int run() = 0;
};
using CommandPtr = std::unique_ptr<Command>;

} // namespace forge::cli
