// IncidentStore on every storage backend: ids, the timeline in order, escalation, states.
#include "ops/incident.h"

#include "ops/escalation.h"
#include "storage/backends.h"
#include "storage/migrations.h"

#include <gtest/gtest.h>

namespace forge::test {
namespace {

using namespace std::chrono_literals;
using ops::IncidentState;
using ops::Severity;

class IncidentStoreTest : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    db_ = openTestDatabase(GetParam());
    ASSERT_TRUE(db_);
    ASSERT_TRUE(storage::migrate(*db_));
    store_ = std::make_unique<ops::IncidentStore>(*db_);
  }

  ops::Incident open(const std::string& title, Severity severity = Severity::kCritical) {
    auto incident = store_->open({title, severity, 1, "ada", "summary of " + title});
    EXPECT_TRUE(incident) << incident.error().message;
    return incident ? *incident : ops::Incident{};
  }

  storage::DatabasePtr db_;
  std::unique_ptr<ops::IncidentStore> store_;
};

TEST_P(IncidentStoreTest, OpeningNumbersIncidentsAndRecordsTheOpening) {
  const auto first = open("gateway down");
  const auto second = open("slow tools", Severity::kWarning);
  EXPECT_EQ(first.id, 1);
  EXPECT_EQ(second.id, 2);
  EXPECT_EQ(first.state, IncidentState::kOpen);
  EXPECT_EQ(first.level, 1);
  EXPECT_EQ(first.opened_by, "ada");
  EXPECT_TRUE(ops::parseUtc(first.opened_at)) << first.opened_at;
  auto timeline = store_->timeline(first.id);
  ASSERT_TRUE(timeline);
  ASSERT_EQ(timeline->size(), 1u);
  EXPECT_EQ((*timeline)[0].kind, "opened");
  EXPECT_EQ((*timeline)[0].actor, "ada");
  EXPECT_NE((*timeline)[0].text.find("CRITICAL"), std::string::npos) << (*timeline)[0].text;
  EXPECT_EQ((*timeline)[0].data.at("level"), boost::json::value(1));
}

TEST_P(IncidentStoreTest, TheTimelineKeepsEveryEventInOrderWithItsData) {
  const auto incident = open("gateway down");
  ASSERT_TRUE(store_->record(incident.id, "assessed", "bob", "critical",
                             boost::json::object{{"checks", boost::json::array{1, 2}}}));
  ASSERT_TRUE(store_->record(incident.id, "note", "bob", "looking at the logs"));
  ASSERT_TRUE(store_->escalate(incident.id, 3, "bob", "no progress"));
  auto mitigated = store_->mitigate(incident.id, "bob", "restarted");
  ASSERT_TRUE(mitigated);
  EXPECT_EQ(mitigated->state, IncidentState::kMitigated);
  auto closed = store_->close(incident.id, "bob", "disk full; rotated logs");
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->state, IncidentState::kClosed);
  EXPECT_EQ(closed->resolution, "disk full; rotated logs");
  EXPECT_FALSE(closed->closed_at.empty());
  EXPECT_EQ(closed->level, 3);

  auto timeline = store_->timeline(incident.id);
  ASSERT_TRUE(timeline);
  std::vector<std::string> kinds;
  for (const auto& event : *timeline) {
    kinds.push_back(event.kind);
    EXPECT_EQ(event.seq, static_cast<std::int64_t>(kinds.size()));
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"opened", "assessed", "note", "escalated", "mitigated",
                                             "closed"}));
  EXPECT_EQ((*timeline)[1].data.at("checks"), (boost::json::array{1, 2}));
  EXPECT_EQ((*timeline)[3].data.at("from"), boost::json::value(1));
  EXPECT_EQ((*timeline)[3].data.at("to"), boost::json::value(3));
  EXPECT_NE((*timeline)[3].text.find("engineering manager"), std::string::npos);
}

TEST_P(IncidentStoreTest, ListsFilterByState) {
  const auto a = open("a");
  const auto b = open("b");
  const auto c = open("c");
  ASSERT_TRUE(store_->mitigate(b.id, "x", "ok"));
  ASSERT_TRUE(store_->close(c.id, "x", "done"));
  auto ids = [&](ops::ListFilter filter) {
    std::vector<std::int64_t> out;
    auto list = store_->list(filter);
    EXPECT_TRUE(list);
    for (const auto& i : *list)
      out.push_back(i.id);
    return out;
  };
  EXPECT_EQ(ids(ops::ListFilter::kOpen), (std::vector<std::int64_t>{a.id}));
  EXPECT_EQ(ids(ops::ListFilter::kUnresolved), (std::vector<std::int64_t>{b.id, a.id}));
  EXPECT_EQ(ids(ops::ListFilter::kAll), (std::vector<std::int64_t>{c.id, b.id, a.id}));
}

