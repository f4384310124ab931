#include "ops/dr_drill.h"

#include "mcp/protocol.h"
#include "net/http_client.h"
#include "ops/db_maintenance.h"
#include "ops/files.h"
#include "ops/sqlite_copy.h"
#include "ops/utc_time.h"
#include "storage/database.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

namespace forge::ops {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::int64_t millisBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

// A gateway process of the drill: started in its own process group, output to a log file,
// stopped with SIGTERM (SIGKILL after 10 s) when it goes out of scope.
class DrillGateway {
public:
  ~DrillGateway() { stop(); }

  core::Status start(const std::vector<std::string>& args, const fs::path& cwd,
                     const fs::path& log) {
    std::vector<std::string> argv(args);
    std::vector<char*> argp;
    for (auto& a : argv)
      argp.push_back(a.data());
    argp.push_back(nullptr);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) return core::Error{core::Errc::kUnavailable, "cannot create " + log.string()};
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      const int in = ::open("/dev/null", O_RDONLY);
      if (in >= 0) ::dup2(in, STDIN_FILENO);
      ::dup2(out, STDOUT_FILENO);
      ::dup2(out, STDERR_FILENO);
      if (::chdir(cwd.c_str()) != 0) ::_exit(126);
      ::execv(argp[0], argp.data());
      ::_exit(127);
    }
    ::close(out);
    if (pid_ < 0) return core::Error{core::Errc::kInternal, "cannot fork the gateway"};
    return core::Ok{};
  }

  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }

  // SIGTERM, then SIGKILL after 10 s; returns true for a clean exit.
  bool stop() {
    if (pid_ <= 0) return true;
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 200; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
      }
      std::this_thread::sleep_for(50ms);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return false;
  }

  pid_t pid() const { return pid_; }

private:
  pid_t pid_ = -1;
};

// Where the scratch gateway listens, from its "listening on SCHEME://127.0.0.1:PORT" log line:
// https when the configuration gives it a certificate. Port 0 until the line appears.
struct Listening {
  std::string scheme = "http";
  int port = 0;
};

Listening listeningAddress(const fs::path& log) {
  std::ifstream in(log);
  std::string line;
  static const std::regex kListening(R"(listening on (https?)://127\.0\.0\.1:(\d+))");
  while (std::getline(in, line)) {
    std::smatch match;
    if (std::regex_search(line, match, kListening))
      return Listening{match[1].str(), std::stoi(match[2].str())};
  }
  return {};
}

std::string lastLines(const fs::path& log, std::size_t count) {
  std::ifstream in(log);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  std::string out;
  for (std::size_t i = lines.size() > count ? lines.size() - count : 0; i < lines.size(); ++i)
    out += "\n    " + lines[i];
  return out;
}

// A client of the scratch gateway. Its certificate, if any, names the production host, not
// 127.0.0.1, so it is not verified: the drill asks whether the restored stack serves.
class DrillClient {
public:
  DrillClient(const Listening& at, std::string token)
      : base_(fmt::format("{}://127.0.0.1:{}", at.scheme, at.port)), token_(std::move(token)) {}

  core::Result<net::Response>
  send(net::Method method, const std::string& path, const std::string& body = {},
       const std::vector<std::pair<std::string, std::string>>& headers = {}) const {
    net::HttpRequestSpec spec;
    spec.method = method;
    spec.url = base_ + path;
    spec.body = body;
    spec.timeout = 15s;
    spec.verify_peer = false;
    if (!token_.empty()) spec.headers.set("Authorization", "Bearer " + token_);
    for (const auto& [name, value] : headers)
      spec.headers.set(name, value);
    if (!body.empty()) spec.headers.set("Content-Type", "application/json");
    return net::fetch(spec);
  }

  core::Result<json::value> getJson(const std::string& path) const {
    auto answer = send(net::Method::kGet, path);
    if (!answer) return answer.error();
    if (answer->status != 200) {
      return core::Error{
          core::Errc::kBadGateway,
          fmt::format("GET {} answered {}: {}", path, answer->status, answer->body.substr(0, 200))};
    }
    boost::system::error_code ec;
    json::value value = json::parse(answer->body, ec);
    if (ec) return core::Error{core::Errc::kBadGateway, "GET " + path + " is not JSON"};
    return value;
  }

private:
  std::string base_;
  std::string token_;
};

