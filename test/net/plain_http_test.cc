#include "net/plain_http.h"

#include "net/beast_reader_impl.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace forge::net {
namespace {

constexpr std::size_t kHeaderLimit = 8192;
constexpr std::uint64_t kBodyLimit = 1 << 20;

const std::string kCall =
    "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: application/json\r\n"
    "Accept: application/json, text/event-stream\r\nContent-Length: 13\r\n"
    "Mcp-Session-Id: 0123456789abcdef\r\nMCP-Protocol-Version: 2025-06-18\r\n\r\n"
    R"({"jsonrpc":1})";

std::vector<std::pair<std::string, std::string>> fields(const Request& request) {
  return {request.headers.begin(), request.headers.end()};
}

// Both readers take `bytes` alike: the same request, size and keep-alive.
void expectSameAsBeast(const std::string& bytes) {
  SCOPED_TRACE(bytes);
  const auto plain = readPlainRequest(bytes, kHeaderLimit, kBodyLimit);
  ASSERT_TRUE(plain);
  const auto beast = readWhole(bytes, kHeaderLimit, kBodyLimit);
  ASSERT_FALSE(beast.ec) << beast.ec.message();
  EXPECT_EQ(plain->size, beast.size);
  EXPECT_EQ(plain->keep_alive, beast.keep_alive);
  EXPECT_EQ(plain->request->method, beast.request->method);
  EXPECT_EQ(plain->request->target, beast.request->target);
  EXPECT_EQ(fields(*plain->request), fields(*beast.request));
  EXPECT_EQ(plain->request->body, beast.request->body);
}

TEST(PlainRequestTest, ReadsACallAsBeastDoes) {
  const auto plain = readPlainRequest(kCall, kHeaderLimit, kBodyLimit);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->size, kCall.size());
  EXPECT_TRUE(plain->keep_alive);
  EXPECT_EQ(plain->request->method, Method::kPost);
  EXPECT_EQ(plain->request->target, "/mcp");
  EXPECT_EQ(plain->request->headers.get("mcp-session-id"), "0123456789abcdef");
  EXPECT_EQ(plain->request->body, R"({"jsonrpc":1})");
  expectSameAsBeast(kCall);
}

TEST(PlainRequestTest, AgreesWithBeastOnThePlainRequestsItReads) {
  for (const std::string& bytes : {
           std::string("GET /health?x=1&y=%20 HTTP/1.1\r\nHost: a\r\n\r\n"),
           std::string("DELETE /mcp HTTP/1.1\r\nConnection: close\r\n\r\n"),
           std::string("GET / HTTP/1.1\r\nconnection: Keep-Alive , close\r\n\r\n"),
           std::string("POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
           std::string("POST /x HTTP/1.1\r\nContent-Length: 003\r\n\r\nabc"),
           std::string("PUT /x HTTP/1.1\r\nX-Empty:\r\nX-Spaces: \t a b \t \r\n\r\n"),
           std::string("PATCH /x HTTP/1.1\r\nX-Utf8: caf\xc3\xa9\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n"),
           std::string("OPTIONS * HTTP/1.1\r\nAccess-Control-Request-Method: POST\r\n\r\n"),
           kCall,
       }) {
    expectSameAsBeast(bytes);
  }
}

TEST(PlainRequestTest, LeavesTheNextPipelinedRequestInTheBuffer) {
  const std::string second = "GET /b HTTP/1.1\r\n\r\n";
  const auto plain = readPlainRequest(kCall + second, kHeaderLimit, kBodyLimit);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->size, kCall.size());
}

