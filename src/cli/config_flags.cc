#include "cli/config_flags.h"

#include "cli/command.h"
#include "cli/output.h"

#include <CLI/CLI.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <algorithm>

#include <cstdio>

namespace forge::cli {

void ConfigFlags::addTo(CLI::App& app, std::initializer_list<std::string_view> flag_prefixes) {
  app_ = &app;
  app.add_option("-c,--config", config_path_,
                 fmt::format("Configuration file (default: ./{} when it exists)", default_file_));
  for (const auto& spec : schema_.keys()) {
    if (std::none_of(flag_prefixes.begin(), flag_prefixes.end(),
                     [&](std::string_view prefix) { return spec.key.starts_with(prefix); }))
      continue;
    const std::string flag = config::flagName(spec.key);
    std::string help = spec.help;
    if (!spec.default_value.empty()) help += fmt::format(" [default: {}]", spec.default_value);
    help += fmt::format(" (env {})", config::envName(spec.key));
    app.add_option(flag, values_[spec.key], help)->group("Configuration keys");
  }
}

config::Config ConfigFlags::load() const {
  config::LoadOptions options;
  options.default_path = default_file_;
  if (app_ && app_->count("--config") > 0) options.config_path = config_path_;
  options.environment = config::processEnvironment();
  for (const auto& spec : schema_.keys()) {
    if (app_ && values_.contains(spec.key) && app_->count(config::flagName(spec.key)) > 0) {
      options.flags.emplace_back(spec.key, values_.at(spec.key));
    }
  }
  return config::load(schema_, options);
}

int reportConfigError(const config::ConfigError& error) {
  std::fprintf(stderr, "forge: invalid configuration:\n");
  for (const auto& problem : error.problems())
    std::fprintf(stderr, "  %s\n", problem.c_str());
  std::fprintf(stderr, "Fix the values above (see docs/CONFIGURATION.md for every key), then "
                       "run the command again.\n");
  return kExitFailure;
}

void describeConfig(const config::Config& config, Table& table, boost::json::object& json) {
  for (const auto& [key, entry] : config.entries()) {
    const std::string value = config::display(entry.value);
    table.addRow({key, value, entry.origin});
    json[key] = boost::json::object{{"value", value}, {"origin", entry.origin}};
  }
}

} // namespace forge::cli
