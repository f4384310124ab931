// Identity and access of the real `forge gateway` with authentication on (the default): 401s
// that point at the OAuth metadata, attacks on tokens, roles and teams on the REST API and on
// MCP, API tokens (scope, revocation, address allow-list, use), brute-force logins, rate limits,
// the audit trail, and secrets generated or refused at start-up.
#include "auth/jwt.h"
#include "support/api_client.h"
#include "support/child_process.h"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace forge::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kJwtSecret = "test-jwt-secret-0123456789-abcdefghij-KLMNOPQRST";
constexpr const char* kAdminEmail = "admin@example.com";
constexpr const char* kAdminPassword = "Admin-password-42";
constexpr const char* kUserPassword = "User-password-42";

std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A fresh 2048-bit RSA key's public half, as PEM (SubjectPublicKeyInfo).
std::string rsaPublicKeyPem() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  BIO* out = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(out, key);
  char* data = nullptr;
  const long size = BIO_get_mem_data(out, &data);
  std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(out);
  EVP_PKEY_free(key);
  return pem;
}

std::map<std::string, std::string> bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

// A token signed with Forge's test secret; `edit` changes the claims before signing.
std::string signedToken(const std::string& subject,
                        const std::function<void(auth::Claims&)>& edit = {}) {
  auth::Claims claims;
  claims.sub = subject;
  claims.iss = std::string(auth::kDefaultIssuer);
  claims.aud = {std::string(auth::kDefaultAudience)};
  claims.iat = now();
  claims.exp = now() + 600;
  claims.jti = auth::randomToken(8);
  if (edit) edit(claims);
  auto key = auth::JwtKey::hs256(kJwtSecret);
  return auth::sign(*key, claims).value();
}

class SecurityTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = freshTestDir("forge-sec");
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

  // Starts a gateway with authentication on; `extra` flags are appended.
  void start(std::vector<std::string> extra = {}, std::vector<std::string> env = {},
             bool configured_secrets = true) {
    std::vector<std::string> argv{FORGE_BINARY,
                                  "gateway",
                                  "--config",
                                  (dir_ / "forge.yaml").string(),
                                  "--server-port",
                                  "0",
                                  "--data-dir",
                                  (dir_ / "data").string(),
                                  "--auth-required",
                                  "true",
                                  "--auth-password-cost",
                                  "minimum"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    if (configured_secrets) {
      env.push_back(std::string("JWT_SECRET_KEY=") + kJwtSecret);
      env.push_back(std::string("PLATFORM_ADMIN_PASSWORD=") + kAdminPassword);
    }
    gateway_ = std::make_unique<ChildProcess>(argv, env, dir_.string());
    auto line = gateway_->waitForLine("listening on http://127.0.0.1:", 10s);
    ASSERT_TRUE(line) << gateway_->err();
    port_ = static_cast<std::uint16_t>(std::stoi(line->substr(line->find("127.0.0.1:") + 10)));
    admin_ = login(kAdminEmail, kAdminPassword);
    ASSERT_FALSE(admin_.empty());
    ASSERT_TRUE(eventually([&] {
      return findBy(parse(get("/tools?limit=0", admin_).body), "name", "fixture__add").is_object();
    })) << gateway_->err();
  }

  std::string login(const std::string& email, const std::string& password) {
    auto reply = request(port_, "POST", "/auth/email/login",
                         json::serialize(json::object{{"email", email}, {"password", password}}));
    return reply.status == 200 ? str(parse(reply.body), "access_token") : std::string();
  }

  HttpReply get(const std::string& path, const std::string& token) {
    return request(port_, "GET", path, {}, bearer(token));
  }
  HttpReply send(const std::string& method, const std::string& path, const json::value& body,
                 const std::string& token) {
    return request(port_, method, path, json::serialize(body), bearer(token), 15s);
  }

  // Creates a user with `role` and returns its id.
  std::string createUser(const std::string& email, const std::string& role) {
    auto reply =
        send("POST", "/users",
             json::object{{"email", email}, {"password", kUserPassword}, {"role", role}}, admin_);
    EXPECT_EQ(reply.status, 201) << reply.body;
    return str(parse(reply.body), "id");
  }
  std::string createTeam(const std::string& name) {
    auto reply = send("POST", "/teams", json::object{{"name", name}}, admin_);
    EXPECT_EQ(reply.status, 201) << reply.body;
    return str(parse(reply.body), "id");
  }
  void addMember(const std::string& team, const std::string& user, const std::string& role) {
    auto reply = send("POST", "/teams/" + team + "/members",
                      json::object{{"user_id", user}, {"role", role}}, admin_);
    EXPECT_EQ(reply.status, 200) << reply.body;
  }

  // The audit records matching a query (as admin).
  json::value audit(const std::string& query) { return parse(get("/audit?" + query, admin_).body); }

  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> gateway_;
  std::string admin_;
};

