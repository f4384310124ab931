// Authenticator: turns a bearer token into a Principal.
//   - JWTs (login tokens, `forge token create`) are verified with the configured keys (one
//     algorithm pinned per key; aud, iss, exp, nbf checked), their jti checked against the
//     revoked set, and their subject looked up: an unknown or disabled user is refused, and the
//     user's role and teams come from the database, never from the token (a token's "role"
//     claim can only lower the role).
//   - API tokens ("forge_...") are looked up by SHA-256; revoked, expired and disabled-user
//     tokens are refused, and so are clients outside the token's address allow-list.
// Answers are cached for cache_ttl, so a busy client costs one database lookup per TTL; a
// revocation made here takes effect at once; users disabled and tokens revoked by another
// instance sharing the database are noticed at the next refresh (every 5 s).
#pragma once

#include "auth/jwt.h"
#include "auth/roles.h"
#include "core/error.h"
#include "net/event_loop.h"
#include "storage/identity_store.h"
#include "storage/worker.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace forge::identity {

using PrincipalPtr = std::shared_ptr<const auth::Principal>;

struct AuthenticatorOptions {
  std::vector<auth::JwtKey> keys; // the first one that can sign issues Forge's tokens
  auth::VerifyOptions verify;     // audiences, issuer, leeway
  std::chrono::seconds token_lifetime{7 * 24 * 3600};
  std::chrono::milliseconds cache_ttl{30'000};
};

// The principal of a stored user and their team memberships.
PrincipalPtr principalOf(const storage::UserRecord& user,
                         const std::vector<storage::MemberRecord>& memberships);

// The address part of a peer ("10.1.2.3:5000" -> "10.1.2.3", "[::1]:5000" -> "::1").
std::string clientHost(const std::string& remote);

// Whether `remote` ("10.1.2.3:5000", "::1:5000") matches an allow-list of addresses and IPv4
// CIDR blocks ("10.0.0.0/8"). An empty list allows everyone.
bool addressAllowed(const std::vector<std::string>& allow, const std::string& remote);

class Authenticator {
public:
  Authenticator(net::EventLoop& loop, storage::StorageWorker& storage,
                AuthenticatorOptions options);
  ~Authenticator();

  // Loads the revoked token ids and starts the periodic refresh and usage flush. Blocking:
  // start-up only.
  core::Status start();
  void stop();

  using Done = std::function<void(core::Result<PrincipalPtr>)>;
  // Authenticates a bearer token sent from `remote`. `done` runs exactly once, on an I/O
  // thread: at once when the answer is cached, else after the database lookup. Failures are
  // kUnauthorized with a message safe to show the client.
  void authenticate(std::string token, std::string remote, Done done);

  // A signed JWT for a user (login), with a fresh jti.
  core::Result<std::string> issue(const storage::UserRecord& user,
                                  std::chrono::seconds lifetime = std::chrono::seconds(0)) const;
  std::chrono::seconds tokenLifetime() const { return options_.token_lifetime; }

  // Revoked here: refused from now on by this instance.
  void revoked(const std::string& jti);
  // Users, roles, teams or tokens changed: drop the cached answers.
  void forgetCached();

private:
  struct CachedUser {
    PrincipalPtr principal;   // null: unknown or disabled
    std::int64_t created = 0; // the account's creation, seconds since the epoch
    std::chrono::steady_clock::time_point fetched;
  };
  struct CachedToken {
    PrincipalPtr principal;      // null: unknown, revoked or owner disabled
    std::string failure;         // why principal is null
    std::int64_t expires_at = 0; // seconds since the epoch; 0: never
    std::vector<std::string> ip_allow;
    std::string id;
    std::chrono::steady_clock::time_point fetched;
  };

  void authenticateJwt(const std::string& token, Done done);
  void authenticateApiToken(const std::string& token, const std::string& remote, Done done);
  core::Result<PrincipalPtr> checkToken(const CachedToken& entry, const std::string& remote);
  void noteUse(const std::string& token_id);
  void flushUsage();
  void refreshRevoked();
  void schedule();
  bool fresh(std::chrono::steady_clock::time_point fetched) const;
  bool beginLookup(); // false when kMaxLookups database lookups are already waiting
  void endLookup();

  net::EventLoop& loop_;
  storage::StorageWorker& storage_;
  const AuthenticatorOptions options_;
  const auth::JwtKey* signing_key_ = nullptr;

  mutable std::mutex mutex_;
  std::unordered_set<std::string> revoked_;
  std::unordered_map<std::string, CachedUser> users_;   // by JWT subject
  std::unordered_map<std::string, CachedToken> tokens_; // by SHA-256 of the secret
  std::map<std::string, std::int64_t> uses_;            // API token id -> uses since last flush
  std::string access_stamp_; // IdentityStore::accessStamp() at the last refresh
  std::atomic<int> lookups_{0};
  std::atomic<bool> stopping_{false};
};

} // namespace forge::identity
