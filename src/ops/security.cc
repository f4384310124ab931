#include "ops/security.h"

#include "auth/api_token.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>

namespace forge::ops {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxEvidence = 5;

bool digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int number(std::string_view text) {
  int value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

double secondsOf(const std::string& at) { return parseUtc(at).value_or(0); }

// "2026-01-02T03:04:05Z POST /gateways (actor, 10.0.0.1) -> 403 detail"
std::string describe(const storage::AuditRecord& r) {
  std::string line = fmt::format("{} {} by {}", r.at, r.action, r.actor);
  if (!r.remote.empty()) line += fmt::format(" from {}", hostOf(r.remote));
  line += fmt::format(" -> {} {}", r.status, r.result);
  if (!r.detail.empty()) line += fmt::format(" ({})", r.detail.substr(0, 120));
  return line;
}

std::string describe(const AccessRecord& r) {
  return fmt::format("{} {} {} by {} from {} -> {}", r.at, r.method, r.path,
                     r.actor.empty() ? "anonymous" : r.actor, hostOf(r.remote), r.status);
}

void addEvidence(Anomaly& anomaly, std::string line) {
  if (anomaly.evidence.size() < kMaxEvidence) anomaly.evidence.push_back(std::move(line));
}

// The method of an action written as "<METHOD> <path>", or "".
std::string_view methodOf(std::string_view action) {
  const auto space = action.find(' ');
  if (space == std::string_view::npos) return {};
  const auto method = action.substr(0, space);
  for (std::string_view m : {"POST", "PUT", "PATCH", "DELETE"})
    if (method == m) return method;
  return {};
}

bool isChange(const storage::AuditRecord& r) { return !methodOf(r.action).empty(); }

bool isFailedLogin(const storage::AuditRecord& r) { return r.action == "login" && r.status != 200; }

// ---- rules --------------------------------------------------------------------------------------

// Many failures from one address in a short time; critical when the burst is large or when a
// login from that address then succeeded (the guess may have worked).
void bruteForce(const std::vector<const storage::AuditRecord*>& window, const AnomalyRules& rules,
                std::vector<Anomaly>& out) {
  std::map<std::string, std::vector<const storage::AuditRecord*>> by_host;
  for (const auto* r : window)
    if (isAuthFailure(*r) && r->status != 403 && !r->remote.empty())
      by_host[hostOf(r->remote)].push_back(r);
  const double span = static_cast<double>(rules.burst_window.count());
  for (auto& [host, failures] : by_host) {
    std::sort(failures.begin(), failures.end(),
              [](const auto* a, const auto* b) { return a->at < b->at; });
    std::size_t best = 0, best_begin = 0;
    for (std::size_t begin = 0, end = 0; end < failures.size(); ++end) {
      while (secondsOf(failures[end]->at) - secondsOf(failures[begin]->at) > span)
        ++begin;
      if (end - begin + 1 > best) {
        best = end - begin + 1;
        best_begin = begin;
      }
    }
    if (best < static_cast<std::size_t>(rules.burst_warning)) continue;
    const auto* last = failures[best_begin + best - 1];
    const storage::AuditRecord* success = nullptr;
    for (const auto* r : window) {
      if (r->action == "login" && r->status == 200 && hostOf(r->remote) == host &&
          r->at >= failures[best_begin]->at)
        success = r;
    }
    std::set<std::string> actors;
    for (std::size_t i = best_begin; i < best_begin + best; ++i)
      actors.insert(failures[i]->actor);
    Anomaly a;
    a.rule = "brute_force";
    a.severity = best >= static_cast<std::size_t>(rules.burst_critical) || success
                     ? Level::kCritical
                     : Level::kWarning;
    a.host = host;
    a.actor = actors.size() == 1 ? *actors.begin() : fmt::format("{} accounts", actors.size());
    a.first_seen = failures[best_begin]->at;
    a.last_seen = last->at;
    a.summary = fmt::format("{} authentication failures from {} within {} s", best, host,
                            rules.burst_window.count());
    if (success) {
      a.summary += fmt::format("; then a successful login as {}", success->actor);
      addEvidence(a, describe(*success));
    }
    for (std::size_t i = best_begin; i < best_begin + best; ++i)
      addEvidence(a, describe(*failures[i]));
    out.push_back(std::move(a));
  }
}

// One authenticated actor refused on many different targets: probing for what it may reach.
void deniedAcrossTargets(const std::vector<const storage::AuditRecord*>& window,
                         const AnomalyRules& rules, std::vector<Anomaly>& out) {
  std::map<std::string, std::map<std::string, const storage::AuditRecord*>> by_actor;
  for (const auto* r : window) {
    if (r->status != 403 && !(r->result == "denied" && r->status != 401 && r->status != 429))
      continue;
    if (r->actor == "anonymous" || r->actor.empty()) continue;
    const std::string target =
        r->target_id.empty() ? r->action : r->target_type + "/" + r->target_id;
    by_actor[r->actor].emplace(target, r);
  }
  for (const auto& [actor, targets] : by_actor) {
    if (targets.size() < static_cast<std::size_t>(rules.denied_targets)) continue;
    Anomaly a;
    a.rule = "denied_across_targets";
    a.severity = targets.size() >= static_cast<std::size_t>(2 * rules.denied_targets)
                     ? Level::kCritical
                     : Level::kWarning;
    a.actor = actor;
    a.summary = fmt::format("{} was refused on {} different targets", actor, targets.size());
    std::vector<const storage::AuditRecord*> records;
    for (const auto& [target, r] : targets)
      records.push_back(r);
    std::sort(records.begin(), records.end(),
              [](const auto* x, const auto* y) { return x->at < y->at; });
    a.first_seen = records.front()->at;
    a.last_seen = records.back()->at;
    a.host = hostOf(records.back()->remote);
    for (const auto* r : records)
      addEvidence(a, describe(*r));
    out.push_back(std::move(a));
  }
}

// A credential used from an address it was never used from before the window. Access records
// name the API token, so a token is followed on its own; audit records name the user.
void newAddresses(const std::vector<storage::AuditRecord>& audit,
                  const std::vector<AccessRecord>& access, const std::string& window_start,
                  std::vector<Anomaly>& out) {
  struct Use {
    std::string at;
    std::string line;
  };
  std::map<std::string, std::set<std::string>> before;      // credential -> hosts
  std::map<std::string, std::map<std::string, Use>> during; // credential -> host -> first use
  auto note = [&](const std::string& who, const std::string& remote, const std::string& at,
                  const std::string& line) {
    if (who.empty() || who == "anonymous" || who == "development" || remote.empty()) return;
    const std::string host = hostOf(remote);
    if (at < window_start) {
      before[who].insert(host);
      return;
    }
    auto& first = during[who][host];
    if (first.at.empty() || at < first.at) first = Use{at, line};
  };
  for (const auto& r : audit)
    if (r.status < 400) note(r.actor, r.remote, r.at, describe(r));
  for (const auto& r : access) {
    if (r.status >= 400) continue;
    note(r.token.empty() ? r.actor : "token:" + r.token, r.remote, r.at, describe(r));
  }
  for (const auto& [who, hosts] : during) {
    const auto known = before.find(who);
    if (known == before.end()) continue; // no history: nothing to compare with
    for (const auto& [host, use] : hosts) {
      if (known->second.contains(host)) continue;
      Anomaly a;
      a.rule = "new_address";
      a.severity = Level::kWarning;
      a.actor = who;
      a.host = host;
      a.first_seen = a.last_seen = use.at;
      std::vector<std::string> seen(known->second.begin(), known->second.end());
      a.summary = fmt::format("{} used from {} for the first time (before: {})", who, host,
                              fmt::join(seen, ", "));
      addEvidence(a, use.line);
      out.push_back(std::move(a));
    }
  }
}

// Roles raised or lowered, accounts created, members added: critical when someone became a
// platform admin.
void privilegeChanges(const std::vector<const storage::AuditRecord*>& window,
                      std::vector<Anomaly>& out) {
  for (const auto* r : window) {
    if (r->status >= 400) continue;
    const bool role_change = r->action == "user.role";
    const bool new_user = r->action == "POST /users";
    const bool membership =
        r->action.starts_with("POST /teams/") && r->action.ends_with("/members");
    if (!role_change && !new_user && !membership) continue;
    Anomaly a;
    a.rule = "privilege_change";
    a.severity =
        role_change && r->detail.ends_with("platform_admin") ? Level::kCritical : Level::kWarning;
    a.actor = r->actor;
    a.host = hostOf(r->remote);
    a.first_seen = a.last_seen = r->at;
    if (role_change) {
      a.summary = fmt::format("{} changed the role of {}: {}", r->actor, r->target_id, r->detail);
    } else if (new_user) {
      a.summary = fmt::format("{} created a user", r->actor);
    } else {
      a.summary = fmt::format("{} changed the members of team {}", r->actor, r->target_id);
    }
    addEvidence(a, describe(*r));
    out.push_back(std::move(a));
  }
}

// Administrative changes made outside working hours, one finding per actor.
void offHoursAdmin(const std::vector<const storage::AuditRecord*>& window,
                   const AnomalyRules& rules, std::vector<Anomaly>& out) {
  static const std::set<std::string> kAdminTargets{"users",     "teams",  "tokens", "gateways",
                                                   "servers",   "admin",  "import", "tools",
                                                   "resources", "prompts"};
  std::map<std::string, std::vector<const storage::AuditRecord*>> by_actor;
  for (const auto* r : window) {
    if (r->status >= 400 || !kAdminTargets.contains(r->target_type)) continue;
    if (!isChange(*r) && r->action != "user.role" && r->action != "user.enabled") continue;
    if (r->at.size() < 13 || !digits(std::string_view(r->at).substr(11, 2))) continue;
    const int hour = number(std::string_view(r->at).substr(11, 2));
    if (hour >= rules.work_start_hour && hour < rules.work_end_hour) continue;
    by_actor[r->actor].push_back(r);
  }
  for (const auto& [actor, records] : by_actor) {
    Anomaly a;
    a.rule = "off_hours_admin";
    a.severity = Level::kWarning;
    a.actor = actor;
    a.host = hostOf(records.back()->remote);
    a.first_seen = records.front()->at;
    a.last_seen = records.back()->at;
    a.summary = fmt::format("{} made {} administrative change(s) outside {:02}:00-{:02}:00 UTC",
                            actor, records.size(), rules.work_start_hour, rules.work_end_hour);
    for (const auto* r : records)
      addEvidence(a, describe(*r));
    out.push_back(std::move(a));
  }
}

// Fields of a text log line after the message: " key=value key=value".
std::map<std::string, std::string> textFields(std::string_view rest) {
  std::map<std::string, std::string> fields;
  std::size_t pos = 0;
  while (pos < rest.size()) {
    while (pos < rest.size() && rest[pos] == ' ')
      ++pos;
    const auto end = std::min(rest.find(' ', pos), rest.size());
    const auto token = rest.substr(pos, end - pos);
    const auto eq = token.find('=');
    if (eq != std::string_view::npos)
      fields.emplace(std::string(token.substr(0, eq)), std::string(token.substr(eq + 1)));
    pos = end;
  }
  return fields;
}

bool looksLikeTime(std::string_view word) {
  return word.size() >= 20 && word[4] == '-' && word[10] == 'T' && word.back() == 'Z';
}

std::optional<AccessRecord> fromFields(std::string at, std::string request_id,
                                       const std::map<std::string, std::string>& f) {
  auto get = [&](const char* key) {
    auto it = f.find(key);
    return it == f.end() ? std::string() : it->second;
  };
  if (get("method").empty() || get("path").empty() || !digits(get("status"))) return std::nullopt;
  AccessRecord r;
  r.at = std::move(at);
  r.request_id = std::move(request_id);
  r.method = get("method");
  r.path = get("path");
  r.status = number(get("status"));
  r.remote = get("remote");
  r.actor = get("user");
  r.token = get("token");
  const auto duration = get("duration_ms");
  r.duration_ms = std::strtod(duration.c_str(), nullptr);
  return r;
}

} // namespace

// ---- time ---------------------------------------------------------------------------------------

std::optional<double> parseUtc(std::string_view t) {
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':' ||
      t.back() != 'Z')
    return std::nullopt;
  for (auto [pos, len] : {std::pair{0, 4}, {5, 2}, {8, 2}, {11, 2}, {14, 2}, {17, 2}})
    if (!digits(t.substr(pos, len))) return std::nullopt;
  std::tm tm{};
  tm.tm_year = number(t.substr(0, 4)) - 1900;
  tm.tm_mon = number(t.substr(5, 2)) - 1;
  tm.tm_mday = number(t.substr(8, 2));
  tm.tm_hour = number(t.substr(11, 2));
  tm.tm_min = number(t.substr(14, 2));
  tm.tm_sec = number(t.substr(17, 2));
  double seconds = static_cast<double>(timegm(&tm));
  const auto fraction = t.substr(19, t.size() - 20);
  if (!fraction.empty()) {
    if (fraction.front() != '.' || !digits(fraction.substr(1))) return std::nullopt;
    seconds += std::strtod(std::string("0").append(fraction).c_str(), nullptr);
  }
  return seconds;
}

