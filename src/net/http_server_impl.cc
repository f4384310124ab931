// The Beast/Asio implementation of HttpServer.
//
// DESIGN. One coroutine per connection, on the connection's own strand: the executor of one
// thread's io_context, which that thread alone runs, so it needs no Asio strand. It reads a request
// (idle wait, then header, then body, each under its own deadline), hands it to the handler
// together with a Writer, and then delivers whatever the handler queues on that Writer: one
// complete response, or a chunked stream. The handler may answer from any thread: Writer is a
// mutex-protected queue whose waiter sleeps on a timer that producers cancel through the strand.
// Because the check of the queue and the start of the wait happen in one turn of the strand, a
// wake-up can never be lost.
#include "net/http_server.h"

#include "core/assert.h"
#include "core/log.h"
#include "net/beast_parse_impl.h"
#include "net/beast_reader_impl.h"
#include "net/event_loop_impl.h"
#include "net/lazy_deadline_impl.h"
#include "net/listen_socket.h"
#include "net/plain_http.h"
#include "net/tls_stream_impl.h"
#include "net/write_now_impl.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <fcntl.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <random>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace forge::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Executor = asio::any_io_executor;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// ---------------------------------------------------------------------------------------------
// Writer: what a handler answers through.
// ---------------------------------------------------------------------------------------------

class Writer final : public ResponseWriter, public std::enable_shared_from_this<Writer> {
public:
  enum class Kind { kComplete, kStreamHead, kChunk, kStreamEnd };
  struct Item {
    Kind kind;
    Response response;
    std::string data;
  };

  Writer(Executor strand, std::size_t buffer_limit)
      : strand_(strand), home_(strand_.target<asio::io_context::executor_type>()), timer_(strand),
        buffer_limit_(buffer_limit) {}

  // ResponseWriter
  void send(Response response) override { push(Item{Kind::kComplete, std::move(response), {}}); }
  void startStream(int status, Headers headers) override {
    push(Item{Kind::kStreamHead, Response{status, std::move(headers), {}}, {}});
  }
  bool write(std::string data) override {
    {
      std::lock_guard lock(mutex_);
      if (closed_) return false;
      if (queued_bytes_ + data.size() > buffer_limit_) {
        overflowed_ = true;
      } else {
        queued_bytes_ += data.size();
        queue_.push_back(Item{Kind::kChunk, {}, std::move(data)});
      }
    }
    wake();
    return !overflowed();
  }
  void end() override { push(Item{Kind::kStreamEnd, {}, {}}); }
  bool closed() const override {
    std::lock_guard lock(mutex_);
    return closed_;
  }
  void onClose(std::function<void()> callback) override {
    {
      std::lock_guard lock(mutex_);
      if (!closed_) {
        close_callbacks_.push_back(std::move(callback));
        return;
      }
    }
    callback();
  }

  // Connection side (on the strand).
  // A vector, not a deque: a deque allocates even while empty, and a request makes a few.
  std::vector<Item> take() {
    std::lock_guard lock(mutex_);
    queued_bytes_ = 0;
    return std::exchange(queue_, {});
  }
  bool overflowed() const {
    std::lock_guard lock(mutex_);
    return overflowed_;
  }
  asio::steady_timer& timer() { return timer_; }

  void markClosed() {
    std::vector<std::function<void()>> callbacks;
    {
      std::lock_guard lock(mutex_);
      if (closed_) return;
      closed_ = true;
      queue_.clear();
      callbacks.swap(close_callbacks_);
    }
    for (auto& cb : callbacks)
      cb();
  }

  // Wakes the connection coroutine if it waits on this writer: at once from the connection's
  // own thread (an answer from an upstream connection of that thread), else through its strand.
  void wake() {
    if (home_ && home_->running_in_this_thread()) {
      timer_.cancel();
      return;
    }
    asio::post(strand_, [self = shared_from_this()] { self->timer_.cancel(); });
  }

private:
  void push(Item item) {
    {
      std::lock_guard lock(mutex_);
      if (closed_) return;
      queue_.push_back(std::move(item));
    }
    wake();
  }

