#include "mcp/message.h"

#include "mcp/protocol.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <limits>

namespace forge::mcp {
namespace {

TEST(MessageTest, ParsesEveryKind) {
  auto request = parse(R"({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}})");
  ASSERT_TRUE(request);
  EXPECT_EQ(request->messages[0].kind, Kind::kRequest);
  EXPECT_EQ(request->messages[0].method, "tools/list");
  EXPECT_FALSE(request->batch);

  auto notification = parse(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  ASSERT_TRUE(notification);
  EXPECT_EQ(notification->messages[0].kind, Kind::kNotification);

  auto result = parse(R"({"jsonrpc":"2.0","id":"a","result":{"ok":true}})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->messages[0].kind, Kind::kResult);

  auto error = parse(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}})");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->messages[0].kind, Kind::kError);
  EXPECT_EQ(toError(error->messages[0]).code, core::Errc::kParseError);
}

TEST(MessageTest, ParsesBatches) {
  auto batch = parse(R"([{"jsonrpc":"2.0","id":1,"method":"ping"},
                         {"jsonrpc":"2.0","method":"notifications/initialized"}])");
  ASSERT_TRUE(batch);
  EXPECT_TRUE(batch->batch);
  EXPECT_EQ(batch->messages.size(), 2u);
  EXPECT_EQ(parse("[]").error().code, core::Errc::kInvalidRequest);
}

TEST(MessageTest, RejectsMalformedInput) {
  EXPECT_EQ(parse("{not json").error().code, core::Errc::kParseError);
  EXPECT_EQ(parse("42").error().code, core::Errc::kInvalidRequest);
  EXPECT_EQ(parse(R"({"id":1,"method":"x"})").error().code, core::Errc::kInvalidRequest);
  EXPECT_EQ(parse(R"({"jsonrpc":"1.0","id":1,"method":"x"})").error().code,
            core::Errc::kInvalidRequest);
  EXPECT_EQ(parse(R"({"jsonrpc":"2.0","id":1.5,"method":"x"})").error().code,
            core::Errc::kInvalidRequest);
  EXPECT_EQ(parse(R"({"jsonrpc":"2.0","id":1,"method":""})").error().code,
            core::Errc::kInvalidRequest);
  EXPECT_EQ(parse(R"({"jsonrpc":"2.0","id":1,"method":"x","params":3})").error().code,
            core::Errc::kInvalidRequest);
  EXPECT_EQ(parse(R"({"jsonrpc":"2.0","id":1})").error().code, core::Errc::kInvalidRequest);
}

TEST(MessageTest, SerializesRoundTrip) {
  const auto request = makeRequest(7, "tools/call", json::object{{"name", "echo"}});
  const auto back = parse(serialize(request));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->messages[0].id, json::value(7));
  EXPECT_EQ(back->messages[0].paramsObject().at("name"), "echo");
  const auto error = makeError("x", core::Error{core::Errc::kMethodNotFound, "no such method"});
  EXPECT_EQ(boost::json::parse(serialize(error)).at("error").at("code"), -32601);
}

TEST(MessageTest, SerializeWritesWhatToJsonHolds) {
  const json::object params{{"name", "e\"cho"},
                            {"arguments", json::object{{"list", json::array{1, "two"}}}}};
  for (const auto& message :
       {makeRequest("id-1", "tools/\"call\"", params), makeRequest(2, "ping"),
        makeRequest(-9, "t\u00f6ols/call"), makeRequest("a\\b\"c", "x\x01y"),
        makeRequest(json::value(std::uint64_t{18446744073709551615u}), "m"),
        makeNotification("notifications/initialized"), makeNotification("x", params),
        makeResult(3, json::object{{"content", json::array{json::object{{"text", "a\nb"}}}}}),
        makeError(nullptr, -32600, "bad \\ request", json::object{{"why", "no"}})}) {
    EXPECT_EQ(serialize(message), boost::json::serialize(toJson(message)));
  }
}

TEST(MessageTest, ANumberTooLargeForADoubleIsAParseError) {
  // Read as infinity, it would be written back as `Infinity`, which is not JSON.
  for (
      const char* text :
      {R"({"jsonrpc":"2.0","method":"n","params":{"x":1e523}})",
       R"([{"jsonrpc":"2.0","id":1,"result":{"x":[-1e400]}}])",
       R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"x":1e999}}})",
       R"({"jsonrpc":"2.0","id":1,"result":{"content":[],"n":1e999}})"}) {
    const auto parsed = parse(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().code, core::Errc::kParseError);
    EXPECT_NE(parsed.error().message.find("out of range"), std::string::npos);
  }
  EXPECT_FALSE(readPlainCall(
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"x":1e999}}})"));
  EXPECT_FALSE(readPlainResult(R"({"jsonrpc":"2.0","id":1,"result":{"n":1e999}})"));
  // Large but finite numbers pass.
  EXPECT_TRUE(parse(R"({"jsonrpc":"2.0","method":"n","params":{"x":1e300}})"));
}

