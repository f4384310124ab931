#include "identity/secrets.h"

#include "auth/jwt.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace forge::identity {
namespace json = boost::json;
namespace {

// Values copied from examples and quick-start guides: long enough, but public.
bool isPlaceholder(const std::string& value) {
  static const std::array<std::string_view, 6> known{"my-test-key", "changeme",        "change-me",
                                                     "secret",      "your-secret-key", "password"};
  std::string lower;
  for (char c : value)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  for (auto k : known)
    if (lower.starts_with(k)) return true;
  // "aaaaaaaa..." and friends: too few distinct characters to be random.
  return std::set<char>(value.begin(), value.end()).size() < 8;
}

core::Status checkStrength(const char* setting, const std::string& value) {
  if (value.size() < kMinSecretChars) {
    return core::Error{core::Errc::kInvalidParams,
                       fmt::format("{} is too weak: it has {} characters, at least {} are "
                                   "required (generate one with `openssl rand -base64 48`, or "
                                   "leave it unset and Forge generates one into the data "
                                   "directory)",
                                   setting, value.size(), kMinSecretChars)};
  }
  if (isPlaceholder(value)) {
    return core::Error{core::Errc::kInvalidParams,
                       fmt::format("{} looks like a default or placeholder value; set a random "
                                   "one (`openssl rand -base64 48`)",
                                   setting)};
  }
  return core::Ok{};
}

core::Result<json::object> readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return json::object{};
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  auto value = json::parse(text.str(), ec);
  if (ec || !value.is_object()) {
    return core::Error{core::Errc::kInvalidParams,
                       fmt::format("{} is not a JSON object; restore it from a backup, or remove "
                                   "it to generate new secrets (tokens issued so far stop "
                                   "working and stored upstream credentials cannot be read)",
                                   path)};
  }
  return std::move(value.get_object());
}

// An exclusive flock(2) on `path` (created 0600) for the lifetime of the object; without one (the
// file cannot be opened) it proceeds unlocked.
class FileLock {
public:
  explicit FileLock(const std::string& path)
      : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_); // releases the lock
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

private:
  int fd_;
};

// Writes the file with mode 0600 and replaces the old one atomically.
core::Status writeFile(const std::string& path, const json::object& values) {
  const std::string temp = path + ".tmp";
  ::unlink(temp.c_str());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return core::Error{core::Errc::kUnavailable,
                       fmt::format("cannot write {}: {}", temp, std::strerror(errno))};
  }
  const std::string text = json::serialize(values) + "\n";
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!written || !synced || ::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    return core::Error{core::Errc::kUnavailable,
                       fmt::format("cannot write {}: {}", path, std::strerror(errno))};
  }
  return core::Ok{};
}

std::string stringOf(const json::object& values, const char* name) {
  const auto* v = values.if_contains(name);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

} // namespace

std::string secretsFile(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / "secrets.json").string();
}

core::Result<Secrets> loadSecrets(const SecurityOptions& options, const std::string& data_dir) {
  Secrets secrets;
  secrets.file = secretsFile(data_dir);
  // Processes starting together on one data directory (replicas) must generate one set.
  const FileLock lock(secrets.file + ".lock");
  auto stored = readFile(secrets.file);
  if (!stored) return stored.error();
  bool changed = false;
  // A configured value wins; otherwise the file's; otherwise a new random one, kept in the file.
  auto resolve = [&](const core::Secret& configured, const char* name, std::size_t bytes,
                     std::string& out) {
    if (!configured.empty()) {
      out = configured.reveal();
      return false;
    }
    out = stringOf(*stored, name);
    if (out.empty()) {
      out = auth::randomToken(bytes);
      (*stored)[name] = out;
      secrets.generated.push_back(name);
      changed = true;
    }
    return true;
  };
  resolve(options.jwt_secret, "jwt_secret", 48, secrets.jwt_secret);
  resolve(options.encryption_secret, "encryption_secret", 48, secrets.encryption_secret);
  secrets.admin_password_from_file =
      resolve(options.admin_password, "admin_password", 18, secrets.admin_password);
  if (changed) {
    if (auto status = writeFile(secrets.file, *stored); !status) return status.error();
  }
  if (options.auth_required) {
    if (!options.jwt_secret.empty()) {
      if (auto status = checkStrength("JWT_SECRET_KEY (auth.jwt_secret)", secrets.jwt_secret);
          !status)
        return status.error();
    }
    if (!options.encryption_secret.empty()) {
      if (auto status = checkStrength("AUTH_ENCRYPTION_SECRET (auth.encryption_secret)",
                                      secrets.encryption_secret);
          !status)
        return status.error();
    }
    if (!options.admin_password.empty()) {
      if (auto status = auth::checkPasswordStrength(secrets.admin_password); !status) {
        return core::Error{core::Errc::kInvalidParams,
                           fmt::format("PLATFORM_ADMIN_PASSWORD (auth.admin_password) is too "
                                       "weak: {}",
                                       status.error().message)};
      }
    }
  }
  return secrets;
}

core::Result<std::string> readSecret(const std::string& data_dir, const std::string& name) {
  auto stored = readFile(secretsFile(data_dir));
  if (!stored) return stored.error();
  return stringOf(*stored, name.c_str());
}

} // namespace forge::identity