  Executor strand_;
  const asio::io_context::executor_type* home_; // strand_'s, when it is a thread's io_context
  asio::steady_timer timer_;
  const std::size_t buffer_limit_;
  mutable std::mutex mutex_;
  std::vector<Item> queue_;
  std::size_t queued_bytes_ = 0;
  bool closed_ = false;
  bool overflowed_ = false;
  std::vector<std::function<void()>> close_callbacks_;
};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

bool isSaneRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

std::string newRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:016x}", rng());
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string decodePath(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '%' && i + 2 < raw.size() && hexDigit(raw[i + 1]) >= 0 &&
        hexDigit(raw[i + 2]) >= 0) {
      out += static_cast<char>(hexDigit(raw[i + 1]) * 16 + hexDigit(raw[i + 2]));
      i += 2;
    } else {
      out += raw[i];
    }
  }
  return out;
}

// The shortest of a connection's timeouts: how often its deadline's timer must look.
std::chrono::milliseconds shortestTimeout(const HttpServerOptions& o) {
  return std::min({o.header_timeout, o.body_timeout, o.idle_timeout, o.write_timeout});
}

bool isQuietDisconnect(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
         ec == asio::error::bad_descriptor || ec == beast::error::timeout ||
         ec == asio::error::broken_pipe || ec == http::error::partial_message;
}

// The head of a complete response as one string, so that head and body leave in one write:
// Beast's serializer gathers a message from many small buffers, which costs more than this copy.
// Server, Connection and Content-Length are the server's to say.
std::string responseHead(const Response& response, bool keep_alive) {
  const auto status = static_cast<http::status>(response.status);
  std::string head = fmt::format("HTTP/1.1 {} {}\r\n", response.status,
                                 std::string_view(http::obsolete_reason(status)));
  for (const auto& [name, value] : response.headers) {
    if (equalsIgnoreCase(name, "Server") || equalsIgnoreCase(name, "Connection") ||
        equalsIgnoreCase(name, "Content-Length")) {
      continue;
    }
    head.append(name).append(": ").append(value).append("\r\n");
  }
  head += "Server: forge\r\n";
  if (!keep_alive) head += "Connection: close\r\n";
  head += fmt::format("Content-Length: {}\r\n\r\n", response.body.size());
  return head;
}

struct ServerState;

// ---------------------------------------------------------------------------------------------
// RequestReader: Beast's HTTP/1.1 parser, filling a net::Request as it goes.
// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// Connection
// ---------------------------------------------------------------------------------------------

class Connection : public std::enable_shared_from_this<Connection> {
public:
  Connection(tcp::socket socket, std::shared_ptr<ServerState> state, TlsContextPtr tls);

  asio::awaitable<void> run(bool reject);
  // Closes the socket if the connection is between requests (graceful shutdown).
  void closeIfIdle();
  // Closes the socket and any open response stream (end of the drain time).
  void forceClose();

private:
  asio::awaitable<bool> waitForRequestStart(bool first);
  asio::awaitable<bool> handshake();
  asio::awaitable<void> replyToReadError(const boost::system::error_code& ec);
  asio::awaitable<bool> writeComplete(Response response, bool keep_alive, bool head_only);
  asio::awaitable<bool> deliver(Writer& writer, const Request& request, bool keep_alive);
  // The request whose first bytes are in the buffer, read by Beast (see readPlainRequest()),
  // or null when the connection ends (an error answered, or the client gone).
  asio::awaitable<RequestPtr> readWithBeast(bool& keep_alive);
  std::string_view bufferedText() const {
    return {static_cast<const char*>(buffer_.data().data()), buffer_.size()};
  }
  // Completes what a reader parsed: path, query, request id, remote address.
  void finishRequest(Request& request);
  void logAccess(const Request& request, int status, std::size_t bytes, Clock::time_point start);
  bool keepAlivePossible() const;
  void closeSocket();

