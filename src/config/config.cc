// The configuration loader: defaults, then forge.yaml, then FORGE_* variables, then flags.
#include "config/config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>

extern char** environ;

namespace forge::config {
namespace {

// ---------------------------------------------------------------------------------------------
// Scalar parsing
// ---------------------------------------------------------------------------------------------

std::optional<std::int64_t> parseInt(std::string_view text) {
  std::int64_t value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

// Splits "10s" into (10, "s"). The number must be a non-negative integer.
std::optional<std::pair<std::uint64_t, std::string>> splitUnit(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])))
    ++digits;
  if (digits == 0) return std::nullopt;
  std::uint64_t number = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + digits, number);
  if (ec != std::errc()) return std::nullopt;
  std::string unit(text.substr(digits));
  unit.erase(std::remove(unit.begin(), unit.end(), ' '), unit.end());
  return std::make_pair(number, unit);
}

std::optional<std::chrono::milliseconds> parseDuration(std::string_view text) {
  auto split = splitUnit(text);
  if (!split) return std::nullopt;
  const auto [n, unit] = *split;
  constexpr std::uint64_t kMaxMs = 1ULL << 50;
  std::uint64_t factor = 0;
  if (unit == "ms")
    factor = 1;
  else if (unit.empty() || unit == "s")
    factor = 1000;
  else if (unit == "m")
    factor = 60'000;
  else if (unit == "h")
    factor = 3'600'000;
  else if (unit == "d")
    factor = 86'400'000;
  else
    return std::nullopt;
  if (n > kMaxMs / factor) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(n * factor));
}

