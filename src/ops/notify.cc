#include "ops/notify.h"

#include "config/config.h"
#include "net/http_client.h"
#include "ops/incident.h"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <set>

namespace forge::ops {

namespace json = boost::json;

namespace {

// Problems in a notifications file, each "file:line: message".
class FileReader {
public:
  explicit FileReader(std::string file) : file_(std::move(file)) {}

  core::Error problem(const YAML::Node& node, const std::string& what) const {
    return core::Error{core::Errc::kInvalidParams,
                       fmt::format("{}:{}: {}", file_, node.Mark().line + 1, what)};
  }

  core::Result<std::chrono::milliseconds> duration(const YAML::Node& node,
                                                   const std::string& key) const {
    const config::KeySpec spec{.key = key, .type = config::Type::kDuration};
    auto parsed = config::parseScalar(spec, node.Scalar());
    if (auto* message = std::get_if<std::string>(&parsed)) {
      return problem(node, fmt::format("{}: {}", key, *message));
    }
    return std::get<std::chrono::milliseconds>(std::get<config::Value>(parsed));
  }

  core::Result<Webhook> webhook(const YAML::Node& item, std::size_t index) const {
    if (!item.IsMap()) return problem(item, fmt::format("webhooks[{}]: not a mapping", index));
    static const std::set<std::string> kKeys{"name",      "kind",    "url",    "min_severity",
                                             "min_level", "timeout", "headers"};
    Webhook hook;
    hook.name = fmt::format("webhook-{}", index + 1);
    for (const auto& entry : item) {
      const auto key = entry.first.Scalar();
      const auto& value = entry.second;
      if (!kKeys.contains(key)) {
        return problem(entry.first, fmt::format("unknown key '{}' (keys: name, kind, url, "
                                                "min_severity, min_level, timeout, headers)",
                                                key));
      }
      if (key == "headers") {
        if (!value.IsMap()) return problem(value, "headers: not a mapping of name to value");
        for (const auto& header : value)
          hook.headers.set(header.first.Scalar(), header.second.Scalar());
        continue;
      }
      if (!value.IsScalar()) return problem(value, fmt::format("{}: not a single value", key));
      const auto text = value.Scalar();
      if (key == "name") {
        hook.name = text;
      } else if (key == "url") {
        hook.url = text;
      } else if (key == "kind") {
        if (text != "json" && text != "slack")
          return problem(value, fmt::format("kind: '{}' is not json or slack", text));
        hook.kind = text == "slack" ? PayloadKind::kSlack : PayloadKind::kJson;
      } else if (key == "min_severity") {
        auto severity = parseSeverity(text);
        if (!severity) {
          return problem(value,
                         fmt::format("min_severity: '{}' is not INFO, WARNING or CRITICAL", text));
        }
        hook.min_severity = *severity;
      } else if (key == "min_level") {
        const int level = std::atoi(text.c_str());
        if (level < kMinLevel || level > kMaxLevel || std::to_string(level) != text)
          return problem(value, fmt::format("min_level: '{}' is not 1, 2, 3 or 4", text));
        hook.min_level = level;
      } else if (key == "timeout") {
        auto timeout = duration(value, key);
        if (!timeout) return timeout.error();
        hook.timeout = *timeout;
      }
    }
    if (hook.url.empty())
      return problem(item, fmt::format("webhook {}: url is required", hook.name));
    return hook;
  }

