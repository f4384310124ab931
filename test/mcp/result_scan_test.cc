#include "mcp/result_scan.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace forge::mcp {
namespace {

// What mcp::parse() (Boost.JSON's DOM parser) makes of `text`, which scanResult() must agree
// with whenever it answers: the same id, the same result, the same isError.
::testing::AssertionResult agreesWithParse(const std::string& text) {
  const auto scanned = scanResult(text);
  if (!scanned) return ::testing::AssertionSuccess(); // not sure: the parser decides alone
  auto parsed = parse(text);
  if (!parsed) return ::testing::AssertionFailure() << "scanned, but the parser refuses: " << text;
  if (parsed->batch || parsed->messages.size() != 1 || parsed->messages[0].kind != Kind::kResult) {
    return ::testing::AssertionFailure() << "scanned, but not one result: " << text;
  }
  const Message& message = parsed->messages[0];
  if (message.id != scanned->id) return ::testing::AssertionFailure() << "id differs: " << text;
  boost::system::error_code ec;
  const json::value result = boost::json::parse(scanned->result, ec);
  if (ec || result != message.result) {
    return ::testing::AssertionFailure() << "result differs: " << text;
  }
  const auto* flag = result.is_object() ? result.get_object().if_contains("isError") : nullptr;
  const bool is_error = flag && flag->is_bool() && flag->get_bool();
  if (is_error != scanned->is_error) {
    return ::testing::AssertionFailure() << "isError differs: " << text;
  }
  return ::testing::AssertionSuccess();
}

std::string answer(std::string_view id, std::string_view result) {
  return R"({"jsonrpc":"2.0","id":)" + std::string(id) + R"(,"result":)" + std::string(result) +
         "}";
}

const std::string kEcho =
    R"({"content":[{"type":"text","text":")" + std::string(1024, 'x') + R"("}],"isError":false})";

TEST(ResultScanTest, ReadsTheUsualAnswerInOnePass) {
  const std::string text = answer("7", kEcho);
  const auto scanned = scanResult(text);
  ASSERT_TRUE(scanned);
  EXPECT_EQ(scanned->id, json::value(7));
  EXPECT_EQ(scanned->result, kEcho);
  EXPECT_FALSE(scanned->is_error);
  EXPECT_FALSE(scanned->result_has_line_breaks);
  EXPECT_TRUE(agreesWithParse(text));
}

TEST(ResultScanTest, ReadsIdsAndIsErrorAsTheParserDoes) {
  EXPECT_EQ(scanResult(answer(R"("abc")", "{}"))->id, json::value("abc"));
  EXPECT_EQ(scanResult(answer("18446744073709551615", "{}"))->id,
            json::value(std::uint64_t{18446744073709551615u}));
  EXPECT_EQ(scanResult(answer("-5", "{}"))->id, json::value(-5));
  EXPECT_TRUE(scanResult(answer("1", R"({"content":[],"isError":true})"))->is_error);
  // isError counts at the top of the result only, and only as a boolean.
  EXPECT_FALSE(scanResult(answer("1", R"({"a":{"isError":true}})"))->is_error);
  EXPECT_FALSE(scanResult(answer("1", R"({"isError":"true"})"))->is_error);
  EXPECT_FALSE(scanResult(answer("1", R"([{"isError":true}])"))->is_error);
  for (const auto* result : {"42", "-0.5", R"("text")", "[1,[2,{}]]", "null", "true", "{}"}) {
    const std::string text = answer("1", result);
    ASSERT_TRUE(scanResult(text)) << text;
    EXPECT_EQ(scanResult(text)->result, result);
    EXPECT_TRUE(agreesWithParse(text));
  }
}

TEST(ResultScanTest, ChecksStringsWhateverTheirLength) {
  // The character that needs a look lands at every offset of the 16-byte blocks.
  for (std::size_t n = 0; n < 40; ++n) {
    const std::string run(n, 'a');
    for (const std::string& inner : {run, run + R"(\")", run + "\\u00e9", run + "é", run + "𝄞"}) {
      const std::string text = answer("1", "\"" + inner + "\"");
      EXPECT_TRUE(scanResult(text)) << text;
      EXPECT_TRUE(agreesWithParse(text));
    }
    for (const std::string& bad : {run + "\x01", run + "\n", run + "\x80", run + "\xc0\x80",
                                   run + "\xed\xa0\x80", run + "\xf5\x80\x80\x80", run + "\\x"}) {
      const std::string text = answer("1", "\"" + bad + "\"");
      EXPECT_FALSE(scanResult(text)) << text;
      EXPECT_FALSE(parse(text)) << text;
    }
  }
}

TEST(ResultScanTest, NotesLineBreaksBetweenTokens) {
  const std::string text = "{\n  \"jsonrpc\": \"2.0\",\n  \"id\": 1,\n  \"result\": {\n    \"a\": "
                           "[1,\r\n 2]\n  }\n}\n";
  const auto scanned = scanResult(text);
  ASSERT_TRUE(scanned);
  EXPECT_TRUE(scanned->result_has_line_breaks);
  EXPECT_TRUE(agreesWithParse(text));
  const auto plain = readPlainResult(text);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->raw_result.find_first_of("\r\n"), std::string::npos);
  EXPECT_EQ(boost::json::parse(plain->raw_result), boost::json::parse(R"({"a":[1,2]})"));
}

