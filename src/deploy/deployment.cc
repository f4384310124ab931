#include "deploy/deployment.h"

#include "net/http_client.h"
#include "ops/program.h"
#include "storage/store.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace forge::ops {

namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string compactUtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

// A fresh directory under releases/ named by the time (suffixed when that name is taken).
core::Result<fs::path> reserveReleaseDir(const std::string& data_dir) {
  const fs::path root = manager::releasesDir(data_dir);
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) {
    return core::Error{core::Errc::kUnavailable,
                       fmt::format("cannot create {}: {}", root.string(), ec.message())};
  }
  const std::string base = compactUtcNow();
  for (int n = 1; n < 100; ++n) {
    const fs::path dir = root / (n == 1 ? base : fmt::format("{}-{:02}", base, n));
    if (fs::create_directory(dir, ec)) return dir;
    if (ec) {
      return core::Error{core::Errc::kUnavailable,
                         fmt::format("cannot create {}: {}", dir.string(), ec.message())};
    }
  }
  return core::Error{core::Errc::kConflict, "too many releases created in one second"};
}

json::array stepsJson(const std::vector<DeploymentStep>& steps) {
  json::array out;
  for (const auto& s : steps)
    out.push_back(
        json::object{{"name", s.name}, {"ok", s.ok}, {"detail", s.detail}, {"seconds", s.seconds}});
  return out;
}

std::vector<DeploymentStep> stepsFrom(const std::string& text) {
  std::vector<DeploymentStep> out;
  boost::system::error_code ec;
  const auto value = json::parse(text, ec);
  if (ec || !value.is_array()) return out;
  for (const auto& item : value.as_array()) {
    if (!item.is_object()) continue;
    const auto& o = item.as_object();
    DeploymentStep step;
    if (auto* v = o.if_contains("name"); v && v->is_string()) step.name = v->as_string().c_str();
    if (auto* v = o.if_contains("ok"); v && v->is_bool()) step.ok = v->as_bool();
    if (auto* v = o.if_contains("detail"); v && v->is_string())
      step.detail = v->as_string().c_str();
    if (auto* v = o.if_contains("seconds"); v && v->is_number())
      step.seconds = v->to_number<double>();
    out.push_back(std::move(step));
  }
  return out;
}

} // namespace

core::Result<std::string> binaryVersion(const std::string& binary) {
  auto ran = runProgram({binary, "--version"}, std::chrono::seconds(10));
  if (!ran) return ran.error();
  std::istringstream words(ran->out);
  std::string name, version;
  words >> name >> version;
  if (ran->exit_code != 0 || name != "forge" || version.empty()) {
    return core::Error{core::Errc::kInvalidParams,
                       fmt::format("{} --version answered '{}' (exit {}), not a forge version",
                                   binary, ran->out.substr(0, ran->out.find('\n')),
                                   ran->exit_code)};
  }
  return version;
}

core::Result<manager::ReleaseRef>
installRelease(const std::string& data_dir, const ReleaseFiles& files, const std::string& version) {
  if (files.binary.empty())
    return core::Error{core::Errc::kInvalidParams, "a release needs a binary"};
  auto dir = reserveReleaseDir(data_dir);
  if (!dir) return dir.error();
  json::object listed;
  const std::pair<const std::string*, const char*> copies[] = {
      {&files.binary, kReleaseBinary},
      {&files.gateway_config, kReleaseGatewayConfig},
      {&files.services_config, kReleaseServicesConfig}};
  for (const auto& [from, name] : copies) {
    if (from->empty()) continue;
    std::error_code ec;
    fs::copy_file(*from, *dir / name, fs::copy_options::overwrite_existing, ec);
    if (ec) {
      fs::remove_all(*dir, ec);
      return core::Error{core::Errc::kUnavailable,
                         fmt::format("cannot copy {} into the release: {}", *from, ec.message())};
    }
    listed[name] = json::object{{"source", fs::absolute(*from).string()},
                                {"bytes", fs::file_size(*dir / name, ec)}};
  }
  const std::string id = dir->filename().string();
  std::ofstream(*dir / "release.json")
      << json::serialize(json::object{{"id", id},
                                      {"version", version},
                                      {"created_at", storage::nowUtc()},
                                      {"files", std::move(listed)}})
      << "\n";
  return manager::ReleaseRef{id, dir->string()};
}

