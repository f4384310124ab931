// Test support shared by every storage test: which backends to run against, and a fresh, empty
// database on each. SQLite always; PostgreSQL when FORGE_TEST_POSTGRES_URL names a server that
// tests may wipe (test/integration/postgres_storage_test.sh starts one and sets it).
//
// A suite runs on every backend with
//   INSTANTIATE_TEST_SUITE_P(Backends, MyTest, ::testing::ValuesIn(storageBackends()),
//                            backendName);
// so that its tests are named .../sqlite and .../postgresql (--gtest_filter='*postgresql*').
#pragma once

#include "storage/database.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace forge::test {

// The environment variable holding the URL of a PostgreSQL database the tests may wipe.
inline constexpr const char* kPostgresUrlVariable = "FORGE_TEST_POSTGRES_URL";

// {"sqlite"}, plus "postgresql" when FORGE_TEST_POSTGRES_URL is set.
std::vector<std::string> storageBackends();
// {"postgresql"} when FORGE_TEST_POSTGRES_URL is set, else empty (for PostgreSQL-only suites,
// which then need GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST).
std::vector<std::string> postgresBackends();

// The test name suffix for a backend: the backend itself.
std::string backendName(const ::testing::TestParamInfo<std::string>& info);

// A fresh, empty database on `backend`: SQLite in a new temporary directory (removed when the
// process exits), or the FORGE_TEST_POSTGRES_URL database with its public schema dropped and
// re-created. On failure it records a test failure and returns nullptr.
storage::DatabasePtr openTestDatabase(const std::string& backend);

// A new empty temporary directory, removed when the process exits.
std::string makeTempDir();

} // namespace forge::test
