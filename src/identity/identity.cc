#include "identity/identity.h"

#include "auth/jwt.h"
#include "core/log.h"
#include "identity/access_guard.h"
#include "identity/audit_log.h"
#include "identity/authenticator.h"
#include "identity/identity_api.h"
#include "identity/mcp_access.h"
#include "identity/secrets.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

namespace forge::identity {
namespace {

bool isLoopback(const std::string& host) {
  return host == "127.0.0.1" || host == "::1" || host == "localhost" || host.starts_with("127.");
}

core::Result<std::string> readPem(const std::string& path, const char* setting) {
  std::ifstream in(path);
  if (!in) {
    return core::Error{core::Errc::kInvalidParams,
                       fmt::format("{}: cannot read '{}'", setting, path)};
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

core::Result<std::vector<auth::JwtKey>> buildKeys(const SecurityOptions& options,
                                                  const std::string& hs256_secret) {
  std::vector<auth::JwtKey> keys;
  auto add = [&](core::Result<auth::JwtKey> key, const char* setting) -> core::Status {
    if (!key) {
      return core::Error{core::Errc::kInvalidParams,
                         fmt::format("{}: {}", setting, key.error().message)};
    }
    keys.push_back(std::move(*key));
    return core::Ok{};
  };
  // The first key that can sign issues Forge's tokens: RS256 when a private key is configured.
  if (!options.jwt_private_key_file.empty()) {
    auto pem = readPem(options.jwt_private_key_file, "auth.jwt_private_key_file");
    if (!pem) return pem.error();
    if (auto s = add(auth::JwtKey::rs256PrivatePem(*pem), "auth.jwt_private_key_file"); !s)
      return s.error();
  }
  if (!options.jwt_public_key_file.empty()) {
    auto pem = readPem(options.jwt_public_key_file, "auth.jwt_public_key_file");
    if (!pem) return pem.error();
    if (auto s = add(auth::JwtKey::rs256PublicPem(*pem), "auth.jwt_public_key_file"); !s)
      return s.error();
  }
  if (auto s = add(auth::JwtKey::hs256(hs256_secret), "JWT_SECRET_KEY (auth.jwt_secret)"); !s)
    return s.error();
  return keys;
}

} // namespace

Identity::Identity(SecurityOptions options, std::string data_dir, net::EventLoop& loop)
    : options_(std::move(options)), data_dir_(std::move(data_dir)), loop_(loop) {}

Identity::~Identity() = default;

core::Result<std::unique_ptr<Identity>> Identity::prepare(SecurityOptions options,
                                                          const std::string& data_dir,
                                                          const std::string& listen_host,
                                                          net::EventLoop& loop) {
  if (!options.auth_required && !isLoopback(listen_host)) {
    return core::Error{core::Errc::kInvalidParams,
                       fmt::format("development mode (auth.required: false / AUTH_REQUIRED=false) "
                                   "lets anyone in, so it only listens on loopback; server.host "
                                   "is {}: set it to 127.0.0.1 or turn authentication on",
                                   listen_host)};
  }
  auto secrets = loadSecrets(options, data_dir);
  if (!secrets) return secrets.error();
  auto keys = buildKeys(options, secrets->jwt_secret);
  if (!keys) return keys.error();
  auto box = auth::SecretBox::fromSecret(secrets->encryption_secret);
  if (!box) {
    return core::Error{
        core::Errc::kInvalidParams,
        fmt::format("AUTH_ENCRYPTION_SECRET (auth.encryption_secret): {}", box.error().message)};
  }
  auto sealer = JwtSessionSealer::fromJwtSecret(secrets->jwt_secret);
  if (!sealer) return sealer.error();
  std::unique_ptr<Identity> identity(new Identity(std::move(options), data_dir, loop));
  identity->sealer_ = std::move(*sealer);
  identity->keys_ = std::move(*keys);
  identity->box_ = std::make_shared<const auth::SecretBox>(std::move(*box));
  identity->admin_password_ = core::Secret(secrets->admin_password);
  identity->admin_password_generated_ = secrets->admin_password_from_file;
  identity->secrets_file_ = secrets->file;
  for (const auto& name : secrets->generated)
    log::info("generated {} into {} (mode 0600); keep this file with the database", name,
              secrets->file);
  return identity;
}

core::Status Identity::start(storage::StorageWorker& storage) {
  audit_ = std::make_unique<AuditLog>(loop_, storage);
  AuthenticatorOptions auth_options;
  auth_options.keys = keys_;
  auth_options.verify.audiences = {options_.audience};
  auth_options.verify.issuer = options_.issuer;
  auth_options.token_lifetime = options_.token_lifetime;
  auth_options.cache_ttl = options_.cache_ttl;
  authenticator_ = std::make_unique<Authenticator>(loop_, storage, std::move(auth_options));
  guard_ = std::make_unique<AccessGuard>(options_, *authenticator_, *audit_);
  api_ = std::make_unique<IdentityApi>(options_, storage, *authenticator_, *audit_);
  if (auto status = seedAdmin(storage); !status) return status;
  if (auto status = authenticator_->start(); !status) return status;
  audit_->start();
  if (!options_.auth_required) {
    log::warn("development mode: authentication is OFF and every request acts as a platform "
              "admin (loopback only); never run this way in production");
  }
  return core::Ok{};
}

core::Status Identity::seedAdmin(storage::StorageWorker& storage) {
  const std::string email = options_.admin_email;
  const auto adminExists = [&storage, &email] {
    return storage.call([email](storage::Store& store) -> core::Result<bool> {
      auto user = store.identity().userByEmail(email);
      if (!user) return user.error();
      return user->has_value();
    });
  };
  auto existing = adminExists();
  if (!existing) return existing.error();
  if (*existing) return core::Ok{};
  auto hash = auth::hashPassword(admin_password_.reveal(), options_.password_cost);
  if (!hash) return hash.error();
  storage::UserRecord admin;
  admin.email = email;
  admin.full_name = "Platform administrator";
  admin.role = "platform_admin";
  admin.password_hash = *hash;
  auto saved =
      storage.call([admin](storage::Store& store) { return store.identity().insertUser(admin); });
  if (!saved) {
    // Replicas started together on a new database all seed it: one of them wins.
    if (auto seeded = adminExists(); seeded && *seeded) return core::Ok{};
    return saved.error();
  }
  if (admin_password_generated_) {
    log::info("created the platform admin {}; its password is \"admin_password\" in {}. Get a "
              "token: curl -X POST http://<host>:<port>/auth/email/login -H 'Content-Type: "
              "application/json' -d '{{\"email\":\"{}\",\"password\":\"…\"}}', or run `forge "
              "token create --user {} --data-dir {}`",
              email, secrets_file_, email, email, data_dir_);
  } else {
    log::info("created the platform admin {} with the configured PLATFORM_ADMIN_PASSWORD", email);
  }
  return core::Ok{};
}

void Identity::stop() {
  if (authenticator_) authenticator_->stop();
  if (audit_) audit_->flush();
}

void Identity::handle(const net::RequestPtr& request, const net::ResponseWriterPtr& writer,
                      const net::Handler& next) {
  guard_->handle(request, writer, next);
}

void Identity::addRoutes(net::Router& router, api::OpenApiDocument& doc) {
  guard_->addRoutes(router, doc);
  api_->addRoutes(router, doc);
}

std::shared_ptr<const gateway::AccessPolicy>
Identity::mcpPolicy(std::function<std::optional<std::string>(const std::string&)> team_of) {
  return std::make_shared<McpAccess>(std::move(team_of), options_.per_tool,
                                     options_.rate_limit_keys, *audit_);
}

} // namespace forge::identity
