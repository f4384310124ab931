// `forge token create --user EMAIL [--exp MINUTES]`: mints a JWT bearer token signed with the
// gateway's HS256 secret (--secret, JWT_SECRET_KEY, or the one the gateway generated into
// <data_dir>/secrets.json), with Forge's audience and issuer, as the original system's token CLI
// did. The gateway accepts it for users it knows; their role comes from the database.
// `forge token list [--all]` and `forge token revoke ID` manage API tokens through the gateway.
#include "auth/jwt.h"
#include "auth/roles.h"
#include "cli/commands.h"
#include "cli/connection.h"
#include "cli/output.h"
#include "cli/security_records.h"
#include "identity/secrets.h"

#include <CLI/CLI.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>

namespace forge::cli {
namespace {

class TokenCommand final : public Command {
public:
  std::string name() const override { return "token"; }
  std::string synopsis() const override {
    return "Mint JWT bearer tokens; list and revoke API tokens";
  }

  void setup(CLI::App& app) override {
    app.require_subcommand(1);
    auto* create = app.add_subcommand("create", "Mint a signed JWT for a user");
    create->add_option("--user,--username", user_, "The user's email (the token's subject)")
        ->required();
    create->add_option("--exp", minutes_, "Lifetime in minutes (default: 7 days)")
        ->check(CLI::Range(1, 60 * 24 * 366));
    create->add_option("--secret", secret_,
                       "HS256 signing secret, at least 32 characters (default: $JWT_SECRET_KEY, "
                       "else the gateway's generated one in <data-dir>/secrets.json)");
    create->add_option("--data-dir", data_dir_, "The gateway's data directory")
        ->capture_default_str();
    create->add_option("--role", role_,
                       "Lower the user's role for this token: team_admin | developer | viewer "
                       "(a token never raises the role stored for the user)");
    create->add_option("--audience", audience_, "The aud claim")->capture_default_str();
    create->add_option("--issuer", issuer_, "The iss claim")->capture_default_str();
    create->add_flag("--json", json_, "Print {token, jti, expires_at} as JSON");
    create->footer("Example:\n"
                   "  forge token create --user admin@example.com --exp 60 --data-dir ./data\n"
                   "  JWT_SECRET_KEY=... forge token create --user ada@example.com --role viewer\n"
                   "The token goes in 'Authorization: Bearer <token>'.");

    list_ = app.add_subcommand("list", "List API tokens (the caller's; --all: everyone's)");
    list_connection_.addOptions(*list_, Reach::kGateway);
    list_->add_flag("--all", all_, "Every user's tokens (platform admins)");
    list_->footer("Example: forge token list --all --data-dir ./data");

    revoke_ = app.add_subcommand("revoke", "Revoke an API token (by id or jti) at once");
    revoke_connection_.addOptions(*revoke_, Reach::kGateway);
    revoke_->add_option("id", token_id_, "The token's id or jti (see `forge token list`)")
        ->required();
    revoke_->add_option("--reason", reason_, "Why (kept with the token and in the audit trail)");
    revoke_->footer("Example: forge token revoke 3f2a9c... --reason 'leaked in a CI log'");
  }

  int run() override {
    if (list_->parsed()) return listTokens(list_connection_);
    if (revoke_->parsed()) return revokeToken(revoke_connection_);
    return createToken();
  }

private:
  int listTokens(Connection& conn) {
    auto api = conn.gateway();
    if (!api) return conn.fail(kExitUsage, api.error().message);
    int exit_code = kExitOk;
    auto answer =
        conn.call(*api, net::Method::kGet, all_ ? "/tokens?all=true" : "/tokens", exit_code);
    if (!answer) return exit_code;
    Table table({"ID", "NAME", "USER", "STATE", "EXPIRES", "LAST USED", "USES", "SERVERS"});
    const boost::json::array empty;
    for (const auto& t : answer->body.is_array() ? answer->body.as_array() : empty) {
      const bool revoked = !member(t, "revokedAt").empty();
      const std::string expires = member(t, "expiresAt");
      const bool expired =
          !expires.empty() &&
          ops::parseUtc(expires).value_or(0) <
              std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                  .count();
      table.addRow({member(t, "id"), member(t, "name"), member(t, "userId"),
                    revoked   ? "revoked"
                    : expired ? "expired"
                              : "active",
                    expires.empty() ? "never" : expires,
                    member(t, "lastUsedAt").empty() ? "-" : member(t, "lastUsedAt"),
                    member(t, "useCount"), member(t, "serverIds")});
    }
    printResult(conn.json(), table, answer->body);
    return kExitOk;
  }

