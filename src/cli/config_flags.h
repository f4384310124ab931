// ConfigFlags: the options every configuration-reading command shares: --config PATH, and one
// flag per configuration key (--server-port 9000, --log-level debug, ...), generated from the
// schema so that every key can be set from the command line.
#pragma once

#include "config/config.h"

#include <boost/json/fwd.hpp>

#include <initializer_list>
#include <map>
#include <string>
#include <string_view>

namespace CLI {
class App;
}

namespace forge::cli {

class ConfigFlags {
public:
  explicit ConfigFlags(config::Schema schema, std::string default_file = "forge.yaml")
      : schema_(std::move(schema)), default_file_(std::move(default_file)) {}

  // Declares --config and the per-key flags on `app`; with prefixes ("monitor."), flags only
  // for the keys under one of them (the others are still read from the file and the
  // environment).
  void addTo(CLI::App& app, std::initializer_list<std::string_view> flag_prefixes = {""});
  // Loads the configuration (defaults < file < FORGE_* environment < flags). Throws ConfigError.
  config::Config load() const;
  const config::Schema& schema() const { return schema_; }

private:
  config::Schema schema_;
  std::string default_file_; // read when present and --config is not given
  std::string config_path_;
  std::map<std::string, std::string> values_;
  CLI::App* app_ = nullptr;
};

// Every key's effective value (secrets as [REDACTED]) and origin, as `forge config show` prints
// them: a table (KEY, VALUE, ORIGIN) and JSON {"key": {"value", "origin"}}.
class Table;
void describeConfig(const config::Config& config, Table& table, boost::json::object& json);

// Prints a ConfigError the way every command does, with a hint; returns kExitFailure.
int reportConfigError(const config::ConfigError& error);

} // namespace forge::cli
