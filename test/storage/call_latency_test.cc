// Latency histograms: buckets, percentiles estimated from them, and their per-minute rows on
// every backend (added up across writers, read back by window, pruned).
#include "storage/backends.h"
#include "storage/call_latency.h"
#include "storage/migrations.h"
#include "storage/store.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <tuple>
#include <vector>

namespace forge::storage {
namespace {

TEST(LatencyHistogram, BucketsByUpperBound) {
  EXPECT_EQ(latencyBucket(0), 0U);
  EXPECT_EQ(latencyBucket(1), 0U); // a bound belongs to its bucket
  EXPECT_EQ(latencyBucket(1.5), 1U);
  EXPECT_EQ(latencyBucket(2'000), 10U);
  EXPECT_EQ(latencyBucket(2'000.1), 11U);
  EXPECT_EQ(latencyBucket(1e9), kLatencyBuckets - 1);
}

TEST(LatencyHistogram, PercentilesInterpolateInsideTheirBucket) {
  LatencyHistogram h;
  EXPECT_EQ(h.percentile(0.5), 0);
  for (int i = 0; i < 100; ++i)
    h.add(60 + i * 0.3, false); // 100 calls in (50, 100]: 60 .. 89.7 ms
  EXPECT_EQ(h.buckets[6], 100);
  // The bucket is (50, 100], capped at the slowest call (89.7): the median is halfway through.
  EXPECT_NEAR(h.percentile(0.5), 50 + (89.7 - 50) * 0.5, 1e-9);
  EXPECT_NEAR(h.percentile(1.0), 89.7, 1e-9);
  EXPECT_LE(h.percentile(0.99), h.max_ms);
}

TEST(LatencyHistogram, PercentilesFindTheBucketOfTheRank) {
  LatencyHistogram h;
  for (int i = 0; i < 90; ++i)
    h.add(3, false); // (2, 5]
  for (int i = 0; i < 10; ++i)
    h.add(4'000, true); // (2000, 5000]
  EXPECT_EQ(h.calls, 100);
  EXPECT_EQ(h.errors, 10);
  EXPECT_DOUBLE_EQ(h.errorPercent(), 10);
  EXPECT_GT(h.percentile(0.5), 2);
  EXPECT_LE(h.percentile(0.5), 5);
  EXPECT_LE(h.percentile(0.9), 5); // the 90th call is the last fast one
  // The 95th is the 5th of 10 slow calls: halfway between 2000 and the slowest (4000).
  EXPECT_NEAR(h.percentile(0.95), 3'000, 1e-9);
  EXPECT_NEAR(h.percentile(0.99), 2'000 + 2'000 * 0.9, 1e-9);
  EXPECT_DOUBLE_EQ(h.meanMs(), (90 * 3 + 10 * 4'000) / 100.0);
}

TEST(LatencyHistogram, MergedHistogramsAreTheHistogramOfAllCalls) {
  LatencyHistogram a, b, both;
  for (double ms : {1.0, 7.0, 300.0}) {
    a.add(ms, false);
    both.add(ms, false);
  }
  for (double ms : {70'000.0, 15.0}) {
    b.add(ms, true);
    both.add(ms, true);
  }
  a.merge(b);
  EXPECT_EQ(a.calls, both.calls);
  EXPECT_EQ(a.errors, both.errors);
  EXPECT_EQ(a.buckets, both.buckets);
  EXPECT_DOUBLE_EQ(a.max_ms, 70'000);
  EXPECT_DOUBLE_EQ(a.percentile(0.5), both.percentile(0.5));
  EXPECT_DOUBLE_EQ(a.percentile(1), 70'000);
}

// A tally of the given calls: (gateway, tool, error, ms) each.
CallTally tallyOf(std::initializer_list<std::tuple<const char*, const char*, bool, double>> calls) {
  CallTally tally;
  for (const auto& [gateway, tool, error, ms] : calls)
    tally.add(gateway, tool, error, ms);
  return tally;
}

TEST(CallTally, FoldsCallsByGatewayAndTool) {
  const auto tally = tallyOf({{"fx", "echo", false, 3},
                              {"fx", "echo", true, 30},
                              {"fx", "add", false, 1},
                              {"other", "echo", false, 2},
                              {"fx", "echo", false, 2}});
  std::vector<std::string> seen;
  tally.forEach([&](const std::string& gateway, const std::string& tool, const CallTotals& t) {
    seen.push_back(gateway + "/" + tool);
    if (gateway == "fx" && tool == "echo") {
      EXPECT_EQ(t.histogram.calls, 3);
      EXPECT_EQ(t.histogram.errors, 1);
      EXPECT_DOUBLE_EQ(t.histogram.total_ms, 35);
      EXPECT_DOUBLE_EQ(t.histogram.max_ms, 30);
      EXPECT_DOUBLE_EQ(t.min_ms, 2);
    }
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"fx/add", "fx/echo", "other/echo"}));
  EXPECT_FALSE(tally.empty());
  EXPECT_TRUE(CallTally{}.empty());
}

TEST(CallTally, KeepsEveryCallOfABusyFlushInAFewEntries) {
  // Far more calls than one flush interval ever held before calls were folded as they came
  // (samples were capped at 100,000 then, and the rest dropped).
  CallTally tally;
  for (int i = 0; i < 250'000; ++i)
    tally.add("fx", i % 2 ? "echo" : "add", i % 1000 == 0, 1 + i % 7);
  std::int64_t calls = 0, errors = 0, entries = 0;
  tally.forEach([&](const std::string&, const std::string&, const CallTotals& t) {
    calls += t.histogram.calls;
    errors += t.histogram.errors;
    ++entries;
  });
  EXPECT_EQ(calls, 250'000);
  EXPECT_EQ(errors, 250);
  EXPECT_EQ(entries, 2);
}

TEST(LatencyHistogram, RollUpFoldsTheTallyByTool) {
  const auto minutes = rollUpMinute(tallyOf({{"fx", "echo", false, 3},
                                             {"fx", "echo", true, 30},
                                             {"fx", "add", false, 1},
                                             {"other", "echo", false, 2}}),
                                    "2026-12-04T17:05:00Z");
  ASSERT_EQ(minutes.size(), 3U);
  EXPECT_EQ(minutes[0].tool, "add");
  EXPECT_EQ(minutes[1].gateway, "fx");
  EXPECT_EQ(minutes[1].tool, "echo");
  EXPECT_EQ(minutes[1].histogram.calls, 2);
  EXPECT_EQ(minutes[1].histogram.errors, 1);
  EXPECT_DOUBLE_EQ(minutes[1].histogram.max_ms, 30);
  EXPECT_EQ(minutes[2].gateway, "other");
  for (const auto& m : minutes)
    EXPECT_EQ(m.minute, "2026-12-04T17:05:00Z");
}

class CallLatencyStoreTest : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    db_ = test::openTestDatabase(GetParam());
    ASSERT_TRUE(db_);
    ASSERT_TRUE(migrate(*db_).ok());
    store_ = std::make_unique<Store>(*db_);
  }
  DatabasePtr db_;
  std::unique_ptr<Store> store_;
};

INSTANTIATE_TEST_SUITE_P(Backends, CallLatencyStoreTest,
                         ::testing::ValuesIn(test::storageBackends()), test::backendName);

TEST_P(CallLatencyStoreTest, WritersOfOneMinuteAddUp) {
  // Two gateway processes flush the same minute of the same tool.
  const auto first = tallyOf({{"fx", "echo", false, 3}, {"fx", "echo", true, 900}});
  const auto second = tallyOf({{"fx", "echo", false, 4}});
  ASSERT_TRUE(store_->addCallMinutes(rollUpMinute(first, "2026-12-04T17:05:00Z")).ok());
  ASSERT_TRUE(store_->addCallMinutes(rollUpMinute(second, "2026-12-04T17:05:00Z")).ok());
  ASSERT_TRUE(store_->addCallMinutes(rollUpMinute(second, "2026-12-04T17:06:00Z")).ok());

  auto rows = store_->callMinutes("2026-12-04T17:05:00Z", "2026-12-04T17:06:00Z");
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 1U);
  const auto& h = (*rows)[0].histogram;
  EXPECT_EQ(h.calls, 3);
  EXPECT_EQ(h.errors, 1);
  EXPECT_DOUBLE_EQ(h.total_ms, 907);
  EXPECT_DOUBLE_EQ(h.max_ms, 900);
  EXPECT_EQ(h.buckets[latencyBucket(3)], 2);
  EXPECT_EQ(h.buckets[latencyBucket(900)], 1);

  auto all = store_->callMinutes("2026-12-04T00:00:00Z");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2U);
  EXPECT_EQ((*all)[1].minute, "2026-12-04T17:06:00Z");
}

TEST_P(CallLatencyStoreTest, PruneDeletesOnlyOlderMinutes) {
  const auto one = tallyOf({{"fx", "echo", false, 3}});
  for (const char* minute :
       {"2026-11-01T00:00:00Z", "2026-11-20T10:00:00Z", "2026-12-04T17:05:00Z"})
    ASSERT_TRUE(store_->addCallMinutes(rollUpMinute(one, minute)).ok());
  auto pruned = store_->pruneCallMinutes("2026-11-20T10:00:00Z");
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 1);
  auto left = store_->callMinutes("2000-01-01T00:00:00Z");
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 2U);
  EXPECT_EQ((*left)[0].minute, "2026-11-20T10:00:00Z");
}

} // namespace
} // namespace forge::storage
