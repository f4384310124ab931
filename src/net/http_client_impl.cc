// The blocking HTTP client (http_client.h): Beast over plain TCP or TLS (MaybeTlsStream, the
// server's stream type), run on a private io_context by one coroutine. One deadline covers the
// whole exchange: a timer cancels name resolution, and the TCP stream's expiry (expires_at)
// covers connect, the TLS handshake, write and read.
#include "net/http_client.h"
#include "net/tls_stream_impl.h"
#include "net/url.h"

#include "core/version.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

namespace forge::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Url = HttpUrl;

core::Result<Url> parseUrl(std::string_view text) { return parseHttpUrl(text, "URL"); }
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::uint32_t kMaxHeaderBytes = 64 * 1024;

http::verb verbOf(Method method) {
  switch (method) {
  case Method::kGet:
    return http::verb::get;
  case Method::kHead:
    return http::verb::head;
  case Method::kPost:
    return http::verb::post;
  case Method::kPut:
    return http::verb::put;
  case Method::kPatch:
    return http::verb::patch;
  case Method::kDelete:
    return http::verb::delete_;
  case Method::kOptions:
    return http::verb::options;
  case Method::kOther:
    break;
  }
  return http::verb::unknown;
}

std::string seconds(std::chrono::milliseconds timeout) {
  return timeout.count() % 1000 == 0 ? fmt::format("{} s", timeout.count() / 1000)
                                     : fmt::format("{} ms", timeout.count());
}

// The extra trusted roots: the request's, else $FORGE_CA_FILE.
std::string caFileOf(const HttpRequestSpec& spec) {
  if (!spec.ca_file.empty()) return spec.ca_file;
  const char* env = std::getenv("FORGE_CA_FILE");
  return env ? env : "";
}

// Everything one exchange uses; it outlives the io_context's run().
struct Exchange {
  Exchange(const HttpRequestSpec& s, Url u, TlsContextPtr tls, std::string ca)
      : spec(s), url(std::move(u)), ca_file(std::move(ca)), deadline(Clock::now() + s.timeout),
        stream(tcp::socket(ioc), std::move(tls)) {}

  const HttpRequestSpec& spec;
  Url url;
  std::string ca_file; // for advice when the peer's certificate is refused
  Clock::time_point deadline;
  asio::io_context ioc{1};
  tcp::resolver resolver{ioc};
  MaybeTlsStream stream; // TLS for https://
  asio::steady_timer watchdog{ioc};
  bool resolve_timed_out = false;
  std::optional<core::Result<Response>> result;

  void fail(core::Errc code, std::string message) {
    result = core::Error{code, std::move(message)};
  }
  void failTimeout(std::string_view phase) {
    fail(core::Errc::kTimeout,
         fmt::format("{}: no answer within {} ({})", url.origin(), seconds(spec.timeout), phase));
  }
};

// Resolves and connects; false (with the result set) on failure.
asio::awaitable<bool> connect(Exchange& x) {
  const auto [resolve_error, endpoints] =
      co_await x.resolver.async_resolve(x.url.host, x.url.port, kNoThrow);
  x.watchdog.cancel();
  if (resolve_error) {
    if (x.resolve_timed_out) {
      x.failTimeout("resolving the host name");
    } else {
      x.fail(core::Errc::kUnavailable, fmt::format("cannot resolve '{}' ({}): {}", x.url.host,
                                                   x.url.origin(), resolve_error.message()));
    }
    co_return false;
  }

  x.stream.tcp().expires_at(x.deadline);
  const auto [connect_error, endpoint] = co_await x.stream.tcp().async_connect(endpoints, kNoThrow);
  if (connect_error == beast::error::timeout) {
    x.failTimeout("connecting");
    co_return false;
  }
  if (connect_error) {
    x.fail(core::Errc::kUnavailable,
           fmt::format("cannot connect to {}: {} — is the gateway running?", x.url.origin(),
                       connect_error.message()));
    co_return false;
  }
  co_return true;
}

// What to do about a failed handshake; `refusal` says why the certificate was refused, if it was.
std::string handshakeAdvice(const Exchange& x, const std::optional<CertificateRefusal>& refusal) {
  if (!refusal) return fmt::format("does {} serve HTTPS? (use http:// if not)", x.url.authority());
  switch (refusal->kind) {
  case CertificateRefusal::Kind::kWrongName:
    return fmt::format("the certificate does not name {}: use a URL with a name it carries, or "
                       "give the server a certificate for {}",
                       x.url.host, x.url.host);
  case CertificateRefusal::Kind::kOutOfDate:
    return "renew the server's certificate (forge certs renew), or check this machine's clock";
  case CertificateRefusal::Kind::kUntrusted:
    break;
  }
  if (x.ca_file.empty()) return "pass the CA with FORGE_CA_FILE=/path/ca.pem";
  return fmt::format("{} does not hold the CA that signed it (FORGE_CA_FILE)", x.ca_file);
}