// ---- 401s and OAuth metadata --------------------------------------------------------------------

TEST_F(SecurityTest, UnauthenticatedRequestsGet401PointingAtProtectedResourceMetadata) {
  start();
  auto rest = request(port_, "GET", "/gateways");
  EXPECT_TRUE(isJsonError(rest, 401, "Authorization"));
  EXPECT_NE(rest.header("www-authenticate").find("Bearer resource_metadata=\""), std::string::npos)
      << rest.header("www-authenticate");

  McpClient anonymous(port_, "/mcp");
  EXPECT_FALSE(anonymous.initialize());
  EXPECT_EQ(anonymous.status(), 401);
  const std::string challenge = anonymous.lastReply().header("www-authenticate");
  const std::string marker = "resource_metadata=\"";
  ASSERT_NE(challenge.find(marker), std::string::npos) << challenge;
  const std::string url =
      challenge.substr(challenge.find(marker) + marker.size(),
                       challenge.find('"', challenge.find(marker) + marker.size()) -
                           challenge.find(marker) - marker.size());
  EXPECT_TRUE(url.ends_with("/.well-known/oauth-protected-resource/mcp")) << url;

  // The metadata itself is public, and names the resource and who issues its tokens.
  auto metadata = request(port_, "GET", url.substr(url.find("/.well-known")));
  ASSERT_EQ(metadata.status, 200) << metadata.body;
  const auto doc = parse(metadata.body);
  EXPECT_TRUE(str(doc, "resource").ends_with("/mcp")) << metadata.body;
  ASSERT_TRUE(doc.at("authorization_servers").is_array());
  EXPECT_FALSE(doc.at("authorization_servers").as_array().empty());
  EXPECT_EQ(doc.at("bearer_methods_supported").as_array()[0], "header");

  // Liveness stays public; a token in the URL is refused (URLs end up in logs).
  EXPECT_EQ(request(port_, "GET", "/health").status, 200);
  EXPECT_TRUE(isJsonError(request(port_, "GET", "/gateways?access_token=" + admin_), 401,
                          "never in the URL"));

  // With the token, the same requests succeed.
  EXPECT_EQ(get("/gateways", admin_).status, 200);
  McpClient authorized(port_, "/mcp", admin_);
  ASSERT_TRUE(authorized.initialize());
  EXPECT_TRUE(authorized.toolNames().count("fixture__add"));
}

// ---- attacks on tokens --------------------------------------------------------------------------

