// HttpUrl parsing for http:// and https://, the plain-only parsing of the clients without TLS,
// and net::fetch against an in-process HttpServer serving HTTPS with a throwaway certificate:
// trusted through the CA file or $FORGE_CA_FILE, refused (with advice) without it or for a host
// the certificate does not name, and the total timeout covering the TLS handshake.
#include "net/http_client.h"

#include "core/log.h"
#include "net/http_server.h"
#include "net/router.h"
#include "net/url.h"
#include "ops/certs.h"
#include "ops/notify.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace forge::net {
namespace {

using namespace std::chrono_literals;

bool contains(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

// ---------------------------------------------------------------------------------------------
// URLs
// ---------------------------------------------------------------------------------------------

TEST(HttpUrlTest, HttpsDefaultsToPort443) {
  auto url = parseHttpUrl("https://hooks.slack.com/services/T0/B0/x?y=1", "webhook URL");
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_TRUE(url->secure);
  EXPECT_EQ(url->host, "hooks.slack.com");
  EXPECT_EQ(url->port, "443");
  EXPECT_EQ(url->port_number, 443);
  EXPECT_EQ(url->target, "/services/T0/B0/x?y=1");
  EXPECT_EQ(url->hostHeader(), "hooks.slack.com");
  EXPECT_EQ(url->origin(), "https://hooks.slack.com:443");

  auto plain = parseHttpUrl("http://example.com", "URL");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->secure);
  EXPECT_EQ(plain->port, "80");
  EXPECT_EQ(plain->target, "/");
  EXPECT_EQ(plain->origin(), "http://example.com:80");
}

TEST(HttpUrlTest, HostHeaderOmitsOnlyTheDefaultPortOfItsScheme) {
  const auto header = [](std::string_view text) {
    auto url = parseHttpUrl(text, "URL");
    return url ? url->hostHeader() : "<" + url.error().message + ">";
  };
  EXPECT_EQ(header("https://gw.example.com:8443/mcp"), "gw.example.com:8443");
  EXPECT_EQ(header("https://gw.example.com:80/"), "gw.example.com:80");
  EXPECT_EQ(header("http://gw.example.com:443/"), "gw.example.com:443");
  EXPECT_EQ(header("http://gw.example.com:80/"), "gw.example.com");
  EXPECT_EQ(header("HTTPS://[::1]/health"), "[::1]");
  EXPECT_EQ(header("https://[::1]:8443"), "[::1]:8443");
}

TEST(HttpUrlTest, TheSchemeIsPartOfTheOrigin) {
  auto a = parseHttpUrl("http://127.0.0.1:8443/a", "URL");
  auto b = parseHttpUrl("https://127.0.0.1:8443/b", "URL");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_FALSE(a->sameOrigin(*b));
  EXPECT_EQ(b->origin(), "https://127.0.0.1:8443");
}

TEST(HttpUrlTest, OtherSchemesAndCredentialsAreRefused) {
  auto ftp = parseHttpUrl("ftp://example.com/", "URL");
  ASSERT_FALSE(ftp.ok());
  EXPECT_EQ(ftp.error().code, core::Errc::kInvalidParams);
  EXPECT_TRUE(contains(ftp.error().message, "http:// and https://")) << ftp.error().message;
  EXPECT_FALSE(parseHttpUrl("https://user:pw@example.com/", "URL").ok());
  EXPECT_FALSE(parseHttpUrl("https://example.com:0/", "URL").ok());
  EXPECT_FALSE(parseHttpUrl("https:///path", "URL").ok());
}

TEST(HttpUrlTest, PlainParsingRefusesHttpsWithAdvice) {
  auto refused = parsePlainHttpUrl("https://mcp.example.com/mcp", "upstream URL");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, core::Errc::kInvalidParams);
  const std::string& message = refused.error().message;
  EXPECT_TRUE(contains(message, "upstream URL https://mcp.example.com/mcp")) << message;
  EXPECT_TRUE(contains(message, "https is not supported")) << message;
  EXPECT_TRUE(contains(message, "TLS-terminating proxy")) << message;
  auto plain = parsePlainHttpUrl("http://mcp.example.com/mcp", "upstream URL");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->secure);
}

