#include "cli/ops_sources.h"

#include "config/config.h"

#include <fmt/format.h>

#include <filesystem>

namespace forge::cli {
namespace {

namespace json = boost::json;
constexpr std::chrono::seconds kPeerTimeout{3};

// GET `path` from `api`; the body of a 200 answer, else nothing and `why`.
std::optional<json::value> quietGet(const core::Result<ApiClient>& api, const std::string& path,
                                    std::string& why) {
  if (!api) {
    why = api.error().message;
    return std::nullopt;
  }
  auto answer = api->call(net::Method::kGet, path);
  if (!answer) {
    why = fmt::format("is not reachable at {}", api->base());
    return std::nullopt;
  }
  if (answer->status != 200) {
    why = fmt::format("{}{} answered {}: {}", api->base(), path, answer->status,
                      ApiClient::detail(*answer));
    return std::nullopt;
  }
  return answer->body;
}

double numberIn(const json::value& object, std::string_view key) {
  const auto* value = object.is_object() ? object.get_object().if_contains(key) : nullptr;
  return value && value->is_number() ? value->to_number<double>() : 0;
}

// The closest existing directory: statvfs needs one, and a data directory not made yet lives
// on its parent's file system.
std::string existingDirectory(std::filesystem::path path) {
  std::error_code ec;
  path = std::filesystem::absolute(path, ec).lexically_normal();
  while (!path.empty() && !std::filesystem::exists(path, ec) && path != path.parent_path())
    path = path.parent_path();
  std::string text = path.string();
  if (text.size() > 1 && text.back() == '/') text.pop_back(); // "data/" normalised
  return text.empty() ? "/" : text;
}

} // namespace

StackFigures sampleStack(Connection& connection, const std::string& gateway_service,
                         std::chrono::milliseconds interval, bool counts) {
  StackFigures out;
  out.disk_path = existingDirectory(connection.dataDir());
  const auto manager = connection.manager(kPeerTimeout);
  const std::string metrics_path = fmt::format("/services/{}/metrics", gateway_service);
  bool manager_answers = true;
  auto gateway_cpu_seconds = [&]() -> std::optional<double> {
    if (!manager_answers) return std::nullopt;
    auto body = quietGet(manager, metrics_path, out.gateway_cpu_note);
    if (!body) {
      manager_answers = false; // do not wait for it twice
      out.gateway_cpu_note = "the manager " + out.gateway_cpu_note;
      return std::nullopt;
    }
    return numberIn(*body, "cpu_seconds");
  };
  out.system = ops::sampleSystem(out.disk_path, interval, gateway_cpu_seconds);
  if (!counts) return out;

  std::string why;
  if (manager_answers) {
    if (auto status = quietGet(manager, "/services/" + gateway_service, why)) {
      int running = 0;
      if (const auto* replicas = status->as_object().if_contains("replicas"))
        for (const auto& r : replicas->as_array())
          running += r.at("state") == "running" ? 1 : 0;
      out.replicas = running;
    }
  }
  if (auto health = quietGet(connection.gateway(kPeerTimeout), "/health", why))
    if (health->is_object() && health->as_object().contains("sessions"))
      out.sessions = static_cast<std::int64_t>(numberIn(*health, "sessions"));
  return out;
}

core::Result<std::chrono::milliseconds> parseWindow(const std::string& text) {
  const config::KeySpec spec{.key = "--since", .type = config::Type::kDuration};
  auto parsed = config::parseScalar(spec, text);
  if (const auto* problem = std::get_if<std::string>(&parsed))
    return core::Error{core::Errc::kInvalidParams, *problem};
  const auto window = std::get<std::chrono::milliseconds>(std::get<config::Value>(parsed));
  if (window.count() <= 0)
    return core::Error{core::Errc::kInvalidParams, "the window must be longer than zero"};
  return window;
}

std::string number(std::optional<double> value, int decimals) {
  if (!value) return "-";
  return fmt::format("{:.{}f}", *value, decimals);
}

Table figuresTable(const std::vector<ops::CallFigures>& figures, bool with_tool) {
  std::vector<std::string> columns{"UPSTREAM"};
  if (with_tool) columns.push_back("TOOL");
  for (const char* c :
       {"CALLS", "CALLS/S", "ERRORS", "ERROR %", "P50 MS", "P90 MS", "P95 MS", "P99 MS", "MAX MS"})
    columns.emplace_back(c);
  Table table(std::move(columns));
  for (const auto& f : figures) {
    std::vector<std::string> row{f.upstream};
    if (with_tool) row.push_back(f.tool);
    for (auto cell : {std::to_string(f.calls), number(f.calls_per_second, 3),
                      std::to_string(f.errors), number(f.error_percent), number(f.p50_ms),
                      number(f.p90_ms), number(f.p95_ms), number(f.p99_ms), number(f.max_ms)})
      row.push_back(std::move(cell));
    table.addRow(std::move(row));
  }
  return table;
}

} // namespace forge::cli
