// DESIGN. A recursive-descent validator of strict JSON (RFC 8259), in the same order as the
// text, that gives up (nothing) wherever it is not sure to agree with Boost.JSON's parser: it
// refuses a little more than that parser does (see scanResult() in the header), never less.
// Strings, the bulk of a tool's result, are checked 16 bytes at a time (SSE2) for the bytes
// that need a closer look: the closing quote, a backslash, a control character, and bytes from
// 0x80, whose UTF-8 is then checked byte by byte against the well-formed sequences of the Unicode
// standard (table 3-7). The differential unit tests and mcp_message_fuzzer hold it to Boost.JSON.
#include "mcp/result_scan.h"

#include <charconv>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace forge::mcp {
namespace {

// Boost.JSON refuses nesting deeper than 32 (parse_options::max_depth); this stays clear of it.
constexpr int kMaxDepth = 30;
// Digits enough for any double without an exponent to be finite (DBL_MAX has 309).
constexpr std::ptrdiff_t kMaxNumberLength = 300;

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isHexDigit(char c) { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int hexValue(char c) {
  if (isDigit(c)) return c - '0';
  return (c | 0x20) - 'a' + 10;
}

#if defined(__SSE2__)
// A mask of the bytes of p[0..16) that skipPlainChars() stops at.
__m128i specialBytes(const char* p) {
  const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i quote = _mm_cmpeq_epi8(chunk, _mm_set1_epi8('"'));
  const __m128i backslash = _mm_cmpeq_epi8(chunk, _mm_set1_epi8('\\'));
  // Compared as signed bytes, everything below 0x20 is 0x00-0x1f or 0x80-0xff.
  const __m128i below_space = _mm_cmplt_epi8(chunk, _mm_set1_epi8(0x20));
  return _mm_or_si128(_mm_or_si128(quote, backslash), below_space);
}
#endif

// The first byte from `p` that is a quote, a backslash, below 0x20 or from 0x80; `end` if none.
// Past a first block of 16 bytes (a key, a short string), 64 at a time.
const char* skipPlainChars(const char* p, const char* end) {
#if defined(__SSE2__)
  while (end - p >= 16) {
    if (const int mask = _mm_movemask_epi8(specialBytes(p)); mask != 0) {
      return p + __builtin_ctz(static_cast<unsigned>(mask));
    }
    p += 16;
    while (end - p >= 64) {
      const __m128i any = _mm_or_si128(_mm_or_si128(specialBytes(p), specialBytes(p + 16)),
                                       _mm_or_si128(specialBytes(p + 32), specialBytes(p + 48)));
      if (_mm_movemask_epi8(any) != 0) break; // the 16-byte steps find which byte
      p += 64;
    }
  }
#endif
  for (; p < end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) return p;
  }
  return end;
}

class Scanner {
public:
  explicit Scanner(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  std::optional<ScannedResult> answer() {
    space();
    if (!take('{')) return std::nullopt;
    space();
    bool version = false;
    bool id = false;
    bool result = false;
    do {
      std::string_view key;
      if (!plainKey(key)) return std::nullopt;
      if (key == "jsonrpc") {
        if (version || !versionValue()) return std::nullopt;
        version = true;
      } else if (key == "id") {
        if (id || !idValue()) return std::nullopt;
        id = true;
      } else if (key == "result") {
        if (result || !resultValue()) return std::nullopt;
        result = true;
      } else if (key == "method" || key == "params" || key == "error") {
        return std::nullopt; // not an answer with a result
      } else if (!value(1)) {
        return std::nullopt;
      }
      space();
    } while (take(','));
    if (!take('}')) return std::nullopt;
    space();
    if (p_ != end_ || !version || !id || !result) return std::nullopt;
    return std::move(scanned_);
  }

private:
  bool take(char c) {
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }

  void space() {
    // Most texts are written without any: one comparison finds none.
    while (p_ != end_ && static_cast<unsigned char>(*p_) <= ' ') {
      const char c = *p_;
      if (c == '\n' || c == '\r') {
        if (in_result_) scanned_.result_has_line_breaks = true;
      } else if (c != ' ' && c != '\t') {
        return;
      }
      ++p_;
    }
  }

  // A member's key, with no escapes (else not sure what it decodes to), then its colon.
  bool plainKey(std::string_view& key) {
    space();
    const char* start = p_ + 1;
    if (!string()) return false;
    key = std::string_view(start, static_cast<std::size_t>(p_ - 1 - start));
    if (key.find('\\') != std::string_view::npos) return false;
    space();
    if (!take(':')) return false;
    space();
    return true;
  }

  bool versionValue() {
    const char* start = p_;
    return string() && std::string_view(start, static_cast<std::size_t>(p_ - start)) == "\"2.0\"";
  }

  // An id as Boost.JSON reads it: a string without escapes, or an integer that fits int64 (else
  // uint64).
  bool idValue() {
    if (p_ == end_) return false;
    const char* start = p_;
    if (*p_ == '"') {
      if (!string()) return false;
      const std::string_view text(start + 1, static_cast<std::size_t>(p_ - start - 2));
      if (text.find('\\') != std::string_view::npos) return false;
      scanned_.id = json::string(text);
      return true;
    }
    if (!number() || (*start == '-' && p_ - start == 2 && start[1] == '0')) return false; // -0
    for (const char* c = start; c != p_; ++c) {
      if (*c == '.') return false; // a double: not an id
    }
    std::int64_t signed_id = 0;
    if (std::from_chars(start, p_, signed_id).ec == std::errc()) {
      scanned_.id = signed_id;
      return true;
    }
    std::uint64_t unsigned_id = 0;
    if (*start != '-' && std::from_chars(start, p_, unsigned_id).ec == std::errc()) {
      scanned_.id = unsigned_id;
      return true;
    }
    return false;
  }

  bool resultValue() {
    const char* start = p_;
    in_result_ = true;
    const bool valid = p_ != end_ && *p_ == '{' ? object(2, true) : value(1);
    in_result_ = false;
    scanned_.result = std::string_view(start, static_cast<std::size_t>(p_ - start));
    return valid;
  }

  // A value inside a container at `depth` (the top-level object is at 1).
  bool value(int depth) {
    if (p_ == end_) return false;
    switch (*p_) {
    case '{':
      return object(depth + 1, false);
    case '[':
      return array(depth + 1);
    case '"':
      return string();
    case 't':
      return literal("true");
    case 'f':
      return literal("false");
    case 'n':
      return literal("null");
    default:
      return number();
    }
  }

  // An object; `result_object`: the result itself, whose "isError" is read.
  bool object(int depth, bool result_object) {
    if (depth > kMaxDepth || !take('{')) return false;
    space();
    if (take('}')) return true;
    bool is_error_seen = false;
    do {
      std::string_view key;
      if (result_object) {
        if (!plainKey(key)) return false;
        if (key == "isError") {
          if (is_error_seen) return false; // which one counts is the parser's business
          is_error_seen = true;
          if (p_ != end_ && *p_ == 't') scanned_.is_error = true;
        }
      } else {
        space();
        if (!string()) return false;
        space();
        if (!take(':')) return false;
        space();
      }
      if (!value(depth)) return false;
      space();
    } while (take(',') && (space(), true));
    return take('}');
  }

  bool array(int depth) {
    if (depth > kMaxDepth || !take('[')) return false;
    space();
    if (take(']')) return true;
    do {
      space();
      if (!value(depth)) return false;
      space();
    } while (take(','));
    return take(']');
  }

  bool literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::memcmp(p_, word.data(), word.size()) != 0)
      return false;
    p_ += word.size();
    return true;
  }