TEST_F(SecurityTest, ForgedExpiredAndRevokedTokensAreRefused) {
  // The gateway also accepts RS256 tokens of another issuer, verified with its public key.
  const auto pub = dir_ / "rsa.pub.pem";
  std::ofstream(pub) << rsaPublicKeyPem();
  start({"--auth-jwt-public-key-file", pub.string()});

  // A well-formed token is accepted: the attacks below differ from it in one way each.
  ASSERT_EQ(get("/auth/me", signedToken(kAdminEmail)).status, 200);

  const auto refused = [&](const std::string& token, const char* what) {
    auto reply = get("/gateways", token);
    EXPECT_EQ(reply.status, 401) << what << ": " << reply.body;
    EXPECT_NE(reply.header("www-authenticate").find("error=\"invalid_token\""), std::string::npos)
        << what << ": " << reply.header("www-authenticate");
  };
  // alg=none, unsigned.
  const std::string none_header = auth::base64UrlEncode(R"({"alg":"none","typ":"JWT"})");
  const std::string payload = auth::base64UrlEncode(
      fmt::format(R"({{"sub":"{}","iss":"mcpgateway","aud":"mcpgateway-api","exp":{}}})",
                  kAdminEmail, now() + 600));
  refused(none_header + "." + payload + ".", "alg none");
  // HS256 signed with the RS256 public key as the HMAC secret (the key confusion attack).
  auto confused_key = auth::JwtKey::hs256(readFile(pub));
  ASSERT_TRUE(confused_key.ok());
  auth::Claims claims;
  claims.sub = kAdminEmail;
  claims.iss = "mcpgateway";
  claims.aud = {"mcpgateway-api"};
  claims.exp = now() + 600;
  refused(auth::sign(*confused_key, claims).value(), "HS256 with the RSA public key");
  // Expired, not yet valid, wrong audience, wrong issuer.
  refused(signedToken(kAdminEmail, [](auth::Claims& c) { c.exp = now() - 3600; }), "expired");
  refused(signedToken(kAdminEmail, [](auth::Claims& c) { c.nbf = now() + 3600; }), "nbf");
  refused(signedToken(kAdminEmail, [](auth::Claims& c) { c.aud = {"another-api"}; }), "aud");
  refused(signedToken(kAdminEmail, [](auth::Claims& c) { c.iss = "someone-else"; }), "iss");
  // Tampered payload (a viewer's token turned into the admin's) and tampered signature.
  const std::string good = signedToken("nobody@example.com");
  const auto dot1 = good.find('.');
  const auto dot2 = good.find('.', dot1 + 1);
  const std::string admin_payload = auth::base64UrlEncode(
      fmt::format(R"({{"sub":"{}","iss":"mcpgateway","aud":"mcpgateway-api","exp":{}}})",
                  kAdminEmail, now() + 600));
  refused(good.substr(0, dot1 + 1) + admin_payload + good.substr(dot2), "tampered payload");
  std::string bad_signature = signedToken(kAdminEmail);
  bad_signature[bad_signature.size() - 2] =
      bad_signature[bad_signature.size() - 2] == 'A' ? 'B' : 'A';
  refused(bad_signature, "tampered signature");
  // Signed correctly, for a user the gateway does not know.
  refused(signedToken("nobody@example.com"), "unknown user");
  refused("not-a-token", "garbage");

  // Revocation: logout revokes the login token at once.
  const std::string session = login(kAdminEmail, kAdminPassword);
  ASSERT_EQ(get("/gateways", session).status, 200);
  ASSERT_EQ(send("POST", "/auth/logout", json::object{}, session).status, 200);
  refused(session, "revoked by logout");
  // And an administrator can revoke any JWT by its jti.
  const std::string minted = signedToken(kAdminEmail, [](auth::Claims& c) { c.jti = "jti-42"; });
  ASSERT_EQ(get("/gateways", minted).status, 200);
  ASSERT_EQ(send("POST", "/tokens/revoke", json::object{{"jti", "jti-42"}}, admin_).status, 200);
  refused(minted, "revoked by jti");
  // The admin's own session is unaffected.
  EXPECT_EQ(get("/gateways", admin_).status, 200);
}

// ---- roles and teams --------------------------------------------------------------------------

