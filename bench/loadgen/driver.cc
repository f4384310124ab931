#include "driver.h"

#include "http_response.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

namespace forge::bench {

void LoadCounters::add(const LoadCounters& o) {
  calls += o.calls;
  http_errors += o.http_errors;
  rpc_errors += o.rpc_errors;
  timeouts += o.timeouts;
  io_errors += o.io_errors;
  sessions += o.sessions;
  sessions_closed += o.sessions_closed;
  late_sends += o.late_sends;
}

namespace {

constexpr int kMaxEvents = 256;
// The epoll tag of the rate timer; connections are tagged with their index.
constexpr std::uint64_t kTimerTag = ~std::uint64_t{0};
// A call sent this much after it was due counts as late (the server is behind the schedule).
constexpr auto kLateSlack = std::chrono::milliseconds(1);

enum class Phase { kConnecting, kInitialize, kNotify, kIdle, kCalling, kClosing, kDead };

struct Conn {
  int fd = -1;
  Phase phase = Phase::kDead;
  std::string out;
  std::size_t sent = 0;
  bool want_write = false;
  ResponseParser parser;
  std::string session_id;
  Clock::time_point started;    // when the session open or the call began (or was due)
  Clock::time_point deadline;   // of the request in flight
  std::uint64_t generation = 0; // tells a replacement apart from the connection it replaced
};

std::uint64_t nanos(Clock::duration d) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// The value of "protocolVersion" in an initialize result, without parsing the JSON.
std::string protocolVersionOf(const std::string& body) {
  static constexpr std::string_view kKey = "\"protocolVersion\":\"";
  const auto at = body.find(kKey);
  if (at == std::string::npos) return {};
  const auto begin = at + kKey.size();
  const auto end = body.find('"', begin);
  return end == std::string::npos ? std::string() : body.substr(begin, end - begin);
}

// A tools/call answer is good when it carries a result that is not a tool error. A string search
// is enough for the fixture's reply and keeps the generator's cost per call small.
bool goodResult(const std::string& body) {
  return body.find("\"result\"") != std::string::npos &&
         body.find("\"isError\":true") == std::string::npos;
}

class Driver {
public:
  explicit Driver(const LoadOptions& options)
      : o_(options), conns_(connectionCount()), protocol_version_(options.protocol_version) {}
  ~Driver() {
    for (auto& c : conns_)
      closeFd(c);
    if (timer_fd_ >= 0) ::close(timer_fd_);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
  }

  LoadResult run();

private:
  // Waits up to 10 ms for events and handles them; returns the time after.
  Clock::time_point pollOnce();
  int connectionCount() const {
    if (o_.mode != Mode::kIdle) return o_.connections;
    return static_cast<int>(std::min<std::uint64_t>(o_.sessions, o_.connections));
  }

  // ---- connections ----------------------------------------------------------------------------
  void open(std::size_t index);
  void closeFd(Conn& c);
  // A connection failed after its session was up: count it and start a fresh one.
  void replace(std::size_t index);
  void kill(std::size_t index);
  void watch(std::size_t index, bool want_write);

  // ---- I/O ------------------------------------------------------------------------------------
  void onEvent(std::size_t index, std::uint32_t events);
  void onConnected(std::size_t index);
  void flush(std::size_t index);
  void onReadable(std::size_t index);
  void post(std::size_t index, const std::string& body);
  void send(std::size_t index, std::string_view method, const std::string& body);

  // ---- MCP ------------------------------------------------------------------------------------
  void sendInitialize(std::size_t index);
  void sendCall(std::size_t index, Clock::time_point due);
  void onResponse(std::size_t index);
  void onInitializeAnswer(std::size_t index);
  void onSessionOpen(std::size_t index);
  void onCallAnswer(std::size_t index);
  void afterCall(std::size_t index);
  // Ends every open session with DELETE, as a client that is done should, so that repeated runs
  // against one server do not leave their sessions behind it (waits at most `timeout`).
  void closeSessions();

