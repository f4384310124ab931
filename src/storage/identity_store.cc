#include "storage/identity_store.h"

#include "storage/rows.h"
#include "storage/store.h"

#include <fmt/format.h>

namespace forge::storage {
using namespace detail;
namespace {

constexpr const char* kUserColumns = "id, email, full_name, password_hash, role, enabled, "
                                     "created_at, updated_at, last_login";

UserRecord userFrom(const Row& row) {
  return UserRecord{row.text(0),         row.text(1), row.text(2), row.text(3), row.text(4),
                    row.integer(5) != 0, row.text(6), row.text(7), row.text(8)};
}

std::vector<Value> userValues(const UserRecord& u) {
  return {u.id,         u.email,      u.full_name, u.password_hash, u.role, flag(u.enabled),
          u.created_at, u.updated_at, u.last_login};
}

constexpr const char* kTeamColumns = "id, name, slug, description, created_at, updated_at";

TeamRecord teamFrom(const Row& row) {
  return TeamRecord{row.text(0), row.text(1), row.text(2), row.text(3), row.text(4), row.text(5)};
}

MemberRecord memberFrom(const Row& row) {
  return MemberRecord{row.text(0), row.text(1), row.text(2), row.text(3)};
}

constexpr const char* kTokenColumns =
    "id, jti, user_id, name, token_hash, servers, ip_allow, expires_at, revoked_at, revoked_by, "
    "revoke_reason, last_used_at, use_count, created_at";

ApiTokenRecord tokenFrom(const Row& row) {
  ApiTokenRecord t;
  std::size_t i = 0;
  t.id = row.text(i++);
  t.jti = row.text(i++);
  t.user_id = row.text(i++);
  t.name = row.text(i++);
  t.token_hash = row.text(i++);
  t.servers = stringList(row.text(i++));
  t.ip_allow = stringList(row.text(i++));
  t.expires_at = row.text(i++);
  t.revoked_at = row.text(i++);
  t.revoked_by = row.text(i++);
  t.revoke_reason = row.text(i++);
  t.last_used_at = row.text(i++);
  t.use_count = row.integer(i++);
  t.created_at = row.text(i++);
  return t;
}

constexpr const char* kAuditColumns = "id, at, actor, action, target_type, target_id, result, "
                                      "status, detail, remote, request_id";

AuditRecord auditFrom(const Row& row) {
  return AuditRecord{row.text(0), row.text(1), row.text(2), row.text(3),
                     row.text(4), row.text(5), row.text(6), row.integer(7),
                     row.text(8), row.text(9), row.text(10)};
}

} // namespace

// ---- users ------------------------------------------------------------------------------------

core::Result<std::vector<UserRecord>> IdentityStore::users() {
  return selectAll<UserRecord>(
      db_, fmt::format("SELECT {} FROM users ORDER BY email", kUserColumns), {}, userFrom);
}

core::Result<std::optional<UserRecord>> IdentityStore::user(const std::string& id) {
  return selectOne<UserRecord>(db_, fmt::format("SELECT {} FROM users WHERE id = ?", kUserColumns),
                               {id}, userFrom);
}

core::Result<std::optional<UserRecord>> IdentityStore::userByEmail(const std::string& email) {
  return selectOne<UserRecord>(
      db_, fmt::format("SELECT {} FROM users WHERE email = ?", kUserColumns), {email}, userFrom);
}

core::Result<UserRecord> IdentityStore::insertUser(UserRecord record) {
  if (record.id.empty()) record.id = newId();
  stamp(record.created_at, record.updated_at);
  auto rows = db_.query(insertSql("users", kUserColumns), userValues(record));
  if (!rows) return rows.error();
  return record;
}

core::Result<UserRecord> IdentityStore::updateUser(UserRecord record) {
  stamp(record.created_at, record.updated_at);
  auto values = userValues(record);
  values.erase(values.begin());
  values.push_back(record.id);
  auto rows = db_.query(updateSql("users", kUserColumns), values);
  if (!rows) return rows.error();
  if (rows->affected == 0)
    return core::Error{core::Errc::kNotFound, fmt::format("user {} not found", record.id)};
  return record;
}

core::Result<bool> IdentityStore::deleteUser(const std::string& id) {
  return deleteById(db_, "users", id);
}

core::Status IdentityStore::recordLogin(const std::string& user_id) {
  auto rows = db_.query("UPDATE users SET last_login = ? WHERE id = ?", {nowUtc(), user_id});
  if (!rows) return rows.error();
  return core::Ok{};
}

// ---- teams ------------------------------------------------------------------------------------

core::Result<std::vector<TeamRecord>> IdentityStore::teams() {
  return selectAll<TeamRecord>(db_, fmt::format("SELECT {} FROM teams ORDER BY name", kTeamColumns),
                               {}, teamFrom);
}

core::Result<std::optional<TeamRecord>> IdentityStore::team(const std::string& id) {
  return selectOne<TeamRecord>(
      db_, fmt::format("SELECT {} FROM teams WHERE id = ? OR slug = ?", kTeamColumns), {id, id},
      teamFrom);
}

core::Result<TeamRecord> IdentityStore::insertTeam(TeamRecord record) {
  if (record.id.empty()) record.id = newId();
  if (record.slug.empty()) record.slug = slugify(record.name);
  stamp(record.created_at, record.updated_at);
  auto rows = db_.query(insertSql("teams", kTeamColumns),
                        {record.id, record.name, record.slug, record.description, record.created_at,
                         record.updated_at});
  if (!rows) return rows.error();
  return record;
}

core::Result<bool> IdentityStore::deleteTeam(const std::string& id) {
  return deleteById(db_, "teams", id);
}

core::Result<std::vector<MemberRecord>> IdentityStore::members(const std::string& team_id) {
  return selectAll<MemberRecord>(db_,
                                 "SELECT team_id, user_id, role, joined_at FROM team_members "
                                 "WHERE team_id = ? ORDER BY joined_at",
                                 {team_id}, memberFrom);
}

core::Result<std::vector<MemberRecord>> IdentityStore::membershipsOf(const std::string& user_id) {
  return selectAll<MemberRecord>(db_,
                                 "SELECT team_id, user_id, role, joined_at FROM team_members "
                                 "WHERE user_id = ? ORDER BY joined_at",
                                 {user_id}, memberFrom);
}

core::Status IdentityStore::setMember(const std::string& team_id, const std::string& user_id,
                                      const std::string& role) {
  auto rows = db_.query("INSERT INTO team_members (team_id, user_id, role, joined_at) VALUES "
                        "(?, ?, ?, ?) ON CONFLICT (team_id, user_id) DO UPDATE SET role = "
                        "excluded.role",
                        {team_id, user_id, role, nowUtc()});
  if (!rows) return rows.error();
  return core::Ok{};
}

core::Result<bool> IdentityStore::removeMember(const std::string& team_id,
                                               const std::string& user_id) {
  auto rows =
      db_.query("DELETE FROM team_members WHERE team_id = ? AND user_id = ?", {team_id, user_id});
  if (!rows) return rows.error();
  return rows->affected > 0;
}

// ---- tokens -----------------------------------------------------------------------------------

core::Result<std::vector<ApiTokenRecord>> IdentityStore::tokens(const std::string& user_id) {
  if (user_id.empty()) {
    return selectAll<ApiTokenRecord>(
        db_, fmt::format("SELECT {} FROM api_tokens ORDER BY created_at", kTokenColumns), {},
        tokenFrom);
  }
  return selectAll<ApiTokenRecord>(
      db_,
      fmt::format("SELECT {} FROM api_tokens WHERE user_id = ? ORDER BY created_at", kTokenColumns),
      {user_id}, tokenFrom);
}

core::Result<std::optional<ApiTokenRecord>>
IdentityStore::tokenByHash(const std::string& token_hash) {
  return selectOne<ApiTokenRecord>(
      db_, fmt::format("SELECT {} FROM api_tokens WHERE token_hash = ?", kTokenColumns),
      {token_hash}, tokenFrom);
}

core::Result<std::optional<ApiTokenRecord>> IdentityStore::tokenById(const std::string& id_or_jti) {
  return selectOne<ApiTokenRecord>(
      db_, fmt::format("SELECT {} FROM api_tokens WHERE id = ? OR jti = ?", kTokenColumns),
      {id_or_jti, id_or_jti}, tokenFrom);
}

core::Result<ApiTokenRecord> IdentityStore::insertToken(ApiTokenRecord record) {
  if (record.id.empty()) record.id = newId();
  if (record.jti.empty()) record.jti = newId();
  if (record.created_at.empty()) record.created_at = nowUtc();
  auto rows = db_.query(insertSql("api_tokens", kTokenColumns),
                        {record.id, record.jti, record.user_id, record.name, record.token_hash,
                         toJson(record.servers), toJson(record.ip_allow), record.expires_at,
                         record.revoked_at, record.revoked_by, record.revoke_reason,
                         record.last_used_at, record.use_count, record.created_at});
  if (!rows) return rows.error();
  return record;
}

core::Result<bool> IdentityStore::revoke(const std::string& id_or_jti, const std::string& by,
                                         const std::string& reason) {
  bool known = false;
  auto status = transaction(db_, [&]() -> core::Status {
    auto token = tokenById(id_or_jti);
    if (!token) return token.error();
    const std::string now = nowUtc();
    std::string jti = id_or_jti;
    if (*token) {
      known = true;
      jti = (*token)->jti;
      auto rows = db_.query("UPDATE api_tokens SET revoked_at = ?, revoked_by = ?, revoke_reason "
                            "= ? WHERE id = ? AND revoked_at = ''",
                            {now, by, reason, (*token)->id});
      if (!rows) return rows.error();
    }
    auto rows = db_.query("INSERT INTO token_revocations (jti, revoked_at, revoked_by, reason) "
                          "VALUES (?, ?, ?, ?) ON CONFLICT (jti) DO NOTHING",
                          {jti, now, by, reason});
    if (!rows) return rows.error();
    return core::Ok{};
  });
  if (!status) return status.error();
  return known;
}

core::Result<std::set<std::string>> IdentityStore::revokedJtis() {
  auto rows = db_.query("SELECT jti FROM token_revocations");
  if (!rows) return rows.error();
  std::set<std::string> out;
  for (const auto& row : rows->rows)
    out.insert(row.text(0));
  return out;
}

core::Result<std::string> IdentityStore::accessStamp() {
  auto users = db_.query("SELECT COUNT(*), SUM(enabled), MAX(updated_at) FROM users");
  if (!users) return users.error();
  auto tokens = db_.query("SELECT COUNT(revoked_at), MAX(revoked_at) FROM api_tokens");
  if (!tokens) return tokens.error();
  const auto& u = users->rows.at(0);
  const auto& t = tokens->rows.at(0);
  return fmt::format("{}/{}/{}/{}/{}", u.integer(0), u.integer(1), u.text(2), t.integer(0),
                     t.text(1));
}

core::Status IdentityStore::recordTokenUse(const std::string& id, std::int64_t uses,
                                           const std::string& when) {
  auto rows = db_.query("UPDATE api_tokens SET use_count = use_count + ?, last_used_at = ? WHERE "
                        "id = ?",
                        {uses, when, id});
  if (!rows) return rows.error();
  return core::Ok{};
}

// ---- audit ------------------------------------------------------------------------------------

core::Status IdentityStore::appendAudit(const std::vector<AuditRecord>& records) {
  if (records.empty()) return core::Ok{};
  return transaction(db_, [&]() -> core::Status {
    for (const auto& r : records) {
      auto rows = db_.query(insertSql("audit_log", kAuditColumns),
                            {r.id.empty() ? newId() : r.id, r.at.empty() ? nowUtc() : r.at, r.actor,
                             r.action, r.target_type, r.target_id, r.result, r.status, r.detail,
                             r.remote, r.request_id});
      if (!rows) return rows.error();
    }
    return core::Ok{};
  });
}

core::Result<std::vector<AuditRecord>> IdentityStore::audit(const AuditQuery& query) {
  std::string where = "1 = 1";
  std::vector<Value> params;
  auto add = [&](const char* clause, const std::string& value) {
    if (value.empty()) return;
    where += fmt::format(" AND {}", clause);
    params.emplace_back(value);
  };
  add("at >= ?", query.since);
  add("at < ?", query.until);
  add("actor = ?", query.actor);
  add("result = ?", query.result);
  if (!query.action.empty()) {
    where += " AND substr(action, 1, CAST(? AS INTEGER)) = ?";
    params.emplace_back(static_cast<std::int64_t>(query.action.size()));
    params.emplace_back(query.action);
  }
  params.emplace_back(std::max<std::int64_t>(1, std::min<std::int64_t>(query.limit, 10'000)));
  return selectAll<AuditRecord>(
      db_,
      fmt::format("SELECT {} FROM audit_log WHERE {} ORDER BY at DESC, id LIMIT ?", kAuditColumns,
                  where),
      params, auditFrom);
}

} // namespace forge::storage
