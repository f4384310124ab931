// Forge's configuration: a schema of typed keys, and the loader that fills it from, in order of
// precedence, built-in defaults < forge.yaml < FORGE_* environment variables < command-line flags.
//
// Each component declares the keys it owns (a KeySpec per key, grouped in a Schema) and reads
// them back typed. Everything is validated at start-up: an unknown key or a bad value stops the
// process with a message that names the key and where it came from ("forge.yaml:12",
// "environment FORGE_SERVER_PORT", "flag --server-port"). Loading throws ConfigError; this is
// start-up code, not the request path.
#pragma once

#include "core/secret.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace forge::config {

enum class Type {
  kString,
  kSecret, // a string that is never printed (core::Secret)
  kInt,
  kBool,
  kDuration,   // "250ms", "10s", "5m", "1h"; a bare number is seconds
  kSize,       // "512", "16KiB", "4MiB", "1GiB", "10MB"; a bare number is bytes
  kEnum,       // one of KeySpec::choices
  kStringList, // YAML sequence of scalars
  kStringMap,  // YAML mapping of scalar to scalar
};

const char* typeName(Type type);

// One configuration key.
struct KeySpec {
  std::string key; // dotted path, e.g. "server.port"
  Type type = Type::kString;
  std::string default_value;            // as it would be written in YAML; empty for no default
  std::string help;                     // one line, shown by --help and `forge config show`
  std::vector<std::string> choices;     // kEnum only
  std::int64_t min = INT64_MIN;         // kInt only
  std::int64_t max = INT64_MAX;         // kInt only
  bool required = false;                // list items: the field must be present
  std::vector<std::string> env_aliases; // extra environment names, e.g. DATABASE_URL
};

// Schema of a list section such as `upstreams:`: each item is a mapping with these fields.
struct ListSpec {
  std::string key;
  std::string help;
  std::vector<KeySpec> fields;
};

class Schema {
public:
  Schema& add(KeySpec spec);
  Schema& addList(ListSpec spec);
  Schema& merge(const Schema& other);

  const KeySpec* find(std::string_view key) const;
  const ListSpec* findList(std::string_view key) const;
  const std::vector<KeySpec>& keys() const { return keys_; }
  const std::vector<ListSpec>& lists() const { return lists_; }

private:
  std::vector<KeySpec> keys_;
  std::vector<ListSpec> lists_;
};

// The environment variable of a key: "server.port" -> "FORGE_SERVER_PORT".
std::string envName(std::string_view key);
// The flag of a key: "server.port" -> "--server-port".
std::string flagName(std::string_view key);

using StringList = std::vector<std::string>;
using StringMap = std::map<std::string, std::string>;
using Value = std::variant<std::string, core::Secret, std::int64_t, bool, std::chrono::milliseconds,
                           std::uint64_t, StringList, StringMap>;

// A value and where it came from: "default", "forge.yaml:12", "environment FORGE_X", "flag --x".
struct Entry {
  Value value;
  std::string origin;
};

// Typed read access to a set of entries (the top level, or one item of a list section).
class Values {
public:
  bool has(std::string_view key) const;
  std::string string(std::string_view key) const;
  core::Secret secret(std::string_view key) const;
  std::int64_t integer(std::string_view key) const;
  bool boolean(std::string_view key) const;
  std::chrono::milliseconds duration(std::string_view key) const;
  std::uint64_t size(std::string_view key) const;
  StringList stringList(std::string_view key) const;
  StringMap stringMap(std::string_view key) const;
  const Entry* entry(std::string_view key) const;
  std::string origin(std::string_view key) const;

  // Used by the loader.
  void set(std::string key, Entry entry) { entries_[std::move(key)] = std::move(entry); }
  const std::map<std::string, Entry, std::less<>>& entries() const { return entries_; }

private:
  std::map<std::string, Entry, std::less<>> entries_;
};

struct Config : Values {
  std::string source_file; // the forge.yaml that was read, or empty
  std::map<std::string, std::vector<Values>, std::less<>> lists;

  const std::vector<Values>& list(std::string_view key) const;
};

// What the loader reads besides the schema.
struct LoadOptions {
  std::optional<std::string> config_path; // --config; if unset, ./forge.yaml when present
  std::string default_path = "forge.yaml";
  std::vector<std::pair<std::string, std::string>> environment; // name=value pairs
  std::vector<std::pair<std::string, std::string>> flags;       // key -> value from the CLI
};

// All problems found while loading, one per line.
class ConfigError : public std::runtime_error {
public:
  explicit ConfigError(std::vector<std::string> problems);
  const std::vector<std::string>& problems() const { return problems_; }

private:
  std::vector<std::string> problems_;
};

// Loads and validates. Throws ConfigError listing every problem found.
Config load(const Schema& schema, const LoadOptions& options);

// The process environment as name/value pairs (for LoadOptions::environment).
std::vector<std::pair<std::string, std::string>> processEnvironment();

// Parses one scalar as `spec` says; returns an error message on failure.
std::variant<Value, std::string> parseScalar(const KeySpec& spec, std::string_view text);

// Renders a value for display; secrets print as [REDACTED].
std::string display(const Value& value);

} // namespace forge::config
