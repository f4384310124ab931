// The catalog store, on every backend (SQLite always; PostgreSQL when the throwaway server is
// up, see test/integration/postgres_storage_test.sh).
#include "auth/secret_box.h"
#include "storage/backends.h"
#include "storage/migrations.h"
#include "storage/store.h"
#include "storage/worker.h"

#include <gtest/gtest.h>

#include <thread>

namespace forge::storage {
namespace {

class StoreTest : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    db_ = test::openTestDatabase(GetParam());
    ASSERT_TRUE(db_);
    auto version = migrate(*db_);
    ASSERT_TRUE(version.ok()) << version.error().message;
    store_ = std::make_unique<Store>(*db_);
  }

  GatewayRecord addGateway(const std::string& name) {
    GatewayRecord g;
    g.name = name;
    g.transport = "stdio";
    g.command = "/bin/true";
    g.args = {"--stdio", "a b"};
    g.env = {{"TOKEN", "s3cret"}};
    g.headers = {{"X-Api-Key", "k"}};
    g.tags = {"team-a"};
    auto saved = store_->insertGateway(g);
    EXPECT_TRUE(saved.ok()) << saved.error().message;
    return saved.ok() ? *saved : g;
  }

  static Discovery discovery(std::vector<std::string> tools) {
    Discovery d;
    for (auto& name : tools) {
      ToolRecord t;
      t.original_name = name;
      t.name = "gw__" + name;
      t.input_schema = R"({"type":"object"})";
      d.tools.push_back(std::move(t));
    }
    ResourceRecord r;
    r.uri = "file:///readme";
    r.name = "readme";
    d.resources.push_back(r);
    ResourceRecord tpl;
    tpl.uri = "file:///{path}";
    tpl.is_template = true;
    d.resources.push_back(tpl);
    PromptRecord p;
    p.original_name = "greet";
    p.name = "gw__greet";
    p.arguments = R"([{"name":"who"}])";
    d.prompts.push_back(p);
    return d;
  }

  DatabasePtr db_;
  std::unique_ptr<Store> store_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::ValuesIn(test::storageBackends()),
                         test::backendName);

TEST_P(StoreTest, MigratesOnceAndKnowsItsVersion) {
  auto again = migrate(*db_);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, migrations().back().version);
  auto version = schemaVersion(*db_);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, migrations().back().version);
}

TEST_P(StoreTest, RefusesADatabaseNewerThanTheBinary) {
  ASSERT_TRUE(
      db_->query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                 {std::int64_t{9999}, std::string("future"), std::string("now")})
          .ok());
  auto refused = migrate(*db_);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("newer"), std::string::npos);
}

TEST_P(StoreTest, GatewaysRoundTripEveryField) {
  const auto saved = addGateway("My Upstream");
  EXPECT_EQ(saved.id.size(), 32u);
  EXPECT_EQ(saved.slug, "my-upstream");
  auto read = store_->gateway(saved.id);
  ASSERT_TRUE(read.ok());
  ASSERT_TRUE(read->has_value());
  const auto& g = **read;
  EXPECT_EQ(g.name, "My Upstream");
  EXPECT_EQ(g.args, (std::vector<std::string>{"--stdio", "a b"}));
  EXPECT_EQ(g.env.at("TOKEN"), "s3cret");
  EXPECT_EQ(g.headers.at("X-Api-Key"), "k");
  EXPECT_EQ(g.tags, std::vector<std::string>{"team-a"});
  EXPECT_TRUE(g.enabled);
  EXPECT_FALSE(g.reachable);
  EXPECT_FALSE(g.created_at.empty());
  auto by_name = store_->gatewayByName("My Upstream");
  ASSERT_TRUE(by_name.ok() && by_name->has_value());
  EXPECT_EQ((*by_name)->id, saved.id);
}

TEST_P(StoreTest, DuplicateGatewayNameIsAConflict) {
  addGateway("dup");
  GatewayRecord again;
  again.name = "dup";
  again.transport = "stdio";
  auto result = store_->insertGateway(again);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, core::Errc::kConflict);
}

