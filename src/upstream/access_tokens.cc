// AccessTokens: OAuth 2.0 access tokens by the client-credentials grant (RFC 6749 §4.4), for the
// HTTP channels of one upstream. Beast and Asio stay in this file.
//
// DESIGN. One mutex guards the cached token, its deadlines and the callers waiting for a token
// request. At most one token request runs at a time (a coroutine on a strand of its own): a
// caller that finds no usable token joins the waiters, and the first one starts the request, so
// a burst of calls with an expired token costs the token endpoint one request. Callbacks always
// run outside the mutex.
//
// Deadlines, from the moment the request was sent and its `expires_in` (lifetime L):
//   margin       = min(30 s, L / 2)
//   usable until   L - margin            the token is handed out until then, never later
//   refresh from   L - margin * 3 / 2    a caller then still gets it, and starts a new request
// so that an upstream in steady use switches tokens without waiting. A failed background
// refresh is retried at most once a second while the old token is usable.
//
// The client authenticates with HTTP Basic (RFC 6749 §2.3.1: id and secret form-encoded, then
// base64). Error messages name the token URL and what the endpoint said (its `error` and
// `error_description`), never the secret (scrubbed even if the endpoint echoes it) or a token.
#include "upstream/channel.h"

#include "core/log.h"
#include "net/event_loop_impl.h"
#include "net/http.h"
#include "net/url.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <vector>

