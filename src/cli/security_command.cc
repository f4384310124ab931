// `forge security auth-failures|anomalies|access-log|audit|isolate|forensics`: the on-call
// security procedures. The audit trail is read from the stack's database (--data-dir or
// --database-url), requests from the gateway's access log (its log files under <data-dir>/logs,
// or --log FILE); isolate acts through the gateway's API, so that what it does is audited. What
// the records mean is computed in ops/security.h.
#include "api/shapes.h"
#include "cli/commands.h"
#include "cli/connection.h"
#include "cli/output.h"
#include "cli/security_records.h"

#include <CLI/CLI.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <sys/stat.h>

#include <fstream>

namespace forge::cli {
namespace {

namespace json = boost::json;
using net::Method;

json::array strings(const auto& list) {
  json::array out;
  for (const auto& s : list)
    out.emplace_back(s);
  return out;
}

json::object accessJson(const ops::AccessRecord& r) {
  return json::object{
      {"at", r.at},         {"method", r.method},        {"path", r.path},
      {"status", r.status}, {"user", r.actor},           {"token", r.token},
      {"remote", r.remote}, {"requestId", r.request_id}, {"durationMs", r.duration_ms}};
}

json::object anomalyJson(const ops::Anomaly& a) {
  return json::object{{"rule", a.rule},          {"severity", ops::levelName(a.severity)},
                      {"actor", a.actor},        {"host", a.host},
                      {"summary", a.summary},    {"firstSeen", a.first_seen},
                      {"lastSeen", a.last_seen}, {"evidence", strings(a.evidence)}};
}

json::object eventJson(const ops::TimelineEvent& e) {
  return json::object{{"at", e.at},     {"source", e.source}, {"actor", e.actor},
                      {"host", e.host}, {"what", e.what},     {"outcome", e.outcome}};
}

class SecurityCommand final : public Command {
public:
  std::string name() const override { return "security"; }
  std::string synopsis() const override {
    return "Security monitoring and response: failed logins, anomalies, audit, isolation";
  }

