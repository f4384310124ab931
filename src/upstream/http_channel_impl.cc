// The client side of MCP's HTTP transports as upstream Channels: Streamable HTTP (2025-11-25)
// and the legacy HTTP+SSE transport (2024-11-05). Beast and Asio stay in this file.
//
// DESIGN. A Channel is a thin handle on a shared Peer, and every coroutine holds the Peer alive.
// Outgoing messages go through one queue, and each becomes one POST run by its own coroutine on
// the strand of the connection it uses: an idle keep-alive connection from the pool, or a new
// one. POSTs therefore run side by side; a slow tool call never holds back a fast one. A POST
// answered with an event stream is parsed as the bytes arrive, so progress notifications and
// server-to-client requests reach the caller at once; the events of one stream are delivered in
// order because the one coroutine that reads them delivers them.
//
// Two moments order the queue (Streamable HTTP): nothing more is sent while `initialize` waits
// for its answer (what follows needs the session id it brings), nor while
// `notifications/initialized` is in flight (some servers refuse requests that overtake it).
// Once both are done, the standalone GET stream opens; it is reopened with capped back-off.
//
// Every request gets an answer: an HTTP error, a network error, a timeout or a stream that ends
// early becomes one synthetic JSON-RPC error (-32000) carrying the request's id. A 404 on a
// request that carried a session id means the session is gone: on_closed("session expired").
//
// OAuth (HttpSpec::tokens): each request (POST, GET stream, DELETE) first gets an access token
// and carries it as "Authorization: Bearer"; a token request that fails answers the request with
// its error. A 401 answer means the upstream refused the token (revoked, expired early): the
// request gets one new token and is sent once more; a second 401 is the answer.
//
// Callbacks pass through a gate. close() shuts it and waits for callbacks already running on
// other threads, so none runs once close() has returned; on_closed shuts it too, so on_closed is
// always the last callback. A callback may call close() itself (the gate knows its own thread),
// but close() must not be called while holding a lock that the callbacks take.
#include "upstream/channel.h"

#include "core/assert.h"
#include "core/log.h"
#include "net/beast_parse_impl.h"
#include "net/event_loop_impl.h"
#include "net/http.h"
#include "net/lazy_deadline_impl.h"
#include "net/plain_http.h"
#include "net/url.h"
#include "net/write_now_impl.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <tuple>
#include <unordered_set>