TEST_P(IncidentStoreTest, RefusesWhatCannotBeDone) {
  const auto incident = open("x");
  EXPECT_EQ(store_->get(99).error().code, core::Errc::kNotFound);
  EXPECT_EQ(store_->record(99, "note", "x", "y").error().code, core::Errc::kNotFound);
  EXPECT_EQ(store_->escalate(incident.id, 1, "x", "").error().code, core::Errc::kInvalidParams);
  EXPECT_EQ(store_->escalate(incident.id, 5, "x", "").error().code, core::Errc::kInvalidParams);
  ASSERT_TRUE(store_->escalate(incident.id, 4, "x", "top"));
  const auto at_top = store_->escalate(incident.id, 4, "x", "");
  ASSERT_FALSE(at_top);
  EXPECT_NE(at_top.error().message.find("already at level 4"), std::string::npos);
  ASSERT_TRUE(store_->close(incident.id, "x", "done"));
  EXPECT_EQ(store_->close(incident.id, "x", "again").error().code, core::Errc::kConflict);
  EXPECT_EQ(store_->mitigate(incident.id, "x", "").error().code, core::Errc::kConflict);
  EXPECT_FALSE(store_->open({"bad", Severity::kInfo, 5, "x", ""}));
}

INSTANTIATE_TEST_SUITE_P(Backends, IncidentStoreTest, ::testing::ValuesIn(storageBackends()),
                         backendName);

TEST(IncidentTimeTest, FormatsAndParsesUtcAndMeasuresHowLongItWasOpen) {
  const auto at = ops::parseUtc("2026-12-04T17:03:26Z");
  ASSERT_TRUE(at);
  EXPECT_EQ(ops::formatUtcSeconds(*at), "2026-12-04T17:03:26Z");
  EXPECT_FALSE(ops::parseUtc("2026-12-04 17:03:26"));
  EXPECT_FALSE(ops::parseUtc("2026-12-04T17:03:26Zjunk"));
  ops::Incident incident;
  incident.opened_at = "2026-12-04T17:00:00Z";
  EXPECT_EQ(ops::openFor(incident, *at), 206s);
  incident.state = IncidentState::kClosed;
  incident.closed_at = "2026-12-04T17:01:00Z";
  EXPECT_EQ(ops::openFor(incident, *at), 60s); // a closed incident stops ageing
}

TEST(EscalationTest, TheGuidesCriticalIncidentGoesToTheSeniorTeamAfterThirtyMinutes) {
  const auto policy = ops::EscalationPolicy::guide();
  EXPECT_EQ(ops::dueLevel(policy, Severity::kCritical, 0s), 1);
  EXPECT_EQ(ops::dueLevel(policy, Severity::kCritical, 29min + 59s), 1);
  EXPECT_EQ(ops::dueLevel(policy, Severity::kCritical, 30min), 2);
  EXPECT_EQ(ops::dueLevel(policy, Severity::kCritical, 60min), 3);
  EXPECT_EQ(ops::dueLevel(policy, Severity::kCritical, 120min), 4);
  EXPECT_EQ(ops::dueLevel(policy, Severity::kCritical, 100h), 4);
  EXPECT_EQ(ops::dueLevel(policy, Severity::kWarning, 59min), 1);
  EXPECT_EQ(ops::dueLevel(policy, Severity::kWarning, 60min), 2);
  EXPECT_EQ(ops::dueLevel(policy, Severity::kWarning, 100h), 3); // never to the CTO on its own
  EXPECT_EQ(ops::dueLevel(policy, Severity::kInfo, 100h), 1);
}