  void setup(CLI::App& app) override {
    app.require_subcommand(1);
    app.footer("Examples:\n"
               "  forge security auth-failures --since 24h\n"
               "  forge security anomalies --since 1h --json\n"
               "  forge security isolate --user eve@example.com --reason 'stolen laptop'\n"
               "  forge security forensics --user eve@example.com --since 7d -o eve.json");

    auto* failures =
        subs_.add(app, "auth-failures",
                  "Failed logins and refused requests (401/403/429) by actor and address",
                  Reach::kDatabase, &SecurityCommand::authFailures);
    failures->add_option("--since", since_, "How far back: 30m, 24h, 7d or an ISO time")
        ->capture_default_str();
    failures->footer("Example: forge security auth-failures --since 24h --data-dir ./data");

    auto* anomalies = subs_.add(app, "anomalies",
                                "Brute force, probing, new addresses, privilege changes, off-hours "
                                "changes; exits 4 on a warning, 3 on a critical finding",
                                Reach::kDatabase, &SecurityCommand::anomalies);
    anomalies->add_option("--since", since_, "The window examined: 30m, 24h, 7d or an ISO time")
        ->capture_default_str();
    anomalies
        ->add_option("--baseline", baseline_,
                     "History before the window that addresses are compared with")
        ->capture_default_str();
    anomalies
        ->add_option("--burst", rules_.burst_warning,
                     "Failures from one address within --burst-window that are a warning")
        ->capture_default_str();
    anomalies
        ->add_option("--burst-critical", rules_.burst_critical,
                     "Failures within the window that are critical")
        ->capture_default_str();
    anomalies->add_option("--burst-window", burst_window_, "The brute-force window")
        ->capture_default_str();
    anomalies
        ->add_option("--denied-targets", rules_.denied_targets,
                     "Distinct targets one actor is refused on before it is reported")
        ->capture_default_str();
    anomalies
        ->add_option("--work-hours", work_hours_,
                     "Working hours in UTC (START-END); changes outside are reported")
        ->capture_default_str();
    anomalies->add_option("--log", logs_, "Access log files (default: <data-dir>/logs/gateway-*)");
    anomalies->footer("Example: forge security anomalies --since 24h --work-hours 8-18");

    auto* access = subs_.add(app, "access-log", "The gateway's access records, filtered",
                             Reach::kDatabase, &SecurityCommand::accessLog);
    access->add_option("--user", user_, "Only this user's requests (an email)");
    access->add_option("--remote", remote_, "Only requests from this address");
    access->add_option("--since", since_, "How far back")->capture_default_str();
    access->add_option("--status", status_, "Only this status, or a class: 4xx, 5xx");
    access->add_option("--limit", limit_, "At most this many (the newest)")->capture_default_str();
    access->add_option("--log", logs_, "Access log files (default: <data-dir>/logs/gateway-*)");
    access->footer("Example: forge security access-log --user eve@example.com --since 1h");

    auto* audit = subs_.add(app, "audit", "The audit trail, filtered, newest first",
                            Reach::kDatabase, &SecurityCommand::audit);
    audit->add_option("--actor", user_, "Only this actor (email)");
    audit->add_option("--action", action_, "Only actions starting with this ('PUT /users')");
    audit->add_option("--result", result_, "allowed, denied or failed");
    audit->add_option("--since", since_, "How far back")->capture_default_str();
    audit->add_option("--limit", limit_, "At most this many")->capture_default_str();
    audit->footer("Example: forge security audit --action login --result denied --since 24h");

    auto* isolate =
        subs_.add(app, "isolate", "Cut off an upstream, an API token or a user at once (audited)",
                  Reach::kGateway, &SecurityCommand::isolate);
    auto* group = isolate->add_option_group("what", "What to isolate");
    group->add_option("--upstream", upstream_, "Deactivate this upstream (name or id)");
    group->add_option("--token-id", token_id_, "Revoke this API token (id or jti)");
    group->add_option("--user", user_, "Disable this user and revoke all their tokens");
    group->require_option(1);
    isolate->add_option("--reason", reason_, "Why (kept in the audit trail)")->required();
    isolate->footer(
        "Examples:\n"
        "  forge security isolate --upstream github --reason 'leaking secrets'\n"
        "  forge security isolate --token-id 3f2a... --reason 'token in a public repo'\n"
        "  forge security isolate --user eve@example.com --reason 'account taken over'");

    auto* forensics =
        subs_.add(app, "forensics",
                  "A timeline of what a user or an address did, written to a file with its "
                  "SHA-256",
                  Reach::kDatabase, &SecurityCommand::forensics);
    auto* who = forensics->add_option_group("who", "Whose timeline");
    who->add_option("--user", user_, "A user (email): audit entries, requests, API tokens");
    who->add_option("--remote", remote_, "A client address");
    who->require_option(1, 2);
    forensics->add_option("--since", since_, "How far back")->capture_default_str();
    forensics->add_option("-o,--output", output_, "The report (JSON) to write")->required();
    forensics->add_option("--log", logs_, "Access log files (default: <data-dir>/logs/gateway-*)");
    forensics->footer("Example: forge security forensics --user eve@example.com --since 7d "
                      "-o eve-timeline.json\n"
                      "The checksum is printed and written next to the report (<file>.sha256).");
  }

  int run() override { return subs_.run(*this); }

private:
  // ---- auth-failures ----------------------------------------------------------------------------

