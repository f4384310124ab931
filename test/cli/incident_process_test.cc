// `forge incident` on a live stack: a real gateway (and a real manager running one), a real
// HTTP receiver on 127.0.0.1 for the webhooks, the timeline read back from the database.
#include "support/api_client.h"
#include "support/child_process.h"
#include "support/webhook_receiver.h"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>

namespace forge::test {
namespace {

using namespace std::chrono_literals;

class IncidentTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = freshTestDir("forge-incident");
    data_ = (dir_ / "data").string();
  }

  void TearDown() override {
    for (auto* child : {manager_.get(), gateway_.get()}) {
      if (!child) continue;
      child->signal(SIGTERM);
      EXPECT_TRUE(child->wait(30s));
    }
    manager_.reset();
    gateway_.reset();
    std::filesystem::remove_all(dir_);
  }

  void startGateway() {
    gateway_port_ = freePort();
    gateway_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{FORGE_BINARY, "gateway", "--server-port",
                                 std::to_string(gateway_port_), "--data-dir", data_},
        std::vector<std::string>{"AUTH_REQUIRED=false"}, dir_.string());
    ASSERT_TRUE(gateway_->waitForLine("listening on", 15s)) << gateway_->err();
  }

  // A manager running a gateway (kind gateway, its log captured) and a plain worker process,
  // sharing the data directory (secrets, database) as `forge up` does, authentication on: the
  // incident commands sign their own admin token with the data directory's key.
  void startManagerStack() {
    gateway_port_ = freePort();
    manager_port_ = freePort();
    std::ofstream(dir_ / "services.yml")
        << fmt::format("manager:\n"
                       "  port: {0}\n"
                       "services:\n"
                       "  - name: gateway\n"
                       "    kind: gateway\n"
                       "    command: [\"{1}\", gateway, --server-port, \"{{port}}\", --data-dir,\n"
                       "              \"{{data_dir}}\"]\n"
                       "    port: {2}\n"
                       "    health: {{type: http, path: /ready, interval: 200ms}}\n"
                       "  - name: worker\n"
                       "    command: [/bin/sh, -c, \"echo worker up; sleep 300\"]\n"
                       "    stop_grace: 1s\n",
                       manager_port_, FORGE_BINARY, gateway_port_);
    manager_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{FORGE_BINARY, "manager", "--config",
                                 (dir_ / "services.yml").string(), "--data-dir", data_},
        std::vector<std::string>{"AUTH_REQUIRED=true"}, dir_.string());
    ASSERT_TRUE(manager_->waitForLine("manager listening on", 15s)) << manager_->err();
    auto token = runCommand(
        {FORGE_BINARY, "token", "create", "--user", "admin@example.com", "--data-dir", data_}, {},
        dir_.string());
    ASSERT_EQ(token.exit_code, 0) << token.err;
    auth_ = {{"Authorization", "Bearer " + token.out.substr(0, token.out.find('\n'))}};
    ASSERT_EQ(request(manager_port_, "GET", "/services").status, 401);
    ASSERT_TRUE(eventually([&] { return state("gateway") == "running"; }, 30s))
        << request(manager_port_, "GET", "/services", {}, auth_).body;
    ASSERT_TRUE(eventually([&] { return state("worker") == "running"; }, 15s));
  }

  std::string state(const std::string& service) {
    return str(parse(request(manager_port_, "GET", "/services/" + service, {}, auth_).body),
               "state");
  }

  // Webhooks to `receiver`: json, slack, and one for managers from level 3; and escalation
  // times, if given.
  void writeNotifications(const WebhookReceiver& receiver, const std::string& escalation = "") {
    std::filesystem::create_directories(data_);
    std::ofstream(std::filesystem::path(data_) / "notifications.yml") << fmt::format(
        "webhooks:\n"
        "  - name: generic\n"
        "    url: {}\n"
        "  - name: chat\n"
        "    kind: slack\n"
        "    url: {}\n"
        "    min_severity: WARNING\n"
        "  - name: managers\n"
        "    url: {}\n"
        "    min_level: 3\n"
        "    timeout: 2s\n"
        "{}",
        receiver.url("/generic"), receiver.url("/slack"), receiver.url("/managers"), escalation);
  }

  CommandResult forge(std::vector<std::string> args, std::vector<std::string> env = {},
                      std::chrono::milliseconds timeout = 60s) {
    args.insert(args.begin(), {FORGE_BINARY, "incident"});
    args.insert(args.end(), {"--data-dir", data_});
    if (std::find(args.begin(), args.end(), "--gateway-url") == args.end() && gateway_port_ &&
        (args[2] == "assess" || args[2] == "recover")) {
      args.insert(args.end(),
                  {"--gateway-url", fmt::format("http://127.0.0.1:{}", gateway_port_),
                   "--manager-url",
                   fmt::format("http://127.0.0.1:{}", manager_port_ ? manager_port_ : freePort())});
    }
    return runCommand(args, env, dir_.string(), timeout);
  }

  json::value show(const std::string& id) {
    auto shown = forge({"show", id, "--json"});
    EXPECT_EQ(shown.exit_code, 0) << shown.err;
    return parse(shown.out);
  }

  static std::vector<std::string> kinds(const json::value& incident) {
    std::vector<std::string> out;
    for (const auto& event : incident.at("timeline").as_array())
      out.push_back(str(event, "kind"));
    return out;
  }

  // The timeline's events of `kind`.
  static std::vector<json::value> events(const json::value& incident, const std::string& kind) {
    std::vector<json::value> out;
    for (const auto& event : incident.at("timeline").as_array())
      if (str(event, "kind") == kind) out.push_back(event);
    return out;
  }

  // The requests `receiver` got on `path`, parsed.
  static std::vector<json::value> payloads(const WebhookReceiver& receiver,
                                           const std::string& path) {
    std::vector<json::value> out;
    for (const auto& request : receiver.received())
      if (request.target == path) out.push_back(parse(request.body));
    return out;
  }

  std::filesystem::path dir_;
  std::string data_;
  std::uint16_t gateway_port_ = 0;
  std::uint16_t manager_port_ = 0;
  std::unique_ptr<ChildProcess> gateway_;
  std::unique_ptr<ChildProcess> manager_;
  std::map<std::string, std::string> auth_; // for the test's own calls to the manager
};