TEST(ResultScanTest, RefusesWhatIsNotJson) {
  for (const std::string& text :
       {answer("1", R"({"a":1,})"), answer("1", "[1,]"), answer("1", R"({"a" 1})"),
        answer("1", "01"), answer("1", "1."), answer("1", ".5"), answer("1", "-"),
        answer("1", "+1"), answer("1", "tru"), answer("1", "nul"), answer("1", "[1 2]"),
        answer("1", "{\"a\":1}}"), answer("1", "{") + "x", answer("1", "1") + " {}",
        std::string(R"({"jsonrpc":"2.0","id":1,"result":1)"), std::string(), std::string("{}"),
        std::string("[]"), "\xef\xbb\xbf" + answer("1", "1")}) {
    EXPECT_FALSE(scanResult(text)) << text;
    EXPECT_TRUE(agreesWithParse(text));
  }
}

TEST(ResultScanTest, LeavesToTheParserWhatItIsNotSureOf) {
  for (const std::string& text :
       {answer("1", "1e5"),                      // may be out of range
        answer("1", R"("\ud834\udd1e")"),        // a surrogate pair
        answer("1", std::string(301, '1')),      // long enough to overflow
        answer("-0", "1"), answer("1.0", "1"),   // not plain ids
        answer(R"("a\"b")", "1"),                // an escaped id
        answer("1", R"({"is\u0045rror":true})"), // an escaped key of the result
        std::string(R"({"jsonrpc":"2.0","id":1,"res\u0075lt":1})"),
        std::string(R"({"jsonrpc":"2.0","id":1,"id":2,"result":1})"),
        std::string(R"({"jsonrpc":"2.0","id":1,"result":1,"result":2})"),
        std::string(R"({"jsonrpc":"2.0","jsonrpc":"2.0","id":1,"result":1})"),
        answer("1", R"({"isError":false,"isError":true})"),
        std::string(R"({"jsonrpc":"2.0","id":1,"result":1,"error":{}})"),
        std::string(R"({"jsonrpc":"2.0","id":1,"method":"x","result":1})"),
        std::string(R"({"jsonrpc":"1.0","id":1,"result":1})"),
        std::string(R"({"id":1,"result":1})"), std::string(R"({"jsonrpc":"2.0","id":1})")}) {
    EXPECT_FALSE(scanResult(text)) << text;
  }
  // Nesting: the top level is 1; past 30 the parser decides (its own limit is 32).
  const auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  EXPECT_TRUE(scanResult(answer("1", nested(29))));
  EXPECT_FALSE(scanResult(answer("1", nested(30))));
}

// Random edits of valid answers: whatever scanResult() accepts, the parser reads the same way.
TEST(ResultScanTest, AgreesWithTheParserOnEditedAnswers) {
  const std::vector<std::string> seeds = {
      answer("7", kEcho.substr(0, 120) + R"("}],"isError":false})"),
      answer(R"("id-1")", R"({"a":[1,-2.5,true,false,null,"é\n\u0041"],"isError":true})"),
      "{\n \"result\" : { \"x\" : [ ] } , \"id\" : 3 , \"jsonrpc\" : \"2.0\" }",
  };
  const std::string alphabet = "{}[]\":,\\ \n-+.0123456789eEtrufalsnu\x01\x7f\x80\xc3\xa9\xed\xf4";
  std::mt19937 random(20261206);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text = seeds[random() % seeds.size()];
    for (int edits = 1 + static_cast<int>(random() % 3); edits > 0; --edits) {
      const std::size_t at = random() % (text.size() + 1);
      const char c = alphabet[random() % alphabet.size()];
      switch (random() % 3) {
      case 0:
        text.insert(at, 1, c);
        break;
      case 1:
        if (at < text.size()) text.erase(at, 1);
        break;
      default:
        if (at < text.size()) text[at] = c;
      }
    }
    ASSERT_TRUE(agreesWithParse(text));
    accepted += scanResult(text).has_value();
  }
  EXPECT_GT(accepted, 1000); // the edits left many answers valid, and those were read
}

} // namespace
} // namespace forge::mcp
