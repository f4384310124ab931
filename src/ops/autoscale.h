// Autoscaling: a policy per service (replica bounds, the CPU share one replica should run at),
// the decision it leads to for a measured load, and where policies and the scaling events are
// kept (<data-dir>/autoscale/policies.json and events.jsonl, so that `forge autoscale status`
// and `events` see what a running `forge autoscale run` did).
//
// The load is measured, not estimated: the CPU seconds each replica used between two samples
// of the manager's per-service figures, divided by the time between them.
#pragma once

#include "core/error.h"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace forge::ops {

struct ScalePolicy {
  std::string service;
  int min_replicas = 1;
  int max_replicas = 4;
  double target_cpu_percent = 70;       // of one core, per replica: scale up above it
  double scale_down_below_percent = 25; // scale down (one replica at a time) below it
  std::chrono::seconds cooldown{60};    // no second change of a service within this time
};

// Checks bounds and percentages; the error names the field.
core::Status validate(const ScalePolicy& policy);

// CPU seconds of one replica (by pid) at one moment.
struct ReplicaCpu {
  long pid = 0;
  double cpu_seconds = 0;
};

struct CpuSample {
  std::chrono::steady_clock::time_point at;
  std::vector<ReplicaCpu> replicas; // running replicas only
};

// The mean CPU % of one core per replica between two samples, over the replicas present in
// both (a replaced replica's counter restarts: it is left out). nullopt when none is.
std::optional<double> meanCpuPercent(const CpuSample& before, const CpuSample& after);

struct ScaleDecision {
  int replicas = 0;   // what the service should run
  std::string reason; // why, with the figures
};

// Above the target: enough replicas to bring the mean back to it (ceil(n * load / target));
// below the scale-down mark: one fewer; else as is. Always within [min, max].
ScaleDecision decide(const ScalePolicy& policy, int current, double mean_cpu_percent);

struct ScaleEvent {
  std::string at; // UTC, ISO 8601
  std::string service;
  int from = 0;
  int to = 0;
  double cpu_percent = 0;
  std::string reason;
  std::string result; // "ok", or what went wrong
};

// Policies and events under <data_dir>/autoscale/.
class AutoscaleStore {
public:
  explicit AutoscaleStore(std::string data_dir) : data_dir_(std::move(data_dir)) {}

  core::Result<std::map<std::string, ScalePolicy>> policies() const;
  core::Status save(const ScalePolicy& policy);
  // false when the service had no policy.
  core::Result<bool> remove(const std::string& service);

  core::Status record(const ScaleEvent& event);
  // The last `limit` events, oldest first.
  core::Result<std::vector<ScaleEvent>> events(std::size_t limit) const;

private:
  core::Status writePolicies(const std::map<std::string, ScalePolicy>& all);
  std::string data_dir_;
};

} // namespace forge::ops
