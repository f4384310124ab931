#include "cli/connection.h"

#include "auth/jwt.h"
#include "cli/command.h"
#include "identity/secrets.h"
#include "storage/migrations.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace forge::cli {

using namespace std::chrono_literals;

namespace {

constexpr const char* kDefaultGatewayUrl = "http://127.0.0.1:8000";
constexpr const char* kDefaultManagerUrl = "http://127.0.0.1:9000";

// `given`, else the first set variable of `names`, else `fallback`; without a trailing '/'.
const std::string& resolveUrl(std::string& given, std::initializer_list<const char*> names,
                              const char* fallback) {
  if (given.empty()) given = fromEnvironment(names);
  if (given.empty()) given = fallback;
  while (given.ends_with('/'))
    given.pop_back();
  return given;
}

} // namespace

std::string fromEnvironment(std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (const char* value = std::getenv(name); value && *value) return value;
  }
  return {};
}

void Connection::addOptions(CLI::App& app, Reach reach) {
  // A nested command is named with its parents ("incident assess"), not the root ("forge").
  command_ = app.get_name();
  for (const auto* parent = app.get_parent(); parent && parent->get_parent();
       parent = parent->get_parent())
    command_ = parent->get_name() + " " + command_;
  // The same variable the gateway reads for its data_dir key.
  if (auto dir = fromEnvironment({"FORGE_DATA_DIR"}); !dir.empty()) data_dir_ = dir;
  const auto bits = static_cast<int>(reach);
  if (bits & static_cast<int>(Reach::kGateway)) {
    app.add_option("--gateway-url", gateway_url_,
                   "The gateway, http:// or https:// (default: $FORGE_GATEWAY_URL or "
                   "http://127.0.0.1:8000); https certificates are verified, trust a private CA "
                   "with $FORGE_CA_FILE");
  }
  if (bits & static_cast<int>(Reach::kManager)) {
    app.add_option("--manager-url", manager_url_,
                   "The manager's API, http:// or https:// (default: $FORGE_MANAGER_URL or "
                   "http://127.0.0.1:9000; $FORGE_CA_FILE as for --gateway-url)");
  }
  if (bits & static_cast<int>(Reach::kDatabase)) {
    app.add_option("--database-url", database_url_,
                   "The stack's database (default: $DATABASE_URL, else SQLite "
                   "<data-dir>/forge.db)");
  }
  app.add_option("--token", token_,
                 "Bearer token (default: $FORGE_TOKEN, $MCP_GATEWAY_TOKEN, else one signed with "
                 "<data-dir>/secrets.json)");
  app.add_option("--data-dir", data_dir_, "The data directory of the stack ($FORGE_DATA_DIR)")
      ->capture_default_str();
  app.add_flag("--json", json_, "Print JSON");
}

const std::string& Connection::gatewayUrl() {
  return resolveUrl(gateway_url_, {"FORGE_GATEWAY_URL"}, kDefaultGatewayUrl);
}

const std::string& Connection::managerUrl() {
  return resolveUrl(manager_url_, {"FORGE_MANAGER_URL"}, kDefaultManagerUrl);
}

const std::string& Connection::databaseUrl() {
  if (database_url_.empty()) database_url_ = fromEnvironment({"DATABASE_URL"});
  return database_url_;
}

core::Result<storage::DatabasePtr> Connection::database() {
  auto db = existingDatabase();
  if (!db) return db.error();
  if (auto migrated = storage::migrate(**db); !migrated) return migrated.error();
  return std::move(*db);
}

core::Result<storage::DatabasePtr> Connection::existingDatabase() {
  // A mistyped --data-dir must not quietly create an empty database.
  const auto sqlite_file = std::filesystem::path(data_dir_) / "forge.db";
  if (databaseUrl().empty() && !std::filesystem::exists(sqlite_file)) {
    return core::Error{core::Errc::kNotFound,
                       fmt::format("no database at {}: point --data-dir at the stack's data "
                                   "directory, or give --database-url",
                                   sqlite_file.string())};
  }
  return storage::openDatabase(databaseUrl(), data_dir_);
}

core::Result<std::string> Connection::token() {
  if (token_.empty()) token_ = fromEnvironment({"FORGE_TOKEN", "MCP_GATEWAY_TOKEN"});
  if (!token_.empty()) return token_;
  auto secret = identity::readSecret(data_dir_, "jwt_secret");
  if (!secret) return secret.error();
  if (secret->empty()) {
    return core::Error{core::Errc::kUnauthorized,
                       fmt::format("no token: pass --token or set FORGE_TOKEN, or point "
                                   "--data-dir at the stack's data directory ({} has no "
                                   "secrets.json)",
                                   data_dir_)};
  }
  auto key = auth::JwtKey::hs256(*secret);
  if (!key) return key.error();
  std::string admin = fromEnvironment({"PLATFORM_ADMIN_EMAIL"});
  if (admin.empty()) admin = "admin@example.com";
  auto signed_token =
      auth::sign(*key, auth::issuedClaims(admin, std::string(auth::kDefaultIssuer),
                                          std::string(auth::kDefaultAudience), 5min));
  if (!signed_token) return signed_token.error();
  token_ = *signed_token;
  return token_;
}

core::Result<ApiClient> Connection::gateway(std::chrono::milliseconds timeout) {
  auto bearer = token();
  if (!bearer) return bearer.error();
  return ApiClient(gatewayUrl(), *bearer, timeout);
}

core::Result<ApiClient> Connection::manager(std::chrono::milliseconds timeout) {
  auto bearer = token();
  if (!bearer) return bearer.error();
  return ApiClient(managerUrl(), *bearer, timeout);
}

std::optional<Answer> Connection::call(const ApiClient& api, net::Method method,
                                       const std::string& path, int& exit_code,
                                       const boost::json::value* body, const char* what) {
  const bool is_manager = !manager_url_.empty() && api.base() == manager_url_;
  if (!what) what = is_manager ? "the manager" : "the gateway";
  auto answer = api.call(method, path, body);
  if (!answer) {
    const std::string& reason = answer.error().message;
    // Starting the service is the advice when nothing answered; a failed TLS handshake carries
    // its own (which CA to trust, which name to use), and the service is running.
    const char* hint = reason.starts_with("TLS handshake") ? nullptr
                       : is_manager ? "start it with `forge up`, or give --manager-url"
                                    : "start it with `forge gateway` or `forge up`, or give "
                                      "--gateway-url";
    exit_code =
        fail(kExitUnhealthy, fmt::format("cannot reach {} at {}: {}{}", what, api.base(), reason,
                                         hint ? fmt::format("\n({})", hint) : std::string()));
    return std::nullopt;
  }
  if (answer->status >= 300) {
    exit_code = answer->status == 401 || answer->status == 403 ? kExitUsage : kExitFailure;
    fail(exit_code,
         fmt::format("{} {}: {}", net::methodName(method), path, ApiClient::detail(*answer)));
    return std::nullopt;
  }
  return std::move(*answer);
}

int Connection::fail(int exit_code, const std::string& message) const {
  std::fprintf(stderr, "forge %s: %s\n", command_.c_str(), message.c_str());
  return exit_code;
}

} // namespace forge::cli