json::object releaseInfo(const manager::ReleaseRef& release) {
  std::ifstream in(fs::path(release.dir) / "release.json");
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  auto value = json::parse(text.str(), ec);
  if (ec || !value.is_object()) return {};
  return value.as_object();
}

ReleaseFiles filesOf(const manager::ReleaseRef& release) {
  ReleaseFiles files;
  std::error_code ec;
  auto present = [&](const char* name) {
    const fs::path path = fs::path(release.dir) / name;
    return fs::exists(path, ec) ? path.string() : std::string();
  };
  files.binary = present(kReleaseBinary);
  files.gateway_config = present(kReleaseGatewayConfig);
  files.services_config = present(kReleaseServicesConfig);
  return files;
}

json::object Deployment::toJson() const {
  return json::object{{"id", id},
                      {"kind", kind},
                      {"from_release", from_release},
                      {"to_release", to_release},
                      {"from_version", from_version},
                      {"to_version", to_version},
                      {"started_at", started_at},
                      {"finished_at", finished_at},
                      {"result", result},
                      {"steps", stepsJson(steps)}};
}

core::Status DeploymentLog::begin(Deployment& d) {
  d.id = storage::newId();
  d.started_at = storage::nowUtc();
  auto inserted = db_.query(
      "INSERT INTO deployments (id, kind, from_release, to_release, from_version, to_version, "
      "started_at, started_ms, result, steps) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {d.id, d.kind, d.from_release, d.to_release, d.from_version, d.to_version, d.started_at,
       std::int64_t{std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count()},
       d.result, json::serialize(stepsJson(d.steps))});
  if (!inserted) return inserted.error();
  return core::Ok{};
}

core::Status DeploymentLog::finish(Deployment& d) {
  if (d.finished_at.empty()) d.finished_at = storage::nowUtc();
  auto updated = db_.query("UPDATE deployments SET to_release = ?, to_version = ?, "
                           "finished_at = ?, result = ?, steps = ? WHERE id = ?",
                           {d.to_release, d.to_version, d.finished_at, d.result,
                            json::serialize(stepsJson(d.steps)), d.id});
  if (!updated) return updated.error();
  return core::Ok{};
}

core::Result<std::vector<Deployment>> DeploymentLog::recent(int limit) {
  auto rows = db_.query("SELECT id, kind, from_release, to_release, from_version, to_version, "
                        "started_at, finished_at, result, steps FROM deployments "
                        "ORDER BY started_ms DESC LIMIT ?",
                        {std::int64_t{limit}});
  if (!rows) return rows.error();
  std::vector<Deployment> out;
  for (const auto& row : rows->rows) {
    Deployment d;
    d.id = row.text(0);
    d.kind = row.text(1);
    d.from_release = row.text(2);
    d.to_release = row.text(3);
    d.from_version = row.text(4);
    d.to_version = row.text(5);
    d.started_at = row.text(6);
    d.finished_at = row.text(7);
    d.result = row.text(8);
    d.steps = stepsFrom(row.text(9));
    out.push_back(std::move(d));
  }
  return out;
}

core::Result<std::string> runStep(std::vector<DeploymentStep>& steps, const std::string& name,
                                  const std::function<core::Result<std::string>()>& body,
                                  const std::function<void(const std::string&)>& progress) {
  const auto start = Clock::now();
  if (progress) progress(fmt::format("{} ...", name));
  auto result = body();
  DeploymentStep step{name, result.ok(), result ? *result : result.error().message,
                      secondsSince(start)};
  if (progress)
    progress(fmt::format("{}: {} ({:.1f} s){}", name, step.ok ? "done" : "FAILED", step.seconds,
                         step.detail.empty() ? "" : " - " + step.detail));
  steps.push_back(std::move(step));
  return result;
}