  // ---- schedule -------------------------------------------------------------------------------
  void maybeStart(Clock::time_point now);
  void startWindow(Clock::time_point now);
  void dispatchDue(Clock::time_point now);
  void armTimer(Clock::time_point at);
  void checkTimeouts(Clock::time_point now);
  bool mayStartCall(Clock::time_point now) const;
  bool finished(Clock::time_point now) const;
  std::size_t inFlight() const;

  const LoadOptions& o_;
  std::vector<Conn> conns_;
  int epoll_fd_ = -1;
  int timer_fd_ = -1;
  sockaddr_in address_{};
  LoadResult result_;

  Clock::time_point setup_began_;
  Clock::time_point last_check_;
  bool started_ = false;
  Clock::time_point window_begin_, window_end_;
  Clock::time_point next_due_;
  Clock::duration interval_{};
  std::uint64_t calls_sent_ = 0;
  std::uint64_t sessions_begun_ = 0;
  std::uint64_t next_id_ = 1;
  std::uint64_t generations_ = 0;
  std::vector<std::size_t> idle_; // kRate: connections waiting for a due call
  std::string protocol_version_;  // the one the server negotiated, sent on every request
  bool closing_ = false;          // closeSessions() runs: nothing is replaced any more
};

void Driver::open(std::size_t index) {
  Conn& c = conns_[index];
  c = Conn{};
  c.generation = ++generations_;
  c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) return kill(index);
  const int one = 1;
  ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const int rc = ::connect(c.fd, reinterpret_cast<const sockaddr*>(&address_), sizeof address_);
  if (rc < 0 && errno != EINPROGRESS) {
    ++result_.counters.io_errors;
    return kill(index);
  }
  c.phase = Phase::kConnecting;
  c.started = Clock::now();
  c.deadline = c.started + o_.timeout;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.u64 = index;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &ev);
  c.want_write = true;
}

void Driver::closeFd(Conn& c) {
  if (c.fd < 0) return;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
  ::close(c.fd);
  c.fd = -1;
}

void Driver::replace(std::size_t index) {
  closeFd(conns_[index]);
  if (o_.mode == Mode::kIdle || closing_) return kill(index);
  open(index);
}

void Driver::kill(std::size_t index) {
  closeFd(conns_[index]);
  conns_[index].phase = Phase::kDead;
}

void Driver::watch(std::size_t index, bool want_write) {
  Conn& c = conns_[index];
  if (c.want_write == want_write) return;
  c.want_write = want_write;
  epoll_event ev{};
  ev.events = EPOLLIN | (want_write ? EPOLLOUT : 0u);
  ev.data.u64 = index;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
}

void Driver::onEvent(std::size_t index, std::uint32_t events) {
  Conn& c = conns_[index];
  if (c.fd < 0) return;
  if (c.phase == Phase::kConnecting) {
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) return;
    return onConnected(index);
  }
  const std::uint64_t generation = c.generation;
  if (events & EPOLLOUT) flush(index);
  const Conn& now = conns_[index];
  if (now.fd >= 0 && now.generation == generation && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
    onReadable(index);
}

void Driver::onConnected(std::size_t index) {
  Conn& c = conns_[index];
  int error = 0;
  socklen_t length = sizeof error;
  ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &length);
  if (error != 0) {
    ++result_.counters.io_errors;
    return kill(index);
  }
  watch(index, false);
  sendInitialize(index);
}

