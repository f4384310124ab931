// Portable session ids. With a SessionSealer, a Streamable HTTP session id is a signed record of
// what initialize negotiated, so that any gateway process holding the same key can take over a
// session another process opened: two replicas behind one port (a client's next connection may
// reach the other one), or a replica that replaced the one the client started with. Without a
// sealer, ids are random and known to their process only.
//
// A taken-over session starts afresh on the new process: what initialize settled (protocol
// version, client capabilities and info) carries over; what the session did since (resource
// subscriptions, its log level, requests in flight) does not.
#pragma once

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace forge::transport {

// What a session id carries.
struct SealedSession {
  std::string endpoint; // the path it was opened on: a session belongs to one endpoint
  std::string owner;    // HttpSession::owner of the caller who opened it
  std::string protocol_version;
  boost::json::object client_capabilities;
  boost::json::object client_info;
};

class SessionSealer {
public:
  virtual ~SessionSealer() = default;
  // A new, unique session id carrying `session`.
  virtual std::string seal(const SealedSession& session) const = 0;
  // What `id` carries, or nullopt when it is not an id this key sealed.
  virtual std::optional<SealedSession> open(std::string_view id) const = 0;
};

} // namespace forge::transport