TEST_P(StoreTest, UpdatesAndHealth) {
  auto g = addGateway("gw");
  g.description = "changed";
  g.enabled = false;
  ASSERT_TRUE(store_->updateGateway(g).ok());
  ASSERT_TRUE(store_->setGatewayHealth(g.id, true, "ready", "", R"({"tools":{}})").ok());
  auto read = store_->gateway(g.id);
  ASSERT_TRUE(read.ok() && read->has_value());
  EXPECT_EQ((*read)->description, "changed");
  EXPECT_FALSE((*read)->enabled);
  EXPECT_TRUE((*read)->reachable);
  EXPECT_EQ((*read)->health, "ready");
  EXPECT_FALSE((*read)->last_seen.empty());
  GatewayRecord ghost = g;
  ghost.id = "nope";
  auto missing = store_->updateGateway(ghost);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, core::Errc::kNotFound);
}

TEST_P(StoreTest, DiscoveryKeepsIdsAndFlagsAndDropsWhatIsGone) {
  const auto g = addGateway("gw");
  ASSERT_TRUE(store_->replaceDiscovery(g.id, discovery({"add", "echo", "slow"})).ok());
  auto tools = store_->tools();
  ASSERT_TRUE(tools.ok());
  ASSERT_EQ(tools->size(), 3u);
  std::string echo_id;
  for (const auto& t : *tools)
    if (t.original_name == "echo") echo_id = t.id;
  ASSERT_FALSE(echo_id.empty());
  ASSERT_TRUE(*store_->setItemEnabled("tools", echo_id, false));
  ASSERT_TRUE(*store_->setItemTags("tools", echo_id, {"noisy"}));

  // Listed again: slow is gone, echo keeps its id, flag and tags; new arrives.
  ASSERT_TRUE(store_->replaceDiscovery(g.id, discovery({"add", "echo", "new"})).ok());
  tools = store_->tools();
  ASSERT_TRUE(tools.ok());
  ASSERT_EQ(tools->size(), 3u);
  for (const auto& t : *tools) {
    EXPECT_NE(t.original_name, "slow");
    if (t.original_name == "echo") {
      EXPECT_EQ(t.id, echo_id);
      EXPECT_FALSE(t.enabled);
      EXPECT_EQ(t.tags, std::vector<std::string>{"noisy"});
    }
  }
  auto resources = store_->resources();
  ASSERT_TRUE(resources.ok());
  EXPECT_EQ(resources->size(), 2u);
  auto prompts = store_->prompts();
  ASSERT_TRUE(prompts.ok());
  ASSERT_EQ(prompts->size(), 1u);
  EXPECT_EQ((*prompts)[0].arguments, R"([{"name":"who"}])");
}

TEST_P(StoreTest, DeletingAGatewayDeletesWhatItOffered) {
  const auto g = addGateway("gw");
  ASSERT_TRUE(store_->replaceDiscovery(g.id, discovery({"add"})).ok());
  auto deleted = store_->deleteGateway(g.id);
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(*deleted);
  EXPECT_TRUE(store_->tools()->empty());
  EXPECT_TRUE(store_->resources()->empty());
  EXPECT_TRUE(store_->prompts()->empty());
  EXPECT_FALSE(*store_->deleteGateway(g.id));
}

TEST_P(StoreTest, TheCatalogStampChangesWithEveryChangeAnotherInstanceMustSee) {
  auto stamp = [&] {
    auto now = store_->catalogStamp();
    EXPECT_TRUE(now.ok()) << now.error().message;
    return now.ok() ? *now : std::string();
  };
  const std::string empty = stamp();
  EXPECT_EQ(stamp(), empty); // reading changes nothing
  auto g = addGateway("alpha");
  const std::string added = stamp();
  EXPECT_NE(added, empty);
  ASSERT_TRUE(store_->replaceDiscovery(g.id, discovery({"add", "echo"})).ok());
  const std::string discovered = stamp();
  EXPECT_NE(discovered, added);
  // Health is not a change of the catalog.
  ASSERT_TRUE(store_->setGatewayHealth(g.id, true, "ready", "", "{}").ok());
  EXPECT_EQ(stamp(), discovered);
  // Hiding a tool, disabling the gateway, adding a server member: each is seen.
  auto tools = store_->tools();
  ASSERT_TRUE(tools.ok());
  ASSERT_TRUE(store_->setItemEnabled("tools", tools->front().id, false).ok());
  const std::string hidden = stamp();
  EXPECT_NE(hidden, discovered);
  g.enabled = false;
  ASSERT_TRUE(store_->updateGateway(g).ok());
  const std::string disabled = stamp();
  EXPECT_NE(disabled, hidden);
  ServerRecord server;
  server.name = "math";
  server.members = {{MemberKind::kTool, "gw__add"}};
  ASSERT_TRUE(store_->insertServer(server).ok());
  EXPECT_NE(stamp(), disabled);
  const std::string with_server = stamp();
  ASSERT_TRUE(store_->deleteGateway(g.id).ok());
  EXPECT_NE(stamp(), with_server);
}

