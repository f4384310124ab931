#include "auth/roles.h"

#include <gtest/gtest.h>

namespace forge::auth {
namespace {

TEST(RoleTest, NamesRoundTrip) {
  for (Role r : {Role::kViewer, Role::kDeveloper, Role::kTeamAdmin, Role::kPlatformAdmin})
    EXPECT_EQ(parseRole(roleName(r)), r);
  EXPECT_FALSE(parseRole("root"));
  EXPECT_FALSE(parseRole("Platform_Admin"));
}

TEST(RoleTest, AViewerReadsButNeverCallsATool) {
  EXPECT_TRUE(allows(Role::kViewer, Permission::kCatalogRead));
  EXPECT_TRUE(allows(Role::kViewer, Permission::kContentRead));
  EXPECT_FALSE(allows(Role::kViewer, Permission::kToolsExecute));
  EXPECT_FALSE(allows(Role::kViewer, Permission::kTokensOwn));
  EXPECT_FALSE(allows(Role::kViewer, Permission::kCatalogWrite));
}

TEST(RoleTest, OnlyPlatformAdminsManageUsersAndReadTheAudit) {
  for (Role r : {Role::kViewer, Role::kDeveloper, Role::kTeamAdmin}) {
    EXPECT_FALSE(allows(r, Permission::kUsersManage)) << roleName(r);
    EXPECT_FALSE(allows(r, Permission::kAuditRead)) << roleName(r);
    EXPECT_FALSE(allows(r, Permission::kTokensAll)) << roleName(r);
  }
  EXPECT_TRUE(allows(Role::kPlatformAdmin, Permission::kUsersManage));
}

TEST(PrincipalTest, AnotherTeamsObjectsAreInvisible) {
  Principal dev{.user_id = "u",
                .email = "dev@x",
                .role = Role::kDeveloper,
                .teams = {{"team-a", Role::kDeveloper}}};
  EXPECT_TRUE(dev.may(Permission::kToolsExecute, "team-a"));
  EXPECT_TRUE(dev.may(Permission::kToolsExecute, "")); // shared objects
  EXPECT_FALSE(dev.may(Permission::kCatalogRead, "team-b"));
  EXPECT_FALSE(dev.maySeeServer("s1", "team-b"));
  EXPECT_TRUE(dev.maySeeServer("s1", "team-a"));
}

TEST(PrincipalTest, ATeamAdminAdministersOnlyTheirTeam) {
  Principal lead{.email = "lead@x",
                 .role = Role::kDeveloper,
                 .teams = {{"team-a", Role::kTeamAdmin}, {"team-b", Role::kViewer}}};
  EXPECT_TRUE(lead.may(Permission::kCatalogWrite, "team-a"));
  EXPECT_FALSE(lead.may(Permission::kCatalogWrite, "team-b"));
  EXPECT_TRUE(lead.may(Permission::kToolsExecute, "team-b")); // platform role: developer
  EXPECT_FALSE(lead.may(Permission::kCatalogWrite, ""));      // shared objects: platform only
  EXPECT_FALSE(lead.may(Permission::kUsersManage));
  // A platform-wide team_admin is no platform admin outside their teams.
  Principal global_lead{.email = "g@x", .role = Role::kTeamAdmin};
  EXPECT_FALSE(global_lead.may(Permission::kCatalogWrite, ""));
  EXPECT_FALSE(global_lead.may(Permission::kCatalogRead, "team-a"));
}

TEST(PrincipalTest, ATokenScopedToServersSeesOnlyThose) {
  Principal scoped{
      .email = "ci@x", .role = Role::kDeveloper, .servers = std::vector<std::string>{"s1"}};
  EXPECT_TRUE(scoped.maySeeServer("s1", ""));
  EXPECT_FALSE(scoped.maySeeServer("s2", ""));
  Principal admin{.email = "root@x", .role = Role::kPlatformAdmin};
  EXPECT_TRUE(admin.may(Permission::kCatalogWrite, "any-team"));
  EXPECT_TRUE(admin.maySeeServer("s9", "any-team"));
  EXPECT_EQ(admin.actor(), "root@x");
  EXPECT_EQ(Principal{.token_id = "t1"}.actor(), "token:t1");
}

} // namespace
} // namespace forge::auth
