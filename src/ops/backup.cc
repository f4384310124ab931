#include "ops/backup.h"

#include "core/random.h"
#include "core/version.h"
#include "identity/secrets.h"
#include "ops/db_maintenance.h"
#include "ops/files.h"
#include "ops/pg_tools.h"
#include "ops/sqlite_copy.h"
#include "ops/utc_time.h"
#include "storage/migrations.h"

#include <boost/json.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

namespace forge::ops {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr const char* kManifestFile = "manifest.json";
constexpr const char* kSqliteFile = "forge.db";
constexpr const char* kDumpFile = "forge.dump";
constexpr const char* kSecretsFile = "secrets.json";
constexpr const char* kPartialSuffix = ".partial";

void say(const Progress& progress, const std::string& message) {
  if (progress) progress(message);
}

std::int64_t millisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

const char* databaseFileOf(const std::string& backend) {
  return backend == "postgresql" ? kDumpFile : kSqliteFile;
}

// "20261204T170324Z", or with "-2", "-3"... when a backup of that second exists.
std::string newId(const fs::path& dir, SystemTime now) {
  const std::string base =
      fmt::format("{:%Y%m%dT%H%M%SZ}", fmt::gmtime(std::chrono::system_clock::to_time_t(now)));
  std::string id = base;
  for (int n = 2; fs::exists(dir / id) || fs::exists(dir / (id + kPartialSuffix)); ++n)
    id = fmt::format("{}-{}", base, n);
  return id;
}

core::Status writeFileDurably(const fs::path& path, const std::string& content) {
  const fs::path staged = path.string() + ".new";
  {
    std::ofstream out(staged, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out.flush()) {
      return core::Error{core::Errc::kUnavailable, fmt::format("cannot write {}", staged.string())};
    }
  }
  ::chmod(staged.c_str(), 0600);
  if (auto synced = syncPath(staged); !synced) return synced;
  return renameDurably(staged, path);
}

core::Result<json::value> readJsonFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return core::Error{core::Errc::kNotFound, fmt::format("cannot read {}", path.string())};
  }
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  json::value value = json::parse(text.str(), ec);
  if (ec) {
    return core::Error{core::Errc::kParseError,
                       fmt::format("{} is not JSON: {}", path.string(), ec.message())};
  }
  return value;
}

// What a backup's database part records: schema version and rows per table.
struct Snapshot {
  int schema_version = 0;
  std::map<std::string, std::int64_t> tables;
};

core::Result<Snapshot> describeDatabase(storage::Database& db) {
  Snapshot snapshot;
  auto version = storage::schemaVersion(db);
  if (!version) return version.error();
  snapshot.schema_version = *version;
  auto counts = tableCounts(db);
  if (!counts) return counts.error();
  snapshot.tables = std::move(*counts);
  return snapshot;
}

// SQLite: an online backup into `dir`, described through the storage layer, then made one
// self-contained file.
core::Result<Snapshot> backUpSqlite(const Stack& stack, const fs::path& dir,
                                    const Progress& progress) {
  const fs::path source = sqliteFileOf(stack.database_url, stack.data_dir);
  std::error_code ec;
  if (!fs::is_regular_file(source, ec)) {
    return core::Error{core::Errc::kNotFound,
                       fmt::format("no database at {}: point --data-dir at the stack's data "
                                   "directory, or give --database-url",
                                   source.string())};
  }
  say(progress, fmt::format("copying {} with SQLite's online backup", source.string()));
  const fs::path copy = fs::absolute(dir / kSqliteFile);
  if (auto copied = sqliteOnlineBackup(source, copy); !copied) return copied.error();
  core::Result<Snapshot> snapshot = core::Error{core::Errc::kInternal, "not described"};
  {
    auto db = storage::openDatabase("sqlite://" + copy.string(), "");
    if (!db) return db.error();
    snapshot = describeDatabase(**db);
  }
  if (!snapshot) return snapshot.error();
  if (auto single = sqliteUseRollbackJournal(copy); !single) return single.error();
  for (const char* suffix : {"-wal", "-shm", "-journal"})
    fs::remove(copy.string() + suffix, ec);
  return snapshot;
}

