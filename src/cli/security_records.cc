#include "cli/security_records.h"

#include "cli/command.h"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <cstdio>

namespace forge::cli {

std::optional<std::string> sinceTime(const Connection& connection, const std::string& since,
                                     int& exit_code) {
  auto at = ops::resolveSince(since, std::chrono::system_clock::now());
  if (!at) {
    exit_code = connection.fail(kExitUsage, fmt::format("--since '{}': give a span such as 30m, "
                                                        "24h or 7d, or an ISO time "
                                                        "(2026-01-02T03:04:05Z)",
                                                        since));
  }
  return at;
}

std::optional<std::vector<storage::AuditRecord>>
readAudit(Connection& connection, storage::AuditQuery query, int& exit_code) {
  auto db = connection.database();
  if (!db) {
    exit_code = connection.fail(
        kExitFailure, fmt::format("cannot open the stack's database: {}", db.error().message));
    return std::nullopt;
  }
  if (query.limit <= 0) query.limit = kMaxAuditRecords;
  auto records = storage::IdentityStore(**db).audit(query);
  if (!records) {
    exit_code = connection.fail(
        kExitFailure, fmt::format("reading the audit trail: {}", records.error().message));
    return std::nullopt;
  }
  return std::move(*records);
}

std::vector<ops::AccessRecord>
readAccess(const Connection& connection, std::vector<std::string> files, const std::string& since) {
  if (files.empty()) files = ops::gatewayLogFiles(connection.dataDir());
  if (files.empty()) {
    std::fprintf(stderr,
                 "forge %s: no gateway log under %s/logs (a gateway run by `forge up` writes one; "
                 "give --log FILE for another, with log.access on)\n",
                 connection.command().c_str(), connection.dataDir().c_str());
    return {};
  }
  std::vector<std::string> unreadable;
  auto records = ops::readAccessLogs(files, since, &unreadable);
  for (const auto& file : unreadable)
    std::fprintf(stderr, "forge %s: cannot read %s\n", connection.command().c_str(), file.c_str());
  return records;
}

std::string queryValue(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string member(const boost::json::value& value, const char* key) {
  if (!value.is_object()) return {};
  const auto* v = value.as_object().if_contains(key);
  if (!v || v->is_null()) return {};
  return v->is_string() ? std::string(v->as_string()) : boost::json::serialize(*v);
}

} // namespace forge::cli