std::string formatUtc(double seconds) {
  const auto whole = static_cast<std::time_t>(std::floor(seconds));
  const int millis = static_cast<int>((seconds - static_cast<double>(whole)) * 1000.0);
  std::tm tm{};
  gmtime_r(&whole, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

std::optional<std::chrono::seconds> parseSpan(std::string_view text) {
  if (text.size() < 2 || !digits(text.substr(0, text.size() - 1))) return std::nullopt;
  const std::int64_t n = number(text.substr(0, text.size() - 1));
  switch (text.back()) {
  case 's':
    return std::chrono::seconds(n);
  case 'm':
    return std::chrono::seconds(n * 60);
  case 'h':
    return std::chrono::seconds(n * 3600);
  case 'd':
    return std::chrono::seconds(n * 86400);
  default:
    return std::nullopt;
  }
}

std::optional<std::string> resolveSince(std::string_view since,
                                        std::chrono::system_clock::time_point now) {
  if (since.empty()) return std::string();
  if (parseUtc(since)) return std::string(since);
  auto span = parseSpan(since);
  if (!span) return std::nullopt;
  const auto at = std::chrono::duration<double>((now - *span).time_since_epoch()).count();
  return formatUtc(at);
}

// ---- the access log -----------------------------------------------------------------------------

std::string hostOf(std::string_view remote) {
  const auto colon = remote.rfind(':');
  std::string_view host = colon == std::string_view::npos ? remote : remote.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return std::string(host);
}

std::optional<AccessRecord> parseAccessLine(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
    line.remove_suffix(1);
  // The manager stamps each captured line with the time it read it: "<time> <line>".
  const auto brace = line.find('{');
  if (brace != std::string_view::npos &&
      (brace == 0 || looksLikeTime(line.substr(0, line.find(' '))))) {
    boost::system::error_code ec;
    auto value = json::parse(line.substr(brace), ec);
    if (ec || !value.is_object()) return std::nullopt;
    const auto& o = value.as_object();
    auto field = [&](const char* key) {
      const auto* v = o.if_contains(key);
      return v && v->is_string() ? std::string(v->as_string()) : std::string();
    };
    if (field("msg") != "request") return std::nullopt;
    std::map<std::string, std::string> fields;
    for (const auto& [key, v] : o)
      if (v.is_string()) fields.emplace(std::string(key), std::string(v.as_string()));
    return fromFields(field("ts"), field("request_id"), fields);
  }
  // Text: "[<stamp> ]<time> <level> [<request id>] request key=value ..."
  std::string_view rest = line;
  auto word = [&rest] {
    while (!rest.empty() && rest.front() == ' ')
      rest.remove_prefix(1);
    const auto end = std::min(rest.find(' '), rest.size());
    auto w = rest.substr(0, end);
    rest.remove_prefix(end);
    return w;
  };
  auto at = word();
  if (!looksLikeTime(at)) return std::nullopt;
  auto level = word();
  if (looksLikeTime(level)) { // the manager's stamp came first
    at = level;
    level = word();
  }
  if (level != "info") return std::nullopt;
  auto next = word();
  std::string request_id;
  if (next.size() > 2 && next.front() == '[' && next.back() == ']') {
    request_id = std::string(next.substr(1, next.size() - 2));
    next = word();
  }
  if (next != "request") return std::nullopt;
  return fromFields(std::string(at), std::move(request_id), textFields(rest));
}

std::vector<std::string> gatewayLogFiles(const std::string& data_dir) {
  namespace fs = std::filesystem;
  std::vector<std::pair<std::string, fs::file_time_type>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(data_dir) / "logs", ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("gateway") || name.find(".log") == std::string::npos) continue;
    found.emplace_back(entry.path().string(), entry.last_write_time(ec));
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  std::vector<std::string> out;
  for (auto& [path, time] : found)
    out.push_back(std::move(path));
  return out;
}

std::vector<AccessRecord> readAccessLogs(const std::vector<std::string>& files,
                                         const std::string& since,
                                         std::vector<std::string>* unreadable) {
  std::vector<AccessRecord> out;
  for (const auto& file : files) {
    std::ifstream in(file);
    if (!in) {
      if (unreadable) unreadable->push_back(file);
      continue;
    }
    for (std::string line; std::getline(in, line);) {
      auto record = parseAccessLine(line);
      if (record && (since.empty() || record->at >= since)) out.push_back(std::move(*record));
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const AccessRecord& a, const AccessRecord& b) { return a.at < b.at; });
  return out;
}

// ---- authentication failures --------------------------------------------------------------------

bool isAuthFailure(const storage::AuditRecord& r) {
  return r.status == 401 || r.status == 403 || r.status == 429 || isFailedLogin(r);
}

std::vector<FailureGroup> groupAuthFailures(const std::vector<storage::AuditRecord>& records) {
  std::map<std::pair<std::string, std::string>, FailureGroup> groups;
  for (const auto& r : records) {
    if (!isAuthFailure(r)) continue;
    const std::string host = hostOf(r.remote);
    auto& g = groups[{r.actor, host}];
    g.actor = r.actor;
    g.host = host;
    ++g.total;
    if (r.status == 401) ++g.unauthorized;
    if (r.status == 403) ++g.forbidden;
    if (r.status == 429) ++g.throttled;
    if (isFailedLogin(r)) ++g.failed_logins;
    if (g.first_seen.empty() || r.at < g.first_seen) g.first_seen = r.at;
    if (r.at > g.last_seen) g.last_seen = r.at;
    g.actions.insert(r.action);
  }
  std::vector<FailureGroup> out;
  for (auto& [key, g] : groups)
    out.push_back(std::move(g));
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.total > b.total; });
  return out;
}

