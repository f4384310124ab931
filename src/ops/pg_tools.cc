#include "ops/pg_tools.h"

#include "ops/program.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <sstream>
#include <vector>

namespace forge::ops {

namespace {

// Where a URL's parts are: [scheme://][userinfo@]host[:port][/database][?query].
struct UrlParts {
  std::size_t authority = 0; // after "://"
  std::size_t path = 0;      // the '/' before the database name, or the end of the authority
  std::size_t query = 0;     // the '?', or the end
};

UrlParts partsOf(const std::string& url) {
  UrlParts parts;
  const auto scheme = url.find("://");
  parts.authority = scheme == std::string::npos ? 0 : scheme + 3;
  parts.query = std::min(url.find('?', parts.authority), url.size());
  parts.path = std::min(url.find('/', parts.authority), parts.query);
  return parts;
}

std::string percentDecode(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool escaped = text[i] == '%' && i + 2 < text.size() &&
                         std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
                         std::isxdigit(static_cast<unsigned char>(text[i + 2]));
    if (escaped) {
      out += static_cast<char>(std::strtol(text.substr(i + 1, 2).c_str(), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// The URL without its password, and the environment that gives the password to libpq.
struct Credentials {
  std::string url;
  std::vector<std::string> environment;
};

// A server that does not answer fails the client programs in this many seconds (libpq waits
// for ever by default), unless the URL or the environment says otherwise.
constexpr const char* kConnectTimeout = "PGCONNECT_TIMEOUT=10";

Credentials passwordOf(const std::string& url);

Credentials credentialsOf(const std::string& url) {
  Credentials credentials = passwordOf(url);
  if (std::getenv("PGCONNECT_TIMEOUT") == nullptr)
    credentials.environment.emplace_back(kConnectTimeout);
  return credentials;
}

Credentials passwordOf(const std::string& url) {
  const UrlParts parts = partsOf(url);
  const std::string authority = url.substr(parts.authority, parts.path - parts.authority);
  const auto at = authority.rfind('@');
  if (at == std::string::npos) return {url, {}};
  const auto colon = authority.find(':');
  if (colon == std::string::npos || colon > at) return {url, {}};
  const std::string password = percentDecode(authority.substr(colon + 1, at - colon - 1));
  std::string without = url.substr(0, parts.authority) + authority.substr(0, colon) +
                        authority.substr(at) + url.substr(parts.path);
  return {std::move(without), {"PGPASSWORD=" + password}};
}

core::Status check(const core::Result<ProgramOutput>& ran, const std::string& what) {
  if (!ran) return ran.error();
  if (ran->exit_code != 0) {
    return core::Error{core::Errc::kUnavailable,
                       fmt::format("{} failed: {}", what, lastErrorLine(*ran))};
  }
  return core::Ok{};
}

} // namespace

std::string withDatabase(const std::string& url, const std::string& name) {
  const UrlParts parts = partsOf(url);
  return url.substr(0, parts.path) + "/" + name + url.substr(parts.query);
}

core::Status pgDump(const std::string& url, const std::string& snapshot,
                    const std::filesystem::path& file) {
  const Credentials credentials = credentialsOf(url);
  std::vector<std::string> argv{"pg_dump", "--format=custom", "--no-owner",
                                "--file=" + file.string(), "--dbname=" + credentials.url};
  if (!snapshot.empty()) argv.push_back("--snapshot=" + snapshot);
  return check(runProgram(argv, credentials.environment, kPgInstallHint), "pg_dump");
}

core::Status pgRestore(const std::string& url, const std::filesystem::path& file, bool clean) {
  const Credentials credentials = credentialsOf(url);
  std::vector<std::string> argv{"pg_restore",      "--no-owner",
                                "--no-privileges", "--single-transaction",
                                "--exit-on-error", "--dbname=" + credentials.url};
  if (clean) {
    argv.emplace_back("--clean");
    argv.emplace_back("--if-exists");
  }
  argv.push_back(file.string());
  return check(runProgram(argv, credentials.environment, kPgInstallHint), "pg_restore");
}

core::Result<int> pgListEntries(const std::filesystem::path& file) {
  auto ran = runProgram({"pg_restore", "--list", file.string()}, {}, kPgInstallHint);
  if (auto status = check(ran, "pg_restore --list"); !status) return status.error();
  std::stringstream lines(ran->out);
  int entries = 0;
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line[0] != ';') ++entries;
  }
  return entries;
}

core::Result<int> pgDumpSchemaVersion(const std::filesystem::path& file) {
  auto ran = runProgram(
      {"pg_restore", "--data-only", "--table=schema_migrations", "--file=-", file.string()}, {},
      kPgInstallHint);
  if (auto status = check(ran, "pg_restore --data-only"); !status) return status.error();
  // The data is a COPY block: "COPY ... FROM stdin;", a line per row (tab-separated, version
  // first), then "\.".
  std::stringstream lines(ran->out);
  bool in_copy = false;
  int newest = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("COPY ")) {
      in_copy = true;
    } else if (line == "\\.") {
      in_copy = false;
    } else if (in_copy && !line.empty()) {
      newest = std::max(newest, std::atoi(line.c_str()));
    }
  }
  return newest;
}

} // namespace forge::ops
