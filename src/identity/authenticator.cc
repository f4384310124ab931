#include "identity/authenticator.h"

#include "auth/api_token.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <ctime>

namespace forge::identity {
namespace {

constexpr std::size_t kMaxCached = 50'000; // per cache; cleared whole when exceeded
constexpr std::chrono::milliseconds kUsageFlushInterval{5'000};

// Token checks waiting for the database at most: beyond, requests are refused at once rather than
// queueing database work for anyone who sends random tokens.
constexpr int kMaxLookups = 256;

core::Error busy() {
  return core::Error{core::Errc::kUnavailable, "too many token checks in progress; retry shortly"};
}

core::Error unauthorized(std::string message) {
  return core::Error{core::Errc::kUnauthorized, std::move(message)};
}

std::int64_t nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "2026-11-27T16:30:05Z" (or with fractional seconds) -> seconds since the epoch; 0 if empty.
std::int64_t parseUtc(const std::string& text) {
  if (text.empty()) return 0;
  std::tm tm{};
  if (!strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

bool inCidr(const std::string& cidr, const std::string& host) {
  const auto slash = cidr.find('/');
  if (slash == std::string::npos) return cidr == host;
  int bits = -1;
  const auto prefix = std::string_view(cidr).substr(slash + 1);
  std::from_chars(prefix.data(), prefix.data() + prefix.size(), bits);
  in_addr net{}, addr{};
  if (bits < 0 || bits > 32 || inet_pton(AF_INET, cidr.substr(0, slash).c_str(), &net) != 1 ||
      inet_pton(AF_INET, host.c_str(), &addr) != 1)
    return false;
  const std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
  return (ntohl(net.s_addr) & mask) == (ntohl(addr.s_addr) & mask);
}

// The role a token's "role" claim asks for: a cap on every role of the user, never a raise. An
// unknown name caps at viewer.
std::optional<auth::Role> roleCap(const boost::json::object& claims) {
  const auto* claim = claims.if_contains("role");
  if (!claim || !claim->is_string()) return std::nullopt;
  return auth::parseRole(std::string_view(claim->get_string())).value_or(auth::Role::kViewer);
}

std::optional<std::vector<std::string>> serversClaim(const boost::json::object& claims) {
  const auto* claim = claims.if_contains("servers");
  if (!claim || !claim->is_array()) return std::nullopt;
  std::vector<std::string> servers;
  for (const auto& v : claim->get_array())
    if (v.is_string()) servers.emplace_back(v.get_string());
  return servers;
}

} // namespace

std::string clientHost(const std::string& remote) {
  const auto colon = remote.rfind(':');
  std::string host = colon == std::string::npos ? remote : remote.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return host;
}

PrincipalPtr principalOf(const storage::UserRecord& user,
                         const std::vector<storage::MemberRecord>& memberships) {
  auto p = std::make_shared<auth::Principal>();
  p->user_id = user.id;
  p->email = user.email;
  p->role = auth::parseRole(user.role).value_or(auth::Role::kViewer);
  for (const auto& m : memberships)
    p->teams[m.team_id] = auth::parseRole(m.role).value_or(auth::Role::kViewer);
  return p;
}

bool addressAllowed(const std::vector<std::string>& allow, const std::string& remote) {
  if (allow.empty()) return true;
  const std::string host = clientHost(remote);
  return std::any_of(allow.begin(), allow.end(),
                     [&](const std::string& entry) { return inCidr(entry, host); });
}

Authenticator::Authenticator(net::EventLoop& loop, storage::StorageWorker& storage,
                             AuthenticatorOptions options)
    : loop_(loop), storage_(storage), options_(std::move(options)) {
  for (const auto& key : options_.keys) {
    if (key.canSign()) {
      signing_key_ = &key;
      break;
    }
  }
}

Authenticator::~Authenticator() { stopping_ = true; }

core::Status Authenticator::start() {
  auto revoked =
      storage_.call([](storage::Store& store) { return store.identity().revokedJtis(); });
  if (!revoked) return revoked.error();
  {
    std::lock_guard lock(mutex_);
    revoked_.insert(revoked->begin(), revoked->end());
  }
  schedule();
  return core::Ok{};
}

void Authenticator::stop() {
  stopping_ = true;
  flushUsage();
}

bool Authenticator::beginLookup() {
  if (lookups_.fetch_add(1) >= kMaxLookups) {
    lookups_.fetch_sub(1);
    return false;
  }
  return true;
}

void Authenticator::endLookup() { lookups_.fetch_sub(1); }

bool Authenticator::fresh(std::chrono::steady_clock::time_point fetched) const {
  return std::chrono::steady_clock::now() - fetched < options_.cache_ttl;
}

void Authenticator::authenticate(std::string token, std::string remote, Done done) {
  if (token.empty()) return done(unauthorized("a bearer token is required"));
  if (auth::looksLikeApiToken(token)) return authenticateApiToken(token, remote, std::move(done));
  authenticateJwt(token, std::move(done));
}

void Authenticator::authenticateJwt(const std::string& token, Done done) {
  auto claims = auth::verify(token, options_.keys, options_.verify);
  if (!claims) return done(claims.error());
  if (claims->sub.empty()) return done(unauthorized("token has no subject"));
  bool revoked = false;
  std::optional<CachedUser> cached;
  {
    std::lock_guard lock(mutex_);
    revoked = !claims->jti.empty() && revoked_.contains(claims->jti);
    auto it = users_.find(claims->sub);
    if (it != users_.end() && fresh(it->second.fetched)) cached = it->second;
  }
  if (revoked) return done(unauthorized("token has been revoked"));
  auto finish = [claims = *claims, done](const CachedUser& user) {
    if (!user.principal) return done(unauthorized("unknown or disabled user"));
    // Issued before the account existed: it was for an earlier account with the same email.
    if (claims.iat != 0 && claims.iat + 1 < user.created)
      return done(unauthorized("token predates the account"));
    auto p = std::make_shared<auth::Principal>(*user.principal);
    if (auto cap = roleCap(claims.extra)) {
      p->role = std::min(p->role, *cap);
      p->role_cap = cap;
    }
    p->servers = serversClaim(claims.extra);
    p->token_id = claims.jti;
    done(PrincipalPtr(std::move(p)));
  };
  if (cached) return finish(*cached);
  if (!beginLookup()) return done(busy());
  storage_.submit([this, subject = claims->sub, finish](storage::Store& store) {
    endLookup();
    auto ids = store.identity();
    auto user = ids.userByEmail(subject);
    if (user && !*user) user = ids.user(subject);
    CachedUser entry;
    entry.fetched = std::chrono::steady_clock::now();
    if (user && *user && (*user)->enabled) {
      auto memberships = ids.membershipsOf((*user)->id);
      if (memberships) entry.principal = principalOf(**user, *memberships);
      entry.created = parseUtc((*user)->created_at);
    }
    if (!user) log::warn("looking up user for a token: {}", user.error().message);
    {
      std::lock_guard lock(mutex_);
      if (users_.size() >= kMaxCached) users_.clear();
      if (user) users_[subject] = entry;
    }
    loop_.post([finish, entry] { finish(entry); });
  });
}

core::Result<PrincipalPtr> Authenticator::checkToken(const CachedToken& entry,
                                                     const std::string& remote) {
  if (!entry.principal) return unauthorized(entry.failure);
  if (entry.expires_at != 0 && nowSeconds() >= entry.expires_at)
    return unauthorized("API token has expired");
  if (!addressAllowed(entry.ip_allow, remote))
    return core::Error{core::Errc::kForbidden, "API token is not allowed from this address"};
  noteUse(entry.id);
  return entry.principal;
}

void Authenticator::authenticateApiToken(const std::string& token, const std::string& remote,
                                         Done done) {
  const std::string hash = auth::apiTokenHash(token);
  std::optional<CachedToken> cached;
  {
    std::lock_guard lock(mutex_);
    auto it = tokens_.find(hash);
    if (it != tokens_.end() && fresh(it->second.fetched)) cached = it->second;
  }
  if (cached) return done(checkToken(*cached, remote));
  if (!beginLookup()) return done(busy());
  storage_.submit([this, hash, remote, done](storage::Store& store) {
    endLookup();
    auto ids = store.identity();
    CachedToken entry;
    entry.fetched = std::chrono::steady_clock::now();
    entry.failure = "unknown API token";
    auto record = ids.tokenByHash(hash);
    if (!record) {
      log::warn("looking up an API token: {}", record.error().message);
      return loop_.post([done] { done(unauthorized("API tokens cannot be checked right now")); });
    }
    if (*record) {
      const auto& t = **record;
      entry.id = t.id;
      entry.expires_at = parseUtc(t.expires_at);
      entry.ip_allow = t.ip_allow;
      auto user = ids.user(t.user_id);
      if (!t.revoked_at.empty()) {
        entry.failure = "API token has been revoked";
      } else if (!user || !*user || !(*user)->enabled) {
        entry.failure = "the API token's user is unknown or disabled";
      } else if (auto memberships = ids.membershipsOf(t.user_id); memberships) {
        auto p = std::make_shared<auth::Principal>(*principalOf(**user, *memberships));
        p->api_token = true;
        p->token_id = t.id;
        if (!t.servers.empty()) p->servers = t.servers;
        entry.principal = std::move(p);
      }
    }
    {
      std::lock_guard lock(mutex_);
      if (tokens_.size() >= kMaxCached) tokens_.clear();
      tokens_[hash] = entry;
    }
    loop_.post([this, entry, remote, done] { done(checkToken(entry, remote)); });
  });
}

core::Result<std::string> Authenticator::issue(const storage::UserRecord& user,
                                               std::chrono::seconds lifetime) const {
  if (!signing_key_) {
    return core::Error{core::Errc::kUnavailable,
                       "no signing key configured (RS256 verification-only setup)"};
  }
  if (lifetime.count() <= 0) lifetime = options_.token_lifetime;
  auto claims = auth::issuedClaims(
      user.email, options_.verify.issuer,
      options_.verify.audiences.empty() ? std::string() : options_.verify.audiences.front(),
      lifetime);
  // No "role" claim: it would cap the user's roles (team roles included) at the platform role.
  return auth::sign(*signing_key_, claims);
}

void Authenticator::revoked(const std::string& jti) {
  std::lock_guard lock(mutex_);
  revoked_.insert(jti);
  tokens_.clear();
}

void Authenticator::forgetCached() {
  std::lock_guard lock(mutex_);
  users_.clear();
  tokens_.clear();
}

void Authenticator::noteUse(const std::string& token_id) {
  std::lock_guard lock(mutex_);
  ++uses_[token_id];
}

void Authenticator::flushUsage() {
  std::map<std::string, std::int64_t> uses;
  {
    std::lock_guard lock(mutex_);
    uses.swap(uses_);
  }
  if (uses.empty()) return;
  storage_.submit([uses = std::move(uses)](storage::Store& store) {
    const auto when = storage::nowUtc();
    auto ids = store.identity();
    for (const auto& [id, count] : uses) {
      if (auto status = ids.recordTokenUse(id, count, when); !status)
        log::warn("recording API token use: {}", status.error().message);
    }
  });
}

void Authenticator::refreshRevoked() {
  storage_.submit([this](storage::Store& store) {
    auto revoked = store.identity().revokedJtis();
    auto stamp = store.identity().accessStamp();
    std::lock_guard lock(mutex_);
    if (revoked) revoked_.insert(revoked->begin(), revoked->end());
    // A user disabled or a token revoked by another instance (or `forge security isolate`
    // through it) must not stay accepted here for a whole cache TTL.
    if (stamp && *stamp != access_stamp_) {
      if (!access_stamp_.empty()) {
        users_.clear();
        tokens_.clear();
      }
      access_stamp_ = *stamp;
    }
  });
}

void Authenticator::schedule() {
  loop_.postAfter(kUsageFlushInterval, [this] {
    if (stopping_) return;
    flushUsage();
    refreshRevoked();
    schedule();
  });
}

} // namespace forge::identity