// The JSON-RPC message of an MCP answer: the body, or the last `data:` of an SSE stream.
json::value rpcAnswer(const net::Response& response) {
  std::string text = response.body;
  const auto type = response.headers.get("content-type");
  if (type && type->find("text/event-stream") != std::string_view::npos) {
    std::stringstream lines(response.body);
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with("data:")) text = line.substr(5);
    }
  }
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  return ec ? json::value() : value;
}

std::set<std::string> column(storage::Database& db, const char* sql) {
  std::set<std::string> values;
  if (auto rows = db.query(sql)) {
    for (const auto& row : rows->rows)
      values.insert(row.text(0));
  }
  return values;
}

std::set<std::string> fieldOf(const json::value& list, const char* key) {
  std::set<std::string> values;
  if (!list.is_array()) return values;
  for (const auto& item : list.as_array()) {
    if (const auto* object = item.if_object()) {
      if (const auto* v = object->if_contains(key); v && v->is_string())
        values.insert(std::string(v->as_string()));
    }
  }
  return values;
}

// A list of items of `wanted` missing from `got`, for messages.
std::string missingFrom(const std::set<std::string>& wanted, const std::set<std::string>& got) {
  std::string out;
  for (const auto& w : wanted) {
    if (!got.contains(w)) out += (out.empty() ? "" : ", ") + w;
  }
  return out;
}

// The gateways of the backup the scratch gateway must list: those registered through the API,
// and those of the configuration file when the drill's gateway has it (a gateway started
// without the file drops what it configured).
struct ExpectedGateways {
  std::set<std::string> names;
  std::set<std::string> from_config_skipped;
};

ExpectedGateways expectedGateways(storage::Database& db, bool with_config) {
  ExpectedGateways expected;
  if (auto rows = db.query("SELECT name, source FROM gateways")) {
    for (const auto& row : rows->rows) {
      if (row.text(1) == "config" && !with_config) {
        expected.from_config_skipped.insert(row.text(0));
      } else {
        expected.names.insert(row.text(0));
      }
    }
  }
  return expected;
}

std::vector<Check> gatewaysChecks(const DrillClient& client, const ExpectedGateways& expected) {
  std::vector<Check> checks;
  auto list = client.getJson("/gateways?include_inactive=true&limit=0");
  if (!list) return {{"REST /gateways", Level::kCritical, list.error().message}};
  auto served = fieldOf(*list, "name");
  for (const auto& skipped : expected.from_config_skipped)
    served.erase(skipped);
  if (served != expected.names) {
    checks.push_back(
        {"REST /gateways", Level::kCritical,
         fmt::format("lists {} gateways, the backup holds {} (missing: {}; not in "
                     "the backup: {})",
                     served.size(), expected.names.size(), missingFrom(expected.names, served),
                     missingFrom(served, expected.names))});
  } else {
    checks.push_back({"REST /gateways", Level::kOk,
                      fmt::format("lists the {} gateways of the backup", served.size())});
  }
  if (!expected.from_config_skipped.empty()) {
    std::string names;
    for (const auto& name : expected.from_config_skipped)
      names += (names.empty() ? "" : ", ") + name;
    checks.push_back({"configured gateways", Level::kWarning,
                      fmt::format("{} come from the configuration file and were not checked: "
                                  "pass --config with the production configuration",
                                  names)});
  }
  return checks;
}

Check usersCheck(const DrillClient& client, const std::set<std::string>& restored) {
  auto list = client.getJson("/users?limit=0");
  if (!list) return {"REST /users", Level::kCritical, list.error().message};
  const json::value* users = &*list;
  if (list->is_object() && list->as_object().contains("users"))
    users = &list->as_object().at("users");
  const auto served = fieldOf(*users, "email");
  const std::string missing = missingFrom(restored, served);
  if (!missing.empty()) {
    return {"REST /users", Level::kCritical, "users of the backup are missing: " + missing};
  }
  return {"REST /users", Level::kOk,
          fmt::format("every one of the {} users of the backup is there", restored.size())};
}