namespace forge::upstream {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using ErrorCode = boost::system::error_code;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::seconds kConnectTimeout{10};
constexpr std::chrono::seconds kExchangeTimeout{30}; // sending the request and reading the answer
constexpr std::size_t kMaxAnswerBytes = 64 * 1024;
constexpr std::uint32_t kMaxHeaderBytes = 16 * 1024;
constexpr std::chrono::seconds kMaxMargin{30};
constexpr std::chrono::seconds kRefreshRetry{1};
constexpr std::int64_t kMaxLifetimeSeconds = 10LL * 365 * 24 * 3600;
constexpr std::size_t kMaxDetailChars = 300;

// application/x-www-form-urlencoded (RFC 6749 Appendix B).
std::string formEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += c;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

// Standard base64 with padding (RFC 4648 §4), for HTTP Basic credentials.
std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto n = (static_cast<unsigned char>(bytes[i]) << 16) |
                   (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                   static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i < bytes.size()) {
    const bool two = i + 1 < bytes.size();
    const auto n = (static_cast<unsigned char>(bytes[i]) << 16) |
                   (two ? static_cast<unsigned char>(bytes[i + 1]) << 8 : 0);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += two ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// A string field of a JSON object, or "".
std::string stringField(const json::object& object, std::string_view key) {
  const auto* v = object.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// An access token must fit in a header: visible ASCII only (RFC 6750 §2.1 is stricter still).
bool isTokenText(std::string_view text) {
  return !text.empty() && text.size() <= 16 * 1024 &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
}

struct Fetched {
  core::Secret token;
  std::optional<std::chrono::seconds> lifetime; // expires_in, when given
};

class TokenCache final : public AccessTokens, public std::enable_shared_from_this<TokenCache> {
public:
  TokenCache(net::EventLoop& loop, OAuthClientCredentials credentials, std::string name)
      : io_(loop.impl().io), credentials_(std::move(credentials)), name_(std::move(name)),
        url_(net::parsePlainHttpUrl(credentials_.token_url, "OAuth token URL")) {}

  void get(TokenHandler done) override {
    std::unique_lock lock(mutex_);
    const auto now = Clock::now();
    if (current_ && now < usable_until_) {
      if (now >= refresh_from_ && !fetching_) startLocked();
      Token token = *current_;
      lock.unlock();
      done(std::move(token));
      return;
    }
    waiters_.push_back(std::move(done));
    if (!fetching_) startLocked();
  }

  void refused(std::uint64_t generation) override {
    std::lock_guard lock(mutex_);
    if (current_ && current_->generation == generation) current_.reset();
  }

  std::size_t fetched() const override {
    std::lock_guard lock(mutex_);
    return fetched_;
  }

private:
  // Starts the token request; posted, so that it never starts under the mutex.
  void startLocked() {
    fetching_ = true;
    asio::post(io_, [self = shared_from_this()] {
      auto strand = asio::make_strand(self->io_);
      asio::co_spawn(strand, self->run(self), [](std::exception_ptr error) {
        if (error) log::error("an OAuth token request ended with an exception");
      });
    });
  }

  asio::awaitable<void> run(std::shared_ptr<TokenCache> keep_alive) {
    const auto started = Clock::now();
    auto result = co_await request();
    finish(std::move(result), started);
    (void)keep_alive;
  }

  void finish(core::Result<Fetched> result, Clock::time_point started) {
    std::vector<TokenHandler> waiters;
    std::optional<core::Result<Token>> outcome;
    {
      std::lock_guard lock(mutex_);
      fetching_ = false;
      if (result) {
        ++fetched_;
        current_ = Token{std::move(result->token), ++generation_};
        if (result->lifetime) {
          const Clock::duration lifetime = *result->lifetime;
          const Clock::duration margin = std::min<Clock::duration>(kMaxMargin, lifetime / 2);
          usable_until_ = started + lifetime - margin;
          refresh_from_ = usable_until_ - margin / 2;
        } else {
          usable_until_ = refresh_from_ = Clock::time_point::max();
        }
        outcome.emplace(*current_);
      } else {
        outcome.emplace(result.error());
        if (current_) refresh_from_ = std::min(usable_until_, Clock::now() + kRefreshRetry);
      }
      waiters.swap(waiters_);
    }
    if (result) {
      log::debug("upstream {}: got an OAuth access token from {} ({})", name_,
                 credentials_.token_url,
                 result->lifetime ? fmt::format("expires in {} s", result->lifetime->count())
                                  : std::string("no expiry given"));
    } else {
      log::warn("upstream {}: {}", name_, result.error().message);
    }
    for (auto& waiter : waiters)
      waiter(*outcome);
  }

  core::Error failure(core::Errc code, std::string_view why) const {
    return core::Error{code, scrub(fmt::format("OAuth token request to {} failed: {}",
                                               credentials_.token_url, why))};
  }

  // Removes the secret from text an endpoint sent back, however it came to be there.
  std::string scrub(std::string text) const {
    const std::string& secret = credentials_.client_secret.reveal();
    if (secret.empty()) return text;
    for (const std::string& form : {secret, formEncode(secret)}) {
      for (auto at = text.find(form); at != std::string::npos; at = text.find(form, at)) {
        text.replace(at, form.size(), core::Secret::kRedacted);
        at += std::char_traits<char>::length(core::Secret::kRedacted);
      }
    }
    return text;
  }

  // Something the endpoint said, fit for a message: printable, bounded.
  static std::string detail(std::string_view text) {
    std::string out;
    for (char c : text.substr(0, kMaxDetailChars))
      out += (c >= 0x20 && c != 0x7f) ? c : ' ';
    return out;
  }

  asio::awaitable<ErrorCode> connect(beast::tcp_stream& stream, const net::HttpUrl& url) {
    stream.expires_after(kConnectTimeout);
    ErrorCode ec;
    const auto address = asio::ip::make_address(url.host, ec);
    if (!ec) {
      auto [connect_ec] =
          co_await stream.async_connect(tcp::endpoint(address, url.port_number), kNoThrow);
      co_return connect_ec;
    }
    tcp::resolver resolver(co_await asio::this_coro::executor);
    auto [resolve_ec, endpoints] = co_await resolver.async_resolve(url.host, url.port, kNoThrow);
    if (resolve_ec) co_return resolve_ec;
    auto [connect_ec, endpoint] = co_await stream.async_connect(endpoints, kNoThrow);
    co_return connect_ec;
  }

  http::request<http::string_body> tokenRequest(const net::HttpUrl& url) const {
    http::request<http::string_body> request{http::verb::post, url.target, 11};
    request.set(http::field::host, url.hostHeader());
    request.set(http::field::user_agent, "forge");
    request.set(http::field::content_type, "application/x-www-form-urlencoded");
    request.set(http::field::accept, "application/json");
    request.set(http::field::authorization,
                "Basic " + base64(formEncode(credentials_.client_id) + ":" +
                                  formEncode(credentials_.client_secret.reveal())));
    std::string body = "grant_type=client_credentials";
    if (!credentials_.scope.empty()) body += "&scope=" + formEncode(credentials_.scope);
    if (!credentials_.audience.empty()) body += "&audience=" + formEncode(credentials_.audience);
    request.keep_alive(false);
    request.body() = std::move(body);
    request.prepare_payload();
    return request;
  }

  asio::awaitable<core::Result<Fetched>> request() {
    if (!url_) co_return core::Error{core::Errc::kBadGateway, url_.error().message};
    const net::HttpUrl& url = *url_;
    beast::tcp_stream stream(co_await asio::this_coro::executor);
    if (const auto ec = co_await connect(stream, url)) {
      co_return failure(
          core::Errc::kBadGateway,
          ec == beast::error::timeout
              ? fmt::format("cannot connect to {}: timed out", url.authority())
              : fmt::format("cannot connect to {}: {}", url.authority(), ec.message()));
    }
    const auto request = tokenRequest(url);
    stream.expires_after(kExchangeTimeout);
    auto [write_ec, written] = co_await http::async_write(stream, request, kNoThrow);
    http::response_parser<http::string_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(kMaxAnswerBytes);
    beast::flat_buffer buffer;
    ErrorCode ec = write_ec;
    if (!ec) {
      auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, kNoThrow);
      ec = read_ec;
    }
    ErrorCode ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
    if (ec == beast::error::timeout) {
      co_return failure(core::Errc::kTimeout,
                        fmt::format("no answer within {} s", kExchangeTimeout.count()));
    }
    if (ec == http::error::body_limit) {
      co_return failure(core::Errc::kBadGateway,
                        fmt::format("the answer exceeds {} bytes", kMaxAnswerBytes));
    }
    if (ec) co_return failure(core::Errc::kBadGateway, ec.message());
    co_return parseAnswer(static_cast<int>(parser.get().result_int()), parser.get().body());
  }

  core::Result<Fetched> parseAnswer(int status, const std::string& body) const {
    boost::system::error_code ec;
    const auto parsed = json::parse(body, ec);
    const json::object* object = !ec && parsed.is_object() ? &parsed.get_object() : nullptr;
    if (status < 200 || status > 299) {
      // RFC 6749 §5.2: {"error": "invalid_client", "error_description": "..."}
      std::string why = fmt::format("HTTP {}", status);
      if (object) {
        if (auto error = stringField(*object, "error"); !error.empty()) why += ": " + detail(error);
        if (auto description = stringField(*object, "error_description"); !description.empty())
          why += fmt::format(" ({})", detail(description));
      }
      return failure(core::Errc::kBadGateway, why);
    }
    if (!object) return failure(core::Errc::kBadGateway, "the answer is not a JSON object");
    const std::string token = stringField(*object, "access_token");
    if (token.empty()) return failure(core::Errc::kBadGateway, "the answer has no access_token");
    if (!isTokenText(token)) {
      return failure(core::Errc::kBadGateway,
                     "the access_token holds characters that cannot go into a header");
    }
    if (const auto type = stringField(*object, "token_type");
        !type.empty() && !net::equalsIgnoreCase(type, "bearer")) {
      return failure(core::Errc::kBadGateway,
                     fmt::format("token_type '{}' is not Bearer", detail(type)));
    }
    Fetched out{core::Secret(token), std::nullopt};
    if (const auto* v = object->if_contains("expires_in")) {
      std::optional<std::int64_t> seconds;
      if (v->is_int64()) seconds = v->get_int64();
      if (v->is_uint64())
        seconds = static_cast<std::int64_t>(
            std::min<std::uint64_t>(v->get_uint64(), kMaxLifetimeSeconds));
      if (v->is_double())
        seconds = static_cast<std::int64_t>(
            std::clamp(v->get_double(), 0.0, static_cast<double>(kMaxLifetimeSeconds)));
      if (v->is_string()) { // some servers send a string
        std::int64_t n = 0;
        const std::string_view text = v->get_string();
        const bool digits =
            !text.empty() && text.size() <= 12 &&
            std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (digits) {
          for (char c : text)
            n = n * 10 + (c - '0');
          seconds = n;
        }
      }
      // Absent, zero, negative or unreadable: kept until the upstream refuses it.
      if (seconds && *seconds > 0)
        out.lifetime = std::chrono::seconds(std::min(*seconds, kMaxLifetimeSeconds));
    }
    return out;
  }

  asio::io_context& io_;
  const OAuthClientCredentials credentials_;
  const std::string name_;
  const core::Result<net::HttpUrl> url_;

  mutable std::mutex mutex_;
  std::optional<Token> current_;
  Clock::time_point usable_until_;
  Clock::time_point refresh_from_;
  bool fetching_ = false;
  std::vector<TokenHandler> waiters_;
  std::uint64_t generation_ = 0;
  std::size_t fetched_ = 0;
};

} // namespace

AccessTokensPtr makeAccessTokens(net::EventLoop& loop, OAuthClientCredentials credentials,
                                 std::string name) {
  return std::make_shared<TokenCache>(loop, std::move(credentials), std::move(name));
}

} // namespace forge::upstream