  MaybeTlsStream stream_; // TLS when the server has a certificate
  LazyDeadline deadline_; // of the current phase: idle, handshake, reading, writing
  beast::flat_buffer buffer_;
  std::shared_ptr<ServerState> state_;
  std::string remote_;
  bool idle_ = true;                // strand only
  std::shared_ptr<Writer> current_; // strand only
};

// ---------------------------------------------------------------------------------------------
// ServerState: shared by the server object and every connection.
// ---------------------------------------------------------------------------------------------

struct ServerState : std::enable_shared_from_this<ServerState> {
  ServerState(EventLoop::Impl& event_loop, HttpServerOptions opts, Handler h)
      : loop(event_loop), io(loop.io), options(std::move(opts)), handler(std::move(h)),
        acceptor_strand(asio::make_strand(io)), acceptor(acceptor_strand),
        own_acceptor(acceptor_strand), drain_timer(io) {}

  EventLoop::Impl& loop;
  asio::io_context& io;
  const HttpServerOptions options;
  const Handler handler;
  asio::strand<asio::io_context::executor_type> acceptor_strand;
  tcp::acceptor acceptor;
  tcp::acceptor own_acceptor; // HttpServerOptions::own_listen_fd, when given
  asio::steady_timer drain_timer;

  std::atomic<bool> draining{false};
  std::mutex mutex;
  std::unordered_map<Connection*, std::weak_ptr<Connection>> connections;
  std::function<void()> on_drained;

  // TLS: the context new connections get (replaced whole on reload), and what triggers a reload.
  std::mutex tls_mutex;
  TlsContextPtr tls_context;
  std::filesystem::file_time_type cert_time, key_time;
  std::unique_ptr<asio::steady_timer> tls_watch;
  std::unique_ptr<asio::signal_set> hangup;

  TlsContextPtr tlsContext() {
    std::lock_guard lock(tls_mutex);
    return tls_context;
  }
  core::Status reloadTls();
  // The watch timer and the SIGHUP set live on the acceptor strand: armed, fired and cancelled
  // there only.
  void startTlsTriggers();
  void watchTlsFiles();
  void awaitHangup();
  void stopTlsTriggers();

  std::size_t count() {
    std::lock_guard lock(mutex);
    return connections.size();
  }

  void add(const std::shared_ptr<Connection>& c) {
    std::lock_guard lock(mutex);
    connections.emplace(c.get(), c);
  }

  void remove(Connection* c) {
    std::function<void()> done;
    {
      std::lock_guard lock(mutex);
      connections.erase(c);
      if (draining && connections.empty() && on_drained) done = std::exchange(on_drained, nullptr);
    }
    if (done) finishDrain(std::move(done));
  }

  template <class Fn>
  void forEachConnection(Fn fn) {
    std::vector<std::shared_ptr<Connection>> live;
    {
      std::lock_guard lock(mutex);
      for (auto& [ptr, weak] : connections) {
        if (auto c = weak.lock()) live.push_back(std::move(c));
      }
    }
    for (auto& c : live)
      fn(c);
  }

  void finishDrain(std::function<void()> done) {
    asio::post(io, [self = shared_from_this(), done = std::move(done)] {
      self->drain_timer.cancel();
      done();
    });
  }

  asio::awaitable<void> acceptLoop(tcp::acceptor& from);
  void closeAcceptors() {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    own_acceptor.close(ignored);
  }
};

Connection::Connection(tcp::socket socket, std::shared_ptr<ServerState> state, TlsContextPtr tls)
    : stream_(std::move(socket), std::move(tls)),
      deadline_(stream_.get_executor(), shortestTimeout(state->options), [this] { closeSocket(); }),
      state_(std::move(state)) {
  boost::system::error_code ec;
  const auto endpoint = stream_.socket().remote_endpoint(ec);
  if (!ec) remote_ = fmt::format("{}:{}", endpoint.address().to_string(), endpoint.port());
  stream_.socket().set_option(tcp::no_delay(true), ec);
  allowWriteNow(stream_.socket());
}

void Connection::closeSocket() {
  boost::system::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
}

void Connection::closeIfIdle() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    if (self->idle_) self->closeSocket();
  });
}