// PostgreSQL: rows are counted and pg_dump runs in one exported snapshot, so the counts are
// those of the dump even while the gateway writes.
core::Result<Snapshot> backUpPostgres(const Stack& stack, const fs::path& dir,
                                      const Progress& progress) {
  auto db = storage::openDatabase(stack.database_url, stack.data_dir);
  if (!db) return db.error();
  storage::Database& database = **db;
  if (auto begun = database.begin(); !begun) return begun.error();
  core::Result<Snapshot> snapshot = [&]() -> core::Result<Snapshot> {
    auto isolation = database.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
    if (!isolation) return isolation.error();
    auto exported = database.query("SELECT pg_export_snapshot()");
    if (!exported) return exported.error();
    auto described = describeDatabase(database);
    if (!described) return described.error();
    say(progress, fmt::format("dumping {} with pg_dump", database.describe()));
    const std::string snapshot_id = exported->rows.at(0).text(0);
    if (auto dumped = pgDump(stack.database_url, snapshot_id, dir / kDumpFile); !dumped) {
      return dumped.error();
    }
    return described;
  }();
  (void)database.rollback(); // read only: nothing to keep
  return snapshot;
}

core::Status addFile(const fs::path& dir, const std::string& name, Manifest& manifest) {
  auto sum = sha256File(dir / name);
  if (!sum) return sum.error();
  const std::uint64_t size = fileSize(dir / name);
  manifest.files.push_back({name, size, *sum});
  manifest.size += size;
  return core::Ok{};
}

std::string shortSum(const std::string& sum) { return sum.substr(0, 12); }

// The checksum of one file against the manifest.
Check checksumCheck(const fs::path& dir, const BackupFile& file) {
  const std::string name = "checksum " + file.name;
  std::error_code ec;
  if (!fs::is_regular_file(dir / file.name, ec)) {
    return {name, Level::kCritical,
            fmt::format("{} is missing from the backup: it cannot be restored", file.name)};
  }
  auto sum = sha256File(dir / file.name);
  if (!sum) return {name, Level::kCritical, sum.error().message};
  if (*sum != file.sha256) {
    return {name, Level::kCritical,
            fmt::format("sha256 mismatch: the manifest says {}, the file is {} ({} bytes, {} "
                        "recorded): it was changed or damaged after the backup; do not restore "
                        "it, use another backup",
                        shortSum(file.sha256), shortSum(*sum), fileSize(dir / file.name),
                        file.size)};
  }
  return {name, Level::kOk,
          fmt::format("sha256 {}… matches ({})", shortSum(*sum), humanBytes(file.size))};
}

std::vector<Check> databaseChecks(const fs::path& dir, const Manifest& manifest) {
  std::vector<Check> checks;
  int schema_version = -1;
  if (manifest.backend == "postgresql") {
    auto entries = pgListEntries(dir / kDumpFile);
    if (!entries) {
      checks.push_back({"archive", Level::kCritical, entries.error().message});
      return checks;
    }
    checks.push_back(
        {"archive", Level::kOk, fmt::format("pg_restore --list reads {} entries", *entries)});
    auto version = pgDumpSchemaVersion(dir / kDumpFile);
    if (version) schema_version = *version;
  } else {
    auto copy = checkSqliteCopy(dir / kSqliteFile);
    if (!copy) {
      checks.push_back({"integrity", Level::kCritical, copy.error().message});
      return checks;
    }
    const bool ok = copy->integrity == "ok";
    checks.push_back({"integrity", ok ? Level::kOk : Level::kCritical,
                      ok ? "PRAGMA integrity_check: ok"
                         : "PRAGMA integrity_check: " + copy->integrity.substr(0, 300)});
    schema_version = copy->schema_version;
  }
  if (schema_version == manifest.schema_version) {
    checks.push_back(
        {"schema version", Level::kOk, fmt::format("{}, as recorded", schema_version)});
  } else {
    checks.push_back({"schema version", Level::kCritical,
                      fmt::format("the database says {}, the manifest {}", schema_version,
                                  manifest.schema_version)});
  }
  return checks;
}

Check secretsCheck(const Manifest& manifest) {
  if (manifest.file(kSecretsFile) != nullptr) {
    return {"secrets", Level::kOk, "secrets.json is in the backup"};
  }
  return {"secrets", Level::kWarning,
          "no secrets.json in this backup (the data directory had none): the restored stack "
          "needs the same JWT_SECRET_KEY and AUTH_ENCRYPTION_SECRET configured"};
}

std::string backendOf(const Stack& stack) {
  return isPostgresUrl(stack.database_url) ? "postgresql" : "sqlite";
}

} // namespace

