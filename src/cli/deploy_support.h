// What `forge deploy` and `forge bluegreen` share: a Rollout runs the steps of one deployment
// against the manager (progress on stderr), records it in the deployments table, and knows how to
// restart services one replica at a time and to check which release their replicas run.
#pragma once

#include "cli/connection.h"
#include "deploy/deployment.h"
#include "ops/check.h"

#include <boost/json/value.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace forge::cli {

// The string `key` of a JSON object ("" when absent or not a string).
std::string stringField(const boost::json::value& object, const char* key);

// Inputs to validate: empty paths are not checked.
struct DeployInputs {
  std::string binary;
  std::string gateway_config;
  std::string services_config;
};

// validate: the binary answers --version like forge (compared with `running_version` when
// given), forge.yaml passes the gateway's validation, services.yml the manager's.
std::vector<ops::Check> validateInputs(const DeployInputs& inputs,
                                       const std::string& running_version);

// The version the gateway reports (GET /version), or "" when it cannot be asked.
std::string runningVersion(Connection& connection);

class Rollout {
public:
  // `kind`: apply, rollback, bluegreen-deploy, bluegreen-switch.
  Rollout(Connection& connection, std::string kind);

  // Opens the database and the manager's client, and records the start. Prints and returns the
  // exit code on failure (0 when ready).
  int begin(const std::string& from_release, const std::string& from_version);

  // Runs one step; false (after printing what failed) when it fails.
  bool step(const std::string& name, const std::function<core::Result<std::string>()>& body);

  // Records the result; prints the summary (or JSON) and returns the exit code: 0, or
  // kExitFailure with `advice` printed after the failure.
  int finish(bool ok, const std::string& to_release, const std::string& to_version,
             const std::string& advice = {});

  // Manager operations, as step bodies.
  core::Result<boost::json::value> get(const std::string& path);
  core::Result<boost::json::value> post(const std::string& path,
                                        const boost::json::value& body = boost::json::object{});
  // POST /reload; the names services.yml changed.
  core::Result<std::vector<std::string>> reload();
  // A rolling restart (or a start, when the service is stopped).
  core::Result<std::string> restart(const std::string& service);
  // Every replica of the services runs `release` and is running.
  core::Result<std::string> replicasRun(const std::vector<std::string>& services,
                                        const std::string& release);

  ops::Deployment& record() { return deployment_; }
  const std::string& failure() const { return failure_; }

private:
  void progress(const std::string& line) const;

  Connection& connection_;
  std::optional<ApiClient> manager_;
  storage::DatabasePtr db_;
  ops::Deployment deployment_;
  std::string failure_;
};

// The services of the manager's /services answer whose replicas follow release pointer
// `pointer` (services that say {release}), and are not stopped.
std::vector<std::string> servicesFollowing(const boost::json::value& services,
                                           const std::string& pointer);

// A release's version from its release.json ("" if unknown).
std::string releaseVersion(const manager::ReleaseRef& release);

// The release `pointer` leads to, or nullopt (errors print as warnings).
std::optional<manager::ReleaseRef> releaseAt(const std::string& data_dir,
                                             const std::string& pointer);

// Builds a release's files: those given, else the same file of `base` (the release being
// replaced), else (binary only) this forge executable.
ops::ReleaseFiles releaseFiles(const DeployInputs& given,
                               const std::optional<manager::ReleaseRef>& base);

// Checks that an MCP endpoint and its /health answer (for verify and bluegreen test).
std::vector<ops::Check> endpointChecks(const std::string& label, const std::string& base_url,
                                       const std::string& token);

} // namespace forge::cli