// ---------------------------------------------------------------------------------------------
// fetch over HTTPS
// ---------------------------------------------------------------------------------------------

// A real server on 127.0.0.1 (port 0), HTTPS with a fresh self-signed certificate for `names`
// unless started plain, with GET /hello and POST /echo.
class HttpsFetchTest : public ::testing::Test {
protected:
  void SetUp() override {
    log::configure(log::Level::kWarn, log::Format::kText);
    ::unsetenv("FORGE_CA_FILE"); // the tests say which CA they trust
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("forge-http-client-{}-{}", ::getpid(), counter++);
    std::filesystem::create_directories(dir_);
  }

  void TearDown() override {
    ::unsetenv("FORGE_CA_FILE");
    loop_.stop();
    if (thread_.joinable()) thread_.join();
    std::filesystem::remove_all(dir_);
  }

  void start(const std::vector<std::string>& names, bool tls = true) {
    HttpServerOptions options;
    options.port = 0;
    options.tls_watch_interval = 0ms;
    if (tls) {
      auto pair = ops::makeCertificate({.names = names, .days = 2});
      ASSERT_TRUE(pair.ok()) << pair.error().message;
      std::ofstream(cert()) << pair->cert_pem;
      std::ofstream(dir_ / "key.pem") << pair->key_pem;
      options.tls_cert_file = cert();
      options.tls_key_file = (dir_ / "key.pem").string();
    }
    router_.add(Method::kGet, "/hello", [](const RequestPtr&, const ResponseWriterPtr& w) {
      w->send(Response{200, {}, "hello over TLS"});
    });
    router_.add(Method::kPost, "/echo", [](const RequestPtr& request, const ResponseWriterPtr& w) {
      w->send(Response{200, {}, request->body});
    });
    server_ =
        makeHttpServer(loop_, options, [this](const RequestPtr& r, const ResponseWriterPtr& w) {
          router_.dispatch(r, w);
        });
    ASSERT_TRUE(server_->listen().ok());
    port_ = server_->port();
    thread_ = std::thread([this] { loop_.run(); });
  }

  std::string cert() const { return (dir_ / "cert.pem").string(); }
  std::string url(std::string_view host, std::string_view path) const {
    return fmt::format("https://{}:{}{}", host, port_, path);
  }

  core::Result<Response> get(const std::string& target, const std::string& ca_file) {
    HttpRequestSpec spec;
    spec.url = target;
    spec.ca_file = ca_file;
    spec.timeout = 10s;
    return fetch(spec);
  }

  std::filesystem::path dir_;
  EventLoop loop_{2};
  Router router_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

TEST_F(HttpsFetchTest, GetsOverHttpsWhenTheCaIsGiven) {
  start({"localhost", "127.0.0.1"});
  auto by_address = get(url("127.0.0.1", "/hello"), cert());
  ASSERT_TRUE(by_address.ok()) << by_address.error().message;
  EXPECT_EQ(by_address->status, 200);
  EXPECT_EQ(by_address->body, "hello over TLS");
  // By name: sent as SNI and checked against the certificate's DNS name.
  auto by_name = get(url("localhost", "/hello"), cert());
  ASSERT_TRUE(by_name.ok()) << by_name.error().message;
  EXPECT_EQ(by_name->body, "hello over TLS");
}

TEST_F(HttpsFetchTest, TheCaFileComesFromTheEnvironmentWhenNotGiven) {
  start({"127.0.0.1"});
  ::setenv("FORGE_CA_FILE", cert().c_str(), 1);
  auto answer = get(url("127.0.0.1", "/hello"), "");
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->status, 200);
}

