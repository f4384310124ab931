// Deployment: what `forge deploy` and `forge bluegreen` compute and record, apart from the CLI.
//
//   - installRelease(): a new release directory (manager/releases.h) holding copies of the binary
//     and the configuration files, with release.json (id, version, created_at, files);
//   - binaryVersion(): what a binary says it is (`PATH --version`);
//   - DeploymentLog: the deployments table (migration 7): one row per apply, rollback, blue-green
//     deploy or switch, with its steps, for history and for rollback;
//   - probeMcp(): an MCP smoke exchange (initialize, tools/list) against an endpoint.
#pragma once

#include "core/error.h"
#include "manager/releases.h"
#include "storage/database.h"

#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace forge::ops {

// What goes into a release; empty paths are left out (a release needs a binary).
struct ReleaseFiles {
  std::string binary;          // copied as <release>/forge
  std::string gateway_config;  // copied as <release>/forge.yaml
  std::string services_config; // copied as <release>/services.yml
};

inline constexpr const char* kReleaseBinary = "forge";
inline constexpr const char* kReleaseGatewayConfig = "forge.yaml";
inline constexpr const char* kReleaseServicesConfig = "services.yml";

// "forge 1.2.3 (...)" from `binary --version` -> "1.2.3"; an error when it cannot be run or
// does not answer like forge.
core::Result<std::string> binaryVersion(const std::string& binary);

// Creates <data_dir>/releases/<id> (id: UTC time, unique) with the files and release.json.
// Nothing is left behind on failure.
core::Result<manager::ReleaseRef>
installRelease(const std::string& data_dir, const ReleaseFiles& files, const std::string& version);

// release.json of a release ({} when missing or unreadable).
boost::json::object releaseInfo(const manager::ReleaseRef& release);

// A release's files, for building the next one from it (paths that exist in it).
ReleaseFiles filesOf(const manager::ReleaseRef& release);

struct DeploymentStep {
  std::string name;
  bool ok = true;
  std::string detail;
  double seconds = 0;
};

struct Deployment {
  std::string id;
  std::string kind; // apply | rollback | bluegreen-deploy | bluegreen-switch
  std::string from_release, to_release;
  std::string from_version, to_version;
  std::string started_at, finished_at;
  std::string result = "running"; // running | ok | failed
  std::vector<DeploymentStep> steps;

  boost::json::object toJson() const;
};

// The deployments table. Single-threaded, like the Database it borrows.
class DeploymentLog {
public:
  explicit DeploymentLog(storage::Database& db) : db_(db) {}

  // Assigns id and started_at and inserts the row.
  core::Status begin(Deployment& deployment);
  // Stores steps, result and finished_at (set now unless given).
  core::Status finish(Deployment& deployment);
  // The newest first.
  core::Result<std::vector<Deployment>> recent(int limit);

private:
  storage::Database& db_;
};

// Runs `body` as a step, timing it: `body` returns the detail, or an error. The step is
// appended to `steps`; `progress` hears of its start and end (for stderr).
core::Result<std::string> runStep(std::vector<DeploymentStep>& steps, const std::string& name,
                                  const std::function<core::Result<std::string>()>& body,
                                  const std::function<void(const std::string&)>& progress);

struct McpProbe {
  bool ok = false;
  std::size_t tools = 0;
  std::string server; // serverInfo name and version
  std::string detail; // what went wrong, or a summary
  double milliseconds = 0;
};

// initialize, notifications/initialized, tools/list (then DELETE of the session) at `url`
// (http://host:port/mcp), with `token` as a bearer token when not empty.
McpProbe probeMcp(const std::string& url, const std::string& token,
                  std::chrono::milliseconds timeout);

} // namespace forge::ops