std::vector<Check> compareRowCounts(const Manifest& manifest,
                                    const std::map<std::string, std::int64_t>& found) {
  std::vector<Check> checks;
  for (const auto& [table, expected] : manifest.tables) {
    auto it = found.find(table);
    if (it == found.end()) {
      checks.push_back({"rows " + table, Level::kCritical, "the table is missing"});
    } else if (it->second != expected) {
      checks.push_back({"rows " + table, Level::kCritical,
                        fmt::format("{} rows, the manifest recorded {}", it->second, expected)});
    } else {
      checks.push_back({"rows " + table, Level::kOk, fmt::format("{}, as recorded", expected)});
    }
  }
  for (const auto& [table, rows] : found) {
    if (!manifest.tables.contains(table)) {
      checks.push_back({"rows " + table, Level::kWarning,
                        fmt::format("{} rows in a table the manifest does not list", rows)});
    }
  }
  return checks;
}

// ---- Manifest -------------------------------------------------------------------------------

const BackupFile* Manifest::file(const std::string& name) const {
  for (const auto& f : files) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

json::value toJson(const Manifest& m) {
  json::array files;
  for (const auto& f : m.files)
    files.push_back(json::object{{"name", f.name}, {"size", f.size}, {"sha256", f.sha256}});
  json::object tables;
  for (const auto& [name, rows] : m.tables)
    tables[name] = rows;
  return json::object{{"id", m.id},
                      {"forge_version", m.forge_version},
                      {"schema_version", m.schema_version},
                      {"backend", m.backend},
                      {"created_at", m.created_at},
                      {"source", m.source},
                      {"reason", m.reason},
                      {"size", m.size},
                      {"duration_ms", m.duration_ms},
                      {"files", std::move(files)},
                      {"tables", std::move(tables)}};
}

core::Result<Manifest> manifestFromJson(const json::value& value) {
  const json::object* o = value.if_object();
  if (o == nullptr) return core::Error{core::Errc::kInvalidParams, "the manifest is not an object"};
  auto text = [&](const char* key) {
    const json::value* v = o->if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  auto number = [&](const char* key) -> std::int64_t {
    const json::value* v = o->if_contains(key);
    if (v == nullptr) return 0;
    if (v->is_int64()) return v->as_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
    return 0;
  };
  Manifest m;
  m.id = text("id");
  m.forge_version = text("forge_version");
  m.schema_version = static_cast<int>(number("schema_version"));
  m.backend = text("backend");
  m.created_at = text("created_at");
  m.source = text("source");
  m.reason = text("reason");
  m.size = static_cast<std::uint64_t>(number("size"));
  m.duration_ms = number("duration_ms");
  if (m.id.empty() || (m.backend != "sqlite" && m.backend != "postgresql") ||
      !parseUtc(m.created_at)) {
    return core::Error{core::Errc::kInvalidParams,
                       "the manifest lacks an id, a backend (sqlite or postgresql) or created_at"};
  }
  if (const json::value* files = o->if_contains("files"); files && files->is_array()) {
    for (const auto& f : files->as_array()) {
      if (!f.is_object()) continue;
      const auto& fo = f.as_object();
      BackupFile file;
      if (auto* v = fo.if_contains("name"); v && v->is_string()) file.name = v->as_string();
      if (auto* v = fo.if_contains("sha256"); v && v->is_string()) file.sha256 = v->as_string();
      if (auto* v = fo.if_contains("size"); v && v->is_number())
        file.size = v->to_number<std::uint64_t>();
      m.files.push_back(std::move(file));
    }
  }
  if (const json::value* tables = o->if_contains("tables"); tables && tables->is_object()) {
    for (const auto& [name, rows] : tables->as_object()) {
      if (rows.is_number()) m.tables[std::string(name)] = rows.to_number<std::int64_t>();
    }
  }
  return m;
}

fs::path defaultBackupDir(const std::string& data_dir) {
  return fs::path(data_dir.empty() ? "." : data_dir) / "backups";
}

// ---- BackupRepository -------------------------------------------------------------------------

core::Result<Manifest> BackupRepository::create(const Stack& stack,
                                                const CreateOptions& options) const {
  const auto started = std::chrono::steady_clock::now();
  const SystemTime now = std::chrono::system_clock::now();
  if (auto made = makePrivateDirectory(dir_); !made) return made.error();
  Manifest manifest;
  manifest.id = newId(dir_, now);
  manifest.forge_version = core::kVersion;
  manifest.backend = backendOf(stack);
  manifest.created_at = formatUtc(now);
  manifest.reason = options.reason;
  manifest.source = manifest.backend == "postgresql"
                        ? storage::redactUrl(stack.database_url)
                        : fs::absolute(sqliteFileOf(stack.database_url, stack.data_dir)).string();
  const fs::path partial = dir_ / (manifest.id + kPartialSuffix);
  if (auto made = makePrivateDirectory(partial); !made) return made.error();

  auto result = [&]() -> core::Status {
    auto snapshot = manifest.backend == "postgresql"
                        ? backUpPostgres(stack, partial, options.progress)
                        : backUpSqlite(stack, partial, options.progress);
    if (!snapshot) return snapshot.error();
    manifest.schema_version = snapshot->schema_version;
    manifest.tables = std::move(snapshot->tables);
    if (auto added = addFile(partial, databaseFileOf(manifest.backend), manifest); !added) {
      return added;
    }
    const fs::path secrets = identity::secretsFile(stack.data_dir);
    std::error_code ec;
    if (fs::is_regular_file(secrets, ec)) {
      say(options.progress, fmt::format("copying {}", secrets.string()));
      if (auto copied = copyFileDurably(secrets, partial / kSecretsFile,
                                        fs::perms::owner_read | fs::perms::owner_write);
          !copied) {
        return copied;
      }
      if (auto added = addFile(partial, kSecretsFile, manifest); !added) return added;
    } else {
      say(options.progress,
          fmt::format("no {}: the backup holds the database only", secrets.string()));
    }
    if (auto synced = syncPath(partial / databaseFileOf(manifest.backend)); !synced) return synced;
    manifest.duration_ms = millisSince(started);
    if (auto written =
            writeFileDurably(partial / kManifestFile, json::serialize(toJson(manifest)) + "\n");
        !written) {
      return written;
    }
    return renameDurably(partial, dir_ / manifest.id);
  }();
  if (!result) {
    std::error_code ec;
    fs::remove_all(partial, ec);
    return result.error();
  }
  say(options.progress,
      fmt::format("backup {} written to {} ({}, {} ms)", manifest.id, (dir_ / manifest.id).string(),
                  humanBytes(manifest.size), manifest.duration_ms));
  return manifest;
}

std::vector<Manifest> BackupRepository::list() const {
  std::vector<Manifest> found;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory() || it->path().filename().string().ends_with(kPartialSuffix)) continue;
    auto value = readJsonFile(it->path() / kManifestFile);
    if (!value) continue;
    auto manifest = manifestFromJson(*value);
    if (manifest && manifest->id == it->path().filename().string()) {
      found.push_back(std::move(*manifest));
    }
  }
  std::sort(found.begin(), found.end(), [](const Manifest& a, const Manifest& b) {
    return a.created_at != b.created_at ? a.created_at > b.created_at : a.id > b.id;
  });
  return found;
}