  int revokeToken(Connection& conn) {
    auto api = conn.gateway();
    if (!api) return conn.fail(kExitUsage, api.error().message);
    int exit_code = kExitOk;
    const std::string path = "/tokens/" + queryValue(token_id_) +
                             (reason_.empty() ? "" : "?reason=" + queryValue(reason_));
    auto answer = conn.call(*api, net::Method::kDelete, path, exit_code);
    if (!answer) return exit_code;
    if (conn.json()) {
      printResult(true, Table({}), answer->body);
    } else {
      fmt::print("{}\n", member(answer->body, "message"));
    }
    return kExitOk;
  }

  int createToken() {
    if (secret_.empty()) {
      if (const char* env = std::getenv("JWT_SECRET_KEY")) secret_ = env;
    }
    if (secret_.empty()) {
      auto stored = identity::readSecret(data_dir_, "jwt_secret");
      if (!stored) {
        std::fprintf(stderr, "forge token create: %s\n", stored.error().message.c_str());
        return kExitFailure;
      }
      secret_ = *stored;
    }
    if (secret_.empty()) {
      std::fprintf(stderr,
                   "forge token create: no signing secret: pass --secret, set JWT_SECRET_KEY, or "
                   "point --data-dir at a gateway's data directory (%s has no secrets.json)\n",
                   data_dir_.c_str());
      return kExitUsage;
    }
    if (!role_.empty() && !auth::parseRole(role_)) {
      std::fprintf(stderr,
                   "forge token create: unknown --role '%s' (platform_admin, team_admin, "
                   "developer, viewer)\n",
                   role_.c_str());
      return kExitUsage;
    }
    auto key = auth::JwtKey::hs256(secret_);
    if (!key) {
      std::fprintf(stderr, "forge token create: %s\n", key.error().message.c_str());
      return kExitUsage;
    }
    const std::int64_t lifetime =
        minutes_ > 0 ? minutes_ * 60 : std::chrono::seconds(auth::kDefaultLifetime).count();
    auto claims = auth::issuedClaims(user_, issuer_, audience_, std::chrono::seconds(lifetime));
    if (!role_.empty()) claims.extra["role"] = role_;
    auto token = auth::sign(*key, claims);
    if (!token) {
      std::fprintf(stderr, "forge token create: %s\n", token.error().message.c_str());
      return kExitFailure;
    }
    // The bare token by default, so that TOKEN=$(forge token create ...) works.
    if (!json_) {
      std::printf("%s\n", token->c_str());
      return kExitOk;
    }
    printResult(true, Table({"token"}),
                boost::json::object{{"token", *token},
                                    {"jti", claims.jti},
                                    {"subject", user_},
                                    {"expires_at", claims.exp}});
    return kExitOk;
  }

  std::string user_;
  std::int64_t minutes_ = 0;
  std::string secret_;
  std::string role_;
  std::string data_dir_ = "./data";
  std::string audience_{auth::kDefaultAudience};
  std::string issuer_{auth::kDefaultIssuer};
  bool json_ = false;

  CLI::App* list_ = nullptr;
  CLI::App* revoke_ = nullptr;
  Connection list_connection_;
  Connection revoke_connection_;
  bool all_ = false;
  std::string token_id_;
  std::string reason_;
};

} // namespace

CommandPtr makeTokenCommand() { return std::make_unique<TokenCommand>(); }

} // namespace forge::cli
