// Splits a command line the way a shell would for simple cases: words separated by spaces,
// "double" and 'single' quotes group, backslash escapes the next character.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace forge::cli {

std::vector<std::string> splitCommand(std::string_view line);

} // namespace forge::cli
