// Private to implementation files: the reader of an HTTP request with Beast, for the requests
// readPlainRequest() leaves to it; and whole-message reads with Beast that the tests and the
// fuzzer compare with readPlainRequest() and readPlainAnswer().
//
// Beast parses (limits, chunked bodies, keep-alive); each field and each piece of the body lands
// straight in the Request handlers read. Beast's own message type would cost a field allocation
// and a tree insertion per header, and then a copy of everything into the Request.
#pragma once

#include "net/http.h"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/optional/optional.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace forge::net {

class RequestReader final : public boost::beast::http::basic_parser<true> {
public:
  RequestReader() : request_(std::make_shared<Request>()) {}

  // The request read so far; complete once is_done().
  RequestPtr takeRequest() { return std::move(request_); }
  bool expectsContinue() const { return expects_continue_; }

private:
  void on_request_impl(boost::beast::http::verb, boost::beast::string_view method,
                       boost::beast::string_view target, int, boost::beast::error_code&) override {
    request_->method = parseMethod(std::string_view(method));
    request_->target.assign(target.data(), target.size());
  }
  void on_response_impl(int, boost::beast::string_view, int,
                        boost::beast::error_code& ec) override {
    ec = boost::beast::http::error::bad_version; // a request parser is never given a status line
  }
  void on_field_impl(boost::beast::http::field name, boost::beast::string_view name_string,
                     boost::beast::string_view value, boost::beast::error_code&) override {
    if (name == boost::beast::http::field::expect && boost::beast::iequals(value, "100-continue"))
      expects_continue_ = true;
    request_->headers.add(std::string(name_string), std::string(value));
  }
  void on_header_impl(boost::beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         boost::beast::error_code&) override {
    // The parser has checked the length against the body limit already.
    if (content_length) request_->body.reserve(static_cast<std::size_t>(*content_length));
  }
  std::size_t on_body_impl(boost::beast::string_view body, boost::beast::error_code&) override {
    request_->body.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view,
                            boost::beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                                 boost::beast::error_code& ec) override {
    return on_body_impl(body, ec);
  }
  void on_finish_impl(boost::beast::error_code&) override {}

  RequestPtr request_;
  bool expects_continue_ = false;
};

// Feeds `parser` (made eager and given its limits) the message at the start of `bytes` until it
// is done; the bytes it took, and `ec` set when it refused them or they ended first (need_more).
template <class Parser>
std::size_t putWhole(Parser& parser, std::string_view bytes, std::size_t header_limit,
                     std::uint64_t body_limit, boost::beast::error_code& ec) {
  parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(header_limit, UINT32_MAX)));
  parser.body_limit(body_limit);
  parser.eager(true);
  std::size_t taken = 0;
  while (!parser.is_done()) {
    const std::size_t used =
        parser.put(boost::asio::buffer(bytes.data() + taken, bytes.size() - taken), ec);
    taken += used;
    if (ec) return taken;
    if (used == 0) {
      ec = boost::beast::http::error::need_more;
      return taken;
    }
  }
  return taken;
}

// A whole request at the start of `bytes` as RequestReader reads it, with the server's limits:
// what readPlainRequest() must agree with, for the tests and the fuzzer that compare the two.
struct BeastRead {
  RequestPtr request; // null unless the request was read whole
  std::size_t size = 0;
  bool keep_alive = false;
  boost::beast::error_code ec; // need_more: the bytes end before the request does
};

inline BeastRead readWhole(std::string_view bytes, std::size_t header_limit,
                           std::uint64_t body_limit) {
  RequestReader parser;
  BeastRead read;
  read.size = putWhole(parser, bytes, header_limit, body_limit, read.ec);
  if (read.ec) return read;
  read.keep_alive = parser.keep_alive();
  read.request = parser.takeRequest();
  return read;
}

// An answer read whole by Beast's response parser, with what readPlainAnswer() reports of it.
struct BeastAnswer {
  int status = 0;
  std::string content_type; // the first Content-Type
  std::string session_id;   // the first Mcp-Session-Id
  std::string body;
  std::size_t size = 0;
  bool keep_alive = false;
  boost::beast::error_code ec; // need_more: the bytes end before the answer does
};

inline BeastAnswer readWholeAnswer(std::string_view bytes, std::size_t header_limit,
                                   std::uint64_t body_limit) {
  boost::beast::http::response_parser<boost::beast::http::string_body> parser;
  BeastAnswer read;
  read.size = putWhole(parser, bytes, header_limit, body_limit, read.ec);
  if (read.ec) return read;
  const auto& message = parser.get();
  read.status = message.result_int();
  if (const auto it = message.find(boost::beast::http::field::content_type); it != message.end())
    read.content_type = it->value();
  if (const auto it = message.find("Mcp-Session-Id"); it != message.end())
    read.session_id = it->value();
  read.body = message.body();
  read.keep_alive = parser.keep_alive();
  return read;
}

} // namespace forge::net
