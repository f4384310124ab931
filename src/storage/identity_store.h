// IdentityStore: who may use the gateway, in the database. Users (argon2id hashes, never
// passwords), teams and their members, API tokens (a SHA-256 of the secret, never the secret),
// revoked JWT ids, and the audit trail. Plain synchronous calls on a Database: run them on the
// StorageWorker's thread (Store::identity()).
#pragma once

#include "core/error.h"
#include "storage/database.h"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace forge::storage {

struct UserRecord {
  std::string id;
  std::string email;
  std::string full_name;
  std::string password_hash;      // argon2id PHC string; empty: cannot log in with a password
  std::string role = "developer"; // platform_admin | team_admin | developer | viewer
  bool enabled = true;
  std::string created_at;
  std::string updated_at;
  std::string last_login;
};

struct TeamRecord {
  std::string id;
  std::string name;
  std::string slug;
  std::string description;
  std::string created_at;
  std::string updated_at;
};

struct MemberRecord {
  std::string team_id;
  std::string user_id;
  std::string role = "developer"; // team_admin | developer | viewer, within the team
  std::string joined_at;
};

struct ApiTokenRecord {
  std::string id;
  std::string jti;
  std::string user_id;
  std::string name;
  std::string token_hash;            // hex SHA-256 of the secret
  std::vector<std::string> servers;  // virtual server ids it may reach; empty: any the user may
  std::vector<std::string> ip_allow; // client addresses or CIDRs; empty: any
  std::string expires_at;            // ISO 8601 UTC; empty: never
  std::string revoked_at;            // empty: not revoked
  std::string revoked_by;
  std::string revoke_reason;
  std::string last_used_at;
  std::int64_t use_count = 0;
  std::string created_at;
};

struct AuditRecord {
  std::string id;
  std::string at;     // ISO 8601 UTC with milliseconds
  std::string actor;  // user email, "token:<name>", or "anonymous"
  std::string action; // "POST /gateways", "tools/call", "login"
  std::string target_type;
  std::string target_id;
  std::string result; // allowed | denied | failed
  std::int64_t status = 0;
  std::string detail;
  std::string remote;
  std::string request_id;
};

struct AuditQuery {
  std::string since; // ISO 8601, inclusive; empty: from the start
  std::string until; // exclusive; empty: to now
  std::string actor;
  std::string action; // prefix match
  std::string result;
  std::int64_t limit = 100;
};

class IdentityStore {
public:
  explicit IdentityStore(Database& db) : db_(db) {}

  // Users. insertUser fills id and times; kConflict for a taken email.
  core::Result<std::vector<UserRecord>> users();
  core::Result<std::optional<UserRecord>> user(const std::string& id);
  core::Result<std::optional<UserRecord>> userByEmail(const std::string& email);
  core::Result<UserRecord> insertUser(UserRecord record);
  core::Result<UserRecord> updateUser(UserRecord record);
  core::Result<bool> deleteUser(const std::string& id);
  core::Status recordLogin(const std::string& user_id);

  // Teams and members.
  core::Result<std::vector<TeamRecord>> teams();
  core::Result<std::optional<TeamRecord>> team(const std::string& id);
  core::Result<TeamRecord> insertTeam(TeamRecord record);
  core::Result<bool> deleteTeam(const std::string& id);
  core::Result<std::vector<MemberRecord>> members(const std::string& team_id);
  core::Result<std::vector<MemberRecord>> membershipsOf(const std::string& user_id);
  // Adds the user to the team, or changes their role in it.
  core::Status setMember(const std::string& team_id, const std::string& user_id,
                         const std::string& role);
  core::Result<bool> removeMember(const std::string& team_id, const std::string& user_id);

  // API tokens.
  core::Result<std::vector<ApiTokenRecord>> tokens(const std::string& user_id = "");
  core::Result<std::optional<ApiTokenRecord>> tokenByHash(const std::string& token_hash);
  core::Result<std::optional<ApiTokenRecord>> tokenById(const std::string& id_or_jti);
  core::Result<ApiTokenRecord> insertToken(ApiTokenRecord record);
  // Revokes by id or jti (API tokens) and records the jti as revoked (for JWTs too). False if
  // the API token is unknown (the jti is recorded anyway: it may name a login JWT).
  core::Result<bool> revoke(const std::string& id_or_jti, const std::string& by,
                            const std::string& reason);
  core::Result<std::set<std::string>> revokedJtis();
  // A summary of users and API tokens (counts, enabled accounts, newest change and revocation)
  // that changes whenever one of them does: another instance's change shows as a new stamp.
  core::Result<std::string> accessStamp();
  // Adds `uses` to a token's use count and sets its last use.
  core::Status recordTokenUse(const std::string& id, std::int64_t uses, const std::string& when);

  // Audit trail (appended in one transaction).
  core::Status appendAudit(const std::vector<AuditRecord>& records);
  core::Result<std::vector<AuditRecord>> audit(const AuditQuery& query);

private:
  Database& db_;
};

} // namespace forge::storage