core::Result<Manifest> BackupRepository::find(const std::string& id) const {
  if (id == "latest") {
    auto all = list();
    if (all.empty()) {
      return core::Error{
          core::Errc::kNotFound,
          fmt::format("no backup in {}: create one with `forge backup create`", dir_.string())};
    }
    return all.front();
  }
  if (id.empty() || id.find('/') != std::string::npos || id.starts_with(".")) {
    return core::Error{core::Errc::kInvalidParams, fmt::format("'{}' is not a backup id", id)};
  }
  auto value = readJsonFile(dir_ / id / kManifestFile);
  if (!value) {
    return core::Error{
        core::Errc::kNotFound,
        fmt::format("no backup '{}' in {} (`forge backup list` shows them)", id, dir_.string())};
  }
  auto manifest = manifestFromJson(*value);
  if (!manifest) {
    return core::Error{core::Errc::kInvalidParams,
                       fmt::format("backup '{}': {}", id, manifest.error().message)};
  }
  return manifest;
}

core::Result<VerifyReport> BackupRepository::verify(const std::string& id) const {
  auto manifest = find(id);
  if (!manifest) return manifest.error();
  VerifyReport report{*manifest, {}};
  const fs::path dir = dir_ / manifest->id;
  if (manifest->file(databaseFileOf(manifest->backend)) == nullptr) {
    report.checks.push_back({"database", Level::kCritical,
                             fmt::format("the manifest lists no {}: this is not a whole backup",
                                         databaseFileOf(manifest->backend))});
  }
  for (const auto& file : manifest->files)
    report.checks.push_back(checksumCheck(dir, file));
  auto database = databaseChecks(dir, *manifest);
  report.checks.insert(report.checks.end(), database.begin(), database.end());
  report.checks.push_back(secretsCheck(*manifest));
  return report;
}

