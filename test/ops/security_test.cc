// The security rules on seeded audit rows and access-log lines: each rule fires on what it is
// meant to catch, with its severity and evidence, and stays quiet on ordinary traffic.
#include "ops/security.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>

namespace forge::ops {
namespace {

storage::AuditRecord row(std::string at, std::string actor, std::string action, int status,
                         std::string remote, std::string target_type = "",
                         std::string target_id = "", std::string detail = "") {
  storage::AuditRecord r;
  r.at = std::move(at);
  r.actor = std::move(actor);
  r.action = std::move(action);
  r.status = status;
  r.result = status == 401 || status == 403 || status == 429 ? "denied"
             : status >= 400                                 ? "failed"
                                                             : "allowed";
  r.remote = std::move(remote);
  r.target_type = std::move(target_type);
  r.target_id = std::move(target_id);
  r.detail = std::move(detail);
  return r;
}

std::string at(int minute, int second = 0, int hour = 10) {
  return fmt::format("2026-03-02T{:02}:{:02}:{:02}Z", hour, minute, second);
}

const Anomaly* find(const std::vector<Anomaly>& found, const std::string& rule) {
  auto it =
      std::find_if(found.begin(), found.end(), [&](const Anomaly& a) { return a.rule == rule; });
  return it == found.end() ? nullptr : &*it;
}

TEST(SecurityTime, ParsesAndFormatsUtc) {
  EXPECT_DOUBLE_EQ(*parseUtc("1970-01-01T00:01:00Z"), 60.0);
  EXPECT_NEAR(*parseUtc("2026-03-02T10:00:00.250Z") - *parseUtc("2026-03-02T10:00:00Z"), 0.25,
              1e-6);
  EXPECT_FALSE(parseUtc("yesterday"));
  EXPECT_EQ(formatUtc(60.5), "1970-01-01T00:01:00.500Z");
  EXPECT_EQ(parseSpan("24h")->count(), 86400);
  EXPECT_EQ(parseSpan("7d")->count(), 7 * 86400);
  EXPECT_FALSE(parseSpan("7 days"));
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(3600));
  EXPECT_EQ(*resolveSince("30m", now), "1970-01-01T00:30:00.000Z");
  EXPECT_EQ(*resolveSince("2026-01-01T00:00:00Z", now), "2026-01-01T00:00:00Z");
  EXPECT_FALSE(resolveSince("soon", now));
}

TEST(SecurityAccessLog, ParsesTextJsonAndManagerStampedLines) {
  auto text = parseAccessLine("2026-03-02T10:00:01.123Z info  [abc123] request method=POST "
                              "path=/mcp status=401 bytes=80 duration_ms=0.512 "
                              "remote=10.0.0.7:5123 user= token=");
  ASSERT_TRUE(text);
  EXPECT_EQ(text->at, "2026-03-02T10:00:01.123Z");
  EXPECT_EQ(text->request_id, "abc123");
  EXPECT_EQ(text->method, "POST");
  EXPECT_EQ(text->status, 401);
  EXPECT_EQ(hostOf(text->remote), "10.0.0.7");
  EXPECT_EQ(text->actor, "");

  auto stamped = parseAccessLine("2026-03-02T10:00:02.000Z 2026-03-02T10:00:01.999Z info  "
                                 "[r1] request method=GET path=/tools status=200 bytes=5 "
                                 "duration_ms=1.0 remote=[::1]:80 user=ada@example.com token=t1");
  ASSERT_TRUE(stamped);
  EXPECT_EQ(stamped->at, "2026-03-02T10:00:01.999Z");
  EXPECT_EQ(stamped->actor, "ada@example.com");
  EXPECT_EQ(stamped->token, "t1");
  EXPECT_EQ(hostOf(stamped->remote), "::1");

  auto json = parseAccessLine(R"({"ts":"2026-03-02T10:00:03.000Z","level":"info","msg":)"
                              R"("request","request_id":"r2","method":"DELETE","path":"/x",)"
                              R"("status":"204","remote":"1.2.3.4:1","user":"eve@example.com"})");
  ASSERT_TRUE(json);
  EXPECT_EQ(json->method, "DELETE");
  EXPECT_EQ(json->status, 204);
  EXPECT_EQ(json->actor, "eve@example.com");

  EXPECT_FALSE(parseAccessLine("2026-03-02T10:00:01.123Z info  gateway listening on ..."));
  EXPECT_FALSE(parseAccessLine("garbage"));
}

TEST(SecurityAuthFailures, GroupsByActorAndAddressWithCountsAndTimes) {
  std::vector<storage::AuditRecord> rows{
      row(at(1), "eve@example.com", "login", 401, "10.0.0.9:1000"),
      row(at(2), "eve@example.com", "login", 401, "10.0.0.9:1001"),
      row(at(3), "eve@example.com", "login", 429, "10.0.0.9:1002"),
      row(at(4), "anonymous", "GET /gateways", 401, "10.0.0.8:1000"),
      row(at(5), "ada@example.com", "POST /gateways", 403, "10.0.0.1:1"),
      row(at(6), "ada@example.com", "POST /gateways", 201, "10.0.0.1:1"), // not a failure
      row(at(7), "ada@example.com", "login", 200, "10.0.0.1:1"),          // not a failure
  };
  const auto groups = groupAuthFailures(rows);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].actor, "eve@example.com");
  EXPECT_EQ(groups[0].host, "10.0.0.9");
  EXPECT_EQ(groups[0].total, 3);
  EXPECT_EQ(groups[0].unauthorized, 2);
  EXPECT_EQ(groups[0].throttled, 1);
  EXPECT_EQ(groups[0].failed_logins, 3);
  EXPECT_EQ(groups[0].first_seen, at(1));
  EXPECT_EQ(groups[0].last_seen, at(3));
  const auto ada = std::find_if(groups.begin(), groups.end(),
                                [](const auto& g) { return g.actor == "ada@example.com"; });
  ASSERT_NE(ada, groups.end());
  EXPECT_EQ(ada->forbidden, 1);
  EXPECT_EQ(ada->total, 1);
}

