// The security and access commands against a real gateway with authentication on: failed logins
// counted by `forge security auth-failures`, `access set-role` changing a role (and the audit
// saying so), `security isolate` cutting off a user's tokens and an upstream's tools at once; and
// TLS: a gateway serving HTTPS whose certificate `forge certs install` replaces without a
// restart, and `forge certs check` grading an expiring certificate.
#include "support/api_client.h"
#include "support/child_process.h"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

namespace forge::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kJwtSecret = "test-jwt-secret-0123456789-abcdefghij-KLMNOPQRST";
constexpr const char* kAdminPassword = "Admin-password-42";
constexpr const char* kUserPassword = "User-password-42";

std::map<std::string, std::string> bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

// One HTTPS request (Connection: close) to 127.0.0.1:port that trusts `ca_file` alone and
// checks the name 127.0.0.1; max_version (e.g. TLS1_1_VERSION) caps the protocol offered.
// Status 0 when the connection or the handshake fails.
HttpReply httpsRequest(std::uint16_t port, const std::string& method, const std::string& path,
                       const std::string& ca_file, int max_version = 0,
                       const std::string& body = "") {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        SSL_CTX_free);
  if (SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) != 1) return {};
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (max_version) {
    SSL_CTX_set_security_level(ctx.get(), 0); // let this client offer the old version at all
    SSL_CTX_set_min_proto_version(ctx.get(), 0);
    SSL_CTX_set_max_proto_version(ctx.get(), max_version);
  }
  std::unique_ptr<BIO, decltype(&BIO_free_all)> bio(BIO_new_ssl_connect(ctx.get()), BIO_free_all);
  const std::string address = fmt::format("127.0.0.1:{}", port);
  BIO_set_conn_hostname(bio.get(), address.c_str());
  SSL* ssl = nullptr;
  BIO_get_ssl(bio.get(), &ssl);
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1");
  if (BIO_do_connect(bio.get()) != 1) return {};
  timeval timeout{10, 0};
  ::setsockopt(static_cast<int>(BIO_get_fd(bio.get(), nullptr)), SOL_SOCKET, SO_RCVTIMEO, &timeout,
               sizeof timeout);
  if (BIO_do_handshake(bio.get()) != 1) return {};
  const std::string message =
      fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n"
                  "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
                  method, path, address, body.size(), body);
  for (std::size_t sent = 0; sent < message.size();) {
    const int n =
        BIO_write(bio.get(), message.data() + sent, static_cast<int>(message.size() - sent));
    if (n <= 0) return {};
    sent += static_cast<std::size_t>(n);
  }
  std::string text;
  char chunk[4096];
  for (int n; (n = BIO_read(bio.get(), chunk, sizeof chunk)) > 0;)
    text.append(chunk, static_cast<std::size_t>(n));
  HttpReply reply;
  if (text.rfind("HTTP/1.1 ", 0) != 0) return reply;
  reply.status = std::stoi(text.substr(9, 3));
  if (const auto end = text.find("\r\n\r\n"); end != std::string::npos)
    reply.body = text.substr(end + 4);
  return reply;
}

class SecurityOpsTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = freshTestDir("forge-secops");
    writeFixtureConfig(dir_, FORGE_FIXTURE_BINARY);
  }

  void TearDown() override {
    if (gateway_) {
      gateway_->signal(SIGTERM);
      EXPECT_TRUE(gateway_->wait(10s));
    }
    gateway_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Starts a gateway; `auth` turns authentication on; `extra` flags are appended.
  void start(bool auth, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{
        FORGE_BINARY,           "gateway", "--config",   (dir_ / "forge.yaml").string(),
        "--server-port",        "0",       "--data-dir", (dir_ / "data").string(),
        "--auth-password-cost", "minimum"};
    if (auth) argv.insert(argv.end(), {"--auth-required", "true"});
    argv.insert(argv.end(), extra.begin(), extra.end());
    gateway_ = std::make_unique<ChildProcess>(
        argv,
        std::vector<std::string>{std::string("JWT_SECRET_KEY=") + kJwtSecret,
                                 std::string("PLATFORM_ADMIN_PASSWORD=") + kAdminPassword},
        dir_.string());
    const std::string scheme = extra.empty() ? "http" : "https";
    auto line = gateway_->waitForLine("listening on " + scheme + "://127.0.0.1:", 15s);
    ASSERT_TRUE(line) << gateway_->err();
    port_ = static_cast<std::uint16_t>(std::stoi(line->substr(line->find("127.0.0.1:") + 10)));
  }

  std::string login(const std::string& email, const std::string& password) {
    auto reply = request(port_, "POST", "/auth/email/login",
                         json::serialize(json::object{{"email", email}, {"password", password}}));
    return reply.status == 200 ? str(parse(reply.body), "access_token") : std::string();
  }

  HttpReply send(const std::string& method, const std::string& path, const json::value& body,
                 const std::string& token) {
    return request(port_, method, path, json::serialize(body), bearer(token), 15s);
  }

  // `forge <args> --data-dir <dir>/data [--gateway-url ...] [--token admin]`.
  CommandResult forge(std::vector<std::string> args, bool gateway = false) {
    std::vector<std::string> argv{FORGE_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--data-dir", (dir_ / "data").string()});
    if (gateway)
      argv.insert(argv.end(),
                  {"--gateway-url", fmt::format("http://127.0.0.1:{}", port_), "--token", admin_});
    return runCommand(argv, {}, dir_.string(), 60s);
  }

  // `forge certs <args>`: files and URLs only, no data directory.
  CommandResult certs(std::vector<std::string> args) {
    std::vector<std::string> argv{FORGE_BINARY, "certs"};
    argv.insert(argv.end(), args.begin(), args.end());
    return runCommand(argv, {}, dir_.string(), 60s);
  }

  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> gateway_;
  std::string admin_;
};

TEST_F(SecurityOpsTest, FailedLoginsAreCountedRolesChangeAndIsolationIsImmediate) {
  start(true);
  admin_ = login("admin@example.com", kAdminPassword);
  ASSERT_FALSE(admin_.empty());
  ASSERT_TRUE(eventually([&] {
    return findBy(parse(request(port_, "GET", "/tools?limit=0", {}, bearer(admin_)).body), "name",
                  "fixture__add")
        .is_object();
  }));
  ASSERT_EQ(send("POST", "/users",
                 json::object{{"email", "ada@example.com"},
                              {"password", kUserPassword},
                              {"role", "developer"}},
                 admin_)
                .status,
            201);

  // Three failed logins for eve: counted, by actor and address.
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(login("eve@example.com", "wrong-password-" + std::to_string(i)).empty());
  json::value eve;
  ASSERT_TRUE(eventually([&] {
    auto result = forge({"security", "auth-failures", "--since", "1h", "--json"});
    if (result.exit_code != 0) return false;
    eve = findBy(parse(result.out).at("groups"), "actor", "eve@example.com");
    return eve.is_object() && eve.at("failedLogins").as_int64() == 3;
  })) << forge({"security", "auth-failures", "--json"}).out;
  EXPECT_EQ(str(eve, "remote"), "127.0.0.1");
  EXPECT_EQ(eve.at("total").as_int64(), 3);

  // set-role through the gateway: the role changes, the audit says from what to what.
  auto set =
      forge({"access", "set-role", "ada@example.com", "viewer", "--reason", "rotation"}, true);
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_NE(set.out.find("developer -> viewer"), std::string::npos) << set.out;
  EXPECT_EQ(
      str(parse(request(port_, "GET", "/users/ada@example.com", {}, bearer(admin_)).body), "role"),
      "viewer");
  json::value change;
  ASSERT_TRUE(eventually([&] {
    auto audit = forge({"access", "audit", "--since", "1h", "--json"});
    change = findBy(parse(audit.out).at("changes"), "action", "user.role");
    return change.is_object();
  }));
  EXPECT_EQ(str(change, "detail"), "developer -> viewer");
  EXPECT_EQ(str(change, "targetId"), "ada@example.com");

  // isolate --user: ada's JWT and API token are refused at once.
  ASSERT_EQ(set.exit_code, 0);
  ASSERT_EQ(forge({"access", "set-role", "ada@example.com", "developer"}, true).exit_code, 0);
  const std::string ada = login("ada@example.com", kUserPassword);
  ASSERT_FALSE(ada.empty());
  auto created = send("POST", "/tokens", json::object{{"name", "ada-ci"}}, ada);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string ada_api = str(parse(created.body), "access_token");
  EXPECT_EQ(request(port_, "GET", "/tools", {}, bearer(ada)).status, 200);
  EXPECT_EQ(request(port_, "GET", "/tools", {}, bearer(ada_api)).status, 200);
  auto isolated = forge(
      {"security", "isolate", "--user", "ada@example.com", "--reason", "account taken over"}, true);
  ASSERT_EQ(isolated.exit_code, 0) << isolated.err;
  EXPECT_NE(isolated.out.find("ada-ci"), std::string::npos) << isolated.out;
  EXPECT_EQ(request(port_, "GET", "/tools", {}, bearer(ada)).status, 401);
  EXPECT_EQ(request(port_, "GET", "/tools", {}, bearer(ada_api)).status, 401);
  EXPECT_TRUE(login("ada@example.com", kUserPassword).empty());

  // isolate --upstream: its tools leave tools/list.
  McpClient client(port_, "/mcp", admin_);
  ASSERT_TRUE(client.initialize());
  EXPECT_TRUE(client.toolNames().contains("fixture__add"));
  auto cut =
      forge({"security", "isolate", "--upstream", "fixture", "--reason", "compromised"}, true);
  ASSERT_EQ(cut.exit_code, 0) << cut.err;
  EXPECT_FALSE(client.toolNames().contains("fixture__add"));

  // Every isolation is in the audit trail with its reason.
  ASSERT_TRUE(eventually([&] {
    auto audit = forge({"security", "audit", "--since", "1h", "--json", "--limit", "1000"});
    const auto records = parse(audit.out);
    return findBy(records, "detail", "compromised").is_object() &&
           findBy(records, "detail", "account taken over").is_object();
  }));

  // Forensics: ada's timeline in a file with its checksum.
  const auto report = (dir_ / "ada.json").string();
  auto forensics = forge({"security", "forensics", "--user", "ada@example.com", "--since", "1h",
                          "-o", report, "--json"});
  ASSERT_EQ(forensics.exit_code, 0) << forensics.err;
  const auto summary = parse(forensics.out);
  std::ifstream in(report);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("ada-ci"), std::string::npos);
  EXPECT_EQ(str(summary, "sha256").size(), 64u);
  EXPECT_TRUE(std::filesystem::exists(report + ".sha256"));

  // The review flags the admin and shows ada disabled with a revoked token.
  auto review = forge({"access", "review", "--json"});
  ASSERT_EQ(review.exit_code, 0) << review.err;
  const auto users = parse(review.out).at("users");
  const auto ada_row = findBy(users, "email", "ada@example.com");
  ASSERT_TRUE(ada_row.is_object());
  EXPECT_EQ(ada_row.at("enabled"), false);
  EXPECT_EQ(ada_row.at("tokens").at("revoked").as_int64(), 1);
  EXPECT_NE(json::serialize(findBy(users, "email", "admin@example.com")).find("\"admin\""),
            std::string::npos);
}