TEST(PlainRequestTest, LeavesEverythingUnusualToBeast) {
  for (const std::string& bytes : {
           std::string("GET / HTTP/1.0\r\n\r\n"),                             // version
           std::string("GET / HTTP/1.1\r\nHost: a\r\n"),                      // no end yet
           std::string("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort"), // body to come
           std::string("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
           std::string("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx"),
           std::string("GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"),
           std::string("GET / HTTP/1.1\r\nConnection: upgrade\r\n\r\n"),
           std::string("GET / HTTP/1.1\r\nProxy-Connection: close\r\n\r\n"),
           std::string("GET / HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n"), // obs-fold
           std::string("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"),
           std::string("POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\nx"),
           std::string("POST / HTTP/1.1\r\nContent-Length: 1 1\r\n\r\nx"),
           std::string("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
           std::string("POST / HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n"), // over limit
           std::string("BREW / HTTP/1.1\r\n\r\n"),                            // method
           std::string("get / HTTP/1.1\r\n\r\n"),
           std::string("GET /a b HTTP/1.1\r\n\r\n"), // target
           std::string("GET /\x7f HTTP/1.1\r\n\r\n"),
           std::string("GET / HTTP/1.1\r\nX-A : 1\r\n\r\n"), // name
           std::string("GET / HTTP/1.1\r\nX\x01: 1\r\n\r\n"),
           std::string("GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n"),       // bare CR
           std::string("GET / HTTP/1.1\r\nX-A: a\nb\r\n\r\n"),       // bare LF
           std::string("GET / HTTP/1.1\r\nX-A: a\x00b\r\n\r\n", 28), // NUL
           std::string("\r\nGET / HTTP/1.1\r\n\r\n"),
       }) {
    SCOPED_TRACE(bytes);
    EXPECT_FALSE(readPlainRequest(bytes, kHeaderLimit, kBodyLimit));
  }
}

TEST(PlainRequestTest, AHeadAtTheLimitIsLeftToBeast) {
  const std::string bytes = "GET / HTTP/1.1\r\nX-Pad: " + std::string(100, 'p') + "\r\n\r\n";
  EXPECT_FALSE(readPlainRequest(bytes, bytes.size(), kBodyLimit));
  EXPECT_TRUE(readPlainRequest(bytes, bytes.size() + 1, kBodyLimit));
}

const std::string kAnswer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                            "Mcp-Session-Id: s-1\r\nContent-Length: 11\r\n\r\n{\"id\":true}";

// Both readers take `bytes` alike: the same status, Content-Type, session, body, size and
// keep-alive.
void expectSameAnswerAsBeast(const std::string& bytes) {
  SCOPED_TRACE(bytes);
  PlainAnswer plain;
  ASSERT_EQ(readPlainAnswer(bytes, kHeaderLimit, kBodyLimit, plain), PlainAnswer::kPlain);
  const auto beast = readWholeAnswer(bytes, kHeaderLimit, kBodyLimit);
  ASSERT_FALSE(beast.ec) << beast.ec.message();
  EXPECT_EQ(plain.status, beast.status);
  EXPECT_EQ(plain.content_type, beast.content_type);
  EXPECT_EQ(plain.session_id, beast.session_id);
  EXPECT_EQ(plain.body, beast.body);
  EXPECT_EQ(plain.size, beast.size);
  EXPECT_EQ(plain.keep_alive, beast.keep_alive);
}

TEST(PlainAnswerTest, ReadsAJsonAnswerAsBeastDoes) {
  PlainAnswer plain;
  ASSERT_EQ(readPlainAnswer(kAnswer, kHeaderLimit, kBodyLimit, plain), PlainAnswer::kPlain);
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(plain.content_type, "application/json");
  EXPECT_EQ(plain.session_id, "s-1");
  EXPECT_EQ(plain.body, R"({"id":true})");
  EXPECT_EQ(plain.size, kAnswer.size());
  EXPECT_TRUE(plain.keep_alive);
  for (const std::string& bytes : {
           kAnswer,
           std::string("HTTP/1.1 201 \r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
           std::string("HTTP/1.1 202 Accepted\r\ncontent-type: a\r\nContent-Type: b\r\n"
                       "Content-Length: 2\r\n\r\nok"),
           kAnswer + "HTTP/1.1 200 OK\r\n", // the next answer's start stays in the buffer
           // The first of each field counts, even when it is empty.
           std::string("HTTP/1.1 200 OK\r\nContent-Type:\r\nContent-Type: a/b\r\n"
                       "Mcp-Session-Id:\r\nMcp-Session-Id: s\r\nContent-Length: 0\r\n\r\n"),
       }) {
    expectSameAnswerAsBeast(bytes);
  }
}

TEST(PlainAnswerTest, SaysWhenTheHeadIsStillArriving) {
  PlainAnswer plain;
  EXPECT_EQ(readPlainAnswer("HTTP/1.1 200 OK\r\nContent-Le", kHeaderLimit, kBodyLimit, plain),
            PlainAnswer::kIncomplete);
  // No end of the head within the limit: not for this reader.
  EXPECT_EQ(readPlainAnswer(std::string(100, 'x'), 64, kBodyLimit, plain), PlainAnswer::kNotPlain);
}

TEST(PlainAnswerTest, LeavesEverythingElseToBeast) {
  for (const std::string& bytes : {
           std::string("HTTP/1.1 200 OK\r\n\r\nno length: ends with the connection"),
           std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
           std::string("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/1.1 101 Switching\r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc"), // body to come
           std::string("HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n"),
           std::string("HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n"),
       }) {
    SCOPED_TRACE(bytes);
    PlainAnswer plain;
    EXPECT_EQ(readPlainAnswer(bytes, kHeaderLimit, kBodyLimit, plain), PlainAnswer::kNotPlain);
  }
}

} // namespace
} // namespace forge::net