TEST(SecurityAnomalies, BruteForceBurstIsFoundAndACompromiseIsCritical) {
  std::vector<storage::AuditRecord> rows;
  for (int i = 0; i < 12; ++i)
    rows.push_back(row(at(1, i * 5), "admin@example.com", "login", 401, "203.0.113.5:4000"));
  // The same number spread over hours is not a burst.
  for (int i = 0; i < 12; ++i)
    rows.push_back(row(at(0, 0, i), "ada@example.com", "login", 401, "198.51.100.2:1"));
  AnomalyRules rules;
  auto found = detectAnomalies(rows, {}, "", rules);
  const auto* burst = find(found, "brute_force");
  ASSERT_TRUE(burst);
  EXPECT_EQ(burst->host, "203.0.113.5");
  EXPECT_EQ(burst->severity, Level::kWarning);
  EXPECT_NE(burst->summary.find("12 authentication failures"), std::string::npos);
  EXPECT_FALSE(burst->evidence.empty());
  EXPECT_EQ(std::count_if(found.begin(), found.end(),
                          [](const Anomaly& a) { return a.rule == "brute_force"; }),
            1);

  rows.push_back(row(at(2), "admin@example.com", "login", 200, "203.0.113.5:4001"));
  found = detectAnomalies(rows, {}, "", rules);
  burst = find(found, "brute_force");
  ASSERT_TRUE(burst);
  EXPECT_EQ(burst->severity, Level::kCritical);
  EXPECT_NE(burst->summary.find("successful login as admin@example.com"), std::string::npos);
}

