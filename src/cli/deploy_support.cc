#include "cli/deploy_support.h"

#include "cli/command.h"
#include "manager/service_config.h"
#include "net/http_client.h"
#include "ops/program.h"
#include "server/gateway_config.h"
#include "storage/migrations.h"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace forge::cli {

namespace json = boost::json;
using ops::Check;
using ops::Level;

namespace {

// Loads a configuration file the way the program that reads it does; the problems, if any.
template <class Apply>
Check validateFile(const std::string& label, const config::Schema& schema, const std::string& path,
                   Apply apply) {
  config::LoadOptions options;
  options.config_path = path;
  options.environment = config::processEnvironment();
  try {
    apply(config::load(schema, options));
  } catch (const config::ConfigError& error) {
    return Check{label, Level::kCritical,
                 fmt::format("{} is not valid: {} (fix it and validate again; every key is in "
                             "docs/CONFIGURATION.md and docs/MANAGER.md)",
                             path, fmt::join(error.problems(), "; "))};
  }
  return Check{label, Level::kOk, fmt::format("{} is valid", path)};
}

} // namespace

std::vector<Check> validateInputs(const DeployInputs& inputs, const std::string& running_version) {
  std::vector<Check> checks;
  if (!inputs.binary.empty()) {
    auto version = ops::binaryVersion(inputs.binary);
    if (!version) {
      checks.push_back({"binary", Level::kCritical,
                        fmt::format("{} (give --binary the path of a forge executable)",
                                    version.error().message)});
    } else if (running_version.empty()) {
      checks.push_back({"binary", Level::kOk,
                        fmt::format("{} is forge {} (the running version is unknown: no "
                                    "gateway answered)",
                                    inputs.binary, *version)});
    } else {
      checks.push_back(
          {"binary", Level::kOk,
           fmt::format("{} is forge {}; the gateway runs {}{}", inputs.binary, *version,
                       running_version, *version == running_version ? " (same version)" : "")});
    }
  }
  if (!inputs.gateway_config.empty()) {
    checks.push_back(
        validateFile("forge.yaml", server::gatewaySchema(), inputs.gateway_config,
                     [](const config::Config& c) { (void)server::gatewayOptions(c); }));
  }
  if (!inputs.services_config.empty()) {
    checks.push_back(
        validateFile("services.yml", manager::managerSchema(), inputs.services_config,
                     [](const config::Config& c) { (void)manager::managerOptions(c); }));
  }
  return checks;
}

std::string runningVersion(Connection& connection) {
  auto api = connection.gateway(std::chrono::seconds(5));
  if (!api) return "";
  auto answer = api->call(net::Method::kGet, "/version");
  if (!answer || answer->status != 200 || !answer->body.is_object()) return "";
  const auto* app = answer->body.as_object().if_contains("app");
  return app ? stringField(*app, "version") : "";
}

std::string stringField(const json::value& object, const char* key) {
  if (!object.is_object()) return "";
  const auto* found = object.as_object().if_contains(key);
  return found && found->is_string() ? std::string(found->as_string().c_str()) : std::string();
}

// ---- Rollout ------------------------------------------------------------------------------------

Rollout::Rollout(Connection& connection, std::string kind) : connection_(connection) {
  deployment_.kind = std::move(kind);
}

void Rollout::progress(const std::string& line) const {
  std::fprintf(stderr, "[%s] %s\n", deployment_.kind.c_str(), line.c_str());
}

int Rollout::begin(const std::string& from_release, const std::string& from_version) {
  auto api = connection_.manager(std::chrono::minutes(10));
  if (!api) return connection_.fail(kExitUsage, api.error().message);
  manager_ = std::move(*api);
  auto health = manager_->call(net::Method::kGet, "/health");
  if (!health) {
    return connection_.fail(kExitUnhealthy,
                            fmt::format("cannot reach the manager at {}: {} (start the stack with "
                                        "`forge up`, or give --manager-url)",
                                        manager_->base(), health.error().message));
  }
  auto db = connection_.database();
  if (!db) {
    return connection_.fail(kExitFailure,
                            fmt::format("cannot record the deployment: {}", db.error().message));
  }
  db_ = std::move(*db);
  deployment_.from_release = from_release;
  deployment_.from_version = from_version;
  ops::DeploymentLog log(*db_);
  if (auto status = log.begin(deployment_); !status) {
    return connection_.fail(
        kExitFailure, fmt::format("cannot record the deployment: {}", status.error().message));
  }
  return kExitOk;
}

bool Rollout::step(const std::string& name,
                   const std::function<core::Result<std::string>()>& body) {
  auto result = ops::runStep(deployment_.steps, name, body,
                             [this](const std::string& line) { progress(line); });
  if (!result) failure_ = fmt::format("{}: {}", name, result.error().message);
  return result.ok();
}

int Rollout::finish(bool ok, const std::string& to_release, const std::string& to_version,
                    const std::string& advice) {
  deployment_.result = ok ? "ok" : "failed";
  deployment_.to_release = to_release;
  deployment_.to_version = to_version;
  if (db_) {
    ops::DeploymentLog log(*db_);
    if (auto status = log.finish(deployment_); !status)
      progress(fmt::format("warning: the deployment was not recorded: {}", status.error().message));
  }
  if (connection_.json()) {
    std::printf("%s\n", json::serialize(deployment_.toJson()).c_str());
  } else {
    std::printf("%s %s: %s -> %s (%s), %zu steps\n", deployment_.kind.c_str(),
                ok ? "succeeded" : "FAILED",
                deployment_.from_release.empty() ? "(none)" : deployment_.from_release.c_str(),
                to_release.c_str(), to_version.c_str(), deployment_.steps.size());
  }
  if (ok) return kExitOk;
  return connection_.fail(kExitFailure,
                          advice.empty() ? failure_ : fmt::format("{}\n{}", failure_, advice));
}

