// Connection: where a running Forge stack is and how to authenticate to it. Every command that
// talks to the gateway's API or the manager's shares these options and their defaults:
//   --gateway-url  $FORGE_GATEWAY_URL, else http://127.0.0.1:8000 (https:// too: the certificate
//                  is verified against the system's roots and $FORGE_CA_FILE)
//   --manager-url  $FORGE_MANAGER_URL, else http://127.0.0.1:9000
//   --token        $FORGE_TOKEN, $MCP_GATEWAY_TOKEN, else a short-lived platform-admin JWT
//                  signed with the key in <data-dir>/secrets.json (who can read it is an admin)
//   --data-dir     $FORGE_DATA_DIR, else ./data: the stack's data directory
//   --database-url $DATABASE_URL, else SQLite <data-dir>/forge.db (commands that read records)
//   --json         print JSON instead of tables
#pragma once

#include "cli/api_client.h"
#include "core/error.h"

#include "storage/database.h"

#include <boost/json/fwd.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace forge::cli {

// What a command reaches, as bits: the gateway's API, the manager's, the database directly.
enum class Reach { kGateway = 1, kManager = 2, kBoth = 3, kDatabase = 4, kAll = 7 };
constexpr Reach operator|(Reach a, Reach b) {
  return static_cast<Reach>(static_cast<int>(a) | static_cast<int>(b));
}

class Connection {
public:
  // Declares the options of `reach` (and always --token, --data-dir, --json) on `app`, the
  // command's own app, whose name is used in messages ("forge <command>: ...").
  void addOptions(CLI::App& app, Reach reach);

  const std::string& gatewayUrl();
  const std::string& managerUrl();
  const std::string& dataDir() const { return data_dir_; }
  void setDataDir(std::string dir) { data_dir_ = std::move(dir); }
  bool json() const { return json_; }

  // The token to send: the one given, else one minted from the data directory's secrets.
  core::Result<std::string> token();

  // Clients of the gateway's and the manager's APIs; an error says how to get a token.
  core::Result<ApiClient> gateway(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  core::Result<ApiClient> manager(std::chrono::milliseconds timeout = std::chrono::seconds(120));

  // The stack's database, opened and migrated to this binary's schema.
  core::Result<storage::DatabasePtr> database();
  // The stack's database as it is, not migrated (for commands that report on it or copy it).
  core::Result<storage::DatabasePtr> existingDatabase();
  const std::string& databaseUrl();

  // One request. On a transport failure or an answer >= 300 it prints what went wrong and what
  // to do, sets `exit_code` (kExitUnhealthy when unreachable, kExitUsage for 401/403, else
  // kExitFailure) and returns nullopt. `what` names the peer in messages ("the manager").
  std::optional<Answer> call(const ApiClient& api, net::Method method, const std::string& path,
                             int& exit_code, const boost::json::value* body = nullptr,
                             const char* what = nullptr);

  // Prints "forge <command>: <message>" to stderr and returns `exit_code`.
  int fail(int exit_code, const std::string& message) const;

  const std::string& command() const { return command_; }

private:
  std::string command_;
  std::string gateway_url_;
  std::string manager_url_;
  std::string token_;
  std::string data_dir_ = "./data";
  std::string database_url_;
  bool json_ = false;
};

// The first non-empty environment variable of `names`, or "".
std::string fromEnvironment(std::initializer_list<const char*> names);

} // namespace forge::cli