void Connection::forceClose() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    self->closeSocket();
    if (self->current_) {
      self->current_->markClosed();
      self->current_->timer().cancel();
    }
  });
}

bool Connection::keepAlivePossible() const { return !state_->draining.load(); }

// Waits, under the idle (or first-request header) deadline, for the first byte of a request.
asio::awaitable<bool> Connection::waitForRequestStart(bool first) {
  if (buffer_.size() > 0) co_return true;
  const auto& o = state_->options;
  deadline_.expiresAfter(first ? o.header_timeout : o.idle_timeout);
  auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(4096), kNoThrow);
  if (ec) co_return false;
  buffer_.commit(n);
  co_return true;
}

// The TLS handshake, under the header deadline (a client that connects and stays silent is
// dropped like a slow one).
asio::awaitable<bool> Connection::handshake() {
  deadline_.expiresAfter(state_->options.header_timeout);
  auto [handshake_ec] =
      co_await stream_.tls()->async_handshake(asio::ssl::stream_base::server, kNoThrow);
  const auto ec = deadline_.outcome(handshake_ec);
  if (ec && !isQuietDisconnect(ec))
    log::emit(log::Level::kDebug, {}, "TLS handshake failed",
              {{"remote", remote_}, {"reason", ec.message()}});
  co_return !ec;
}

asio::awaitable<void> Connection::replyToReadError(const boost::system::error_code& ec) {
  if (isQuietDisconnect(ec)) co_return;
  const auto& o = state_->options;
  core::Error error{core::Errc::kBadRequest,
                    fmt::format("malformed HTTP request: {}", ec.message())};
  if (ec == http::error::header_limit) {
    error = {core::Errc::kHeadersTooLarge,
             fmt::format("request header fields exceed the limit of {} bytes", o.max_header_bytes)};
  } else if (ec == http::error::body_limit) {
    error = {core::Errc::kPayloadTooLarge,
             fmt::format("request body exceeds the limit of {} bytes", o.max_body_bytes)};
  }
  log::emit(log::Level::kInfo, {}, "rejected request",
            {{"status", std::to_string(core::httpStatus(error.code))},
             {"reason", error.message},
             {"remote", remote_}});
  co_await writeComplete(Response::error(error), false, false);
}

asio::awaitable<bool> Connection::writeComplete(Response response, bool keep_alive,
                                                bool head_only) {
  const std::string head = responseHead(response, keep_alive);
  const std::array<asio::const_buffer, 2> message{
      asio::buffer(head), asio::buffer(head_only ? std::string_view() : response.body)};
  boost::system::error_code ec;
  const std::size_t written = stream_.secure() ? 0 : writeNow(stream_.socket(), message, ec);
  if (!ec && written < asio::buffer_size(message)) {
    beast::buffers_suffix<std::array<asio::const_buffer, 2>> rest(message);
    rest.consume(written);
    deadline_.expiresAfter(state_->options.write_timeout);
    std::tie(ec, std::ignore) = co_await asio::async_write(stream_, rest, kNoThrow);
    deadline_.expiresNever();
  }
  co_return !ec;
}

void Connection::finishRequest(Request& request) {
  const auto question = request.target.find('?');
  request.path = decodePath(std::string_view(request.target).substr(0, question));
  if (question != std::string::npos) request.query = request.target.substr(question + 1);
  const auto incoming_id = request.headers.get("X-Request-Id");
  request.request_id =
      incoming_id && isSaneRequestId(*incoming_id) ? std::string(*incoming_id) : newRequestId();
  request.remote_address = remote_;
}

