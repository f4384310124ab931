// forge-loadgen: the load generator of Forge's benchmarks. It holds initialized MCP sessions over
// keep-alive HTTP/1.1 connections and sends tools/call requests, as fast as they are answered or
// at a fixed rate, then prints one JSON object with the throughput, latency percentiles and error
// counts. Loopback only: it speaks plain HTTP to an IPv4 address.
//
//   forge-loadgen --url http://127.0.0.1:3099/mcp --duration 10 --connections 32
//   forge-loadgen --url http://127.0.0.1:8000/mcp --tool fixture__echo --rate 1000
//   forge-loadgen --url http://127.0.0.1:8000/mcp --idle-sessions 10000
//   forge-loadgen --free-port
#include "driver.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <regex>
#include <thread>
#include <vector>

namespace {

using forge::bench::LoadOptions;
using forge::bench::LoadResult;
using forge::bench::Mode;

// Splits "http://127.0.0.1:8000/mcp" into host, port and path.
bool parseUrl(const std::string& url, LoadOptions& options) {
  static const std::regex kUrl(R"(http://([0-9.]+):([0-9]+)(/.*)?)");
  std::smatch m;
  if (!std::regex_match(url, m, kUrl)) return false;
  options.host = m[1];
  options.port = static_cast<std::uint16_t>(std::stoi(m[2]));
  options.path = m[3].matched ? std::string(m[3]) : "/";
  return true;
}

// A port nobody listens on now, for the benchmark script to give a server. The kernel picks it;
// the socket is closed at once, so another process could take it first, which on a benchmark
// machine does not happen in practice.
int printFreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    std::perror("forge-loadgen: free port");
    return 1;
  }
  fmt::print("{}\n", ntohs(address.sin_port));
  ::close(fd);
  return 0;
}

// SCHED_BATCH: the kernel no longer lets this process preempt a running one when an answer wakes
// it. The load generator shares the cores with the servers it measures; woken at every answer, it
// would interrupt them thousands of times a second and pay for a context switch each time. As a
// batch task it waits for its turn and then reads every answer that came meanwhile. Threads
// started later inherit the policy.
bool becomeBatchTask() {
  sched_param param{};
  if (::sched_setscheduler(0, SCHED_BATCH, &param) == 0) return true;
  std::perror("forge-loadgen: sched_setscheduler(SCHED_BATCH)");
  return false;
}

// This thread's share of a total (the first threads take the remainder).
std::uint64_t shareOf(std::uint64_t total, int threads, int index) {
  const auto t = static_cast<std::uint64_t>(threads);
  const auto i = static_cast<std::uint64_t>(index);
  return total / t + (i < total % t ? 1 : 0);
}

LoadResult runThreads(const LoadOptions& options, int threads) {
  std::vector<LoadOptions> shares(static_cast<std::size_t>(threads), options);
  std::vector<LoadResult> results(shares.size());
  for (int i = 0; i < threads; ++i) {
    auto& share = shares[static_cast<std::size_t>(i)];
    share.connections =
        static_cast<int>(shareOf(static_cast<std::uint64_t>(options.connections), threads, i));
    share.calls = shareOf(options.calls, threads, i);
    share.sessions = shareOf(options.sessions, threads, i);
    share.rate = options.rate / threads;
  }
  std::vector<std::thread> workers;
  for (std::size_t i = 0; i < shares.size(); ++i) {
    workers.emplace_back([&, i] { results[i] = forge::bench::runDriver(shares[i]); });
  }
  for (auto& w : workers)
    w.join();
  LoadResult total = std::move(results[0]);
  for (std::size_t i = 1; i < results.size(); ++i) {
    total.counters.add(results[i].counters);
    total.latency.merge(results[i].latency);
    total.window_s = std::max(total.window_s, results[i].window_s);
    total.setup_complete = total.setup_complete && results[i].setup_complete;
  }
  return total;
}

const char* modeName(Mode mode) {
  switch (mode) {
  case Mode::kClosed:
    return "closed";
  case Mode::kRate:
    return "rate";
  case Mode::kIdle:
    return "idle";
  }
  return "?";
}