TEST_P(StoreTest, ServersKeepTheirMembersInOrder) {
  ServerRecord s;
  s.name = "math";
  s.max_tools = 60;
  s.tags = {"x"};
  s.members = {{MemberKind::kTool, "gw__add"},
               {MemberKind::kTool, "gw__*"},
               {MemberKind::kTool, "gw__add"}, // duplicates are stored once
               {MemberKind::kPrompt, "gw__greet"},
               {MemberKind::kResource, "file:///readme"}};
  auto saved = store_->insertServer(s);
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  auto read = store_->server(saved->id);
  ASSERT_TRUE(read.ok() && read->has_value());
  const auto& r = **read;
  EXPECT_EQ(r.max_tools, 60);
  ASSERT_EQ(r.members.size(), 4u);
  EXPECT_EQ(r.members[0].selector, "gw__add");
  EXPECT_EQ(r.members[1].selector, "gw__*");
  EXPECT_EQ(r.members[2].kind, MemberKind::kPrompt);

  auto copy = r;
  copy.members = {{MemberKind::kTool, "other"}};
  ASSERT_TRUE(store_->updateServer(copy).ok());
  auto all = store_->servers();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  ASSERT_EQ((*all)[0].members.size(), 1u);
  EXPECT_EQ((*all)[0].members[0].selector, "other");

  ServerRecord dup;
  dup.name = "math";
  auto conflict = store_->insertServer(dup);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().code, core::Errc::kConflict);
  EXPECT_TRUE(*store_->deleteServer(r.id));
  EXPECT_TRUE(store_->servers()->empty());
}

TEST_P(StoreTest, CallMetricsRollUpByHour) {
  CallTally ten, eleven, now;
  ten.add("gw", "add", false, 10);
  ten.add("gw", "add", true, 30);
  eleven.add("gw", "add", false, 5);
  now.add("gw", "echo", false, 1);
  ASSERT_TRUE(store_->addCalls(ten, "2026-11-27T10:00:00Z").ok());
  ASSERT_TRUE(store_->addCalls(eleven, "2026-11-27T11:00:00Z").ok());
  ASSERT_TRUE(store_->addCalls(now).ok());
  // A second flush of the same hour adds to its row.
  CallTally later;
  later.add("gw", "add", false, 20);
  ASSERT_TRUE(store_->addCalls(later, "2026-11-27T10:00:00Z").ok());
  auto totals = store_->callMetrics();
  ASSERT_TRUE(totals.ok());
  ASSERT_EQ(totals->size(), 2u);
  const auto& add = (*totals)[0];
  EXPECT_EQ(add.tool, "add");
  EXPECT_EQ(add.calls, 4);
  EXPECT_EQ(add.errors, 1);
  EXPECT_DOUBLE_EQ(add.total_ms, 65);
  EXPECT_DOUBLE_EQ(add.min_ms, 5);
  EXPECT_DOUBLE_EQ(add.max_ms, 30);
  auto history = store_->callHistory("gw", "add", 24);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].last_hour, "2026-11-27T11:00:00Z");
  EXPECT_EQ((*history)[1].calls, 3);
  EXPECT_DOUBLE_EQ((*history)[1].min_ms, 10);
}