asio::awaitable<RequestPtr> Connection::readWithBeast(bool& keep_alive) {
  const auto& o = state_->options;
  RequestReader parser;
  parser.header_limit(
      static_cast<std::uint32_t>(std::min<std::uint64_t>(o.max_header_bytes, UINT32_MAX)));
  parser.body_limit(o.max_body_bytes);
  // What has arrived is parsed here; the socket is read only for the rest.
  beast::error_code header_ec;
  if (!parseBuffered(parser, buffer_, header_ec) && !header_ec) {
    deadline_.expiresAfter(o.header_timeout);
    std::tie(header_ec, std::ignore) =
        co_await http::async_read_header(stream_, buffer_, parser, kNoThrow);
    header_ec = deadline_.outcome(header_ec);
  }
  if (header_ec) {
    co_await replyToReadError(header_ec);
    co_return nullptr;
  }
  if (parser.expectsContinue()) {
    http::response<http::empty_body> go_on{http::status::continue_, 11};
    deadline_.expiresAfter(o.write_timeout);
    auto [ec, n] = co_await http::async_write(stream_, go_on, kNoThrow);
    if (ec) co_return nullptr;
  }
  if (!parser.is_done()) {
    parser.eager(true);
    beast::error_code body_ec;
    if (!parseBuffered(parser, buffer_, body_ec) && !body_ec) {
      deadline_.expiresAfter(o.body_timeout);
      std::tie(body_ec, std::ignore) =
          co_await http::async_read(stream_, buffer_, parser, kNoThrow);
      body_ec = deadline_.outcome(body_ec);
    }
    if (body_ec) {
      co_await replyToReadError(body_ec);
      co_return nullptr;
    }
  }
  keep_alive = parser.keep_alive();
  co_return parser.takeRequest();
}

void Connection::logAccess(const Request& request, int status, std::size_t bytes,
                           Clock::time_point start) {
  if (!state_->options.access_log || !log::enabled(log::Level::kInfo)) return;
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
  log::emit(
      log::Level::kInfo, request.request_id, "request",
      {{"method", methodName(request.method)},
       {"path", request.path},
       {"status", std::to_string(status)},
       {"bytes", std::to_string(bytes)},
       {"duration_ms", fmt::format("{:.3f}", static_cast<double>(micros) / 1000.0)},
       {"remote", remote_},
       // Who it was (set by the access guard), so the security commands can follow a
       // user or an API token across addresses.
       {"user", request.principal ? request.principal->actor() : std::string()},
       {"token", request.principal && request.principal->api_token ? request.principal->token_id
                                                                   : std::string()}});
}

// Writes what the handler queues until the response is complete. Returns false when the
// connection must close (write error, client gone, stream overflow, force close).
asio::awaitable<bool> Connection::deliver(Writer& writer, const Request& request, bool keep_alive) {
  const auto start = Clock::now();
  const auto& o = state_->options;
  const bool head_only = request.method == Method::kHead;
  bool streaming = false;
  int stream_status = 0;
  std::size_t stream_bytes = 0;
  for (;;) {
    if (writer.closed() || writer.overflowed()) co_return false;
    auto items = writer.take();
    if (items.empty()) {
      if (streaming) {
        writer.timer().expires_at(asio::steady_timer::time_point::max());
      } else {
        writer.timer().expires_after(o.response_timeout);
      }
      auto [ec] = co_await writer.timer().async_wait(kNoThrow);
      if (!ec && !streaming) {
        // The handler did not answer in time: the client gets a clear error, not silence.
        // Configuration can cause this (an upstream deadline above server.response_timeout).
        log::emit(log::Level::kWarn, request.request_id, "no answer in time",
                  {{"path", request.path},
                   {"response_timeout_ms", std::to_string(o.response_timeout.count())}});
        auto response = Response::error(core::Errc::kTimeout, "the server did not answer in time");
        response.headers.set("X-Request-Id", request.request_id);
        co_await writeComplete(std::move(response), false, false);
        logAccess(request, 504, 0, start);
        co_return false;
      }
      continue;
    }
    for (auto& item : items) {
      switch (item.kind) {
      case Writer::Kind::kComplete: {
        const int status = item.response.status;
        const std::size_t bytes = item.response.body.size();
        item.response.headers.set("X-Request-Id", request.request_id);
        // A shutdown that began while the handler worked turns keep-alive off.
        const bool ok = co_await writeComplete(std::move(item.response),
                                               keep_alive && keepAlivePossible(), head_only);
        logAccess(request, status, bytes, start);
        co_return ok;
      }
      case Writer::Kind::kStreamHead: {
        http::response<http::empty_body> head{static_cast<http::status>(item.response.status), 11};
        for (const auto& [name, value] : item.response.headers)
          head.insert(name, value);
        head.set(http::field::server, "forge");
        head.set("X-Request-Id", request.request_id);
        head.keep_alive(keep_alive);
        head.chunked(true);
        http::response_serializer<http::empty_body> serializer{head};
        deadline_.expiresAfter(o.write_timeout);
        auto [ec, n] = co_await http::async_write_header(stream_, serializer, kNoThrow);
        deadline_.expiresNever();
        if (ec) co_return false;
        streaming = true;
        stream_status = item.response.status;
        break;
      }
      case Writer::Kind::kChunk: {
        if (!streaming || item.data.empty()) break;
        stream_bytes += item.data.size();
        deadline_.expiresAfter(o.write_timeout);
        auto [ec, n] = co_await asio::async_write(
            stream_, http::make_chunk(asio::buffer(item.data)), kNoThrow);
        deadline_.expiresNever();
        if (ec) co_return false;
        break;
      }
      case Writer::Kind::kStreamEnd: {
        if (!streaming) break;
        deadline_.expiresAfter(o.write_timeout);
        auto [ec, n] = co_await asio::async_write(stream_, http::make_chunk_last(), kNoThrow);
        deadline_.expiresNever();
        logAccess(request, stream_status, stream_bytes, start);
        co_return !ec;
      }
      }
    }
  }
}