  int authFailures(Connection& conn) {
    int exit_code = kExitOk;
    const auto since = sinceTime(conn, since_, exit_code);
    if (!since) return exit_code;
    const auto records = readAudit(conn, {.since = *since}, exit_code);
    if (!records) return exit_code;
    const auto groups = ops::groupAuthFailures(*records);
    Table table({"ACTOR", "ADDRESS", "TOTAL", "401", "403", "429", "LOGINS", "FIRST", "LAST"});
    json::array items;
    std::int64_t total = 0;
    for (const auto& g : groups) {
      total += g.total;
      table.addRow({g.actor, g.host, std::to_string(g.total), std::to_string(g.unauthorized),
                    std::to_string(g.forbidden), std::to_string(g.throttled),
                    std::to_string(g.failed_logins), g.first_seen, g.last_seen});
      items.push_back(json::object{{"actor", g.actor},
                                   {"remote", g.host},
                                   {"total", g.total},
                                   {"unauthorized", g.unauthorized},
                                   {"forbidden", g.forbidden},
                                   {"throttled", g.throttled},
                                   {"failedLogins", g.failed_logins},
                                   {"firstSeen", g.first_seen},
                                   {"lastSeen", g.last_seen},
                                   {"actions", strings(g.actions)}});
    }
    if (!conn.json()) fmt::print("Authentication failures since {}: {}\n", *since, total);
    printResult(conn.json(), table,
                json::object{{"since", *since}, {"total", total}, {"groups", items}});
    return kExitOk;
  }

  // ---- anomalies --------------------------------------------------------------------------------

  int anomalies(Connection& conn) {
    int exit_code = kExitOk;
    const auto since = sinceTime(conn, since_, exit_code);
    if (!since) return exit_code;
    const auto baseline_span = ops::parseSpan(baseline_);
    const auto window = ops::parseSpan(burst_window_);
    int start = 0, end = 0;
    if (!baseline_span || !window)
      return conn.fail(kExitUsage, "--baseline and --burst-window take spans such as 30m or 7d");
    if (std::sscanf(work_hours_.c_str(), "%d-%d", &start, &end) != 2 || start < 0 || end > 24 ||
        start >= end)
      return conn.fail(kExitUsage, "--work-hours takes START-END in UTC hours, such as 7-19");
    rules_.burst_window = *window;
    rules_.work_start_hour = start;
    rules_.work_end_hour = end;
    // The baseline reaches back from the window's start.
    const auto window_start = ops::parseUtc(*since).value_or(0);
    const std::string history =
        since->empty() ? std::string()
                       : ops::formatUtc(window_start - static_cast<double>(baseline_span->count()));
    const auto audit = readAudit(conn, {.since = history}, exit_code);
    if (!audit) return exit_code;
    const auto access = readAccess(conn, logs_, history);
    const auto found = ops::detectAnomalies(*audit, access, *since, rules_);

    json::array items;
    ops::Level worst = ops::Level::kOk;
    for (const auto& a : found) {
      worst = std::max(worst, a.severity);
      items.push_back(anomalyJson(a));
    }
    if (conn.json()) {
      printResult(
          true, Table({}),
          json::object{{"since", *since}, {"status", ops::levelName(worst)}, {"anomalies", items}});
    } else if (found.empty()) {
      fmt::print("No anomalies since {} ({} audit records, {} requests examined).\n",
                 since->empty() ? "the start" : *since, audit->size(), access.size());
    } else {
      for (const auto& a : found) {
        fmt::print("[{}] {}: {}\n", ops::levelName(a.severity), a.rule, a.summary);
        fmt::print("    seen {} .. {}\n", a.first_seen, a.last_seen);
        for (const auto& line : a.evidence)
          fmt::print("    - {}\n", line);
      }
      fmt::print("{} finding(s); worst: {}\n", found.size(), ops::levelName(worst));
    }
    return ops::exitCodeOf(worst);
  }

  // ---- access-log -------------------------------------------------------------------------------

  bool statusMatches(int status) const {
    if (status_.empty()) return true;
    if (status_.size() == 3 && status_.ends_with("xx")) return status / 100 == status_[0] - '0';
    return std::to_string(status) == status_;
  }