TEST(SecurityAnomalies, ActorDeniedAcrossManyTargets) {
  std::vector<storage::AuditRecord> rows;
  for (int i = 0; i < 5; ++i)
    rows.push_back(row(at(i), "mallory@example.com", fmt::format("DELETE /gateways/g{}", i), 403,
                       "10.1.1.1:1", "gateways", fmt::format("g{}", i)));
  // Refused five times on the same target: not probing.
  for (int i = 0; i < 5; ++i)
    rows.push_back(
        row(at(i), "bob@example.com", "DELETE /gateways/g1", 403, "10.1.1.2:1", "gateways", "g1"));
  const auto found = detectAnomalies(rows, {}, "", AnomalyRules{});
  const auto* probe = find(found, "denied_across_targets");
  ASSERT_TRUE(probe);
  EXPECT_EQ(probe->actor, "mallory@example.com");
  EXPECT_EQ(probe->severity, Level::kWarning);
  EXPECT_EQ(std::count_if(found.begin(), found.end(),
                          [](const Anomaly& a) { return a.rule == "denied_across_targets"; }),
            1);
}

TEST(SecurityAnomalies, TokenUsedFromANewAddress) {
  std::vector<AccessRecord> access;
  auto use = [&](std::string when, std::string token, std::string remote, int status = 200) {
    AccessRecord r;
    r.at = std::move(when);
    r.actor = "ada@example.com";
    r.token = std::move(token);
    r.method = "POST";
    r.path = "/mcp";
    r.status = status;
    r.remote = std::move(remote);
    access.push_back(r);
  };
  use(at(1, 0, 8), "tok1", "10.0.0.1:1000");  // the baseline
  use(at(1, 0, 11), "tok1", "10.0.0.1:1001"); // known address: fine
  use(at(2, 0, 11), "tok1", "192.0.2.66:5000");
  use(at(3, 0, 11), "tok2", "192.0.2.77:5000");      // a token never seen before: no baseline
  use(at(4, 0, 11), "tok1", "192.0.2.99:5000", 401); // refused: not a use
  const auto found = detectAnomalies({}, access, at(0, 0, 10), AnomalyRules{});
  ASSERT_EQ(std::count_if(found.begin(), found.end(),
                          [](const Anomaly& a) { return a.rule == "new_address"; }),
            1);
  const auto* fresh = find(found, "new_address");
  EXPECT_EQ(fresh->actor, "token:tok1");
  EXPECT_EQ(fresh->host, "192.0.2.66");
  EXPECT_NE(fresh->summary.find("10.0.0.1"), std::string::npos);
}

TEST(SecurityAnomalies, PrivilegeChangesAndOffHoursAdminActions) {
  std::vector<storage::AuditRecord> rows{
      row(at(1, 0, 10), "admin@example.com", "user.role", 200, "10.0.0.1:1", "users",
          "eve@example.com", "developer -> platform_admin"),
      row(at(2, 0, 10), "admin@example.com", "user.role", 200, "10.0.0.1:1", "users",
          "bob@example.com", "developer -> viewer"),
      row(at(3, 0, 3), "admin@example.com", "DELETE /gateways/g1", 200, "10.0.0.1:1", "gateways",
          "g1"),
      row(at(4, 0, 23), "admin@example.com", "PUT /users/u1", 200, "10.0.0.1:1", "users", "u1"),
      row(at(5, 0, 12), "admin@example.com", "DELETE /gateways/g2", 200, "10.0.0.1:1", "gateways",
          "g2"), // working hours
      row(at(6, 0, 2), "ada@example.com", "DELETE /gateways/g3", 403, "10.0.0.1:1", "gateways",
          "g3"), // refused: not a change made
  };
  const auto found = detectAnomalies(rows, {}, "", AnomalyRules{});
  std::vector<const Anomaly*> privilege;
  for (const auto& a : found)
    if (a.rule == "privilege_change") privilege.push_back(&a);
  ASSERT_EQ(privilege.size(), 2u);
  EXPECT_EQ(privilege[0]->severity, Level::kCritical); // most severe first
  EXPECT_NE(privilege[0]->summary.find("eve@example.com"), std::string::npos);
  EXPECT_EQ(privilege[1]->severity, Level::kWarning);

  const auto* night = find(found, "off_hours_admin");
  ASSERT_TRUE(night);
  EXPECT_EQ(night->actor, "admin@example.com");
  EXPECT_NE(night->summary.find("made 2 administrative change(s)"), std::string::npos)
      << night->summary;
  EXPECT_EQ(std::count_if(found.begin(), found.end(),
                          [](const Anomaly& a) { return a.rule == "off_hours_admin"; }),
            1);
}

