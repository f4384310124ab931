// Notifications: the configuration file and environment, who wants what, the JSON and Slack
// payloads, and delivery to a real HTTP receiver on 127.0.0.1 (also when it fails).
#include "ops/notify.h"

#include "support/webhook_receiver.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace forge::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using ops::PayloadKind;
using ops::Severity;

class NotifyConfigTest : public ::testing::Test {
protected:
  void SetUp() override {
    file_ = std::filesystem::temp_directory_path() /
            ("forge-notify-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".yml");
  }
  void TearDown() override { std::filesystem::remove(file_); }

  core::Result<ops::NotifyConfig> load(const std::string& yaml,
                                       std::map<std::string, std::string> env = {}) {
    std::ofstream(file_) << yaml;
    return ops::loadNotifyConfig(file_, true, [env](const char* name) {
      auto found = env.find(name);
      return found == env.end() ? std::string() : found->second;
    });
  }

  std::filesystem::path file_;
};

TEST_F(NotifyConfigTest, ReadsWebhooksAndEscalationTimes) {
  auto config = load("webhooks:\n"
                     "  - name: oncall\n"
                     "    kind: slack\n"
                     "    url: http://127.0.0.1:1/slack\n"
                     "    min_severity: warning\n"
                     "    min_level: 2\n"
                     "    timeout: 250ms\n"
                     "    headers: {X-Token: abc}\n"
                     "  - url: http://127.0.0.1:1/json\n"
                     "escalation:\n"
                     "  CRITICAL: [1s, 2s, 3s]\n"
                     "  warning: [10m]\n",
                     {{"FORGE_SLACK_WEBHOOK_URL", "http://127.0.0.1:2/env"}});
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_EQ(config->webhooks.size(), 3u);
  const auto& oncall = config->webhooks[0];
  EXPECT_EQ(oncall.name, "oncall");
  EXPECT_EQ(oncall.kind, PayloadKind::kSlack);
  EXPECT_EQ(oncall.min_severity, Severity::kWarning);
  EXPECT_EQ(oncall.min_level, 2);
  EXPECT_EQ(oncall.timeout, 250ms);
  EXPECT_EQ(oncall.headers.get("X-Token"), "abc");
  EXPECT_EQ(config->webhooks[1].name, "webhook-2");
  EXPECT_EQ(config->webhooks[1].kind, PayloadKind::kJson);
  EXPECT_EQ(config->webhooks[2].name, "FORGE_SLACK_WEBHOOK_URL");
  EXPECT_EQ(config->webhooks[2].kind, PayloadKind::kSlack);
  EXPECT_EQ(config->escalation.stepsFor(Severity::kCritical),
            (std::vector<std::chrono::seconds>{1s, 2s, 3s}));
  EXPECT_EQ(config->escalation.stepsFor(Severity::kWarning),
            (std::vector<std::chrono::seconds>{10min}));
  EXPECT_TRUE(config->escalation.stepsFor(Severity::kInfo).empty()); // the guide's, untouched
}

TEST_F(NotifyConfigTest, MistakesNameTheLine) {
  auto check = [&](const std::string& yaml, const std::string& wanted) {
    auto config = load(yaml);
    ASSERT_FALSE(config) << yaml;
    EXPECT_EQ(config.error().code, core::Errc::kInvalidParams);
    EXPECT_NE(config.error().message.find(wanted), std::string::npos) << config.error().message;
  };
  check("webhooks:\n  - url: http://x\n    min_severity: LOUD\n",
        ":3: min_severity: 'LOUD' is not INFO, WARNING or CRITICAL");
  check("webhooks:\n  - url: http://x\n    kind: teams\n", ":3: kind: 'teams' is not json");
  check("webhooks:\n  - name: a\n", ":2: webhook a: url is required");
  check("webhooks:\n  - url: http://x\n    min_sev: INFO\n", ":3: unknown key 'min_sev'");
  check("webhooks:\n  - url: http://x\n    timeout: soon\n", ":3: timeout:");
  check("escalation:\n  CRITICAL: [1h, 30m]\n", "times must grow");
  check("escalation:\n  MAJOR: [1h]\n", "'MAJOR' is not INFO");
  check("hooks: []\n", ":1: unknown key 'hooks'");
  check("webhooks: [\n", "notify-");
}

TEST_F(NotifyConfigTest, AMissingFileIsFineUnlessAskedFor) {
  auto defaults = ops::loadNotifyConfig(file_, false, [](const char*) { return std::string(); });
  ASSERT_TRUE(defaults);
  EXPECT_TRUE(defaults->webhooks.empty());
  EXPECT_EQ(defaults->escalation.stepsFor(Severity::kCritical).size(), 3u);
  auto required = ops::loadNotifyConfig(file_, true, [](const char*) { return std::string(); });
  ASSERT_FALSE(required);
  EXPECT_EQ(required.error().code, core::Errc::kNotFound);
}

ops::Notice notice(Severity severity = Severity::kCritical, int level = 2) {
  return ops::Notice{.event = "incident.escalated",
                     .severity = severity,
                     .level = level,
                     .title = "Incident 7 escalated",
                     .text = "unresolved for 31 min",
                     .fields = {{"Incident", "7"}, {"From level", "1"}},
                     .subject_name = "incident",
                     .subject = json::object{{"id", 7}, {"title", "gateway down"}}};
}

TEST(NotifyTest, WebhooksGetOnlyWhatTheyAskFor) {
  ops::Webhook managers{.name = "managers", .min_severity = Severity::kWarning, .min_level = 3};
  EXPECT_FALSE(ops::wants(managers, notice(Severity::kCritical, 2)));
  EXPECT_TRUE(ops::wants(managers, notice(Severity::kCritical, 3)));
  EXPECT_FALSE(ops::wants(managers, notice(Severity::kInfo, 4)));
  EXPECT_TRUE(ops::wants(ops::Webhook{}, notice(Severity::kInfo, 1)));
}

TEST(NotifyTest, TheJsonPayloadCarriesTheEventAndTheIncident) {
  const auto payload = ops::jsonPayload(notice());
  EXPECT_EQ(payload.at("source"), "forge");
  EXPECT_EQ(payload.at("event"), "incident.escalated");
  EXPECT_EQ(payload.at("severity"), "CRITICAL");
  EXPECT_EQ(payload.at("level"), json::value(2));
  EXPECT_EQ(payload.at("contact"), "senior engineer");
  EXPECT_EQ(payload.at("title"), "Incident 7 escalated");
  EXPECT_EQ(payload.at("text"), "unresolved for 31 min");
  EXPECT_EQ(payload.at("fields").at("From level"), "1");
  EXPECT_EQ(payload.at("incident").at("id"), json::value(7));
  EXPECT_TRUE(ops::parseSeverity("CRITICAL"));
  EXPECT_EQ(payload.at("sent_at").as_string().size(), 20u); // 2026-12-04T17:03:26Z
}

TEST(NotifyTest, TheSlackPayloadIsAnIncomingWebhookMessage) {
  const auto payload = ops::slackPayload(notice());
  EXPECT_EQ(payload.at("text"), "[CRITICAL] Incident 7 escalated");
  const auto& attachment = payload.at("attachments").as_array().at(0);
  EXPECT_EQ(attachment.at("color"), "#d00000");
  const auto& blocks = attachment.at("blocks").as_array();
  ASSERT_EQ(blocks.size(), 4u);
  EXPECT_EQ(blocks[0].at("type"), "header");
  EXPECT_EQ(blocks[0].at("text").at("type"), "plain_text");
  EXPECT_EQ(blocks[0].at("text").at("text"), "Incident 7 escalated");
  EXPECT_EQ(blocks[1].at("text").at("text"), "unresolved for 31 min");
  EXPECT_EQ(blocks[2].at("fields").as_array().at(1).at("text"), "*From level*\n1");
  EXPECT_NE(blocks[3]
                .at("elements")
                .as_array()
                .at(0)
                .at("text")
                .as_string()
                .find("level 2 (senior engineer)"),
            std::string::npos);
  // Slack refuses empty texts and over-long headers.
  auto empty = notice();
  empty.text.clear();
  empty.title = std::string(400, 'x');
  const auto trimmed = ops::slackPayload(empty);
  const auto& b = trimmed.at("attachments").as_array()[0].at("blocks").as_array();
  EXPECT_EQ(b[0].at("text").at("text").as_string().size(), 150u);
  EXPECT_EQ(b[1].at("text").at("text"), "-");
}

TEST(NotifyTest, DeliversEachFormatToARealReceiver) {
  WebhookReceiver receiver;
  const std::vector<ops::Webhook> hooks{
      {.name = "generic", .kind = PayloadKind::kJson, .url = receiver.url("/generic")},
      {.name = "chat", .kind = PayloadKind::kSlack, .url = receiver.url("/slack")},
      {.name = "managers", .url = receiver.url("/managers"), .min_level = 3}};
  const auto deliveries = ops::deliver(hooks, notice());
  ASSERT_EQ(deliveries.size(), 2u); // managers wait for level 3
  EXPECT_TRUE(deliveries[0].ok) << deliveries[0].error;
  EXPECT_EQ(deliveries[0].status, 200);
  EXPECT_EQ(deliveries[1].webhook, "chat");
  ASSERT_TRUE(receiver.waitFor(2));
  const auto got = receiver.received();
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].target, "/generic");
  EXPECT_EQ(got[0].headers.at("content-type"), "application/json");
  EXPECT_EQ(json::parse(got[0].body).at("incident").at("title"), "gateway down");
  EXPECT_EQ(got[1].target, "/slack");
  EXPECT_TRUE(json::parse(got[1].body).as_object().contains("attachments"));
}

TEST(NotifyTest, FailuresAreValuesAndHideTheUrlsSecret) {
  WebhookReceiver refusing(500);
  const std::uint16_t closed_port = [] {
    WebhookReceiver gone;
    return gone.port();
  }();
  const std::vector<ops::Webhook> hooks{
      {.name = "refusing", .url = refusing.url()},
      {.name = "down",
       .kind = PayloadKind::kSlack,
       .url = "http://127.0.0.1:" + std::to_string(closed_port) + "/services/T0/B0/SECRET",
       .timeout = 2s}};
  const auto deliveries = ops::deliver(hooks, notice());
  ASSERT_EQ(deliveries.size(), 2u);
  EXPECT_FALSE(deliveries[0].ok);
  EXPECT_EQ(deliveries[0].status, 500);
  EXPECT_NE(deliveries[0].error.find("answered 500"), std::string::npos) << deliveries[0].error;
  EXPECT_FALSE(deliveries[1].ok);
  EXPECT_EQ(deliveries[1].status, 0);
  EXPECT_FALSE(deliveries[1].error.empty());
  EXPECT_EQ(deliveries[1].error.find("SECRET"), std::string::npos) << deliveries[1].error;
}

} // namespace
} // namespace forge::test
