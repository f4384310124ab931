// Alerts across monitoring rounds, in a real database: opened on crossing a threshold, one per
// metric, raised and lowered with the level, ended back under the warning threshold.
#include "ops/alerts.h"
#include "storage/backends.h"
#include "storage/migrations.h"

#include <gtest/gtest.h>

namespace forge::ops {
namespace {

class AlertBookTest : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    db_ = test::openTestDatabase(GetParam());
    ASSERT_TRUE(db_);
    ASSERT_TRUE(storage::migrate(*db_).ok());
    book_ = std::make_unique<AlertBook>(*db_);
  }

  static Measurement cpu(std::optional<double> value) {
    Measurement m{"cpu", value, {80, 90}, Level::kOk, false, "detail"};
    if (value) m.level = grade(*value, m.limits);
    return m;
  }

  std::vector<AlertEvent> round(std::optional<double> value, const std::string& at) {
    auto events = book_->apply({cpu(value)}, at);
    EXPECT_TRUE(events.ok()) << events.error().message;
    return events.ok() ? *events : std::vector<AlertEvent>{};
  }

  storage::DatabasePtr db_;
  std::unique_ptr<AlertBook> book_;
};

INSTANTIATE_TEST_SUITE_P(Backends, AlertBookTest, ::testing::ValuesIn(test::storageBackends()),
                         test::backendName);

TEST_P(AlertBookTest, OpensRaisesLowersAndEnds) {
  EXPECT_TRUE(round(50, "2026-12-04T10:00:00Z").empty()); // under the thresholds: nothing

  auto events = round(85, "2026-12-04T10:01:00Z");
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].change, AlertChange::kOpened);
  EXPECT_EQ(events[0].alert.level, Level::kWarning);
  EXPECT_EQ(events[0].alert.threshold, 80);
  const std::string id = events[0].alert.id;

  events = round(95, "2026-12-04T10:02:00Z");
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].change, AlertChange::kRaised);
  EXPECT_EQ(events[0].alert.id, id); // the same alert, escalated
  EXPECT_EQ(events[0].alert.level, Level::kCritical);
  EXPECT_EQ(events[0].alert.threshold, 90);

  events = round(std::nullopt, "2026-12-04T10:03:00Z"); // not measured: left as it is
  EXPECT_TRUE(events.empty());

  events = round(87, "2026-12-04T10:04:00Z");
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].change, AlertChange::kLowered);

  auto open = book_->open();
  ASSERT_TRUE(open.ok());
  ASSERT_EQ(open->size(), 1U);
  EXPECT_EQ((*open)[0].id, id);
  EXPECT_EQ((*open)[0].level, Level::kWarning);
  EXPECT_DOUBLE_EQ((*open)[0].value, 87);
  EXPECT_EQ((*open)[0].started_at, "2026-12-04T10:01:00Z");
  EXPECT_TRUE((*open)[0].open());

  events = round(40, "2026-12-04T10:05:00Z");
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].change, AlertChange::kEnded);
  EXPECT_EQ(events[0].alert.ended_at, "2026-12-04T10:05:00Z");
  open = book_->open();
  ASSERT_TRUE(open.ok());
  EXPECT_TRUE(open->empty());

  // A new crossing is a new alert; the old one stays in the history with its end.
  events = round(99, "2026-12-04T11:00:00Z");
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].change, AlertChange::kOpened);
  EXPECT_NE(events[0].alert.id, id);
  auto recent = book_->recent(10);
  ASSERT_TRUE(recent.ok());
  ASSERT_EQ(recent->size(), 2U);
  EXPECT_EQ((*recent)[0].started_at, "2026-12-04T11:00:00Z"); // newest first
  EXPECT_EQ((*recent)[1].ended_at, "2026-12-04T10:05:00Z");
}

TEST_P(AlertBookTest, OneOpenAlertPerMetric) {
  round(85, "2026-12-04T10:01:00Z");
  round(86, "2026-12-04T10:02:00Z");
  round(88, "2026-12-04T10:03:00Z");
  auto open = book_->open();
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(open->size(), 1U);
  // The database refuses a second open alert of a metric, whoever writes it.
  auto duplicate = db_->query("INSERT INTO alerts (id, metric, level, started_at, updated_at) "
                              "VALUES ('x', 'cpu', 'warning', 'now', 'now')");
  EXPECT_FALSE(duplicate.ok());
}

TEST_P(AlertBookTest, ActionsAreAppended) {
  auto events = round(95, "2026-12-04T10:01:00Z");
  ASSERT_EQ(events.size(), 1U);
  ASSERT_TRUE(book_->noteAction(events[0].alert.id, "rolling restart requested").ok());
  ASSERT_TRUE(book_->noteAction(events[0].alert.id, "again").ok());
  auto open = book_->open();
  ASSERT_TRUE(open.ok());
  ASSERT_EQ(open->size(), 1U);
  EXPECT_EQ((*open)[0].action, "rolling restart requested; again");
  const auto json = toJson((*open)[0]);
  EXPECT_EQ(json.at("level").as_string(), "critical");
  EXPECT_TRUE(json.at("ended_at").is_null());
}

} // namespace
} // namespace forge::ops
