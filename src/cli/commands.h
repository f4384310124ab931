// Factories of the built-in commands (one file each).
#pragma once

#include "cli/command.h"

namespace forge::cli {

CommandPtr makeGatewayCommand();
CommandPtr makeConfigCommand();

} // namespace forge::cli