TEST_F(HttpsFetchTest, AnUntrustedCertificateIsRefusedWithAdvice) {
  start({"127.0.0.1"});
  auto refused = get(url("127.0.0.1", "/hello"), "");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, core::Errc::kUnavailable);
  const std::string& message = refused.error().message;
  EXPECT_TRUE(contains(message, fmt::format("TLS handshake with https://127.0.0.1:{} failed: "
                                            "certificate verify failed (self",
                                            port_)))
      << message;
  EXPECT_TRUE(contains(message, "FORGE_CA_FILE=")) << message;
}

TEST_F(HttpsFetchTest, ACertificateForAnotherNameIsRefused) {
  start({"localhost"}); // no IP address among its names
  auto refused = get(url("127.0.0.1", "/hello"), cert());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, core::Errc::kUnavailable);
  EXPECT_TRUE(contains(refused.error().message, "does not name 127.0.0.1"))
      << refused.error().message;
}

// 100 KB each way: several TLS records (16 KiB at most) in both directions.
TEST_F(HttpsFetchTest, PostsABodyAndReadsItBack) {
  start({"127.0.0.1"});
  std::string body(100'000, 'x');
  for (std::size_t i = 0; i < body.size(); i += 7)
    body[i] = static_cast<char>('a' + i % 26);
  HttpRequestSpec spec;
  spec.method = Method::kPost;
  spec.url = url("127.0.0.1", "/echo");
  spec.ca_file = cert();
  spec.body = body;
  auto answer = fetch(spec);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, body);
}

TEST_F(HttpsFetchTest, HttpsToAPlainServerSaysSo) {
  start({}, false);
  auto refused = get(url("127.0.0.1", "/hello"), "");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, core::Errc::kUnavailable);
  EXPECT_TRUE(contains(refused.error().message, "serve HTTPS")) << refused.error().message;
}

TEST_F(HttpsFetchTest, PlainHttpToATlsServerSuggestsHttps) {
  start({"127.0.0.1"});
  HttpRequestSpec spec;
  spec.url = fmt::format("http://127.0.0.1:{}/hello", port_);
  spec.timeout = 10s;
  auto refused = fetch(spec);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, core::Errc::kUnavailable);
  EXPECT_TRUE(contains(refused.error().message, "use an https:// URL")) << refused.error().message;
}

TEST_F(HttpsFetchTest, AnUnreadableCaFileIsAnError) {
  start({"127.0.0.1"});
  const std::string missing = (dir_ / "missing.pem").string();
  auto refused = get(url("127.0.0.1", "/hello"), missing);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, core::Errc::kInvalidParams);
  EXPECT_TRUE(contains(refused.error().message, missing)) << refused.error().message;
}

TEST_F(HttpsFetchTest, WebhooksArePostedOverHttps) {
  start({"127.0.0.1"});
  ::setenv("FORGE_CA_FILE", cert().c_str(), 1);
  ops::Webhook hook{
      .name = "chat", .kind = ops::PayloadKind::kSlack, .url = url("127.0.0.1", "/echo")};
  const auto deliveries = ops::deliver({hook}, ops::Notice{.event = "incident.opened",
                                                           .severity = ops::Severity::kCritical,
                                                           .title = "gateway down"});
  ASSERT_EQ(deliveries.size(), 1u);
  EXPECT_TRUE(deliveries[0].ok) << deliveries[0].error;
  EXPECT_EQ(deliveries[0].status, 200);
}

TEST(HttpsFetchTimeoutTest, TheTimeoutCoversTheHandshake) {
  // A listener that never accepts: the kernel completes the connection, nobody ever answers.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), length), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  HttpRequestSpec spec;
  spec.url = fmt::format("https://127.0.0.1:{}/", ntohs(address.sin_port));
  spec.timeout = 300ms;
  const auto started = std::chrono::steady_clock::now();
  auto answer = fetch(spec);
  const auto took = std::chrono::steady_clock::now() - started;
  ::close(fd);
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, core::Errc::kTimeout);
  EXPECT_TRUE(contains(answer.error().message, "TLS handshake")) << answer.error().message;
  EXPECT_LT(took, 5s);
}

} // namespace
} // namespace forge::net
