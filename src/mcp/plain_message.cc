// Messages the gateway only passes on are validated and their envelope read, but their bulk is
// not built into a DOM and written out again: an answer's result (readPlainResult) and a
// tools/call request's params (readPlainCall). Two passes over the text: Boost.JSON's SAX parser
// validates it and reads the top level (id, method, which members are there, a tool result's
// isError); then a scanner that may trust the text (json_text.h) finds where the bulk starts and
// ends. An answer is first offered to scanResult() (result_scan.h), which does both in one pass
// when it is sure to agree with Boost.JSON, as it is for the usual answer.
#include "mcp/json_text.h"
#include "mcp/message.h"
#include "mcp/result_scan.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>

#include <cmath>
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
  // Keys and strings come in parts only when they are long or written with escapes; the parts
  // are gathered only where they are read (keys at the first two levels, top-level strings).
  bool on_key_part(StringView part, std::size_t, ErrorCode&) {
    if (depth_ <= 2) key_.append(part.data(), part.size());
    return true;
  }
  bool on_key(StringView part, std::size_t, ErrorCode&) {
    if (depth_ > 2) return scalar();
    member_ = memberOf(depth_, whole(key_, part));
    key_.clear();
    return true;
  }
  bool on_string_part(StringView part, std::size_t, ErrorCode&) {
    if (depth_ == 1) text_.append(part.data(), part.size());
    return true;
  }
  bool on_string(StringView part, std::size_t, ErrorCode&) {
    if (depth_ == 1 && member_ != Member::kOther) {
      const std::string_view text = whole(text_, part);
      if (member_ == Member::kId) id_ = json::string(text);
      if (member_ == Member::kVersion) version_ok_ = text == "2.0";
      if (member_ == Member::kMethod) method_ = text;
    }
    text_.clear();
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
  // A number too large for a double is left to the DOM parse, which refuses it (see parse()).
  bool on_double(double value, StringView, ErrorCode&) { return std::isfinite(value) && scalar(); }
  bool on_bool(bool value, ErrorCode&) {
    if (member_ == Member::kIsError && depth_ == 2 && in_result_) is_error_ = value;
    return scalar();
  }
  bool on_null(ErrorCode&) { return scalar(); }
  bool on_comment_part(StringView, ErrorCode&) { return true; }
  bool on_comment(StringView, ErrorCode&) { return true; }

  // Top-level members are counted: one written twice is not plain (which one counts is the
  // parser's business).
  enum class Member { kNone, kVersion, kId, kMethod, kParams, kResult, kError, kOther, kIsError };

  bool topIsObject() const { return top_is_object_; }
  bool versionOk() const { return version_ok_; }
  int count(Member member) const { return counts_[static_cast<int>(member)]; }
  Member lastMember() const { return last_member_; }
  const json::value& id() const { return id_; }
  bool idIsValid() const { return id_.is_string() || id_.is_int64() || id_.is_uint64(); }
  const std::string& method() const { return method_; }
  bool paramsAreObject() const { return params_are_object_; }
  bool isError() const { return is_error_; }

private:
  // `gathered` + `last` when earlier parts were gathered, else `last` alone (no copy).
  static std::string_view whole(std::string& gathered, StringView last) {
    if (gathered.empty()) return {last.data(), last.size()};
    gathered.append(last.data(), last.size());
    return gathered;
  }

  Member memberOf(int depth, std::string_view key) {
    if (depth == 2) return in_result_ && key == "isError" ? Member::kIsError : Member::kNone;
    if (depth != 1) return Member::kNone;
    Member member = Member::kOther;
    if (key == "jsonrpc") member = Member::kVersion;
    if (key == "id") member = Member::kId;
    if (key == "method") member = Member::kMethod;
    if (key == "params") member = Member::kParams;
    if (key == "result") member = Member::kResult;
    if (key == "error") member = Member::kError;
    ++counts_[static_cast<int>(member)];
    last_member_ = member;
    return member;
  }
  bool open(bool object) {
    if (depth_ == 0) top_is_object_ = object;
    if (depth_ == 1) in_result_ = object && member_ == Member::kResult;
    if (depth_ == 1 && member_ == Member::kParams) params_are_object_ = object;
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
  std::string method_;
  Member last_member_ = Member::kNone; // the top level's last
  int counts_[static_cast<int>(Member::kIsError) + 1] = {};
  bool top_is_object_ = false;
  bool version_ok_ = false;
  bool in_result_ = false;
  bool params_are_object_ = false;
  bool is_error_ = false;
};

// Validates `text` as one JSON object with "jsonrpc": "2.0" and one usable id, and reads its top
// level: `read(top)` makes the message of it, or nothing.
template <class Read>
std::optional<Message> withTopLevel(std::string_view text, Read read) {
  boost::json::basic_parser<TopLevel> parser(boost::json::parse_options{});
  ErrorCode ec;
  const std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (ec || used != text.size() || !parser.done()) return std::nullopt;
  const TopLevel& top = parser.handler();
  if (!top.topIsObject() || !top.versionOk() || top.count(TopLevel::Member::kId) != 1 ||
      !top.idIsValid())
    return std::nullopt;
  return read(top);
}

// The value of a top-level member that withTopLevel() counted once, on one line.
std::optional<std::string> plainMember(std::string_view text, const TopLevel& top,
                                       TopLevel::Member which, std::string_view key) {
  const auto member = json_text::findMember(text, key, top.lastMember() == which);
  if (member.lookup != json_text::Member::Lookup::kFound) return std::nullopt;
  std::string value(member.value);
  json_text::onOneLine(value);
  return value;
}

// Whether the params of a call may travel as text: their top-level keys are written without
// escapes, and "name" and "_meta" (the members a gateway reads or rewrites) appear at most once,
// so that a lookup in the text finds what a parser would.
bool plainParams(std::string_view params) {
  int names = 0;
  int metas = 0;
  const bool walked = json_text::walkMembers(params, [&](std::string_view key, std::string_view) {
    names += key == "name";
    metas += key == "_meta";
    return true;
  });
  return walked && names <= 1 && metas <= 1;
}

} // namespace

