// `forge log-level [LEVEL] [--service gateway|manager|all]`: shows or changes the log level of
// running processes at once, without a restart (PUT /admin/log-level, audited).
//
// Gateway replicas under the manager are separate processes, each called on a port of its own:
// replica i's port + i, or for replicas sharing one port (shared_port) the own_port the manager
// gives each of them. A replica the manager lists without one (started by an older forge) is
// sought through the shared port on fresh connections until as many distinct processes as the
// manager runs replicas have answered (bounded tries; the manager lists each replica's guard,
// not the gateway's own pid): the table shows which pids took the level, and says so when some
// were not reached.
#include "cli/commands.h"
#include "cli/ops_support.h"
#include "cli/output.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace forge::cli {
namespace {

namespace json = boost::json;

constexpr int kTriesPerReplica = 20;

struct Reply {
  std::string service;
  std::string url;
  int pid = 0;
  std::string level;
  std::string previous;
};

class LogLevelCommand final : public Command {
public:
  std::string name() const override { return "log-level"; }
  std::string synopsis() const override {
    return "Show or change the log level of the running gateway and manager (no restart)";
  }

  void setup(CLI::App& app) override {
    app.add_option("level", level_, "trace, debug, info, warn, error or off (none: show)")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
    app.add_option("--service", service_, "Which process: gateway, manager or all")
        ->check(CLI::IsMember({"gateway", "manager", "all"}))
        ->capture_default_str();
    connection_.addOptions(app, Reach::kBoth);
    app.footer("Needs a platform admin's token to change a level (the data directory's secrets "
               "mint one).\n"
               "Examples:\n  forge log-level\n  forge log-level debug\n"
               "  forge log-level info --service all --json");
  }

  int run() override {
    std::vector<Reply> replies;
    std::vector<std::string> problems;
    if (service_ != "manager") reachGateways(replies, problems);
    if (service_ != "gateway") {
      const ApiClient manager = managerClient(connection_);
      if (auto reply = send(manager, "manager", problems)) replies.push_back(*reply);
    }
    print(replies);
    for (const auto& problem : problems)
      connection_.fail(kExitFailure, problem);
    if (replies.empty()) return unreachable_ ? kExitUnhealthy : kExitFailure;
    return problems.empty() ? kExitOk : kExitFailure;
  }

private:
  // GET or PUT /admin/log-level on one process.
  std::optional<Reply> send(const ApiClient& api, const std::string& service,
                            std::vector<std::string>& problems) {
    const json::value body = json::object{{"level", level_}};
    auto answer = level_.empty() ? api.call(net::Method::kGet, "/admin/log-level")
                                 : api.call(net::Method::kPut, "/admin/log-level", &body);
    if (!answer) {
      unreachable_ = true;
      problems.push_back(fmt::format("cannot reach the {} at {}: {}", service, api.base(),
                                     answer.error().message));
      return std::nullopt;
    }
    if (answer->status != 200) {
      problems.push_back(fmt::format("the {} at {}: {}{}", service, api.base(),
                                     ApiClient::detail(*answer),
                                     answer->status == 403 || answer->status == 401
                                         ? " (a platform admin's token is needed: --token, or "
                                           "--data-dir of the stack)"
                                         : ""));
      return std::nullopt;
    }
    return Reply{service, api.base(), static_cast<int>(numberOf(answer->body, "pid")),
                 textOf(answer->body, "level"), textOf(answer->body, "previous")};
  }

  // The gateway at --gateway-url, and every replica the manager runs.
  void reachGateways(std::vector<Reply>& replies, std::vector<std::string>& problems) {
    std::string error;
    std::size_t expected = 0;     // replicas reached only through the gateway URL
    std::vector<std::string> own; // URLs of replicas on ports of their own
    if (const auto services = get(managerClient(connection_), "/services", error);
        services && services->status == 200 && services->body.is_array()) {
      for (const auto& s : services->body.as_array()) {
        if (textOf(s, "kind") != "gateway") continue;
        std::set<double> ports;
        for (const auto& r : s.as_object().at("replicas").as_array())
          if (textOf(r, "state") == "running") ports.insert(numberOf(r, "port"));
        const char* scheme = textOf(s, "scheme") == "https" ? "https" : "http";
        for (const auto& r : s.as_object().at("replicas").as_array()) {
          if (textOf(r, "state") != "running") continue;
          const double port = ports.size() > 1 ? numberOf(r, "port") : numberOf(r, "own_port");
          if (port > 0)
            own.push_back(fmt::format("{}://127.0.0.1:{}", scheme, port));
          else
            ++expected;
        }
      }
    }
    for (const auto& url : own) {
      if (auto reply = send(ApiClient(url, tokenOrEmpty(), std::chrono::seconds(10)).localReplica(),
                            "gateway", problems))
        replies.push_back(*reply);
    }
    if (!own.empty() && expected == 0) return;
    const ApiClient gateway = gatewayClient(connection_);
    std::set<int> answered; // the replicas reached on their own ports count too
    for (const auto& reply : replies)
      answered.insert(reply.pid);
    const std::size_t wanted = answered.size() + std::max<std::size_t>(expected, 1);
    const int tries = std::max<int>(1, static_cast<int>(expected) * kTriesPerReplica);
    for (int i = 0; i < tries; ++i) {
      auto reply = send(gateway, "gateway", problems);
      if (!reply) return;
      if (answered.insert(reply->pid).second) replies.push_back(*reply);
      if (answered.size() >= wanted) return;
    }
    problems.push_back(fmt::format("only {} of {} gateway replicas answered through {} in {} "
                                   "tries: run the command again",
                                   answered.size(), wanted, gateway.base(), tries));
  }

  std::string tokenOrEmpty() {
    auto token = connection_.token();
    return token ? *token : std::string();
  }

  void print(const std::vector<Reply>& replies) const {
    Table table({"service", "pid", "level", "previous", "url"});
    json::array items;
    for (const auto& r : replies) {
      table.addRow({r.service, std::to_string(r.pid), r.level, r.previous, r.url});
      json::object item{{"service", r.service}, {"pid", r.pid}, {"level", r.level}, {"url", r.url}};
      if (!r.previous.empty()) item["previous"] = r.previous;
      items.push_back(std::move(item));
    }
    if (!replies.empty() || connection_.json()) printResult(connection_.json(), table, items);
  }

  Connection connection_;
  std::string level_;
  std::string service_ = "gateway";
  bool unreachable_ = false;
};

} // namespace

CommandPtr makeLogLevelCommand() { return std::make_unique<LogLevelCommand>(); }

} // namespace forge::cli