TEST_P(StoreTest, WorkerRunsJobsInOrderOffTheCallersThread) {
  auto worker = std::make_unique<StorageWorker>(std::move(db_));
  ASSERT_TRUE(worker->call([](Store& s) { return migrate(s.database()); }).ok());
  const auto caller = std::this_thread::get_id();
  std::vector<int> order;
  for (int i = 0; i < 20; ++i) {
    worker->submit([&order, i, caller](Store& s) {
      EXPECT_NE(std::this_thread::get_id(), caller);
      ServerRecord r;
      r.name = "s" + std::to_string(i);
      EXPECT_TRUE(s.insertServer(r).ok());
      order.push_back(i);
    });
  }
  auto count = worker->call([](Store& s) { return s.servers(); });
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->size(), 20u);
  worker->stop();
  ASSERT_EQ(order.size(), 20u);
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
  EXPECT_FALSE(worker->submit([](Store&) {}));
}

TEST_P(StoreTest, UsersTeamsAndMemberships) {
  auto id = store_->identity();
  auto ada = id.insertUser(
      {.email = "ada@example.com", .password_hash = "$argon2id$x", .role = "platform_admin"});
  ASSERT_TRUE(ada.ok()) << ada.error().message;
  auto dup = id.insertUser({.email = "ada@example.com"});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, core::Errc::kConflict);
  auto bob = id.insertUser({.email = "bob@example.com", .role = "viewer"});
  ASSERT_TRUE(bob.ok());
  auto team = id.insertTeam({.name = "Data Platform"});
  ASSERT_TRUE(team.ok());
  EXPECT_EQ(team->slug, "data-platform");
  ASSERT_TRUE(id.setMember(team->id, bob->id, "developer").ok());
  ASSERT_TRUE(id.setMember(team->id, bob->id, "team_admin").ok()); // a change, not a second row
  auto members = id.members(team->id);
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->size(), 1u);
  EXPECT_EQ((*members)[0].role, "team_admin");
  EXPECT_EQ(id.membershipsOf(bob->id)->size(), 1u);
  auto by_slug = id.team("data-platform");
  ASSERT_TRUE(by_slug.ok() && by_slug->has_value());
  EXPECT_EQ((*by_slug)->id, team->id);
  // Deleting the user removes the membership with it.
  EXPECT_TRUE(*id.deleteUser(bob->id));
  EXPECT_TRUE(id.members(team->id)->empty());
  auto found = id.userByEmail("ada@example.com");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->role, "platform_admin");
  EXPECT_TRUE(id.recordLogin(ada->id).ok());
  EXPECT_FALSE((*id.user(ada->id))->last_login.empty());
}

TEST_P(StoreTest, TokensAreFoundByHashAndRevokedByIdOrJti) {
  auto id = store_->identity();
  auto user = id.insertUser({.email = "t@example.com"});
  ASSERT_TRUE(user.ok());
  auto token = id.insertToken({.user_id = user->id,
                               .name = "ci",
                               .token_hash = "abc123",
                               .servers = {"s1", "s2"},
                               .expires_at = "2030-01-01T00:00:00Z"});
  ASSERT_TRUE(token.ok()) << token.error().message;
  auto found = id.tokenByHash("abc123");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->servers, (std::vector<std::string>{"s1", "s2"}));
  ASSERT_TRUE(id.recordTokenUse(token->id, 3, "2026-11-27T10:00:00Z").ok());
  EXPECT_EQ((*id.tokenById(token->jti))->use_count, 3);
  auto revoked = id.revoke(token->jti, "admin@example.com", "leaked");
  ASSERT_TRUE(revoked.ok()) << revoked.error().message;
  EXPECT_TRUE(*revoked);
  EXPECT_FALSE((*id.tokenById(token->id))->revoked_at.empty());
  // A jti that names no API token (a login JWT) is recorded all the same; twice is harmless.
  EXPECT_FALSE(*id.revoke("login-jti", "admin", ""));
  EXPECT_FALSE(*id.revoke("login-jti", "admin", ""));
  auto jtis = id.revokedJtis();
  ASSERT_TRUE(jtis.ok());
  EXPECT_EQ(*jtis, (std::set<std::string>{token->jti, "login-jti"}));
}

