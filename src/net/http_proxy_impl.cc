// The Beast/Asio implementation of HttpProxy.
//
// DESIGN. forward() takes an idle connection to the target from the pool (one that is young
// enough and that the target has not closed meanwhile) and starts one coroutine for the exchange
// on that connection's strand, or on a new strand for a new connection. Everything the exchange
// touches (its connection, its flags) belongs to that strand; the writer's onClose callback
// reaches it by posting there, and cancels by closing the socket, which ends whatever operation
// is pending. A connection goes back to the pool only after a complete answer on a keep-alive
// connection, and before that answer is handed to the writer, so that a client's next request
// finds it idle; after an error, a cancellation or an unfinished body it is closed.
//
// A pooled connection that the target closed just as it was reused fails without an answer: the
// request is sent once more on a new connection when that cannot run it twice (an idempotent
// method, or nothing was written).
#include "net/http_proxy.h"

#include "core/assert.h"
#include "core/log.h"
#include "net/event_loop_impl.h"
#include "net/url.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

namespace forge::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Executor = asio::any_io_executor;
using ErrorCode = boost::system::error_code;
using Clock = std::chrono::steady_clock;
using Parser = http::response_parser<http::buffer_body>;
using UpstreamRequest = http::request<http::string_body>;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

constexpr std::uint32_t kMaxHeaderBytes = 64 * 1024;
// A Content-Length body up to this size is relayed whole; a larger one is streamed.
constexpr std::uint64_t kMaxBufferedBody = 16 * 1024 * 1024;
constexpr std::size_t kReadChunk = 16 * 1024;

// ---------------------------------------------------------------------------------------------
// Helpers: headers
// ---------------------------------------------------------------------------------------------

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

bool isHopByHop(std::string_view name) {
  static constexpr std::array<std::string_view, 6> kNames{
      "Connection", "Keep-Alive", "TE", "Trailer", "Transfer-Encoding", "Upgrade"};
  return startsWithIgnoreCase(name, "Proxy-") ||
         std::any_of(kNames.begin(), kNames.end(),
                     [name](std::string_view hop) { return equalsIgnoreCase(name, hop); });
}

// The field names a Connection header lists: hop-by-hop as well.
void addConnectionTokens(std::string_view value, std::vector<std::string>& tokens) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    const auto token = trim(value.substr(0, comma));
    if (!token.empty()) tokens.emplace_back(token);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

bool listed(const std::vector<std::string>& tokens, std::string_view name) {
  return std::any_of(tokens.begin(), tokens.end(),
                     [name](const std::string& token) { return equalsIgnoreCase(token, name); });
}

// The media type of a Content-Type value, lower-cased, without parameters.
std::string mediaType(std::string_view value) {
  std::string out(trim(value.substr(0, value.find(';'))));
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return out;
}

// "host:port", IPv6 in brackets.
std::string authority(const HttpProxy::Target& target) {
  return target.host.find(':') == std::string::npos
             ? fmt::format("{}:{}", target.host, target.port)
             : fmt::format("[{}]:{}", target.host, target.port);
}

std::string hostHeader(const HttpProxy::Target& target) {
  if (target.port != 80) return authority(target);
  return target.host.find(':') == std::string::npos ? target.host : "[" + target.host + "]";
}

// The address part of Request::remote_address ("127.0.0.1:53122", "::1:53122").
std::string_view clientAddress(std::string_view remote) {
  const auto colon = remote.rfind(':');
  if (colon != std::string_view::npos) remote = remote.substr(0, colon);
  if (remote.size() >= 2 && remote.front() == '[' && remote.back() == ']') {
    remote = remote.substr(1, remote.size() - 2);
  }
  return remote;
}

bool isIdempotent(Method method) {
  return method == Method::kGet || method == Method::kHead || method == Method::kPut ||
         method == Method::kDelete || method == Method::kOptions;
}

// What is wrong with a target, or "".
std::string targetProblem(const HttpProxy::Target& target) {
  if (target.host.empty() || hasSpaceOrControl(target.host)) return "invalid host";
  if (target.port == 0) return "invalid port";
  if (target.path_and_query.empty() || target.path_and_query.front() != '/' ||
      hasSpaceOrControl(target.path_and_query)) {
    return "the path must start with '/' and hold no spaces or control characters";
  }
  return {};
}