asio::awaitable<void> Connection::run(bool reject) {
  auto self = shared_from_this();
  if (stream_.secure() && !co_await handshake()) {
    closeSocket();
    co_return;
  }
  if (reject) {
    co_await writeComplete(
        Response::error(core::Errc::kUnavailable, "too many connections; try again later"), false,
        false);
    closeSocket();
    co_return;
  }
  const auto& o = state_->options;
  for (bool first = true;; first = false) {
    // A new connection is owed its first answer even when a drain has begun: the client
    // connected while the server still accepted (or its connection waited in a listening socket
    // shared with other processes), so closing it unanswered would fail a request that no other
    // replica can take over. Only connections between requests count as idle.
    idle_ = !first;
    if ((state_->draining && !first) || !co_await waitForRequestStart(first)) break;
    idle_ = false;

    RequestPtr request;
    bool keep_alive = true;
    if (auto plain = readPlainRequest(bufferedText(), o.max_header_bytes, o.max_body_bytes)) {
      buffer_.consume(plain->size);
      request = std::move(plain->request);
      keep_alive = plain->keep_alive;
    } else {
      request = co_await readWithBeast(keep_alive);
      if (!request) break;
    }
    // The handler's time to answer is the writer's (response_timeout), not the connection's.
    deadline_.expiresNever();
    keep_alive = keep_alive && keepAlivePossible();
    finishRequest(*request);
    current_ = std::make_shared<Writer>(stream_.get_executor(), o.max_stream_buffer);
    state_->handler(request, current_);
    const bool delivered = co_await deliver(*current_, *request, keep_alive);
    current_->markClosed();
    current_.reset();
    if (!delivered || !keep_alive || !keepAlivePossible()) break;
  }
  closeSocket();
}

asio::awaitable<void> ServerState::acceptLoop(tcp::acceptor& from) {
  auto self = shared_from_this();
  for (;;) {
    // Each connection lives on one thread's context, in turn (event_loop_impl.h).
    auto [ec, socket] = co_await from.async_accept(loop.next(), kNoThrow);
    if (ec == asio::error::operation_aborted || !from.is_open()) co_return;
    if (ec) {
      // Out of file descriptors and the like: say so and back off instead of spinning.
      log::warn("accept failed: {}", ec.message());
      asio::steady_timer pause(acceptor_strand, std::chrono::milliseconds(50));
      co_await pause.async_wait(kNoThrow);
      continue;
    }
    const bool reject = count() >= options.max_connections;
    auto executor = socket.get_executor();
    auto connection = std::make_shared<Connection>(std::move(socket), self, tlsContext());
    add(connection);
    // The completion handler owns the connection until the coroutine is done: it starts later,
    // on the thread of its own context, after this loop has dropped `connection`.
    asio::co_spawn(executor, connection->run(reject), [self, connection](std::exception_ptr error) {
      if (error) FORGE_BUG("a connection coroutine ended with an exception");
      self->remove(connection.get());
    });
  }
}

