// The identity module's pure parts: secrets generated or refused, address allow-lists, which
// paths are MCP traffic, and how a request becomes an audit record.
#include "identity/access_guard.h"
#include "identity/authenticator.h"
#include "identity/secrets.h"
#include "identity/session_sealer.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace forge::identity {
namespace {

class SecretsTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("forge-secrets-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(SecretsTest, FirstLoadGeneratesStrongSecretsIntoAPrivateFileAndLaterLoadsKeepThem) {
  SecurityOptions options;
  auto first = loadSecrets(options, dir_.string());
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->generated.size(), 3u);
  EXPECT_GE(first->jwt_secret.size(), kMinSecretChars);
  EXPECT_GE(first->encryption_secret.size(), kMinSecretChars);
  EXPECT_NE(first->jwt_secret, first->encryption_secret);
  EXPECT_TRUE(first->admin_password_from_file);
  struct stat st {};
  ASSERT_EQ(::stat(secretsFile(dir_.string()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto second = loadSecrets(options, dir_.string());
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->generated.empty());
  EXPECT_EQ(second->jwt_secret, first->jwt_secret);
  EXPECT_EQ(second->encryption_secret, first->encryption_secret);
  EXPECT_EQ(*readSecret(dir_.string(), "jwt_secret"), first->jwt_secret);
}

TEST_F(SecretsTest, ConfiguredSecretsWinAndWeakOnesAreRefusedByName) {
  SecurityOptions options;
  options.jwt_secret = core::Secret("a-configured-jwt-secret-with-enough-entropy-42");
  auto loaded = loadSecrets(options, dir_.string());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->jwt_secret, options.jwt_secret.reveal());

  options.jwt_secret = core::Secret("short");
  auto weak = loadSecrets(options, dir_.string());
  ASSERT_FALSE(weak.ok());
  EXPECT_NE(weak.error().message.find("JWT_SECRET_KEY"), std::string::npos);

  options.jwt_secret = {};
  options.encryption_secret = core::Secret("changeme-changeme-changeme-changeme-changeme");
  auto placeholder = loadSecrets(options, dir_.string());
  ASSERT_FALSE(placeholder.ok());
  EXPECT_NE(placeholder.error().message.find("AUTH_ENCRYPTION_SECRET"), std::string::npos);

  options.encryption_secret = core::Secret("abababababababababababababababababab");
  EXPECT_FALSE(loadSecrets(options, dir_.string()).ok()); // too few distinct characters

  // Development mode takes what it is given.
  options.auth_required = false;
  EXPECT_TRUE(loadSecrets(options, dir_.string()).ok());
}

TEST_F(SecretsTest, ACorruptSecretsFileIsAClearErrorNotANewKey) {
  std::ofstream(secretsFile(dir_.string())) << "{not json";
  auto loaded = loadSecrets(SecurityOptions{}, dir_.string());
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find("secrets.json"), std::string::npos);
}

TEST(AddressAllowListTest, MatchesAddressesAndIpv4Blocks) {
  EXPECT_TRUE(addressAllowed({}, "203.0.113.9:5000"));
  EXPECT_TRUE(addressAllowed({"10.0.0.0/8"}, "10.20.30.40:1234"));
  EXPECT_FALSE(addressAllowed({"10.0.0.0/8"}, "11.0.0.1:1234"));
  EXPECT_TRUE(addressAllowed({"192.168.1.7"}, "192.168.1.7:80"));
  EXPECT_FALSE(addressAllowed({"192.168.1.7"}, "192.168.1.70:80"));
  EXPECT_TRUE(addressAllowed({"127.0.0.1/32"}, "127.0.0.1:9"));
  EXPECT_TRUE(addressAllowed({"0.0.0.0/0"}, "8.8.8.8:53"));
  EXPECT_TRUE(addressAllowed({"::1"}, "::1:5000"));
  EXPECT_FALSE(addressAllowed({"10.0.0.0/33"}, "10.0.0.1:1")); // malformed: matches nothing
  EXPECT_FALSE(addressAllowed({"not-an-address/8"}, "10.0.0.1:1"));
}