TEST_P(StoreTest, AuditTrailIsQueryable) {
  auto id = store_->identity();
  ASSERT_TRUE(id.appendAudit({{.at = "2026-11-27T10:00:00.000Z",
                               .actor = "ada",
                               .action = "POST /gateways",
                               .target_type = "gateway",
                               .target_id = "g1",
                               .result = "allowed",
                               .status = 201},
                              {.at = "2026-11-27T11:00:00.000Z",
                               .actor = "bob",
                               .action = "tools/call",
                               .target_id = "fixture__add",
                               .result = "denied",
                               .status = 403},
                              {.at = "2026-11-27T12:00:00.000Z",
                               .actor = "ada",
                               .action = "POST /servers",
                               .result = "allowed",
                               .status = 201}})
                  .ok());
  auto all = id.audit({});
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].action, "POST /servers"); // newest first
  EXPECT_EQ(id.audit({.actor = "ada"})->size(), 2u);
  EXPECT_EQ(id.audit({.result = "denied"})->size(), 1u);
  EXPECT_EQ(id.audit({.action = "POST "})->size(), 2u);
  EXPECT_EQ(id.audit({.since = "2026-11-27T11:00:00.000Z"})->size(), 2u);
  EXPECT_EQ(id.audit({.limit = 1})->size(), 1u);
}

// ---- Credentials at rest ----------------------------------------------------------------------

std::shared_ptr<const auth::SecretBox> box(const std::string& secret) {
  auto made = auth::SecretBox::fromSecret(secret);
  EXPECT_TRUE(made.ok());
  return std::make_shared<const auth::SecretBox>(std::move(*made));
}

GatewayRecord withCredentials(const std::string& name) {
  GatewayRecord g;
  g.name = name;
  g.transport = "streamable-http";
  g.url = "http://127.0.0.1:9/mcp";
  g.headers = {{"X-Api-Key", "header-value-1234"}, {"X-Empty", ""}};
  g.env = {{"API_TOKEN", "env-value-5678"}};
  g.oauth_token_url = "http://127.0.0.1:9/oauth/token";
  g.oauth_client_id = "client-id-abc";
  g.oauth_client_secret = "oauth-secret-9012";
  g.oauth_scope = "read write";
  g.oauth_audience = "https://api.example";
  return g;
}

// The stored columns as they are in the database.
std::string rawCredentials(Database& db, const std::string& id) {
  auto rows = db.query("SELECT headers, env, oauth_client_secret FROM gateways WHERE id = ?", {id});
  EXPECT_TRUE(rows.ok() && rows->rows.size() == 1u);
  if (!rows.ok() || rows->rows.empty()) return {};
  const auto& row = rows->rows[0];
  return row.text(0) + "\n" + row.text(1) + "\n" + row.text(2);
}

void expectClearValues(const GatewayRecord& g) {
  EXPECT_EQ(g.headers.at("X-Api-Key"), "header-value-1234");
  EXPECT_EQ(g.headers.at("X-Empty"), "");
  EXPECT_EQ(g.env.at("API_TOKEN"), "env-value-5678");
  EXPECT_EQ(g.oauth_client_secret, "oauth-secret-9012");
  EXPECT_EQ(g.oauth_token_url, "http://127.0.0.1:9/oauth/token");
  EXPECT_EQ(g.oauth_client_id, "client-id-abc");
  EXPECT_EQ(g.oauth_scope, "read write");
  EXPECT_EQ(g.oauth_audience, "https://api.example");
}

const std::string kKeyA = "an-encryption-secret-of-at-least-32-bytes";
const std::string kKeyB = "another-encryption-secret-at-least-32-bytes";