TEST_F(SecurityTest, RolesAndTeamsAreEnforcedOnRestAndMcp) {
  start();
  const std::string viewer_id = createUser("viewer@example.com", "viewer");
  const std::string dev_id = createUser("dev@example.com", "developer");
  const std::string member_id = createUser("member@example.com", "developer");
  const std::string lead_id = createUser("lead@example.com", "developer");
  const std::string red = createTeam("Red");
  const std::string blue = createTeam("Blue");
  addMember(blue, member_id, "developer");
  addMember(red, lead_id, "team_admin");

  // An upstream and a virtual server owned by team Blue.
  auto gw = send("POST", "/gateways",
                 json::object{{"name", "Blue Tools"},
                              {"command", FORGE_FIXTURE_BINARY},
                              {"args", json::array{"--stdio"}},
                              {"team_id", blue}},
                 admin_);
  ASSERT_EQ(gw.status, 201) << gw.body;
  auto srv = send("POST", "/servers",
                  json::object{{"name", "blue-server"},
                               {"associated_tools", json::array{"blue-tools__*"}},
                               {"team_id", blue}},
                  admin_);
  ASSERT_EQ(srv.status, 201) << srv.body;
  const std::string blue_server = str(parse(srv.body), "id");

  const std::string viewer = login("viewer@example.com", kUserPassword);
  const std::string dev = login("dev@example.com", kUserPassword);
  const std::string member = login("member@example.com", kUserPassword);
  const std::string lead = login("lead@example.com", kUserPassword);
  ASSERT_FALSE(viewer.empty() || dev.empty() || member.empty() || lead.empty());

  // A viewer reads the catalog but calls no tool; tools/list shows nothing it cannot call.
  EXPECT_EQ(get("/tools", viewer).status, 200);
  McpClient as_viewer(port_, "/mcp", viewer);
  ASSERT_TRUE(as_viewer.initialize());
  EXPECT_TRUE(as_viewer.toolNames().empty());
  auto call = as_viewer.callTool("fixture__add", json::object{{"a", 1}, {"b", 2}});
  EXPECT_EQ(call.at("error").at("code"), json::value(-32004)) << json::serialize(call);
  EXPECT_TRUE(isJsonError(send("POST", "/gateways", json::object{{"name", "x"}}, viewer), 403));
  EXPECT_TRUE(isJsonError(get("/audit", viewer), 403));
  EXPECT_TRUE(isJsonError(get("/users", viewer), 403));

  // A developer outside Blue calls shared tools; Blue's upstream and server do not exist for it.
  McpClient as_dev(port_, "/mcp", dev);
  ASSERT_TRUE(as_dev.initialize());
  const auto dev_tools = as_dev.toolNames();
  EXPECT_TRUE(dev_tools.count("fixture__add"));
  EXPECT_FALSE(dev_tools.count("blue-tools__add"));
  EXPECT_EQ(resultText(as_dev.callTool("fixture__add", json::object{{"a", 2}, {"b", 3}})), "5");
  EXPECT_TRUE(isError(as_dev.callTool("blue-tools__add", json::object{{"a", 2}, {"b", 3}})));
  EXPECT_FALSE(namesOf(parse(get("/gateways", dev).body)).count("Blue Tools"));
  EXPECT_FALSE(namesOf(parse(get("/servers", dev).body)).count("blue-server"));
  EXPECT_EQ(get("/servers/" + blue_server, dev).status, 404);
  McpClient dev_on_blue(port_, "/servers/" + blue_server + "/mcp", dev);
  EXPECT_FALSE(dev_on_blue.initialize());
  EXPECT_EQ(dev_on_blue.status(), 404);
  McpClient dev_on_blue_upstream(port_, "/upstreams/blue-tools/mcp", dev);
  EXPECT_FALSE(dev_on_blue_upstream.initialize());
  EXPECT_EQ(dev_on_blue_upstream.status(), 404);

  // Blue's member sees and calls Blue's tools, on /mcp and on Blue's server.
  McpClient as_member(port_, "/servers/" + blue_server + "/mcp", member);
  ASSERT_TRUE(as_member.initialize());
  EXPECT_TRUE(as_member.toolNames().count("blue-tools__add"));
  EXPECT_EQ(resultText(as_member.callTool("blue-tools__add", json::object{{"a", 1}, {"b", 1}})),
            "2");
  McpClient member_on_upstream(port_, "/upstreams/blue-tools/mcp", member);
  ASSERT_TRUE(member_on_upstream.initialize());
  EXPECT_TRUE(member_on_upstream.toolNames().count("add"));
  // ...but a session is bound to whoever opened it: another user cannot ride on it.
  McpClient hijack(port_, "/servers/" + blue_server + "/mcp", member);
  ASSERT_TRUE(hijack.initialize());
  hijack.setToken(dev);
  EXPECT_TRUE(hijack.call("tools/list").is_null() || hijack.status() == 404) << hijack.status();

  // Privilege escalation attempts.
  EXPECT_TRUE(isJsonError(
      send("PUT", "/users/" + dev_id, json::object{{"role", "platform_admin"}}, dev), 403));
  EXPECT_TRUE(isJsonError(
      send("POST", "/tokens", json::object{{"name", "for-admin"}, {"user_id", viewer_id}}, dev),
      403));
  EXPECT_TRUE(isJsonError(send("POST", "/teams/" + blue + "/members",
                               json::object{{"user_id", dev_id}, {"role", "team_admin"}}, lead),
                          404)); // Red's admin cannot even see Blue
  EXPECT_TRUE(isJsonError(send("POST", "/teams/" + red + "/members",
                               json::object{{"user_id", dev_id}, {"role", "platform_admin"}}, lead),
                          422, "role"));
  EXPECT_EQ(send("POST", "/teams/" + red + "/members",
                 json::object{{"user_id", dev_id}, {"role", "viewer"}}, lead)
                .status,
            200);
  EXPECT_TRUE(isJsonError(send("POST", "/teams/" + red + "/members",
                               json::object{{"user_id", viewer_id}, {"role", "developer"}}, member),
                          404));
  EXPECT_TRUE(
      isJsonError(send("DELETE", "/gateways/" + str(parse(gw.body), "id"), json::object{}, lead),
                  404)); // Red's admin may not touch Blue's upstream
  // A token minted with a higher role than the user's stays at the user's role.
  const std::string raised = signedToken(
      "viewer@example.com", [](auth::Claims& c) { c.extra["role"] = "platform_admin"; });
  EXPECT_TRUE(isJsonError(get("/users", raised), 403));

  // Every refusal is in the audit trail, with who and what.
  const auto denied = audit("result=denied&limit=1000");
  ASSERT_TRUE(denied.is_array()) << json::serialize(denied);
  std::set<std::string> seen;
  for (const auto& r : denied.as_array())
    seen.insert(str(r, "actor") + " " + str(r, "action"));
  EXPECT_TRUE(seen.count("viewer@example.com tools/call")) << json::serialize(denied);
  EXPECT_TRUE(seen.count("viewer@example.com POST /gateways")) << json::serialize(denied);
  EXPECT_TRUE(seen.count("dev@example.com PUT /users/" + dev_id)) << json::serialize(denied);
}