void printJson(const LoadOptions& o, int threads, LoadResult& r) {
  const auto l = r.latency.summarize();
  const auto& c = r.counters;
  const double per_second = r.window_s > 0 ? static_cast<double>(c.calls) / r.window_s : 0;
  fmt::print(
      R"({{"mode":"{}","connections":{},"threads":{},"window_s":{:.3f},)"
      R"("setup_complete":{},"sessions":{},"sessions_closed":{},"calls":{},"calls_per_s":{:.1f},)"
      R"("target_rate":{},"latency_us":{{"p50":{:.1f},"p90":{:.1f},"p99":{:.1f},)"
      R"("p999":{:.1f},"max":{:.1f},"mean":{:.1f}}},"errors":{{"total":{},"http":{},)"
      R"("rpc":{},"timeouts":{},"io":{}}},"late_sends":{}}})"
      "\n",
      modeName(o.mode), o.connections, threads, r.window_s, r.setup_complete, c.sessions,
      c.sessions_closed, c.calls, per_second, o.mode == Mode::kRate ? o.rate : 0.0, l.p50_us,
      l.p90_us, l.p99_us, l.p999_us, l.max_us, l.mean_us, c.errors(), c.http_errors, c.rpc_errors,
      c.timeouts, c.io_errors, c.late_sends);
}

} // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"Load generator for MCP servers over Streamable HTTP (loopback benchmarks)",
               "forge-loadgen"};
  LoadOptions o;
  std::string url;
  int threads = 1;
  int timeout_ms = 10'000;
  double setup_s = 60;
  bool free_port = false;
  bool batch = false;
  app.add_flag("--free-port", free_port, "Print a free loopback TCP port and exit");
  app.add_option("--url", url, "MCP endpoint, http://IPv4:port/path");
  app.add_option("--connections,-c", o.connections, "Connections, each with its own session")
      ->capture_default_str();
  app.add_option("--threads,-t", threads, "Threads (each drives its share of the connections)")
      ->capture_default_str();
  app.add_option("--warmup", o.warmup_s, "Seconds of calls before measuring")
      ->capture_default_str();
  app.add_option("--duration,-d", o.duration_s,
                 "Seconds measured (with --calls: at most; with --idle-sessions: held)")
      ->capture_default_str();
  app.add_option("--rate,-r", o.rate, "Open loop: calls per second on a fixed schedule");
  app.add_option("--calls,-n", o.calls, "Closed loop: stop after this many calls");
  app.add_option("--idle-sessions", o.sessions, "Only open this many sessions and hold them");
  app.add_option("--tool", o.tool, "Tool to call")->capture_default_str();
  app.add_option("--arguments", o.arguments, "The call's arguments, as JSON")
      ->capture_default_str();
  app.add_option("--protocol-version", o.protocol_version, "Offered in initialize")
      ->capture_default_str();
  app.add_option("--timeout-ms", timeout_ms, "Per request")->capture_default_str();
  app.add_option("--setup-timeout", setup_s, "Seconds allowed for opening every session")
      ->capture_default_str();
  app.add_flag("--batch", batch,
               "Run as a batch task (SCHED_BATCH): woken by an answer, do not preempt the "
               "servers measured on the same cores");
  CLI11_PARSE(app, argc, argv);
  if (free_port) return printFreePort();
  if (!parseUrl(url, o)) {
    fmt::print(stderr, "forge-loadgen: --url must look like http://127.0.0.1:8000/mcp\n");
    return 2;
  }
  if (threads < 1 || o.connections < threads) {
    fmt::print(stderr, "forge-loadgen: need 1 <= --threads <= --connections\n");
    return 2;
  }
  if (app.count("--rate") > 0) o.mode = Mode::kRate;
  if (app.count("--idle-sessions") > 0) o.mode = Mode::kIdle;
  if (o.mode != Mode::kClosed && o.calls > 0) {
    fmt::print(stderr, "forge-loadgen: --calls goes with the closed loop only\n");
    return 2;
  }
  if (o.calls > 0 || o.mode == Mode::kIdle) o.warmup_s = 0;
  o.timeout = std::chrono::milliseconds(timeout_ms);
  o.setup_timeout = std::chrono::milliseconds(static_cast<long>(setup_s * 1000));
  if (batch && !becomeBatchTask()) return 2;
  LoadResult result = runThreads(o, threads);
  printJson(o, threads, result);
  return result.counters.errors() == 0 && result.setup_complete ? 0 : 1;
}