TEST_F(SecurityOpsTest, TlsCertificateIsReplacedWithoutRestartAndExpiryIsGraded) {
  const auto tls = dir_ / "tls";
  std::filesystem::create_directories(tls);
  const auto cert = (tls / "cert.pem").string();
  const auto key = (tls / "key.pem").string();
  auto made = certs({"renew", "--cert", cert, "--key", key, "--name", "127.0.0.1", "--name",
                     "localhost", "--days", "90"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  start(false, {"--server-tls-cert", cert, "--server-tls-key", key, "--server-tls-watch-interval",
                "500ms"});
  const pid_t pid = gateway_->pid();
  const std::string url = fmt::format("https://127.0.0.1:{}", port_);

  // HTTPS works for a client that trusts the self-signed certificate; TLS 1.1 and plain HTTP do
  // not.
  auto health = httpsRequest(port_, "GET", "/health", cert);
  ASSERT_EQ(health.status, 200);
  EXPECT_NE(health.body.find("\"ok\""), std::string::npos) << health.body;
  EXPECT_EQ(httpsRequest(port_, "GET", "/health", cert, TLS1_1_VERSION).status, 0)
      << "TLS 1.1 must be refused";
  EXPECT_EQ(request(port_, "GET", "/health").status, 0) << "plain HTTP must not be answered";

  // An answer and a request larger than one TLS record (16 KiB) cross whole.
  auto spec = httpsRequest(port_, "GET", "/openapi.json", cert);
  ASSERT_EQ(spec.status, 200);
  EXPECT_GT(spec.body.size(), 16u * 1024);
  EXPECT_TRUE(parse(spec.body).is_object()) << spec.body.size() << " bytes";
  const std::string login = json::serialize(
      json::object{{"email", "nobody@example.com"}, {"password", std::string(40'000, 'p')}});
  auto refused = httpsRequest(port_, "POST", "/auth/email/login", cert, 0, login);
  EXPECT_EQ(refused.status, 401) << refused.body;

  auto before = certs({"check", "--url", url, "--json"});
  ASSERT_EQ(before.exit_code, 0) << before.out << before.err;
  const std::string first = str(parse(before.out).at("certificate"), "fingerprintSha256");

  // A new pair, expiring in 5 days, installed: the next connection presents it, same process.
  const auto next_cert = (dir_ / "next.pem").string();
  const auto next_key = (dir_ / "next.key").string();
  ASSERT_EQ(
      certs({"renew", "--cert", next_cert, "--key", next_key, "--name", "127.0.0.1", "--days", "5"})
          .exit_code,
      0);
  auto installed = certs({"install", "--cert", next_cert, "--key", next_key, "--to-cert", cert,
                          "--to-key", key, "--url", url, "--json"});
  ASSERT_EQ(installed.exit_code, 0) << installed.out << installed.err;
  EXPECT_EQ(parse(installed.out).at("served"), true);
  auto after = certs({"check", "--url", url, "--json"});
  EXPECT_EQ(after.exit_code, 3) << after.out; // 5 days left: critical
  const auto graded = parse(after.out);
  EXPECT_NE(str(graded.at("certificate"), "fingerprintSha256"), first);
  EXPECT_EQ(str(graded, "status"), "critical");
  EXPECT_EQ(gateway_->pid(), pid);
  EXPECT_EQ(::kill(pid, 0), 0);

  // 20 days left is a warning.
  ASSERT_EQ(certs({"renew", "--cert", next_cert, "--key", next_key, "--name", "127.0.0.1", "--days",
                   "20"})
                .exit_code,
            0);
  EXPECT_EQ(certs({"check", "--cert", next_cert, "--key", next_key}).exit_code, 4);

  // A broken pair is refused by the reload endpoint and the served certificate stays.
  const auto served = (dir_ / "served.pem").string();
  std::filesystem::copy_file(cert, served);
  std::ofstream(cert, std::ios::trunc) << "not a certificate\n";
  auto reload = httpsRequest(port_, "POST", "/admin/tls/reload", served);
  EXPECT_EQ(reload.status, 422) << reload.body;
  auto still = certs({"check", "--url", url, "--json"});
  EXPECT_EQ(str(parse(still.out).at("certificate"), "fingerprintSha256"),
            str(graded.at("certificate"), "fingerprintSha256"));
}

TEST_F(SecurityOpsTest, SighupReloadsTheCertificateWhenFilesAreNotWatched) {
  const auto cert = (dir_ / "cert.pem").string();
  const auto key = (dir_ / "key.pem").string();
  ASSERT_EQ(certs({"renew", "--cert", cert, "--key", key, "--name", "127.0.0.1", "--days", "90"})
                .exit_code,
            0);
  start(false,
        {"--server-tls-cert", cert, "--server-tls-key", key, "--server-tls-watch-interval", "0s"});
  const std::string url = fmt::format("https://127.0.0.1:{}", port_);
  const auto next_cert = (dir_ / "next.pem").string();
  const auto next_key = (dir_ / "next.key").string();
  ASSERT_EQ(certs({"renew", "--cert", next_cert, "--key", next_key, "--name", "127.0.0.1", "--days",
                   "60"})
                .exit_code,
            0);

  auto served = [&] {
    return str(parse(certs({"check", "--url", url, "--json"}).out).at("certificate"),
               "fingerprintSha256");
  };
  const std::string first = served();
  ASSERT_EQ(first.size(), 95u);

  // Installed without a signal: the files are not watched, so the old certificate stays.
  ASSERT_EQ(
      certs({"install", "--cert", next_cert, "--key", next_key, "--to-cert", cert, "--to-key", key})
          .exit_code,
      0);
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(served(), first);
  // SIGHUP (--pid) makes the gateway read the pair again; the process stays the same.
  auto signalled =
      certs({"install", "--cert", next_cert, "--key", next_key, "--to-cert", cert, "--to-key", key,
             "--url", url, "--pid", std::to_string(gateway_->pid()), "--json"});
  ASSERT_EQ(signalled.exit_code, 0) << signalled.out << signalled.err;
  EXPECT_EQ(parse(signalled.out).at("served"), true);
  EXPECT_EQ(httpsRequest(port_, "GET", "/health", next_cert).status, 200);
}

} // namespace
} // namespace forge::test