  core::Status escalation(const YAML::Node& node, EscalationPolicy& policy) const {
    if (!node.IsMap()) return problem(node, "escalation: not a mapping of severity to times");
    for (const auto& entry : node) {
      auto severity = parseSeverity(entry.first.Scalar());
      if (!severity) {
        return problem(entry.first, fmt::format("escalation: '{}' is not INFO, WARNING or "
                                                "CRITICAL",
                                                entry.first.Scalar()));
      }
      const auto key = fmt::format("escalation.{}", severityName(*severity));
      if (!entry.second.IsSequence() || entry.second.size() > 3) {
        return problem(entry.second, fmt::format("{}: a list of at most three times (when "
                                                 "levels 2, 3, 4 are due), e.g. [30m, 1h, 2h]",
                                                 key));
      }
      std::vector<std::chrono::seconds> steps;
      for (const auto& step : entry.second) {
        auto after = duration(step, key);
        if (!after) return after.error();
        const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(*after);
        if (!steps.empty() && seconds <= steps.back())
          return problem(step, fmt::format("{}: times must grow", key));
        steps.push_back(seconds);
      }
      policy.due_after[static_cast<std::size_t>(*severity)] = std::move(steps);
    }
    return core::Ok{};
  }

  core::Status root(const YAML::Node& root, NotifyConfig& config) const {
    if (root.IsNull()) return core::Ok{};
    if (!root.IsMap()) return problem(root, "not a mapping (keys: webhooks, escalation)");
    for (const auto& entry : root) {
      const auto key = entry.first.Scalar();
      if (key == "webhooks") {
        if (!entry.second.IsSequence()) return problem(entry.second, "webhooks: not a list");
        for (std::size_t i = 0; i < entry.second.size(); ++i) {
          auto hook = webhook(entry.second[i], i);
          if (!hook) return hook.error();
          config.webhooks.push_back(std::move(*hook));
        }
      } else if (key == "escalation") {
        if (auto read = escalation(entry.second, config.escalation); !read) return read;
      } else {
        return problem(entry.first,
                       fmt::format("unknown key '{}' (keys: webhooks, escalation)", key));
      }
    }
    return core::Ok{};
  }

private:
  std::string file_;
};

// A webhook URL may carry its secret in the path (Slack's do): messages show scheme and host.
std::string withoutSecrets(std::string message, const std::string& url) {
  const auto scheme = url.find("://");
  const auto path = scheme == std::string::npos ? std::string::npos : url.find('/', scheme + 3);
  const std::string shown = path == std::string::npos ? url : url.substr(0, path) + "/...";
  for (auto at = message.find(url); !url.empty() && at != std::string::npos;
       at = message.find(url, at + shown.size()))
    message.replace(at, url.size(), shown);
  return message;
}

std::string_view kindName(PayloadKind kind) {
  return kind == PayloadKind::kSlack ? "slack" : "json";
}

// Slack's attachment colour bar: red, amber, blue.
const char* colourOf(Severity severity) {
  switch (severity) {
  case Severity::kCritical:
    return "#d00000";
  case Severity::kWarning:
    return "#f2a100";
  case Severity::kInfo:
    return "#2f6fdb";
  }
  return "#808080";
}

// Slack's text objects must not be empty and are limited in length.
std::string slackText(std::string_view text, std::size_t limit) {
  if (text.empty()) return "-";
  if (text.size() <= limit) return std::string(text);
  return std::string(text.substr(0, limit - 3)) + "...";
}

} // namespace

std::string systemEnvironment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

core::Result<NotifyConfig> loadNotifyConfig(const std::filesystem::path& file, bool required,
                                            const Environment& environment) {
  NotifyConfig config;
  std::error_code ec;
  if (std::filesystem::exists(file, ec)) {
    const FileReader reader(file.string());
    try {
      if (auto read = reader.root(YAML::LoadFile(file.string()), config); !read)
        return read.error();
    } catch (const YAML::Exception& e) {
      return core::Error{core::Errc::kInvalidParams,
                         fmt::format("{}:{}: {}", file.string(), e.mark.line + 1, e.msg)};
    }
    config.source = file.string();
  } else if (required) {
    return core::Error{core::Errc::kNotFound,
                       fmt::format("no notifications file at {}", file.string())};
  }
  for (const auto& [variable, kind] : {std::pair{"FORGE_WEBHOOK_URL", PayloadKind::kJson},
                                       std::pair{"FORGE_SLACK_WEBHOOK_URL", PayloadKind::kSlack}}) {
    const auto url = environment(variable);
    if (url.empty()) continue;
    Webhook hook;
    hook.name = variable;
    hook.kind = kind;
    hook.url = url;
    config.webhooks.push_back(std::move(hook));
    config.source += config.source.empty() ? "environment" : " and environment";
  }
  if (config.source.empty()) config.source = "defaults";
  return config;
}

bool wants(const Webhook& webhook, const Notice& notice) {
  return notice.severity >= webhook.min_severity && notice.level >= webhook.min_level;
}

json::object jsonPayload(const Notice& notice) {
  json::object fields;
  for (const auto& [name, value] : notice.fields)
    fields[name] = value;
  json::object payload{{"source", "forge"},
                       {"event", notice.event},
                       {"severity", severityName(notice.severity)},
                       {"level", notice.level},
                       {"contact", levelContact(notice.level)},
                       {"title", notice.title},
                       {"text", notice.text},
                       {"fields", std::move(fields)},
                       {"sent_at", formatUtcSeconds(WallClock::now())}};
  if (!notice.subject_name.empty()) payload[notice.subject_name] = notice.subject;
  return payload;
}

json::object slackPayload(const Notice& notice) {
  json::array fields;
  for (const auto& [name, value] : notice.fields) {
    if (fields.size() == 10) break; // Slack's limit for a section
    fields.push_back(json::object{{"type", "mrkdwn"},
                                  {"text", slackText(fmt::format("*{}*\n{}", name, value), 2000)}});
  }
  json::array blocks{json::object{{"type", "header"},
                                  {"text", json::object{{"type", "plain_text"},
                                                        {"text", slackText(notice.title, 150)}}}},
                     json::object{{"type", "section"},
                                  {"text", json::object{{"type", "mrkdwn"},
                                                        {"text", slackText(notice.text, 3000)}}}}};
  if (!fields.empty()) blocks.push_back(json::object{{"type", "section"}, {"fields", fields}});
  blocks.push_back(json::object{
      {"type", "context"},
      {"elements", json::array{json::object{
                       {"type", "mrkdwn"},
                       {"text", fmt::format("forge · {} · level {} ({})", notice.event,
                                            notice.level, levelContact(notice.level))}}}}});
  return json::object{{"text", fmt::format("[{}] {}", severityName(notice.severity), notice.title)},
                      {"attachments", json::array{json::object{{"color", colourOf(notice.severity)},
                                                               {"fallback", notice.text},
                                                               {"blocks", std::move(blocks)}}}}};
}

std::vector<Delivery> deliver(const std::vector<Webhook>& webhooks, const Notice& notice) {
  std::vector<Delivery> out;
  for (const auto& hook : webhooks) {
    if (!wants(hook, notice)) continue;
    net::HttpRequestSpec spec;
    spec.method = net::Method::kPost;
    spec.url = hook.url;
    spec.headers = hook.headers;
    spec.headers.set("Content-Type", "application/json");
    spec.body = json::serialize(hook.kind == PayloadKind::kSlack ? slackPayload(notice)
                                                                 : jsonPayload(notice));
    spec.timeout = hook.timeout;
    spec.max_body_bytes = 64 * 1024; // the answer is not read, only its status
    const auto started = std::chrono::steady_clock::now();
    auto answer = net::fetch(spec);
    Delivery delivery{.webhook = hook.name};
    delivery.took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    if (!answer) {
      delivery.error = withoutSecrets(answer.error().message, hook.url);
    } else {
      delivery.status = answer->status;
      delivery.ok = answer->status >= 200 && answer->status < 300;
      if (!delivery.ok) {
        delivery.error = fmt::format("{} webhook answered {}: {}", kindName(hook.kind),
                                     answer->status, answer->body.substr(0, 200));
      }
    }
    out.push_back(std::move(delivery));
  }
  return out;
}

} // namespace forge::ops