// The request sent upstream: method, target, end-to-end headers, Host, X-Forwarded-For,
// X-Request-Id, body.
UpstreamRequest upstreamRequest(const Request& request, const HttpProxy::Target& target) {
  UpstreamRequest message;
  message.method(http::string_to_verb(methodName(request.method)));
  message.target(target.path_and_query);
  message.version(11);
  std::vector<std::string> connection_tokens;
  for (const auto& [name, value] : request.headers) {
    if (equalsIgnoreCase(name, "Connection")) addConnectionTokens(value, connection_tokens);
  }
  std::string forwarded_for;
  for (const auto& [name, value] : request.headers) {
    if (isHopByHop(name) || listed(connection_tokens, name) || equalsIgnoreCase(name, "Host") ||
        equalsIgnoreCase(name, "Content-Length") || equalsIgnoreCase(name, "Expect") ||
        equalsIgnoreCase(name, "X-Request-Id") || name.empty() || !isHeaderSafe(name) ||
        hasSpaceOrControl(name) || !isHeaderSafe(value)) {
      continue;
    }
    if (equalsIgnoreCase(name, "X-Forwarded-For")) {
      if (!forwarded_for.empty()) forwarded_for += ", ";
      forwarded_for += value;
      continue;
    }
    message.insert(name, value);
  }
  const auto client = clientAddress(request.remote_address);
  if (!client.empty() && isHeaderSafe(client)) {
    if (!forwarded_for.empty()) forwarded_for += ", ";
    forwarded_for += client;
  }
  if (!forwarded_for.empty()) message.set("X-Forwarded-For", forwarded_for);
  message.set(http::field::host, hostHeader(target));
  if (!request.request_id.empty() && isHeaderSafe(request.request_id)) {
    message.set("X-Request-Id", request.request_id);
  }
  message.keep_alive(true);
  message.body() = request.body;
  message.prepare_payload();
  return message;
}

// The response's end-to-end headers (Content-Length too goes: the server sets its own).
Headers relayedHeaders(const http::response_header<>& head) {
  std::vector<std::string> connection_tokens;
  for (const auto& field : head) {
    if (field.name() == http::field::connection)
      addConnectionTokens(field.value(), connection_tokens);
  }
  Headers headers;
  for (const auto& field : head) {
    const std::string_view name = field.name_string();
    if (isHopByHop(name) || listed(connection_tokens, name) ||
        equalsIgnoreCase(name, "Content-Length")) {
      continue;
    }
    headers.add(std::string(name), std::string(field.value()));
  }
  return headers;
}

// ---------------------------------------------------------------------------------------------
// Connection and Exchange
// ---------------------------------------------------------------------------------------------

// One upstream TCP connection; used only on its strand (the stream's executor), except for the
// liveness check of an idle one.
struct UpstreamConnection {
  explicit UpstreamConnection(const Executor& executor) : stream(executor) {
    // Beast reads as much as the buffer has room for (at least 512 bytes): room for most
    // answers in one read.
    buffer.reserve(16 * 1024);
  }

  // Closes the socket, which ends any operation on it.
  void close() {
    ErrorCode ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
  }

