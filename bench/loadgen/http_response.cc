#include "http_response.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace forge::bench {
namespace {

// Response heads larger than this are not from a server we benchmark.
constexpr std::size_t kMaxHead = 64 * 1024;

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool containsIgnoreCase(std::string_view haystack, std::string_view needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                     [](char x, char y) {
                       return std::tolower(static_cast<unsigned char>(x)) ==
                              std::tolower(static_cast<unsigned char>(y));
                     }) != haystack.end();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

} // namespace

ResponseParser::State ResponseParser::feed(std::string_view data) {
  buffer_.append(data);
  return parse();
}

ResponseParser::State ResponseParser::finishAtEof() {
  if (phase_ == Phase::kUntilEof) {
    phase_ = Phase::kDone;
    return State::kComplete;
  }
  return phase_ == Phase::kDone ? State::kComplete : State::kError;
}

void ResponseParser::next() {
  // Keep only what belongs to the next response; the copy is rare (nothing is pipelined).
  buffer_.erase(0, offset_);
  offset_ = 0;
  phase_ = Phase::kHeaders;
  status_ = 0;
  remaining_ = 0;
  chunked_ = has_length_ = event_stream_ = closes_ = false;
  session_id_.clear();
  body_.clear();
}

ResponseParser::State ResponseParser::parse() {
  if (phase_ == Phase::kHeaders) {
    const std::string_view rest(buffer_.data() + offset_, buffer_.size() - offset_);
    const auto end = rest.find("\r\n\r\n");
    if (end == std::string_view::npos)
      return rest.size() > kMaxHead ? State::kError : State::kIncomplete;
    if (!parseHeaders(rest.substr(0, end))) return State::kError;
    offset_ += end + 4;
    // 1xx, 204 and 304 answers have no body; a 202 to a notification carries Content-Length 0.
    if (status_ == 204 || status_ == 304 || (status_ >= 100 && status_ < 200)) {
      phase_ = Phase::kDone;
    } else if (chunked_) {
      phase_ = Phase::kChunkSize;
    } else if (has_length_) {
      phase_ = Phase::kSized;
    } else {
      phase_ = Phase::kUntilEof;
    }
  }
  switch (phase_) {
  case Phase::kSized:
    return parseSized();
  case Phase::kChunkSize:
  case Phase::kChunkData:
  case Phase::kChunkTrailer:
    return parseChunks();
  case Phase::kUntilEof:
    body_.append(buffer_, offset_, std::string::npos);
    offset_ = buffer_.size();
    return State::kIncomplete;
  case Phase::kDone:
    return State::kComplete;
  case Phase::kHeaders:
    break;
  }
  return State::kIncomplete;
}

bool ResponseParser::parseHeaders(std::string_view head) {
  auto line_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, line_end);
  // "HTTP/1.1 200 OK"
  if (status_line.size() < 12 || !status_line.starts_with("HTTP/1.")) return false;
  if (status_line[7] == '0') closes_ = true;
  const char* digits = status_line.data() + 9;
  if (std::from_chars(digits, digits + 3, status_).ec != std::errc()) return false;
  while (line_end != std::string_view::npos) {
    head.remove_prefix(line_end + 2);
    line_end = head.find("\r\n");
    const std::string_view line = head.substr(0, line_end);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    noteHeader(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
  }
  return true;
}

void ResponseParser::noteHeader(std::string_view name, std::string_view value) {
  if (equalsIgnoreCase(name, "content-length")) {
    has_length_ =
        std::from_chars(value.data(), value.data() + value.size(), remaining_).ec == std::errc();
  } else if (equalsIgnoreCase(name, "transfer-encoding")) {
    chunked_ = containsIgnoreCase(value, "chunked");
  } else if (equalsIgnoreCase(name, "content-type")) {
    event_stream_ = containsIgnoreCase(value, "text/event-stream");
  } else if (equalsIgnoreCase(name, "mcp-session-id")) {
    session_id_ = value;
  } else if (equalsIgnoreCase(name, "connection")) {
    closes_ = containsIgnoreCase(value, "close");
  }
}

ResponseParser::State ResponseParser::parseSized() {
  const std::size_t take = std::min(remaining_, buffer_.size() - offset_);
  body_.append(buffer_, offset_, take);
  offset_ += take;
  remaining_ -= take;
  if (remaining_ > 0) return State::kIncomplete;
  phase_ = Phase::kDone;
  return State::kComplete;
}

// Chunked transfer coding (RFC 9112 §7.1): "<hex size>[;ext]\r\n<data>\r\n" ... "0\r\n\r\n".
ResponseParser::State ResponseParser::parseChunks() {
  for (;;) {
    const std::string_view rest(buffer_.data() + offset_, buffer_.size() - offset_);
    if (phase_ == Phase::kChunkSize) {
      const auto eol = rest.find("\r\n");
      if (eol == std::string_view::npos)
        return rest.size() > kMaxHead ? State::kError : State::kIncomplete;
      std::size_t size = 0;
      if (std::from_chars(rest.data(), rest.data() + eol, size, 16).ec != std::errc())
        return State::kError;
      offset_ += eol + 2;
      remaining_ = size;
      phase_ = size == 0 ? Phase::kChunkTrailer : Phase::kChunkData;
    } else if (phase_ == Phase::kChunkData) {
      // The chunk's data and the CRLF after it.
      if (rest.size() < remaining_ + 2) {
        const std::size_t take = rest.size() >= remaining_ ? remaining_ : rest.size();
        body_.append(rest.data(), take);
        offset_ += take;
        remaining_ -= take;
        return State::kIncomplete;
      }
      body_.append(rest.data(), remaining_);
      offset_ += remaining_ + 2;
      remaining_ = 0;
      phase_ = Phase::kChunkSize;
    } else {
      // Trailer fields (none expected), then the blank line.
      const auto eol = rest.find("\r\n");
      if (eol == std::string_view::npos) return State::kIncomplete;
      offset_ += eol + 2;
      if (eol == 0) {
        phase_ = Phase::kDone;
        return State::kComplete;
      }
    }
  }
}

} // namespace forge::bench