// ---- anomalies ----------------------------------------------------------------------------------

std::vector<Anomaly> detectAnomalies(const std::vector<storage::AuditRecord>& audit,
                                     const std::vector<AccessRecord>& access,
                                     const std::string& window_start, const AnomalyRules& rules) {
  std::vector<const storage::AuditRecord*> window;
  for (const auto& r : audit)
    if (r.at >= window_start) window.push_back(&r);
  std::vector<Anomaly> out;
  bruteForce(window, rules, out);
  deniedAcrossTargets(window, rules, out);
  newAddresses(audit, access, window_start, out);
  privilegeChanges(window, out);
  offHoursAdmin(window, rules, out);
  std::stable_sort(out.begin(), out.end(), [](const Anomaly& a, const Anomaly& b) {
    if (a.severity != b.severity) return a.severity > b.severity;
    return a.last_seen > b.last_seen;
  });
  return out;
}

// ---- access changes -----------------------------------------------------------------------------

bool isAccessChange(const storage::AuditRecord& r) {
  if (r.action == "user.role" || r.action == "user.enabled") return true;
  if (!isChange(r) || r.action.ends_with("/auth/email/login")) return false;
  return r.target_type == "users" || r.target_type == "teams" || r.target_type == "tokens" ||
         r.action == "POST /auth/logout";
}

