// Supervisor: runs the services of services.yml and keeps them in the state asked for.
//
// Each service has replicas; each replica is a Process (its own process group, guarded so that
// it never outlives the manager). The supervisor
//   - starts, stops (SIGTERM, SIGKILL after the grace period), restarts (one replica at a time,
//     each healthy before the next) and scales services;
//   - health-checks replicas (HTTP path, MCP initialize, or TCP connect) and counts a replica
//     running once its check passes;
//   - restarts crashed replicas with exponential back-off and reports a crash loop when crashes
//     come faster than the policy allows;
//   - puts idle MCP services to sleep (no traffic through the manager for idle_timeout) and wakes
//     them on the next request, which waits rather than fails; wake latency is measured.
// State lives under one mutex; nothing here blocks an I/O thread: stops are a signal and a
// timer, exits arrive from the Process's waiter thread, health checks run on their own thread.
#pragma once

#include "core/error.h"
#include "manager/service_config.h"
#include "net/event_loop.h"

#include <boost/json/object.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace forge::manager {

class Process;

enum class State {
  kStopped,
  kStarting,  // spawned, health check not yet passed
  kRunning,   // healthy
  kUnhealthy, // running, health checks failing
  kSleeping,
  kWaking,
  kStopping,
  kBackoff,   // crashed; restarting after a delay
  kCrashLoop, // crashed too often; restarting at the longest back-off
};

const char* stateName(State state);

// Rolling figures over the last samples (wake latency).
struct LatencyStats {
  std::size_t count = 0;
  double avg_ms = 0, min_ms = 0, max_ms = 0, p95_ms = 0;
};

class Supervisor {
public:
  using Done = std::function<void(core::Status)>;

  Supervisor(net::EventLoop& loop, ManagerOptions options);
  ~Supervisor();

  // Kills what a previous manager left (recorded process groups), then starts the auto_start
  // services and the health, idle and sampling loops.
  core::Status start();
  // Stops every service (blocking; at shutdown).
  void shutdown();

  bool has(const std::string& service) const;
  std::vector<std::string> names() const;

  // Operations answer through `done` once complete (start: replicas healthy; stop: exited).
  void startService(const std::string& service, Done done);
  void stopService(const std::string& service, Done done);
  void restartService(const std::string& service, Done done);
  void scale(const std::string& service, int replicas, Done done);
  void sleepService(const std::string& service, Done done);
  void wakeService(const std::string& service, Done done);

  // Takes a new list of services (services.yml read again): new ones are added and started
  // (auto_start), removed ones stopped and dropped, changed ones take their new settings at their
  // next start (a restart; replicas apply at once). A change of port, shared_port or host of a
  // service that runs is refused (stop it first): nothing is applied then. Answers
  // {added, removed, changed, unchanged} (names).
  core::Result<boost::json::object> reload(const std::vector<ServiceConfig>& services);
  // The service's current settings (nullopt: unknown).
  std::optional<ServiceConfig> config(const std::string& service) const;

  // For the MCP proxy: marks traffic, and calls `ready(port)` once a replica can take the
  // request (waking the service if it sleeps), or with an error (stopped, unknown).
  void acquire(const std::string& service, std::function<void(core::Result<std::uint16_t>)> ready);
  // The request that acquire() admitted is over.
  void release(const std::string& service);

  // JSON views for the API.
  boost::json::object status(const std::string& service) const;
  boost::json::array statusAll() const;
  boost::json::object metrics(const std::string& service) const;
  std::string prometheus() const;
  // {running, total}: services with every desired replica running, and all services.
  std::pair<int, int> counts() const;
  std::string logPath(const std::string& service, int replica) const;

  struct Replica;
  struct Service;

private:
  using Deferred = std::vector<std::function<void()>>; // callbacks run once the mutex is released

  // The rest require mutex_ held.
  Service* find(const std::string& name) const;
  std::string stateFile() const;
  template <class Body>
  void withService(const std::string& name, const Done& done, Body body); // takes mutex_
  void spawn(Service& s, Replica& r);
  void signalStop(Service& s, Replica& r);
  void bringToDesired(Service& s);
  void scheduleRestart(Service& s, Replica& r);
  void sleepLocked(Service& s);
  void wakeLocked(Service& s);
  void noteWakeIfDone(Service& s);
  // Calls `done` once `met` holds for the service (or with kTimeout after `timeout`).
  void await(Service& s, std::function<bool(const Service&)> met, Done done,
             std::chrono::milliseconds timeout);
  // The waiters and pending acquirers whose condition now holds, as callbacks to run.
  Deferred settle(Service& s);
  std::chrono::milliseconds startTimeout(const Service& s) const;
  State aggregate(const Service& s) const;
  void applyHealth(const std::string& name, std::uint64_t generation, bool healthy,
                   Deferred& after);

  // These take mutex_ themselves.
  void onExit(const std::string& name, std::uint64_t generation, int status);
  void rollNext(const std::string& name, std::size_t index, Done done);
  void retire(const std::string& name, std::uint64_t generation, Done done);
  void expireAcquirers(const std::string& name);
  void drop(const std::string& name);
  void healthLoop();
  void idleTick();

  net::EventLoop& loop_;
  const ManagerOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Service>> services_;
  std::uint64_t next_generation_ = 1;
  bool stopping_ = false;
  std::condition_variable health_wake_;
  std::thread health_thread_;
};

} // namespace forge::manager