TEST_P(StoreTest, CredentialsAreSealedAtRestAndReadInClear) {
  store_->setSecretBox(box(kKeyA));
  auto saved = store_->insertGateway(withCredentials("sealed"));
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  expectClearValues(*saved);

  const std::string raw = rawCredentials(*db_, saved->id);
  for (const char* clear : {"header-value-1234", "env-value-5678", "oauth-secret-9012"})
    EXPECT_EQ(raw.find(clear), std::string::npos) << raw;
  EXPECT_NE(raw.find("X-Api-Key"), std::string::npos) << "names stay readable";
  EXPECT_NE(raw.find("\"API_TOKEN\":\"v1:"), std::string::npos) << raw;
  EXPECT_NE(raw.find("\nv1:"), std::string::npos) << "the client secret is sealed: " << raw;

  auto read = store_->gateway(saved->id);
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_TRUE(read->has_value());
  expectClearValues(**read);
  auto all = store_->gateways();
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->size(), 1u);
  expectClearValues(all->front());
  auto by_name = store_->gatewayByName("sealed");
  ASSERT_TRUE(by_name.ok() && by_name->has_value());
  expectClearValues(**by_name);

  // An update seals again (a fresh nonce: the stored text changes, the values do not).
  auto updated = store_->updateGateway(**read);
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  const std::string raw_again = rawCredentials(*db_, saved->id);
  EXPECT_NE(raw_again, raw);
  EXPECT_EQ(raw_again.find("oauth-secret-9012"), std::string::npos);
  expectClearValues(**store_->gateway(saved->id));
}

TEST_P(StoreTest, AChangedEncryptionSecretIsAClearError) {
  store_->setSecretBox(box(kKeyA));
  auto saved = store_->insertGateway(withCredentials("locked"));
  ASSERT_TRUE(saved.ok()) << saved.error().message;

  store_->setSecretBox(box(kKeyB));
  auto check = [](const core::Error& error) {
    EXPECT_EQ(error.code, core::Errc::kInternal);
    EXPECT_NE(error.message.find("gateway 'locked'"), std::string::npos) << error.message;
    EXPECT_NE(error.message.find("AUTH_ENCRYPTION_SECRET changed"), std::string::npos)
        << error.message;
    EXPECT_EQ(error.message.find("v1:"), std::string::npos) << error.message;
  };
  auto one = store_->gateway(saved->id);
  ASSERT_FALSE(one.ok());
  check(one.error());
  auto all = store_->gateways();
  ASSERT_FALSE(all.ok());
  check(all.error());
  auto by_name = store_->gatewayByName("locked");
  ASSERT_FALSE(by_name.ok());
  check(by_name.error());

  // No box at all: sealed values are not handed out as if they were the values.
  store_->setSecretBox(nullptr);
  auto unboxed = store_->gateway(saved->id);
  ASSERT_FALSE(unboxed.ok());
  EXPECT_NE(unboxed.error().message.find("AUTH_ENCRYPTION_SECRET is not set"), std::string::npos)
      << unboxed.error().message;

  // The right secret again: everything reads.
  store_->setSecretBox(box(kKeyA));
  auto back = store_->gateway(saved->id);
  ASSERT_TRUE(back.ok()) << back.error().message;
  expectClearValues(**back);
}

TEST_P(StoreTest, ClearRowsAreReadAndSealedOnTheirNextWrite) {
  // Written without a box (development mode, or before credentials were sealed).
  auto saved = store_->insertGateway(withCredentials("legacy"));
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_NE(rawCredentials(*db_, saved->id).find("oauth-secret-9012"), std::string::npos);

  store_->setSecretBox(box(kKeyA));
  auto read = store_->gateway(saved->id);
  ASSERT_TRUE(read.ok()) << read.error().message;
  expectClearValues(**read);
  ASSERT_TRUE(store_->updateGateway(**read).ok());
  const std::string raw = rawCredentials(*db_, saved->id);
  for (const char* clear : {"header-value-1234", "env-value-5678", "oauth-secret-9012"})
    EXPECT_EQ(raw.find(clear), std::string::npos) << raw;
  expectClearValues(**store_->gateway(saved->id));
}

TEST(SlugTest, MakesNamesFitForUrls) {
  EXPECT_EQ(slugify("My Upstream"), "my-upstream");
  EXPECT_EQ(slugify("  GitHub  MCP!! "), "github-mcp");
  EXPECT_EQ(slugify("snake_case__x"), "snake-case-x");
  EXPECT_EQ(slugify("***"), "");
  EXPECT_EQ(newId().size(), 32u);
  EXPECT_NE(newId(), newId());
}

} // namespace
} // namespace forge::storage