// Escalations through side doors: items changed by name, member listings of a server, tokens
// minted from restricted tokens, a lowered role that still holds team rights, credentials sent
// to a new destination.
TEST_F(SecurityTest, SideDoorsDoNotWidenRights) {
  start();
  const std::string lead_id = createUser("lead@example.com", "developer");
  const std::string member_id = createUser("member@example.com", "developer");
  const std::string red = createTeam("Red");
  const std::string blue = createTeam("Blue");
  addMember(red, lead_id, "team_admin");
  addMember(blue, member_id, "developer");
  auto gw = send("POST", "/gateways",
                 json::object{{"name", "Blue Tools"},
                              {"command", FORGE_FIXTURE_BINARY},
                              {"args", json::array{"--stdio"}},
                              {"env", json::object{{"API_KEY", "blue-secret"}}},
                              {"team_id", blue}},
                 admin_);
  ASSERT_EQ(gw.status, 201) << gw.body;
  const std::string lead = login("lead@example.com", kUserPassword);
  const std::string member = login("member@example.com", kUserPassword);

  // Red's admin cannot disable Blue's tool by naming it instead of giving its id.
  EXPECT_NE(
      send("POST", "/tools/blue-tools__add/state?activate=false", json::object{}, lead).status,
      200);
  EXPECT_EQ(
      findBy(parse(get("/tools?limit=0", admin_).body), "name", "blue-tools__add").at("enabled"),
      json::value(true));
  // A Red server selecting everything lists none of Blue's tools to Red.
  auto srv = send(
      "POST", "/servers",
      json::object{{"name", "red-all"}, {"associated_tools", json::array{"*"}}, {"team_id", red}},
      lead);
  ASSERT_EQ(srv.status, 201) << srv.body;
  const auto listed =
      namesOf(parse(get("/servers/" + str(parse(srv.body), "id") + "/tools", lead).body));
  EXPECT_TRUE(listed.count("fixture__add"));
  EXPECT_FALSE(listed.count("blue-tools__add"));

  // A token that asks for viewer is a viewer in its teams too.
  const std::string capped =
      signedToken("member@example.com", [](auth::Claims& c) { c.extra["role"] = "viewer"; });
  McpClient as_capped(port_, "/mcp", capped);
  ASSERT_TRUE(as_capped.initialize());
  EXPECT_TRUE(isError(as_capped.callTool("blue-tools__add", json::object{{"a", 1}, {"b", 1}})));
  // Restricted credentials do not mint full ones.
  EXPECT_TRUE(isJsonError(send("POST", "/tokens", json::object{{"name", "wider"}}, capped), 403));
  auto api = send("POST", "/tokens", json::object{{"name", "api"}}, member);
  ASSERT_EQ(api.status, 201) << api.body;
  EXPECT_TRUE(isJsonError(send("POST", "/tokens", json::object{{"name", "child"}},
                               str(parse(api.body), "access_token")),
                          403));

  // Stored credentials stay with their destination: a new command must bring its env again.
  auto moved =
      send("PUT", "/gateways/" + str(parse(gw.body), "id"),
           json::object{{"command", "/bin/sh"}, {"args", json::array{"-c", "env"}}}, admin_);
  EXPECT_TRUE(isJsonError(moved, 422, "env")) << moved.body;
}

// ---- API tokens ---------------------------------------------------------------------------------

