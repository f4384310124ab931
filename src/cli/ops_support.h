// What the operations commands (health, smoke-test, verify, doctor, stats, log-level, debug)
// share on top of Connection: API clients that also work without a token (a gateway in
// development mode needs none, and /health never does), and small JSON and number helpers.
#pragma once

#include "cli/connection.h"

#include <boost/json/value.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace forge::cli {

// Clients with the connection's token when there is one, else without.
ApiClient gatewayClient(Connection& connection,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));
ApiClient managerClient(Connection& connection,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));

// One GET; nullopt (with `error` set) when the peer cannot be reached.
std::optional<Answer> get(const ApiClient& api, const std::string& path, std::string& error,
                          double* milliseconds = nullptr);

// A JSON member as text ("" when absent or null), number, or bool.
std::string textOf(const boost::json::value& object, std::string_view key);
double numberOf(const boost::json::value& object, std::string_view key);
bool boolOf(const boost::json::value& object, std::string_view key);

// "1.2 GiB", "340 MiB"...
std::string bytesText(double bytes);
// "3d 4h", "2h 5m", "42s"
std::string durationText(double seconds);

} // namespace forge::cli
