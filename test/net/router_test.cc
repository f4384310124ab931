#include "net/router.h"

#include "mocks/net/recording_writer.h"

#include <gtest/gtest.h>

namespace forge::net {
namespace {

RequestPtr makeRequest(Method method, std::string path) {
  auto request = std::make_shared<Request>();
  request->method = method;
  request->path = std::move(path);
  return request;
}

class RouterTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto echo = [this](const std::string& tag) {
      return [this, tag](const RequestPtr& request, const ResponseWriterPtr& writer) {
        last_tag_ = tag;
        last_params_ = request->params;
        writer->send(Response{200, {}, tag});
      };
    };
    router_.add(Method::kGet, "/servers/{id}", echo("get-server"));
    router_.add(Method::kDelete, "/servers/{id}", echo("delete-server"));
    router_.add(Method::kPost, "/servers/{id}/mcp", echo("server-mcp"));
    router_.add(Method::kGet, "/static/{path...}", echo("static"));
    router_.add(Method::kGet, "/health", echo("health"));
  }

  std::optional<Response> run(Method method, std::string path) {
    auto writer = std::make_shared<test::RecordingWriter>();
    router_.dispatch(makeRequest(method, std::move(path)), writer);
    return writer->response();
  }

  Router router_;
  std::string last_tag_;
  std::map<std::string, std::string, std::less<>> last_params_;
};

TEST_F(RouterTest, MatchesPlaceholders) {
  ASSERT_EQ(run(Method::kPost, "/servers/abc-1/mcp")->status, 200);
  EXPECT_EQ(last_tag_, "server-mcp");
  EXPECT_EQ(last_params_.at("id"), "abc-1");
  ASSERT_EQ(run(Method::kDelete, "/servers/7")->status, 200);
  EXPECT_EQ(last_tag_, "delete-server");
}

TEST_F(RouterTest, RestPlaceholderTakesTheRemainingPath) {
  ASSERT_EQ(run(Method::kGet, "/static/css/app.css")->status, 200);
  EXPECT_EQ(last_params_.at("path"), "css/app.css");
  EXPECT_EQ(run(Method::kGet, "/static")->status, 404);
}

TEST_F(RouterTest, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  EXPECT_EQ(run(Method::kGet, "/nowhere")->status, 404);
  EXPECT_EQ(run(Method::kGet, "/servers/1/mcp/extra")->status, 404);
  const auto response = run(Method::kPut, "/servers/1");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 405);
  EXPECT_EQ(response->headers.get("Allow"), "GET, DELETE");
}

TEST_F(RouterTest, HeadIsServedByGetRoutes) {
  EXPECT_EQ(run(Method::kHead, "/health")->status, 200);
  EXPECT_EQ(last_tag_, "health");
}

TEST_F(RouterTest, ListsRoutes) { EXPECT_EQ(router_.routes().size(), 5u); }

// Routes are looked up by their first segment, yet the first one added still wins, whether its
// first segment is a literal or a placeholder; 405 names the methods of both kinds, once each.
TEST_F(RouterTest, TheFirstRouteAddedWinsAcrossLiteralAndPlaceholderStarts) {
  router_.add(Method::kGet, "/{tenant}/status",
              [this](const RequestPtr& r, const ResponseWriterPtr& w) {
                last_tag_ = "tenant-status";
                last_params_ = r->params;
                w->send(Response{200, {}, ""});
              });
  router_.add(Method::kPost, "/health", [this](const RequestPtr&, const ResponseWriterPtr& w) {
    last_tag_ = "post-health";
    w->send(Response{200, {}, ""});
  });
  router_.add(Method::kPut, "/servers/status",
              [this](const RequestPtr&, const ResponseWriterPtr& w) {
                last_tag_ = "servers-status";
                w->send(Response{200, {}, ""});
              });
  // "/servers/{id}" (added first, literal start) wins over "/{tenant}/status" for GET.
  ASSERT_EQ(run(Method::kGet, "/servers/status")->status, 200);
  EXPECT_EQ(last_tag_, "get-server");
  // The placeholder route, added before "/servers/status", wins over it for GET only.
  ASSERT_EQ(run(Method::kPut, "/servers/status")->status, 200);
  EXPECT_EQ(last_tag_, "servers-status");
  ASSERT_EQ(run(Method::kGet, "/acme/status")->status, 200);
  EXPECT_EQ(last_tag_, "tenant-status");
  EXPECT_EQ(last_params_.at("tenant"), "acme");
  ASSERT_EQ(run(Method::kPost, "/health")->status, 200);
  EXPECT_EQ(last_tag_, "post-health");
  const auto response = run(Method::kPatch, "/servers/status");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 405);
  EXPECT_EQ(response->headers.get("Allow"), "GET, DELETE, PUT");
}

} // namespace
} // namespace forge::net
