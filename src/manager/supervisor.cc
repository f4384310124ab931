#include "manager/supervisor.h"

#include "core/log.h"
#include "core/unique_fd.h"
#include "manager/proc_stats.h"
#include "manager/process.h"
#include "manager/releases.h"
#include "net/http_client.h"
#include "net/listen_socket.h"

#include <boost/json/array.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <filesystem>

namespace forge::manager {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kHealthPoll{100};     // how often the health thread looks for due checks
constexpr milliseconds kIdleTick{1'000};     // how often idle services are considered for sleep
constexpr milliseconds kWakeTimeout{60'000}; // a request waits this long for a wake at most
constexpr std::size_t kLatencySamples = 256; // wake latencies kept for the statistics

double msSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

std::string describeExit(int status) {
  if (status >= 128) return fmt::format("killed by signal {}", status - 128);
  return fmt::format("exited with status {}", status);
}

// A TCP connect to 127.0.0.1:port within the timeout.
bool tcpReachable(std::uint16_t port, milliseconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  if (!ok && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int error = 0;
    socklen_t length = sizeof error;
    ok = ::poll(&p, 1, static_cast<int>(timeout.count())) == 1 &&
         ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
  }
  ::close(fd);
  return ok;
}

// An HTTP check of one replica of a shared port: any replica may accept the connection, so the
// check asks again (each time on a new connection) until the replica whose process group is
// `pgid` answers, as a forge gateway says in X-Forge-Pgid. A service that does not say is
// taken at its word (any replica's answer counts).
bool checkSharedHttp(const net::HttpRequestSpec& spec, pid_t pgid) {
  constexpr int kAttempts = 24;
  const auto deadline = Clock::now() + spec.timeout;
  for (int i = 0; i < kAttempts && Clock::now() < deadline; ++i) {
    auto reply = net::fetch(spec);
    if (!reply) return false;
    const auto who = reply->headers.get("X-Forge-Pgid");
    if (who && *who != std::to_string(pgid)) continue; // a sibling (perhaps draining) answered
    return reply->status >= 200 && reply->status < 300;
  }
  return false;
}

// A gateway replica's port of its own (see Replica::own_port): bound on 127.0.0.1 by the
// manager and handed down after the shared socket, as FORGE_OWN_LISTEN_FD. Without it the replica
// serves the shared port only, and commands meant for every replica may miss it.
int openOwnListener(const std::string& service, int index, ProcessSpec& spec) {
  auto opened = net::openListener({.host = "127.0.0.1", .port = 0, .backlog = 64});
  if (!opened) {
    log::warn("service {} replica {}: no port of its own: {}", service, index,
              opened.error().message);
    return -1;
  }
  spec.inherit_fds[1] = *opened;
  spec.env["FORGE_OWN_LISTEN_FD"] = std::to_string(kInheritedFd + 1);
  return *opened;
}

// One health check of replica `pgid` listening on `port` (blocking, bounded by the timeout).
// It is checked through the port its clients use, not its own port (see Replica::own_port):
// while the manager holds the shared socket that port always connects, and which replica
// answers is what checkSharedHttp() sorts out.
bool checkHealth(const ServiceConfig& config, std::uint16_t port, pid_t pgid) {
  const auto& h = config.health;
  const std::string base = fmt::format("{}://127.0.0.1:{}", h.scheme, port);
  if (h.type == "tcp") return tcpReachable(port, h.timeout);
  net::HttpRequestSpec spec;
  spec.timeout = h.timeout;
  spec.verify_peer = false; // this replica answering is the question, not who it is
  if (h.type == "http") {
    spec.url = base + h.path;
    if (config.shared_port) return checkSharedHttp(spec, pgid);
  } else { // mcp: an initialize must be answered; the session is ended at once
    spec.method = net::Method::kPost;
    spec.url = base + config.mcp_path;
    spec.headers.set("Content-Type", "application/json");
    spec.headers.set("Accept", "application/json, text/event-stream");
    spec.body = R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{)"
                R"("protocolVersion":"2025-06-18","capabilities":{},)"
                R"("clientInfo":{"name":"forge-manager","version":"1"}}})";
  }
  auto reply = net::fetch(spec);
  if (!reply || reply->status < 200 || reply->status >= 300) return false;
  if (h.type == "mcp") {
    if (auto session = reply->headers.get("Mcp-Session-Id")) {
      net::HttpRequestSpec end;
      end.method = net::Method::kDelete;
      end.url = spec.url;
      end.timeout = h.timeout;
      end.verify_peer = false;
      end.headers.set("Mcp-Session-Id", std::string(*session));
      (void)net::fetch(end);
    }
  }
  return true;
}

LatencyStats statsOf(const std::deque<double>& samples) {
  LatencyStats s;
  if (samples.empty()) return s;
  std::vector<double> sorted(samples.begin(), samples.end());
  std::sort(sorted.begin(), sorted.end());
  s.count = sorted.size();
  double sum = 0;
  for (double v : sorted)
    sum += v;
  s.avg_ms = sum / static_cast<double>(sorted.size());
  s.min_ms = sorted.front();
  s.max_ms = sorted.back();
  s.p95_ms = sorted[std::min(sorted.size() - 1, (sorted.size() * 95 + 99) / 100 - 1)];
  return s;
}

json::object latencyJson(const LatencyStats& s) {
  return json::object{{"count", s.count},
                      {"avg_ms", s.avg_ms},
                      {"min_ms", s.min_ms},
                      {"max_ms", s.max_ms},
                      {"p95_ms", s.p95_ms}};
}

} // namespace

const char* stateName(State state) {
  switch (state) {
  case State::kStopped:
    return "stopped";
  case State::kStarting:
    return "starting";
  case State::kRunning:
    return "running";
  case State::kUnhealthy:
    return "unhealthy";
  case State::kSleeping:
    return "sleeping";
  case State::kWaking:
    return "waking";
  case State::kStopping:
    return "stopping";
  case State::kBackoff:
    return "backoff";
  case State::kCrashLoop:
    return "crash-loop";
  }
  return "unknown";
}

struct Supervisor::Replica {
  int index = 0;
  std::uint16_t port = 0;
  // A gateway replica of a shared port also serves a port of its own on 127.0.0.1, so that
  // commands meant for every replica (forge log-level) reach each one: the shared port hands a
  // connection to whichever replica accepts first. 0: none.
  std::uint16_t own_port = 0;
  std::unique_ptr<Process> process;
  std::uint64_t generation = 0; // of the current process; exits of older ones are ignored
  State state = State::kStopped;
  bool keep = false;              // restart it when it exits
  bool restart_requested = false; // exit is a requested restart, not a crash
  int restarts = 0;
  std::deque<Clock::time_point> crashes; // within the crash-loop window
  int consecutive_crashes = 0;
  int health_failures = 0;
  Clock::time_point started_at{};
  Clock::time_point next_check{};
  std::string last_exit;
  std::string release; // the release id it runs, for services that say {release}
};

struct Supervisor::Service {
  ~Service() { closeListener(); }

  ServiceConfig config;
  std::vector<std::unique_ptr<Replica>> replicas;
  // The socket of a shared port, bound while the service is wanted: every replica serves it, so
  // connections queue across a restart instead of being refused or reset.
  int listener = -1;
  int desired = 0;
  bool wanted = false; // should be running (start, not stop)
  bool sleeping = false;
  Clock::time_point last_activity = Clock::now();
  Clock::time_point last_wake = Clock::now();
  Clock::time_point wake_started{};
  int in_flight = 0;
  std::uint64_t requests = 0; // proxied through the manager
  int sleeps = 0;
  int wakes = 0;
  std::deque<double> wake_ms;
  std::size_t round_robin = 0;
  int next_index = 0;

  struct Waiter {
    std::function<bool(const Service&)> met;
    std::function<void(core::Status)> done;
    Clock::time_point deadline;
  };
  std::vector<Waiter> waiters;
  std::vector<std::function<void(core::Result<std::uint16_t>)>> acquirers;

  // The shared port's socket, bound on first use; -1 with a logged error if it cannot be.
  int sharedListener() {
    if (listener >= 0 || !config.shared_port || config.port == 0) return listener;
    auto opened = net::openListener({.host = config.host, .port = config.port, .reuse_port = true});
    if (!opened) {
      log::error("service {}: {}", config.name, opened.error().message);
      return -1;
    }
    listener = *opened;
    log::info("service {}: replicas share {}:{}", config.name, config.host, config.port);
    return listener;
  }
  void closeListener() {
    if (listener >= 0) ::close(listener);
    listener = -1;
  }

  Replica* replica(std::uint64_t generation) const {
    for (const auto& r : replicas)
      if (r->generation == generation) return r.get();
    return nullptr;
  }
  bool allRunning() const {
    int running = 0;
    for (const auto& r : replicas)
      running += r->state == State::kRunning ? 1 : 0;
    return running >= desired && desired > 0;
  }
  bool allStopped() const {
    return std::all_of(replicas.begin(), replicas.end(), [](const auto& r) { return !r->process; });
  }
  const Replica* runningReplica() {
    std::vector<const Replica*> up;
    for (const auto& r : replicas)
      if (r->state == State::kRunning) up.push_back(r.get());
    if (up.empty()) return nullptr;
    return up[round_robin++ % up.size()];
  }
};

Supervisor::Supervisor(net::EventLoop& loop, ManagerOptions options)
    : loop_(loop), options_(std::move(options)) {
  for (const auto& config : options_.services) {
    auto s = std::make_unique<Service>();
    s->config = config;
    s->desired = config.replicas;
    services_[config.name] = std::move(s);
  }
}

Supervisor::~Supervisor() { shutdown(); }

std::string Supervisor::logPath(const std::string& service, int replica) const {
  return (std::filesystem::path(options_.data_dir) / "logs" /
          fmt::format("{}-{}.log", service, replica))
      .string();
}

core::Status Supervisor::start() {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(options_.data_dir) / "logs", ec);
  std::filesystem::create_directories(std::filesystem::path(options_.data_dir) / "manager", ec);
  if (ec) {
    return core::Error{core::Errc::kUnavailable,
                       fmt::format("cannot create {}/logs: {}", options_.data_dir, ec.message())};
  }
  const int killed = Process::killLeftovers(stateFile());
  if (killed > 0) log::warn("stopped {} process group(s) left by a previous manager", killed);
  health_thread_ = std::thread([this] { healthLoop(); });
  for (const auto& name : names()) {
    if (services_.at(name)->config.auto_start) startService(name, [](core::Status) {});
  }
  loop_.postAfter(kIdleTick, [this] { idleTick(); });
  return core::Ok{};
}

std::string Supervisor::stateFile() const {
  return (std::filesystem::path(options_.data_dir) / "manager" / "process-groups").string();
}

void Supervisor::shutdown() {
  std::vector<std::unique_ptr<Process>> processes;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [name, s] : services_) {
      s->wanted = false;
      for (auto& r : s->replicas) {
        if (r->process) processes.push_back(std::move(r->process));
        r->state = State::kStopped;
      }
    }
  }
  health_wake_.notify_all();
  if (health_thread_.joinable()) health_thread_.join();
  // Every service gets its SIGTERM at once; each then has its own grace period.
  std::vector<std::thread> stoppers;
  for (auto& p : processes) {
    stoppers.emplace_back([p = p.get(), this] {
      milliseconds grace{10'000};
      for (const auto& s : options_.services)
        grace = std::min(grace, s.stop_grace);
      p->stop(grace);
    });
  }
  for (auto& t : stoppers)
    t.join();
  processes.clear();
}