core::Result<json::value> Rollout::get(const std::string& path) {
  auto answer = manager_->call(net::Method::kGet, path);
  if (!answer) return answer.error();
  if (answer->status >= 300) {
    return core::Error{core::Errc::kBadGateway,
                       fmt::format("GET {}: {}", path, ApiClient::detail(*answer))};
  }
  return std::move(answer->body);
}

core::Result<json::value> Rollout::post(const std::string& path, const json::value& body) {
  auto answer = manager_->call(net::Method::kPost, path, &body);
  if (!answer) return answer.error();
  if (answer->status >= 300) {
    return core::Error{core::Errc::kBadGateway,
                       fmt::format("POST {}: {}", path, ApiClient::detail(*answer))};
  }
  return std::move(answer->body);
}

core::Result<std::vector<std::string>> Rollout::reload() {
  auto summary = post("/reload");
  if (!summary) return summary.error();
  std::vector<std::string> changed;
  if (const auto* list = summary->as_object().if_contains("changed"); list && list->is_array())
    for (const auto& name : list->as_array())
      if (name.is_string()) changed.emplace_back(name.as_string().c_str());
  return changed;
}

core::Result<std::string> Rollout::restart(const std::string& service) {
  auto before = get("/services/" + service);
  if (!before) return before.error();
  const bool stopped = stringField(*before, "state") == "stopped";
  auto after = post(fmt::format("/services/{}/{}", service, stopped ? "start" : "restart"));
  if (!after) return after.error();
  const auto replicas = after->as_object().at("replicas").as_array().size();
  return fmt::format("{} {} ({} replica{}{})", service, stopped ? "started" : "restarted", replicas,
                     replicas == 1 ? "" : "s",
                     stopped ? "" : ", one at a time, each healthy before the next");
}

core::Result<std::string> Rollout::replicasRun(const std::vector<std::string>& services,
                                               const std::string& release) {
  std::size_t replicas = 0;
  for (const auto& service : services) {
    auto status = get("/services/" + service);
    if (!status) return status.error();
    for (const auto& r : status->as_object().at("replicas").as_array()) {
      const std::string state = stringField(r, "state");
      const std::string runs = stringField(r, "release");
      if (state != "running" || runs != release) {
        return core::Error{
            core::Errc::kUnavailable,
            fmt::format("{} replica {} is {} and runs release '{}', not {} (see `forge logs {}`)",
                        service, json::serialize(r.as_object().at("index")), state, runs, release,
                        service)};
      }
      ++replicas;
    }
  }
  return fmt::format("{} replica{} of {} run{} {}", replicas, replicas == 1 ? "" : "s",
                     fmt::join(services, ", "), replicas == 1 ? "s" : "", release);
}

// ---- releases -----------------------------------------------------------------------------------

std::vector<std::string> servicesFollowing(const json::value& services,
                                           const std::string& pointer) {
  std::vector<std::string> out;
  if (!services.is_array()) return out;
  for (const auto& s : services.as_array())
    if (stringField(s, "release_pointer") == pointer && stringField(s, "state") != "stopped")
      out.push_back(stringField(s, "name"));
  return out;
}

std::string releaseVersion(const manager::ReleaseRef& release) {
  return stringField(json::value(ops::releaseInfo(release)), "version");
}

std::optional<manager::ReleaseRef> releaseAt(const std::string& data_dir,
                                             const std::string& pointer) {
  auto release = manager::resolveRelease(data_dir, pointer);
  if (!release) {
    std::fprintf(stderr, "warning: %s\n", release.error().message.c_str());
    return std::nullopt;
  }
  return *release;
}

ops::ReleaseFiles releaseFiles(const DeployInputs& given,
                               const std::optional<manager::ReleaseRef>& base) {
  ops::ReleaseFiles files = base ? ops::filesOf(*base) : ops::ReleaseFiles{};
  if (!given.binary.empty()) files.binary = given.binary;
  if (!given.gateway_config.empty()) files.gateway_config = given.gateway_config;
  if (!given.services_config.empty()) files.services_config = given.services_config;
  if (files.binary.empty()) files.binary = ops::selfExecutable();
  return files;
}

std::vector<Check> endpointChecks(const std::string& label, const std::string& base_url,
                                  const std::string& token) {
  std::vector<Check> checks;
  for (const char* path : {"/health", "/ready"}) {
    net::HttpRequestSpec spec;
    spec.url = base_url + path;
    spec.timeout = std::chrono::seconds(5);
    auto reply = net::fetch(spec);
    const std::string name = fmt::format("{} {}", label, path);
    if (!reply) {
      checks.push_back({name, Level::kCritical, reply.error().message});
    } else if (reply->status != 200) {
      checks.push_back({name, Level::kCritical,
                        fmt::format("HTTP {}: {}", reply->status, reply->body.substr(0, 200))});
    } else {
      checks.push_back({name, Level::kOk, "HTTP 200"});
    }
  }
  const auto probe = ops::probeMcp(base_url + "/mcp", token, std::chrono::seconds(15));
  checks.push_back(
      {fmt::format("{} MCP", label), probe.ok ? Level::kOk : Level::kCritical,
       probe.ok ? probe.detail
                : fmt::format("{} (see the service's log: forge logs SERVICE)", probe.detail)});
  return checks;
}

} // namespace forge::cli
