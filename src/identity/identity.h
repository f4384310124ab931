// Identity: the gateway's identity and access component. It owns the secrets, the
// Authenticator, the audit log, the AccessGuard in front of every route, the MCP access policy
// and the identity REST API, and wires them together:
//   prepare()  before the database opens: secrets read or generated (the encryption key the
//              catalog needs for stored credentials comes from here), JWT keys built;
//   start()    once the database is migrated: the first platform admin seeded, revocations
//              loaded, the audit writer started;
//   stop()     before the database closes: usage and audit records flushed.
#pragma once

#include "api/openapi.h"
#include "auth/jwt.h"
#include "auth/secret_box.h"
#include "core/error.h"
#include "gateway/gateway_app.h"
#include "identity/security_options.h"
#include "identity/session_sealer.h"
#include "net/event_loop.h"
#include "net/router.h"
#include "storage/worker.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace forge::identity {

class AccessGuard;
class AuditLog;
class Authenticator;
class IdentityApi;

class Identity {
public:
  // Reads or generates the secrets and builds the keys; refuses weak secrets (outside
  // development mode) and development mode on a non-loopback address, saying what to change.
  static core::Result<std::unique_ptr<Identity>> prepare(SecurityOptions options,
                                                         const std::string& data_dir,
                                                         const std::string& listen_host,
                                                         net::EventLoop& loop);
  ~Identity();

  // The key for upstream credentials at rest (AUTH_ENCRYPTION_SECRET).
  std::shared_ptr<const auth::SecretBox> secretBox() const { return box_; }
  // Signs Streamable HTTP session ids, so that every gateway process sharing the secrets can
  // take over a session (replicas on one port, rolling restarts).
  std::shared_ptr<const transport::SessionSealer> sessionSealer() const { return sealer_; }

  core::Status start(storage::StorageWorker& storage);
  void stop();

  // Runs every request through the AccessGuard, then `next` (the router).
  void handle(const net::RequestPtr& request, const net::ResponseWriterPtr& writer,
              const net::Handler& next);
  // The identity routes and the protected-resource metadata.
  void addRoutes(net::Router& router, api::OpenApiDocument& doc);
  // The access policy of the MCP endpoints; `team_of(upstream)` names an upstream's team.
  std::shared_ptr<const gateway::AccessPolicy>
  mcpPolicy(std::function<std::optional<std::string>(const std::string&)> team_of);

  bool developmentMode() const { return !options_.auth_required; }
  AuditLog& audit() { return *audit_; }

private:
  Identity(SecurityOptions options, std::string data_dir, net::EventLoop& loop);
  core::Status seedAdmin(storage::StorageWorker& storage);

  SecurityOptions options_;
  std::string data_dir_;
  net::EventLoop& loop_;
  std::vector<auth::JwtKey> keys_;
  std::shared_ptr<const auth::SecretBox> box_;
  std::shared_ptr<const transport::SessionSealer> sealer_;
  core::Secret admin_password_;
  bool admin_password_generated_ = false;
  std::string secrets_file_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<Authenticator> authenticator_;
  std::unique_ptr<AccessGuard> guard_;
  std::unique_ptr<IdentityApi> api_;
};

} // namespace forge::identity