// Loads the configured pair; on success new connections use it. The file times are taken before
// reading, so a change made while reading is seen by the next check.
core::Status ServerState::reloadTls() {
  std::error_code ec;
  const auto cert = std::filesystem::last_write_time(options.tls_cert_file, ec);
  const auto key = std::filesystem::last_write_time(options.tls_key_file, ec);
  auto context = makeServerTlsContext(options.tls_cert_file, options.tls_key_file);
  std::lock_guard lock(tls_mutex);
  cert_time = cert;
  key_time = key;
  if (!context) return context.error();
  tls_context = std::move(*context);
  return core::Ok{};
}

void ServerState::startTlsTriggers() {
  tls_watch = std::make_unique<asio::steady_timer>(acceptor_strand);
  hangup = std::make_unique<asio::signal_set>(acceptor_strand, SIGHUP);
  asio::post(acceptor_strand, [self = shared_from_this()] {
    self->watchTlsFiles();
    self->awaitHangup();
  });
}

void ServerState::stopTlsTriggers() {
  asio::post(acceptor_strand, [self = shared_from_this()] {
    boost::system::error_code ignored;
    if (self->tls_watch) self->tls_watch->cancel();
    if (self->hangup) self->hangup->cancel(ignored);
  });
}

void ServerState::watchTlsFiles() {
  if (options.tls_watch_interval.count() <= 0) return;
  tls_watch->expires_after(options.tls_watch_interval);
  tls_watch->async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->draining) return;
    std::error_code ignored;
    const auto cert = std::filesystem::last_write_time(self->options.tls_cert_file, ignored);
    const auto key = std::filesystem::last_write_time(self->options.tls_key_file, ignored);
    bool changed = false;
    {
      std::lock_guard lock(self->tls_mutex);
      changed = cert != self->cert_time || key != self->key_time;
    }
    if (changed) {
      if (auto status = self->reloadTls(); !status) {
        log::error("TLS certificate changed but not loaded, keeping the previous one: {}",
                   status.error().message);
      } else {
        log::info("TLS certificate {} reloaded (files changed)", self->options.tls_cert_file);
      }
    }
    self->watchTlsFiles();
  });
}

void ServerState::awaitHangup() {
  hangup->async_wait([self = shared_from_this()](const boost::system::error_code& ec, int) {
    if (ec) return;
    if (auto status = self->reloadTls(); !status) {
      log::error("SIGHUP: TLS certificate not reloaded, keeping the previous one: {}",
                 status.error().message);
    } else {
      log::info("SIGHUP: TLS certificate {} reloaded", self->options.tls_cert_file);
    }
    self->awaitHangup();
  });
}

// ---------------------------------------------------------------------------------------------
// The server object
// ---------------------------------------------------------------------------------------------

class HttpServerImpl final : public HttpServer {
public:
  HttpServerImpl(EventLoop& loop, HttpServerOptions options, Handler handler)
      : state_(std::make_shared<ServerState>(loop.impl(), std::move(options), std::move(handler))) {
  }

  ~HttpServerImpl() override {
    state_->closeAcceptors();
    state_->stopTlsTriggers();
  }