TEST_F(SecurityTest, ApiTokensAreScopedRevocableAndTheirUseRecorded) {
  start();
  createUser("dev@example.com", "developer");
  const std::string dev = login("dev@example.com", kUserPassword);
  auto srv = send(
      "POST", "/servers",
      json::object{{"name", "adder"}, {"associated_tools", json::array{"fixture__add"}}}, admin_);
  ASSERT_EQ(srv.status, 201) << srv.body;
  const std::string server = str(parse(srv.body), "id");

  auto created = send(
      "POST", "/tokens",
      json::object{{"name", "ci"}, {"server_ids", json::array{server}}, {"expires_in_days", 30}},
      dev);
  ASSERT_EQ(created.status, 201) << created.body;
  const auto doc = parse(created.body);
  const std::string secret = str(doc, "access_token");
  const std::string id = str(doc.at("token"), "id");
  ASSERT_TRUE(secret.starts_with("forge_")) << created.body;
  EXPECT_EQ(created.body.find("token_hash"), std::string::npos);

  // Scoped to its server: that server's MCP endpoint only.
  McpClient scoped(port_, "/servers/" + server + "/mcp", secret);
  ASSERT_TRUE(scoped.initialize());
  EXPECT_EQ(scoped.toolNames(), std::set<std::string>{"fixture__add"});
  EXPECT_EQ(resultText(scoped.callTool("fixture__add", json::object{{"a", 20}, {"b", 22}})), "42");
  EXPECT_TRUE(isJsonError(get("/gateways", secret), 403, "virtual servers"));
  McpClient escape(port_, "/mcp", secret);
  EXPECT_FALSE(escape.initialize());
  EXPECT_EQ(escape.status(), 403);

  // The listing never shows the secret; use is recorded (flushed within seconds).
  ASSERT_TRUE(eventually(
      [&] {
        const auto token = findBy(parse(get("/tokens", dev).body), "id", id);
        return token.is_object() && token.at("useCount").to_number<std::int64_t>() > 0 &&
               !token.at("lastUsedAt").is_null();
      },
      15s));
  EXPECT_EQ(get("/tokens", dev).body.find(secret), std::string::npos);
  // Others' tokens are not the developer's business.
  EXPECT_TRUE(isJsonError(get("/tokens?all=true", dev), 403));

  // Address allow-list: a token for 10.0.0.0/8 is refused from 127.0.0.1.
  auto fenced =
      send("POST", "/tokens",
           json::object{{"name", "fenced"}, {"ip_allow", json::array{"10.0.0.0/8"}}}, dev);
  ASSERT_EQ(fenced.status, 201) << fenced.body;
  EXPECT_TRUE(isJsonError(get("/auth/me", str(parse(fenced.body), "access_token")), 403));
  auto local = send("POST", "/tokens",
                    json::object{{"name", "local"}, {"ip_allow", json::array{"127.0.0.0/8"}}}, dev);
  EXPECT_EQ(get("/auth/me", str(parse(local.body), "access_token")).status, 200);

  // Revoked: refused at once, on MCP as on REST.
  ASSERT_EQ(send("DELETE", "/tokens/" + id, json::object{}, dev).status, 200);
  EXPECT_FALSE(McpClient(port_, "/servers/" + server + "/mcp", secret).initialize());
  EXPECT_EQ(get("/auth/me", secret).status, 401);
  const auto token = findBy(parse(get("/tokens", dev).body), "id", id);
  EXPECT_EQ(token.at("isActive"), json::value(false));
}

// ---- brute force and rate limits --------------------------------------------------------------

TEST_F(SecurityTest, RepeatedFailedLoginsAreSlowedAndRecorded) {
  start();
  for (int i = 0; i < 5; ++i) {
    auto reply = request(port_, "POST", "/auth/email/login",
                         R"({"email":"admin@example.com","password":"guess"})");
    EXPECT_TRUE(isJsonError(reply, 401, "invalid email or password")) << i;
  }
  auto throttled = request(port_, "POST", "/auth/email/login",
                           R"({"email":"admin@example.com","password":"guess"})");
  EXPECT_TRUE(isJsonError(throttled, 429));
  EXPECT_GE(std::stoi(throttled.header("retry-after")), 1);
  // Even the right password waits: the account is cooling down.
  EXPECT_EQ(
      request(port_, "POST", "/auth/email/login",
              json::serialize(json::object{{"email", kAdminEmail}, {"password", kAdminPassword}}))
          .status,
      429);
  const auto failed = audit("action=login&result=denied&limit=100");
  ASSERT_TRUE(failed.is_array());
  EXPECT_GE(failed.as_array().size(), 6u) << json::serialize(failed);
  EXPECT_EQ(str(failed.as_array()[0], "targetId"), kAdminEmail);
}

TEST_F(SecurityTest, RateLimitsAnswer429WithRetryAfterAndJsonRpcErrors) {
  start({"--auth-rate-limit", "2", "--auth-rate-limit-burst", "30", "--auth-tool-rate-limit", "1",
         "--auth-tool-rate-limit-burst", "2"});
  McpClient client(port_, "/mcp", admin_);
  ASSERT_TRUE(client.initialize());
  int limited_calls = 0;
  for (int i = 0; i < 4; ++i) {
    auto answer = client.callTool("fixture__add", json::object{{"a", 1}, {"b", i}});
    if (isError(answer) && answer.at("error").at("code") == json::value(-32029)) ++limited_calls;
  }
  EXPECT_GE(limited_calls, 1);
  int limited_requests = 0;
  std::string retry_after;
  for (int i = 0; i < 40 && limited_requests == 0; ++i) {
    auto reply = get("/version", admin_);
    if (reply.status == 429) {
      ++limited_requests;
      retry_after = reply.header("retry-after");
    }
  }
  EXPECT_EQ(limited_requests, 1);
  EXPECT_FALSE(retry_after.empty());
}

// ---- audit and export ---------------------------------------------------------------------------