std::optional<std::uint64_t> parseSize(std::string_view text) {
  auto split = splitUnit(text);
  if (!split) return std::nullopt;
  auto [n, unit] = *split;
  std::transform(unit.begin(), unit.end(), unit.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::uint64_t factor = 0;
  if (unit.empty() || unit == "b")
    factor = 1;
  else if (unit == "kb")
    factor = 1000;
  else if (unit == "kib" || unit == "k")
    factor = 1024;
  else if (unit == "mb")
    factor = 1000 * 1000;
  else if (unit == "mib" || unit == "m")
    factor = 1024 * 1024;
  else if (unit == "gb")
    factor = 1000ULL * 1000 * 1000;
  else if (unit == "gib" || unit == "g")
    factor = 1024ULL * 1024 * 1024;
  else
    return std::nullopt;
  if (n > (1ULL << 60) / factor) return std::nullopt;
  return n * factor;
}

std::optional<bool> parseBool(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "true" || lower == "yes" || lower == "on" || lower == "1") return true;
  if (lower == "false" || lower == "no" || lower == "off" || lower == "0") return false;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Suggestions for misspelt keys
// ---------------------------------------------------------------------------------------------

std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string suggestion(std::string_view key, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = 3; // only close matches are worth suggesting
  for (const auto& candidate : candidates) {
    const std::size_t d = editDistance(key, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", best);
}

// ---------------------------------------------------------------------------------------------
// YAML reading
// ---------------------------------------------------------------------------------------------

std::string yamlOrigin(const std::string& file, const YAML::Node& node) {
  return fmt::format("{}:{}", file, node.Mark().line + 1);
}

class YamlReader {
public:
  YamlReader(const Schema& schema, std::string file, std::vector<std::string>& problems)
      : schema_(schema), file_(std::move(file)), problems_(problems) {}

  void readRoot(const YAML::Node& root, Config& out) {
    if (!root || root.IsNull()) return;
    if (!root.IsMap()) {
      problem(root, "the top level must be a mapping of keys to values");
      return;
    }
    readMap(root, "", out);
  }

private:
  void problem(const YAML::Node& node, const std::string& what) {
    problems_.push_back(fmt::format("{}: {}", yamlOrigin(file_, node), what));
  }

  bool isPrefixOfKnownKey(const std::string& path) const {
    const std::string prefix = path + ".";
    return std::any_of(schema_.keys().begin(), schema_.keys().end(),
                       [&](const KeySpec& k) { return k.key.rfind(prefix, 0) == 0; });
  }

  std::vector<std::string> allKeys() const {
    std::vector<std::string> names;
    for (const auto& k : schema_.keys())
      names.push_back(k.key);
    for (const auto& l : schema_.lists())
      names.push_back(l.key);
    return names;
  }

  void readMap(const YAML::Node& map, const std::string& prefix, Config& out) {
    for (const auto& item : map) {
      const std::string name = item.first.as<std::string>();
      const std::string path = prefix.empty() ? name : prefix + "." + name;
      if (const KeySpec* spec = schema_.find(path)) {
        readValue(*spec, item.second, path, out);
      } else if (const ListSpec* list = schema_.findList(path)) {
        readList(*list, item.second, out);
      } else if (item.second.IsMap() && isPrefixOfKnownKey(path)) {
        readMap(item.second, path, out);
      } else {
        problem(item.first, fmt::format("unknown key '{}'{}", path, suggestion(path, allKeys())));
      }
    }
  }

  void readValue(const KeySpec& spec, const YAML::Node& node, const std::string& name,
                 Values& out) {
    auto parsed = nodeValue(spec, node, name);
    if (parsed) out.set(spec.key, Entry{std::move(*parsed), yamlOrigin(file_, node)});
  }

  std::optional<Value> nodeValue(const KeySpec& spec, const YAML::Node& node,
                                 const std::string& name) {
    if (spec.type == Type::kStringList) {
      if (node.IsNull()) return Value(StringList{});
      if (!node.IsSequence()) {
        problem(node, fmt::format("'{}' must be a list of strings", name));
        return std::nullopt;
      }
      StringList list;
      for (const auto& element : node) {
        if (!element.IsScalar()) {
          problem(element, fmt::format("'{}' must be a list of strings", name));
          return std::nullopt;
        }
        list.push_back(element.Scalar());
      }
      return Value(std::move(list));
    }
    if (spec.type == Type::kStringMap) {
      if (node.IsNull()) return Value(StringMap{});
      if (!node.IsMap()) {
        problem(node, fmt::format("'{}' must be a mapping of names to strings", name));
        return std::nullopt;
      }
      StringMap map;
      for (const auto& element : node) {
        if (!element.second.IsScalar()) {
          problem(element.second,
                  fmt::format("'{}.{}' must be a string", name, element.first.as<std::string>()));
          return std::nullopt;
        }
        map[element.first.as<std::string>()] = element.second.Scalar();
      }
      return Value(std::move(map));
    }
    if (!node.IsScalar()) {
      problem(node, fmt::format("'{}' must be a single {} value", name, typeName(spec.type)));
      return std::nullopt;
    }
    auto parsed = parseScalar(spec, node.Scalar());
    if (auto* message = std::get_if<std::string>(&parsed)) {
      problem(node, fmt::format("'{}': {}", name, *message));
      return std::nullopt;
    }
    return std::get<Value>(std::move(parsed));
  }

  void readList(const ListSpec& list, const YAML::Node& node, Config& out) {
    auto& items = out.lists[list.key];
    if (node.IsNull()) return;
    if (!node.IsSequence()) {
      problem(node, fmt::format("'{}' must be a list", list.key));
      return;
    }
    std::size_t index = 0;
    for (const auto& element : node) {
      const std::string item_name = fmt::format("{}[{}]", list.key, index++);
      if (!element.IsMap()) {
        problem(element, fmt::format("'{}' must be a mapping", item_name));
        continue;
      }
      items.push_back(readItem(list, element, item_name));
    }
  }

  // Reads an item's fields; a nested mapping ("health: {path: /health}") fills the dotted fields
  // under it ("health.path").
  void readFields(const ListSpec& list, const YAML::Node& node, const std::string& prefix,
                  const std::string& item_name, const std::vector<std::string>& field_names,
                  Values& values) {
    for (const auto& field : node) {
      const std::string key = prefix + field.first.as<std::string>();
      auto spec = std::find_if(list.fields.begin(), list.fields.end(),
                               [&](const KeySpec& f) { return f.key == key; });
      if (spec != list.fields.end()) {
        readValue(*spec, field.second, item_name + "." + key, values);
        continue;
      }
      const bool parent =
          std::any_of(list.fields.begin(), list.fields.end(),
                      [&](const KeySpec& f) { return f.key.starts_with(key + "."); });
      if (parent && field.second.IsMap()) {
        readFields(list, field.second, key + ".", item_name, field_names, values);
        continue;
      }
      problem(field.first,
              fmt::format("unknown key '{}.{}'{}", item_name, key, suggestion(key, field_names)));
    }
  }

  Values readItem(const ListSpec& list, const YAML::Node& element, const std::string& item_name) {
    Values values;
    std::vector<std::string> field_names;
    for (const auto& f : list.fields)
      field_names.push_back(f.key);
    readFields(list, element, "", item_name, field_names, values);
    for (const auto& spec : list.fields) {
      if (values.has(spec.key)) continue;
      if (spec.required) {
        problem(element, fmt::format("'{}' is missing the required key '{}'", item_name, spec.key));
      } else if (!spec.default_value.empty()) {
        auto parsed = parseScalar(spec, spec.default_value);
        if (auto* v = std::get_if<Value>(&parsed)) values.set(spec.key, Entry{*v, "default"});
      }
    }
    return values;
  }

  const Schema& schema_;
  std::string file_;
  std::vector<std::string>& problems_;
};

// The names under which a key may be set in the environment.
std::vector<std::string> environmentNames(const KeySpec& spec) {
  std::vector<std::string> names{envName(spec.key)};
  names.insert(names.end(), spec.env_aliases.begin(), spec.env_aliases.end());
  return names;
}

bool isListOrMap(Type type) { return type == Type::kStringList || type == Type::kStringMap; }

// Environment and flags carry text; lists are comma-separated, maps are "a=1,b=2".
std::variant<Value, std::string> parseText(const KeySpec& spec, std::string_view text) {
  if (!isListOrMap(spec.type)) return parseScalar(spec, text);
  StringList parts;
  std::size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    const std::size_t comma = text.find(',', start);
    parts.emplace_back(
        text.substr(start, comma == std::string_view::npos ? text.npos : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (spec.type == Type::kStringList) return Value(std::move(parts));
  StringMap map;
  for (const auto& part : parts) {
    const auto eq = part.find('=');
    if (eq == std::string::npos)
      return std::string("expected name=value pairs separated by commas");
    map[part.substr(0, eq)] = part.substr(eq + 1);
  }
  return Value(std::move(map));
}

void applyDefaults(const Schema& schema, Config& config) {
  for (const auto& spec : schema.keys()) {
    if (spec.default_value.empty() && spec.type != Type::kString && spec.type != Type::kSecret &&
        !isListOrMap(spec.type)) {
      continue;
    }
    auto parsed = parseText(spec, spec.default_value);
    if (auto* value = std::get_if<Value>(&parsed)) {
      config.set(spec.key, Entry{std::move(*value), "default"});
    } else {
      throw std::logic_error(fmt::format("bad built-in default for '{}': {}", spec.key,
                                         std::get<std::string>(parsed)));
    }
  }
  for (const auto& list : schema.lists())
    config.lists[list.key];
}

void applyFile(const Schema& schema, const LoadOptions& options, Config& config,
               std::vector<std::string>& problems) {
  std::string path;
  if (options.config_path) {
    path = *options.config_path;
    if (!std::filesystem::exists(path)) {
      problems.push_back(fmt::format("{}: configuration file not found (given by --config)", path));
      return;
    }
  } else if (std::filesystem::exists(options.default_path)) {
    path = options.default_path;
  } else {
    return;
  }
  config.source_file = path;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::ParserException& e) {
    problems.push_back(fmt::format("{}:{}: invalid YAML: {}", path, e.mark.line + 1, e.msg));
    return;
  } catch (const YAML::BadFile&) {
    problems.push_back(fmt::format("{}: cannot read the configuration file", path));
    return;
  }
  YamlReader(schema, path, problems).readRoot(root, config);
}

void applyText(const KeySpec& spec, const std::string& text, const std::string& origin,
               Config& config, std::vector<std::string>& problems) {
  auto parsed = parseText(spec, text);
  if (auto* message = std::get_if<std::string>(&parsed)) {
    problems.push_back(fmt::format("{}: '{}': {}", origin, spec.key, *message));
    return;
  }
  config.set(spec.key, Entry{std::get<Value>(std::move(parsed)), origin});
}

void applyEnvironment(const Schema& schema, const LoadOptions& options, Config& config,
                      std::vector<std::string>& problems) {
  for (const auto& spec : schema.keys()) {
    // Later names in the list are aliases; the FORGE_ name wins when both are set.
    const auto names = environmentNames(spec);
    for (auto name = names.rbegin(); name != names.rend(); ++name) {
      for (const auto& [env_name, env_value] : options.environment) {
        if (env_name == *name) {
          applyText(spec, env_value, "environment " + env_name, config, problems);
        }
      }
    }
  }
}

void applyFlags(const Schema& schema, const LoadOptions& options, Config& config,
                std::vector<std::string>& problems) {
  for (const auto& [key, text] : options.flags) {
    const KeySpec* spec = schema.find(key);
    if (!spec) {
      problems.push_back(
          fmt::format("flag {}: unknown configuration key '{}'", flagName(key), key));
      continue;
    }
    applyText(*spec, text, "flag " + flagName(key), config, problems);
  }
}

template <class T>
const T& get(const Values& values, std::string_view key) {
  const Entry* e = values.entry(key);
  if (!e) throw std::logic_error(fmt::format("configuration key '{}' has no value", key));
  const T* v = std::get_if<T>(&e->value);
  if (!v)
    throw std::logic_error(fmt::format("configuration key '{}' read with the wrong type", key));
  return *v;
}

} // namespace

const char* typeName(Type type) {
  switch (type) {
  case Type::kString:
    return "string";
  case Type::kSecret:
    return "secret";
  case Type::kInt:
    return "integer";
  case Type::kBool:
    return "boolean";
  case Type::kDuration:
    return "duration";
  case Type::kSize:
    return "size";
  case Type::kEnum:
    return "choice";
  case Type::kStringList:
    return "list";
  case Type::kStringMap:
    return "map";
  }
  return "value";
}

Schema& Schema::add(KeySpec spec) {
  keys_.push_back(std::move(spec));
  return *this;
}

Schema& Schema::addList(ListSpec spec) {
  lists_.push_back(std::move(spec));
  return *this;
}

Schema& Schema::merge(const Schema& other) {
  keys_.insert(keys_.end(), other.keys_.begin(), other.keys_.end());
  lists_.insert(lists_.end(), other.lists_.begin(), other.lists_.end());
  return *this;
}

const KeySpec* Schema::find(std::string_view key) const {
  auto it =
      std::find_if(keys_.begin(), keys_.end(), [&](const KeySpec& k) { return k.key == key; });
  return it == keys_.end() ? nullptr : &*it;
}

const ListSpec* Schema::findList(std::string_view key) const {
  auto it =
      std::find_if(lists_.begin(), lists_.end(), [&](const ListSpec& l) { return l.key == key; });
  return it == lists_.end() ? nullptr : &*it;
}

std::string envName(std::string_view key) {
  std::string name = "FORGE_";
  for (char c : key) {
    name += (c == '.' || c == '-') ? '_'
                                   : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

std::string flagName(std::string_view key) {
  std::string name = "--";
  for (char c : key)
    name += (c == '.' || c == '_') ? '-' : c;
  return name;
}

std::variant<Value, std::string> parseScalar(const KeySpec& spec, std::string_view text) {
  switch (spec.type) {
  case Type::kString:
    return Value(std::string(text));
  case Type::kSecret:
    return Value(core::Secret(std::string(text)));
  case Type::kInt: {
    auto v = parseInt(text);
    if (!v) return fmt::format("'{}' is not an integer", text);
    if (*v < spec.min || *v > spec.max) {
      return fmt::format("{} is out of range [{}, {}]", *v, spec.min, spec.max);
    }
    return Value(*v);
  }
  case Type::kBool: {
    auto v = parseBool(text);
    if (!v) return fmt::format("'{}' is not a boolean (use true or false)", text);
    return Value(*v);
  }
  case Type::kDuration: {
    auto v = parseDuration(text);
    if (!v) return fmt::format("'{}' is not a duration (examples: 500ms, 10s, 5m, 1h)", text);
    return Value(*v);
  }
  case Type::kSize: {
    auto v = parseSize(text);
    if (!v) return fmt::format("'{}' is not a size (examples: 16KiB, 4MiB, 1GiB)", text);
    return Value(*v);
  }
  case Type::kEnum: {
    if (std::find(spec.choices.begin(), spec.choices.end(), text) == spec.choices.end()) {
      return fmt::format("'{}' is not one of: {}", text, fmt::join(spec.choices, ", "));
    }
    return Value(std::string(text));
  }
  case Type::kStringList:
  case Type::kStringMap:
    return std::string("expects a list or a map, not a single value");
  }
  return std::string("unsupported type");
}

std::string display(const Value& value) {
  struct Visitor {
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(const core::Secret& s) const {
      return s.empty() ? std::string() : core::Secret::kRedacted;
    }
    std::string operator()(std::int64_t v) const { return std::to_string(v); }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
    std::string operator()(std::chrono::milliseconds v) const {
      return v.count() % 1000 == 0 ? fmt::format("{}s", v.count() / 1000)
                                   : fmt::format("{}ms", v.count());
    }
    std::string operator()(std::uint64_t v) const { return std::to_string(v); }
    std::string operator()(const StringList& v) const {
      return fmt::format("[{}]", fmt::join(v, ", "));
    }
    std::string operator()(const StringMap& v) const {
      std::vector<std::string> parts;
      for (const auto& [k, val] : v)
        parts.push_back(k + "=" + val);
      return fmt::format("{{{}}}", fmt::join(parts, ", "));
    }
  };
  return std::visit(Visitor{}, value);
}

bool Values::has(std::string_view key) const { return entries_.find(key) != entries_.end(); }

const Entry* Values::entry(std::string_view key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

std::string Values::origin(std::string_view key) const {
  const Entry* e = entry(key);
  return e ? e->origin : std::string();
}

std::string Values::string(std::string_view key) const {
  if (!has(key)) return {};
  return get<std::string>(*this, key);
}
core::Secret Values::secret(std::string_view key) const {
  if (!has(key)) return {};
  return get<core::Secret>(*this, key);
}
std::int64_t Values::integer(std::string_view key) const { return get<std::int64_t>(*this, key); }
bool Values::boolean(std::string_view key) const { return get<bool>(*this, key); }
std::chrono::milliseconds Values::duration(std::string_view key) const {
  return get<std::chrono::milliseconds>(*this, key);
}
std::uint64_t Values::size(std::string_view key) const { return get<std::uint64_t>(*this, key); }
StringList Values::stringList(std::string_view key) const {
  return has(key) ? get<StringList>(*this, key) : StringList{};
}
StringMap Values::stringMap(std::string_view key) const {
  return has(key) ? get<StringMap>(*this, key) : StringMap{};
}

const std::vector<Values>& Config::list(std::string_view key) const {
  static const std::vector<Values> kEmpty;
  auto it = lists.find(key);
  return it == lists.end() ? kEmpty : it->second;
}

ConfigError::ConfigError(std::vector<std::string> problems)
    : std::runtime_error(fmt::format("{}", fmt::join(problems, "\n"))),
      problems_(std::move(problems)) {}

Config load(const Schema& schema, const LoadOptions& options) {
  Config config;
  std::vector<std::string> problems;
  applyDefaults(schema, config);
  applyFile(schema, options, config, problems);
  applyEnvironment(schema, options, config, problems);
  applyFlags(schema, options, config, problems);
  if (!problems.empty()) throw ConfigError(std::move(problems));
  return config;
}

std::vector<std::pair<std::string, std::string>> processEnvironment() {
  std::vector<std::pair<std::string, std::string>> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace_back(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return out;
}

} // namespace forge::config
