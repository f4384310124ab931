// The stack commands, clients of the service manager's API:
//   forge up [-c services.yml]   start `forge manager` in the background and wait until it serves
//   forge down                   stop it (and with it every service it runs)
//   forge ps                     the services and their replicas
//   forge restart SVC            restart a service, one replica at a time
//   forge scale SVC N            run N replicas
//   forge logs SVC [--tail N]    the last lines of a service's log
// They reach the manager through cli/connection.h (--manager-url, --token, --data-dir).
#include "cli/commands.h"
#include "cli/connection.h"
#include "cli/output.h"

#include <CLI/CLI.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace forge::cli {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string text(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_null()) return "";
  return json::serialize(v);
}

// What every stack command shares: the manager's connection, and how services print.
class StackCommand : public Command {
public:
  void addConnectionOptions(CLI::App& app) { connection_.addOptions(app, Reach::kManager); }

protected:
  const std::string& managerUrl() { return connection_.managerUrl(); }
  core::Result<ApiClient> client() { return connection_.manager(); }

  std::optional<Answer> call(const ApiClient& api, net::Method method, const std::string& path,
                             int& exit_code, const json::value* body = nullptr) {
    return connection_.call(api, method, path, exit_code, body);
  }

  // Prints services as a table (or JSON).
  void printServices(const json::value& services) {
    Table table({"SERVICE", "KIND", "STATE", "REPLICAS", "PIDS", "PORT", "RESTARTS"});
    const json::array empty;
    const auto& list = services.is_array() ? services.get_array() : empty;
    for (const auto& s : list) {
      if (!s.is_object()) continue;
      const auto& o = s.get_object();
      int running = 0;
      std::string pids;
      for (const auto& r : o.at("replicas").as_array()) {
        if (r.at("state") == "running") ++running;
        const auto pid = r.at("pid").to_number<std::int64_t>();
        if (pid > 0) pids += (pids.empty() ? "" : ",") + std::to_string(pid);
      }
      table.addRow({text(o.at("name")), text(o.at("kind")), text(o.at("state")),
                    fmt::format("{}/{}", running, text(o.at("replicas_desired"))), pids,
                    text(o.at("port")), text(o.at("restarts"))});
    }
    printResult(connection_.json(), table, services);
  }

  Connection connection_;
};

class PsCommand final : public StackCommand {
public:
  std::string name() const override { return "ps"; }
  std::string synopsis() const override { return "List the stack's services and replicas"; }
  void setup(CLI::App& app) override {
    addConnectionOptions(app);
    app.footer("Example:\n  forge ps\n  forge ps --json | jq '.[].state'");
  }
  int run() override {
    auto api = client();
    if (!api) return reportTokenProblem(api.error());
    int code = kExitOk;
    auto answer = call(*api, net::Method::kGet, "/services", code);
    if (!answer) return code;
    printServices(answer->body);
    return kExitOk;
  }

  int reportTokenProblem(const core::Error& error) {
    std::fprintf(stderr, "forge %s: %s\n", name().c_str(), error.message.c_str());
    return kExitUsage;
  }
};

// restart / scale / start / stop / sleep / wake SVC: one POST, then the service's new state.
class OperationCommand final : public StackCommand {
public:
  OperationCommand(std::string verb, std::string synopsis, bool takes_count)
      : verb_(std::move(verb)), synopsis_(std::move(synopsis)), takes_count_(takes_count) {}
  std::string name() const override { return verb_; }
  std::string synopsis() const override { return synopsis_; }
  void setup(CLI::App& app) override {
    app.add_option("service", service_, "The service (see forge ps)")->required();
    if (takes_count_) {
      app.add_option("replicas", replicas_, "How many replicas to run")
          ->required()
          ->check(CLI::Range(0, 64));
    }
    addConnectionOptions(app);
    app.footer(takes_count_ ? "Example:\n  forge scale gateway 2"
                            : fmt::format("Example:\n  forge {} gateway", verb_));
  }
  int run() override {
    auto api = client();
    if (!api) {
      std::fprintf(stderr, "forge %s: %s\n", verb_.c_str(), api.error().message.c_str());
      return kExitUsage;
    }
    int code = kExitOk;
    const json::value body = json::object{{"replicas", replicas_}};
    auto answer = call(*api, net::Method::kPost, fmt::format("/services/{}/{}", service_, verb_),
                       code, takes_count_ ? &body : nullptr);
    if (!answer) return code;
    printServices(json::array{answer->body});
    return kExitOk;
  }

private:
  std::string verb_, synopsis_;
  bool takes_count_;
  std::string service_;
  int replicas_ = 1;
};