std::optional<Message> readPlainResult(std::string_view text) {
  // The usual answer in one pass; the two passes below for whatever that pass is not sure of.
  if (auto scanned = scanResult(text)) {
    Message message;
    message.kind = Kind::kResult;
    message.id = std::move(scanned->id);
    message.raw_result.assign(scanned->result);
    if (scanned->result_has_line_breaks) json_text::onOneLine(message.raw_result);
    message.raw_result_is_error = scanned->is_error;
    return message;
  }
  return withTopLevel(text, [text](const TopLevel& top) -> std::optional<Message> {
    using Member = TopLevel::Member;
    if (top.count(Member::kResult) != 1 || top.count(Member::kError) ||
        top.count(Member::kMethod) || top.count(Member::kParams))
      return std::nullopt;
    auto result = plainMember(text, top, Member::kResult, "result");
    if (!result) return std::nullopt;
    Message message;
    message.kind = Kind::kResult;
    message.id = top.id();
    message.raw_result = std::move(*result);
    message.raw_result_is_error = top.isError();
    return message;
  });
}

std::optional<Message> readPlainCall(std::string_view text) {
  return withTopLevel(text, [text](const TopLevel& top) -> std::optional<Message> {
    using Member = TopLevel::Member;
    if (top.count(Member::kMethod) != 1 || top.method() != "tools/call" ||
        top.count(Member::kParams) != 1 || !top.paramsAreObject() || top.count(Member::kResult) ||
        top.count(Member::kError))
      return std::nullopt;
    auto params = plainMember(text, top, Member::kParams, "params");
    if (!params || !plainParams(*params)) return std::nullopt;
    Message message;
    message.kind = Kind::kRequest;
    message.id = top.id();
    message.method = top.method();
    message.raw_params = std::move(*params);
    return message;
  });
}

json::value parseRaw(std::string_view raw) {
  ErrorCode ec;
  json::value value = json::parse(raw, ec);
  return ec ? json::value(nullptr) : value;
}

} // namespace forge::mcp