Check mcpCheck(const DrillClient& client) {
  const std::string version(mcp::kLatestProtocolVersion);
  const std::vector<std::pair<std::string, std::string>> accept{
      {"Accept", "application/json, text/event-stream"}};
  json::object init{{"jsonrpc", "2.0"},
                    {"id", 1},
                    {"method", "initialize"},
                    {"params", json::object{{"protocolVersion", version},
                                            {"capabilities", json::object{}},
                                            {"clientInfo", json::object{{"name", "forge-dr-test"},
                                                                        {"version", "1"}}}}}};
  auto opened = client.send(net::Method::kPost, "/mcp", json::serialize(init), accept);
  if (!opened || opened->status != 200) {
    return {"MCP tools/list", Level::kCritical,
            opened ? fmt::format("initialize answered {}", opened->status)
                   : opened.error().message};
  }
  auto headers = accept;
  if (auto session = opened->headers.get("mcp-session-id"))
    headers.emplace_back("Mcp-Session-Id", std::string(*session));
  headers.emplace_back("MCP-Protocol-Version", version);
  (void)client.send(net::Method::kPost, "/mcp",
                    R"({"jsonrpc":"2.0","method":"notifications/initialized"})", headers);
  auto listed = client.send(net::Method::kPost, "/mcp",
                            R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})", headers);
  if (!listed || listed->status != 200) {
    return {"MCP tools/list", Level::kCritical,
            listed ? fmt::format("tools/list answered {}", listed->status)
                   : listed.error().message};
  }
  const json::value answer = rpcAnswer(*listed);
  const json::value* tools = nullptr;
  if (const auto* o = answer.if_object()) {
    if (const auto* result = o->if_contains("result"); result && result->is_object()) {
      tools = result->as_object().if_contains("tools");
    }
  }
  if (tools == nullptr || !tools->is_array()) {
    return {"MCP tools/list", Level::kCritical,
            "no tools list in the answer: " + listed->body.substr(0, 200)};
  }
  return {"MCP tools/list", Level::kOk,
          fmt::format("answers with {} tools", tools->as_array().size())};
}

} // namespace