  // HttpServer
  core::Status listen() override {
    const auto& o = state_->options;
    if (auto status = startTls(); !status) return status;
    int fd = o.listen_fd;
    if (fd < 0) {
      auto opened = openListener({.host = o.host, .port = o.port, .reuse_port = o.reuse_port});
      if (!opened) return opened.error();
      fd = *opened;
    }
    if (auto status = adoptListener(state_->acceptor, fd); !status) {
      if (fd != o.listen_fd) ::close(fd);
      return status;
    }
    if (o.own_listen_fd >= 0) {
      if (auto status = adoptListener(state_->own_acceptor, o.own_listen_fd); !status)
        return status;
    }
    port_ = state_->acceptor.local_endpoint().port();
    for (tcp::acceptor* from : {&state_->acceptor, &state_->own_acceptor}) {
      if (!from->is_open()) continue;
      asio::co_spawn(state_->acceptor_strand, state_->acceptLoop(*from),
                     [](std::exception_ptr error) {
                       if (error) FORGE_BUG("the accept loop ended with an exception");
                     });
    }
    return core::Ok{};
  }

  // Serves a listening socket inherited from the parent. It must not leak further: stdio
  // upstreams started by this process would otherwise hold it open.
  core::Status adoptListener(tcp::acceptor& acceptor, int fd) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    int listening = 0;
    socklen_t flag_length = sizeof listening;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
        ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &flag_length) != 0 || !listening ||
        (address.ss_family != AF_INET && address.ss_family != AF_INET6)) {
      return core::Error{core::Errc::kInvalidParams,
                         fmt::format("descriptor {} is not a listening TCP socket", fd)};
    }
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    boost::system::error_code ec;
    acceptor.assign(address.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
    if (ec) {
      return core::Error{core::Errc::kUnavailable,
                         fmt::format("cannot serve descriptor {}: {}", fd, ec.message())};
    }
    return core::Ok{};
  }

  std::uint16_t port() const override { return port_; }

  void shutdown(std::chrono::milliseconds drain_timeout,
                std::function<void()> on_drained) override {
    auto state = state_;
    if (state->draining.exchange(true)) return;
    state->stopTlsTriggers();
    asio::post(state->acceptor_strand, [state] { state->closeAcceptors(); });
    bool already_empty = false;
    {
      std::lock_guard lock(state->mutex);
      already_empty = state->connections.empty();
      if (!already_empty) state->on_drained = std::move(on_drained);
    }
    if (already_empty) {
      state->finishDrain(std::move(on_drained));
      return;
    }
    state->forEachConnection([](const std::shared_ptr<Connection>& c) { c->closeIfIdle(); });
    state->drain_timer.expires_after(drain_timeout);
    state->drain_timer.async_wait([state](const boost::system::error_code& ec) {
      if (ec) return;
      log::warn("drain time over: closing {} connection(s) still open", state->count());
      state->forEachConnection([](const std::shared_ptr<Connection>& c) { c->forceClose(); });
    });
  }

  bool draining() const override { return state_->draining.load(); }

  core::Status reloadTls() override {
    if (!tls_)
      return core::Error{core::Errc::kInvalidParams,
                         "this server does not serve TLS (set server.tls_cert and server.tls_key)"};
    auto status = state_->reloadTls();
    if (status) log::info("TLS certificate {} reloaded", state_->options.tls_cert_file);
    return status;
  }

  // Loads the certificate (when configured) and starts watching for SIGHUP and changed files.
  core::Status startTls() {
    const auto& o = state_->options;
    if (o.tls_cert_file.empty() && o.tls_key_file.empty()) return core::Ok{};
    if (o.tls_cert_file.empty() || o.tls_key_file.empty())
      return core::Error{core::Errc::kInvalidParams,
                         "TLS needs both a certificate and a key (server.tls_cert, "
                         "server.tls_key)"};
    if (auto status = state_->reloadTls(); !status) return status;
    tls_ = true;
    state_->startTlsTriggers();
    return core::Ok{};
  }

  std::size_t connections() const override { return state_->count(); }

private:
  std::shared_ptr<ServerState> state_;
  std::uint16_t port_ = 0;
};

} // namespace

std::unique_ptr<HttpServer> makeHttpServer(EventLoop& loop, HttpServerOptions options,
                                           Handler handler) {
  return std::make_unique<HttpServerImpl>(loop, std::move(options), std::move(handler));
}

} // namespace forge::net
