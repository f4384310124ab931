// Parsing what a connection's buffer already holds, for the .cc files that read HTTP with Beast
// (the server, the upstream channel). Beast's read operations parse the buffer first too, but
// even when it holds the whole message they finish through the event loop: a post, an executor
// copy and a coroutine resumption for each of the header and the body. A request or an answer
// that arrived in one segment, the usual case, needs none of that.
#pragma once

#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

namespace forge::net {

// Feeds `parser` the bytes of `buffer`, consuming what it takes, until the parser is done (or,
// when it is not eager, has the whole header), wants more bytes than the buffer holds (`ec`
// clear), or fails (`ec` set; http::error::need_buffer for a full buffer_body). Returns whether
// the phase is complete: the parser is done, or not eager and its header is done.
template <bool isRequest>
bool parseBuffered(boost::beast::http::basic_parser<isRequest>& parser,
                   boost::beast::flat_buffer& buffer, boost::beast::error_code& ec) {
  namespace http = boost::beast::http;
  ec = {};
  const auto complete = [&parser] {
    return parser.is_done() || (!parser.eager() && parser.is_header_done());
  };
  while (!complete() && buffer.size() > 0) {
    const std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == http::error::need_more) {
      ec = {};
      return false;
    }
    if (ec || used == 0) return false;
  }
  return complete();
}

} // namespace forge::net