  // An idle connection is usable if nothing is waiting to be read: no end of stream (the target
  // closed it) and no bytes that nobody asked for. Does not block.
  bool looksAlive() {
    if (buffer.size() != 0 || !stream.socket().is_open()) return false;
    char byte = 0;
    const auto n = ::recv(stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  Clock::time_point idle_since;
};
using ConnectionPtr = std::shared_ptr<UpstreamConnection>;

void closeOnStrand(ConnectionPtr conn) {
  auto executor = conn->stream.get_executor();
  asio::post(executor, [owned = std::move(conn)] { owned->close(); });
}

enum class Cancel { kNone, kClientGone, kShutdown };

// One forwarded request. Apart from the constant fields, used only on `executor`.
struct Exchange {
  RequestPtr request;
  ResponseWriterPtr writer;
  HttpProxy::Target target;
  std::string key; // authority(target): the pool's key and the name in messages
  std::function<void(int)> done;
  Executor executor;

  ConnectionPtr conn;
  std::shared_ptr<tcp::resolver> resolver;
  Cancel cancel = Cancel::kNone;
  bool finished = false; // the connection is released; nothing left to cancel

  void abort(Cancel why) {
    if (finished || cancel != Cancel::kNone) return;
    cancel = why;
    if (resolver) resolver->cancel();
    if (conn) conn->close();
  }
};
using ExchangePtr = std::shared_ptr<Exchange>;

void onCoroutineEnd(std::exception_ptr error) {
  if (error) FORGE_BUG("a proxy coroutine ended with an exception");
}

// Reads the rest of a body and hands each piece to `consume` as soon as it arrives (events of a
// stream must not wait for the ones after them). `consume` returning false stops the read with
// operation_aborted.
asio::awaitable<ErrorCode> readBody(UpstreamConnection& conn, Parser& parser,
                                    const std::function<bool(std::string_view)>& consume) {
  std::array<char, kReadChunk> chunk;
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    auto [ec, n] = co_await http::async_read_some(conn.stream, conn.buffer, parser, kNoThrow);
    if (ec && ec != http::error::need_buffer) co_return ec;
    const std::size_t got = chunk.size() - parser.get().body().size;
    if (got > 0 && !consume(std::string_view(chunk.data(), got))) {
      co_return ErrorCode(asio::error::operation_aborted);
    }
  }
  co_return ErrorCode{};
}

// Reads the head of the final answer; interim ones (100 Continue, 103 Early Hints) are dropped.
asio::awaitable<ErrorCode> readHead(UpstreamConnection& conn, std::optional<Parser>& parser,
                                    bool head_request) {
  for (;;) {
    parser.emplace();
    parser->header_limit(kMaxHeaderBytes);
    parser->body_limit(boost::none);
    if (head_request) parser->skip(true);
    auto [ec, n] = co_await http::async_read_header(conn.stream, conn.buffer, *parser, kNoThrow);
    const auto status = parser->get().result_int();
    if (ec || status < 100 || status >= 200 || status == 101) co_return ec;
  }
}

bool isStale(const ErrorCode& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
}

} // namespace

// ---------------------------------------------------------------------------------------------
// State: shared by the proxy object and every exchange.
// ---------------------------------------------------------------------------------------------

struct HttpProxy::State {
  State(EventLoop::Impl& event_loop, ProxyOptions opts) : loop(event_loop), options(opts) {}

  EventLoop::Impl& loop;
  const ProxyOptions options;

  mutable std::mutex mutex;
  bool shut = false;
  std::unordered_map<std::string, std::vector<ConnectionPtr>> idle; // by authority
  std::unordered_map<Exchange*, std::weak_ptr<Exchange>> active;

  // `done` callbacks run under a shared lock; the destructor takes it exclusively.
  std::shared_mutex gate;
  bool gate_closed = false;

  ConnectionPtr takeIdle(const std::string& key);
  void park(const std::string& key, ConnectionPtr conn);
  void sweepLocked(std::vector<ConnectionPtr>& list, std::vector<ConnectionPtr>& dead) const;
  void callDone(const std::function<void(int)>& done, int status);

  // The whole exchange; `self` keeps the state alive while it runs.
  static asio::awaitable<void> run(std::shared_ptr<State> self, ExchangePtr ex);
  asio::awaitable<int> relay(Exchange& ex);
  asio::awaitable<ErrorCode> connect(Exchange& ex);
  void release(Exchange& ex, bool reusable);
  int answerError(Exchange& ex, const core::Error& error);
  int answerCancelled(Exchange& ex);
};

// Drops connections idle for longer than idle_timeout into `dead`.
void HttpProxy::State::sweepLocked(std::vector<ConnectionPtr>& list,
                                   std::vector<ConnectionPtr>& dead) const {
  const auto now = Clock::now();
  std::erase_if(list, [&](ConnectionPtr& conn) {
    if (now - conn->idle_since < options.idle_timeout) return false;
    dead.push_back(std::move(conn));
    return true;
  });
}

