#include "manager/log_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace forge::manager {
namespace {

namespace fs = std::filesystem;

class LogFilesTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "forge-logfiles-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (dir_ / "service.log").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::vector<std::string> linesOf(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
      lines.push_back(line);
    return lines;
  }
  // "2026-11-27T14:00:00.123Z text" -> "text"; fails the test if the stamp is missing. (The
  // stamp alone goes through std::regex, which recurses per character of what it matches.)
  static std::string text(const std::string& line) {
    static const std::regex stamp(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z $)");
    constexpr std::size_t kStamped = 25;
    EXPECT_TRUE(line.size() >= kStamped && std::regex_match(line.substr(0, kStamped), stamp))
        << line.substr(0, 80);
    return line.size() >= kStamped ? line.substr(kStamped) : line;
  }
  static void writeRaw(const std::string& path, const std::string& content) {
    std::ofstream(path, std::ios::binary) << content;
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(LogFilesTest, EveryLineIsStampedAndUnfinishedLinesWait) {
  auto log = LogFile::open(path_, {});
  ASSERT_TRUE(log) << log.error().message;
  ASSERT_TRUE((*log)->append("hello\nwor"));
  EXPECT_EQ(linesOf(path_).size(), 1u); // "wor" waits for its end
  ASSERT_TRUE((*log)->append("ld\n\nlast"));
  ASSERT_TRUE((*log)->flush());
  const auto lines = linesOf(path_);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(text(lines[0]), "hello");
  EXPECT_EQ(text(lines[1]), "world");
  EXPECT_EQ(text(lines[2]), "");
  EXPECT_EQ(text(lines[3]), "last");
}

TEST_F(LogFilesTest, OverlongLinesAreCut) {
  auto log = LogFile::open(path_, {});
  ASSERT_TRUE(log);
  const std::string huge(2 * kMaxLogLineBytes + 100, 'x');
  ASSERT_TRUE((*log)->append(huge + "\n"));
  const auto lines = linesOf(path_);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(text(lines[0]).size(), kMaxLogLineBytes);
  EXPECT_EQ(text(lines[2]).size(), 100u);
}

TEST_F(LogFilesTest, RotatesAtTheSizeLimitAndKeepsThatManyFiles) {
  auto log = LogFile::open(path_, {.max_bytes = 1000, .keep = 3});
  ASSERT_TRUE(log);
  for (int i = 0; i < 200; ++i) // ~40 bytes a line: 8000 bytes, far more than 4 files hold
    ASSERT_TRUE((*log)->append("line " + std::to_string(i) + "\n"));
  for (int i = 0; i <= 3; ++i) {
    const auto file = rotatedPath(path_, i);
    ASSERT_TRUE(fs::exists(file)) << file;
    EXPECT_LE(fs::file_size(file), 1000u) << file;
    EXPECT_GT(fs::file_size(file), 0u) << file;
  }
  EXPECT_FALSE(fs::exists(rotatedPath(path_, 4)));
  // Oldest to newest, the kept lines are consecutive and end with the last one written.
  std::vector<std::string> kept;
  for (int i = 3; i >= 0; --i) {
    for (const auto& line : linesOf(rotatedPath(path_, i)))
      kept.push_back(text(line));
  }
  ASSERT_FALSE(kept.empty());
  const int first = std::stoi(kept.front().substr(5));
  EXPECT_GT(first, 0); // the oldest lines are gone
  for (std::size_t i = 0; i < kept.size(); ++i)
    EXPECT_EQ(kept[i], "line " + std::to_string(first + static_cast<int>(i)));
  EXPECT_EQ(kept.back(), "line 199");
}

TEST_F(LogFilesTest, ReopeningCountsTheExistingSize) {
  writeRaw(path_, std::string(980, 'a') + "\n");
  auto log = LogFile::open(path_, {.max_bytes = 1000, .keep = 1});
  ASSERT_TRUE(log);
  ASSERT_TRUE((*log)->append("this line does not fit any more\n"));
  EXPECT_EQ(fs::file_size(rotatedPath(path_, 1)), 981u);
  ASSERT_EQ(linesOf(path_).size(), 1u);
}

TEST_F(LogFilesTest, KeepZeroTruncates) {
  auto log = LogFile::open(path_, {.max_bytes = 100, .keep = 0});
  ASSERT_TRUE(log);
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE((*log)->append("line " + std::to_string(i) + "\n"));
  EXPECT_LE(fs::file_size(path_), 100u);
  EXPECT_FALSE(fs::exists(rotatedPath(path_, 1)));
  EXPECT_EQ(text(linesOf(path_).back()), "line 19");
}

TEST_F(LogFilesTest, TailLinesReadsAcrossRotationsNewestLast) {
  auto log = LogFile::open(path_, {.max_bytes = 500, .keep = 2});
  ASSERT_TRUE(log);
  for (int i = 0; i < 60; ++i)
    ASSERT_TRUE((*log)->append("line " + std::to_string(i) + "\n"));
  ASSERT_TRUE(fs::exists(rotatedPath(path_, 2)));
  // More lines than the newest file holds: the tail spans files.
  const auto current = linesOf(path_).size();
  const auto tail = tailLines(path_, current + 5);
  ASSERT_EQ(tail.size(), current + 5);
  for (std::size_t i = 0; i < tail.size(); ++i)
    EXPECT_EQ(text(tail[i]), "line " + std::to_string(60 - tail.size() + i));
  // Asking for more than exists returns everything kept, in order.
  const auto all = tailLines(path_, 100000);
  EXPECT_EQ(text(all.back()), "line 59");
  EXPECT_LT(all.size(), 60u);
  EXPECT_TRUE(tailLines(path_, 0).empty());
  EXPECT_TRUE(tailLines((dir_ / "missing.log").string(), 5).empty());
}

TEST_F(LogFilesTest, TailLinesHandlesEdgesOfRawFiles) {
  writeRaw(path_ + ".2", "oldest\n");
  writeRaw(path_ + ".1", "a\n\nb"); // an empty line, no final newline
  writeRaw(path_, "");
  EXPECT_EQ(tailLines(path_, 10), (std::vector<std::string>{"oldest", "a", "", "b"}));
  EXPECT_EQ(tailLines(path_, 2), (std::vector<std::string>{"", "b"}));
  // A gap ends the chain: .4 is never read.
  writeRaw(path_ + ".4", "unreachable\n");
  EXPECT_EQ(tailLines(path_, 10).front(), "oldest");
}

TEST_F(LogFilesTest, TailLinesReadsLargeFilesBackwardsAcrossChunks) {
  std::ostringstream content;
  std::vector<std::string> expected;
  for (int i = 0; i < 20000; ++i) { // ~ 400 KB: many 64 KiB chunks, lines cross their edges
    std::string line =
        "entry " + std::to_string(i) + std::string(static_cast<std::size_t>(i % 37), '.');
    content << line << '\n';
    expected.push_back(line);
  }
  writeRaw(path_, content.str());
  const auto tail = tailLines(path_, 15000);
  ASSERT_EQ(tail.size(), 15000u);
  EXPECT_TRUE(std::equal(tail.begin(), tail.end(), expected.end() - 15000));
}

TEST_F(LogFilesTest, TailLinesBoundsARunawayLine) {
  writeRaw(path_, "start" + std::string(3 * kMaxLogLineBytes, 'z') + "\nshort\n");
  const auto tail = tailLines(path_, 5);
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail[0].size(), kMaxLogLineBytes);
  EXPECT_EQ(tail[0].substr(0, 5), "start");
  EXPECT_EQ(tail[1], "short");
}

} // namespace
} // namespace forge::manager