  // -?(0|[1-9][0-9]*)(.[0-9]+)? : a number with an exponent may be out of a double's range,
  // which Boost.JSON reads as infinity and Forge refuses; those are left to it.
  bool number() {
    const char* start = p_;
    take('-');
    if (p_ == end_ || !isDigit(*p_)) return false;
    if (*p_++ != '0') {
      while (p_ != end_ && isDigit(*p_))
        ++p_;
    }
    if (take('.')) {
      if (p_ == end_ || !isDigit(*p_)) return false;
      while (p_ != end_ && isDigit(*p_))
        ++p_;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) return false;
    return p_ - start <= kMaxNumberLength;
  }

  // A string, from its opening quote to after its closing one.
  bool string() {
    if (!take('"')) return false;
    for (;;) {
      p_ = skipPlainChars(p_, end_);
      if (p_ == end_) return false;
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c < 0x20) return false;
      if (!(c == '\\' ? escape() : utf8())) return false;
    }
  }

  // \" \\ \/ \b \f \n \r \t, or \u with four hex digits that are not a surrogate.
  bool escape() {
    if (end_ - p_ < 2) return false;
    const char c = p_[1];
    if (std::strchr("\"\\/bfnrt", c) != nullptr && c != '\0') {
      p_ += 2;
      return true;
    }
    if (c != 'u' || end_ - p_ < 6) return false;
    int code = 0;
    for (int i = 2; i < 6; ++i) {
      if (!isHexDigit(p_[i])) return false;
      code = code * 16 + hexValue(p_[i]);
    }
    if (code >= 0xd800 && code <= 0xdfff) return false; // pairs are the parser's business
    p_ += 6;
    return true;
  }

  // One well-formed UTF-8 sequence of two to four bytes (Unicode table 3-7).
  bool utf8() {
    const auto byte = [this](std::ptrdiff_t i) {
      return i < end_ - p_ ? static_cast<unsigned char>(p_[i]) : 0;
    };
    const auto in = [](unsigned char c, unsigned char low, unsigned char high) {
      return c >= low && c <= high;
    };
    const unsigned char lead = byte(0);
    int length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xbf;
    if (in(lead, 0xc2, 0xdf)) {
      length = 2;
    } else if (in(lead, 0xe0, 0xef)) {
      length = 3;
      if (lead == 0xe0) low = 0xa0;
      if (lead == 0xed) high = 0x9f;
    } else if (in(lead, 0xf0, 0xf4)) {
      length = 4;
      if (lead == 0xf0) low = 0x90;
      if (lead == 0xf4) high = 0x8f;
    } else {
      return false;
    }
    if (!in(byte(1), low, high)) return false;
    for (int i = 2; i < length; ++i) {
      if (!in(byte(i), 0x80, 0xbf)) return false;
    }
    p_ += length;
    return true;
  }

  const char* p_;
  const char* end_;
  bool in_result_ = false;
  ScannedResult scanned_;
};

} // namespace

std::optional<ScannedResult> scanResult(std::string_view text) { return Scanner(text).answer(); }

} // namespace forge::mcp
