// `forge token create --user EMAIL [--exp MINUTES]`: mints a JWT bearer token signed with the
// gateway's HS256 secret (--secret, JWT_SECRET_KEY, or the one the gateway generated into
// <data_dir>/secrets.json), with Forge's audience and issuer, as the original system's token CLI
// did. The gateway accepts it for users it knows; their role comes from the database.
#include "auth/jwt.h"
#include "auth/roles.h"
#include "cli/commands.h"
#include "cli/output.h"
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
  std::string synopsis() const override { return "Mint JWT bearer tokens"; }

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
  }

  int run() override {
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

private:
  std::string user_;
  std::int64_t minutes_ = 0;
  std::string secret_;
  std::string role_;
  std::string data_dir_ = "./data";
  std::string audience_{auth::kDefaultAudience};
  std::string issuer_{auth::kDefaultIssuer};
  bool json_ = false;
};

} // namespace

CommandPtr makeTokenCommand() { return std::make_unique<TokenCommand>(); }

} // namespace forge::cli
