// The blocking HTTP client (http_client.h): Beast over a plain TCP socket, run on a private
// io_context by one coroutine. One deadline covers the whole exchange: a timer cancels name
// resolution, and the tcp_stream's expiry (expires_at) covers connect, write and read.
#include "net/http_client.h"
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
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include <algorithm>
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

// Everything one exchange uses; it outlives the io_context's run().
struct Exchange {
  const HttpRequestSpec& spec;
  Url url;
  Clock::time_point deadline;
  asio::io_context ioc{1};
  tcp::resolver resolver{ioc};
  beast::tcp_stream stream{ioc};
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

asio::awaitable<void> run(Exchange& x) {
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
    co_return;
  }

  x.stream.expires_at(x.deadline);
  const auto [connect_error, endpoint] = co_await x.stream.async_connect(endpoints, kNoThrow);
  if (connect_error == beast::error::timeout) {
    x.failTimeout("connecting");
    co_return;
  }
  if (connect_error) {
    x.fail(core::Errc::kUnavailable,
           fmt::format("cannot connect to {}: {} — is the gateway running?", x.url.origin(),
                       connect_error.message()));
    co_return;
  }

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
    x.fail(core::Errc::kUnavailable, fmt::format("the connection to {} broke before the answer "
                                                 "was complete: {}",
                                                 x.url.origin(), read_error.message()));
    co_return;
  }

  auto message = parser.release();
  Response response;
  response.status = static_cast<int>(message.result_int());
  for (const auto& field : message)
    response.headers.add(std::string(field.name_string()), std::string(field.value()));
  response.body = std::move(message.body());
  x.result = std::move(response);
  beast::error_code ignored;
  x.stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
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

  Exchange x{spec, std::move(*url), Clock::now() + spec.timeout};
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