  int accessLog(Connection& conn) {
    int exit_code = kExitOk;
    const auto since = sinceTime(conn, since_, exit_code);
    if (!since) return exit_code;
    auto records = readAccess(conn, logs_, *since);
    std::vector<ops::AccessRecord> shown;
    for (auto& r : records) {
      if (!user_.empty() && r.actor != user_) continue;
      if (!remote_.empty() && ops::hostOf(r.remote) != remote_) continue;
      if (!statusMatches(r.status)) continue;
      shown.push_back(std::move(r));
    }
    if (limit_ > 0 && shown.size() > static_cast<std::size_t>(limit_))
      shown.erase(shown.begin(), shown.end() - limit_);
    Table table({"AT", "METHOD", "PATH", "STATUS", "USER", "REMOTE", "MS"});
    json::array items;
    for (const auto& r : shown) {
      table.addRow({r.at, r.method, r.path, std::to_string(r.status), r.actor, r.remote,
                    fmt::format("{:.1f}", r.duration_ms)});
      items.push_back(accessJson(r));
    }
    printResult(conn.json(), table, json::object{{"since", *since}, {"requests", items}});
    return kExitOk;
  }

  // ---- audit ------------------------------------------------------------------------------------

  int audit(Connection& conn) {
    int exit_code = kExitOk;
    const auto since = sinceTime(conn, since_, exit_code);
    if (!since) return exit_code;
    storage::AuditQuery query{
        .since = *since, .actor = user_, .action = action_, .result = result_, .limit = limit_};
    const auto records = readAudit(conn, query, exit_code);
    if (!records) return exit_code;
    Table table({"AT", "ACTOR", "ACTION", "TARGET", "RESULT", "STATUS", "REMOTE", "DETAIL"});
    json::array items;
    for (const auto& r : *records) {
      table.addRow({r.at, r.actor, r.action,
                    r.target_id.empty() ? r.target_type : r.target_type + "/" + r.target_id,
                    r.result, std::to_string(r.status), r.remote, r.detail.substr(0, 80)});
      items.push_back(api::auditJson(r));
    }
    printResult(conn.json(), table, items);
    return kExitOk;
  }

  // ---- isolate ----------------------------------------------------------------------------------

  int isolate(Connection& conn) {
    auto api = conn.gateway();
    if (!api) return conn.fail(kExitUsage, api.error().message);
    const std::string reason = "?reason=" + queryValue(reason_);
    int exit_code = kExitOk;
    json::array done;
    auto report = [&](std::string what) {
      if (!conn.json()) fmt::print("{}\n", what);
      done.emplace_back(std::move(what));
    };

    if (!upstream_.empty()) {
      auto list = conn.call(*api, Method::kGet, "/gateways", exit_code);
      if (!list) return exit_code;
      std::string id;
      if (list->body.is_array())
        for (const auto& g : list->body.as_array())
          if (member(g, "name") == upstream_ || member(g, "id") == upstream_) id = member(g, "id");
      if (id.empty())
        return conn.fail(kExitFailure,
                         fmt::format("no upstream named '{}' (see GET /gateways)", upstream_));
      if (!conn.call(*api, Method::kPost,
                     fmt::format("/gateways/{}/state{}&activate=false", id, reason), exit_code))
        return exit_code;
      report(fmt::format("upstream {} deactivated: its tools, resources and prompts are gone "
                         "from every MCP endpoint (of other replicas sharing the database within "
                         "gateway.catalog_sync_interval)",
                         upstream_));
    }
    if (!token_id_.empty()) {
      if (!conn.call(*api, Method::kDelete, "/tokens/" + queryValue(token_id_) + reason, exit_code))
        return exit_code;
      report(fmt::format("API token {} revoked", token_id_));
    }
    if (!user_.empty()) {
      auto user = conn.call(*api, Method::kGet, "/users/" + queryValue(user_), exit_code);
      if (!user) return exit_code;
      const std::string id = member(user->body, "id");
      const json::value body = json::object{{"enabled", false}};
      if (!conn.call(*api, Method::kPut, "/users/" + id + reason, exit_code, &body))
        return exit_code;
      report(fmt::format("user {} disabled: their logins and JWTs are refused from now on", user_));
      auto tokens = conn.call(*api, Method::kGet, "/tokens?all=true", exit_code);
      if (!tokens) return exit_code;
      if (tokens->body.is_array()) {
        for (const auto& t : tokens->body.as_array()) {
          if (member(t, "userId") != id || member(t, "revokedAt") != "") continue;
          if (!conn.call(*api, Method::kDelete, "/tokens/" + member(t, "id") + reason, exit_code))
            return exit_code;
          report(fmt::format("API token {} ({}) of {} revoked", member(t, "name"), member(t, "id"),
                             user_));
        }
      }
    }
    if (conn.json())
      printResult(true, Table({}), json::object{{"reason", reason_}, {"done", done}});
    return kExitOk;
  }