namespace forge::upstream {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = mcp::json;
using tcp = asio::ip::tcp;
using Executor = asio::any_io_executor;
using ErrorCode = boost::system::error_code;
using Clock = std::chrono::steady_clock;
using net::hasSpaceOrControl;
using net::isHeaderSafe;
using net::startsWithIgnoreCase;
using Url = net::HttpUrl;
using Token = AccessTokens::Token;

core::Result<Url> parseUrl(std::string_view text) {
  return net::parsePlainHttpUrl(text, "upstream URL");
}
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

constexpr std::size_t kMaxBodyBytes = 16 * 1024 * 1024; // a JSON body, or one event of a stream
constexpr std::size_t kMaxErrorBodyBytes = 64 * 1024;   // read for the message of an HTTP error
constexpr std::uint32_t kMaxHeaderBytes = 64 * 1024;
constexpr std::size_t kMaxIdleConnections = 64;   // all threads together
constexpr std::size_t kMaxRequestsInFlight = 256; // further requests wait in the queue
constexpr std::size_t kMaxQueued = 10'000;
constexpr std::chrono::seconds kWriteTimeout{30};
constexpr std::chrono::minutes kAnswerTimeout{10};     // head and body of an answer, not a stream
constexpr std::chrono::seconds kStreamHeadTimeout{30}; // the response head of a GET stream
constexpr std::chrono::seconds kDeleteTimeout{2};      // each step of the DELETE sent by close()
constexpr std::chrono::milliseconds kFirstBackoff{500};
constexpr std::chrono::milliseconds kMaxBackoff{30'000};
constexpr std::chrono::seconds kStableStream{10}; // a GET stream open this long resets back-off
// Waiting for an access token: the token request has its own deadlines; this one only makes
// sure a coroutine never waits forever.
constexpr std::chrono::seconds kTokenWaitLimit{60};
constexpr int kUpstreamErrorCode = -32000;
constexpr std::string_view kSessionHeader = "Mcp-Session-Id";
constexpr std::string_view kVersionHeader = "MCP-Protocol-Version";

// ---------------------------------------------------------------------------------------------
// Helpers: text, URLs
// ---------------------------------------------------------------------------------------------

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// The media type of a Content-Type value, lower-cased, without parameters.
std::string mediaType(std::string_view value) {
  value = value.substr(0, value.find(';'));
  while (!value.empty() && value.front() == ' ')
    value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ')
    value.remove_suffix(1);
  std::string out(value);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

// Resolves the `endpoint` event of a legacy server (a path, or an absolute URL) against the URL
// of its event stream.
core::Result<Url> resolveReference(const Url& base, std::string_view reference) {
  while (!reference.empty() && reference.front() == ' ')
    reference.remove_prefix(1);
  while (!reference.empty() && reference.back() == ' ')
    reference.remove_suffix(1);
  if (reference.empty()) return core::Error{core::Errc::kBadGateway, "empty endpoint"};
  if (startsWithIgnoreCase(reference, "http://") || startsWithIgnoreCase(reference, "https://")) {
    return parseUrl(reference);
  }
  if (reference.starts_with("//")) return parseUrl("http:" + std::string(reference));
  reference = reference.substr(0, reference.find('#'));
  Url url = base;
  const std::string path = base.target.substr(0, base.target.find('?'));
  if (reference.front() == '/') {
    url.target = std::string(reference);
  } else if (reference.front() == '?') {
    url.target = path + std::string(reference);
  } else {
    url.target = path.substr(0, path.rfind('/') + 1) + std::string(reference);
  }
  if (hasSpaceOrControl(url.target)) {
    return core::Error{core::Errc::kBadGateway, "spaces or control characters in the endpoint"};
  }
  return url;
}

// ---------------------------------------------------------------------------------------------
// SseParser: Server-Sent Events, fed as the bytes arrive.
// ---------------------------------------------------------------------------------------------

struct SseEvent {
  std::string type; // "" when the event named none
  std::string data; // data lines joined with '\n'
};

// An event carries one JSON-RPC message when it is unnamed or named "message" and has data
// (priming events have an id and empty data).
bool isMessageEvent(const SseEvent& event) {
  return (event.type.empty() || event.type == "message") && !event.data.empty();
}

class SseParser {
public:
  explicit SseParser(std::size_t limit) : limit_(limit) {}

  // Feeds the next bytes of a stream and appends the events they complete to `events`. Lines end
  // with "\n", "\r\n" or "\r", also when split between two calls. Returns false when a line or
  // an event grows over the limit: the stream must then be dropped.
  bool feed(std::string_view bytes, std::vector<SseEvent>& events) {
    if (!started_ && !bytes.empty()) {
      started_ = true;
      if (bytes.starts_with("\xEF\xBB\xBF")) bytes.remove_prefix(3);
    }
    std::size_t pos = 0;
    if (skip_lf_ && !bytes.empty()) {
      skip_lf_ = false;
      if (bytes.front() == '\n') pos = 1;
    }
    while (pos < bytes.size()) {
      const auto end = bytes.find_first_of("\r\n", pos);
      if (end == std::string_view::npos) {
        line_.append(bytes.substr(pos));
        return line_.size() <= limit_;
      }
      line_.append(bytes.substr(pos, end - pos));
      pos = end + 1;
      if (bytes[end] == '\r') {
        if (pos == bytes.size()) {
          skip_lf_ = true;
        } else if (bytes[pos] == '\n') {
          ++pos;
        }
      }
      if (line_.size() > limit_) return false;
      processLine(events);
      line_.clear();
      if (data_.size() > limit_) return false;
    }
    return true;
  }

  // The last `id:` seen (for Last-Event-ID when a stream is reopened).
  const std::string& lastEventId() const { return last_id_; }

private:
  void processLine(std::vector<SseEvent>& events) {
    const std::string_view line = line_;
    if (line.empty()) {
      dispatch(events);
      return;
    }
    if (line.front() == ':') return; // a comment: keep-alive
    const auto colon = line.find(':');
    const std::string_view field = line.substr(0, colon);
    std::string_view value =
        colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (field == "event") {
      type_ = std::string(value);
    } else if (field == "data") {
      data_.append(value);
      data_.push_back('\n');
      has_data_ = true;
    } else if (field == "id") {
      if (value.find('\0') == std::string_view::npos) last_id_ = std::string(value);
    }
    // "retry" and unknown fields are ignored.
  }

  void dispatch(std::vector<SseEvent>& events) {
    if (has_data_) {
      data_.pop_back(); // the newline after the last data line
      events.push_back(SseEvent{std::move(type_), std::move(data_)});
    }
    type_.clear();
    data_.clear();
    has_data_ = false;
  }

  const std::size_t limit_;
  std::string line_;
  std::string type_;
  std::string data_;
  std::string last_id_;
  bool has_data_ = false;
  bool skip_lf_ = false;
  bool started_ = false;
};

// ---------------------------------------------------------------------------------------------
// CallbackGate: no callback after close().
// ---------------------------------------------------------------------------------------------

class CallbackGate {
public:
  // Runs `fn` unless the gate is shut.
  template <class Fn>
  void run(Fn&& fn) {
    if (!enter(false)) return;
    Leave leave{*this};
    fn();
  }

  // Shuts the gate, waits for callbacks running on other threads, then runs `fn`: nothing runs
  // after it. Does nothing if the gate is already shut, or if close() shuts it meanwhile.
  template <class Fn>
  void runLast(Fn&& fn) {
    if (!enter(true)) return;
    Leave leave{*this};
    fn();
  }

  // close(): shuts the gate and waits for callbacks running on other threads to return. A
  // runLast() still waiting for its turn gives up.
  void shut() {
    std::unique_lock lock(mutex_);
    shut_ = closed_ = true;
    idle_.notify_all();
    idle_.wait(lock, [&] { return othersDone(); });
  }

private:
  struct Leave {
    CallbackGate& gate;
    ~Leave() { gate.leave(); }
  };

  bool enter(bool last) {
    std::unique_lock lock(mutex_);
    if (shut_) return false;
    if (last) {
      shut_ = true;
      idle_.wait(lock, [&] { return closed_ || othersDone(); });
      if (closed_) return false;
    }
    running_.push_back(std::this_thread::get_id());
    return true;
  }

  void leave() {
    {
      std::lock_guard lock(mutex_);
      running_.erase(std::find(running_.begin(), running_.end(), std::this_thread::get_id()));
    }
    idle_.notify_all();
  }

  // No callback runs on another thread. The calling thread's own do not count: close() from
  // inside a callback works.
  bool othersDone() const {
    const auto me = std::this_thread::get_id();
    return std::all_of(running_.begin(), running_.end(), [me](auto id) { return id == me; });
  }

  std::mutex mutex_;
  std::condition_variable idle_;
  bool shut_ = false;   // no new callback starts
  bool closed_ = false; // close() was called
  std::vector<std::thread::id> running_;
};

// ---------------------------------------------------------------------------------------------
// Connection and Outgoing
// ---------------------------------------------------------------------------------------------

// Room for one read from an upstream connection: most answers whole.
constexpr std::size_t kReadRoom = 16 * 1024;

// One keep-alive TCP connection; used only on its strand (the stream's executor).
struct Connection {
  explicit Connection(const Executor& executor)
      : stream(executor), deadline(executor, kDeleteTimeout, [this] { close(); }),
        home(&asio::query(executor, asio::execution::context)) {
    // Beast reads as much as the buffer has room for, and at least 512 bytes: without room
    // reserved, a 1 KiB answer takes three reads instead of one.
    buffer.reserve(kReadRoom);
  }

  // Closes the socket, which ends any operation on it.
  void close() {
    ErrorCode ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
  }

  beast::tcp_stream stream;   // its own timeouts unused: see `deadline`
  net::LazyDeadline deadline; // of the current step; checked every kDeleteTimeout at most
  beast::flat_buffer buffer;
  asio::execution_context* home;     // the I/O thread's context it runs on
  std::array<char, 16 * 1024> chunk; // where readBody() takes the body in
};
using ConnectionPtr = std::shared_ptr<Connection>;

// One message on its way out, and what its POST has achieved.
struct Outgoing {
  std::string body;
  std::optional<json::value> id; // requests: the id the answer carries
  bool initialize = false;       // the `initialize` request
  bool initialized = false;      // the `notifications/initialized` notification
  std::string target;            // set when dispatched
  bool holds_barrier = false;    // later messages wait for this one
  bool carried_session = false;  // a 404 then means the session is gone
  bool ok = false;               // the POST got a 2xx
  bool answered = false;         // the response (or an error in its place) was delivered
  bool forward_only = false;     // its result may be delivered unparsed (Message::raw_result)
};

// The head of a POST, written out with its body as the bytes that go on the wire, in one string.
// Every call makes one, so it is not a Beast message: that allocates each field and keeps them
// in a tree, and its serializer writes a long sequence of small buffers. The fields are
// net::Headers, whose set() has Beast's rule (a field set again replaces the earlier one, names
// compared without case), so the configured headers act as on the other requests.
class PostHead {
public:
  void set(std::string_view name, std::string value) {
    fields_.set(std::string(name), std::move(value));
  }
  void set(http::field name, std::string value) { set(http::to_string(name), std::move(value)); }
  // Removes the field `name` and returns its value.
  std::optional<std::string> take(std::string_view name) {
    auto value = fields_.get(name);
    if (!value) return std::nullopt;
    std::string taken(*value);
    fields_.remove(name);
    return taken;
  }
  // "Name: value\r\n" for each field.
  std::string lines() const {
    std::string out;
    for (const auto& [name, value] : fields_)
      appendField(out, name, value);
    return out;
  }
  static void appendField(std::string& out, std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
  }

private:
  net::Headers fields_;
};

// The fields of every POST, worked out once per channel: those that never change between
// requests as lines ready to send, and a configured Authorization (an access token wins).
struct PostFields {
  std::string fixed;
  std::optional<std::string> authorization;
};

enum class Flavor { kStreamable, kLegacy };
enum class GetOutcome { kRetry, kStreamed, kStop };

// The parser of an upstream's HTTP answer. It keeps only what the channel reads (the status,
// Content-Type and Mcp-Session-Id), where Beast's response_parser files every field in a
// basic_fields that allocates; and like Beast's buffer_body, it puts the body into the caller's
// buffer: set `body` before each put(), and what is left of it says how much arrived (a full
// buffer stops the parser with http::error::need_buffer).
class Parser final : public http::basic_parser<false> {
public:
  struct Room {
    char* data = nullptr;
    std::size_t size = 0;
  };
  Room body;

  int status() const { return status_; }
  const std::string& contentType() const { return content_type_; }
  const std::string& sessionId() const { return session_id_; }

private:
  void on_request_impl(http::verb, beast::string_view, beast::string_view, int,
                       ErrorCode& ec) override {
    ec = http::error::bad_method; // an answer's parser is never given a request line
  }
  void on_response_impl(int code, beast::string_view, int, ErrorCode&) override { status_ = code; }
  void on_field_impl(http::field name, beast::string_view name_string, beast::string_view value,
                     ErrorCode&) override {
    // The first of each counts, even empty, as with Beast's fields.
    if (name == http::field::content_type) {
      if (!typed_) content_type_.assign(value.data(), value.size());
      typed_ = true;
    } else if (beast::iequals(name_string, kSessionHeader)) {
      if (!sessioned_) session_id_.assign(value.data(), value.size());
      sessioned_ = true;
    }
  }
  void on_header_impl(ErrorCode&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, ErrorCode&) override {}
  std::size_t on_body_impl(beast::string_view piece, ErrorCode& ec) override {
    const std::size_t taken = std::min(piece.size(), body.size);
    if (taken > 0) std::memcpy(body.data, piece.data(), taken);
    body.data += taken;
    body.size -= taken;
    if (taken < piece.size()) ec = http::error::need_buffer;
    return taken;
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, ErrorCode&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view piece, ErrorCode& ec) override {
    return on_body_impl(piece, ec);
  }
  void on_finish_impl(ErrorCode&) override {}

  int status_ = 0;
  std::string content_type_;
  std::string session_id_;
  bool typed_ = false;     // a Content-Type came
  bool sessioned_ = false; // an Mcp-Session-Id came
};

// Reads the head of an answer into `parser`: what the buffer holds is parsed first, and the
// socket is read directly for the rest (Beast's composed read finishes through the event loop
// even when one read brought the whole answer). The parser's header limit bounds the buffer.
// With `plain`, an answer that readPlainAnswer() reads whole is read so instead, into `plain`,
// and left in the buffer; Beast's parser then has read nothing.
asio::awaitable<ErrorCode> readHead(Connection& conn, Parser& parser,
                                    std::optional<net::PlainAnswer>* plain = nullptr) {
  bool try_plain = plain != nullptr;
  for (;;) {
    ErrorCode ec;
    if (try_plain) {
      net::PlainAnswer answer;
      const std::string_view text(static_cast<const char*>(conn.buffer.data().data()),
                                  conn.buffer.size());
      const auto outcome = net::readPlainAnswer(text, kMaxHeaderBytes, kMaxBodyBytes, answer);
      if (outcome == net::PlainAnswer::kPlain) {
        plain->emplace(answer);
        co_return ErrorCode{};
      }
      try_plain = outcome == net::PlainAnswer::kIncomplete;
    }
    if (!try_plain) {
      if (net::parseBuffered(parser, conn.buffer, ec)) co_return ErrorCode{};
      if (ec) co_return ec;
    }
    const std::size_t room =
        std::max<std::size_t>(512, conn.buffer.capacity() - conn.buffer.size());
    auto [read_ec, read] =
        co_await conn.stream.async_read_some(conn.buffer.prepare(room), kNoThrow);
    if (read_ec == asio::error::eof && try_plain) {
      try_plain = false; // Beast says what an answer cut short is
      continue;
    }
    if (read_ec == asio::error::eof) {
      if (!parser.got_some()) co_return ErrorCode(http::error::end_of_stream);
      parser.put_eof(ec);
      co_return ec ? ec : ErrorCode(http::error::partial_message);
    }
    if (read_ec) co_return conn.deadline.outcome(read_ec);
    conn.buffer.commit(read);
  }
}

void onCoroutineEnd(std::exception_ptr error) {
  if (error) FORGE_BUG("an upstream HTTP coroutine ended with an exception");
}

// ---------------------------------------------------------------------------------------------
// Peer: the shared state of one HTTP channel.
// ---------------------------------------------------------------------------------------------

class Peer : public std::enable_shared_from_this<Peer> {
public:
  Peer(net::EventLoop& loop, HttpSpec spec, Flavor flavor)
      : loop_(loop.impl()), io_(loop_.io), spec_(std::move(spec)), flavor_(flavor),
        name_(spec_.name.empty() ? spec_.url : spec_.name) {
    auto url = parseUrl(spec_.url);
    if (url) {
      url_ = std::move(*url);
      post_fields_ = postFields();
    } else {
      url_error_ = url.error().message;
    }
  }

  void open(ChannelCallbacks callbacks);
  void send(const mcp::Message& message);
  void setProtocolVersion(std::string version) {
    std::lock_guard lock(mutex_);
    protocol_version_ = std::move(version);
  }
  void close();

private:
  // A POST ready to start, on `executor`.
  struct Launch {
    Executor executor;
    ConnectionPtr conn;
    Outgoing out;
  };

  // The queue and the pool.
  void dispatchLocked(std::vector<Launch>* here_now = nullptr);
  void launch(Launch start);
  bool track(const ConnectionPtr& conn);
  void discard(const ConnectionPtr& conn);
  void release(const ConnectionPtr& conn, bool reusable, const Outgoing& out);

  // One POST.
  asio::awaitable<void> runPost(std::shared_ptr<Peer> keep_alive, ConnectionPtr conn, Outgoing out);
  asio::awaitable<bool> sendPost(ConnectionPtr& conn, Outgoing& out, const Token* token,
                                 std::optional<Parser>& parser,
                                 std::optional<net::PlainAnswer>& plain);
  bool takePlainAnswer(ConnectionPtr& conn, const net::PlainAnswer& answer, Outgoing& out);
  bool deliverJson(ConnectionPtr& conn, std::string_view body, bool reusable, Outgoing& out);
  asio::awaitable<bool> handleAnswer(ConnectionPtr& conn_ptr, Parser& parser, Outgoing& out);
  void park(ConnectionPtr& conn);
  // The POST of `out`, head and body, as it goes on the wire.
  PostFields postFields() const;
  std::string postWire(Outgoing& out, const Token* token);

  // OAuth.
  asio::awaitable<core::Result<Token>> accessToken();
  asio::awaitable<bool> skipBody(Connection& conn, Parser& parser);

  // Long-lived streams.
  asio::awaitable<void> getStream(std::shared_ptr<Peer> keep_alive);
  asio::awaitable<GetOutcome> getOnce(Connection& conn, std::string& last_event_id);
  http::request<http::empty_body> eventStreamRequest(const Token* token);
  asio::awaitable<boost::system::error_code>
  sendForStream(Connection& conn, const http::request<http::empty_body>& request, Parser& parser);
  asio::awaitable<void> eventStream(std::shared_ptr<Peer> keep_alive);
  asio::awaitable<std::string> readEventStream(Connection& conn);
  bool acceptEndpoint(std::string_view data, std::string& failure);
  asio::awaitable<void> deleteSession(std::shared_ptr<Peer> keep_alive, std::string session);

  // HTTP steps.
  template <class Request>
  void addCommonHeaders(Request& request, const Token* token) const;
  asio::awaitable<ErrorCode> connect(Connection& conn, std::chrono::milliseconds timeout);
  asio::awaitable<ErrorCode> readBody(Connection& conn, Parser& parser,
                                      const std::function<bool(std::string_view)>& consume);
  std::string connectError(const ErrorCode& ec) const;
  std::string networkError(const ErrorCode& ec) const;

  // Delivery.
  void deliver(mcp::Message message, std::optional<json::value> related);
  void deliverText(std::string_view text, Outgoing* out);
  void noteAnswer(Outgoing& out, const mcp::Message& answer);
  void failRequest(Outgoing& out, const std::string& reason);
  void rememberSession(std::string_view session);
  void expire(const std::string& reason);
  void shutdown(bool send_delete);

  ConnectionPtr takeIdleLocked(const asio::io_context& here);

  net::EventLoop::Impl& loop_;
  asio::io_context& io_;
  const HttpSpec spec_;
  const Flavor flavor_;
  const std::string name_; // for log lines
  std::optional<Url> url_;
  std::string url_error_;
  PostFields post_fields_;     // set with url_
  ChannelCallbacks callbacks_; // written once by open(), before anything that reads it starts
  CallbackGate gate_;
  std::atomic<bool> shut_{false}; // written under mutex_

  std::mutex mutex_;
  bool opened_ = false;
  std::deque<Outgoing> queue_;
  bool barrier_ = false;
  std::size_t requests_in_flight_ = 0;
  std::vector<ConnectionPtr> idle_;
  // Every connection held open, idle or in use: closed by shutdown(). A connection enters when it
  // is made and leaves when it closes, not at each call.
  std::unordered_set<ConnectionPtr> open_;
  std::shared_ptr<asio::steady_timer> backoff_timer_;
  std::string session_id_;
  std::string protocol_version_;
  bool initialize_ok_ = false;
  bool get_started_ = false;
  bool expired_ = false;
  std::optional<Url> endpoint_; // legacy: where to POST
};

void Peer::open(ChannelCallbacks callbacks) {
  {
    std::lock_guard lock(mutex_);
    if (opened_ || shut_) return;
    callbacks_ = std::move(callbacks);
    opened_ = true;
  }
  auto self = shared_from_this();
  if (!url_) {
    asio::post(io_, [self] { self->expire(self->url_error_); });
    return;
  }
  if (flavor_ == Flavor::kLegacy) {
    asio::co_spawn(asio::make_strand(io_), eventStream(self), onCoroutineEnd);
    return;
  }
  std::lock_guard lock(mutex_);
  dispatchLocked();
}

void Peer::send(const mcp::Message& message) {
  Outgoing out;
  out.body = mcp::serialize(message);
  if (message.isRequest()) {
    out.id = message.id;
    out.initialize = message.method == "initialize";
    out.forward_only = message.forward_only;
  }
  out.initialized = message.isNotification() && message.method == "notifications/initialized";
  std::vector<Launch> here_now;
  {
    std::lock_guard lock(mutex_);
    if (shut_) return;
    if (queue_.size() >= kMaxQueued) {
      log::warn("upstream {}: {} messages wait to be sent; dropping one", name_, queue_.size());
      if (out.id) {
        asio::post(io_, [self = shared_from_this(), id = *out.id] {
          self->deliver(
              mcp::makeError(id, kUpstreamErrorCode, "too many messages queued for upstream"), id);
        });
      }
      return;
    }
    queue_.push_back(std::move(out));
    dispatchLocked(&here_now);
  }
  for (auto& start : here_now)
    launch(std::move(start));
}

void Peer::close() {
  gate_.shut();
  shutdown(true);
}

// Starts a POST for every queued message that may go now: not before open(), not past a
// barrier, not over the in-flight cap (requests only: notifications and responses, such as the
// answer to a sampling request a pending call waits for, never wait for it). A POST cannot start
// under mutex_, so it is posted to its thread; or, when that is the calling thread and the caller
// passes `here_now`, left there for the caller to launch() once it has let go of mutex_, which
// saves a turn through the event loop.
void Peer::dispatchLocked(std::vector<Launch>* here_now) {
  if (!opened_ || shut_ || !url_) return;
  if (flavor_ == Flavor::kLegacy && !endpoint_) return;
  for (auto it = queue_.begin(); it != queue_.end() && !barrier_;) {
    if (it->id && requests_in_flight_ >= kMaxRequestsInFlight) {
      ++it;
      continue;
    }
    Outgoing out = std::move(*it);
    it = queue_.erase(it);
    if (out.id) ++requests_in_flight_;
    if (flavor_ == Flavor::kStreamable && (out.initialize || out.initialized)) {
      barrier_ = out.holds_barrier = true;
    }
    if (out.initialize) {
      session_id_.clear();
      initialize_ok_ = false;
    }
    out.target = flavor_ == Flavor::kLegacy ? endpoint_->target : url_->target;
    // The POST runs on the calling thread's context when it is an I/O thread (the one serving
    // the client whose call this is), with a connection of that context: the whole call stays
    // on one thread.
    auto& here = loop_.pick();
    ConnectionPtr conn = takeIdleLocked(here);
    // One thread runs `here`: its executor is a strand already.
    const Executor executor = conn ? conn->stream.get_executor() : Executor(here.get_executor());
    Launch start{executor, std::move(conn), std::move(out)};
    if (here_now && here.get_executor().running_in_this_thread()) {
      here_now->push_back(std::move(start));
      continue;
    }
    asio::post(executor, [self = shared_from_this(), start = std::move(start)]() mutable {
      self->launch(std::move(start));
    });
  }
}

// Starts a POST on its executor: at once when the calling thread runs it (co_spawn then runs
// the coroutine up to its first wait).
void Peer::launch(Launch start) {
  asio::co_spawn(start.executor,
                 runPost(shared_from_this(), std::move(start.conn), std::move(start.out)),
                 onCoroutineEnd);
}

// The most recently parked idle connection that lives on `here`, or null: a connection of another
// thread would move the call there and back.
ConnectionPtr Peer::takeIdleLocked(const asio::io_context& here) {
  for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {
    if ((*it)->home != &here) continue;
    ConnectionPtr conn = std::move(*it);
    idle_.erase(std::next(it).base());
    return conn;
  }
  return nullptr;
}

// Puts a connection whose answer has been read completely back into the pool before that answer
// is delivered, so that a caller who sends the next request from the callback finds it idle. A
// new exchange on it runs on its strand, after the current handler. Nulls `conn` when parked.
void Peer::park(ConnectionPtr& conn) {
  conn->deadline.expiresNever();
  std::lock_guard lock(mutex_);
  if (shut_ || conn->buffer.size() != 0 || idle_.size() >= kMaxIdleConnections) return;
  idle_.push_back(std::move(conn));
  conn.reset();
}

// Registers a new connection so that shutdown() closes it; false once shut down.
bool Peer::track(const ConnectionPtr& conn) {
  std::lock_guard lock(mutex_);
  if (shut_) return false;
  open_.insert(conn);
  return true;
}

void Peer::discard(const ConnectionPtr& conn) {
  {
    std::lock_guard lock(mutex_);
    open_.erase(conn);
  }
  conn->close();
}

// The end of a POST: the connection goes back to the pool (or closes), the barrier lifts, and
// the GET stream opens after the handshake.
void Peer::release(const ConnectionPtr& conn, bool reusable, const Outgoing& out) {
  bool start_get = false;
  if (conn) conn->deadline.expiresNever();
  {
    std::lock_guard lock(mutex_);
    if (conn) {
      reusable =
          reusable && !shut_ && conn->buffer.size() == 0 && idle_.size() < kMaxIdleConnections;
      if (reusable) {
        idle_.push_back(conn);
      } else {
        open_.erase(conn);
      }
    }
    if (out.id) --requests_in_flight_;
    if (out.holds_barrier) barrier_ = false;
    if (flavor_ == Flavor::kStreamable && out.initialized && out.ok && initialize_ok_ &&
        !get_started_ && !shut_) {
      start_get = get_started_ = true;
    }
    dispatchLocked();
  }
  if (conn && !reusable) conn->close();
  if (start_get)
    asio::co_spawn(asio::make_strand(io_), getStream(shared_from_this()), onCoroutineEnd);
}

// ---------------------------------------------------------------------------------------------
// POST
// ---------------------------------------------------------------------------------------------

// Sends one message as a POST, handles the answer, then releases the connection (back to the
// pool when it may be reused). `conn` is an idle pooled connection or null. With OAuth, a 401
// gets the request a new token and one more try. One coroutine for all of it: each call costs a
// coroutine frame.
asio::awaitable<void> Peer::runPost(std::shared_ptr<Peer> keep_alive, ConnectionPtr conn,
                                    Outgoing out) {
  bool reusable = true; // nothing sent on it yet
  std::optional<Token> token;
  if (spec_.tokens) {
    auto got = co_await accessToken();
    if (got) {
      token = std::move(*got);
    } else {
      failRequest(out, got.error().message);
      release(conn, reusable, out);
      co_return;
    }
  }
  for (bool retried = false;; retried = true) {
    std::optional<Parser> parser;
    std::optional<net::PlainAnswer> plain;
    if (!co_await sendPost(conn, out, token ? &*token : nullptr, parser, plain)) {
      reusable = false;
      break;
    }
    if (plain) {
      reusable = takePlainAnswer(conn, *plain, out);
      break;
    }
    if (!token || retried || parser->status() != 401) {
      reusable = co_await handleAnswer(conn, *parser, out);
      break;
    }
    log::debug("upstream {}: the access token was refused (HTTP 401); getting a new one", name_);
    if (!co_await skipBody(*conn, *parser)) {
      discard(conn);
      conn.reset();
    }
    spec_.tokens->refused(token->generation);
    auto again = co_await accessToken();
    if (!again) {
      failRequest(out, again.error().message);
      reusable = conn != nullptr;
      break;
    }
    token = std::move(*again);
  }
  release(conn, reusable, out);
  (void)keep_alive;
}

// Sends the POST and reads the head of its answer into `parser`; false (the request answered
// with an error) when that fails. A pooled connection that the server has closed meanwhile
// (write fails, or the answer is an immediate end of stream) is replaced once.
asio::awaitable<bool> Peer::sendPost(ConnectionPtr& conn, Outgoing& out, const Token* token,
                                     std::optional<Parser>& parser,
                                     std::optional<net::PlainAnswer>& plain) {
  const auto executor = co_await asio::this_coro::executor;
  for (int attempt = 0;; ++attempt) {
    const bool pooled = conn != nullptr;
    if (!conn) {
      conn = std::make_shared<Connection>(executor);
      if (!track(conn)) co_return false;
      if (const auto ec = co_await connect(*conn, spec_.connect_timeout)) {
        failRequest(out, connectError(ec));
        co_return false;
      }
    }
    const std::string request = postWire(out, token);
    ErrorCode write_ec;
    const std::size_t sent = net::writeNow(conn->stream.socket(), asio::buffer(request), write_ec);
    if (!write_ec && sent < request.size()) {
      conn->deadline.expiresAfter(kWriteTimeout);
      std::tie(write_ec, std::ignore) =
          co_await asio::async_write(conn->stream, asio::buffer(request) + sent, kNoThrow);
      write_ec = conn->deadline.outcome(write_ec);
    }
    ErrorCode ec = write_ec;
    if (!ec) {
      parser.emplace();
      parser->header_limit(kMaxHeaderBytes);
      parser->body_limit(kMaxBodyBytes);
      conn->deadline.expiresAfter(kAnswerTimeout);
      // A JSON answer of the plain kind (the usual one) is read without Beast; any other
      // answer, of the Streamable HTTP flavour or not, by Beast from the same bytes.
      ec = co_await readHead(*conn, *parser, flavor_ == Flavor::kStreamable ? &plain : nullptr);
      if (!ec && plain && mediaType(plain->content_type) != "application/json") {
        plain.reset();
        ec = co_await readHead(*conn, *parser);
      }
      if (!ec) co_return true;
    }
    const bool stale = write_ec || ec == http::error::end_of_stream || ec == asio::error::eof ||
                       ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
    if (pooled && attempt == 0 && stale && !shut_) {
      log::debug("upstream {}: a pooled connection was closed ({}); retrying on a new one", name_,
                 ec.message());
      discard(conn);
      conn.reset();
      continue;
    }
    failRequest(out, networkError(ec));
    co_return false;
  }
}

// Delivers a plain JSON answer (2xx) that readHead() read whole, as handleAnswer() does one that
// Beast read; returns whether the connection may be reused (null `conn` when parked).
bool Peer::takePlainAnswer(ConnectionPtr& conn, const net::PlainAnswer& answer, Outgoing& out) {
  out.ok = true;
  if (out.initialize) rememberSession(answer.session_id);
  // Copied out before the buffer is emptied for the next exchange on this connection.
  const std::string body(answer.body);
  conn->buffer.consume(answer.size);
  return deliverJson(conn, body, answer.keep_alive, out);
}

// The end of a JSON answer read whole: the connection goes back to the pool first (a caller who
// sends the next request from the callback finds it idle), then the answer is delivered.
bool Peer::deliverJson(ConnectionPtr& conn, std::string_view body, bool reusable, Outgoing& out) {
  if (reusable) park(conn);
  deliverText(body, &out);
  if (out.id) failRequest(out, "upstream answer did not contain the response");
  return reusable;
}

// Handles the answer to a POST once its head has arrived; returns whether the connection may be
// reused (it may also have gone back to the pool already: then `conn_ptr` is null).
asio::awaitable<bool> Peer::handleAnswer(ConnectionPtr& conn_ptr, Parser& parser, Outgoing& out) {
  Connection& conn = *conn_ptr;
  const int status = parser.status();
  const std::string type = mediaType(parser.contentType());
  out.ok = status >= 200 && status < 300;
  if (out.initialize && out.ok) rememberSession(parser.sessionId());
  if (status == 404 && out.carried_session) {
    expire("session expired");
    co_return false;
  }

  if (!out.ok) {
    std::string body;
    conn.deadline.expiresAfter(kWriteTimeout);
    const auto ec = co_await readBody(conn, parser, [&body](std::string_view piece) {
      if (body.size() + piece.size() > kMaxErrorBodyBytes) return false;
      body.append(piece);
      return true;
    });
    std::string reason = fmt::format("upstream HTTP {}", status);
    if (auto parsed = mcp::parse(body);
        parsed && parsed->messages.size() == 1 && parsed->messages[0].kind == mcp::Kind::kError) {
      if (const auto* message = parsed->messages[0].error.if_contains("message");
          message && message->is_string() && !message->as_string().empty()) {
        reason += fmt::format(": {}", std::string_view(message->as_string()));
      }
    }
    const bool reusable = !ec && parser.keep_alive();
    if (reusable) park(conn_ptr);
    failRequest(out, reason);
    co_return reusable;
  }

  const bool stream = flavor_ == Flavor::kStreamable && type == "text/event-stream";
  const bool json_body = flavor_ == Flavor::kStreamable && type == "application/json";
  if (!stream && !json_body) {
    // Nothing to deliver: 202, a legacy server's acknowledgement, or an unexpected type.
    const auto ec = co_await readBody(conn, parser, [](std::string_view) { return true; });
    if (out.id && flavor_ == Flavor::kStreamable && status != 202) {
      failRequest(out,
                  type.empty()
                      ? fmt::format("upstream answered HTTP {} without a response", status)
                      : fmt::format("upstream answered with unexpected content type '{}'", type));
    }
    co_return !ec && parser.keep_alive();
  }

  if (json_body) {
    std::string body;
    const auto ec = co_await readBody(conn, parser, [&body](std::string_view piece) {
      if (body.size() + piece.size() > kMaxBodyBytes) return false;
      body.append(piece);
      return true;
    });
    if (ec) {
      failRequest(out, ec == http::error::body_limit
                           ? fmt::format("upstream answer exceeds {} bytes", kMaxBodyBytes)
                           : networkError(ec));
      co_return false;
    }
    co_return deliverJson(conn_ptr, body, parser.keep_alive(), out);
  }

  // An event stream: related messages, then the response; delivered as they arrive.
  parser.body_limit(boost::none);
  conn.deadline.expiresNever();
  SseParser sse(kMaxBodyBytes);
  std::vector<SseEvent> events;
  bool too_big = false;
  const auto ec = co_await readBody(conn, parser, [&](std::string_view piece) {
    if (!sse.feed(piece, events)) {
      too_big = true;
      return false;
    }
    for (const auto& event : events) {
      if (isMessageEvent(event)) deliverText(event.data, &out);
    }
    events.clear();
    return !shut_;
  });
  if (out.id) {
    if (too_big) {
      failRequest(out, fmt::format("upstream event exceeds {} bytes", kMaxBodyBytes));
    } else if (ec) {
      failRequest(out, networkError(ec));
    } else {
      failRequest(out, "upstream event stream ended without the response");
    }
  }
  co_return !ec && !too_big && parser.keep_alive();
}

PostFields Peer::postFields() const {
  PostHead head;
  addCommonHeaders(head, nullptr);
  head.set(http::field::content_type, "application/json");
  head.set(http::field::accept, "application/json, text/event-stream");
  PostFields fields;
  fields.authorization = head.take("Authorization");
  fields.fixed = head.lines();
  return fields;
}

// The POST's head and body, as one buffer. HTTP/1.1 keeps the connection open by default: no
// Connection field.
std::string Peer::postWire(Outgoing& out, const Token* token) {
  std::string wire;
  wire.reserve(256 + post_fields_.fixed.size() + out.body.size());
  wire.append("POST ").append(out.target).append(" HTTP/1.1\r\n").append(post_fields_.fixed);
  if (token) {
    PostHead::appendField(wire, "Authorization", "Bearer " + token->value.reveal());
  } else if (post_fields_.authorization) {
    PostHead::appendField(wire, "Authorization", *post_fields_.authorization);
  }
  if (flavor_ == Flavor::kStreamable) {
    std::lock_guard lock(mutex_);
    out.carried_session = !out.initialize && !session_id_.empty();
    if (out.carried_session) PostHead::appendField(wire, kSessionHeader, session_id_);
    if (!out.initialize && !protocol_version_.empty())
      PostHead::appendField(wire, kVersionHeader, protocol_version_);
  } else {
    out.carried_session = true; // the endpoint URL names the session
  }
  wire.append("Content-Length: ").append(std::to_string(out.body.size())).append("\r\n\r\n");
  wire.append(out.body);
  return wire;
}

// ---------------------------------------------------------------------------------------------
// The GET stream (Streamable HTTP)
// ---------------------------------------------------------------------------------------------

// Keeps the standalone GET stream open while the channel is: reopens it after a drop, with
// back-off doubling up to kMaxBackoff. Stops for good on 405 (the server offers none).
asio::awaitable<void> Peer::getStream(std::shared_ptr<Peer> keep_alive) {
  const auto executor = co_await asio::this_coro::executor;
  auto conn = std::make_shared<Connection>(executor);
  auto timer = std::make_shared<asio::steady_timer>(executor);
  {
    std::lock_guard lock(mutex_);
    if (!shut_) {
      open_.insert(conn);
      backoff_timer_ = timer;
    }
  }
  std::string last_event_id;
  auto delay = kFirstBackoff;
  while (!shut_) {
    const auto started = Clock::now();
    const auto outcome = co_await getOnce(*conn, last_event_id);
    if (outcome == GetOutcome::kStop || shut_) break;
    if (outcome == GetOutcome::kStreamed && Clock::now() - started >= kStableStream) {
      delay = kFirstBackoff;
    }
    conn->close();
    log::debug("upstream {}: reopening the GET stream in {} ms", name_, delay.count());
    timer->expires_after(delay);
    co_await timer->async_wait(kNoThrow);
    delay = std::min(delay * 2, kMaxBackoff);
  }
  discard(conn);
  (void)keep_alive;
}

// A GET asking for an event stream, with the headers every request carries.
http::request<http::empty_body> Peer::eventStreamRequest(const Token* token) {
  http::request<http::empty_body> request{http::verb::get, url_->target, 11};
  addCommonHeaders(request, token);
  request.set(http::field::accept, "text/event-stream");
  request.set(http::field::cache_control, "no-cache");
  request.keep_alive(true);
  return request;
}

// Sends a GET for an event stream and reads the head of the answer into `parser`; the body is
// left to the caller, without a deadline.
asio::awaitable<boost::system::error_code>
Peer::sendForStream(Connection& conn, const http::request<http::empty_body>& request,
                    Parser& parser) {
  conn.deadline.expiresAfter(kWriteTimeout);
  auto [write_ec, written] = co_await http::async_write(conn.stream, request, kNoThrow);
  if (write_ec) co_return conn.deadline.outcome(write_ec);
  parser.header_limit(kMaxHeaderBytes);
  parser.body_limit(boost::none);
  conn.deadline.expiresAfter(kStreamHeadTimeout);
  co_return co_await readHead(conn, parser);
}

asio::awaitable<GetOutcome> Peer::getOnce(Connection& conn, std::string& last_event_id) {
  if (const auto ec = co_await connect(conn, spec_.connect_timeout)) {
    log::debug("upstream {}: GET stream: {}", name_, connectError(ec));
    co_return GetOutcome::kRetry;
  }
  std::optional<Token> token;
  if (spec_.tokens) {
    auto got = co_await accessToken();
    if (!got) {
      log::debug("upstream {}: GET stream: {}", name_, got.error().message);
      co_return GetOutcome::kRetry;
    }
    token = std::move(*got);
  }
  auto request = eventStreamRequest(token ? &*token : nullptr);
  bool carried_session = false;
  {
    std::lock_guard lock(mutex_);
    carried_session = !session_id_.empty();
    if (carried_session) request.set(kSessionHeader, session_id_);
    if (!protocol_version_.empty()) request.set(kVersionHeader, protocol_version_);
  }
  if (!last_event_id.empty() && isHeaderSafe(last_event_id)) {
    request.set("Last-Event-ID", last_event_id);
  }
  Parser parser;
  if (const auto ec = co_await sendForStream(conn, request, parser)) {
    log::debug("upstream {}: GET stream: {}", name_, networkError(ec));
    co_return GetOutcome::kRetry;
  }
  const int status = parser.status();
  if (status == 405) {
    log::debug("upstream {}: the server offers no GET stream", name_);
    co_return GetOutcome::kStop;
  }
  if (status == 404 && carried_session) {
    expire("session expired");
    co_return GetOutcome::kStop;
  }
  if (status == 401 && token) {
    log::debug("upstream {}: GET stream: the access token was refused (HTTP 401)", name_);
    spec_.tokens->refused(token->generation); // the next attempt gets a new one
    co_return GetOutcome::kRetry;
  }
  if (status != 200 || mediaType(parser.contentType()) != "text/event-stream") {
    log::info("upstream {}: GET stream answered HTTP {}", name_, status);
    co_return GetOutcome::kRetry;
  }
  conn.deadline.expiresNever();
  SseParser sse(kMaxBodyBytes);
  std::vector<SseEvent> events;
  const auto ec = co_await readBody(conn, parser, [&](std::string_view piece) {
    if (!sse.feed(piece, events)) return false;
    for (const auto& event : events) {
      if (isMessageEvent(event)) deliverText(event.data, nullptr);
    }
    events.clear();
    return !shut_;
  });
  last_event_id = sse.lastEventId();
  if (!shut_) log::debug("upstream {}: GET stream ended: {}", name_, ec ? ec.message() : "closed");
  co_return GetOutcome::kStreamed;
}

// ---------------------------------------------------------------------------------------------
// The event stream (legacy HTTP+SSE)
// ---------------------------------------------------------------------------------------------

asio::awaitable<void> Peer::eventStream(std::shared_ptr<Peer> keep_alive) {
  auto conn = std::make_shared<Connection>(co_await asio::this_coro::executor);
  if (!track(conn)) co_return;
  const std::string reason = co_await readEventStream(*conn);
  discard(conn);
  if (!shut_) expire(reason);
  (void)keep_alive;
}

// Reads the legacy event stream until it ends; returns why it ended.
asio::awaitable<std::string> Peer::readEventStream(Connection& conn) {
  std::optional<Parser> parser;
  for (bool retried = false;; retried = true) {
    std::optional<Token> token;
    if (spec_.tokens) {
      auto got = co_await accessToken();
      if (!got) co_return got.error().message;
      token = std::move(*got);
    }
    if (const auto ec = co_await connect(conn, spec_.connect_timeout)) co_return connectError(ec);
    auto request = eventStreamRequest(token ? &*token : nullptr);
    parser.emplace();
    if (const auto ec = co_await sendForStream(conn, request, *parser)) co_return networkError(ec);
    if (!token || retried || parser->status() != 401) break;
    log::debug("upstream {}: the access token was refused (HTTP 401); getting a new one", name_);
    spec_.tokens->refused(token->generation);
    conn.close();
  }
  const int status = parser->status();
  if (status != 200) co_return fmt::format("upstream HTTP {}", status);
  const std::string type = mediaType(parser->contentType());
  if (type != "text/event-stream") {
    co_return fmt::format("upstream answered '{}' instead of an event stream", type);
  }
  conn.deadline.expiresNever();
  SseParser sse(kMaxBodyBytes);
  std::vector<SseEvent> events;
  std::string failure;
  const auto ec = co_await readBody(conn, *parser, [&](std::string_view piece) {
    if (!sse.feed(piece, events)) {
      failure = fmt::format("upstream event exceeds {} bytes", kMaxBodyBytes);
      return false;
    }
    for (const auto& event : events) {
      if (event.type == "endpoint") {
        if (!acceptEndpoint(event.data, failure)) return false;
      } else if (isMessageEvent(event)) {
        deliverText(event.data, nullptr);
      }
    }
    events.clear();
    return !shut_;
  });
  if (!failure.empty()) co_return failure;
  if (ec) co_return fmt::format("the event stream failed: {}", ec.message());
  co_return std::string("upstream closed the event stream");
}

// The first `endpoint` event names where to POST; it must be on the stream's host and port.
bool Peer::acceptEndpoint(std::string_view data, std::string& failure) {
  auto endpoint = resolveReference(*url_, data);
  if (!endpoint) {
    failure = fmt::format("unusable endpoint '{}': {}", data, endpoint.error().message);
    return false;
  }
  if (!endpoint->sameOrigin(*url_)) {
    failure = fmt::format("the endpoint '{}' is not on {}", data, url_->authority());
    return false;
  }
  std::lock_guard lock(mutex_);
  if (!endpoint_) {
    endpoint_ = std::move(*endpoint);
    dispatchLocked();
  }
  return true;
}

// Ends the server's session (close()): best effort, each step bounded by kDeleteTimeout.
asio::awaitable<void> Peer::deleteSession(std::shared_ptr<Peer> keep_alive, std::string session) {
  Connection conn(co_await asio::this_coro::executor);
  if (const auto ec = co_await connect(
          conn, std::min<std::chrono::milliseconds>(spec_.connect_timeout, kDeleteTimeout))) {
    co_return;
  }
  std::optional<Token> token;
  if (spec_.tokens) {
    auto got = co_await accessToken();
    if (!got) {
      conn.close();
      co_return;
    }
    token = std::move(*got);
  }
  http::request<http::empty_body> request{http::verb::delete_, url_->target, 11};
  addCommonHeaders(request, token ? &*token : nullptr);
  request.set(kSessionHeader, session);
  {
    std::lock_guard lock(mutex_);
    if (!protocol_version_.empty()) request.set(kVersionHeader, protocol_version_);
  }
  request.keep_alive(false);
  conn.deadline.expiresAfter(kDeleteTimeout);
  auto [write_ec, written] = co_await http::async_write(conn.stream, request, kNoThrow);
  if (!write_ec) {
    Parser parser;
    conn.deadline.expiresAfter(kDeleteTimeout);
    if (!co_await readHead(conn, parser))
      log::debug("upstream {}: DELETE session: HTTP {}", name_, parser.status());
  }
  conn.close();
  (void)keep_alive;
}

// ---------------------------------------------------------------------------------------------
// HTTP steps
// ---------------------------------------------------------------------------------------------

// Host, User-Agent, the configured static headers (which cannot split the request, nor change
// its framing: the length of a body is Forge's to state; nor name a session or a protocol
// version: those are the channel's) and, with OAuth, the access token (which wins over a static
// Authorization header).
template <class Request>
void Peer::addCommonHeaders(Request& request, const Token* token) const {
  request.set(http::field::host, url_->hostHeader());
  request.set(http::field::user_agent, "forge");
  for (const auto& [name, value] : spec_.headers) {
    const bool channels =
        beast::iequals(name, "Content-Length") || beast::iequals(name, "Transfer-Encoding") ||
        beast::iequals(name, kSessionHeader) || beast::iequals(name, kVersionHeader);
    if (!name.empty() && !channels && isHeaderSafe(name) && isHeaderSafe(value))
      request.set(name, value);
  }
  if (token) request.set(http::field::authorization, "Bearer " + token->value.reveal());
}

// An access token from spec_.tokens: at once when one is cached, else after the token request
// (every caller meanwhile waits for the same one). The handler may run on another thread: it
// stores the result and wakes this coroutine through a timer on its own strand.
asio::awaitable<core::Result<Token>> Peer::accessToken() {
  struct Wait {
    explicit Wait(const Executor& executor) : timer(executor) {}
    std::mutex mutex;
    std::optional<core::Result<Token>> result;
    asio::steady_timer timer;
  };
  auto wait = std::make_shared<Wait>(co_await asio::this_coro::executor);
  wait->timer.expires_after(kTokenWaitLimit);
  spec_.tokens->get([wait](core::Result<Token> result) {
    {
      std::lock_guard lock(wait->mutex);
      wait->result.emplace(std::move(result));
    }
    asio::post(wait->timer.get_executor(), [wait] { wait->timer.cancel(); });
  });
  for (;;) {
    {
      std::lock_guard lock(wait->mutex);
      if (wait->result) break;
    }
    auto [ec] = co_await wait->timer.async_wait(kNoThrow);
    if (!ec) {
      co_return core::Error{core::Errc::kTimeout, fmt::format("no OAuth access token within {} s",
                                                              kTokenWaitLimit.count())};
    }
  }
  std::lock_guard lock(wait->mutex);
  co_return std::move(*wait->result);
}

// Reads and drops the (small) body of an answer; returns whether the connection may be reused.
asio::awaitable<bool> Peer::skipBody(Connection& conn, Parser& parser) {
  std::size_t total = 0;
  conn.deadline.expiresAfter(kWriteTimeout);
  const auto ec = co_await readBody(conn, parser, [&total](std::string_view piece) {
    total += piece.size();
    return total <= kMaxErrorBodyBytes;
  });
  co_return !ec && parser.keep_alive() && conn.buffer.size() == 0;
}

asio::awaitable<ErrorCode> Peer::connect(Connection& conn, std::chrono::milliseconds timeout) {
  const Url& url = *url_;
  conn.buffer.clear();
  conn.deadline.expiresAfter(timeout);
  ErrorCode ec;
  const auto address = asio::ip::make_address(url.host, ec);
  if (!ec) {
    auto [connect_ec] =
        co_await conn.stream.async_connect(tcp::endpoint(address, url.port_number), kNoThrow);
    ec = connect_ec;
  } else {
    tcp::resolver resolver(co_await asio::this_coro::executor);
    auto [resolve_ec, endpoints] = co_await resolver.async_resolve(url.host, url.port, kNoThrow);
    // The deadline covers the resolver too, which it cannot end: a late result is dropped.
    ec = !resolve_ec && conn.deadline.expired() ? ErrorCode(beast::error::timeout) : resolve_ec;
    if (!ec) {
      auto [connect_ec, endpoint] = co_await conn.stream.async_connect(endpoints, kNoThrow);
      ec = connect_ec;
    }
  }
  ec = conn.deadline.outcome(ec);
  if (!ec) {
    ErrorCode ignored;
    conn.stream.socket().set_option(tcp::no_delay(true), ignored);
    net::allowWriteNow(conn.stream.socket());
  }
  co_return ec;
}

// Reads the rest of a response body and hands each piece to `consume` as soon as it arrives
// (the events of a stream must not wait for the ones after them). `consume` returning false
// stops the read with http::error::body_limit.
asio::awaitable<ErrorCode> Peer::readBody(Connection& conn, Parser& parser,
                                          const std::function<bool(std::string_view)>& consume) {
  auto& chunk = conn.chunk; // not in the coroutine frame: that would be 16 KiB to allocate per read
  while (!parser.is_done()) {
    parser.body = {chunk.data(), chunk.size()};
    // A body of known length usually came whole with the head: it is parsed from the buffer,
    // without a round through the event loop. Event streams (chunked) are read as they come.
    ErrorCode ec;
    bool parsed = false;
    if (parser.content_length()) {
      parser.eager(true);
      parsed =
          net::parseBuffered(parser, conn.buffer, ec) || ec || parser.body.size != chunk.size();
    }
    if (!parsed) {
      std::tie(ec, std::ignore) =
          co_await http::async_read_some(conn.stream, conn.buffer, parser, kNoThrow);
    }
    if (ec && ec != http::error::need_buffer) co_return conn.deadline.outcome(ec);
    const std::size_t got = chunk.size() - parser.body.size;
    if (got > 0 && !consume(std::string_view(chunk.data(), got))) {
      co_return ErrorCode(http::error::body_limit);
    }
  }
  co_return ErrorCode{};
}

std::string Peer::connectError(const ErrorCode& ec) const {
  if (ec == beast::error::timeout) {
    return fmt::format("cannot connect to {}: timed out after {} ms", url_->authority(),
                       spec_.connect_timeout.count());
  }
  return fmt::format("cannot connect to {}: {}", url_->authority(), ec.message());
}

std::string Peer::networkError(const ErrorCode& ec) const {
  if (ec == beast::error::timeout) return fmt::format("upstream {} timed out", url_->authority());
  if (ec == http::error::body_limit) {
    return fmt::format("upstream {} sent more than {} bytes", url_->authority(), kMaxBodyBytes);
  }
  return fmt::format("connection to {} failed: {}", url_->authority(), ec.message());
}

// ---------------------------------------------------------------------------------------------
// Delivery
// ---------------------------------------------------------------------------------------------

void Peer::deliver(mcp::Message message, std::optional<json::value> related) {
  gate_.run([&] {
    if (callbacks_.on_message) callbacks_.on_message(std::move(message), std::move(related));
  });
}

// Delivers the messages of one JSON body or one event. `out` is the POST they answer, if any:
// they are related to its request.
void Peer::deliverText(std::string_view text, Outgoing* out) {
  if (out && out->id && out->forward_only) {
    // The usual answer to a forwarded call: its result goes on as the upstream wrote it.
    if (auto plain = mcp::readPlainResult(text); plain && plain->id == *out->id) {
      noteAnswer(*out, *plain);
      deliver(std::move(*plain), *out->id);
      return;
    }
  }
  auto parsed = mcp::parse(text);
  if (!parsed) {
    log::warn("upstream {}: ignoring a malformed message: {}", name_, parsed.error().message);
    return;
  }
  for (auto& message : parsed->messages) {
    std::optional<json::value> related;
    if (out && out->id) {
      related = *out->id;
      if (message.isResponse() && message.id == *out->id) noteAnswer(*out, message);
    }
    deliver(std::move(message), std::move(related));
  }
}

// The response to a POSTed request arrived. For `initialize` that also lifts the barrier, so
// that `notifications/initialized` can go even if the server keeps the stream open.
void Peer::noteAnswer(Outgoing& out, const mcp::Message& answer) {
  out.answered = true;
  if (!out.initialize) return;
  std::lock_guard lock(mutex_);
  initialize_ok_ = answer.kind == mcp::Kind::kResult;
  if (out.holds_barrier) {
    out.holds_barrier = false;
    barrier_ = false;
    dispatchLocked();
  }
}

// Answers a request that will get no answer from the server with a synthetic error (once).
// For notifications and responses there is nobody to tell: a log line.
void Peer::failRequest(Outgoing& out, const std::string& reason) {
  if (shut_) return;
  if (!out.id) {
    log::warn("upstream {}: a message was not delivered: {}", name_, reason);
    return;
  }
  if (out.answered) return;
  out.answered = true;
  log::debug("upstream {}: request {} failed: {}", name_, mcp::idKey(*out.id), reason);
  deliver(mcp::makeError(*out.id, kUpstreamErrorCode, reason), out.id);
}

void Peer::rememberSession(std::string_view session) {
  if (session.empty()) return;
  const bool visible =
      session.size() <= 1024 &&
      std::all_of(session.begin(), session.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
  if (!visible) {
    log::warn("upstream {}: ignoring an Mcp-Session-Id with invisible characters", name_);
    return;
  }
  std::lock_guard lock(mutex_);
  session_id_ = std::string(session);
}

// The channel is gone (session expired, event stream ended): on_closed, then stop everything.
void Peer::expire(const std::string& reason) {
  {
    std::lock_guard lock(mutex_);
    if (shut_) return;
    expired_ = true;
  }
  log::info("upstream {}: channel closed: {}", name_, reason);
  gate_.runLast([&] {
    if (callbacks_.on_closed) callbacks_.on_closed(reason);
  });
  shutdown(false);
}

// Stops everything: queued messages are dropped, connections and timers are closed on their
// strands, and with `send_delete` the session is ended with a DELETE in the background.
void Peer::shutdown(bool send_delete) {
  std::vector<ConnectionPtr> conns;
  std::shared_ptr<asio::steady_timer> timer;
  std::string session;
  {
    std::lock_guard lock(mutex_);
    if (shut_) return;
    shut_ = true;
    conns.assign(open_.begin(), open_.end());
    idle_.clear();
    queue_.clear();
    timer = std::move(backoff_timer_);
    if (send_delete && flavor_ == Flavor::kStreamable && !expired_ && url_) session = session_id_;
  }
  for (auto& conn : conns) {
    asio::post(conn->stream.get_executor(), [conn] { conn->close(); });
  }
  if (timer) asio::post(timer->get_executor(), [timer] { timer->cancel(); });
  if (!session.empty()) {
    asio::co_spawn(asio::make_strand(io_), deleteSession(shared_from_this(), std::move(session)),
                   onCoroutineEnd);
  }
}

// ---------------------------------------------------------------------------------------------
// The Channel handle
// ---------------------------------------------------------------------------------------------

class HttpChannel final : public Channel {
public:
  explicit HttpChannel(std::shared_ptr<Peer> peer) : peer_(std::move(peer)) {}
  ~HttpChannel() override { peer_->close(); }
  HttpChannel(const HttpChannel&) = delete;
  HttpChannel& operator=(const HttpChannel&) = delete;

  // Channel
  void open(ChannelCallbacks callbacks) override { peer_->open(std::move(callbacks)); }
  void send(const mcp::Message& message) override { peer_->send(message); }
  void setProtocolVersion(std::string version) override {
    peer_->setProtocolVersion(std::move(version));
  }
  void close() override { peer_->close(); }

private:
  std::shared_ptr<Peer> peer_;
};

} // namespace

ChannelPtr makeStreamableHttpChannel(net::EventLoop& loop, HttpSpec spec) {
  return std::make_shared<HttpChannel>(
      std::make_shared<Peer>(loop, std::move(spec), Flavor::kStreamable));
}

ChannelPtr makeSseChannel(net::EventLoop& loop, HttpSpec spec) {
  return std::make_shared<HttpChannel>(
      std::make_shared<Peer>(loop, std::move(spec), Flavor::kLegacy));
}

} // namespace forge::upstream