// The most recently parked idle connection to `key` that still looks usable, or null.
ConnectionPtr HttpProxy::State::takeIdle(const std::string& key) {
  std::vector<ConnectionPtr> dead;
  ConnectionPtr found;
  {
    std::lock_guard lock(mutex);
    const auto it = idle.find(key);
    if (it == idle.end()) return nullptr;
    auto& list = it->second;
    sweepLocked(list, dead);
    while (!list.empty() && !found) {
      auto conn = std::move(list.back());
      list.pop_back();
      if (conn->looksAlive()) {
        found = std::move(conn);
      } else {
        dead.push_back(std::move(conn));
      }
    }
    if (list.empty()) idle.erase(it);
  }
  for (auto& conn : dead)
    closeOnStrand(std::move(conn));
  return found;
}

// Puts a connection whose answer was read completely into the pool, or closes it when the pool
// is full or the proxy shut. Called on the connection's strand.
void HttpProxy::State::park(const std::string& key, ConnectionPtr conn) {
  conn->stream.expires_never();
  conn->idle_since = Clock::now();
  std::vector<ConnectionPtr> dead;
  {
    std::lock_guard lock(mutex);
    if (!shut && options.max_idle_per_target > 0) {
      auto& list = idle[key];
      sweepLocked(list, dead);
      if (list.size() < options.max_idle_per_target) {
        list.push_back(std::move(conn));
        conn.reset();
      }
      if (list.empty()) idle.erase(key);
    }
  }
  if (conn) conn->close();
  for (auto& old : dead)
    closeOnStrand(std::move(old));
}

void HttpProxy::State::callDone(const std::function<void(int)>& done, int status) {
  if (!done) return;
  std::shared_lock lock(gate);
  if (gate_closed) return;
  done(status);
}

asio::awaitable<void> HttpProxy::State::run(std::shared_ptr<State> self, ExchangePtr ex) {
  const int status = co_await self->relay(*ex);
  self->release(*ex, false); // no-op unless an early return left the connection
  {
    std::lock_guard lock(self->mutex);
    self->active.erase(ex.get());
  }
  self->callDone(ex->done, status);
}

// The connection is done with: to the pool if `reusable`, else closed. Nothing to cancel after.
void HttpProxy::State::release(Exchange& ex, bool reusable) {
  ex.finished = true;
  ex.resolver.reset();
  auto conn = std::move(ex.conn);
  if (!conn) return;
  if (reusable && ex.cancel == Cancel::kNone && conn->buffer.size() == 0) {
    park(ex.key, std::move(conn));
  } else {
    conn->close();
  }
}

int HttpProxy::State::answerError(Exchange& ex, const core::Error& error) {
  release(ex, false);
  log::emit(log::Level::kInfo, ex.request->request_id, "proxy error",
            {{"upstream", ex.key}, {"reason", error.message}});
  ex.writer->send(Response::error(error));
  return core::httpStatus(error.code);
}

// Before the response head went to the client.
int HttpProxy::State::answerCancelled(Exchange& ex) {
  release(ex, false);
  if (ex.cancel != Cancel::kShutdown) return HttpProxy::kClientClosed;
  const core::Error error{core::Errc::kUnavailable, "the proxy is shutting down"};
  ex.writer->send(Response::error(error));
  return core::httpStatus(error.code);
}

asio::awaitable<ErrorCode> HttpProxy::State::connect(Exchange& ex) {
  auto& conn = *ex.conn;
  conn.buffer.clear();
  conn.stream.expires_after(options.connect_timeout); // for resolving too
  ErrorCode ec;
  const auto address = asio::ip::make_address(ex.target.host, ec);
  if (!ec) {
    auto [connect_ec] =
        co_await conn.stream.async_connect(tcp::endpoint(address, ex.target.port), kNoThrow);
    ec = connect_ec;
  } else {
    ex.resolver = std::make_shared<tcp::resolver>(ex.executor);
    asio::steady_timer deadline(ex.executor, options.connect_timeout);
    bool timed_out = false;
    deadline.async_wait(
        [resolver = std::weak_ptr(ex.resolver), &timed_out](const ErrorCode& timer_ec) {
          if (timer_ec) return;
          if (auto r = resolver.lock()) {
            timed_out = true;
            r->cancel();
          }
        });
    auto [resolve_ec, endpoints] = co_await ex.resolver->async_resolve(
        ex.target.host, std::to_string(ex.target.port), kNoThrow);
    ex.resolver.reset(); // the deadline's handler no longer reaches `timed_out`
    deadline.cancel();
    ec = timed_out ? ErrorCode(beast::error::timeout) : resolve_ec;
    if (!ec && ex.cancel == Cancel::kNone) {
      auto [connect_ec, endpoint] = co_await conn.stream.async_connect(endpoints, kNoThrow);
      ec = connect_ec;
    }
  }
  if (!ec) {
    ErrorCode ignored;
    conn.stream.socket().set_option(tcp::no_delay(true), ignored);
  }
  co_return ec;
}

