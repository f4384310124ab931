// Positions in JSON text that is already known to be valid (a parser has checked it): where a
// value ends, where a member of an object is. For messages the gateway passes on as they were
// written, so that their bulk is never built into a DOM and written out again. None of these
// functions validates anything; given text that is not valid JSON they return nonsense, never
// read out of bounds.
#pragma once

#include <string>
#include <string_view>

namespace forge::mcp::json_text {

inline bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
inline std::size_t skipSpace(std::string_view text, std::size_t at) {
  while (at < text.size() && isSpace(text[at]))
    ++at;
  return at;
}
// `at` is on an opening quote; returns the position after the closing one.
std::size_t skipString(std::string_view text, std::size_t at);
// `at` is on the first character of a value; returns the position after it.
std::size_t skipValue(std::string_view text, std::size_t at);

// A member of a JSON object, looked up by walking the object's top level.
struct Member {
  enum class Lookup {
    kFound,
    kAbsent,
    kUnknown, // a key is written with escapes: not worth decoding here (ask a DOM)
  };
  Lookup lookup = Lookup::kUnknown;
  std::string_view value; // kFound: the value's text
};

// The first member called `key` of the object `object_text`. With `last_is_key`, the caller
// knows `key` is the last member: then it ends where the object does, and the walk stops there.
Member findMember(std::string_view object_text, std::string_view key, bool last_is_key = false);

// Calls `visit(key, value)` for each member of the object, in order, until it returns false.
// Returns false when the walk met a key written with escapes (and stopped there) or text that is
// not an object. A member called `last_key` is known to be the object's last: its value ends
// where the object does (only the members before it are walked through).
template <class Visit>
bool walkMembers(std::string_view object_text, Visit&& visit, std::string_view last_key = {});

// `object_text` with the value of `member` (found in it by findMember()) replaced by `value`.
std::string replaceMember(std::string_view object_text, const Member& member,
                          std::string_view value);

// Line breaks turned into spaces: valid JSON has them between tokens only, never inside a string,
// so the text means the same and fits on one line (stdio, an SSE data line).
void onOneLine(std::string& text);

template <class Visit>
bool walkMembers(std::string_view text, Visit&& visit, std::string_view last_key) {
  std::size_t at = skipSpace(text, 0);
  if (at >= text.size() || text[at] != '{') return false;
  at = skipSpace(text, at + 1);
  if (at < text.size() && text[at] == '}') return true;
  while (true) {
    if (at >= text.size() || text[at] != '"') return false;
    const std::size_t key_end = skipString(text, at);
    const std::string_view key = text.substr(at + 1, key_end - at - 2);
    if (key.find('\\') != std::string_view::npos) return false;
    const std::size_t value_start = skipSpace(text, skipSpace(text, key_end) + 1);
    if (!last_key.empty() && key == last_key) {
      std::size_t end = text.find_last_of('}');
      while (end > value_start && isSpace(text[end - 1]))
        --end;
      visit(key, text.substr(value_start, end - value_start));
      return true;
    }
    const std::size_t value_end = skipValue(text, value_start);
    if (!visit(key, text.substr(value_start, value_end - value_start))) return true;
    at = skipSpace(text, value_end);
    if (at >= text.size() || text[at] != ',') return at < text.size() && text[at] == '}';
    at = skipSpace(text, at + 1);
  }
}

} // namespace forge::mcp::json_text
