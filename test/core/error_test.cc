#include "core/error.h"

#include <gtest/gtest.h>

namespace forge::core {
namespace {

TEST(ErrorTest, MapsEveryCodeToHttpStatusAndJsonRpcCode) {
  EXPECT_EQ(httpStatus(Errc::kPayloadTooLarge), 413);
  EXPECT_EQ(httpStatus(Errc::kHeadersTooLarge), 431);
  EXPECT_EQ(httpStatus(Errc::kNotFound), 404);
  EXPECT_EQ(httpStatus(Errc::kMethodNotAllowed), 405);
  EXPECT_EQ(httpStatus(Errc::kNotAcceptable), 406);
  EXPECT_EQ(httpStatus(Errc::kUnavailable), 503);
  EXPECT_EQ(httpStatus(Errc::kTimeout), 504);
  EXPECT_EQ(jsonRpcCode(Errc::kParseError), -32700);
  EXPECT_EQ(jsonRpcCode(Errc::kInvalidRequest), -32600);
  EXPECT_EQ(jsonRpcCode(Errc::kMethodNotFound), -32601);
  EXPECT_EQ(jsonRpcCode(Errc::kInvalidParams), -32602);
  EXPECT_EQ(jsonRpcCode(Errc::kInternal), -32603);
  EXPECT_STREQ(errcName(Errc::kPayloadTooLarge), "payload_too_large");
}

TEST(ErrorTest, ResultHoldsValueOrError) {
  Result<int> good = 42;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 42);
  Result<int> bad(Errc::kConflict, "name taken");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::kConflict);
  EXPECT_EQ(bad.error().message, "name taken");
  Status ok = Ok{};
  EXPECT_TRUE(ok);
}

} // namespace
} // namespace forge::core
