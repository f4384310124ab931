// ResponseParser: an incremental HTTP/1.1 response reader for the load generator. It reads one
// response at a time from a keep-alive connection: status line, the few headers MCP needs
// (Content-Length, Transfer-Encoding, Content-Type, Mcp-Session-Id, Connection) and the body,
// whether sized, chunked (SSE streams of the npm peers) or delimited by the peer closing.
// It trusts its peers (servers under test on loopback) only as far as not to crash: anything it
// cannot read is kError and the connection is dropped.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace forge::bench {

class ResponseParser {
public:
  enum class State { kIncomplete, kComplete, kError };

  // Appends bytes read from the socket and parses as far as they go. Bytes past the end of the
  // response stay buffered for the next one (a peer may pipeline nothing, but be safe).
  State feed(std::string_view data);
  // The peer closed the connection: a response without a length ends here.
  State finishAtEof();
  // Forgets the response read so far, keeping buffered bytes of the next one.
  void next();

  int status() const { return status_; }
  const std::string& body() const { return body_; }
  const std::string& sessionId() const { return session_id_; }
  bool eventStream() const { return event_stream_; }
  // The peer said Connection: close (or spoke HTTP/1.0).
  bool closes() const { return closes_; }

private:
  enum class Phase { kHeaders, kSized, kChunkSize, kChunkData, kChunkTrailer, kUntilEof, kDone };

  State parse();
  bool parseHeaders(std::string_view head);
  void noteHeader(std::string_view name, std::string_view value);
  State parseSized();
  State parseChunks();

  std::string buffer_;
  std::size_t offset_ = 0; // parsed bytes at the front of buffer_
  Phase phase_ = Phase::kHeaders;
  int status_ = 0;
  std::size_t remaining_ = 0; // body bytes still to come (sized body, current chunk)
  bool chunked_ = false;
  bool has_length_ = false;
  bool event_stream_ = false;
  bool closes_ = false;
  std::string session_id_;
  std::string body_;
};

} // namespace forge::bench
