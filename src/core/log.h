// Structured logging. Every line is either text or one JSON object (log.format), carries a
// level, a UTC timestamp, an optional request id and optional key/value fields. Callers format
// messages with fmt; values of type core::Secret print as "[REDACTED]".
//
// Forge never logs request headers or bodies: a line says what happened, not what was sent.
#pragma once

#include <fmt/format.h>

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace forge::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError, kOff };
enum class Format { kText, kJson };

std::optional<Level> parseLevel(std::string_view name);
std::optional<Format> parseFormat(std::string_view name);
const char* levelName(Level level);

// A key/value pair attached to one line.
struct Field {
  std::string_view key;
  std::string value;
};
using Fields = std::initializer_list<Field>;

// Where finished lines go. The default writes to stderr.
using LineSink = std::function<void(std::string_view line)>;

// Sets level and format; sink = nullptr means stderr. Safe to call again at run time.
void configure(Level level, Format format, LineSink sink = nullptr);
void setLevel(Level level);
Level currentLevel();
bool enabled(Level level);

// Formats and writes one line (no-op below the current level).
void emit(Level level, std::string_view request_id, std::string_view message, Fields fields = {});

template <class... A>
void logf(Level level, fmt::format_string<A...> f, A&&... args) {
  if (enabled(level)) emit(level, {}, fmt::format(f, std::forward<A>(args)...));
}
template <class... A>
void debug(fmt::format_string<A...> f, A&&... args) {
  logf(Level::kDebug, f, std::forward<A>(args)...);
}
template <class... A>
void info(fmt::format_string<A...> f, A&&... args) {
  logf(Level::kInfo, f, std::forward<A>(args)...);
}
template <class... A>
void warn(fmt::format_string<A...> f, A&&... args) {
  logf(Level::kWarn, f, std::forward<A>(args)...);
}
template <class... A>
void error(fmt::format_string<A...> f, A&&... args) {
  logf(Level::kError, f, std::forward<A>(args)...);
}

// A logger bound to one request: every line it writes carries the request's id.
class RequestLog {
public:
  explicit RequestLog(std::string request_id) : id_(std::move(request_id)) {}
  const std::string& id() const { return id_; }

  void write(Level level, std::string_view message, Fields fields = {}) const {
    emit(level, id_, message, fields);
  }
  template <class... A>
  void debug(fmt::format_string<A...> f, A&&... args) const {
    if (enabled(Level::kDebug)) write(Level::kDebug, fmt::format(f, std::forward<A>(args)...));
  }
  template <class... A>
  void info(fmt::format_string<A...> f, A&&... args) const {
    if (enabled(Level::kInfo)) write(Level::kInfo, fmt::format(f, std::forward<A>(args)...));
  }
  template <class... A>
  void warn(fmt::format_string<A...> f, A&&... args) const {
    if (enabled(Level::kWarn)) write(Level::kWarn, fmt::format(f, std::forward<A>(args)...));
  }
  template <class... A>
  void error(fmt::format_string<A...> f, A&&... args) const {
    if (enabled(Level::kError)) write(Level::kError, fmt::format(f, std::forward<A>(args)...));
  }

private:
  std::string id_;
};

} // namespace forge::log
