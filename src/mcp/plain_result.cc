// readPlainResult(): an answer the gateway only forwards is validated and its id read, but its
// result is not built into a DOM and written out again. Two passes over the text: Boost.JSON's
// SAX parser validates it and reads the top level (id, which members are there, a tool result's
// isError); then a scanner that may trust the text finds where the result's value starts and ends.
#include "mcp/message.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>

#include <cstdint>

namespace forge::mcp {
namespace {

using ErrorCode = boost::system::error_code;
using StringView = boost::json::string_view;

// What the validating pass learns about the top level of one JSON text.
class TopLevel {
public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  bool on_document_begin(ErrorCode&) { return true; }
  bool on_document_end(ErrorCode&) { return true; }
  bool on_object_begin(ErrorCode&) { return open(true); }
  bool on_object_end(std::size_t, ErrorCode&) { return close(); }
  bool on_array_begin(ErrorCode&) { return open(false); }
  bool on_array_end(std::size_t, ErrorCode&) { return close(); }
  bool on_key_part(StringView part, std::size_t, ErrorCode&) {
    key_.append(part.data(), part.size());
    return true;
  }
  bool on_key(StringView part, std::size_t, ErrorCode&) {
    key_.append(part.data(), part.size());
    member_ = memberOf(depth_, key_);
    key_.clear();
    return true;
  }
  bool on_string_part(StringView part, std::size_t, ErrorCode&) {
    if (depth_ == 1) text_.append(part.data(), part.size());
    return true;
  }
  bool on_string(StringView part, std::size_t, ErrorCode&) {
    if (depth_ == 1) {
      text_.append(part.data(), part.size());
      if (member_ == Member::kId) id_ = json::string(text_);
      if (member_ == Member::kVersion) version_ok_ = text_ == "2.0";
      text_.clear();
    }
    return scalar();
  }
  bool on_number_part(StringView, ErrorCode&) { return true; }
  bool on_int64(std::int64_t value, StringView, ErrorCode&) {
    if (member_ == Member::kId && depth_ == 1) id_ = value;
    return scalar();
  }
  bool on_uint64(std::uint64_t value, StringView, ErrorCode&) {
    if (member_ == Member::kId && depth_ == 1) id_ = value;
    return scalar();
  }
  bool on_double(double, StringView, ErrorCode&) { return scalar(); }
  bool on_bool(bool value, ErrorCode&) {
    if (member_ == Member::kIsError && depth_ == 2 && in_result_) is_error_ = value;
    return scalar();
  }
  bool on_null(ErrorCode&) { return scalar(); }
  bool on_comment_part(StringView, ErrorCode&) { return true; }
  bool on_comment(StringView, ErrorCode&) { return true; }

  bool topIsObject() const { return top_is_object_; }
  bool versionOk() const { return version_ok_; }
  bool hasResult() const { return results_ == 1; }
  bool hasOther() const { return has_other_; } // error, method or params
  bool resultIsLast() const { return last_key_is_result_; }
  const json::value& id() const { return id_; }
  bool isError() const { return is_error_; }

private:
  enum class Member { kNone, kVersion, kId, kResult, kOther, kIsError };

  Member memberOf(int depth, const std::string& key) {
    if (depth == 2) return in_result_ && key == "isError" ? Member::kIsError : Member::kNone;
    if (depth != 1) return Member::kNone;
    last_key_is_result_ = key == "result";
    if (key == "jsonrpc") return Member::kVersion;
    if (key == "id") return Member::kId;
    if (key == "result") {
      ++results_; // twice is not plain: which one counts is the parser's business
      return Member::kResult;
    }
    if (key == "error" || key == "method" || key == "params") has_other_ = true;
    return Member::kOther;
  }
  bool open(bool object) {
    if (depth_ == 0) top_is_object_ = object;
    if (depth_ == 1) in_result_ = object && member_ == Member::kResult;
    ++depth_;
    member_ = Member::kNone;
    return true;
  }
  bool close() {
    --depth_;
    if (depth_ == 1) in_result_ = false;
    member_ = Member::kNone;
    return true;
  }
  bool scalar() {
    member_ = Member::kNone;
    return true;
  }

