#include "cli/ops_support.h"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

namespace forge::cli {

namespace json = boost::json;

namespace {

ApiClient clientFor(Connection& connection, std::string base, std::chrono::milliseconds timeout) {
  auto token = connection.token();
  return ApiClient(std::move(base), token ? *token : std::string(), timeout);
}

} // namespace

ApiClient gatewayClient(Connection& connection, std::chrono::milliseconds timeout) {
  return clientFor(connection, connection.gatewayUrl(), timeout);
}

ApiClient managerClient(Connection& connection, std::chrono::milliseconds timeout) {
  return clientFor(connection, connection.managerUrl(), timeout);
}

std::optional<Answer> get(const ApiClient& api, const std::string& path, std::string& error,
                          double* milliseconds) {
  const auto started = std::chrono::steady_clock::now();
  auto answer = api.call(net::Method::kGet, path);
  if (milliseconds)
    *milliseconds =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
  if (!answer) {
    error = answer.error().message;
    return std::nullopt;
  }
  return std::move(*answer);
}

std::string textOf(const json::value& object, std::string_view key) {
  if (!object.is_object()) return {};
  const auto* v = object.as_object().if_contains(key);
  if (!v || v->is_null()) return {};
  return v->is_string() ? std::string(v->as_string()) : json::serialize(*v);
}

double numberOf(const json::value& object, std::string_view key) {
  if (!object.is_object()) return 0;
  const auto* v = object.as_object().if_contains(key);
  if (!v) return 0;
  if (v->is_int64()) return static_cast<double>(v->as_int64());
  if (v->is_uint64()) return static_cast<double>(v->as_uint64());
  if (v->is_double()) return v->as_double();
  return 0;
}

bool boolOf(const json::value& object, std::string_view key) {
  if (!object.is_object()) return false;
  const auto* v = object.as_object().if_contains(key);
  return v && v->is_bool() && v->as_bool();
}

std::string bytesText(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, units[unit]);
}

std::string durationText(double seconds) {
  const auto s = static_cast<long long>(seconds);
  if (s >= 86'400) return fmt::format("{}d {}h", s / 86'400, s % 86'400 / 3600);
  if (s >= 3600) return fmt::format("{}h {}m", s / 3600, s % 3600 / 60);
  if (s >= 60) return fmt::format("{}m {}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

} // namespace forge::cli