TEST(MessageTest, ParsedMessagesKeepTheirParamsAndResults) {
  auto parsed = parse(R"([{"jsonrpc":"2.0","id":1,"method":"m","params":{"a":[1,2]}},
                          {"jsonrpc":"2.0","id":2,"result":{"content":[{"text":"hi"}]}}])");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->messages[0].params, boost::json::parse(R"({"a":[1,2]})"));
  EXPECT_EQ(parsed->messages[1].result, boost::json::parse(R"({"content":[{"text":"hi"}]})"));
  const json::value value = boost::json::parse(R"({"jsonrpc":"2.0","id":1,"result":{"x":1}})");
  auto converted = fromJson(value);
  ASSERT_TRUE(converted);
  EXPECT_EQ(converted->result, value.at("result")); // a const value is copied, not moved from
}

TEST(MessageTest, IdKeysDistinguishStringsFromNumbers) {
  EXPECT_NE(idKey(json::value(1)), idKey(json::value("1")));
  EXPECT_EQ(idKey(json::value(1)), idKey(json::value(std::uint64_t{1})));
  EXPECT_EQ(idKey(json::value(-42)), "n:-42");
  EXPECT_EQ(idKey(json::value(std::numeric_limits<std::int64_t>::min())), "n:-9223372036854775808");
  EXPECT_EQ(idKey(json::value(std::numeric_limits<std::uint64_t>::max())),
            "n:18446744073709551615");
  EXPECT_EQ(idKey(json::value("a long string id, past the small-string buffer")),
            "s:a long string id, past the small-string buffer");
  EXPECT_EQ(idKey(json::value(1.5)), "x:1.5E0");
}

TEST(ProtocolTest, NegotiatesVersions) {
  EXPECT_EQ(negotiateVersion("2025-06-18"), "2025-06-18");
  EXPECT_EQ(negotiateVersion("2024-11-05"), "2024-11-05");
  EXPECT_EQ(negotiateVersion("1999-01-01"), "2025-11-25");
  EXPECT_TRUE(allowsBatches("2025-03-26"));
  EXPECT_FALSE(allowsBatches("2025-06-18"));
}

// An answer that is only forwarded: validated, id read, result kept as written (on one line).
TEST(PlainResultTest, KeepsTheResultAsWrittenOnOneLine) {
  const std::string text = "{\"jsonrpc\":\"2.0\",\r\n \"id\": 7,\n \"result\": {\"content\":"
                           " [{\"type\":\"text\",\"text\":\"a \\\"b\\\" \\n c}]\"}],\n"
                           "  \"isError\": false}\n}";
  const auto plain = readPlainResult(text);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->kind, Kind::kResult);
  EXPECT_EQ(plain->id, json::value(7));
  EXPECT_TRUE(plain->result.is_null());
  EXPECT_FALSE(plain->raw_result_is_error);
  EXPECT_EQ(plain->raw_result.find('\n'), std::string::npos);
  EXPECT_EQ(
      json::parse(plain->raw_result),
      json::parse(R"({"content":[{"type":"text","text":"a \"b\" \n c}]"}],"isError":false})"));
  // Written out for the client: the same message a parsed result gives.
  auto parsed = parse(text);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(json::parse(serialize(*plain)), toJson(parsed->messages[0]));
  EXPECT_EQ(toJson(*plain), toJson(parsed->messages[0]));
}

TEST(PlainResultTest, ReadsStringIdsAndToolErrors) {
  const auto plain = readPlainResult(
      R"({"result":{"isError":true,"content":[{"isError":false}]},"id":"a\"b","jsonrpc":"2.0"})");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->id, json::value("a\"b"));
  EXPECT_TRUE(plain->raw_result_is_error); // the top level of the result, not a nested flag
  const auto scalar = readPlainResult(R"({"jsonrpc":"2.0","id":1,"result":42})");
  ASSERT_TRUE(scalar);
  EXPECT_EQ(scalar->raw_result, "42");
}

// Whatever is not a plain result is left to parse(): it says why it is wrong, or what it is.
TEST(PlainResultTest, LeavesEverythingElseToTheParser) {
  for (const char* text : {
           R"({"jsonrpc":"2.0","id":1,"result":{"a":1})",                  // cut short
           R"({"jsonrpc":"2.0","id":1,"result":{"a":01}})",                // not JSON
           R"({"jsonrpc":"2.0","id":1,"result":"\ud800"} x)",              // trailing bytes
           R"({"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"m"}})", // an error
           R"({"jsonrpc":"2.0","id":1,"result":{},"error":{}})",           // both
           R"({"jsonrpc":"2.0","id":1,"method":"ping"})",                  // a request
           R"([{"jsonrpc":"2.0","id":1,"result":{}}])",                    // a batch
           R"({"jsonrpc":"1.0","id":1,"result":{}})",                      // the wrong version
           R"({"id":1,"result":{}})",                                      // no version
           R"({"jsonrpc":"2.0","id":null,"result":{}})",                   // no usable id
           R"({"jsonrpc":"2.0","id":1.5,"result":{}})",                    // nor this
           R"({"jsonrpc":"2.0","id":1,"result":{},"result":{}})",          // which result?
           R"({"jsonrpc":"2.0","id":1,"\u0072esult":{}})",                 // an escaped key
       }) {
    EXPECT_FALSE(readPlainResult(text)) << text;
  }
}