TEST(SecurityAnomalies, OrdinaryTrafficRaisesNothing) {
  std::vector<storage::AuditRecord> rows{
      row(at(1), "ada@example.com", "login", 200, "10.0.0.1:1"),
      row(at(2), "ada@example.com", "POST /tokens", 201, "10.0.0.1:1", "tokens"),
      row(at(3), "ada@example.com", "login", 401, "10.0.0.1:1"),
  };
  EXPECT_TRUE(detectAnomalies(rows, {}, "", AnomalyRules{}).empty());
}

TEST(SecurityAccessChanges, RecognisesRoleTokenAndMembershipChanges) {
  EXPECT_TRUE(isAccessChange(row(at(1), "a", "user.role", 200, "", "users")));
  EXPECT_TRUE(isAccessChange(row(at(1), "a", "PUT /users/u1", 200, "", "users", "u1")));
  EXPECT_TRUE(isAccessChange(row(at(1), "a", "POST /teams/t/members", 200, "", "teams", "t")));
  EXPECT_TRUE(isAccessChange(row(at(1), "a", "DELETE /tokens/x", 200, "", "tokens", "x")));
  EXPECT_FALSE(isAccessChange(row(at(1), "a", "POST /gateways", 201, "", "gateways")));
  EXPECT_FALSE(isAccessChange(row(at(1), "a", "login", 200, "")));
  EXPECT_FALSE(isAccessChange(row(at(1), "a", "GET /users", 403, "", "users")));
}

TEST(SecurityForensics, TimelineJoinsAuditAccessAndTokensInOrder) {
  std::vector<storage::AuditRecord> rows{
      row(at(5), "eve@example.com", "login", 200, "10.0.0.9:1"),
      row(at(1), "eve@example.com", "login", 401, "10.0.0.9:1"),
      row(at(3), "ada@example.com", "login", 200, "10.0.0.1:1"),
      row(at(7), "admin@example.com", "user.enabled", 200, "10.0.0.1:1", "users", "eve@example.com",
          "enabled -> disabled"),
  };
  AccessRecord call;
  call.at = "2026-03-02T10:06:00.500Z";
  call.actor = "eve@example.com";
  call.token = "tok-eve";
  call.method = "POST";
  call.path = "/mcp";
  call.status = 200;
  call.remote = "10.0.0.9:2";
  storage::ApiTokenRecord token;
  token.id = "tok-eve";
  token.name = "laptop";
  token.created_at = at(2);
  token.revoked_at = at(8);
  token.revoked_by = "admin@example.com";
  token.revoke_reason = "isolated";
  const auto events = buildTimeline(
      rows, {call}, {token}, {.actor = "eve@example.com", .host = "", .token_ids = {"tok-eve"}});
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(events[0].at, at(1));
  EXPECT_EQ(events[1].source, "token"); // created
  EXPECT_EQ(events[2].at, at(5));
  EXPECT_EQ(events[3].source, "access");
  EXPECT_EQ(events[4].what.substr(0, 12), "user.enabled"); // targets eve
  EXPECT_NE(events[5].what.find("revoked: isolated"), std::string::npos);

  const auto by_address =
      buildTimeline(rows, {call}, {token}, {.actor = "", .host = "10.0.0.1", .token_ids = {}});
  ASSERT_EQ(by_address.size(), 2u);
  EXPECT_EQ(by_address[0].actor, "ada@example.com");
}

TEST(SecurityForensics, Sha256IsTheStandardDigest) {
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

} // namespace
} // namespace forge::ops
