// Security analysis: what the audit trail and the gateway's access log say about who tried to
// get in, what looks like an attack or a misuse, and what one actor did. Pure functions over
// records, so that every rule can be tested on seeded rows; the `forge security` and
// `forge access` commands read the records and print what these compute.
#pragma once

#include "ops/check.h"
#include "storage/identity_store.h"

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace forge::ops {

// ---- time ---------------------------------------------------------------------------------------

// Seconds since the epoch of an ISO 8601 UTC time ("2026-01-02T03:04:05Z", with optional
// fractional seconds); nullopt when `text` is not one.
std::optional<double> parseUtc(std::string_view text);
// "2026-01-02T03:04:05.123Z"
std::string formatUtc(double seconds_since_epoch);
// A span such as "90s", "30m", "24h", "7d"; nullopt when malformed.
std::optional<std::chrono::seconds> parseSpan(std::string_view text);
// The ISO time `since` names: a span back from `now` ("24h") or an ISO time as given; nullopt
// when it is neither.
std::optional<std::string> resolveSince(std::string_view since,
                                        std::chrono::system_clock::time_point now);

// ---- the access log -----------------------------------------------------------------------------

// One request as the gateway's access log wrote it.
struct AccessRecord {
  std::string at;
  std::string actor; // the caller (user email, "token:<id>"), empty when not authenticated
  std::string token; // the API token id the caller used, if any
  std::string method;
  std::string path;
  int status = 0;
  std::string remote; // client address and port
  std::string request_id;
  double duration_ms = 0;
};

// The access record of one log line (text or JSON format, optionally prefixed by the time the
// service manager stamps on captured output); nullopt for any other line.
std::optional<AccessRecord> parseAccessLine(std::string_view line);

// The service manager's log files of the gateway's replicas in a data directory
// (<data-dir>/logs/gateway-<n>.log and their rotated copies), oldest first.
std::vector<std::string> gatewayLogFiles(const std::string& data_dir);

// The access records of `files` at or after `since` (ISO time; empty: all), oldest first.
// Unreadable files are skipped and named in `unreadable`.
std::vector<AccessRecord> readAccessLogs(const std::vector<std::string>& files,
                                         const std::string& since,
                                         std::vector<std::string>* unreadable = nullptr);

// The address part of a peer ("10.1.2.3:5000" -> "10.1.2.3", "[::1]:5000" -> "::1").
std::string hostOf(std::string_view remote);

// ---- authentication failures --------------------------------------------------------------------

// A refused request (401, 403, 429) or a failed login.
bool isAuthFailure(const storage::AuditRecord& record);

struct FailureGroup {
  std::string actor; // who the request claimed to be ("anonymous" without a valid token)
  std::string host;
  std::int64_t total = 0;
  std::int64_t unauthorized = 0; // 401 (failed logins included)
  std::int64_t forbidden = 0;    // 403
  std::int64_t throttled = 0;    // 429
  std::int64_t failed_logins = 0;
  std::string first_seen;
  std::string last_seen;
  std::set<std::string> actions;
};

// Failures grouped by actor and client address, the most frequent first.
std::vector<FailureGroup> groupAuthFailures(const std::vector<storage::AuditRecord>& records);

// ---- anomalies ----------------------------------------------------------------------------------

struct AnomalyRules {
  // Brute force: this many failures from one address within `burst_window`.
  int burst_warning = 10;
  int burst_critical = 50;
  std::chrono::seconds burst_window{300};
  // One actor refused on this many distinct targets (critical at twice as many).
  int denied_targets = 5;
  // Working hours in UTC, [start, end): changes outside them are reported.
  int work_start_hour = 7;
  int work_end_hour = 19;
};

struct Anomaly {
  std::string rule; // brute_force, denied_across_targets, new_address, privilege_change,
                    // off_hours_admin
  Level severity = Level::kWarning;
  std::string actor;
  std::string host;
  std::string summary;
  std::string first_seen;
  std::string last_seen;
  std::vector<std::string> evidence; // the records that triggered the rule (at most a few)
};

// Applies every rule to the records at or after `window_start` (ISO time); older records are
// the baseline the new-address rule compares with. Most severe first.
std::vector<Anomaly> detectAnomalies(const std::vector<storage::AuditRecord>& audit,
                                     const std::vector<AccessRecord>& access,
                                     const std::string& window_start, const AnomalyRules& rules);

// ---- access changes -----------------------------------------------------------------------------

// A change to who may do what: users created, changed or deleted, roles, accounts enabled or
// disabled, team membership, tokens created or revoked, logouts.
bool isAccessChange(const storage::AuditRecord& record);

// ---- forensics ----------------------------------------------------------------------------------

struct TimelineEvent {
  std::string at;
  std::string source; // audit, access, token
  std::string actor;
  std::string host;
  std::string what;
  std::string outcome;
};

struct ForensicsFilter {
  std::string actor;               // an email: also matches its tokens' use
  std::string host;                // a client address
  std::set<std::string> token_ids; // the actor's API tokens (access records name them)
};

// What the actor or address did, oldest first: audit entries, requests from the access log, and
// the lifecycle of the actor's API tokens (created, last used, revoked).
std::vector<TimelineEvent> buildTimeline(const std::vector<storage::AuditRecord>& audit,
                                         const std::vector<AccessRecord>& access,
                                         const std::vector<storage::ApiTokenRecord>& tokens,
                                         const ForensicsFilter& filter);

// Hex SHA-256 of `data`.
std::string sha256Hex(std::string_view data);

} // namespace forge::ops
