// Versioned schema migrations. Each migration runs once, in its own transaction, in version
// order, and is recorded in schema_migrations; start-up applies the ones a database lacks. A
// database newer than this binary (a version it does not know) is refused rather than
// guessed at.
#pragma once

#include "core/error.h"
#include "storage/database.h"

#include <vector>

namespace forge::storage {

struct Migration {
  int version;
  const char* name;
  const char* sql; // statements separated by ';', valid on SQLite and PostgreSQL
};

// Every migration this binary knows, oldest first.
const std::vector<Migration>& migrations();

// Brings the schema up to date. Returns the schema version now in place.
core::Result<int> migrate(Database& db);

// The schema version in place (0 for an empty database).
core::Result<int> schemaVersion(Database& db);

} // namespace forge::storage
