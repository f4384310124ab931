#include "server/metrics.h"

#include "core/version.h"
#include "mcp/session.h"

#include <fmt/format.h>

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <sstream>
#include <unordered_map>

namespace forge::server {
namespace {

// The methods counted by name: a client chooses the method, so anything else is "other" (the
// label set stays bounded). ping is answered by the transport and never reaches the application.
constexpr std::array<std::string_view, 14> kMethods{
    "initialize",          "tools/list",
    "tools/call",          "resources/list",
    "resources/read",      "resources/templates/list",
    "resources/subscribe", "resources/unsubscribe",
    "prompts/list",        "prompts/get",
    "completion/complete", "logging/setLevel",
    "server/discover",     "other"};

std::size_t methodIndex(std::string_view method) {
  const auto it = std::find(kMethods.begin(), kMethods.end() - 1, method);
  return static_cast<std::size_t>(it - kMethods.begin()); // "other" when not found
}

std::atomic<std::uint64_t> next_instance{1};

// A label value in the exposition format: backslash, double quote and newline escaped.
std::string escapeLabel(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string number(double value) { return fmt::format("{}", value); }

// Forwards everything to the exchange it wraps and counts the answer once.
class MeteredExchange final : public mcp::Exchange {
public:
  MeteredExchange(mcp::ExchangePtr inner, GatewayMetrics& metrics)
      : inner_(std::move(inner)), metrics_(metrics) {}
  ~MeteredExchange() override {
    // Dropped unanswered: the transport answers with an error, so count one.
    if (!counted_.exchange(true)) metrics_.countRequest(inner_->request().method, false);
  }

  void notify(std::string method, mcp::json::value params) override {
    inner_->notify(std::move(method), std::move(params));
  }
  mcp::json::value ask(std::string method, mcp::json::value params,
                       mcp::ReplyHandler on_reply) override {
    return inner_->ask(std::move(method), std::move(params), std::move(on_reply));
  }
  void cancelAsk(const mcp::json::value& id, const std::string& reason) override {
    inner_->cancelAsk(id, reason);
  }
  const mcp::Message& request() const override { return inner_->request(); }
  void reply(mcp::json::value result) override {
    count(true);
    inner_->reply(std::move(result));
  }
  void replyRaw(std::string result_json) override {
    count(true);
    inner_->replyRaw(std::move(result_json));
  }
  void fail(int code, std::string message, mcp::json::value data = nullptr) override {
    count(false);
    inner_->fail(code, std::move(message), std::move(data));
  }
  using mcp::Exchange::fail;
  bool answered() const override { return inner_->answered(); }
  void onCancel(std::function<void(std::string reason)> handler) override {
    inner_->onCancel(std::move(handler));
  }
  const auth::Principal* principal() const override { return inner_->principal(); }

private:
  void count(bool ok) {
    // Answers after the first (or after a cancellation) are ignored by the transport.
    if (!inner_->answered() && !counted_.exchange(true))
      metrics_.countRequest(inner_->request().method, ok);
  }

  mcp::ExchangePtr inner_;
  GatewayMetrics& metrics_;
  std::atomic<bool> counted_{false};
};

class MeteredSession final : public mcp::Session {
public:
  MeteredSession(mcp::SessionPtr inner, GatewayMetrics& metrics)
      : inner_(std::move(inner)), metrics_(metrics) {}
  void handle(const mcp::ExchangePtr& exchange) override {
    inner_->handle(std::make_shared<MeteredExchange>(exchange, metrics_));
  }
  void notify(const mcp::Message& notification) override { inner_->notify(notification); }
  void close() override { inner_->close(); }

private:
  mcp::SessionPtr inner_;
  GatewayMetrics& metrics_;
};

class MeteredApplication final : public mcp::Application {
public:
  MeteredApplication(std::shared_ptr<mcp::Application> inner, GatewayMetrics& metrics)
      : inner_(std::move(inner)), metrics_(metrics) {}
  core::Result<Opened> open(const mcp::SessionInfo& info, const mcp::json::object& params,
                            mcp::ClientLinkPtr link) override {
    auto opened = inner_->open(info, params, std::move(link));
    metrics_.countRequest("initialize", opened.ok());
    if (!opened) return opened;
    opened->session = std::make_shared<MeteredSession>(std::move(opened->session), metrics_);
    return opened;
  }

private:
  std::shared_ptr<mcp::Application> inner_;
  GatewayMetrics& metrics_;
};

// The Date header (RFC 9110 IMF-fixdate) of the current second, formatted once per second and
// thread.
const std::string& httpDate() {
  thread_local std::time_t formatted = 0;
  thread_local std::string text;
  const std::time_t now = std::time(nullptr);
  if (now != formatted) {
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    text = fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} GMT", kDays[tm.tm_wday], tm.tm_mday,
                       kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    formatted = now;
  }
  return text;
}

// Counts the status and adds the Date header clients use to measure clock skew.
class CountingWriter final : public net::ForwardingWriter {
public:
  CountingWriter(net::ResponseWriterPtr inner, GatewayMetrics& metrics)
      : ForwardingWriter(std::move(inner)), metrics_(metrics) {}
  void send(net::Response response) override {
    metrics_.countStatus(response.status);
    if (!response.headers.has("Date")) response.headers.set("Date", httpDate());
    inner_->send(std::move(response));
  }
  void startStream(int status, net::Headers headers) override {
    metrics_.countStatus(status);
    if (!headers.has("Date")) headers.set("Date", httpDate());
    inner_->startStream(status, std::move(headers));
  }

private:
  GatewayMetrics& metrics_;
};

// The number after `key` in /proc/self/status ("VmRSS:   1234 kB"), in kB.
std::uint64_t statusField(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::stoull(line.substr(key.size()));
  }
  return 0;
}

double cpuSeconds() {
  std::ifstream in("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  std::uint64_t utime = 0;
  std::uint64_t stime = 0;
  for (int i = 3; fields >> field; ++i) { // field 3 is the state
    if (i == 14) utime = std::stoull(field);
    if (i == 15) {
      stime = std::stoull(field);
      break;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::size_t openFds() {
  std::size_t n = 0;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    while (const dirent* entry = ::readdir(dir))
      if (entry->d_name[0] != '.') ++n;
    ::closedir(dir);
    if (n > 0) --n; // the directory's own descriptor
  }
  return n;
}

} // namespace

ProcessFigures processFigures(std::chrono::steady_clock::time_point started) {
  ProcessFigures figures;
  figures.rss_bytes = statusField("VmRSS:") * 1024;
  figures.cpu_seconds = cpuSeconds();
  figures.open_fds = openFds();
  figures.uptime_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  figures.pid = static_cast<int>(::getpid());
  return figures;
}

GatewayMetrics::GatewayMetrics() : id_(next_instance++), requests_(kMethods.size()) {}

GatewayMetrics::~GatewayMetrics() = default;

std::shared_ptr<mcp::Application> GatewayMetrics::meter(std::shared_ptr<mcp::Application> app) {
  return std::make_shared<MeteredApplication>(std::move(app), *this);
}

net::ResponseWriterPtr GatewayMetrics::countResponses(net::ResponseWriterPtr writer) {
  return std::make_shared<CountingWriter>(std::move(writer), *this);
}

void GatewayMetrics::countRequest(std::string_view method, bool ok) {
  requests_[methodIndex(method)][ok ? 0 : 1].fetch_add(1, std::memory_order_relaxed);
}

void GatewayMetrics::countStatus(int status) {
  const int cls = std::clamp(status / 100, 1, 5);
  statuses_[static_cast<std::size_t>(cls - 1)].fetch_add(1, std::memory_order_relaxed);
}

GatewayMetrics::ToolSeries& GatewayMetrics::series(const std::string& upstream,
                                                   const std::string& tool) {
  // Series live as long as this object; the cache is keyed by instance so that a thread serving
  // two gateways (tests) never uses another's pointers.
  struct Cache {
    std::uint64_t owner = 0;
    std::unordered_map<std::string, ToolSeries*> series;
  };
  thread_local Cache cache;
  if (cache.owner != id_) {
    cache.series.clear();
    cache.owner = id_;
  }
  std::string key = upstream;
  key += '\0';
  key += tool;
  if (auto it = cache.series.find(key); it != cache.series.end()) return *it->second;
  std::lock_guard lock(mutex_);
  auto it = series_.find(key);
  if (it == series_.end()) {
    if (series_.size() >= kMaxToolSeries) {
      key = upstream + '\0' + "other";
      it = series_.find(key);
    }
    if (it == series_.end()) {
      auto created = std::make_unique<ToolSeries>();
      created->upstream = upstream;
      created->tool = key.substr(upstream.size() + 1);
      it = series_.emplace(key, std::move(created)).first;
    }
  }
  cache.series.emplace(key, it->second.get());
  return *it->second;
}

void GatewayMetrics::onToolCall(const std::string& upstream, const std::string& tool, bool error,
                                double latency_ms) {
  ToolSeries& s = series(upstream, tool);
  s.calls.fetch_add(1, std::memory_order_relaxed);
  if (error) s.errors.fetch_add(1, std::memory_order_relaxed);
  s.micros.fetch_add(static_cast<std::uint64_t>(latency_ms * 1000), std::memory_order_relaxed);
  const double seconds = latency_ms / 1000;
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(kBuckets.begin(), kBuckets.end(), seconds) - kBuckets.begin());
  if (bucket < kBuckets.size()) s.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
}

std::string GatewayMetrics::render(const GatewayState& state) const {
  std::string out;
  auto header = [&out](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  header("forge_mcp_requests_total", "counter",
         "MCP requests answered, by method and outcome (ok or error)");
  for (std::size_t m = 0; m < kMethods.size(); ++m) {
    for (int outcome = 0; outcome < 2; ++outcome) {
      const auto n = requests_[m][static_cast<std::size_t>(outcome)].load();
      if (n == 0) continue;
      out += fmt::format("forge_mcp_requests_total{{method=\"{}\",outcome=\"{}\"}} {}\n",
                         kMethods[m], outcome == 0 ? "ok" : "error", n);
    }
  }
  header("forge_http_responses_total", "counter", "HTTP responses by status class");
  for (std::size_t c = 0; c < statuses_.size(); ++c)
    out += fmt::format("forge_http_responses_total{{class=\"{}xx\"}} {}\n", c + 1,
                       statuses_[c].load());

  std::vector<const ToolSeries*> tools;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, s] : series_)
      tools.push_back(s.get());
  }
  auto labels = [](const ToolSeries& s) {
    return fmt::format("upstream=\"{}\",tool=\"{}\"", escapeLabel(s.upstream), escapeLabel(s.tool));
  };
  header("forge_tool_calls_total", "counter", "tools/call forwarded to an upstream and answered");
  for (const auto* s : tools)
    out += fmt::format("forge_tool_calls_total{{{}}} {}\n", labels(*s), s->calls.load());
  header("forge_tool_errors_total", "counter",
         "tools/call answered with an error or an isError result");
  for (const auto* s : tools)
    out += fmt::format("forge_tool_errors_total{{{}}} {}\n", labels(*s), s->errors.load());
  header("forge_tool_call_duration_seconds", "histogram",
         "Time from forwarding a tools/call to its answer");
  for (const auto* s : tools) {
    const std::string l = labels(*s);
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < kBuckets.size(); ++b) {
      cumulative += s->buckets[b].load();
      out += fmt::format("forge_tool_call_duration_seconds_bucket{{{},le=\"{}\"}} {}\n", l,
                         number(kBuckets[b]), cumulative);
    }
    const auto count = s->calls.load();
    out += fmt::format("forge_tool_call_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n", l,
                       std::max(count, cumulative));
    out += fmt::format("forge_tool_call_duration_seconds_sum{{{}}} {}\n", l,
                       number(static_cast<double>(s->micros.load()) / 1e6));
    out += fmt::format("forge_tool_call_duration_seconds_count{{{}}} {}\n", l,
                       std::max(count, cumulative));
  }

  header("forge_upstream_up", "gauge", "1 when the upstream's session is ready, else 0");
  for (const auto& u : state.upstreams)
    out +=
        fmt::format("forge_upstream_up{{upstream=\"{}\"}} {}\n", escapeLabel(u.name), u.up ? 1 : 0);
  header("forge_mcp_sessions", "gauge", "Open MCP client sessions");
  out += fmt::format("forge_mcp_sessions {}\n", state.sessions);
  header("forge_http_connections", "gauge", "Open HTTP connections");
  out += fmt::format("forge_http_connections {}\n", state.connections);
  const auto& p = state.process;
  header("process_resident_memory_bytes", "gauge", "Resident set size");
  out += fmt::format("process_resident_memory_bytes {}\n", p.rss_bytes);
  header("process_cpu_seconds_total", "counter", "User and system CPU time");
  out += fmt::format("process_cpu_seconds_total {}\n", number(p.cpu_seconds));
  header("process_open_fds", "gauge", "Open file descriptors");
  out += fmt::format("process_open_fds {}\n", p.open_fds);
  header("forge_uptime_seconds", "gauge", "Seconds since the gateway started");
  out += fmt::format("forge_uptime_seconds {}\n", number(p.uptime_seconds));
  header("forge_build_info", "gauge", "Always 1; the labels say which process answered");
  out += fmt::format("forge_build_info{{version=\"{}\",commit=\"{}\",pid=\"{}\"}} 1\n",
                     core::kVersion, core::kGitCommit, p.pid);
  return out;
}

} // namespace forge::server