// Forwards the request and relays the answer; returns the status for done().
asio::awaitable<int> HttpProxy::State::relay(Exchange& ex) {
  if (const auto problem = targetProblem(ex.target); !problem.empty()) {
    co_return answerError(
        ex, {core::Errc::kBadGateway, fmt::format("invalid proxy target {}: {}", ex.key, problem)});
  }
  if (ex.request->method == Method::kOther) {
    co_return answerError(ex, {core::Errc::kMethodNotAllowed,
                               "the proxy forwards only GET, HEAD, POST, PUT, "
                               "PATCH, DELETE and OPTIONS"});
  }
  if (ex.writer->closed()) ex.abort(Cancel::kClientGone);
  if (ex.cancel != Cancel::kNone) co_return answerCancelled(ex);

  const auto message = upstreamRequest(*ex.request, ex.target);
  const bool head_request = ex.request->method == Method::kHead;
  std::optional<Parser> parser;
  for (int attempt = 0;; ++attempt) {
    const bool reused = ex.conn != nullptr;
    if (!ex.conn) {
      ex.conn = std::make_shared<UpstreamConnection>(ex.executor);
      const auto ec = co_await connect(ex);
      if (ex.cancel != Cancel::kNone) co_return answerCancelled(ex);
      if (ec) {
        co_return answerError(
            ex, {core::Errc::kBadGateway,
                 ec == beast::error::timeout
                     ? fmt::format("cannot connect to upstream {}: timed out after {} ms", ex.key,
                                   options.connect_timeout.count())
                     : fmt::format("cannot connect to upstream {}: {}", ex.key, ec.message())});
      }
    }
    auto& conn = *ex.conn;
    conn.stream.expires_after(options.response_timeout);
    auto [write_ec, written] = co_await http::async_write(conn.stream, message, kNoThrow);
    ErrorCode ec = write_ec;
    if (!ec && ex.cancel == Cancel::kNone) ec = co_await readHead(conn, parser, head_request);
    if (ex.cancel != Cancel::kNone) co_return answerCancelled(ex);
    if (!ec) break;
    const bool repeatable = isIdempotent(ex.request->method) || (write_ec && written == 0);
    if (reused && attempt == 0 && (write_ec || isStale(ec)) && repeatable) {
      log::debug("proxy: a pooled connection to {} was closed ({}); retrying on a new one", ex.key,
                 ec.message());
      conn.close();
      ex.conn.reset();
      continue;
    }
    if (ec == beast::error::timeout) {
      co_return answerError(
          ex, {core::Errc::kTimeout, fmt::format("upstream {} sent no response within {} ms",
                                                 ex.key, options.response_timeout.count())});
    }
    co_return answerError(
        ex, {core::Errc::kBadGateway, fmt::format("upstream {} failed: {}", ex.key, ec.message())});
  }

  auto& conn = *ex.conn;
  const auto& head = parser->get();
  const int status = static_cast<int>(head.result_int());
  Headers headers = relayedHeaders(head.base());
  const bool keep_alive = head.keep_alive();

  // No body (HEAD, 204, 304, Content-Length: 0).
  if (parser->is_done()) {
    release(ex, keep_alive);
    ex.writer->send(Response{status, std::move(headers), {}});
    co_return status;
  }

  // A body of known, moderate size: relayed whole.
  const bool event_stream = mediaType(head[http::field::content_type]) == "text/event-stream";
  const auto length = parser->content_length();
  if (!event_stream && !parser->chunked() && length && *length <= kMaxBufferedBody) {
    std::string body;
    body.reserve(static_cast<std::size_t>(*length));
    conn.stream.expires_after(options.response_timeout);
    const auto ec = co_await readBody(conn, *parser, [&body](std::string_view piece) {
      body.append(piece);
      return true;
    });
    if (ex.cancel != Cancel::kNone) co_return answerCancelled(ex);
    if (ec) {
      co_return answerError(
          ex,
          ec == beast::error::timeout
              ? core::Error{core::Errc::kTimeout,
                            fmt::format("upstream {} did not send its whole answer within {} ms",
                                        ex.key, options.response_timeout.count())}
              : core::Error{core::Errc::kBadGateway,
                            fmt::format("upstream {} failed while sending its answer: {}", ex.key,
                                        ec.message())});
    }
    release(ex, keep_alive);
    ex.writer->send(Response{status, std::move(headers), std::move(body)});
    co_return status;
  }

  // Chunked, an event stream, or until the target closes: relayed as it arrives, no deadline.
  ex.writer->startStream(status, std::move(headers));
  conn.stream.expires_never();
  bool client_gone = false;
  const auto ec = co_await readBody(conn, *parser, [&](std::string_view piece) {
    if (!ex.writer->write(std::string(piece))) {
      client_gone = true; // or it reads too slowly: its buffer is full
      return false;
    }
    return ex.cancel == Cancel::kNone;
  });
  if (client_gone || ex.cancel == Cancel::kClientGone) {
    release(ex, false);
    co_return kClientClosed;
  }
  if (ec && ex.cancel == Cancel::kNone) {
    log::emit(log::Level::kInfo, ex.request->request_id, "proxy: upstream stream broke off",
              {{"upstream", ex.key}, {"reason", ec.message()}});
  }
  release(ex, !ec && keep_alive);
  ex.writer->end();
  co_return status;
}

