// Running a program to completion for an operation (`forge --version` of a new binary, another
// forge subcommand): its exit code and output, within a deadline.
#pragma once

#include "core/error.h"

#include <chrono>
#include <string>
#include <vector>

namespace forge::ops {

struct ProgramOutput {
  int exit_code = -1; // 128 + signal when killed
  std::string out;
  std::string err;
};

// Runs argv (argv[0] a path, or a name looked up in PATH) with stdin from /dev/null. After
// `timeout` the program is killed and the answer is kTimeout. kNotFound when it cannot be run.
core::Result<ProgramOutput> runProgram(const std::vector<std::string>& argv,
                                       std::chrono::milliseconds timeout);

// The path of the running executable (/proc/self/exe resolved).
std::string selfExecutable();

} // namespace forge::ops