void Driver::flush(std::size_t index) {
  Conn& c = conns_[index];
  while (c.sent < c.out.size()) {
    const ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
    if (n > 0) {
      c.sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return watch(index, true);
    ++result_.counters.io_errors;
    return replace(index);
  }
  watch(index, false);
}

// One recv a readable event: epoll is level-triggered, so whatever is left in the socket is
// reported again. Reading on until EAGAIN would cost a second system call for nearly every call
// (the next answer cannot come before the next request has gone out), and the load generator
// shares the cores with what it measures.
void Driver::onReadable(std::size_t index) {
  char buffer[64 * 1024];
  Conn& c = conns_[index];
  ssize_t n;
  do {
    n = ::recv(c.fd, buffer, sizeof buffer, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  auto state =
      n > 0 ? c.parser.feed({buffer, static_cast<std::size_t>(n)}) : c.parser.finishAtEof();
  if (state == ResponseParser::State::kIncomplete && n > 0) return;
  const bool idle_close = n == 0 && (c.phase == Phase::kIdle || c.phase == Phase::kClosing);
  if (state != ResponseParser::State::kComplete) {
    // A server may close a keep-alive connection it found idle; that loses nothing.
    if (!idle_close) ++result_.counters.io_errors;
    return idle_close ? kill(index) : replace(index);
  }
  onResponse(index);
}

void Driver::post(std::size_t index, const std::string& body) { send(index, "POST", body); }

void Driver::send(std::size_t index, std::string_view method, const std::string& body) {
  Conn& c = conns_[index];
  c.out.clear();
  c.sent = 0;
  fmt::format_to(std::back_inserter(c.out),
                 "{} {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json\r\n"
                 "Accept: application/json, text/event-stream\r\nContent-Length: {}\r\n",
                 method, o_.path, o_.host, o_.port, body.size());
  if (!c.session_id.empty()) {
    fmt::format_to(std::back_inserter(c.out), "Mcp-Session-Id: {}\r\nMCP-Protocol-Version: {}\r\n",
                   c.session_id, protocol_version_);
  }
  c.out += "\r\n";
  c.out += body;
  c.deadline = Clock::now() + o_.timeout;
  flush(index);
}

void Driver::sendInitialize(std::size_t index) {
  Conn& c = conns_[index];
  c.phase = Phase::kInitialize;
  c.session_id.clear();
  c.started = Clock::now();
  post(index, fmt::format(R"({{"jsonrpc":"2.0","id":{},"method":"initialize","params":{{)"
                          R"("protocolVersion":"{}","capabilities":{{}},)"
                          R"("clientInfo":{{"name":"forge-loadgen","version":"1"}}}}}})",
                          next_id_++, protocol_version_));
}

void Driver::sendCall(std::size_t index, Clock::time_point due) {
  Conn& c = conns_[index];
  c.phase = Phase::kCalling;
  c.started = due;
  ++calls_sent_;
  post(index, fmt::format(R"({{"jsonrpc":"2.0","id":{},"method":"tools/call",)"
                          R"("params":{{"name":"{}","arguments":{}}}}})",
                          next_id_++, o_.tool, o_.arguments));
}

void Driver::onResponse(std::size_t index) {
  Conn& c = conns_[index];
  const bool closes = c.parser.closes();
  switch (c.phase) {
  case Phase::kInitialize:
    onInitializeAnswer(index);
    break;
  case Phase::kNotify:
    if (c.parser.status() >= 300) {
      ++result_.counters.http_errors;
      return kill(index);
    }
    onSessionOpen(index);
    break;
  case Phase::kCalling:
    onCallAnswer(index);
    break;
  case Phase::kClosing:
    if (c.parser.status() < 300) ++result_.counters.sessions_closed;
    return kill(index);
  default:
    ++result_.counters.io_errors; // an answer nobody asked for
    return replace(index);
  }
  if (conns_[index].fd < 0) return;
  conns_[index].parser.next();
  if (closes) replace(index);
}

void Driver::onInitializeAnswer(std::size_t index) {
  Conn& c = conns_[index];
  if (c.parser.status() != 200 || c.parser.body().find("\"result\"") == std::string::npos) {
    ++result_.counters.http_errors;
    return kill(index);
  }
  c.session_id = c.parser.sessionId();
  // Every session of one server negotiates the same version; remember the server's.
  if (std::string version = protocolVersionOf(c.parser.body()); !version.empty())
    protocol_version_ = std::move(version);
  c.phase = Phase::kNotify;
  post(index, R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
}

void Driver::onSessionOpen(std::size_t index) {
  Conn& c = conns_[index];
  const auto now = Clock::now();
  ++result_.counters.sessions;
  c.phase = Phase::kIdle;
  if (o_.mode == Mode::kIdle) {
    // Idle mode measures how long opening a session takes.
    result_.latency.add(nanos(now - c.started));
    if (sessions_begun_ < o_.sessions) {
      ++sessions_begun_;
      sendInitialize(index);
    }
  }
  maybeStart(now);
}

void Driver::onCallAnswer(std::size_t index) {
  Conn& c = conns_[index];
  const auto now = Clock::now();
  const bool ok = c.parser.status() == 200 && goodResult(c.parser.body());
  if (c.parser.status() != 200) {
    ++result_.counters.http_errors;
  } else if (!ok) {
    ++result_.counters.rpc_errors;
  }
  // kRate records the calls due inside the window; kClosed those answered inside it.
  const auto stamp = o_.mode == Mode::kRate ? c.started : now;
  if (ok && stamp >= window_begin_ && stamp < window_end_) {
    ++result_.counters.calls;
    result_.latency.add(nanos(now - c.started));
  }
  c.phase = Phase::kIdle;
  afterCall(index);
}

void Driver::afterCall(std::size_t index) {
  const auto now = Clock::now();
  if (o_.mode == Mode::kClosed) {
    if (mayStartCall(now)) sendCall(index, now);
    return;
  }
  idle_.push_back(index);
  dispatchDue(now);
}

bool Driver::mayStartCall(Clock::time_point now) const {
  if (o_.calls > 0) return calls_sent_ < o_.calls && now < window_end_;
  return now < window_end_;
}

void Driver::maybeStart(Clock::time_point now) {
  if (started_) return;
  std::size_t ready = 0, alive = 0;
  for (const auto& c : conns_) {
    if (c.phase != Phase::kDead) ++alive;
    if (c.phase == Phase::kIdle) ++ready;
  }
  const bool all = o_.mode == Mode::kIdle ? result_.counters.sessions >= o_.sessions
                                          : ready == alive && alive > 0;
  if (all) result_.setup_complete = true;
  if (all || now - setup_began_ >= o_.setup_timeout) startWindow(now);
}

// Every session is open (or the setup time is up): the clock of the run starts now.
void Driver::startWindow(Clock::time_point now) {
  started_ = true;
  window_begin_ = now + seconds(o_.warmup_s);
  window_end_ = window_begin_ + seconds(o_.duration_s);
  if (o_.mode == Mode::kIdle) {
    // The window of an idle run is the time it took to open every session; then it holds them.
    result_.window_s = std::chrono::duration<double>(now - setup_began_).count();
    window_begin_ = now;
    window_end_ = now + seconds(o_.duration_s);
    return;
  }
  for (std::size_t i = 0; i < conns_.size(); ++i) {
    if (conns_[i].phase != Phase::kIdle) continue;
    if (o_.mode == Mode::kClosed) {
      if (mayStartCall(now)) sendCall(i, now);
    } else {
      idle_.push_back(i);
    }
  }
  if (o_.mode == Mode::kRate) {
    interval_ = seconds(1.0 / o_.rate);
    next_due_ = now;
    dispatchDue(now);
  }
}

void Driver::dispatchDue(Clock::time_point now) {
  if (!started_ || o_.mode != Mode::kRate) return;
  while (next_due_ <= now && next_due_ < window_end_) {
    // A connection may have died while it waited in the list.
    while (!idle_.empty() && conns_[idle_.back()].phase != Phase::kIdle)
      idle_.pop_back();
    if (idle_.empty()) return; // behind schedule: the next answer sends the overdue call
    const std::size_t index = idle_.back();
    idle_.pop_back();
    if (now - next_due_ > kLateSlack) ++result_.counters.late_sends;
    sendCall(index, next_due_);
    next_due_ += interval_;
  }
  if (next_due_ < window_end_) armTimer(next_due_);
}

void Driver::armTimer(Clock::time_point at) {
  // steady_clock is CLOCK_MONOTONIC on Linux, so its epoch is the timer's.
  const auto ns = nanos(at.time_since_epoch());
  itimerspec spec{};
  spec.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  spec.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  ::timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
}

void Driver::checkTimeouts(Clock::time_point now) {
  for (std::size_t i = 0; i < conns_.size(); ++i) {
    Conn& c = conns_[i];
    const bool waiting = c.phase == Phase::kConnecting || c.phase == Phase::kInitialize ||
                         c.phase == Phase::kNotify || c.phase == Phase::kCalling ||
                         c.phase == Phase::kClosing;
    if (!waiting || now < c.deadline) continue;
    // An unanswered DELETE loses no call: the session merely stays until the server drops it.
    if (c.phase != Phase::kClosing) ++result_.counters.timeouts;
    if (c.phase == Phase::kCalling && !closing_) {
      replace(i);
    } else {
      kill(i);
    }
  }
}

std::size_t Driver::inFlight() const {
  return static_cast<std::size_t>(std::count_if(conns_.begin(), conns_.end(), [](const Conn& c) {
    return c.phase == Phase::kCalling || c.phase == Phase::kConnecting ||
           c.phase == Phase::kInitialize || c.phase == Phase::kNotify;
  }));
}

bool Driver::finished(Clock::time_point now) const {
  const bool all_dead = std::all_of(conns_.begin(), conns_.end(),
                                    [](const Conn& c) { return c.phase == Phase::kDead; });
  if (all_dead) return true;
  if (!started_) return false;
  if (o_.mode == Mode::kIdle) return now >= window_end_;
  if (o_.calls > 0 && calls_sent_ >= o_.calls && inFlight() == 0) return true;
  return now >= window_end_ && (inFlight() == 0 || now >= window_end_ + o_.timeout);
}

LoadResult Driver::run() {
  address_.sin_family = AF_INET;
  address_.sin_port = htons(o_.port);
  if (::inet_pton(AF_INET, o_.host.c_str(), &address_.sin_addr) != 1) return result_;
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  epoll_event tev{};
  tev.events = EPOLLIN;
  tev.data.u64 = kTimerTag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, timer_fd_, &tev);
  result_.latency.reserve(o_.calls > 0 ? o_.calls : 1 << 20);

  setup_began_ = Clock::now();
  last_check_ = setup_began_;
  sessions_begun_ = conns_.size();
  for (std::size_t i = 0; i < conns_.size(); ++i)
    open(i);

  for (;;) {
    const auto now = pollOnce();
    dispatchDue(now);
    if (now - last_check_ >= std::chrono::milliseconds(10)) {
      checkTimeouts(now);
      if (!started_) maybeStart(now);
      last_check_ = now;
    }
    if (finished(now)) break;
  }
  if (o_.mode != Mode::kIdle) {
    result_.window_s = o_.calls > 0
                           ? std::chrono::duration<double>(Clock::now() - window_begin_).count()
                           : o_.duration_s;
    closeSessions();
  }
  return std::move(result_);
}

Clock::time_point Driver::pollOnce() {
  epoll_event events[kMaxEvents];
  const int n = ::epoll_wait(epoll_fd_, events, kMaxEvents, 10);
  for (int i = 0; i < n; ++i) {
    if (events[i].data.u64 == kTimerTag) {
      std::uint64_t expirations = 0;
      [[maybe_unused]] auto r = ::read(timer_fd_, &expirations, sizeof expirations);
      continue;
    }
    onEvent(static_cast<std::size_t>(events[i].data.u64), events[i].events);
  }
  return Clock::now();
}

void Driver::closeSessions() {
  closing_ = true;
  for (std::size_t i = 0; i < conns_.size(); ++i) {
    Conn& c = conns_[i];
    if (c.phase != Phase::kIdle || c.session_id.empty()) continue;
    c.phase = Phase::kClosing;
    send(i, "DELETE", {});
  }
  const auto closing = [this] {
    return std::any_of(conns_.begin(), conns_.end(),
                       [](const Conn& c) { return c.phase == Phase::kClosing; });
  };
  while (closing())
    checkTimeouts(pollOnce());
}

} // namespace

LoadResult runDriver(const LoadOptions& options) {
  Driver driver(options);
  return driver.run();
}

} // namespace forge::bench