TEST_F(SecurityTest, ChangesAreAuditedAndExportedWithoutCredentials) {
  start();
  auto gw = send("POST", "/gateways",
                 json::object{{"name", "Keyed"},
                              {"command", FORGE_FIXTURE_BINARY},
                              {"args", json::array{"--stdio"}},
                              {"env", json::object{{"API_KEY", "s3cret-value"}}}},
                 admin_);
  ASSERT_EQ(gw.status, 201) << gw.body;
  EXPECT_EQ(gw.body.find("s3cret-value"), std::string::npos);
  const auto changes = audit("action=POST%20/gateways");
  ASSERT_TRUE(changes.is_array() && !changes.as_array().empty()) << json::serialize(changes);
  EXPECT_EQ(str(changes.as_array()[0], "actor"), kAdminEmail);
  EXPECT_EQ(str(changes.as_array()[0], "result"), "allowed");
  EXPECT_EQ(changes.as_array()[0].at("status"), json::value(201));

  auto exported = get("/export", admin_);
  ASSERT_EQ(exported.status, 200);
  EXPECT_EQ(exported.body.find("s3cret-value"), std::string::npos);
  const auto doc = parse(exported.body);
  ASSERT_TRUE(doc.at("audit_log").is_array());
  EXPECT_FALSE(doc.at("audit_log").as_array().empty());
  // The database holds the value sealed, not in clear.
  EXPECT_EQ(readFile(dir_ / "data" / "forge.db").find("s3cret-value"), std::string::npos);
  EXPECT_EQ(readFile(dir_ / "data" / "forge.db-wal").find("s3cret-value"), std::string::npos);
}

// ---- upstream credentials ----------------------------------------------------------------------

// An HTTP upstream protected by OAuth (the fixture's token endpoint): the gateway reaches it with
// a token of its own, obtained by client credentials; the client's bearer token never arrives
// there (the fixture counts every request whose token it did not issue).
TEST_F(SecurityTest, UpstreamsGetTheirOwnOAuthTokenNeverTheClients) {
  start();
  ChildProcess upstream({FORGE_FIXTURE_BINARY, "--port", "0", "--oauth-client-id", "forge",
                         "--oauth-client-secret", "upstream-client-secret"});
  auto line = upstream.waitForLine("listening on http://127.0.0.1:", 10s);
  ASSERT_TRUE(line) << upstream.err();
  const auto upstream_port =
      static_cast<std::uint16_t>(std::stoi(line->substr(line->find("127.0.0.1:") + 10)));
  const std::string base = fmt::format("http://127.0.0.1:{}", upstream_port);
  auto gw = send(
      "POST", "/gateways",
      json::object{{"name", "guarded"},
                   {"url", base + "/mcp"},
                   {"auth_type", "oauth"},
                   {"oauth_config", json::object{{"grant_type", "client_credentials"},
                                                 {"token_url", base + "/oauth/token"},
                                                 {"client_id", "forge"},
                                                 {"client_secret", "upstream-client-secret"}}}},
      admin_);
  ASSERT_EQ(gw.status, 201) << gw.body;
  EXPECT_EQ(gw.body.find("upstream-client-secret"), std::string::npos) << gw.body;
  EXPECT_EQ(str(parse(gw.body), "authType"), "oauth");

  McpClient client(port_, "/mcp", admin_);
  ASSERT_TRUE(client.initialize());
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(resultText(client.callTool("guarded__add", json::object{{"a", i}, {"b", 1}})),
              std::to_string(i + 1));
  const auto stats = parse(request(upstream_port, "GET", "/oauth/stats").body);
  EXPECT_GE(stats.at("tokens_issued").to_number<std::int64_t>(), 1) << json::serialize(stats);
  EXPECT_EQ(stats.at("rejected").to_number<std::int64_t>(), 0) << json::serialize(stats);
  // The client secret is sealed in the database, never in clear.
  EXPECT_EQ(readFile(dir_ / "data" / "forge.db").find("upstream-client-secret"), std::string::npos);
  EXPECT_EQ(readFile(dir_ / "data" / "forge.db-wal").find("upstream-client-secret"),
            std::string::npos);
  EXPECT_EQ((gateway_->out() + gateway_->err()).find("upstream-client-secret"), std::string::npos);
}

// ---- start-up: generated and refused secrets ---------------------------------------------------