class LogsCommand final : public StackCommand {
public:
  std::string name() const override { return "logs"; }
  std::string synopsis() const override { return "Show the last lines of a service's log"; }
  void setup(CLI::App& app) override {
    app.add_option("service", service_, "The service (see forge ps)")->required();
    app.add_option("--tail,-n", tail_, "Lines to show")
        ->capture_default_str()
        ->check(CLI::Range(1, 10000));
    app.add_option("--replica", replica_, "Which replica")->capture_default_str();
    addConnectionOptions(app);
    app.footer("Example:\n  forge logs gateway --tail 50");
  }
  int run() override {
    auto api = client();
    if (!api) {
      std::fprintf(stderr, "forge logs: %s\n", api.error().message.c_str());
      return kExitUsage;
    }
    int code = kExitOk;
    auto answer =
        call(*api, net::Method::kGet,
             fmt::format("/services/{}/logs?tail={}&replica={}", service_, tail_, replica_), code);
    if (!answer) return code;
    if (connection_.json()) {
      std::printf("%s\n", json::serialize(answer->body).c_str());
      return kExitOk;
    }
    for (const auto& line : answer->body.at("lines").as_array())
      std::printf("%s\n", text(line).c_str());
    return kExitOk;
  }

private:
  std::string service_;
  int tail_ = 100;
  int replica_ = 0;
};

// ---- up and down ------------------------------------------------------------------------------

std::filesystem::path pidFile(const std::string& data_dir) {
  return std::filesystem::path(data_dir) / "manager" / "manager.pid";
}

// True if `pid` is a live `forge manager` (not a recycled pid).
bool isManager(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/cmdline", pid), std::ios::binary);
  std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return cmdline.find(std::string("manager") + '\0') != std::string::npos;
}

std::optional<pid_t> runningManager(const std::string& data_dir) {
  std::ifstream in(pidFile(data_dir));
  pid_t pid = 0;
  if (!(in >> pid) || pid <= 0 || ::kill(pid, 0) != 0 || !isManager(pid)) return std::nullopt;
  return pid;
}

class UpCommand final : public StackCommand {
public:
  std::string name() const override { return "up"; }
  std::string synopsis() const override {
    return "Start the stack: `forge manager` in the background, with every service";
  }
  void setup(CLI::App& app) override {
    app.add_option("-c,--config", config_, "The stack's services.yml")->capture_default_str();
    app.add_option("--wait", wait_seconds_, "Seconds to wait for the manager")
        ->capture_default_str();
    addConnectionOptions(app);
    app.footer("The manager's output goes to <data-dir>/logs/manager.log; `forge down` stops it.\n"
               "Example:\n  forge up -c services.yml && forge ps");
  }
  int run() override {
    if (auto pid = runningManager(connection_.dataDir())) {
      std::fprintf(stderr, "forge up: a manager is already running (pid %d); `forge down` first\n",
                   *pid);
      return kExitFailure;
    }
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(connection_.dataDir()) / "logs", ec);
    std::filesystem::create_directories(std::filesystem::path(connection_.dataDir()) / "manager",
                                        ec);
    const auto log =
        (std::filesystem::path(connection_.dataDir()) / "logs" / "manager.log").string();
    const pid_t pid = launch(log);
    if (pid < 0) return kExitFailure;
    std::ofstream(pidFile(connection_.dataDir())) << pid << "\n";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds_);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        std::fprintf(stderr, "forge up: the manager exited at start; see %s\n", log.c_str());
        return kExitFailure;
      }
      // /health is public; the token (maybe signed with the secrets the manager has just
      // generated) is needed only once it answers.
      auto health = ApiClient(managerUrl(), "", 2s).call(net::Method::kGet, "/health");
      if (health && health->status == 200) {
        auto api = client();
        if (!api) {
          std::fprintf(stderr,
                       "forge up: the manager runs (pid %d; `forge down` stops it), but "
                       "%s\n",
                       pid, api.error().message.c_str());
          return kExitUsage;
        }
        int code = kExitOk;
        auto services = call(*api, net::Method::kGet, "/services", code);
        if (!services) return code;
        printServices(services->body);
        return kExitOk;
      }
      std::this_thread::sleep_for(200ms);
    }
    std::fprintf(stderr, "forge up: the manager (pid %d) did not answer within %d s; see %s\n", pid,
                 wait_seconds_, log.c_str());
    ::kill(pid, SIGTERM); // a half-started stack is not left behind
    return kExitUnhealthy;
  }

