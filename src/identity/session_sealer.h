// The gateway's SessionSealer (transport/session_seal.h): a session id is a compact JWS, HS256
// with a key derived from the JWT secret (so every process sharing the data directory, or the
// configured JWT_SECRET_KEY, shares it too; and a session id is never a bearer token).
#pragma once

#include "auth/jwt.h"
#include "core/error.h"
#include "transport/session_seal.h"

#include <memory>
#include <string_view>

namespace forge::identity {

class JwtSessionSealer final : public transport::SessionSealer {
public:
  static core::Result<std::shared_ptr<const JwtSessionSealer>>
  fromJwtSecret(std::string_view jwt_secret);

  std::string seal(const transport::SealedSession& session) const override;
  std::optional<transport::SealedSession> open(std::string_view id) const override;

private:
  explicit JwtSessionSealer(auth::JwtKey key) : key_(std::move(key)) {}
  auth::JwtKey key_;
};

} // namespace forge::identity
