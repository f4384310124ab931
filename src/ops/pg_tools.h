// PostgreSQL backups with the PostgreSQL client programs (Debian's postgresql-client):
// pg_dump -Fc (custom format: compressed, restorable selectively, listable offline) and
// pg_restore. A URL's password is handed to them in PGPASSWORD, not on their command line
// (which other users can read in /proc).
#pragma once

#include "core/error.h"

#include <filesystem>
#include <string>

namespace forge::ops {

inline constexpr const char* kPgInstallHint =
    "install the PostgreSQL client programs (Debian: apt-get install postgresql-client)";

// Dumps the database at `url` to `file` (custom format). With a `snapshot` (from
// pg_export_snapshot() in a transaction still open), the dump is that snapshot exactly.
core::Status pgDump(const std::string& url, const std::string& snapshot,
                    const std::filesystem::path& file);

// Restores `file` into the database at `url` in one transaction (all or nothing). With `clean`,
// the objects the dump holds are dropped first (--clean --if-exists): restoring over a database
// in use by Forge replaces its tables; tables the dump does not hold are left alone.
core::Status pgRestore(const std::string& url, const std::filesystem::path& file, bool clean);

// Reads a dump's table of contents (pg_restore --list): proves the archive is whole and
// readable. Returns how many entries it has.
core::Result<int> pgListEntries(const std::filesystem::path& file);

// The schema version recorded in a dump (the largest version in schema_migrations' data),
// read offline from the archive.
core::Result<int> pgDumpSchemaVersion(const std::filesystem::path& file);

// `url` naming database `name` instead (same server, user, password and parameters).
std::string withDatabase(const std::string& url, const std::string& name);

} // namespace forge::ops
