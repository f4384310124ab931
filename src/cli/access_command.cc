// `forge access review|set-role|audit`: who may do what, changing a role, and the history of
// such changes. review and audit read the stack's database; set-role goes through the gateway's
// /users API, so the change is checked and audited like any other.
#include "api/shapes.h"
#include "cli/commands.h"
#include "cli/connection.h"
#include "cli/output.h"
#include "cli/security_records.h"

#include <CLI/CLI.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>

namespace forge::cli {
namespace {

namespace json = boost::json;
using net::Method;

double nowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// What review says about one user.
struct UserReview {
  const storage::UserRecord* user = nullptr;
  std::vector<std::string> teams; // "<team>:<role>"
  int active = 0, expired = 0, revoked = 0;
  std::string last_token_use;
  std::vector<std::string> flags;
};

UserReview review(const storage::UserRecord& user, const std::vector<storage::TeamRecord>& teams,
                  const std::vector<storage::MemberRecord>& memberships,
                  const std::vector<storage::ApiTokenRecord>& tokens, double now, int stale_days) {
  UserReview r{.user = &user};
  for (const auto& m : memberships) {
    std::string name = m.team_id;
    for (const auto& t : teams)
      if (t.id == m.team_id) name = t.name;
    r.teams.push_back(name + ":" + m.role);
  }
  bool unexpiring = false;
  for (const auto& t : tokens) {
    if (!t.revoked_at.empty()) {
      ++r.revoked;
    } else if (!t.expires_at.empty() && ops::parseUtc(t.expires_at).value_or(0) <= now) {
      ++r.expired;
    } else {
      ++r.active;
      if (t.expires_at.empty()) unexpiring = true;
    }
    if (t.last_used_at > r.last_token_use) r.last_token_use = t.last_used_at;
  }
  if (user.role == "platform_admin") r.flags.push_back("admin");
  if (!user.enabled) r.flags.push_back("disabled");
  // Stale: neither a login nor a token use for stale_days (an account created since counts as
  // in use).
  const std::string last_activity = std::max(user.last_login, r.last_token_use);
  const double since =
      ops::parseUtc(last_activity.empty() ? user.created_at : last_activity).value_or(now);
  if (user.enabled && now - since > stale_days * 86400.0)
    r.flags.push_back(fmt::format("stale>{}d", stale_days));
  if (unexpiring) r.flags.push_back("token-without-expiry");
  return r;
}

class AccessCommand final : public Command {
public:
  std::string name() const override { return "access"; }
  std::string synopsis() const override {
    return "Review users, roles, teams and tokens; change a role; audit access changes";
  }

  void setup(CLI::App& app) override {
    app.require_subcommand(1);
    app.footer("Examples:\n"
               "  forge access review --stale-days 90\n"
               "  forge access set-role ada@example.com viewer --reason 'left the project'\n"
               "  forge access audit --since 30d");

    auto* rev = subs_.add(app, "review", "Users with role, teams, last login, tokens and flags",
                          Reach::kDatabase, &AccessCommand::runReview);
    rev->add_option("--stale-days", stale_days_,
                    "Flag enabled accounts with no login or token use for this many days")
        ->capture_default_str()
        ->check(CLI::Range(1, 3650));
    rev->footer("Flags: admin, disabled, stale>Nd, token-without-expiry.\n"
                "Example: forge access review --stale-days 30 --json");

    auto* set = subs_.add(app, "set-role", "Change a user's platform role (through the gateway)",
                          Reach::kGateway, &AccessCommand::runSetRole);
    set->add_option("email", email_, "The user")->required();
    set->add_option("role", role_, "platform_admin, team_admin, developer or viewer")
        ->required()
        ->check(CLI::IsMember({"platform_admin", "team_admin", "developer", "viewer"}));
    set->add_option("--reason", reason_, "Why (kept in the audit trail)");
    set->footer("Example: forge access set-role ada@example.com team_admin --reason 'leads team "
                "A'");

    auto* audit = subs_.add(
        app, "audit", "Access changes: roles, accounts, memberships, tokens created and revoked",
        Reach::kDatabase, &AccessCommand::runAudit);
    audit->add_option("--since", since_, "How far back: 24h, 30d or an ISO time")
        ->capture_default_str();
    audit->add_option("--actor", actor_, "Only changes made by this user");
    audit->footer("Example: forge access audit --since 7d --json");
  }