core::Result<DrillReport> runDrill(const BackupRepository& repository, const Manifest& manifest,
                                   const Stack& production, const DrillOptions& options) {
  auto say = [&](const std::string& message) {
    if (options.progress) options.progress(message);
  };
  DrillReport report;
  report.backup = manifest;
  auto verified = repository.verify(manifest.id);
  if (!verified) return verified.error();
  report.checks = verified->checks;
  if (worst(report.checks) == Level::kCritical) return report;

  auto scratch = makeTempDirectory("forge-dr-");
  if (!scratch) return scratch.error();
  report.scratch_dir = scratch->string();
  Stack target{(*scratch / "data").string(), ""};
  std::string scratch_url;
  if (manifest.backend == "postgresql") {
    auto created = createScratchDatabase(production.database_url);
    if (!created) return created.error();
    scratch_url = *created;
    target.database_url = scratch_url;
  } else {
    target.database_url = "sqlite://" + fs::absolute(*scratch / "data" / "forge.db").string();
  }

  // ---- restore: the clock of the recovery starts here
  const auto restore_started = Clock::now();
  if (auto created = parseUtc(manifest.created_at)) {
    report.rpo_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now() - *created)
                        .count();
  }
  say(fmt::format("restoring backup {} (taken {} ago) into {}", manifest.id,
                  humanDuration(std::chrono::milliseconds(report.rpo_ms)), scratch->string()));
  auto restored = restoreInto(repository.dir() / manifest.id, manifest, target, false);
  const auto restore_done = Clock::now();
  report.restore_ms = millisBetween(restore_started, restore_done);
  bool ok = static_cast<bool>(restored);
  report.checks.push_back(
      {"restore", ok ? Level::kOk : Level::kCritical,
       ok ? fmt::format("files in place in {} ms", report.restore_ms) : restored.error().message});

  ExpectedGateways gateways;
  std::set<std::string> users;
  if (ok) {
    auto db = storage::openDatabase(target.database_url, target.data_dir);
    if (db) {
      gateways = expectedGateways(**db, !options.config_file.empty());
      users = column(**db, "SELECT email FROM users");
      if (auto counts = tableCounts(**db)) {
        for (auto& check : compareRowCounts(manifest, *counts))
          report.checks.push_back(std::move(check));
      }
    } else {
      report.checks.push_back({"open", Level::kCritical, db.error().message});
    }
  }

  // ---- start a gateway on it
  DrillGateway gateway;
  const fs::path log = *scratch / "gateway.log";
  Listening listening;
  if (ok) {
    std::vector<std::string> args{options.gateway_binary, "gateway",
                                  "--server-host",        "127.0.0.1",
                                  "--server-port",        "0",
                                  "--data-dir",           target.data_dir,
                                  "--database-url",       target.database_url};
    if (!options.config_file.empty()) {
      args.insert(args.end(), {"--config", fs::absolute(options.config_file).string()});
    }
    say("starting a gateway on the restored data");
    const auto launched = Clock::now();
    auto started = gateway.start(args, *scratch, log);
    ok = static_cast<bool>(started);
    const auto deadline = launched + options.ready_timeout;
    bool ready = false;
    while (ok && !ready && Clock::now() < deadline) {
      if (!gateway.running()) break;
      if (listening.port == 0) listening = listeningAddress(log);
      if (listening.port != 0) {
        auto answer = DrillClient(listening, "").send(net::Method::kGet, "/ready");
        ready = answer && answer->status == 200;
      }
      if (!ready) std::this_thread::sleep_for(20ms);
    }
    const auto ready_at = Clock::now();
    report.port = listening.port;
    report.scheme = listening.scheme;
    if (ready) {
      report.start_ms = millisBetween(launched, ready_at);
      // Checking the restored rows between restore and launch is the drill's, not the
      // recovery's: it is left out.
      report.rto_ms = report.restore_ms + report.start_ms;
      report.checks.push_back({"gateway /ready", Level::kOk,
                               fmt::format("ready at {}://127.0.0.1:{} {} ms after launch",
                                           report.scheme, report.port, report.start_ms)});
    } else {
      ok = false;
      report.checks.push_back({"gateway /ready", Level::kCritical,
                               fmt::format("the gateway {} within {} s; its last lines:{}",
                                           gateway.running() ? "did not answer /ready" : "exited",
                                           options.ready_timeout.count(), lastLines(log, 15))});
    }
  }

  // ---- check it serves the restored data
  if (ok) {
    say(fmt::format("gateway ready after {} ms; checking it", report.start_ms));
    std::string token;
    if (options.token) {
      auto minted = options.token(target.data_dir);
      if (minted) token = *minted;
    }
    const DrillClient client(listening, token);
    for (auto& check : gatewaysChecks(client, gateways))
      report.checks.push_back(std::move(check));
    report.checks.push_back(usersCheck(client, users));
    report.checks.push_back(mcpCheck(client));
  }
  if (gateway.pid() > 0) {
    say("stopping the drill gateway");
    const bool clean = gateway.stop();
    report.checks.push_back({"gateway stop", clean ? Level::kOk : Level::kWarning,
                             clean ? "stopped cleanly on SIGTERM" : "had to be killed"});
  }
  if (!scratch_url.empty()) {
    if (auto dropped = dropScratchDatabase(production.database_url, scratch_url); !dropped) {
      say("could not drop the scratch database: " + dropped.error().message);
    }
  }
  report.scratch_kept = options.keep_scratch || worst(report.checks) == Level::kCritical;
  if (!report.scratch_kept) {
    std::error_code ec;
    fs::remove_all(*scratch, ec);
  }
  return report;
}

} // namespace forge::ops