private:
  // Starts `forge manager -c <config> --data-dir <dir>` in a session of its own.
  pid_t launch(const std::string& log) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      std::fprintf(stderr, "forge up: cannot fork: %s\n", std::strerror(errno));
      return -1;
    }
    if (pid > 0) return pid;
    ::setsid();
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out >= 0) {
      ::dup2(out, STDOUT_FILENO);
      ::dup2(out, STDERR_FILENO);
    }
    if (in >= 0) ::dup2(in, STDIN_FILENO);
    std::vector<std::string> args{"forge", "manager",    "--config",
                                  config_, "--data-dir", connection_.dataDir()};
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv("/proc/self/exe", argv.data());
    std::fprintf(stderr, "forge up: cannot run the manager: %s\n", std::strerror(errno));
    ::_exit(127);
  }

  std::string config_ = "services.yml";
  int wait_seconds_ = 30;
};

class DownCommand final : public StackCommand {
public:
  std::string name() const override { return "down"; }
  std::string synopsis() const override { return "Stop the stack started by `forge up`"; }
  void setup(CLI::App& app) override {
    app.add_option("--data-dir", data_dir_, "The data directory of the stack")
        ->capture_default_str();
    app.add_option("--wait", wait_seconds_, "Seconds to wait for every service to stop")
        ->capture_default_str();
    app.footer("Sends SIGTERM to the manager recorded in <data-dir>/manager/manager.pid; it stops\n"
               "every service (SIGTERM, then SIGKILL after each one's grace period) and exits.");
  }
  int run() override {
    auto pid = runningManager(data_dir_);
    if (!pid) {
      std::printf("no manager running for %s\n", data_dir_.c_str());
      return kExitOk;
    }
    ::kill(*pid, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds_);
    while (std::chrono::steady_clock::now() < deadline) {
      ::waitpid(*pid, nullptr, WNOHANG); // reaps it if it is our child
      if (::kill(*pid, 0) != 0) {
        std::filesystem::remove(pidFile(data_dir_));
        std::printf("stopped the manager (pid %d) and its services\n", *pid);
        return kExitOk;
      }
      std::this_thread::sleep_for(100ms);
    }
    std::fprintf(stderr, "forge down: the manager (pid %d) is still running after %d s\n", *pid,
                 wait_seconds_);
    return kExitFailure;
  }

private:
  std::string data_dir_ = "./data";
  int wait_seconds_ = 60;
};

} // namespace

CommandPtr makePsCommand() { return std::make_unique<PsCommand>(); }
CommandPtr makeRestartCommand() {
  return std::make_unique<OperationCommand>(
      "restart", "Restart a service, one replica at a time (each healthy before the next)", false);
}
CommandPtr makeScaleCommand() {
  return std::make_unique<OperationCommand>("scale", "Run N replicas of a service", true);
}
CommandPtr makeLogsCommand() { return std::make_unique<LogsCommand>(); }
CommandPtr makeUpCommand() { return std::make_unique<UpCommand>(); }
CommandPtr makeDownCommand() { return std::make_unique<DownCommand>(); }

} // namespace forge::cli