  int run() override { return subs_.run(*this); }

private:
  int runReview(Connection& conn) {
    auto db = conn.database();
    if (!db)
      return conn.fail(kExitFailure,
                       fmt::format("cannot open the stack's database: {}", db.error().message));
    storage::IdentityStore ids(**db);
    auto users = ids.users();
    auto teams = ids.teams();
    auto tokens = ids.tokens();
    if (!users || !teams || !tokens)
      return conn.fail(kExitFailure, "cannot read users, teams and tokens from the database");
    std::map<std::string, std::vector<storage::ApiTokenRecord>> tokens_of;
    for (auto& t : *tokens)
      tokens_of[t.user_id].push_back(std::move(t));

    const double now = nowSeconds();
    Table table({"EMAIL", "ROLE", "ENABLED", "TEAMS", "LAST LOGIN", "TOKENS A/E/R",
                 "LAST TOKEN USE", "FLAGS"});
    json::array items;
    std::map<std::string, int> flag_counts;
    for (const auto& user : *users) {
      auto memberships = ids.membershipsOf(user.id);
      const auto r =
          review(user, *teams, memberships ? *memberships : std::vector<storage::MemberRecord>{},
                 tokens_of[user.id], now, stale_days_);
      for (const auto& flag : r.flags)
        ++flag_counts[flag.substr(0, flag.find('>'))];
      table.addRow({user.email, user.role, user.enabled ? "yes" : "no",
                    fmt::format("{}", fmt::join(r.teams, ",")),
                    user.last_login.empty() ? "never" : user.last_login,
                    fmt::format("{}/{}/{}", r.active, r.expired, r.revoked),
                    r.last_token_use.empty() ? "-" : r.last_token_use,
                    fmt::format("{}", fmt::join(r.flags, ","))});
      json::array team_list, flag_list;
      for (const auto& t : r.teams)
        team_list.emplace_back(t);
      for (const auto& f : r.flags)
        flag_list.emplace_back(f);
      items.push_back(json::object{
          {"email", user.email},
          {"role", user.role},
          {"enabled", user.enabled},
          {"teams", team_list},
          {"lastLogin",
           user.last_login.empty() ? json::value(nullptr) : json::value(user.last_login)},
          {"tokens",
           json::object{{"active", r.active}, {"expired", r.expired}, {"revoked", r.revoked}}},
          {"lastTokenUse",
           r.last_token_use.empty() ? json::value(nullptr) : json::value(r.last_token_use)},
          {"flags", flag_list}});
    }
    json::object summary;
    for (const auto& [flag, count] : flag_counts)
      summary[flag] = count;
    if (conn.json()) {
      printResult(true, table,
                  json::object{{"users", items}, {"flags", summary}, {"staleDays", stale_days_}});
    } else {
      fmt::print("{}", table.render());
      std::vector<std::string> parts;
      for (const auto& [flag, count] : flag_counts)
        parts.push_back(fmt::format("{} {}", count, flag));
      fmt::print("{} user(s){}{}\n", users->size(),
                 parts.empty() ? "" : "; flagged: ", fmt::join(parts, ", "));
    }
    return kExitOk;
  }

  int runSetRole(Connection& conn) {
    auto api = conn.gateway();
    if (!api) return conn.fail(kExitUsage, api.error().message);
    int exit_code = kExitOk;
    auto user = conn.call(*api, Method::kGet, "/users/" + queryValue(email_), exit_code);
    if (!user) return exit_code;
    const std::string before = member(user->body, "role");
    const json::value body = json::object{{"role", role_}};
    const std::string reason = reason_.empty() ? "" : "?reason=" + queryValue(reason_);
    auto changed = conn.call(*api, Method::kPut, "/users/" + member(user->body, "id") + reason,
                             exit_code, &body);
    if (!changed) return exit_code;
    if (conn.json()) {
      printResult(true, Table({}),
                  json::object{{"email", email_},
                               {"before", before},
                               {"role", member(changed->body, "role")}});
    } else {
      fmt::print("{}: {} -> {}\n", email_, before, member(changed->body, "role"));
    }
    return kExitOk;
  }

  int runAudit(Connection& conn) {
    int exit_code = kExitOk;
    const auto since = sinceTime(conn, since_, exit_code);
    if (!since) return exit_code;
    const auto records = readAudit(conn, {.since = *since, .actor = actor_}, exit_code);
    if (!records) return exit_code;
    Table table({"AT", "ACTOR", "CHANGE", "TARGET", "STATUS", "DETAIL"});
    json::array items;
    for (const auto& r : *records) {
      if (!ops::isAccessChange(r)) continue;
      table.addRow({r.at, r.actor, r.action,
                    r.target_id.empty() ? r.target_type : r.target_type + "/" + r.target_id,
                    std::to_string(r.status), r.detail.substr(0, 80)});
      items.push_back(api::auditJson(r));
    }
    printResult(conn.json(), table, json::object{{"since", *since}, {"changes", items}});
    return kExitOk;
  }

  Subcommands<AccessCommand> subs_;
  int stale_days_ = 90;
  std::string email_, role_, reason_, actor_;
  std::string since_ = "30d";
};

} // namespace

CommandPtr makeAccessCommand() { return std::make_unique<AccessCommand>(); }

} // namespace forge::cli
