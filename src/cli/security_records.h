// What `forge security` and `forge access` share: the audit trail and the API tokens read from the
// stack's database, --since resolved to a time, and small helpers for the gateway's API.
#pragma once

#include "cli/command.h"
#include "cli/connection.h"
#include "ops/security.h"
#include "storage/identity_store.h"

#include <CLI/CLI.hpp>
#include <boost/json/value.hpp>

#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace forge::cli {

// Subcommands with connection options of their own, each running a member function of Owner.
template <class Owner>
class Subcommands {
public:
  using Handler = int (Owner::*)(Connection&);

  CLI::App* add(CLI::App& app, const char* name, const char* help, Reach reach, Handler handler) {
    auto& sub = subs_.emplace_back();
    sub.app = app.add_subcommand(name, help);
    sub.connection.addOptions(*sub.app, reach);
    sub.handler = handler;
    return sub.app;
  }

  // Runs the subcommand given on the command line; kExitUsage when there was none.
  int run(Owner& owner) {
    for (auto& sub : subs_)
      if (sub.app->parsed()) return (owner.*sub.handler)(sub.connection);
    return kExitUsage;
  }

private:
  struct Sub {
    CLI::App* app = nullptr;
    Connection connection;
    Handler handler = nullptr;
  };
  std::deque<Sub> subs_; // a deque: the options point into its elements
};

// The most audit records a command reads at once.
inline constexpr std::int64_t kMaxAuditRecords = 500'000;

// The ISO time `since` names ("24h", "7d", an ISO time; empty: from the start). On a malformed
// value it prints what is expected, sets exit_code (kExitUsage) and returns nullopt.
std::optional<std::string> sinceTime(const Connection& connection, const std::string& since,
                                     int& exit_code);

// Audit records of the stack's database, newest first. On failure prints why and what to do,
// sets exit_code and returns nullopt.
std::optional<std::vector<storage::AuditRecord>>
readAudit(Connection& connection, storage::AuditQuery query, int& exit_code);

// The access records of `files` (default: the gateway's log files under --data-dir) since
// `since`; says on stderr when there is none to read.
std::vector<ops::AccessRecord> readAccess(const Connection& connection,
                                          std::vector<std::string> files, const std::string& since);

// `text` percent-encoded for a query string.
std::string queryValue(const std::string& text);

// A JSON string member of `value`, or "".
std::string member(const boost::json::value& value, const char* key);

} // namespace forge::cli