bool Supervisor::has(const std::string& service) const {
  std::lock_guard lock(mutex_);
  return services_.count(service) != 0;
}

std::vector<std::string> Supervisor::names() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, s] : services_)
    out.push_back(name);
  return out;
}

Supervisor::Service* Supervisor::find(const std::string& name) const {
  auto it = services_.find(name);
  return it == services_.end() ? nullptr : it->second.get();
}

// ---- processes ----------------------------------------------------------------------------------

void Supervisor::spawn(Service& s, Replica& r) {
  const auto& c = s.config;
  ProcessSpec spec;
  std::string release_dir;
  r.release.clear();
  if (usesRelease(c)) {
    // Resolved at each start: a restart after the pointer moved runs the new release.
    auto release = resolveRelease(options_.data_dir, c.release);
    if (!release || !*release) {
      r.last_exit = release ? fmt::format("no release installed at {}/{}: run `forge deploy "
                                          "apply --install-only`",
                                          releasesDir(options_.data_dir), c.release)
                            : release.error().message;
      log::error("service {} replica {}: {}", c.name, r.index, r.last_exit);
      r.generation = next_generation_++;
      r.keep = true;
      scheduleRestart(s, r);
      return;
    }
    release_dir = (*release)->dir;
    r.release = (*release)->id;
  }
  spec.argv = replicaCommand(c, r.index, options_.data_dir, release_dir);
  spec.env = replicaEnv(c, release_dir);
  if (!r.release.empty()) spec.env["FORGE_RELEASE"] = r.release;
  if (r.port != 0) spec.env["PORT"] = std::to_string(r.port);
  spec.cwd = c.cwd;
  spec.memory_limit_bytes = c.memory_limit;
  spec.cpu_limit = c.cpu_limit;
  spec.log_path = logPath(c.name, r.index);
  spec.log_max_bytes = options_.log_max_bytes;
  spec.log_keep = options_.log_keep;
  spec.cgroup_root = options_.cgroup_root;
  spec.state_file = stateFile();
  r.generation = next_generation_++;
  r.keep = true;
  r.restart_requested = false;
  r.health_failures = 0;
  r.started_at = Clock::now();
  core::UniqueFd own;
  if (c.shared_port && c.port != 0) {
    spec.inherit_fds[0] = s.sharedListener();
    if (spec.inherit_fds[0] < 0) {
      r.last_exit = fmt::format("cannot bind {}:{}", c.host, c.port);
      scheduleRestart(s, r);
      return;
    }
    spec.env["FORGE_LISTEN_FD"] = std::to_string(kInheritedFd);
    if (c.kind == "gateway") own.reset(openOwnListener(c.name, r.index, spec));
  }
  r.own_port = own.get() >= 0 ? net::localPort(own.get()) : 0;
  auto process = Process::start(std::move(spec)); // the guard holds its own copy of `own`
  if (!process) {
    r.last_exit = process.error().message;
    log::error("service {} replica {}: {}", c.name, r.index, r.last_exit);
    scheduleRestart(s, r);
    return;
  }
  r.process = std::move(*process);
  r.process->onExit([this, name = c.name, generation = r.generation](int status) {
    loop_.post([this, name, generation, status] { onExit(name, generation, status); });
  });
  r.state = c.health.type == "none" ? State::kRunning : State::kStarting;
  r.next_check = Clock::now() + milliseconds(50);
  log::info("service {} replica {} started (pid {})", c.name, r.index, r.process->pid());
  health_wake_.notify_all();
}

