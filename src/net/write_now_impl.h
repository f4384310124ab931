// Writing to a socket without a turn through the event loop, for the .cc files that answer and
// send over TCP (the server, the upstream channel). Asio's async_write sends at once when the
// socket can take the bytes, but still finishes through the event loop: a post, a scheduler turn
// and a coroutine resumption per write. A request or an answer of a few KiB, which the socket
// almost always takes whole, needs none of that.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

namespace forge::net {

// Prepares `socket` for writeNow(): its writes return at once instead of waiting for room.
// Asio's asynchronous operations are unaffected.
inline void allowWriteNow(boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.non_blocking(true, ignored);
}

// Writes as much of `buffers` as `socket` (prepared by allowWriteNow()) takes now, and returns
// how much that was: all of it in the usual case, less when the socket's buffer is full (`ec`
// clear: the caller writes the rest asynchronously), or 0 with `ec` set when the write failed.
template <class ConstBuffers>
std::size_t writeNow(boost::asio::ip::tcp::socket& socket, const ConstBuffers& buffers,
                     boost::system::error_code& ec) {
  const std::size_t written = socket.write_some(buffers, ec);
  if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) ec = {};
  return written;
}

} // namespace forge::net
