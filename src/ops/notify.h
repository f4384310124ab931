// Notifications: telling people through webhooks that something happened (an incident opened,
// escalated, closed; later any operation that wants to say so). Two payload formats:
//   json   a generic JSON document: {"event", "severity", "level", "contact", "title", "text",
//          "fields": {...}, "<subject_name>": {...}, "sent_at", "source": "forge"}
//   slack  a Slack incoming-webhook message: {"text", "attachments": [{"color", "blocks"}]}
// Each webhook may ask only for notices of some severity and escalation level up. Delivery is
// one POST per webhook with its own timeout; a failure is a value (reported, recorded), never
// fatal to the command that notifies.
//
// Configuration: a YAML file (by default <data-dir>/notifications.yml)
//   webhooks:
//     - name: oncall              # shown in timelines and output (the URL, a secret, is not)
//       kind: slack               # json (default) | slack
//       url: http://relay.internal/hooks/T000/B000/XXXX
//       min_severity: WARNING     # INFO (default) | WARNING | CRITICAL
//       min_level: 1              # escalation level 1-4 from which it is told (default 1)
//       timeout: 5s
//       headers: {Authorization: "Bearer ..."}
//   escalation:                   # time since opening at which levels 2, 3, 4 are due
//     CRITICAL: [30m, 1h, 2h]
//     WARNING: [1h, 4h]
//     INFO: []
// and the environment: FORGE_WEBHOOK_URL (a json webhook), FORGE_SLACK_WEBHOOK_URL (slack).
#pragma once

#include "core/error.h"
#include "net/http.h"
#include "ops/escalation.h"
#include "ops/severity.h"

#include <boost/json/object.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace forge::ops {

enum class PayloadKind { kJson, kSlack };

struct Webhook {
  std::string name;
  PayloadKind kind = PayloadKind::kJson;
  std::string url;
  Severity min_severity = Severity::kInfo;
  int min_level = 1;
  std::chrono::milliseconds timeout{5000};
  net::Headers headers;
};

struct NotifyConfig {
  std::vector<Webhook> webhooks;
  EscalationPolicy escalation = EscalationPolicy::guide();
  std::string source; // where it came from, for messages: "<file>", "environment", "defaults"
};

// Looks up an environment variable ("" when unset); injectable for tests.
using Environment = std::function<std::string(const char* name)>;
std::string systemEnvironment(const char* name);

// Reads `file` (absent is fine unless `required`) and adds the environment's webhooks. Errors
// (kInvalidParams) name the file, the line and the key: "notifications.yml:4: min_severity:
// 'LOUD' is not INFO, WARNING or CRITICAL".
core::Result<NotifyConfig> loadNotifyConfig(const std::filesystem::path& file, bool required,
                                            const Environment& environment = systemEnvironment);

// What is to be told.
struct Notice {
  std::string event; // "incident.opened", "incident.escalated", ...
  Severity severity = Severity::kInfo;
  int level = 1;
  std::string title; // one line: "[CRITICAL] Incident 3 opened: gateway down"
  std::string text;  // what happened and what is asked of the reader
  std::vector<std::pair<std::string, std::string>> fields; // short facts, in order
  std::string subject_name;                                // "incident"
  boost::json::object subject;                             // the incident as JSON
};

// True if `webhook` wants `notice` (severity and level at or above its minimums).
bool wants(const Webhook& webhook, const Notice& notice);

boost::json::object jsonPayload(const Notice& notice);
boost::json::object slackPayload(const Notice& notice);

struct Delivery {
  std::string webhook; // its name
  bool ok = false;
  int status = 0;    // HTTP status, 0 when none came
  std::string error; // why it failed
  std::chrono::milliseconds took{0};
};

// Posts `notice` to every webhook that wants it, one after the other; one Delivery each.
std::vector<Delivery> deliver(const std::vector<Webhook>& webhooks, const Notice& notice);

} // namespace forge::ops