void Supervisor::signalStop(Service& s, Replica& r) {
  if (!r.process) {
    r.state = State::kStopped;
    return;
  }
  r.state = State::kStopping;
  r.keep = false;
  r.process->resume(); // a paused process cannot act on SIGTERM
  r.process->signalGroup(SIGTERM);
  loop_.postAfter(s.config.stop_grace, [this, name = s.config.name, generation = r.generation] {
    std::lock_guard lock(mutex_);
    auto* service = find(name);
    auto* replica = service ? service->replica(generation) : nullptr;
    if (replica && replica->process) {
      log::warn("service {} replica {} ignored SIGTERM for {} ms: SIGKILL", name, replica->index,
                service->config.stop_grace.count());
      replica->process->signalGroup(SIGKILL);
    }
  });
}

void Supervisor::onExit(const std::string& name, std::uint64_t generation, int status) {
  std::vector<std::function<void()>> after;
  {
    std::lock_guard lock(mutex_);
    auto* s = find(name);
    auto* r = s ? s->replica(generation) : nullptr;
    if (!r) return;
    r->process.reset();
    r->own_port = 0;
    const bool requested = r->restart_requested;
    if (!r->keep || stopping_) {
      r->state = s->sleeping ? State::kSleeping : State::kStopped;
      log::info("service {} replica {} stopped ({})", name, r->index, describeExit(status));
    } else if (requested) {
      spawn(*s, *r);
    } else {
      r->last_exit = describeExit(status);
      ++r->restarts;
      log::warn("service {} replica {} {}", name, r->index, r->last_exit);
      const auto& policy = s->config.restart.policy;
      if (policy == "never" || (policy == "on-failure" && status == 0))
        r->state = State::kStopped;
      else
        scheduleRestart(*s, *r);
    }
    // Replicas beyond the desired count go once they have stopped.
    std::erase_if(s->replicas, [s](const auto& replica) {
      return !replica->process && replica->index >= s->desired && !replica->keep;
    });
    if (!s->wanted && s->allStopped()) s->closeListener(); // stopped: refuse, do not queue
    after = settle(*s);
  }
  for (auto& f : after)
    f();
}

