// Runs an external program (pg_dump, pg_restore, systemctl) to completion and captures what it
// printed. The program is looked up on PATH; `environment` entries ("NAME=value") are added to
// this process's environment for it (a password for libpq travels this way, never in argv).
#pragma once

#include "core/error.h"

#include <chrono>
#include <string>
#include <vector>

namespace forge::ops {

struct ProgramOutput {
  int exit_code = -1; // 128 + signal when killed by one
  std::string out;
  std::string err;
};

// kNotFound when the program is not installed (the message says so, naming `install_hint`,
// e.g. "install postgresql-client"); kTimeout (the program killed) when it runs longer than
// `timeout`; otherwise the output whatever the exit code. stdin is /dev/null.
core::Result<ProgramOutput> runProgram(const std::vector<std::string>& argv,
                                       const std::vector<std::string>& environment = {},
                                       const std::string& install_hint = {},
                                       std::chrono::milliseconds timeout = std::chrono::hours(6));

// The same with a deadline and nothing added to the environment.
inline core::Result<ProgramOutput> runProgram(const std::vector<std::string>& argv,
                                              std::chrono::milliseconds timeout) {
  return runProgram(argv, {}, {}, timeout);
}

// The path of the running executable (/proc/self/exe resolved).
std::string selfExecutable();

// True if `name` is an executable on PATH.
bool onPath(const std::string& name);

// The last non-empty line of a program's stderr (its error message), or "exit status N".
std::string lastErrorLine(const ProgramOutput& output);

} // namespace forge::ops