TEST_F(IncidentTest, AnIncidentsLifeIsRecordedAndNotifiedToJsonAndSlackWebhooks) {
  startGateway(); // creates the stack's database
  WebhookReceiver receiver;
  writeNotifications(receiver);

  auto opened = forge({"open", "--severity", "critical", "--title", "gateway slow", "--summary",
                       "p95 above 5 s", "--by", "ada"});
  ASSERT_EQ(opened.exit_code, 0) << opened.err;
  EXPECT_EQ(opened.out, "1\n");
  // 30 min, or 29 when the clock's second turned while opening.
  EXPECT_TRUE(opened.err.find("level 2 (senior engineer) in 30 min") != std::string::npos ||
              opened.err.find("level 2 (senior engineer) in 29 min") != std::string::npos)
      << opened.err;
  ASSERT_TRUE(receiver.waitFor(2));
  const auto generic = payloads(receiver, "/generic");
  ASSERT_EQ(generic.size(), 1u);
  EXPECT_EQ(str(generic[0], "event"), "incident.opened");
  EXPECT_EQ(str(generic[0], "severity"), "CRITICAL");
  EXPECT_EQ(generic[0].at("level"), json::value(1));
  EXPECT_EQ(str(generic[0].at("incident"), "title"), "gateway slow");
  EXPECT_EQ(str(generic[0].at("incident"), "opened_by"), "ada");
  EXPECT_EQ(generic[0].at("incident").at("id"), json::value(1));
  const auto slack = payloads(receiver, "/slack");
  ASSERT_EQ(slack.size(), 1u);
  EXPECT_EQ(str(slack[0], "text"), "[CRITICAL] Incident 1 opened: gateway slow");
  const auto& blocks = slack[0].at("attachments").as_array()[0].at("blocks").as_array();
  EXPECT_EQ(str(blocks[0], "type"), "header");
  EXPECT_NE(str(blocks[1].at("text"), "text").find("p95 above 5 s"), std::string::npos);
  EXPECT_TRUE(payloads(receiver, "/managers").empty()); // level 3 and up only

  EXPECT_EQ(forge({"note", "1", "restarted nothing yet", "--by", "bob"}).exit_code, 0);
  auto escalated = forge({"escalate", "1", "--reason", "p95 still 6 s", "--by", "bob"});
  ASSERT_EQ(escalated.exit_code, 0) << escalated.err;
  EXPECT_NE(escalated.out.find("level 2 (senior engineer)"), std::string::npos);
  ASSERT_TRUE(receiver.waitFor(4));
  EXPECT_EQ(str(payloads(receiver, "/generic").back(), "event"), "incident.escalated");
  EXPECT_NE(str(payloads(receiver, "/generic").back(), "text").find("p95 still 6 s"),
            std::string::npos);
  EXPECT_TRUE(payloads(receiver, "/managers").empty());
  ASSERT_EQ(forge({"escalate", "1", "--level", "3"}).exit_code, 0);
  ASSERT_TRUE(receiver.waitFor(7));
  ASSERT_EQ(payloads(receiver, "/managers").size(), 1u);
  EXPECT_EQ(str(payloads(receiver, "/managers")[0], "contact"), "engineering manager");

  auto closed = forge({"close", "1", "--resolution", "a slow upstream; its limit lowered"});
  ASSERT_EQ(closed.exit_code, 0) << closed.err;
  ASSERT_TRUE(receiver.waitFor(10));
  EXPECT_EQ(str(payloads(receiver, "/slack").back(), "text"),
            "[CRITICAL] Incident 1 closed: gateway slow");

  const auto incident = show("1");
  EXPECT_EQ(str(incident, "state"), "closed");
  EXPECT_EQ(incident.at("level"), json::value(3));
  EXPECT_EQ(str(incident, "resolution"), "a slow upstream; its limit lowered");
  EXPECT_EQ(kinds(incident),
            (std::vector<std::string>{"opened", "notified", "notified", "note", "escalated",
                                      "notified", "notified", "escalated", "notified", "notified",
                                      "notified", "closed", "notified", "notified", "notified"}));
  EXPECT_EQ(str(events(incident, "note")[0], "actor"), "bob");
  EXPECT_EQ(str(events(incident, "notified")[0].at("data"), "webhook"), "generic");
  auto human = forge({"show", "1"});
  EXPECT_NE(human.out.find("severity CRITICAL, closed, level 3 (engineering manager)"),
            std::string::npos)
      << human.out;

  // Closed: gone from the default list, there with --all, and not closed twice.
  EXPECT_EQ(parse(forge({"list", "--json"}).out), json::array());
  const auto all = parse(forge({"list", "--all", "--json"}).out);
  ASSERT_EQ(all.as_array().size(), 1u);
  EXPECT_EQ(str(all.as_array()[0], "state"), "closed");
  auto again = forge({"close", "1", "--resolution", "x"});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("forge incident close: incident 1 is closed"), std::string::npos)
      << again.err;
  auto unknown = forge({"show", "9"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("no incident 9"), std::string::npos);
  auto bad = forge({"open", "--severity", "MAJOR", "--title", "x"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("not CRITICAL, WARNING or INFO"), std::string::npos);
}

TEST_F(IncidentTest, AFailingWebhookIsReportedAndRecordedButNeverFatal) {
  startGateway();
  WebhookReceiver refusing(503);
  const auto down = [] {
    WebhookReceiver gone;
    return gone.url("/hooks/T0/B0/SECRET");
  }();
  auto opened = forge({"open", "-s", "WARNING", "-t", "disk 85 %"},
                      {"FORGE_WEBHOOK_URL=" + refusing.url(), "FORGE_SLACK_WEBHOOK_URL=" + down});
  ASSERT_EQ(opened.exit_code, 0) << opened.err;
  EXPECT_NE(opened.err.find("webhook FORGE_WEBHOOK_URL failed: json webhook answered 503"),
            std::string::npos)
      << opened.err;
  EXPECT_NE(opened.err.find("webhook FORGE_SLACK_WEBHOOK_URL failed"), std::string::npos);
  EXPECT_EQ(opened.err.find("SECRET"), std::string::npos) << opened.err;
  EXPECT_EQ(refusing.received().size(), 1u);
  const auto incident = show("1");
  const auto failed = events(incident, "notify-failed");
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed[0].at("data").at("status"), json::value(503));
  EXPECT_EQ(str(failed[1].at("data"), "webhook"), "FORGE_SLACK_WEBHOOK_URL");

  // A broken notifications file does not stop the incident from being recorded either.
  std::ofstream(std::filesystem::path(data_) / "notifications.yml") << "webhooks:\n  - kind: x\n";
  auto second = forge({"open", "-s", "INFO", "-t", "maintenance"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.out, "2\n");
  EXPECT_NE(second.err.find("notifications not sent"), std::string::npos) << second.err;
  EXPECT_EQ(events(show("2"), "notify-failed").size(), 1u);
}

TEST_F(IncidentTest, OperatorsOpeningAtOnceGetDistinctIds) {
  startGateway();
  std::vector<std::future<CommandResult>> opens;
  for (int i = 0; i < 6; ++i) {
    opens.push_back(std::async(std::launch::async, [this, i] {
      return forge({"open", "-s", "WARNING", "-t", fmt::format("report {}", i)});
    }));
  }
  std::set<std::string> ids;
  for (auto& open : opens) {
    const auto result = open.get();
    EXPECT_EQ(result.exit_code, 0) << result.err;
    ids.insert(result.out);
  }
  EXPECT_EQ(ids, (std::set<std::string>{"1\n", "2\n", "3\n", "4\n", "5\n", "6\n"}));
  for (int id = 1; id <= 6; ++id)
    EXPECT_EQ(kinds(show(std::to_string(id))), std::vector<std::string>{"opened"});
}

TEST_F(IncidentTest, AssessAttachesTheLiveGatewaysDiagnostics) {
  startGateway();
  ASSERT_EQ(forge({"open", "-s", "WARNING", "-t", "users report errors"}).exit_code, 0);
  auto assessed = forge({"assess", "1", "--json", "--sample", "0.2"});
  // No manager runs this stack: that is a warning; the gateway itself is fine. (A nearly full
  // disk on the test machine would make it critical: the exit code follows the worst check.)
  const auto result = parse(assessed.out);
  const bool critical = str(result, "status") == "critical";
  EXPECT_EQ(assessed.exit_code, critical ? 3 : 4) << assessed.out << assessed.err;
  EXPECT_EQ(str(result, "suggested_severity"), critical ? "CRITICAL" : "WARNING");
  if (!critical) {
    EXPECT_EQ(str(result, "status"), "warning");
  }
  EXPECT_EQ(str(findBy(result.at("checks"), "name", "gateway"), "status"), "ok");
  EXPECT_NE(str(findBy(result.at("checks"), "name", "gateway version"), "detail").find("sqlite"),
            std::string::npos)
      << json::serialize(result);
  EXPECT_EQ(str(findBy(result.at("checks"), "name", "manager"), "status"), "warning");
  EXPECT_FALSE(findBy(result.at("checks"), "name", "disk " + data_).is_null());

  const auto incident = show("1");
  const auto assessments = events(incident, "assessed");
  ASSERT_EQ(assessments.size(), 1u);
  const auto& data = assessments[0].at("data");
  const auto& diagnostics = data.at("diagnostics");
  EXPECT_EQ(diagnostics.at("gateway_health").at("status"), json::value(200));
  EXPECT_EQ(str(diagnostics.at("gateway_health").at("body"), "status"), "ok");
  EXPECT_EQ(diagnostics.at("gateway_ready").at("status"), json::value(200));
  EXPECT_EQ(str(diagnostics.at("gateway_version").at("body").at("database"), "backend"), "sqlite");
  EXPECT_EQ(diagnostics.at("manager_services").at("reached"), json::value(false));
  EXPECT_GT(diagnostics.at("disk").at("total_bytes").to_number<double>(), 0.0);
  EXPECT_EQ(data.at("checks").as_array().size(), result.at("checks").as_array().size());

  // The limits are the monitor's: monitor.disk_* (here from the environment and a flag) grade
  // the same disk critical.
  auto strict = forge({"assess", "--json", "--sample", "0.1", "--monitor-disk-critical", "1"},
                      {"FORGE_MONITOR_DISK_WARNING=1"});
  EXPECT_EQ(strict.exit_code, 3) << strict.out << strict.err;
  EXPECT_EQ(str(findBy(parse(strict.out).at("checks"), "name", "disk " + data_), "status"),
            "critical")
      << strict.out;

  // Without an id: only a suggestion, nothing recorded. With the gateway gone: CRITICAL.
  gateway_->signal(SIGTERM);
  ASSERT_TRUE(gateway_->wait(20s));
  auto down = forge({"assess", "--sample", "0.1"});
  EXPECT_EQ(down.exit_code, 3) << down.out << down.err;
  EXPECT_NE(down.out.find("suggested severity: CRITICAL"), std::string::npos) << down.out;
  EXPECT_NE(down.out.find("forge incident open --severity CRITICAL"), std::string::npos);
  EXPECT_EQ(events(show("1"), "assessed").size(), 1u);
  gateway_.reset();
}

TEST_F(IncidentTest, RecoverRestartsWhatTheManagerRunsThatIsDownAndMitigates) {
  startManagerStack();
  WebhookReceiver receiver;
  writeNotifications(receiver);
  ASSERT_EQ(forge({"open", "-s", "CRITICAL", "-t", "worker and gateway down"}).exit_code, 0);
  ASSERT_EQ(request(manager_port_, "POST", "/services/worker/stop", "{}", auth_, 20s).status, 200);
  ASSERT_EQ(request(manager_port_, "POST", "/services/gateway/stop", "{}", auth_, 20s).status, 200);
  ASSERT_EQ(state("worker"), "stopped");

  auto assessed = forge({"assess", "1", "--json", "--sample", "0.2"});
  EXPECT_EQ(assessed.exit_code, 3) << assessed.out << assessed.err;
  const auto result = parse(assessed.out);
  EXPECT_EQ(str(findBy(result.at("checks"), "name", "service worker"), "status"), "critical");
  EXPECT_EQ(str(findBy(result.at("checks"), "name", "gateway"), "status"), "critical");
  EXPECT_EQ(str(findBy(result.at("checks"), "name", "manager"), "status"), "ok")
      << json::serialize(result);
  EXPECT_FALSE(findBy(result.at("checks"), "name", "gateway log").is_null());
  EXPECT_FALSE(findBy(result.at("checks"), "name", "memory").is_null());
  EXPECT_EQ(result.at("escalate_now"), json::value(true));

  auto plan = forge({"recover", "1", "--dry-run", "--json"});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  const auto steps = parse(plan.out).at("plan");
  EXPECT_EQ(str(findBy(steps, "service", "worker"), "action"), "start");
  EXPECT_EQ(str(findBy(steps, "service", "gateway"), "action"), "start");
  EXPECT_EQ(state("worker"), "stopped"); // a dry run changes nothing
  EXPECT_TRUE(events(show("1"), "recovery").empty());

  auto recovered = forge({"recover", "1", "--wait", "30"}, {}, 90s);
  ASSERT_EQ(recovered.exit_code, 0) << recovered.out << recovered.err;
  EXPECT_NE(recovered.out.find("incident 1 mitigated"), std::string::npos) << recovered.out;
  EXPECT_EQ(state("worker"), "running");
  EXPECT_EQ(state("gateway"), "running");
  EXPECT_EQ(request(gateway_port_, "GET", "/ready").status, 200);
  // Authenticated with the token the command signed: the gateway's /version answered.
  auto after = forge({"assess", "--json", "--sample", "0.2"});
  const auto checks = parse(after.out).at("checks");
  EXPECT_EQ(str(findBy(checks, "name", "gateway version"), "status"), "ok") << after.out;
  EXPECT_EQ(str(findBy(checks, "name", "service worker"), "status"), "ok") << after.out;
  EXPECT_NE(str(findBy(checks, "name", "service gateway"), "detail").find("memory"),
            std::string::npos)
      << after.out;

  const auto incident = show("1");
  EXPECT_EQ(str(incident, "state"), "mitigated");
  const auto recovery = events(incident, "recovery");
  ASSERT_EQ(recovery.size(), 3u); // gateway, worker, the re-check
  for (const auto& step : recovery)
    EXPECT_EQ(step.at("data").at("ok"), json::value(true)) << json::serialize(step);
  EXPECT_NE(str(recovery[1], "text").find("start worker: running after"), std::string::npos)
      << json::serialize(recovery[1]);
  EXPECT_EQ(str(recovery[1].at("data"), "before"), "state stopped, 0 restarts");
  EXPECT_NE(str(recovery[2], "text").find("gateway re-check: ok"), std::string::npos);
  ASSERT_EQ(events(incident, "mitigated").size(), 1u);
  ASSERT_TRUE(receiver.waitFor(4));
  EXPECT_EQ(str(payloads(receiver, "/generic").back(), "event"), "incident.mitigated");

  // Nothing down any more: recover has nothing to do and says so.
  auto nothing = forge({"recover", "1"});
  EXPECT_EQ(nothing.exit_code, 0) << nothing.err;
  EXPECT_NE(nothing.out.find("nothing to restart"), std::string::npos) << nothing.out;
}

TEST_F(IncidentTest, AutoEscalationRaisesOpenIncidentsPastTheirDeadline) {
  startGateway();
  WebhookReceiver receiver;
  // CRITICAL due at level 2 after 1 s (the guide: 30 min), WARNING after an hour.
  writeNotifications(receiver, "escalation:\n  CRITICAL: [1s, 1h, 2h]\n  WARNING: [1h]\n");
  ASSERT_EQ(forge({"open", "-s", "CRITICAL", "-t", "gateway down"}).exit_code, 0);
  ASSERT_EQ(forge({"open", "-s", "WARNING", "-t", "slow"}).exit_code, 0);
  ASSERT_EQ(forge({"open", "-s", "CRITICAL", "-t", "already handled"}).exit_code, 0);
  ASSERT_EQ(forge({"close", "3", "--resolution", "false alarm"}).exit_code, 0);
  ASSERT_TRUE(receiver.waitFor(5));
  std::this_thread::sleep_for(2100ms);

  auto dry = forge({"escalate", "--auto", "--dry-run", "--json"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  const auto due = parse(dry.out).at("escalated").as_array();
  ASSERT_EQ(due.size(), 1u) << dry.out;
  EXPECT_EQ(due[0].at("id"), json::value(1));
  EXPECT_EQ(show("1").at("level"), json::value(1));

  auto automatic = forge({"escalate", "--auto"});
  ASSERT_EQ(automatic.exit_code, 0) << automatic.err;
  EXPECT_NE(automatic.out.find("gateway down"), std::string::npos) << automatic.out;
  const auto incident = show("1");
  EXPECT_EQ(incident.at("level"), json::value(2));
  const auto escalations = events(incident, "escalated");
  ASSERT_EQ(escalations.size(), 1u);
  EXPECT_NE(str(escalations[0], "text")
                .find("CRITICAL incidents reach level 2 (senior engineer) "
                      "after 1 s"),
            std::string::npos)
      << json::serialize(escalations[0]);
  EXPECT_EQ(show("2").at("level"), json::value(1));
  EXPECT_EQ(show("3").at("level"), json::value(1)); // closed: left alone
  ASSERT_TRUE(receiver.waitFor(7));
  const auto last = payloads(receiver, "/generic").back();
  EXPECT_EQ(str(last, "event"), "incident.escalated");
  EXPECT_EQ(str(last, "contact"), "senior engineer");

  auto again = forge({"escalate", "--auto"});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.out.find("no open incident is past its escalation deadline"), std::string::npos)
      << again.out;
  // The guide's own deadlines (no escalation: section) leave a fresh incident at level 1.
  std::filesystem::remove(std::filesystem::path(data_) / "notifications.yml");
  ASSERT_EQ(forge({"open", "-s", "CRITICAL", "-t", "new"}).exit_code, 0);
  std::this_thread::sleep_for(1100ms);
  EXPECT_EQ(parse(forge({"escalate", "--auto", "--json"}).out).at("escalated"), json::array());
  auto list = forge({"list"});
  EXPECT_NE(list.out.find("level 2 (senior engineer) in 29 min"), std::string::npos) << list.out;
}

} // namespace
} // namespace forge::test
