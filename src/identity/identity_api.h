// IdentityApi: the REST routes of identity and access.
//   POST /auth/email/login    email + password -> JWT (argon2id off the I/O threads; repeated
//                             failures slowed per account and per address, and audited)
//   GET  /auth/me             who the caller is
//   POST /auth/logout         revokes the caller's token
//   /users                    accounts and platform roles (platform admins)
//   /teams, /teams/{id}/members   teams and their members (platform admins; team admins
//                             manage their own team's members)
//   /tokens                   API tokens: create (secret shown once), list, read, revoke;
//                             POST /tokens/revoke revokes any token id or JWT jti
//   GET  /audit               the audit trail (platform admins)
// Every route checks the caller's permissions itself; refusals are 403 and are audited.
#pragma once

#include "api/openapi.h"
#include "auth/rate_limiter.h"
#include "identity/audit_log.h"
#include "identity/authenticator.h"
#include "identity/password_worker.h"
#include "identity/security_options.h"
#include "net/router.h"
#include "storage/worker.h"

namespace forge::identity {

class IdentityApi {
public:
  IdentityApi(const SecurityOptions& options, storage::StorageWorker& storage,
              Authenticator& authenticator, AuditLog& audit);

  void addRoutes(net::Router& router, api::OpenApiDocument& doc);

private:
  using Handler = void (IdentityApi::*)(const net::RequestPtr&, const net::ResponseWriterPtr&);

  void login(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void me(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void logout(const net::RequestPtr&, const net::ResponseWriterPtr&);

  void listUsers(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void createUser(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void getUser(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void updateUser(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void deleteUser(const net::RequestPtr&, const net::ResponseWriterPtr&);

  void listTeams(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void createTeam(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void getTeam(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void deleteTeam(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void listMembers(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void setMember(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void removeMember(const net::RequestPtr&, const net::ResponseWriterPtr&);

  void listTokens(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void createToken(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void getToken(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void revokeToken(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void revokeAny(const net::RequestPtr&, const net::ResponseWriterPtr&);

  void queryAudit(const net::RequestPtr&, const net::ResponseWriterPtr&);

  // Records a changed role or account state (from what to what) in the audit trail.
  void auditAccessChange(const net::Request& request, const storage::UserRecord& before,
                         const storage::UserRecord& after);

  // Hashes a new password off the I/O threads, then runs `then` with the PHC string.
  void hashThen(const net::ResponseWriterPtr& writer, std::string password,
                std::function<void(std::string hash)> then);

  const SecurityOptions options_;
  storage::StorageWorker& storage_;
  Authenticator& authenticator_;
  AuditLog& audit_;
  auth::LoginThrottle throttle_;
  PasswordWorker passwords_;
};

} // namespace forge::identity