  int depth_ = 0;
  Member member_ = Member::kNone;
  std::string key_;
  std::string text_; // a top-level string value, as its parts arrive
  json::value id_;
  bool top_is_object_ = false;
  bool version_ok_ = false;
  bool in_result_ = false;
  int results_ = 0;
  bool last_key_is_result_ = false;
  bool has_other_ = false;
  bool is_error_ = false;
};

// ---- positions in text already known to be valid JSON

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::size_t skipSpace(std::string_view text, std::size_t at) {
  while (at < text.size() && isSpace(text[at]))
    ++at;
  return at;
}

// `at` is on an opening quote; returns the position after the closing one. A quote preceded by
// an odd number of backslashes is escaped.
std::size_t skipString(std::string_view text, std::size_t at) {
  for (std::size_t quote = text.find('"', at + 1); quote != std::string_view::npos;
       quote = text.find('"', quote + 1)) {
    std::size_t backslashes = 0;
    while (text[quote - 1 - backslashes] == '\\')
      ++backslashes;
    if (backslashes % 2 == 0) return quote + 1;
  }
  return text.size();
}

// `at` is on the first character of a value; returns the position after it.
std::size_t skipValue(std::string_view text, std::size_t at) {
  if (text[at] == '"') return skipString(text, at);
  if (text[at] != '{' && text[at] != '[') {
    while (at < text.size() && text[at] != ',' && text[at] != '}' && text[at] != ']' &&
           !isSpace(text[at]))
      ++at;
    return at;
  }
  int depth = 0;
  while (at < text.size()) {
    const char c = text[at];
    if (c == '"') {
      at = skipString(text, at);
      continue;
    }
    if (c == '{' || c == '[') ++depth;
    if ((c == '}' || c == ']') && --depth == 0) return at + 1;
    ++at;
  }
  return text.size();
}

// The top-level "result" member's value in a valid JSON object, or nothing when a key is
// written with escapes (then it is not worth the trouble: the caller parses the whole text).
// When it is the last member (as servers usually write it) it ends where the object does, and
// only the members before it are walked through.
std::optional<std::string_view> resultValue(std::string_view text, bool last) {
  std::size_t at = skipSpace(text, 0) + 1; // after '{'
  while (true) {
    at = skipSpace(text, at);
    if (at >= text.size() || text[at] != '"') return std::nullopt;
    const std::size_t key_end = skipString(text, at);
    const std::string_view key = text.substr(at + 1, key_end - at - 2);
    if (key.find('\\') != std::string_view::npos) return std::nullopt;
    at = skipSpace(text, key_end) + 1; // after ':'
    const std::size_t value_start = skipSpace(text, at);
    if (key == "result" && last) {
      std::size_t end = text.find_last_of('}'); // the object's end: only space follows it
      while (end > value_start && isSpace(text[end - 1]))
        --end;
      return text.substr(value_start, end - value_start);
    }
    const std::size_t value_end = skipValue(text, value_start);
    if (key == "result") return text.substr(value_start, value_end - value_start);
    at = skipSpace(text, value_end);
    if (at >= text.size() || text[at] != ',') return std::nullopt;
    ++at;
  }
}

} // namespace

std::optional<Message> readPlainResult(std::string_view text) {
  boost::json::basic_parser<TopLevel> parser(boost::json::parse_options{});
  ErrorCode ec;
  const std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (ec || used != text.size() || !parser.done()) return std::nullopt;
  const TopLevel& top = parser.handler();
  const json::value& id = top.id();
  if (!top.topIsObject() || !top.versionOk() || !top.hasResult() || top.hasOther())
    return std::nullopt;
  if (!id.is_string() && !id.is_int64() && !id.is_uint64()) return std::nullopt;
  const auto result = resultValue(text, top.resultIsLast());
  if (!result) return std::nullopt;
  Message message;
  message.kind = Kind::kResult;
  message.id = id;
  message.raw_result.assign(result->data(), result->size());
  message.raw_result_is_error = top.isError();
  // Between tokens only: a valid JSON string holds no raw line break.
  for (const char line_break : {'\n', '\r'}) {
    for (auto at = message.raw_result.find(line_break); at != std::string::npos;
         at = message.raw_result.find(line_break, at + 1))
      message.raw_result[at] = ' ';
  }
  return message;
}

json::value parseRawResult(std::string_view raw_result) {
  ErrorCode ec;
  json::value value = json::parse(raw_result, ec);
  return ec ? json::value(nullptr) : value;
}

} // namespace forge::mcp