void Supervisor::scheduleRestart(Service& s, Replica& r) {
  const auto& policy = s.config.restart;
  const auto now = Clock::now();
  r.crashes.push_back(now);
  while (!r.crashes.empty() && now - r.crashes.front() > policy.crash_loop_window)
    r.crashes.pop_front();
  ++r.consecutive_crashes;
  auto delay = policy.backoff_initial;
  for (int i = 1; i < r.consecutive_crashes && delay < policy.backoff_max; ++i)
    delay *= 2;
  delay = std::min(delay, policy.backoff_max);
  const bool looping = static_cast<int>(r.crashes.size()) >= policy.crash_loop_restarts;
  if (looping) delay = policy.backoff_max;
  r.state = looping ? State::kCrashLoop : State::kBackoff;
  const std::uint64_t generation = r.generation;
  loop_.postAfter(delay, [this, name = s.config.name, generation] {
    std::vector<std::function<void()>> after;
    {
      std::lock_guard lock(mutex_);
      auto* service = find(name);
      auto* replica = service ? service->replica(generation) : nullptr;
      if (!replica || stopping_ || !service->wanted || replica->process) return;
      if (replica->state != State::kBackoff && replica->state != State::kCrashLoop) return;
      spawn(*service, *replica);
      after = settle(*service);
    }
    for (auto& f : after)
      f();
  });
}

// ---- waiters ------------------------------------------------------------------------------------

Supervisor::Deferred Supervisor::settle(Service& s) {
  std::vector<std::function<void()>> after;
  const auto now = Clock::now();
  std::vector<Service::Waiter> pending;
  for (auto& w : s.waiters) {
    if (w.met(s)) {
      after.push_back([done = w.done] { done(core::Ok{}); });
    } else if (now >= w.deadline) {
      after.push_back([done = w.done, name = s.config.name] {
        done(core::Error{core::Errc::kTimeout,
                         fmt::format("service {} did not reach the state asked for in time; see "
                                     "`forge logs {}`",
                                     name, name)});
      });
    } else {
      pending.push_back(std::move(w));
    }
  }
  s.waiters = std::move(pending);
  if (!s.acquirers.empty()) {
    if (const Replica* r = s.runningReplica()) {
      for (auto& a : s.acquirers)
        after.push_back([a = std::move(a), port = r->port] { a(port); });
      s.acquirers.clear();
    } else if (!s.wanted && !s.sleeping) {
      for (auto& a : s.acquirers)
        after.push_back([a = std::move(a), name = s.config.name] {
          a(core::Error{core::Errc::kUnavailable,
                        fmt::format("service {} is stopped; start it (forge manager API "
                                    "POST /services/{}/start)",
                                    name, name)});
        });
      s.acquirers.clear();
    }
  }
  return after;
}

void Supervisor::await(Service& s, std::function<bool(const Service&)> met, Done done,
                       milliseconds timeout) {
  s.waiters.push_back(Service::Waiter{std::move(met), std::move(done), Clock::now() + timeout});
  loop_.postAfter(timeout + milliseconds(10), [this, name = s.config.name] {
    std::vector<std::function<void()>> after;
    {
      std::lock_guard lock(mutex_);
      if (auto* service = find(name)) after = settle(*service);
    }
    for (auto& f : after)
      f();
  });
}