core::Status restoreInto(const fs::path& backup_dir, const Manifest& manifest, const Stack& stack,
                         bool clean) {
  if (manifest.backend == "postgresql") {
    if (auto restored = pgRestore(stack.database_url, backup_dir / kDumpFile, clean); !restored) {
      return restored;
    }
  } else {
    const fs::path target = sqliteFileOf(stack.database_url, stack.data_dir);
    if (target.has_parent_path()) {
      if (auto made = makePrivateDirectory(target.parent_path()); !made) return made;
    }
    std::error_code ec;
    // What the WAL of the database being replaced holds is folded in first (the safety backup
    // has it already): a -wal file left beside the new file would be applied to it.
    if (fs::exists(target, ec)) (void)sqliteCheckpoint(target);
    const fs::path staged = target.string() + ".restore";
    if (auto copied = copyFileDurably(backup_dir / kSqliteFile, staged,
                                      fs::perms::owner_read | fs::perms::owner_write);
        !copied) {
      return copied;
    }
    for (const char* suffix : {"-wal", "-shm", "-journal"})
      fs::remove(target.string() + suffix, ec);
    if (auto renamed = renameDurably(staged, target); !renamed) return renamed;
  }
  if (manifest.file(kSecretsFile) != nullptr) {
    if (auto made = makePrivateDirectory(stack.data_dir); !made) return made;
    return copyFileDurably(backup_dir / kSecretsFile, identity::secretsFile(stack.data_dir),
                           fs::perms::owner_read | fs::perms::owner_write);
  }
  return core::Ok{};
}

core::Result<RestoreReport> BackupRepository::restore(const std::string& id, const Stack& stack,
                                                      bool safety_backup,
                                                      const Progress& progress) const {
  auto verified = verify(id);
  if (!verified) return verified.error();
  const Manifest& manifest = verified->manifest;
  if (worst(verified->checks) == Level::kCritical) {
    std::string problems;
    for (const auto& check : verified->checks) {
      if (check.level == Level::kCritical)
        problems += fmt::format("\n  {}: {}", check.name, check.detail);
    }
    return core::Error{core::Errc::kUnprocessable,
                       fmt::format("backup {} fails verification, nothing was restored:{}\nPick "
                                   "another backup (`forge backup list`).",
                                   manifest.id, problems)};
  }
  if (manifest.backend != backendOf(stack)) {
    return core::Error{core::Errc::kInvalidParams,
                       fmt::format("backup {} is of a {} database, the target is {}", manifest.id,
                                   manifest.backend, backendOf(stack))};
  }
  say(progress, fmt::format("backup {} verified", manifest.id));
  RestoreReport report{manifest, std::nullopt, 0};
  std::error_code ec;
  const bool something_there = manifest.backend == "postgresql" ||
                               fs::exists(sqliteFileOf(stack.database_url, stack.data_dir), ec);
  if (safety_backup && something_there) {
    say(progress, "taking a safety backup of the current state");
    auto safety = create(stack, {"before restoring " + manifest.id, progress});
    if (!safety) {
      return core::Error{safety.error().code,
                         fmt::format("the safety backup of the current state failed, nothing "
                                     "was restored: {}",
                                     safety.error().message)};
    }
    report.safety = std::move(*safety);
  }
  const auto started = std::chrono::steady_clock::now();
  say(progress, fmt::format("restoring {}", manifest.id));
  if (auto restored = restoreInto(dir_ / manifest.id, manifest, stack, /*clean=*/true); !restored) {
    return restored.error();
  }
  report.duration_ms = millisSince(started);
  return report;
}

core::Result<std::string> createScratchDatabase(const std::string& url) {
  auto admin = storage::openDatabase(url, "");
  if (!admin) return admin.error();
  const std::string name = "forge_scratch_" + core::randomHex(6);
  if (auto created = (*admin)->execScript(fmt::format("CREATE DATABASE {}", name)); !created) {
    return core::Error{created.error().code,
                       fmt::format("cannot create a scratch database on {} (the user needs "
                                   "CREATEDB): {}",
                                   (*admin)->describe(), created.error().message)};
  }
  return withDatabase(url, name);
}

