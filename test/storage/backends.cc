#include "storage/backends.h"

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <system_error>

namespace forge::test {

namespace {

// Temporary directories made by this process, removed when it exits.
class TempDirs {
public:
  ~TempDirs() {
    for (const auto& dir : dirs_) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  }
  void add(std::string dir) {
    std::lock_guard lock(mutex_);
    dirs_.push_back(std::move(dir));
  }

private:
  std::mutex mutex_;
  std::vector<std::string> dirs_;
};

TempDirs& tempDirs() {
  static TempDirs dirs;
  return dirs;
}

const char* postgresUrl() {
  const char* url = std::getenv(kPostgresUrlVariable);
  return url != nullptr && *url != '\0' ? url : nullptr;
}

} // namespace

std::vector<std::string> storageBackends() {
  std::vector<std::string> backends{"sqlite"};
  if (postgresUrl() != nullptr) backends.emplace_back("postgresql");
  return backends;
}

std::vector<std::string> postgresBackends() {
  if (postgresUrl() == nullptr) return {};
  return {"postgresql"};
}

std::string backendName(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

std::string makeTempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/forge-storage-test.XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << pattern << " failed";
    return {};
  }
  tempDirs().add(pattern);
  return pattern;
}

storage::DatabasePtr openTestDatabase(const std::string& backend) {
  if (backend == "sqlite") {
    std::string dir = makeTempDir();
    if (dir.empty()) return nullptr;
    auto db = storage::openDatabase("", dir);
    if (!db) {
      ADD_FAILURE() << "cannot open a SQLite database in " << dir << ": " << db.error().message;
      return nullptr;
    }
    return std::move(*db);
  }
  if (backend == "postgresql") {
    const char* url = postgresUrl();
    if (url == nullptr) {
      ADD_FAILURE() << kPostgresUrlVariable << " is not set";
      return nullptr;
    }
    auto db = storage::openDatabase(url, "");
    if (!db) {
      ADD_FAILURE() << "cannot connect to " << storage::redactUrl(url) << ": "
                    << db.error().message;
      return nullptr;
    }
    auto wiped = (*db)->execScript("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;");
    if (!wiped) {
      ADD_FAILURE() << "cannot empty " << storage::redactUrl(url) << ": " << wiped.error().message;
      return nullptr;
    }
    return std::move(*db);
  }
  ADD_FAILURE() << "unknown storage backend '" << backend << "'";
  return nullptr;
}

} // namespace forge::test