TEST(McpPathTest, TellsProtocolTrafficFromTheApi) {
  for (const char* path : {"/mcp", "/sse", "/message", "/rpc", "/upstreams/x/mcp",
                           "/servers/abc/mcp", "/servers/abc/sse", "/servers/abc/message"})
    EXPECT_TRUE(isMcpPath(path)) << path;
  for (const char* path : {"/servers", "/servers/abc", "/servers/abc/tools", "/gateways",
                           "/upstreams/x", "/mcp/extra", "/tokens"})
    EXPECT_FALSE(isMcpPath(path)) << path;
}

TEST(AuditRecordTest, NamesWhoWhatTargetAndOutcome) {
  net::Request request;
  request.method = net::Method::kPost;
  request.path = "/gateways/g-1/state";
  request.remote_address = "127.0.0.1:4000";
  request.request_id = "r-1";
  auth::Principal ada;
  ada.email = "ada@example.com";
  auto allowed = auditRecordOf(request, &ada, 200);
  EXPECT_EQ(allowed.actor, "ada@example.com");
  EXPECT_EQ(allowed.action, "POST /gateways/g-1/state");
  EXPECT_EQ(allowed.target_type, "gateways");
  EXPECT_EQ(allowed.target_id, "g-1");
  EXPECT_EQ(allowed.result, "allowed");
  EXPECT_EQ(allowed.request_id, "r-1");
  EXPECT_EQ(auditRecordOf(request, nullptr, 401).actor, "anonymous");
  EXPECT_EQ(auditRecordOf(request, &ada, 403).result, "denied");
  EXPECT_EQ(auditRecordOf(request, &ada, 429).result, "denied");
  EXPECT_EQ(auditRecordOf(request, &ada, 422).result, "failed");
}

TEST(PrincipalTest, StoredUsersBecomePrincipalsWithTheirTeams) {
  storage::UserRecord user;
  user.id = "u1";
  user.email = "lead@example.com";
  user.role = "developer";
  auto p = principalOf(user, {storage::MemberRecord{"red", "u1", "team_admin", ""}});
  EXPECT_EQ(p->role, auth::Role::kDeveloper);
  EXPECT_TRUE(p->may(auth::Permission::kCatalogWrite, "red"));
  EXPECT_FALSE(p->may(auth::Permission::kCatalogWrite, "blue"));
  EXPECT_FALSE(p->roleFor("blue").has_value());
  EXPECT_EQ(p->key(), "u1");
  user.role = "nonsense";
  EXPECT_EQ(principalOf(user, {})->role, auth::Role::kViewer); // unknown roles grant nothing
}

TEST(SessionSealerTest, SealedIdsOpenWithTheSameSecretOnlyAndUntampered) {
  const auto sealer = JwtSessionSealer::fromJwtSecret(std::string(48, 'k'));
  const auto other = JwtSessionSealer::fromJwtSecret(std::string(48, 'q'));
  ASSERT_TRUE(sealer && other);
  transport::SealedSession session;
  session.endpoint = "/mcp";
  session.owner = "user:7";
  session.protocol_version = "2025-11-25";
  session.client_capabilities = {{"roots", boost::json::object{{"listChanged", true}}}};
  session.client_info = {{"name", "client"}, {"version", "1"}};
  const std::string id = (*sealer)->seal(session);
  EXPECT_NE(id, (*sealer)->seal(session)) << "two sessions, two ids";
  const auto opened = (*sealer)->open(id);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->endpoint, "/mcp");
  EXPECT_EQ(opened->owner, "user:7");
  EXPECT_EQ(opened->protocol_version, "2025-11-25");
  EXPECT_EQ(opened->client_capabilities, session.client_capabilities);
  EXPECT_EQ(opened->client_info, session.client_info);
  EXPECT_FALSE((*other)->open(id));
  std::string tampered = id;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE((*sealer)->open(tampered));
  EXPECT_FALSE((*sealer)->open("0123456789abcdef"));
}

} // namespace
} // namespace forge::identity
