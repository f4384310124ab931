#include "net/plain_http.h"

#include <array>
#include <charconv>

namespace forge::net {
namespace {

// tchar of RFC 9110, section 5.6.2: what field names and methods are made of.
constexpr std::array<bool, 256> kTokenChars = [] {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c)
    table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c)
    table[c] = table[c - 'a' + 'A'] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~"))
    table[static_cast<unsigned char>(c)] = true;
  return table;
}();

// What a field's value may hold: visible characters, space, tab and bytes from 0x80 (no other
// control character, and no CR or LF: the line ends at the first CR).
constexpr std::array<bool, 256> kValueChars = [] {
  std::array<bool, 256> table{};
  for (int c = 0x20; c < 0x100; ++c)
    table[c] = c != 0x7f;
  table['\t'] = true;
  return table;
}();

bool isTokenChar(char c) { return kTokenChars[static_cast<unsigned char>(c)]; }
bool isValueChar(char c) { return kValueChars[static_cast<unsigned char>(c)]; }

bool isTargetChar(char c) { return c > 0x20 && c < 0x7f; }

bool isSpace(char c) { return c == ' ' || c == '\t'; }

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && isSpace(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && isSpace(text.back()))
    text.remove_suffix(1);
  return text;
}

// The Connection field's say: close (false), keep-alive (true), or anything else (nullopt).
std::optional<bool> connectionKeepsAlive(std::string_view value) {
  bool keep = true;
  for (;;) {
    const auto comma = value.find(',');
    const auto option = trimmed(value.substr(0, comma));
    if (equalsIgnoreCase(option, "close")) {
      keep = false;
    } else if (!equalsIgnoreCase(option, "keep-alive")) {
      return std::nullopt;
    }
    if (comma == std::string_view::npos) return keep;
    value.remove_prefix(comma + 1);
  }
}

// Reads the request line "METHOD SP target SP HTTP/1.1" (without its CRLF) into `request`.
bool readRequestLine(std::string_view line, Request& request) {
  const auto space = line.find(' ');
  if (space == std::string_view::npos) return false;
  const auto method = parseMethod(line.substr(0, space));
  if (method == Method::kOther) return false;
  line.remove_prefix(space + 1);
  constexpr std::string_view kVersion = " HTTP/1.1";
  if (line.size() <= kVersion.size() || line.substr(line.size() - kVersion.size()) != kVersion)
    return false;
  const auto target = line.substr(0, line.size() - kVersion.size());
  for (char c : target) {
    if (!isTargetChar(c)) return false;
  }
  request.method = method;
  request.target.assign(target);
  return true;
}

// What the fields say about the body and the connection.
struct Framing {
  std::optional<std::uint64_t> content_length;
  bool keep_alive = true;
};

// The fields whose meaning Beast acts on, which a plain request may hold (Content-Length,
// Connection) or must not (the others).
enum class Special { kNone, kContentLength, kConnection, kRefused };

Special specialField(std::string_view name) {
  // By length first: most names are none of these, and most have another length.
  switch (name.size()) {
  case 14:
    return equalsIgnoreCase(name, "Content-Length") ? Special::kContentLength : Special::kNone;
  case 10:
    return equalsIgnoreCase(name, "Connection") ? Special::kConnection : Special::kNone;
  case 17:
    return equalsIgnoreCase(name, "Transfer-Encoding") ? Special::kRefused : Special::kNone;
  case 16:
    return equalsIgnoreCase(name, "Proxy-Connection") ? Special::kRefused : Special::kNone;
  case 6:
    return equalsIgnoreCase(name, "Expect") ? Special::kRefused : Special::kNone;
  case 7:
    return equalsIgnoreCase(name, "Upgrade") ? Special::kRefused : Special::kNone;
  default:
    return Special::kNone;
  }
}

// Reads one field line (without its CRLF): what it says about framing into `framing`, and its
// name and value to `on_field`; false when it is not plain.
template <class OnField>
bool readField(std::string_view line, Framing& framing, OnField&& on_field) {
  std::size_t colon = 0;
  while (colon < line.size() && isTokenChar(line[colon]))
    ++colon;
  if (colon == 0 || colon == line.size() || line[colon] != ':') return false;
  const auto name = line.substr(0, colon);
  const auto raw_value = line.substr(colon + 1);
  for (char c : raw_value) {
    if (!isValueChar(c)) return false;
  }
  const auto value = trimmed(raw_value);
  switch (specialField(name)) {
  case Special::kNone:
    break;
  case Special::kContentLength: {
    std::uint64_t length = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
    if (framing.content_length || value.empty() || ec != std::errc() ||
        end != value.data() + value.size()) {
      return false;
    }
    framing.content_length = length;
    break;
  }
  case Special::kConnection: {
    const auto keep = connectionKeepsAlive(value);
    if (!keep) return false;
    framing.keep_alive = framing.keep_alive && *keep;
    break;
  }
  case Special::kRefused:
    return false;
  }
  on_field(name, value);
  return true;
}

