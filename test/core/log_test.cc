#include "core/log.h"

#include "core/secret.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <mutex>
#include <vector>

namespace forge::log {
namespace {

class LogTest : public ::testing::Test {
protected:
  void capture(Level level, Format format) {
    configure(level, format, [this](std::string_view line) {
      std::lock_guard lock(mutex_);
      lines_.emplace_back(line);
    });
  }
  void TearDown() override { configure(Level::kWarn, Format::kText); }
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }

  std::mutex mutex_;
  std::vector<std::string> lines_;
};

TEST_F(LogTest, JsonLinesAreObjectsWithRequestIdAndFields) {
  capture(Level::kInfo, Format::kJson);
  RequestLog request("req-123");
  request.write(Level::kInfo, "upstream \"x\" answered", {{"status", "200"}});
  ASSERT_EQ(lines().size(), 1u);
  const auto value = boost::json::parse(lines()[0]).as_object();
  EXPECT_EQ(value.at("level").as_string(), "info");
  EXPECT_EQ(value.at("msg").as_string(), "upstream \"x\" answered");
  EXPECT_EQ(value.at("request_id").as_string(), "req-123");
  EXPECT_EQ(value.at("status").as_string(), "200");
  EXPECT_TRUE(value.contains("ts"));
}

TEST_F(LogTest, TextLinesCarryRequestId) {
  capture(Level::kDebug, Format::kText);
  RequestLog("abc").debug("step {}", 2);
  ASSERT_EQ(lines().size(), 1u);
  EXPECT_NE(lines()[0].find("debug [abc] step 2"), std::string::npos) << lines()[0];
}

TEST_F(LogTest, LevelFiltersLinesAndCanChangeAtRunTime) {
  capture(Level::kWarn, Format::kText);
  info("hidden");
  warn("shown");
  EXPECT_EQ(lines().size(), 1u);
  setLevel(Level::kDebug);
  debug("now shown");
  EXPECT_EQ(lines().size(), 2u);
}

TEST_F(LogTest, SecretsAreRedacted) {
  capture(Level::kInfo, Format::kJson);
  const core::Secret token("s3cr3t-token-value");
  info("using token {}", token);
  ASSERT_EQ(lines().size(), 1u);
  EXPECT_EQ(lines()[0].find("s3cr3t"), std::string::npos);
  EXPECT_NE(lines()[0].find("[REDACTED]"), std::string::npos);
}

TEST_F(LogTest, ParsesLevelAndFormatNames) {
  EXPECT_EQ(parseLevel("debug"), Level::kDebug);
  EXPECT_EQ(parseLevel("warning"), Level::kWarn);
  EXPECT_FALSE(parseLevel("loud"));
  EXPECT_EQ(parseFormat("json"), Format::kJson);
  EXPECT_FALSE(parseFormat("xml"));
}

} // namespace
} // namespace forge::log