// ---- forensics ----------------------------------------------------------------------------------

std::vector<TimelineEvent> buildTimeline(const std::vector<storage::AuditRecord>& audit,
                                         const std::vector<AccessRecord>& access,
                                         const std::vector<storage::ApiTokenRecord>& tokens,
                                         const ForensicsFilter& filter) {
  auto wanted = [&](const std::string& actor, const std::string& token, const std::string& host,
                    const std::string& target) {
    if (!filter.host.empty() && host != filter.host) return false;
    if (filter.actor.empty()) return true;
    return actor == filter.actor || target == filter.actor ||
           (!token.empty() && filter.token_ids.contains(token));
  };
  std::vector<TimelineEvent> out;
  for (const auto& r : audit) {
    const std::string host = hostOf(r.remote);
    if (!wanted(r.actor, "", host, r.target_id)) continue;
    std::string what = r.action;
    if (!r.target_id.empty()) what += fmt::format(" [{} {}]", r.target_type, r.target_id);
    if (!r.detail.empty()) what += ": " + r.detail.substr(0, 160);
    out.push_back(
        {r.at, "audit", r.actor, host, std::move(what), fmt::format("{} {}", r.status, r.result)});
  }
  for (const auto& r : access) {
    const std::string host = hostOf(r.remote);
    if (!wanted(r.actor, r.token, host, "")) continue;
    std::string what = r.method + " " + r.path;
    if (!r.token.empty()) what += fmt::format(" (API token {})", r.token);
    out.push_back({r.at, "access", r.actor, host, std::move(what), std::to_string(r.status)});
  }
  if (filter.host.empty()) {
    for (const auto& t : tokens) {
      if (!filter.actor.empty() && !filter.token_ids.contains(t.id)) continue;
      const std::string name = fmt::format("API token {} ({})", t.name, t.id);
      out.push_back({t.created_at, "token", filter.actor, "", name + " created", ""});
      if (!t.last_used_at.empty())
        out.push_back({t.last_used_at, "token", filter.actor, "",
                       fmt::format("{} last used ({} uses in all)", name, t.use_count), ""});
      if (!t.revoked_at.empty())
        out.push_back({t.revoked_at, "token", t.revoked_by, "",
                       fmt::format("{} revoked: {}", name, t.revoke_reason), "revoked"});
    }
  }
  // Stored times have second precision, log times milliseconds: compare as times.
  std::stable_sort(out.begin(), out.end(), [](const TimelineEvent& a, const TimelineEvent& b) {
    return secondsOf(a.at) < secondsOf(b.at);
  });
  return out;
}

std::string sha256Hex(std::string_view data) {
  return auth::apiTokenHash(data); // the SHA-256 API tokens are stored under
}

} // namespace forge::ops