TEST(PlainCallTest, KeepsTheParamsAsWrittenOnOneLine) {
  const std::string text = "{\"jsonrpc\":\"2.0\", \"id\": \"c1\", \"method\": \"tools/call\",\n"
                           " \"params\": {\"name\": \"fixture__echo\",\r\n"
                           "  \"arguments\": {\"text\": \"a \\\"name\\\": \\n b\"}}}";
  auto parsed = parse(text); // parse() takes this way for a tools/call
  ASSERT_TRUE(parsed);
  const Message& call = parsed->messages[0];
  EXPECT_EQ(call.kind, Kind::kRequest);
  EXPECT_EQ(call.id, json::value("c1"));
  EXPECT_EQ(call.method, "tools/call");
  EXPECT_TRUE(call.params.is_null()); // not built until someone asks
  EXPECT_EQ(call.raw_params.find('\n'), std::string::npos);
  EXPECT_EQ(call.paramString("name"), "fixture__echo");
  EXPECT_TRUE(call.hasParam("arguments"));
  EXPECT_FALSE(call.hasParam("_meta"));
  EXPECT_EQ(call.paramString("arguments"), std::nullopt); // not a string
  EXPECT_EQ(call.paramString("missing"), std::nullopt);
  // Written out: the same message a DOM gives; asked for, the params are parsed.
  const auto dom = fromJson(json::parse(text));
  ASSERT_TRUE(dom);
  EXPECT_EQ(json::parse(serialize(call)), toJson(*dom));
  EXPECT_EQ(call.paramsObject(), dom->paramsObject());
  EXPECT_EQ(call.paramsValue().at("arguments").at("text"), "a \"name\": \n b");
}

TEST(PlainCallTest, RenamesTheToolInTheText) {
  auto parsed =
      parse(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{"name":"x"},)"
            R"("name":"up__echo","_meta":{"progressToken":5}}})");
  ASSERT_TRUE(parsed);
  const Message& call = parsed->messages[0];
  ASSERT_FALSE(call.raw_params.empty());
  EXPECT_TRUE(call.hasParam("_meta"));
  const Message renamed = withStringParam(call, "name", "echo \"2\"");
  EXPECT_TRUE(renamed.params.is_null());
  EXPECT_EQ(renamed.method, "tools/call");
  EXPECT_EQ(json::parse(renamed.raw_params),
            json::parse(R"({"arguments":{"name":"x"},"name":"echo \"2\"",)"
                        R"("_meta":{"progressToken":5}})"));
  EXPECT_EQ(renamed.paramString("name"), "echo \"2\""); // decoded from its escapes
  // Changing the params drops the text, so that what is written is what was changed.
  Message changed = renamed;
  changed.mutableParams().get_object()["name"] = "other";
  EXPECT_TRUE(changed.raw_params.empty());
  EXPECT_EQ(json::parse(serialize(changed)).at("params").at("name"), "other");
  // Params built as a DOM are renamed in the DOM.
  const Message built =
      makeRequest(1, "prompts/get", json::object{{"name", "up__p"}, {"arguments", json::object{}}});
  const Message renamed_built = withStringParam(built, "name", "p");
  EXPECT_TRUE(renamed_built.raw_params.empty());
  EXPECT_EQ(renamed_built.paramsObject().at("name"), "p");
  EXPECT_EQ(renamed_built.method, "prompts/get");
}

// What cannot travel as text safely is parsed as before: a lookup in the text must find what
// the upstream's parser will (the last of two "name" members, a key's escapes decoded).
TEST(PlainCallTest, LeavesEverythingElseToTheParser) {
  for (const char* text : {
           R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","name":"b"}})",
           R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"n\u0061me":"a"}})",
           R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{},"_meta":{}}})",
           R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1]})",
           R"({"jsonrpc":"2.0","method":"tools/call","params":{"name":"a"}})", // no id
           R"({"jsonrpc":"2.0","id":1,"id":null,"method":"tools/call","params":{}})",
           R"({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}})",
           R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{},"params":{}})",
           R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"})", // cut short
           R"([{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"}}])",
       }) {
    EXPECT_FALSE(readPlainCall(text)) << text;
  }
  auto twice =
      parse(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","name":"b"}})");
  ASSERT_TRUE(twice);
  EXPECT_TRUE(twice->messages[0].raw_params.empty());
  EXPECT_EQ(twice->messages[0].paramString("name"), "b");
  EXPECT_FALSE(parse(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"})"));
}

} // namespace
} // namespace forge::mcp
