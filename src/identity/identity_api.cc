#include "identity/identity_api.h"

#include "api/body_reader.h"
#include "api/respond.h"
#include "api/shapes.h"
#include "auth/api_token.h"
#include "auth/password.h"
#include "core/log.h"
#include "identity/access_guard.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace forge::identity {
namespace {

namespace json = boost::json;
using api::sendError;
using api::sendJson;
using auth::Permission;
using net::Method;
using storage::Store;

constexpr std::int64_t kMaxAuditRows = 10'000;

core::Error forbidden(std::string why) {
  return core::Error{core::Errc::kForbidden, "forbidden: " + std::move(why)};
}
core::Error notFound(const char* what, std::string_view id) {
  return core::Error{core::Errc::kNotFound, fmt::format("{} {} not found", what, id)};
}

const auth::Principal& callerOf(const net::Request& request) {
  static const auth::Principal nobody;
  return request.principal ? *request.principal : nobody;
}

// Checks a platform-wide permission; on refusal answers 403 and returns false.
bool permitted(const net::Request& request, const net::ResponseWriterPtr& writer,
               Permission permission) {
  if (callerOf(request).may(permission)) return true;
  sendError(writer, forbidden(fmt::format("requires {}", auth::permissionName(permission))));
  return false;
}

bool managesTeam(const auth::Principal& caller, const std::string& team_id) {
  if (caller.isPlatformAdmin() || caller.development) return true;
  auto it = caller.teams.find(team_id);
  return it != caller.teams.end() && it->second == auth::Role::kTeamAdmin;
}

json::array strings(const std::vector<std::string>& list) {
  json::array out;
  for (const auto& s : list)
    out.emplace_back(s);
  return out;
}

json::value orNull(const std::string& text) {
  return text.empty() ? json::value(nullptr) : json::value(text);
}

json::object userJson(const storage::UserRecord& u) {
  return json::object{{"id", u.id},
                      {"email", u.email},
                      {"fullName", u.full_name},
                      {"role", u.role},
                      {"enabled", u.enabled},
                      {"isActive", u.enabled},
                      {"createdAt", u.created_at},
                      {"updatedAt", u.updated_at},
                      {"lastLogin", orNull(u.last_login)}};
}

json::object teamJson(const storage::TeamRecord& t) {
  return json::object{{"id", t.id},
                      {"name", t.name},
                      {"slug", t.slug},
                      {"description", t.description},
                      {"createdAt", t.created_at},
                      {"updatedAt", t.updated_at}};
}

json::object memberJson(const storage::MemberRecord& m) {
  return json::object{
      {"teamId", m.team_id}, {"userId", m.user_id}, {"role", m.role}, {"joinedAt", m.joined_at}};
}

json::object tokenJson(const storage::ApiTokenRecord& t) {
  return json::object{{"id", t.id},
                      {"jti", t.jti},
                      {"userId", t.user_id},
                      {"name", t.name},
                      {"serverIds", strings(t.servers)},
                      {"ipAllow", strings(t.ip_allow)},
                      {"expiresAt", orNull(t.expires_at)},
                      {"isActive", t.revoked_at.empty()},
                      {"revokedAt", orNull(t.revoked_at)},
                      {"revokedBy", orNull(t.revoked_by)},
                      {"revokeReason", orNull(t.revoke_reason)},
                      {"lastUsedAt", orNull(t.last_used_at)},
                      {"useCount", t.use_count},
                      {"createdAt", t.created_at}};
}

// The team named by `id` (id or slug), if the caller may see it; another team's existence is not
// disclosed (404).
core::Result<storage::TeamRecord> visibleTeam(storage::IdentityStore& ids, const std::string& id,
                                              const PrincipalPtr& caller) {
  auto team = ids.team(id);
  if (!team) return team.error();
  if (!*team || !caller || !caller->roleFor((*team)->id)) return notFound("team", id);
  return **team;
}

bool validTeamRole(const std::string& role) {
  return role == "team_admin" || role == "developer" || role == "viewer";
}

// The ISO 8601 UTC time `days` days from now.
std::string daysFromNow(std::int64_t days) {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() +
                                                      std::chrono::hours(24 * days));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string lowered(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Answers a job's result: the value's JSON, or the error.
template <class T, class ToJson>
void answer(const net::ResponseWriterPtr& writer, int status, const core::Result<T>& result,
            ToJson to_json) {
  if (!result) return sendError(writer, result.error());
  sendJson(writer, status, to_json(*result));
}

template <class T, class ToJson>
json::array arrayOf(const std::vector<T>& items, ToJson to_json) {
  json::array out;
  for (const auto& item : items)
    out.push_back(to_json(item));
  return out;
}

} // namespace

IdentityApi::IdentityApi(const SecurityOptions& options, storage::StorageWorker& storage,
                         Authenticator& authenticator, AuditLog& audit)
    : options_(options), storage_(storage), authenticator_(authenticator), audit_(audit) {}

void IdentityApi::addRoutes(net::Router& router, api::OpenApiDocument& doc) {
  auto add = [&](Method m, const char* path, const char* summary, const char* request_schema,
                 int success, std::vector<int> errors, std::vector<std::string> queries,
                 Handler h) {
    router.add(m, path, [this, h](const net::RequestPtr& request, const net::ResponseWriterPtr& w) {
      (this->*h)(request, w);
    });
    doc.add(api::Operation{m, path, summary, "auth", request_schema, "", success, std::move(errors),
                           std::move(queries)});
  };
  add(Method::kPost, "/auth/email/login", "Log in with email and password; returns a JWT", "", 200,
      {401, 422, 429, 503}, {}, &IdentityApi::login);
  add(Method::kGet, "/auth/me", "The caller: user, role, teams, token scope", "", 200, {401}, {},
      &IdentityApi::me);
  add(Method::kPost, "/auth/logout", "Revoke the token this request carries", "", 200, {401}, {},
      &IdentityApi::logout);

  add(Method::kGet, "/users", "List users (platform admin)", "", 200, {403}, {},
      &IdentityApi::listUsers);
  add(Method::kPost, "/users", "Create a user (platform admin)", "", 201, {403, 409, 422}, {},
      &IdentityApi::createUser);
  add(Method::kGet, "/users/{id}", "Read a user", "", 200, {403, 404}, {}, &IdentityApi::getUser);
  add(Method::kPut, "/users/{id}", "Change a user's role, state, name or password", "", 200,
      {403, 404, 409, 422}, {}, &IdentityApi::updateUser);
  add(Method::kDelete, "/users/{id}", "Delete a user", "", 200, {403, 404, 409}, {},
      &IdentityApi::deleteUser);

  add(Method::kGet, "/teams", "List teams (platform admins: all; others: their own)", "", 200, {},
      {}, &IdentityApi::listTeams);
  add(Method::kPost, "/teams", "Create a team (platform admin)", "", 201, {403, 409, 422}, {},
      &IdentityApi::createTeam);
  add(Method::kGet, "/teams/{id}", "Read a team", "", 200, {404}, {}, &IdentityApi::getTeam);
  add(Method::kDelete, "/teams/{id}", "Delete a team (platform admin)", "", 200, {403, 404}, {},
      &IdentityApi::deleteTeam);
  add(Method::kGet, "/teams/{id}/members", "A team's members", "", 200, {404}, {},
      &IdentityApi::listMembers);
  add(Method::kPost, "/teams/{id}/members", "Add a member or change their role (team admin)", "",
      200, {403, 404, 422}, {}, &IdentityApi::setMember);
  add(Method::kDelete, "/teams/{id}/members/{user_id}", "Remove a member (team admin)", "", 200,
      {403, 404}, {}, &IdentityApi::removeMember);

  add(Method::kGet, "/tokens", "The caller's API tokens (all=true: everyone's, platform admin)", "",
      200, {403}, {"all"}, &IdentityApi::listTokens);
  add(Method::kPost, "/tokens", "Create an API token; the secret is shown once", "", 201,
      {403, 422}, {}, &IdentityApi::createToken);
  add(Method::kGet, "/tokens/{id}", "Read an API token (never its secret)", "", 200, {404}, {},
      &IdentityApi::getToken);
  add(Method::kDelete, "/tokens/{id}", "Revoke an API token", "", 200, {403, 404}, {"reason"},
      &IdentityApi::revokeToken);
  add(Method::kPost, "/tokens/revoke", "Revoke any token by id or JWT jti (platform admin)", "",
      200, {403, 422}, {}, &IdentityApi::revokeAny);

  add(Method::kGet, "/audit", "The audit trail, newest first (platform admin)", "", 200, {403, 422},
      {"since", "until", "actor", "action", "result", "limit"}, &IdentityApi::queryAudit);
}

// ---- login ------------------------------------------------------------------------------------

void IdentityApi::login(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  auto body = api::parseBody(request->body);
  if (!body) return sendError(writer, body.error());
  api::BodyReader in(*body);
  std::string email, password;
  in.string("email", "username", email);
  in.string("password", nullptr, password);
  if (email.empty()) in.fail("email", "field required");
  if (password.empty()) in.fail("password", "field required");
  if (in.error()) return sendError(writer, *in.error());
  email = lowered(email);

  const std::string account_key = "user:" + email;
  const std::string address_key = "addr:" + clientHost(request->remote_address);
  auto audit = [this, request, email](int status, std::string detail) {
    auto record = auditRecordOf(*request, nullptr, status, std::move(detail));
    record.actor = email;
    record.action = "login";
    record.target_type = "user";
    record.target_id = email;
    audit_.record(std::move(record));
  };
  const auto wait = std::max(throttle_.delayFor(account_key), throttle_.delayFor(address_key));
  if (wait.count() > 0) {
    const auto seconds = static_cast<long long>(std::ceil(static_cast<double>(wait.count()) / 1e3));
    audit(429, "too many failed logins");
    auto response =
        net::Response::error(core::Errc::kRateLimited,
                             fmt::format("too many failed logins; try again in {} s", seconds));
    response.headers.set("Retry-After", std::to_string(seconds));
    return writer->send(std::move(response));
  }
  // The attempt counts as a failure until it succeeds, so that concurrent guesses cannot all slip
  // in before the first failure is recorded.
  throttle_.failed(account_key);
  throttle_.failed(address_key);
  storage_.submit([this, writer, email, password, account_key, address_key, audit](Store& store) {
    auto user = store.identity().userByEmail(email);
    if (!user) return sendError(writer, user.error());
    const bool accepted = passwords_.submit([this, writer, email, password, account_key,
                                             address_key, audit, user = *user] {
      // An unknown account costs the same hash as a known one, so timing does not tell them
      // apart.
      static const std::string kDummy =
          auth::hashPassword("forge-no-such-account", auth::PasswordCost::kInteractive).value();
      const bool known = user && user->enabled && !user->password_hash.empty();
      const bool ok = auth::verifyPassword(known ? user->password_hash : kDummy, password) && known;
      if (!ok) {
        audit(401, user ? "wrong password or disabled account" : "unknown account");
        return sendError(writer,
                         core::Error{core::Errc::kUnauthorized, "invalid email or password"});
      }
      throttle_.succeeded(account_key);
      throttle_.succeeded(address_key);
      auto token = authenticator_.issue(*user);
      if (!token) return sendError(writer, token.error());
      audit(200, "");
      std::optional<std::string> rehash;
      if (auth::passwordNeedsRehash(user->password_hash, options_.password_cost)) {
        if (auto h = auth::hashPassword(password, options_.password_cost); h) rehash = *h;
      }
      storage_.submit([user = *user, rehash](Store& db) mutable {
        auto ids = db.identity();
        if (rehash) {
          user.password_hash = *rehash;
          (void)ids.updateUser(user);
        }
        if (auto status = ids.recordLogin(user.id); !status)
          log::warn("recording a login: {}", status.error().message);
      });
      sendJson(writer, 200,
               json::object{{"access_token", *token},
                            {"token_type", "bearer"},
                            {"expires_in", authenticator_.tokenLifetime().count()},
                            {"user", userJson(*user)}});
    });
    if (!accepted) {
      sendError(writer, core::Error{core::Errc::kUnavailable,
                                    "too many logins in progress; try again shortly"});
    }
  });
}

void IdentityApi::me(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  const auto& caller = callerOf(*request);
  json::object teams;
  for (const auto& [team, role] : caller.teams)
    teams[team] = auth::roleName(role);
  json::object body{{"userId", orNull(caller.user_id)},
                    {"email", caller.development ? "development" : caller.email},
                    {"role", auth::roleName(caller.role)},
                    {"teams", std::move(teams)},
                    {"apiToken", caller.api_token},
                    {"tokenId", orNull(caller.token_id)},
                    {"development", caller.development}};
  if (caller.servers) body["serverIds"] = strings(*caller.servers);
  sendJson(writer, 200, body);
}

void IdentityApi::logout(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  const auto& caller = callerOf(*request);
  if (caller.token_id.empty()) {
    return sendError(writer, core::Error{core::Errc::kUnprocessable,
                                         "this token has no id (jti) and cannot be revoked; "
                                         "it expires on its own"});
  }
  storage_.submit([this, writer, id = caller.token_id, by = caller.actor()](Store& store) {
    auto revoked = store.identity().revoke(id, by, "logout");
    if (!revoked) return sendError(writer, revoked.error());
    auto token = store.identity().tokenById(id);
    authenticator_.revoked(token && *token ? (*token)->jti : id);
    sendJson(writer, 200, json::object{{"status", "success"}, {"message", "token revoked"}});
  });
}

// ---- users ------------------------------------------------------------------------------------

void IdentityApi::hashThen(const net::ResponseWriterPtr& writer, std::string password,
                           std::function<void(std::string hash)> then) {
  const auto cost = options_.password_cost;
  const bool accepted = passwords_.submit([writer, password = std::move(password), then, cost] {
    auto hash = auth::hashPassword(password, cost);
    if (!hash) return sendError(writer, hash.error());
    then(std::move(*hash));
  });
  if (!accepted)
    sendError(writer, core::Error{core::Errc::kUnavailable, "busy hashing; try again shortly"});
}

void IdentityApi::listUsers(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  if (!permitted(*request, writer, Permission::kUsersManage)) return;
  storage_.submit([writer](Store& store) {
    answer(writer, 200, store.identity().users(),
           [](const auto& users) { return arrayOf(users, userJson); });
  });
}

void IdentityApi::createUser(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  if (!permitted(*request, writer, Permission::kUsersManage)) return;
  auto body = api::parseBody(request->body);
  if (!body) return sendError(writer, body.error());
  api::BodyReader in(*body);
  storage::UserRecord user;
  std::string password;
  in.string("email", nullptr, user.email);
  in.string("full_name", "fullName", user.full_name);
  in.string("role", nullptr, user.role);
  in.string("password", nullptr, password);
  user.email = lowered(user.email);
  if (user.email.find('@') == std::string::npos) in.fail("email", "must be an email address");
  if (!auth::parseRole(user.role))
    in.fail("role", "must be platform_admin, team_admin, developer or viewer");
  if (auto strong = auth::checkPasswordStrength(password); !strong)
    in.fail("password", strong.error().message);
  if (in.error()) return sendError(writer, *in.error());
  hashThen(writer, password, [this, writer, user](std::string hash) mutable {
    user.password_hash = std::move(hash);
    storage_.submit([writer, user](Store& store) {
      auto saved = store.identity().insertUser(user);
      if (!saved && saved.error().code == core::Errc::kConflict) {
        return sendError(
            writer, core::Error{core::Errc::kConflict, "a user with this email already exists"});
      }
      answer(writer, 201, saved, userJson);
    });
  });
}

void IdentityApi::getUser(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  const auto& caller = callerOf(*request);
  const std::string id(request->param("id"));
  if (id != caller.user_id && !permitted(*request, writer, Permission::kUsersManage)) return;
  storage_.submit([writer, id](Store& store) {
    auto user = store.identity().user(id);
    if (user && !*user) user = store.identity().userByEmail(id);
    if (!user) return sendError(writer, user.error());
    if (!*user) return sendError(writer, notFound("user", id));
    sendJson(writer, 200, userJson(**user));
  });
}

void IdentityApi::updateUser(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  if (!permitted(*request, writer, Permission::kUsersManage)) return;
  auto body = api::parseBody(request->body);
  if (!body) return sendError(writer, body.error());
  const std::string id(request->param("id"));
  const auto& caller = callerOf(*request);
  api::BodyReader in(*body);
  std::optional<std::string> role, full_name, password;
  std::optional<bool> enabled;
  if (in.has("role")) in.string("role", nullptr, role.emplace());
  if (in.has("full_name", "fullName")) in.string("full_name", "fullName", full_name.emplace());
  if (in.has("password")) in.string("password", nullptr, password.emplace());
  if (in.has("enabled", "isActive")) in.boolean("enabled", "isActive", enabled.emplace());
  if (role && !auth::parseRole(*role))
    in.fail("role", "must be platform_admin, team_admin, developer or viewer");
  if (password) {
    if (auto strong = auth::checkPasswordStrength(*password); !strong)
      in.fail("password", strong.error().message);
  }
  if (in.error()) return sendError(writer, *in.error());
  if (id == caller.user_id &&
      ((role && *role != auth::roleName(caller.role)) || (enabled && !*enabled))) {
    return sendError(writer, core::Error{core::Errc::kConflict,
                                         "you cannot change your own role or disable yourself; "
                                         "ask another platform admin"});
  }
  auto apply = [this, writer, request, id, role, full_name, enabled](std::string hash) {
    storage_.submit([this, writer, request, id, role, full_name, enabled, hash](Store& store) {
      auto ids = store.identity();
      auto user = ids.user(id);
      if (!user) return sendError(writer, user.error());
      if (!*user) return sendError(writer, notFound("user", id));
      auto changed = **user;
      if (role) changed.role = *role;
      if (full_name) changed.full_name = *full_name;
      if (enabled) changed.enabled = *enabled;
      if (!hash.empty()) changed.password_hash = hash;
      auto saved = ids.updateUser(changed);
      authenticator_.forgetCached();
      if (saved) auditAccessChange(*request, **user, changed);
      answer(writer, 200, saved, userJson);
    });
  };
  if (password) return hashThen(writer, *password, apply);
  apply("");
}

// A role or an account state that changed gets a record of its own, saying from what to what:
// the request's own record says only that the user was changed.
void IdentityApi::auditAccessChange(const net::Request& request, const storage::UserRecord& before,
                                    const storage::UserRecord& after) {
  auto note = [&](const char* action, std::string detail) {
    auto record = auditRecordOf(request, request.principal.get(), 200, std::move(detail));
    record.action = action;
    record.target_type = "users";
    record.target_id = after.email;
    audit_.record(std::move(record));
  };
  if (before.role != after.role) note("user.role", before.role + " -> " + after.role);
  if (before.enabled != after.enabled)
    note("user.enabled", before.enabled ? "enabled -> disabled" : "disabled -> enabled");
}

void IdentityApi::deleteUser(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  if (!permitted(*request, writer, Permission::kUsersManage)) return;
  const std::string id(request->param("id"));
  if (id == callerOf(*request).user_id) {
    return sendError(writer, core::Error{core::Errc::kConflict, "you cannot delete yourself"});
  }
  storage_.submit([this, writer, id](Store& store) {
    auto deleted = store.identity().deleteUser(id);
    if (!deleted) return sendError(writer, deleted.error());
    if (!*deleted) return sendError(writer, notFound("user", id));
    authenticator_.forgetCached();
    sendJson(writer, 200, json::object{{"status", "success"}, {"message", "user deleted"}});
  });
}

// ---- teams ------------------------------------------------------------------------------------

void IdentityApi::listTeams(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  const auto caller = request->principal;
  storage_.submit([writer, caller](Store& store) {
    auto teams = store.identity().teams();
    if (!teams) return sendError(writer, teams.error());
    json::array out;
    for (const auto& t : *teams)
      if (caller && caller->roleFor(t.id)) out.push_back(teamJson(t));
    sendJson(writer, 200, out);
  });
}

void IdentityApi::createTeam(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  if (!permitted(*request, writer, Permission::kUsersManage)) return;
  auto body = api::parseBody(request->body);
  if (!body) return sendError(writer, body.error());
  api::BodyReader in(*body);
  storage::TeamRecord team;
  in.string("name", nullptr, team.name);
  in.string("description", nullptr, team.description);
  if (team.name.empty()) in.fail("name", "field required");
  if (!team.name.empty() && storage::slugify(team.name).empty())
    in.fail("name", "must contain a letter or a digit");
  if (in.error()) return sendError(writer, *in.error());
  storage_.submit([writer, team](Store& store) {
    auto saved = store.identity().insertTeam(team);
    if (!saved && saved.error().code == core::Errc::kConflict) {
      return sendError(writer,
                       core::Error{core::Errc::kConflict, "a team with this name already exists"});
    }
    answer(writer, 201, saved, teamJson);
  });
}

void IdentityApi::getTeam(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  const auto caller = request->principal;
  storage_.submit([writer, caller, id = std::string(request->param("id"))](Store& store) {
    auto ids = store.identity();
    answer(writer, 200, visibleTeam(ids, id, caller), teamJson);
  });
}

void IdentityApi::deleteTeam(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  if (!permitted(*request, writer, Permission::kUsersManage)) return;
  storage_.submit([this, writer, id = std::string(request->param("id"))](Store& store) {
    auto deleted = store.identity().deleteTeam(id);
    if (!deleted) return sendError(writer, deleted.error());
    if (!*deleted) return sendError(writer, notFound("team", id));
    authenticator_.forgetCached();
    sendJson(writer, 200, json::object{{"status", "success"}, {"message", "team deleted"}});
  });
}

void IdentityApi::listMembers(const net::RequestPtr& request,
                              const net::ResponseWriterPtr& writer) {
  const auto caller = request->principal;
  storage_.submit([writer, caller, id = std::string(request->param("id"))](Store& store) {
    auto ids = store.identity();
    auto team = visibleTeam(ids, id, caller);
    if (!team) return sendError(writer, team.error());
    answer(writer, 200, ids.members(team->id),
           [](const auto& members) { return arrayOf(members, memberJson); });
  });
}

void IdentityApi::setMember(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  auto body = api::parseBody(request->body);
  if (!body) return sendError(writer, body.error());
  api::BodyReader in(*body);
  std::string user, role = "developer";
  in.string("user_id", "userId", user);
  if (user.empty()) in.string("email", nullptr, user);
  in.string("role", nullptr, role);
  if (user.empty()) in.fail("user_id", "field required (a user id or email)");
  if (!validTeamRole(role)) in.fail("role", "must be team_admin, developer or viewer");
  if (in.error()) return sendError(writer, *in.error());
  const auto caller = request->principal;
  storage_.submit([this, writer, caller, user, role,
                   id = std::string(request->param("id"))](Store& store) {
    auto ids = store.identity();
    auto team = visibleTeam(ids, id, caller);
    if (!team) return sendError(writer, team.error());
    if (!managesTeam(*caller, team->id))
      return sendError(writer, forbidden("only this team's admins manage its members"));
    auto member = ids.user(user);
    if (member && !*member) member = ids.userByEmail(lowered(user));
    if (!member) return sendError(writer, member.error());
    if (!*member) return sendError(writer, api::invalid("user_id", "no such user"));
    if (auto status = ids.setMember(team->id, (*member)->id, role); !status)
      return sendError(writer, status.error());
    authenticator_.forgetCached();
    sendJson(writer, 200,
             memberJson(storage::MemberRecord{team->id, (*member)->id, role, storage::nowUtc()}));
  });
}

void IdentityApi::removeMember(const net::RequestPtr& request,
                               const net::ResponseWriterPtr& writer) {
  const auto caller = request->principal;
  storage_.submit([this, writer, caller, id = std::string(request->param("id")),
                   user = std::string(request->param("user_id"))](Store& store) {
    auto ids = store.identity();
    auto team = visibleTeam(ids, id, caller);
    if (!team) return sendError(writer, team.error());
    if (!managesTeam(*caller, team->id))
      return sendError(writer, forbidden("only this team's admins manage its members"));
    auto removed = ids.removeMember(team->id, user);
    if (!removed) return sendError(writer, removed.error());
    if (!*removed) return sendError(writer, notFound("member", user));
    authenticator_.forgetCached();
    sendJson(writer, 200, json::object{{"status", "success"}, {"message", "member removed"}});
  });
}

// ---- tokens -----------------------------------------------------------------------------------

void IdentityApi::listTokens(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  const auto& caller = callerOf(*request);
  auto all = api::boolParam(request->queryParam("all"), "all", false);
  if (!all) return sendError(writer, all.error());
  if (*all && !permitted(*request, writer, Permission::kTokensAll)) return;
  if (!*all && !permitted(*request, writer, Permission::kTokensOwn)) return;
  storage_.submit([writer, user = *all ? std::string() : caller.user_id](Store& store) {
    answer(writer, 200, store.identity().tokens(user),
           [](const auto& tokens) { return arrayOf(tokens, tokenJson); });
  });
}

void IdentityApi::createToken(const net::RequestPtr& request,
                              const net::ResponseWriterPtr& writer) {
  if (!permitted(*request, writer, Permission::kTokensOwn)) return;
  const auto& caller = callerOf(*request);
  auto body = api::parseBody(request->body);
  if (!body) return sendError(writer, body.error());
  api::BodyReader in(*body);
  storage::ApiTokenRecord token;
  std::int64_t days = 0;
  std::string owner;
  in.string("name", nullptr, token.name);
  in.integer("expires_in_days", "expiresInDays", days, 0, 3650);
  in.list("server_ids", "serverIds", token.servers);
  if (!in.has("server_ids", "serverIds")) in.list("servers", nullptr, token.servers);
  in.list("ip_allow", "ipAllow", token.ip_allow);
  if (!in.has("ip_allow", "ipAllow")) in.list("ip_restrictions", "ipRestrictions", token.ip_allow);
  in.string("user_id", "userId", owner);
  if (token.name.empty()) in.fail("name", "field required");
  if (in.error()) return sendError(writer, *in.error());
  // A token can narrow what its user may do, never widen it: a restricted credential (an API
  // token, a JWT with a lowered role) would mint one with the user's full rights.
  if (caller.api_token || caller.role_cap) {
    return sendError(writer, forbidden("tokens are created with a full login, not with an API "
                                       "token or a token of lowered role"));
  }
  if (owner.empty()) owner = caller.user_id;
  if (owner != caller.user_id && !caller.may(Permission::kTokensAll))
    return sendError(writer, forbidden("only platform admins create tokens for other users"));
  if (owner.empty()) {
    return sendError(writer, api::invalid("user_id", "field required (development mode has no "
                                                     "user of its own)"));
  }
  // A token can narrow what its user may do, never widen it.
  if (caller.servers) {
    for (const auto& s : token.servers.empty() ? std::vector<std::string>{} : token.servers) {
      if (std::find(caller.servers->begin(), caller.servers->end(), s) == caller.servers->end())
        return sendError(writer, forbidden("a token cannot reach servers its creator cannot"));
    }
    if (token.servers.empty()) token.servers = *caller.servers;
  }
  if (days > 0) token.expires_at = daysFromNow(days);
  auto fresh = auth::newApiToken();
  token.token_hash = fresh.hash;
  token.jti = fresh.jti;
  token.user_id = owner;
  storage_.submit([writer, token, secret = fresh.secret](Store& store) {
    auto ids = store.identity();
    auto user = ids.user(token.user_id);
    if (!user) return sendError(writer, user.error());
    if (!*user) return sendError(writer, api::invalid("user_id", "no such user"));
    auto saved = ids.insertToken(token);
    if (!saved) return sendError(writer, saved.error());
    sendJson(writer, 201, json::object{{"access_token", secret}, {"token", tokenJson(*saved)}});
  });
}

void IdentityApi::getToken(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  const auto caller = request->principal;
  storage_.submit([writer, caller, id = std::string(request->param("id"))](Store& store) {
    auto token = store.identity().tokenById(id);
    if (!token) return sendError(writer, token.error());
    if (!*token || !caller ||
        ((*token)->user_id != caller->user_id && !caller->may(Permission::kTokensAll)))
      return sendError(writer, notFound("token", id));
    sendJson(writer, 200, tokenJson(**token));
  });
}

void IdentityApi::revokeToken(const net::RequestPtr& request,
                              const net::ResponseWriterPtr& writer) {
  const auto caller = request->principal;
  const std::string reason = request->queryParam("reason").value_or("revoked through the API");
  storage_.submit(
      [this, writer, caller, reason, id = std::string(request->param("id"))](Store& store) {
        auto ids = store.identity();
        auto token = ids.tokenById(id);
        if (!token) return sendError(writer, token.error());
        if (!*token || !caller ||
            ((*token)->user_id != caller->user_id && !caller->may(Permission::kTokensAll)))
          return sendError(writer, notFound("token", id));
        auto revoked = ids.revoke((*token)->id, caller->actor(), reason);
        if (!revoked) return sendError(writer, revoked.error());
        authenticator_.revoked((*token)->jti);
        sendJson(writer, 200,
                 json::object{{"status", "success"},
                              {"message", fmt::format("token {} revoked", (*token)->name)}});
      });
}

void IdentityApi::revokeAny(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  if (!permitted(*request, writer, Permission::kTokensAll)) return;
  auto body = api::parseBody(request->body);
  if (!body) return sendError(writer, body.error());
  api::BodyReader in(*body);
  std::string id, reason = "revoked by an administrator";
  in.string("jti", "id", id);
  in.string("reason", nullptr, reason);
  if (id.empty()) in.fail("jti", "field required (a token id or JWT jti)");
  if (in.error()) return sendError(writer, *in.error());
  storage_.submit([this, writer, id, reason, by = callerOf(*request).actor()](Store& store) {
    auto ids = store.identity();
    auto token = ids.tokenById(id);
    auto revoked = ids.revoke(id, by, reason);
    if (!revoked) return sendError(writer, revoked.error());
    authenticator_.revoked(token && *token ? (*token)->jti : id);
    sendJson(writer, 200, json::object{{"status", "success"}, {"jti", id}, {"apiToken", *revoked}});
  });
}

// ---- audit ------------------------------------------------------------------------------------

void IdentityApi::queryAudit(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  if (!permitted(*request, writer, Permission::kAuditRead)) return;
  storage::AuditQuery query;
  query.since = request->queryParam("since").value_or("");
  query.until = request->queryParam("until").value_or("");
  query.actor = request->queryParam("actor").value_or("");
  query.action = request->queryParam("action").value_or("");
  query.result = request->queryParam("result").value_or("");
  if (auto limit = request->queryParam("limit")) {
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
    if (ec != std::errc() || end != limit->data() + limit->size() || n < 1 || n > kMaxAuditRows)
      return sendError(writer,
                       api::invalid("limit", fmt::format("must be 1 to {}", kMaxAuditRows)));
    query.limit = n;
  }
  audit_.flush(); // queued before the query: the worker runs jobs in order
  storage_.submit([writer, query](Store& store) {
    answer(writer, 200, store.identity().audit(query),
           [](const auto& records) { return arrayOf(records, api::auditJson); });
  });
}

} // namespace forge::identity