TEST(EscalationTest, NextDeadlineIsWhenTheLevelAfterThisOneIsDue) {
  const auto policy = ops::EscalationPolicy::guide();
  EXPECT_EQ(ops::nextDeadline(policy, Severity::kCritical, 1), 30min);
  EXPECT_EQ(ops::nextDeadline(policy, Severity::kCritical, 2), 60min);
  EXPECT_EQ(ops::nextDeadline(policy, Severity::kCritical, 3), 120min);
  EXPECT_FALSE(ops::nextDeadline(policy, Severity::kCritical, 4));
  EXPECT_FALSE(ops::nextDeadline(policy, Severity::kWarning, 3));
  EXPECT_FALSE(ops::nextDeadline(policy, Severity::kInfo, 1));
  // Escalated by hand to 3 early: not pushed to 4 before the level-4 deadline.
  EXPECT_EQ(ops::dueLevel(policy, Severity::kCritical, 45min), 2);
}

TEST(EscalationTest, OnlyOpenIncidentsBehindTheirDeadlineAreDue) {
  const auto now = *ops::parseUtc("2026-12-04T18:00:00Z");
  auto incident = [](std::int64_t id, Severity severity, const char* opened, int level,
                     IncidentState state = IncidentState::kOpen) {
    ops::Incident i;
    i.id = id;
    i.severity = severity;
    i.opened_at = opened;
    i.level = level;
    i.state = state;
    return i;
  };
  const std::vector<ops::Incident> incidents{
      incident(1, Severity::kCritical, "2026-12-04T17:29:00Z", 1), // 31 min: due at 2
      incident(2, Severity::kCritical, "2026-12-04T17:45:00Z", 1), // 15 min: not yet
      incident(3, Severity::kCritical, "2026-12-04T15:00:00Z", 2), // 3 h: due at 4
      incident(4, Severity::kCritical, "2026-12-04T17:00:00Z", 3), // raised by hand: stays
      incident(5, Severity::kCritical, "2026-12-04T15:00:00Z", 1, IncidentState::kMitigated),
      incident(6, Severity::kWarning, "2026-12-04T16:30:00Z", 1), // 90 min: due at 2
      incident(7, Severity::kInfo, "2026-11-04T16:30:00Z", 1),    // never
  };
  const auto due = ops::dueEscalations(incidents, ops::EscalationPolicy::guide(), now);
  ASSERT_EQ(due.size(), 3u);
  EXPECT_EQ(due[0].incident.id, 1);
  EXPECT_EQ(due[0].to, 2);
  EXPECT_EQ(due[0].open_for, 31min);
  EXPECT_EQ(due[0].reason, "unresolved for 31 min: CRITICAL incidents reach level 2 (senior "
                           "engineer) after 30 min");
  EXPECT_EQ(due[1].incident.id, 3);
  EXPECT_EQ(due[1].to, 4);
  EXPECT_NE(due[1].reason.find("after 2 h"), std::string::npos) << due[1].reason;
  EXPECT_EQ(due[2].incident.id, 6);
  EXPECT_EQ(due[2].to, 2);
  EXPECT_EQ(ops::formatDuration(59s), "59 s");
  EXPECT_EQ(ops::formatDuration(3h + 5min + 7s), "3 h 5 min");
  EXPECT_EQ(ops::formatDuration(2h), "2 h");
}

TEST(EscalationTest, LevelsAndPhasesFollowTheGuide) {
  EXPECT_EQ(ops::levelContact(1), "on-call engineer");
  EXPECT_EQ(ops::levelContact(2), "senior engineer");
  EXPECT_EQ(ops::levelContact(3), "engineering manager");
  EXPECT_EQ(ops::levelContact(4), "CTO/VP engineering");
  EXPECT_EQ(ops::responsePhase(2min), "initial detection and alerting");
  EXPECT_EQ(ops::responsePhase(10min), "automated response attempts");
  EXPECT_EQ(ops::responsePhase(20min), "manual intervention");
  EXPECT_EQ(ops::responsePhase(31min), "escalation to senior team");
}

TEST(SeverityTest, ParsesAnyCaseAndMapsCheckLevels) {
  EXPECT_EQ(ops::parseSeverity("critical"), Severity::kCritical);
  EXPECT_EQ(ops::parseSeverity("Warning"), Severity::kWarning);
  EXPECT_EQ(ops::parseSeverity("INFO"), Severity::kInfo);
  EXPECT_FALSE(ops::parseSeverity("major"));
  EXPECT_EQ(ops::severityOf(ops::Level::kCritical), Severity::kCritical);
  EXPECT_EQ(ops::severityOf(ops::Level::kOk), Severity::kInfo);
  EXPECT_LT(Severity::kWarning, Severity::kCritical);
}

} // namespace
} // namespace forge::test
