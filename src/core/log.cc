// Line formatting for forge::log, on top of an spdlog logger that only moves finished lines
// to their sink (stderr by default) under its own lock.
#include "core/log.h"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <chrono>
#include <ctime>
#include <memory>
#include <mutex>

namespace forge::log {
namespace {

constexpr std::array<const char*, 6> kLevelNames{"trace", "debug", "info", "warn", "error", "off"};

std::atomic<Level> g_level{Level::kInfo};
std::atomic<Format> g_format{Format::kText};

// Forwards finished lines to a caller-provided function (tests, embedding).
class FunctionSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
  explicit FunctionSink(LineSink fn) : fn_(std::move(fn)) {}

protected:
  // spdlog::sinks::base_sink
  void sink_it_(const spdlog::details::log_msg& msg) override {
    fn_(std::string_view(msg.payload.data(), msg.payload.size()));
  }
  void flush_() override {}

private:
  LineSink fn_;
};

std::mutex g_logger_mutex;
std::shared_ptr<spdlog::logger> g_logger;

std::shared_ptr<spdlog::logger> logger() {
  std::lock_guard lock(g_logger_mutex);
  if (!g_logger) {
    g_logger = std::make_shared<spdlog::logger>("forge",
                                                std::make_shared<spdlog::sinks::stderr_sink_mt>());
    g_logger->set_pattern("%v");
    g_logger->set_level(spdlog::level::trace); // filtering happens in enabled()
  }
  return g_logger;
}

// "2026-11-27T14:00:00.123Z"
void appendTimestamp(std::string& out) {
  const auto now = std::chrono::system_clock::now();
  const auto secs = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 millis);
}

void appendJsonString(std::string& out, std::string_view value) {
  out += boost::json::serialize(boost::json::string(value));
}

std::string formatJson(Level level, std::string_view request_id, std::string_view message,
                       Fields fields) {
  std::string out = "{\"ts\":\"";
  appendTimestamp(out);
  out += "\",\"level\":\"";
  out += levelName(level);
  out += "\",\"msg\":";
  appendJsonString(out, message);
  if (!request_id.empty()) {
    out += ",\"request_id\":";
    appendJsonString(out, request_id);
  }
  for (const auto& field : fields) {
    out += ',';
    appendJsonString(out, field.key);
    out += ':';
    appendJsonString(out, field.value);
  }
  out += '}';
  return out;
}

std::string formatText(Level level, std::string_view request_id, std::string_view message,
                       Fields fields) {
  std::string out;
  appendTimestamp(out);
  fmt::format_to(std::back_inserter(out), " {:<5}", levelName(level));
  if (!request_id.empty()) fmt::format_to(std::back_inserter(out), " [{}]", request_id);
  out += ' ';
  out += message;
  for (const auto& field : fields) {
    fmt::format_to(std::back_inserter(out), " {}={}", field.key, field.value);
  }
  return out;
}

} // namespace

std::optional<Level> parseLevel(std::string_view name) {
  for (std::size_t i = 0; i < kLevelNames.size(); ++i) {
    if (name == kLevelNames[i]) return static_cast<Level>(i);
  }
  if (name == "warning") return Level::kWarn;
  return std::nullopt;
}

std::optional<Format> parseFormat(std::string_view name) {
  if (name == "text") return Format::kText;
  if (name == "json") return Format::kJson;
  return std::nullopt;
}

const char* levelName(Level level) { return kLevelNames[static_cast<std::size_t>(level)]; }

void configure(Level level, Format format, LineSink sink) {
  g_level.store(level);
  g_format.store(format);
  auto fresh = std::make_shared<spdlog::logger>(
      "forge", sink ? spdlog::sink_ptr(std::make_shared<FunctionSink>(std::move(sink)))
                    : spdlog::sink_ptr(std::make_shared<spdlog::sinks::stderr_sink_mt>()));
  fresh->set_pattern("%v");
  fresh->set_level(spdlog::level::trace);
  fresh->flush_on(spdlog::level::trace);
  std::lock_guard lock(g_logger_mutex);
  g_logger = std::move(fresh);
}

void setLevel(Level level) { g_level.store(level); }
Level currentLevel() { return g_level.load(std::memory_order_relaxed); }

bool enabled(Level level) {
  return level != Level::kOff && level >= g_level.load(std::memory_order_relaxed);
}

void emit(Level level, std::string_view request_id, std::string_view message, Fields fields) {
  if (!enabled(level)) return;
  const std::string line = g_format.load(std::memory_order_relaxed) == Format::kJson
                               ? formatJson(level, request_id, message, fields)
                               : formatText(level, request_id, message, fields);
  logger()->log(spdlog::level::info, line);
}

} // namespace forge::log