TEST_F(SecurityTest, FirstStartGeneratesSecretsAndSaysHowToGetAnAdminToken) {
  ChildProcess first({FORGE_BINARY, "gateway", "--server-port", "0", "--data-dir",
                      (dir_ / "data").string(), "--auth-required", "true", "--auth-password-cost",
                      "minimum"},
                     {}, dir_.string());
  auto line = first.waitForLine("listening on http://127.0.0.1:", 10s);
  ASSERT_TRUE(line) << first.err();
  port_ = static_cast<std::uint16_t>(std::stoi(line->substr(line->find("127.0.0.1:") + 10)));
  const std::string log = first.out() + first.err();
  EXPECT_NE(log.find("forge token create --user admin@example.com"), std::string::npos) << log;

  const auto secrets = dir_ / "data" / "secrets.json";
  struct stat st {};
  ASSERT_EQ(::stat(secrets.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const auto stored = parse(readFile(secrets));
  for (const char* name : {"jwt_secret", "encryption_secret", "admin_password"})
    EXPECT_GE(str(stored, name).size(), 24u) << name;

  // The generated password logs in; `forge token create` signs with the generated key.
  EXPECT_FALSE(login(kAdminEmail, str(stored, "admin_password")).empty());
  auto minted = runCommand({FORGE_BINARY, "token", "create", "--user", kAdminEmail, "--data-dir",
                            (dir_ / "data").string()});
  ASSERT_EQ(minted.exit_code, 0) << minted.err;
  std::string token = minted.out;
  while (!token.empty() && token.back() == '\n')
    token.pop_back();
  EXPECT_EQ(get("/gateways", token).status, 200);
  first.signal(SIGTERM);
  EXPECT_TRUE(first.wait(10s));
}

TEST_F(SecurityTest, WeakSecretsAndOpenDevelopmentModeAreRefusedAtStart) {
  const std::vector<std::string> base{FORGE_BINARY, "gateway",    "--server-port",
                                      "0",          "--data-dir", (dir_ / "data").string()};
  auto weak_jwt = runCommand(base, {"AUTH_REQUIRED=true", "JWT_SECRET_KEY=my-test-key"});
  EXPECT_NE(weak_jwt.exit_code, 0);
  EXPECT_NE(weak_jwt.err.find("JWT_SECRET_KEY"), std::string::npos) << weak_jwt.err;
  auto weak_box =
      runCommand(base, {"AUTH_REQUIRED=true",
                        "AUTH_ENCRYPTION_SECRET=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"});
  EXPECT_NE(weak_box.exit_code, 0);
  EXPECT_NE(weak_box.err.find("AUTH_ENCRYPTION_SECRET"), std::string::npos) << weak_box.err;
  auto weak_admin = runCommand(base, {"AUTH_REQUIRED=true", "PLATFORM_ADMIN_PASSWORD=admin"});
  EXPECT_NE(weak_admin.exit_code, 0);
  EXPECT_NE(weak_admin.err.find("PLATFORM_ADMIN_PASSWORD"), std::string::npos) << weak_admin.err;
  // Development mode lets everyone in: never on a public address.
  auto open = base;
  open.insert(open.end(), {"--server-host", "0.0.0.0"});
  auto dev = runCommand(open, {"AUTH_REQUIRED=false"});
  EXPECT_NE(dev.exit_code, 0);
  EXPECT_NE(dev.err.find("loopback"), std::string::npos) << dev.err;
}

TEST_F(SecurityTest, MetricsNeedATokenAndOnlyPlatformAdminsChangeTheLogLevel) {
  start();
  EXPECT_TRUE(isJsonError(request(port_, "GET", "/metrics"), 401));
  createUser("watcher@example.com", "viewer");
  const std::string viewer = signedToken("watcher@example.com");
  const auto metrics = get("/metrics", viewer);
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("forge_upstream_up{upstream=\"fixture\"} 1"), std::string::npos);
  EXPECT_EQ(get("/admin/log-level", viewer).status, 200);
  EXPECT_TRUE(
      isJsonError(send("PUT", "/admin/log-level", json::object{{"level", "debug"}}, viewer), 403));
  EXPECT_NE(get("/admin/log-level", admin_).body.find("\"info\""), std::string::npos);
  EXPECT_EQ(send("PUT", "/admin/log-level", json::object{{"level", "debug"}}, admin_).status, 200);
  EXPECT_NE(get("/admin/log-level", admin_).body.find("\"debug\""), std::string::npos);
  const auto changes = audit("action=PUT%20/admin/log-level");
  ASSERT_TRUE(changes.is_array());
  ASSERT_EQ(changes.as_array().size(), 2u) << json::serialize(changes); // refused and allowed
}

TEST_F(SecurityTest, PublicMetricsNeedNoTokenButTheLogLevelStillDoes) {
  start({"--metrics-public", "true"});
  EXPECT_EQ(request(port_, "GET", "/metrics").status, 200);
  EXPECT_TRUE(isJsonError(request(port_, "GET", "/admin/log-level"), 401));
}

} // namespace
} // namespace forge::test