  // ---- forensics --------------------------------------------------------------------------------

  int forensics(Connection& conn) {
    int exit_code = kExitOk;
    const auto since = sinceTime(conn, since_, exit_code);
    if (!since) return exit_code;
    ops::ForensicsFilter filter{.actor = user_, .host = remote_, .token_ids = {}};
    std::vector<storage::ApiTokenRecord> tokens;
    auto db = conn.database();
    if (!db)
      return conn.fail(kExitFailure,
                       fmt::format("cannot open the stack's database: {}", db.error().message));
    storage::IdentityStore ids(**db);
    if (!user_.empty()) {
      auto user = ids.userByEmail(user_);
      if (user && *user) {
        auto owned = ids.tokens((*user)->id);
        if (owned) tokens = std::move(*owned);
        for (const auto& t : tokens)
          filter.token_ids.insert(t.id);
      }
    }
    const auto audit = readAudit(conn, {.since = *since}, exit_code);
    if (!audit) return exit_code;
    const auto access = readAccess(conn, logs_, *since);
    const auto events = ops::buildTimeline(*audit, access, tokens, filter);

    json::array items;
    for (const auto& e : events)
      items.push_back(eventJson(e));
    const json::object report{
        {"subject", json::object{{"user", user_}, {"remote", remote_}}},
        {"since", *since},
        {"generatedAt", ops::formatUtc(std::chrono::duration<double>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count())},
        {"sources", json::object{{"auditRecords", audit->size()},
                                 {"accessRecords", access.size()},
                                 {"apiTokens", tokens.size()}}},
        {"events", items}};
    const std::string text = json::serialize(report) + "\n";
    const std::string checksum = ops::sha256Hex(text);
    if (auto written = writeReport(text, checksum); !written.empty())
      return conn.fail(kExitFailure, written);

    if (conn.json()) {
      printResult(
          true, Table({}),
          json::object{{"output", output_}, {"sha256", checksum}, {"events", events.size()}});
      return kExitOk;
    }
    Table table({"AT", "SOURCE", "ACTOR", "ADDRESS", "WHAT", "OUTCOME"});
    for (const auto& e : events)
      table.addRow({e.at, e.source, e.actor, e.host, e.what.substr(0, 90), e.outcome});
    fmt::print("{}", table.render());
    fmt::print("{} event(s) written to {}\nsha256 {}  (also in {}.sha256)\n", events.size(),
               output_, checksum, output_);
    return kExitOk;
  }

  // Writes the report readable by its owner only, and its checksum beside it; an error message
  // or "".
  std::string writeReport(const std::string& text, const std::string& checksum) {
    const mode_t old_mask = ::umask(077);
    {
      std::ofstream out(output_, std::ios::binary | std::ios::trunc);
      out << text;
      if (!out.flush()) {
        ::umask(old_mask);
        return fmt::format("cannot write {}", output_);
      }
    }
    std::ofstream sum(output_ + ".sha256", std::ios::trunc);
    sum << checksum << "  " << std::filesystem::path(output_).filename().string() << "\n";
    ::umask(old_mask);
    return sum.flush() ? std::string() : fmt::format("cannot write {}.sha256", output_);
  }

  Subcommands<SecurityCommand> subs_;

  std::string since_ = "24h";
  std::string baseline_ = "30d";
  std::string burst_window_ = "5m";
  std::string work_hours_ = "7-19";
  ops::AnomalyRules rules_;
  std::vector<std::string> logs_;
  std::string user_, remote_, status_, action_, result_;
  std::int64_t limit_ = 100;
  std::string upstream_, token_id_, reason_, output_;
};

} // namespace

CommandPtr makeSecurityCommand() { return std::make_unique<SecurityCommand>(); }

} // namespace forge::cli
