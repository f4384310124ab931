#include "net/http.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace forge::net {
namespace {

TEST(HeadersTest, NamesAreCaseInsensitive) {
  Headers headers;
  headers.add("Content-Type", "application/json");
  headers.add("X-A", "1");
  headers.add("x-a", "2");
  EXPECT_EQ(headers.get("content-type"), "application/json");
  EXPECT_EQ(headers.get("X-A"), "1");
  headers.set("X-a", "3");
  EXPECT_EQ(headers.get("x-A"), "3");
  EXPECT_EQ(headers.size(), 2u);
  headers.remove("CONTENT-TYPE");
  EXPECT_FALSE(headers.has("Content-Type"));
}

TEST(RequestTest, QueryParametersArePercentDecoded) {
  Request request;
  request.query = "limit=0&name=a%20b+c&flag&bad=%zz";
  EXPECT_EQ(request.queryParam("limit"), "0");
  EXPECT_EQ(request.queryParam("name"), "a b c");
  EXPECT_EQ(request.queryParam("flag"), "");
  EXPECT_EQ(request.queryParam("bad"), "%zz");
  EXPECT_FALSE(request.queryParam("missing"));
}

TEST(ResponseTest, ErrorResponsesAreJsonWithStatusFromTheCode) {
  const auto response = Response::error(core::Errc::kPayloadTooLarge, "too big");
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.headers.get("Content-Type"), "application/json");
  const auto body = boost::json::parse(response.body).as_object();
  EXPECT_EQ(body.at("detail").as_string(), "too big");
  EXPECT_EQ(body.at("error").as_string(), "payload_too_large");
}

TEST(MethodTest, RoundTrips) {
  EXPECT_EQ(parseMethod("DELETE"), Method::kDelete);
  EXPECT_STREQ(methodName(Method::kPatch), "PATCH");
  EXPECT_EQ(parseMethod("BREW"), Method::kOther);
}

} // namespace
} // namespace forge::net