milliseconds Supervisor::startTimeout(const Service& s) const {
  const auto& h = s.config.health;
  return std::max(milliseconds(30'000), h.interval * (h.retries + 2) + h.timeout);
}

// ---- operations ---------------------------------------------------------------------------------

template <class Body>
void Supervisor::withService(const std::string& name, const Done& done, Body body) {
  std::vector<std::function<void()>> after;
  {
    std::lock_guard lock(mutex_);
    auto* s = find(name);
    if (!s) {
      after.push_back([done, name] {
        done(core::Error{core::Errc::kNotFound, fmt::format("no service named {}", name)});
      });
    } else if (stopping_) {
      after.push_back([done] {
        done(core::Error{core::Errc::kUnavailable, "the manager is shutting down"});
      });
    } else {
      body(*s);
      after = settle(*s);
    }
  }
  for (auto& f : after)
    f();
}

void Supervisor::startService(const std::string& name, Done done) {
  withService(name, done, [&](Service& s) {
    s.wanted = true;
    if (s.sleeping) wakeLocked(s);
    bringToDesired(s);
    await(
        s, [](const Service& x) { return x.allRunning() || x.desired == 0; }, done,
        startTimeout(s));
  });
}

void Supervisor::bringToDesired(Service& s) {
  for (int i = 0; i < s.desired; ++i) {
    auto it = std::find_if(s.replicas.begin(), s.replicas.end(),
                           [i](const auto& r) { return r->index == i; });
    Replica* r = nullptr;
    if (it == s.replicas.end()) {
      s.replicas.push_back(std::make_unique<Replica>());
      r = s.replicas.back().get();
      r->index = i;
      r->port = replicaPort(s.config, i);
    } else {
      r = it->get();
    }
    if (!r->process && r->state != State::kBackoff && r->state != State::kCrashLoop) {
      r->consecutive_crashes = 0;
      r->crashes.clear();
      spawn(s, *r);
    }
  }
  for (auto& r : s.replicas)
    if (r->index >= s.desired) signalStop(s, *r);
}

void Supervisor::stopService(const std::string& name, Done done) {
  withService(name, done, [&](Service& s) {
    s.wanted = false;
    s.sleeping = false;
    for (auto& r : s.replicas)
      signalStop(s, *r);
    await(
        s, [](const Service& x) { return x.allStopped(); }, done,
        s.config.stop_grace + milliseconds(5'000));
  });
}

void Supervisor::scale(const std::string& name, int replicas, Done done) {
  if (replicas < 0 || replicas > 64) {
    return done(core::Error{core::Errc::kUnprocessable, "replicas: must be between 0 and 64"});
  }
  withService(name, done, [&](Service& s) {
    s.desired = replicas;
    s.wanted = replicas > 0;
    if (s.sleeping) wakeLocked(s);
    bringToDesired(s);
    await(
        s,
        [](const Service& x) {
          const bool extra_gone =
              std::none_of(x.replicas.begin(), x.replicas.end(),
                           [&x](const auto& r) { return r->index >= x.desired; });
          return extra_gone && (x.desired == 0 || x.allRunning());
        },
        done, startTimeout(s));
  });
}

void Supervisor::restartService(const std::string& name, Done done) {
  std::size_t count = 0;
  bool found = false;
  {
    std::lock_guard lock(mutex_);
    if (auto* s = find(name)) {
      found = true;
      s->wanted = true;
      count = s->replicas.size();
    }
  }
  if (!found) {
    return done(core::Error{core::Errc::kNotFound, fmt::format("no service named {}", name)});
  }
  if (count == 0) return startService(name, std::move(done));
  rollNext(name, 0, std::move(done));
}

// Restarts replica `index` (the index-th in the list), waits for it to be running again, then
// the next one: the service keeps serving throughout when it has more than one replica, or when
// its replicas share a port (a new process is started before the old one stops).
void Supervisor::rollNext(const std::string& name, std::size_t index, Done done) {
  withService(name, done, [&](Service& s) {
    if (index >= s.replicas.size()) {
      await(
          s, [](const Service&) { return true; }, done, milliseconds(0));
      return;
    }
    Replica& old = *s.replicas[index];
    const auto next = [this, name, index, done](core::Status status) {
      if (!status) return done(status);
      rollNext(name, index + 1, done);
    };
    if (s.config.shared_port && old.process) {
      // Surge: the new process joins the port, then the old one drains and goes.
      auto fresh = std::make_unique<Replica>();
      fresh->index = old.index;
      fresh->port = old.port;
      Replica& added = *fresh;
      s.replicas.insert(s.replicas.begin() + static_cast<std::ptrdiff_t>(index) + 1,
                        std::move(fresh));
      spawn(s, added);
      const auto new_generation = added.generation;
      const auto old_generation = old.generation;
      await(
          s,
          [new_generation](const Service& x) {
            const auto* r = x.replica(new_generation);
            return r && r->state == State::kRunning;
          },
          [this, name, old_generation, next](core::Status status) {
            if (!status) return next(status);
            retire(name, old_generation, next);
          },
          startTimeout(s));
      return;
    }
    old.restart_requested = true;
    if (old.process) {
      old.process->resume();
      old.process->signalGroup(SIGTERM);
    } else {
      spawn(s, old);
    }
    const auto index_of = old.index;
    const auto before = old.generation;
    await(
        s,
        [index_of, before](const Service& x) {
          for (const auto& r : x.replicas)
            if (r->index == index_of && r->generation != before && r->state == State::kRunning)
              return true;
          return false;
        },
        next, startTimeout(s) + s.config.stop_grace);
  });
}

// Stops one replica for good and removes it once it has exited.
void Supervisor::retire(const std::string& name, std::uint64_t generation, Done done) {
  withService(name, done, [&](Service& s) {
    auto* r = s.replica(generation);
    if (!r) {
      await(
          s, [](const Service&) { return true; }, done, milliseconds(0));
      return;
    }
    signalStop(s, *r);
    r->index = -1; // not one of the desired replicas any more
    await(
        s,
        [generation](const Service& x) {
          const auto* gone = x.replica(generation);
          return !gone || !gone->process;
        },
        [this, name, generation, done](core::Status status) {
          {
            std::lock_guard lock(mutex_);
            if (auto* service = find(name)) {
              std::erase_if(service->replicas, [generation](const auto& replica) {
                return replica->generation == generation && !replica->process;
              });
            }
          }
          done(status);
        },
        s.config.stop_grace + milliseconds(5'000));
  });
}

// ---- reload ------------------------------------------------------------------------------------

core::Result<json::object> Supervisor::reload(const std::vector<ServiceConfig>& services) {
  json::array added, removed, changed, unchanged;
  std::vector<std::string> to_start, to_stop;
  Deferred after;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return core::Error{core::Errc::kUnavailable, "the manager is shutting down"};
    std::vector<std::string> refused;
    for (const auto& config : services) {
      const Service* s = find(config.name);
      if (s && s->wanted &&
          (s->config.port != config.port || s->config.shared_port != config.shared_port ||
           s->config.host != config.host)) {
        refused.push_back(config.name);
      }
    }
    if (!refused.empty()) {
      return core::Error{core::Errc::kConflict,
                         fmt::format("services.yml changes the port, shared_port or host of {0}, "
                                     "which run{1}: stop {0} first, then reload",
                                     fmt::join(refused, ", "), refused.size() == 1 ? "s" : "")};
    }
    for (const auto& [name, s] : services_) {
      const bool kept = std::any_of(services.begin(), services.end(),
                                    [&](const ServiceConfig& c) { return c.name == name; });
      if (!kept) {
        removed.emplace_back(name);
        to_stop.push_back(name);
      }
    }
    for (const auto& config : services) {
      Service* s = find(config.name);
      if (!s) {
        auto fresh = std::make_unique<Service>();
        fresh->config = config;
        fresh->desired = config.replicas;
        services_[config.name] = std::move(fresh);
        added.emplace_back(config.name);
        if (config.auto_start) to_start.push_back(config.name);
        continue;
      }
      if (s->config == config) {
        unchanged.emplace_back(config.name);
        continue;
      }
      const bool rescale = s->config.replicas != config.replicas;
      s->config = config;
      changed.emplace_back(config.name);
      if (rescale) {
        s->desired = config.replicas;
        if (s->wanted) bringToDesired(*s);
        for (auto& f : settle(*s))
          after.push_back(std::move(f));
      }
    }
  }
  for (auto& f : after)
    f();
  for (const auto& name : to_start)
    startService(name, [](core::Status) {});
  for (const auto& name : to_stop)
    stopService(name, [this, name](core::Status) { drop(name); });
  log::info("services.yml reloaded: {} added, {} removed, {} changed", added.size(), removed.size(),
            changed.size());
  return json::object{{"added", std::move(added)},
                      {"removed", std::move(removed)},
                      {"changed", std::move(changed)},
                      {"unchanged", std::move(unchanged)}};
}

// Forgets a service removed from services.yml once it has stopped; whoever still waits for it
// is told it is gone.
void Supervisor::drop(const std::string& name) {
  std::unique_ptr<Service> gone;
  {
    std::lock_guard lock(mutex_);
    auto it = services_.find(name);
    if (it == services_.end() || it->second->wanted || !it->second->allStopped()) return;
    gone = std::move(it->second);
    services_.erase(it);
  }
  const core::Error error{core::Errc::kNotFound, fmt::format("service {} was removed", name)};
  for (auto& w : gone->waiters)
    w.done(error);
  for (auto& a : gone->acquirers)
    a(error);
}

std::optional<ServiceConfig> Supervisor::config(const std::string& service) const {
  std::lock_guard lock(mutex_);
  if (const Service* s = find(service)) return s->config;
  return std::nullopt;
}

// ---- sleep and wake -----------------------------------------------------------------------------

void Supervisor::sleepLocked(Service& s) {
  if (s.sleeping) return;
  s.sleeping = true;
  ++s.sleeps;
  for (auto& r : s.replicas) {
    if (!r->process) continue;
    if (s.config.sleep.mode == "stop") {
      signalStop(s, *r);
    } else {
      r->process->pause();
      r->state = State::kSleeping;
    }
  }
  log::info("service {} is asleep ({})", s.config.name, s.config.sleep.mode);
}

void Supervisor::wakeLocked(Service& s) {
  if (!s.sleeping) return;
  s.sleeping = false;
  ++s.wakes;
  s.wake_started = Clock::now();
  s.last_wake = s.wake_started;
  s.last_activity = s.wake_started;
  for (auto& r : s.replicas) {
    if (r->process) {
      r->process->resume();
      r->state = s.config.health.type == "none" ? State::kRunning : State::kWaking;
      r->next_check = Clock::now();
    } else if (s.wanted) {
      spawn(s, *r);
      if (r->state == State::kStarting) r->state = State::kWaking;
    }
  }
  health_wake_.notify_all();
  noteWakeIfDone(s);
}

void Supervisor::noteWakeIfDone(Service& s) {
  if (s.wake_started == Clock::time_point{} || !s.runningReplica()) return;
  s.wake_ms.push_back(msSince(s.wake_started));
  if (s.wake_ms.size() > kLatencySamples) s.wake_ms.pop_front();
  log::info("service {} woke in {:.1f} ms", s.config.name, s.wake_ms.back());
  s.wake_started = {};
}

void Supervisor::sleepService(const std::string& name, Done done) {
  withService(name, done, [&](Service& s) {
    if (!s.wanted || s.allStopped()) {
      await(
          s, [](const Service&) { return true; }, done, milliseconds(0));
      return;
    }
    sleepLocked(s);
    await(
        s,
        [](const Service& x) {
          return std::all_of(x.replicas.begin(), x.replicas.end(), [](const auto& r) {
            return r->state == State::kSleeping || r->state == State::kStopped;
          });
        },
        done, s.config.stop_grace + milliseconds(5'000));
  });
}

void Supervisor::wakeService(const std::string& name, Done done) {
  withService(name, done, [&](Service& s) {
    wakeLocked(s);
    await(
        s, [](const Service& x) { return x.allRunning() || !x.wanted; }, done, kWakeTimeout);
  });
}

void Supervisor::acquire(const std::string& name,
                         std::function<void(core::Result<std::uint16_t>)> ready) {
  std::vector<std::function<void()>> after;
  {
    std::lock_guard lock(mutex_);
    auto* s = find(name);
    if (!s) {
      after.push_back([ready, name] {
        ready(core::Error{core::Errc::kNotFound, fmt::format("no service named {}", name)});
      });
    } else {
      s->last_activity = Clock::now();
      ++s->in_flight;
      ++s->requests;
      if (s->sleeping) wakeLocked(*s);
      s->acquirers.push_back([this, name, ready](core::Result<std::uint16_t> port) {
        if (!port) release(name); // nothing to release later
        ready(std::move(port));
      });
      loop_.postAfter(kWakeTimeout, [this, name] { expireAcquirers(name); });
      after = settle(*s);
    }
  }
  for (auto& f : after)
    f();
}

void Supervisor::expireAcquirers(const std::string& name) {
  std::vector<std::function<void(core::Result<std::uint16_t>)>> expired;
  {
    std::lock_guard lock(mutex_);
    auto* s = find(name);
    if (!s || s->runningReplica()) return;
    expired.swap(s->acquirers);
  }
  for (auto& a : expired)
    a(core::Error{core::Errc::kTimeout, fmt::format("service {} did not become ready", name)});
}

void Supervisor::release(const std::string& name) {
  std::lock_guard lock(mutex_);
  if (auto* s = find(name)) {
    s->in_flight = std::max(0, s->in_flight - 1);
    s->last_activity = Clock::now();
  }
}

void Supervisor::idleTick() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    const auto now = Clock::now();
    for (auto& [name, s] : services_) {
      for (auto& r : s->replicas) {
        // A replica that has stayed up for the window is forgiven its crashes.
        if (r->state == State::kRunning &&
            now - r->started_at > s->config.restart.crash_loop_window) {
          r->crashes.clear();
          r->consecutive_crashes = 0;
        }
      }
      const auto& policy = s->config.sleep;
      if (!policy.enabled || s->sleeping || !s->wanted || s->in_flight > 0) continue;
      if (!s->allRunning()) continue;
      if (now - s->last_activity < policy.idle_timeout) continue;
      if (now - s->last_wake < policy.min_sleep_time) continue;
      sleepLocked(*s);
    }
  }
  loop_.postAfter(kIdleTick, [this] { idleTick(); });
}

// ---- health -------------------------------------------------------------------------------------

void Supervisor::healthLoop() {
  struct Due {
    std::string name;
    std::uint64_t generation;
    std::uint16_t port;
    pid_t pgid;
    ServiceConfig config;
  };
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    health_wake_.wait_for(lock, kHealthPoll);
    std::vector<Due> due;
    const auto now = Clock::now();
    for (auto& [name, s] : services_) {
      if (s->config.health.type == "none") continue;
      for (auto& r : s->replicas) {
        const bool checked = r->state == State::kStarting || r->state == State::kRunning ||
                             r->state == State::kUnhealthy || r->state == State::kWaking;
        if (!checked || !r->process || now < r->next_check) continue;
        due.push_back(Due{name, r->generation, r->port, r->process->pid(), s->config});
      }
    }
    if (due.empty()) continue;
    lock.unlock();
    std::vector<std::pair<std::size_t, bool>> results;
    for (std::size_t i = 0; i < due.size(); ++i)
      results.emplace_back(i, checkHealth(due[i].config, due[i].port, due[i].pgid));
    lock.lock();
    std::vector<std::function<void()>> after;
    for (const auto& [i, healthy] : results)
      applyHealth(due[i].name, due[i].generation, healthy, after);
    lock.unlock();
    for (auto& f : after)
      f();
    lock.lock();
  }
}

void Supervisor::applyHealth(const std::string& name, std::uint64_t generation, bool healthy,
                             Deferred& after) {
  auto* s = find(name);
  auto* r = s ? s->replica(generation) : nullptr;
  if (!r || !r->process) return;
  const auto& h = s->config.health;
  const bool settling = r->state == State::kStarting || r->state == State::kWaking;
  if (healthy) {
    r->health_failures = 0;
    if (r->state != State::kRunning && r->state != State::kSleeping) {
      if (r->state == State::kUnhealthy)
        log::info("service {} replica {} is healthy again", name, r->index);
      r->state = State::kRunning;
    }
    noteWakeIfDone(*s);
  } else if (!settling && ++r->health_failures >= h.retries && r->state == State::kRunning) {
    r->state = State::kUnhealthy;
    log::warn("service {} replica {} failed {} health checks: restarting it", name, r->index,
              r->health_failures);
    r->process->signalGroup(SIGKILL); // the exit handler restarts it with back-off
  }
  r->next_check = Clock::now() + (settling && !healthy ? milliseconds(100) : h.interval);
  for (auto& f : settle(*s))
    after.push_back(std::move(f));
}

// ---- views --------------------------------------------------------------------------------------

State Supervisor::aggregate(const Service& s) const {
  if (s.sleeping) return State::kSleeping;
  if (s.replicas.empty() || s.allStopped()) {
    for (const auto& r : s.replicas)
      if (r->state == State::kBackoff || r->state == State::kCrashLoop) return r->state;
    return State::kStopped;
  }
  if (s.allRunning()) return State::kRunning;
  for (State worst : {State::kCrashLoop, State::kBackoff, State::kUnhealthy, State::kStopping,
                      State::kWaking, State::kStarting}) {
    for (const auto& r : s.replicas)
      if (r->state == worst) return worst;
  }
  return State::kRunning;
}

json::object Supervisor::status(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto* s = find(name);
  if (!s) return {};
  json::array replicas;
  int restarts = 0;
  for (const auto& r : s->replicas) {
    restarts += r->restarts;
    json::object replica{{"index", r->index},
                         {"state", stateName(r->state)},
                         {"pid", r->process ? r->process->pid() : 0},
                         {"port", r->port},
                         {"own_port", r->own_port},
                         {"restarts", r->restarts},
                         {"last_exit", r->last_exit},
                         {"release", r->release}};
    if (r->process)
      replica["uptime_seconds"] =
          std::chrono::duration<double>(Clock::now() - r->started_at).count();
    replicas.push_back(std::move(replica));
  }
  return json::object{
      {"name", s->config.name},
      {"kind", s->config.kind},
      {"state", stateName(aggregate(*s))},
      {"replicas_desired", s->desired},
      {"replicas", std::move(replicas)},
      {"restarts", restarts},
      {"port", s->config.port},
      {"scheme", s->config.health.scheme}, // how its replicas are spoken to: http or https
      {"auto_start", s->config.auto_start},
      {"sleep_enabled", s->config.sleep.enabled},
      {"idle_seconds", std::chrono::duration<double>(Clock::now() - s->last_activity).count()},
      {"in_flight", s->in_flight},
      {"release_pointer", usesRelease(s->config) ? s->config.release : ""}};
}

json::array Supervisor::statusAll() const {
  json::array out;
  for (const auto& name : names())
    out.push_back(status(name));
  return out;
}

json::object Supervisor::metrics(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto* s = find(name);
  if (!s) return {};
  double cpu = 0;
  std::uint64_t rss = 0;
  int processes = 0, restarts = 0;
  json::array replicas;
  for (const auto& r : s->replicas) {
    restarts += r->restarts;
    if (!r->process) continue;
    const auto stats = sampleGroup(r->process->pid(), r->process->pid()); // not the guard
    cpu += stats.cpu_seconds;
    rss += stats.rss_bytes;
    processes += stats.processes;
    replicas.push_back(json::object{{"index", r->index},
                                    {"pid", r->process->pid()},
                                    {"cpu_seconds", stats.cpu_seconds},
                                    {"rss_bytes", stats.rss_bytes},
                                    {"processes", stats.processes}});
  }
  return json::object{{"name", name},
                      {"state", stateName(aggregate(*s))},
                      {"cpu_seconds", cpu},
                      {"rss_bytes", rss},
                      {"processes", processes},
                      {"restarts", restarts},
                      {"requests", s->requests},
                      {"idle_seconds", msSince(s->last_activity) / 1000.0},
                      {"sleeps", s->sleeps},
                      {"wakes", s->wakes},
                      {"wake_latency", latencyJson(statsOf(s->wake_ms))},
                      {"replicas", std::move(replicas)}};
}

std::pair<int, int> Supervisor::counts() const {
  std::lock_guard lock(mutex_);
  int running = 0;
  for (const auto& [name, s] : services_)
    running += aggregate(*s) == State::kRunning ? 1 : 0;
  return {running, static_cast<int>(services_.size())};
}

std::string Supervisor::prometheus() const {
  std::string out;
  out += "# HELP forge_manager_service_up 1 when every desired replica is running\n"
         "# TYPE forge_manager_service_up gauge\n";
  const auto all = names();
  std::vector<json::object> views;
  for (const auto& name : all)
    views.push_back(metrics(name));
  for (const auto& v : views)
    out += fmt::format("forge_manager_service_up{{service=\"{}\"}} {}\n",
                       v.at("name").as_string().c_str(),
                       v.at("state").as_string() == "running" ? 1 : 0);
  auto series = [&](const char* metric, const char* type, const char* help, const char* field) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", metric, help, metric, type);
    for (const auto& v : views) {
      const auto& value = v.at(field);
      out += fmt::format("{}{{service=\"{}\"}} {}\n", metric, v.at("name").as_string().c_str(),
                         value.is_double() ? value.as_double()
                                           : static_cast<double>(value.to_number<std::int64_t>()));
    }
  };
  series("forge_manager_service_cpu_seconds_total", "counter",
         "CPU time of the service's processes", "cpu_seconds");
  series("forge_manager_service_rss_bytes", "gauge", "Resident memory of the service's processes",
         "rss_bytes");
  series("forge_manager_service_restarts_total", "counter", "Restarts after crashes", "restarts");
  series("forge_manager_service_requests_total", "counter",
         "Requests proxied to the service through the manager", "requests");
  series("forge_manager_service_sleeps_total", "counter", "Times the service was put to sleep",
         "sleeps");
  series("forge_manager_service_wakes_total", "counter", "Times the service was woken", "wakes");
  out += "# HELP forge_manager_wake_latency_p95_ms 95th percentile of recent wake latencies\n"
         "# TYPE forge_manager_wake_latency_p95_ms gauge\n";
  for (const auto& v : views)
    out += fmt::format("forge_manager_wake_latency_p95_ms{{service=\"{}\"}} {}\n",
                       v.at("name").as_string().c_str(),
                       v.at("wake_latency").at("p95_ms").as_double());
  return out;
}

} // namespace forge::manager