core::Status dropScratchDatabase(const std::string& admin_url, const std::string& scratch_url) {
  const auto slash = scratch_url.find('/', scratch_url.find("://") + 3);
  std::string name = scratch_url.substr(slash + 1);
  name = name.substr(0, name.find('?'));
  if (!name.starts_with("forge_scratch_")) {
    return core::Error{core::Errc::kInternal,
                       "refusing to drop a database that is not a scratch one"};
  }
  auto admin = storage::openDatabase(admin_url, "");
  if (!admin) return admin.error();
  return (*admin)->execScript(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", name));
}

core::Result<VerifyRestoreReport> BackupRepository::verifyRestore(const std::string& id,
                                                                  const Stack& stack,
                                                                  const Progress& progress) const {
  auto verified = verify(id);
  if (!verified) return verified.error();
  VerifyRestoreReport report{verified->manifest, verified->checks, {}, 0};
  const Manifest& manifest = report.manifest;
  if (worst(report.checks) == Level::kCritical) return report; // not worth restoring

  auto scratch = makeTempDirectory("forge-verify-restore-");
  if (!scratch) return scratch.error();
  Stack target{scratch->string(), ""};
  if (manifest.backend == "postgresql") {
    if (!isPostgresUrl(stack.database_url)) {
      fs::remove_all(*scratch);
      return core::Error{core::Errc::kInvalidParams,
                         "a PostgreSQL backup is restored for verification on a PostgreSQL "
                         "server: give --database-url"};
    }
    auto scratch_url = createScratchDatabase(stack.database_url);
    if (!scratch_url) {
      fs::remove_all(*scratch);
      return scratch_url.error();
    }
    target.database_url = *scratch_url;
  }
  say(progress, fmt::format("restoring {} into scratch {}", manifest.id,
                            target.database_url.empty() ? scratch->string()
                                                        : storage::redactUrl(target.database_url)));
  const auto started = std::chrono::steady_clock::now();
  auto status = restoreInto(dir_ / manifest.id, manifest, target, /*clean=*/false);
  if (!status) {
    report.checks.push_back({"restore", Level::kCritical, status.error().message});
  } else {
    report.duration_ms = millisSince(started);
    report.checks.push_back(
        {"restore", Level::kOk, fmt::format("restored in {} ms", report.duration_ms)});
    auto db = storage::openDatabase(target.database_url, target.data_dir);
    auto described = db ? describeDatabase(**db) : core::Result<Snapshot>(db.error());
    if (!described) {
      report.checks.push_back({"open", Level::kCritical, described.error().message});
    } else {
      report.tables = described->tables;
      const bool same = described->schema_version == manifest.schema_version;
      report.checks.push_back(
          {"restored schema", same ? Level::kOk : Level::kCritical,
           fmt::format("version {}{}", described->schema_version,
                       same ? ", as recorded"
                            : fmt::format(", the manifest {}", manifest.schema_version))});
      for (auto& check : compareRowCounts(manifest, described->tables))
        report.checks.push_back(std::move(check));
    }
    if (manifest.file(kSecretsFile) != nullptr) {
      struct stat st {};
      const std::string secrets = identity::secretsFile(target.data_dir);
      const bool present = ::stat(secrets.c_str(), &st) == 0;
      const bool private_mode = present && (st.st_mode & 0777) == 0600;
      report.checks.push_back({"restored secrets", private_mode ? Level::kOk : Level::kCritical,
                               private_mode ? "secrets.json restored with mode 0600"
                                            : "secrets.json missing or not mode 0600"});
    }
  }
  if (!target.database_url.empty()) {
    if (auto dropped = dropScratchDatabase(stack.database_url, target.database_url); !dropped) {
      say(progress, "could not drop the scratch database: " + dropped.error().message);
    }
  }
  std::error_code ec;
  fs::remove_all(*scratch, ec);
  return report;
}

core::Result<std::vector<Manifest>> BackupRepository::prune(const RetentionPolicy& policy,
                                                            bool dry_run) const {
  const auto all = list();
  const SystemTime now = std::chrono::system_clock::now();
  std::vector<Manifest> removed;
  for (std::size_t i = 1; i < all.size(); ++i) { // the newest (i = 0) always stays
    bool remove = policy.keep && static_cast<int>(i) >= *policy.keep;
    if (policy.max_age_days) {
      const auto created = parseUtc(all[i].created_at);
      remove =
          remove || (created && now - *created > std::chrono::hours(24) * *policy.max_age_days);
    }
    if (!remove) continue;
    if (!dry_run) {
      std::error_code ec;
      fs::remove_all(dir_ / all[i].id, ec);
      if (ec) {
        return core::Error{core::Errc::kUnavailable,
                           fmt::format("cannot remove backup {}: {}", all[i].id, ec.message())};
      }
    }
    removed.push_back(all[i]);
  }
  return removed;
}

} // namespace forge::ops