namespace {

// The JSON-RPC answer with `id` in a plain JSON or SSE body.
std::optional<json::object> rpcAnswer(const net::Response& reply, int id) {
  std::vector<std::string> candidates;
  const auto type = reply.headers.get("Content-Type");
  if (type && type->find("text/event-stream") != std::string_view::npos) {
    std::istringstream lines(reply.body);
    std::string line;
    while (std::getline(lines, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.starts_with("data:")) candidates.push_back(line.substr(line[5] == ' ' ? 6 : 5));
    }
  } else {
    candidates.push_back(reply.body);
  }
  for (const auto& text : candidates) {
    boost::system::error_code ec;
    auto value = json::parse(text, ec);
    if (ec || !value.is_object()) continue;
    const auto* got = value.as_object().if_contains("id");
    if (got && got->is_int64() && got->as_int64() == id) return value.as_object();
  }
  return std::nullopt;
}

} // namespace

McpProbe probeMcp(const std::string& url, const std::string& token,
                  std::chrono::milliseconds timeout) {
  McpProbe probe;
  const auto start = Clock::now();
  std::string session;
  auto post = [&](const std::string& body) {
    net::HttpRequestSpec spec;
    spec.method = net::Method::kPost;
    spec.url = url;
    spec.timeout = timeout;
    spec.body = body;
    spec.headers.set("Content-Type", "application/json");
    spec.headers.set("Accept", "application/json, text/event-stream");
    spec.headers.set("MCP-Protocol-Version", "2025-06-18");
    if (!token.empty()) spec.headers.set("Authorization", "Bearer " + token);
    if (!session.empty()) spec.headers.set("Mcp-Session-Id", session);
    return net::fetch(spec);
  };
  auto failed = [&](std::string what) {
    probe.detail = std::move(what);
    probe.milliseconds = secondsSince(start) * 1000;
    return probe;
  };
  auto init = post(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{)"
                   R"("protocolVersion":"2025-06-18","capabilities":{},)"
                   R"("clientInfo":{"name":"forge-deploy","version":"1"}}})");
  if (!init) return failed(fmt::format("initialize: {}", init.error().message));
  const auto init_answer = rpcAnswer(*init, 1);
  if (init->status != 200 || !init_answer || !init_answer->contains("result"))
    return failed(fmt::format("initialize: HTTP {} {}", init->status, init->body.substr(0, 200)));
  if (auto id = init->headers.get("Mcp-Session-Id")) session = std::string(*id);
  if (const auto* info = init_answer->at("result").as_object().if_contains("serverInfo");
      info && info->is_object()) {
    const auto& o = info->as_object();
    auto field = [&](const char* key) {
      const auto* v = o.if_contains(key);
      return v && v->is_string() ? std::string(v->as_string().c_str()) : std::string();
    };
    probe.server = fmt::format("{} {}", field("name"), field("version"));
  }
  auto initialized = post(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  if (!initialized || initialized->status >= 300)
    return failed("notifications/initialized was refused");
  auto list = post(R"({"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}})");
  if (!list) return failed(fmt::format("tools/list: {}", list.error().message));
  const auto list_answer = rpcAnswer(*list, 2);
  const json::value* tools = nullptr;
  if (list_answer && list_answer->contains("result") && list_answer->at("result").is_object())
    tools = list_answer->at("result").as_object().if_contains("tools");
  if (list->status != 200 || !tools || !tools->is_array())
    return failed(fmt::format("tools/list: HTTP {} {}", list->status, list->body.substr(0, 200)));
  probe.tools = tools->as_array().size();
  if (!session.empty()) {
    net::HttpRequestSpec end;
    end.method = net::Method::kDelete;
    end.url = url;
    end.timeout = timeout;
    end.headers.set("Mcp-Session-Id", session);
    if (!token.empty()) end.headers.set("Authorization", "Bearer " + token);
    (void)net::fetch(end);
  }
  probe.ok = true;
  probe.milliseconds = secondsSince(start) * 1000;
  probe.detail = fmt::format("initialize and tools/list answered ({} tools, {}) in {:.0f} ms",
                             probe.tools, probe.server, probe.milliseconds);
  return probe;
}

} // namespace forge::ops