// ---------------------------------------------------------------------------------------------
// The proxy object
// ---------------------------------------------------------------------------------------------

HttpProxy::HttpProxy(EventLoop& loop, ProxyOptions options)
    : state_(std::make_shared<State>(loop.impl(), options)) {}

HttpProxy::~HttpProxy() {
  std::vector<ConnectionPtr> idle;
  std::vector<ExchangePtr> active;
  {
    std::lock_guard lock(state_->mutex);
    state_->shut = true;
    for (auto& [key, list] : state_->idle) {
      for (auto& conn : list)
        idle.push_back(std::move(conn));
    }
    state_->idle.clear();
    for (auto& [raw, weak] : state_->active) {
      if (auto ex = weak.lock()) active.push_back(std::move(ex));
    }
  }
  for (auto& conn : idle)
    closeOnStrand(std::move(conn));
  for (auto& exchange : active) {
    auto executor = exchange->executor;
    asio::post(executor, [live = std::move(exchange)] { live->abort(Cancel::kShutdown); });
  }
  std::unique_lock lock(state_->gate);
  state_->gate_closed = true;
}

void HttpProxy::forward(const RequestPtr& request, const ResponseWriterPtr& writer, Target target,
                        std::function<void(int status)> done) {
  auto ex = std::make_shared<Exchange>();
  ex->request = request;
  ex->writer = writer;
  ex->key = authority(target);
  ex->target = std::move(target);
  ex->done = std::move(done);
  ex->conn = state_->takeIdle(ex->key);
  ex->executor =
      ex->conn ? ex->conn->stream.get_executor() : Executor(asio::make_strand(state_->loop.pick()));
  {
    std::lock_guard lock(state_->mutex);
    state_->active.emplace(ex.get(), ex);
  }
  writer->onClose([weak = std::weak_ptr(ex)] {
    if (auto live = weak.lock()) {
      auto executor = live->executor;
      asio::post(executor, [live = std::move(live)] { live->abort(Cancel::kClientGone); });
    }
  });
  asio::co_spawn(ex->executor, State::run(state_, ex), onCoroutineEnd);
}

std::size_t HttpProxy::idleConnections() const {
  std::lock_guard lock(state_->mutex);
  std::size_t count = 0;
  for (const auto& [key, list] : state_->idle)
    count += list.size();
  return count;
}

} // namespace forge::net