// The TLS handshake, verifying the certificate and its name; false (with the result set) on
// failure.
asio::awaitable<bool> handshake(Exchange& x) {
  auto& tls = *x.stream.tls();
  if (auto named = x.spec.verify_peer ? expectPeerName(tls, x.url.host) : core::Status(core::Ok{});
      !named) {
    x.result = named.error();
    co_return false;
  }
  const auto [error] = co_await tls.async_handshake(asio::ssl::stream_base::client, kNoThrow);
  if (!error) co_return true;
  if (error == beast::error::timeout) {
    x.failTimeout("the TLS handshake");
    co_return false;
  }
  const auto refusal = certificateRefusal(tls);
  const std::string why =
      refusal ? fmt::format("certificate verify failed ({})", refusal->reason) : error.message();
  x.fail(core::Errc::kUnavailable, fmt::format("TLS handshake with {} failed: {} — {}",
                                               x.url.origin(), why, handshakeAdvice(x, refusal)));
  co_return false;
}

// Sends the request and reads the whole answer, over plain TCP or TLS alike.
asio::awaitable<void> exchange(Exchange& x) {
  http::request<http::string_body> request{verbOf(x.spec.method), x.url.target, 11};
  for (const auto& [name, value] : x.spec.headers)
    request.insert(name, value);
  if (request.find(http::field::host) == request.end())
    request.set(http::field::host, x.url.hostHeader());
  if (request.find(http::field::user_agent) == request.end())
    request.set(http::field::user_agent, fmt::format("forge/{}", core::kVersion));
  request.body() = x.spec.body;
  request.prepare_payload();
  const auto [write_error, written] = co_await http::async_write(x.stream, request, kNoThrow);
  (void)written;
  if (write_error == beast::error::timeout) {
    x.failTimeout("sending the request");
    co_return;
  }
  if (write_error) {
    x.fail(core::Errc::kUnavailable,
           fmt::format("sending to {} failed: {}", x.url.origin(), write_error.message()));
    co_return;
  }

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(kMaxHeaderBytes);
  parser.body_limit(x.spec.max_body_bytes);
  if (x.spec.method == Method::kHead) parser.skip(true);
  const auto [read_error, read] = co_await http::async_read(x.stream, buffer, parser, kNoThrow);
  (void)read;
  if (read_error == beast::error::timeout) {
    x.failTimeout("reading the answer");
    co_return;
  }
  if (read_error == http::error::body_limit) {
    x.fail(core::Errc::kBadGateway, fmt::format("the answer of {} is larger than {} bytes",
                                                x.url.origin(), x.spec.max_body_bytes));
    co_return;
  }
  if (read_error && read_error != http::error::end_of_stream &&
      read_error.category() == http::make_error_code(http::error::bad_version).category()) {
    x.fail(core::Errc::kBadGateway,
           fmt::format("{} answered with invalid HTTP: {}", x.url.origin(), read_error.message()));
    co_return;
  }
  if (read_error) {
    // A TLS server closes on a plain request without a word: say what that usually means.
    const bool maybe_tls = !x.url.secure && read_error == http::error::end_of_stream;
    x.fail(core::Errc::kUnavailable,
           fmt::format("the connection to {} broke before the answer was complete: {}{}",
                       x.url.origin(), read_error.message(),
                       maybe_tls ? " (if it serves HTTPS, use an https:// URL)" : ""));
    co_return;
  }

  auto message = parser.release();
  Response response;
  response.status = static_cast<int>(message.result_int());
  for (const auto& field : message)
    response.headers.add(std::string(field.name_string()), std::string(field.value()));
  response.body = std::move(message.body());
  x.result = std::move(response);
  // No TLS close_notify: the answer is complete, and waiting for the peer's would only cost time.
  beast::error_code ignored;
  x.stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

// Each co_await is a statement of its own: GCC 12 miscompiles one inside a condition (the
// coroutine hits an illegal instruction).
asio::awaitable<void> run(Exchange& x) {
  const bool connected = co_await connect(x);
  if (!connected) co_return;
  if (x.stream.secure()) {
    const bool secured = co_await handshake(x);
    if (!secured) co_return;
  }
  co_await exchange(x);
}

} // namespace

core::Result<Response> fetch(const HttpRequestSpec& spec) {
  auto url = parseUrl(spec.url);
  if (!url) return url.error();
  if (verbOf(spec.method) == http::verb::unknown)
    return core::Error{core::Errc::kInvalidParams, "unsupported HTTP method"};
  for (const auto& [name, value] : spec.headers) {
    if (name.empty() || hasSpaceOrControl(name) || !isHeaderSafe(value)) {
      return core::Error{core::Errc::kInvalidParams,
                         fmt::format("header '{}': invalid name or value", name)};
    }
  }

  const std::string ca_file = caFileOf(spec);
  TlsContextPtr tls;
  if (url->secure) {
    auto context = makeClientTlsContext(ca_file);
    if (!context) return context.error();
    if (!spec.verify_peer) (*context)->set_verify_mode(asio::ssl::verify_none);
    tls = std::move(*context);
  }

  Exchange x(spec, std::move(*url), std::move(tls), ca_file);
  x.watchdog.expires_at(x.deadline);
  x.watchdog.async_wait([&x](const boost::system::error_code& ec) {
    if (ec) return; // cancelled: resolution finished in time
    x.resolve_timed_out = true;
    x.resolver.cancel();
  });
  asio::co_spawn(x.ioc, run(x), asio::detached);
  x.ioc.run();
  if (!x.result)
    return core::Error{core::Errc::kInternal, "the HTTP exchange ended without a result"};
  return std::move(*x.result);
}

} // namespace forge::net