// The head at the start of `bytes`: its lines (each with its CRLF) and where the body starts;
// nullopt while it has not all arrived or when it is `header_limit` bytes or more.
struct Head {
  std::string_view lines;
  std::size_t body_start = 0;
};

std::optional<Head> findHead(std::string_view bytes, std::size_t header_limit) {
  const auto end = bytes.find("\r\n\r\n");
  if (end == std::string_view::npos || end + 4 >= header_limit) return std::nullopt;
  return Head{bytes.substr(0, end + 2), end + 4};
}

// Reads the start line with `start`, then each field with readField(); false at the first line
// that is not plain.
template <class OnStart, class OnField>
bool readHead(std::string_view lines, Framing& framing, OnStart&& start, OnField&& on_field) {
  std::size_t at = 0;
  for (bool first = true; at < lines.size(); first = false) {
    const auto end = lines.find("\r\n", at);
    const auto line = lines.substr(at, end - at);
    // A bare CR or LF inside a line is refused by both readers (not a value character).
    if (!(first ? start(line) : readField(line, framing, on_field))) return false;
    at = end + 2;
  }
  return true;
}

// The body that follows a head whose fields said `framing`, when all of it is in `bytes` and
// within `body_limit`.
std::optional<std::string_view> wholeBody(std::string_view bytes, std::size_t body_start,
                                          const Framing& framing, std::uint64_t body_limit) {
  const std::uint64_t length = framing.content_length.value_or(0);
  if (length > body_limit || length > bytes.size() - body_start) return std::nullopt;
  return bytes.substr(body_start, static_cast<std::size_t>(length));
}

// Reads the status line "HTTP/1.1 SP 3DIGIT SP reason" (without its CRLF) of a 2xx answer with a
// body: not 204, nor any other status, which Beast reads with rules of their own.
bool readStatusLine(std::string_view line, int& status) {
  constexpr std::string_view kVersion = "HTTP/1.1 ";
  if (line.size() < kVersion.size() + 4 || line.substr(0, kVersion.size()) != kVersion ||
      line[kVersion.size() + 3] != ' ') {
    return false;
  }
  const auto code = line.substr(kVersion.size(), 3);
  if (code[0] != '2' || code[1] < '0' || code[1] > '9' || code[2] < '0' || code[2] > '9')
    return false;
  status = 200 + (code[1] - '0') * 10 + (code[2] - '0');
  if (status == 204) return false;
  for (char c : line.substr(kVersion.size() + 4)) {
    if (!isValueChar(c)) return false;
  }
  return true;
}

} // namespace

std::optional<PlainRequest> readPlainRequest(std::string_view bytes, std::size_t header_limit,
                                             std::uint64_t body_limit) {
  const auto head = findHead(bytes, header_limit);
  if (!head) return std::nullopt;
  auto request = std::make_shared<Request>();
  Framing framing;
  const bool plain = readHead(
      head->lines, framing, [&](std::string_view line) { return readRequestLine(line, *request); },
      [&](std::string_view name, std::string_view value) {
        request->headers.add(std::string(name), std::string(value));
      });
  if (!plain) return std::nullopt;
  const auto body = wholeBody(bytes, head->body_start, framing, body_limit);
  if (!body) return std::nullopt;
  request->body.assign(*body);
  return PlainRequest{std::move(request), head->body_start + body->size(), framing.keep_alive};
}

PlainAnswer::Outcome readPlainAnswer(std::string_view bytes, std::size_t header_limit,
                                     std::uint64_t body_limit, PlainAnswer& answer) {
  const auto head = findHead(bytes, header_limit);
  if (!head) {
    const bool more_to_come = bytes.size() < header_limit;
    return more_to_come ? PlainAnswer::kIncomplete : PlainAnswer::kNotPlain;
  }
  answer = PlainAnswer{};
  Framing framing;
  bool typed = false;
  bool sessioned = false;
  const bool plain = readHead(
      head->lines, framing,
      [&](std::string_view line) { return readStatusLine(line, answer.status); },
      [&](std::string_view name, std::string_view value) {
        // The first of each counts, even empty, as with Beast's fields.
        if (!typed && equalsIgnoreCase(name, "Content-Type")) {
          typed = true;
          answer.content_type = value;
        } else if (!sessioned && equalsIgnoreCase(name, "Mcp-Session-Id")) {
          sessioned = true;
          answer.session_id = value;
        }
      });
  // An answer without Content-Length ends when the connection does: Beast's to read.
  if (!plain || !framing.content_length) return PlainAnswer::kNotPlain;
  const auto body = wholeBody(bytes, head->body_start, framing, body_limit);
  if (!body) return PlainAnswer::kNotPlain;
  answer.body = *body;
  answer.size = head->body_start + body->size();
  answer.keep_alive = framing.keep_alive;
  return PlainAnswer::kPlain;
}

} // namespace forge::net
