// libFuzzer target for the parsers that read untrusted bytes: JSON-RPC/MCP messages (HTTP bodies
// and stdio lines; the one-pass reading of answers), Host/Origin header values, and the size and
// duration configuration scalars. Run it with tools/fuzz.sh (docs/TESTING.md). Besides the crashes
// that ASan and UBSan find, it checks a few properties and traps (a libFuzzer crash) when one does
// not hold.
#include "config/config.h"
#include "mcp/message.h"
#include "mcp/result_scan.h"
#include "transport/origin_guard.h"

#include <boost/json/parse.hpp>

#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace {

// A violated property is a crash, so libFuzzer saves the input that caused it.
void check(bool property) {
  if (!property) __builtin_trap();
}

// Every message parse() accepts serializes to text that parses back to one message of the same
// kind, method and id.
void fuzzMessages(std::string_view text) {
  namespace mcp = forge::mcp;
  auto parsed = mcp::parse(text);
  if (!parsed) return; // malformed input is an error value, never a crash
  check(!parsed->messages.empty());
  for (const auto& message : parsed->messages) {
    const std::string serialized = mcp::serialize(message);
    auto again = mcp::parse(serialized);
    check(again.ok());
    check(!again->batch && again->messages.size() == 1);
    const auto& copy = again->messages.front();
    check(copy.kind == message.kind);
    check(copy.method == message.method);
    check(copy.id == message.id);
    check(mcp::idKey(copy.id) == mcp::idKey(message.id));
  }
}

// A tools/call whose params parse() keeps as text means what a parsed DOM says: the same params,
// the same tool name, the same _meta, and the name renamed in the text is renamed in the DOM.
void fuzzPlainCalls(std::string_view text) {
  namespace mcp = forge::mcp;
  const auto plain = mcp::readPlainCall(text);
  if (!plain) return;
  boost::system::error_code ec;
  const auto dom = boost::json::parse(text, ec);
  check(!ec);
  const auto message = mcp::fromJson(dom);
  check(message.ok() && message->isRequest() && message->id == plain->id);
  const auto& params = message->paramsObject();
  const auto* name = params.if_contains("name");
  const auto expected_name = name && name->is_string()
                                 ? std::optional<std::string>(std::string(name->get_string()))
                                 : std::nullopt;
  check(plain->paramString("name") == expected_name);
  check(plain->hasParam("_meta") == params.contains("_meta"));
  const auto renamed = mcp::withStringParam(*plain, "name", "renamed \"tool\"");
  auto expected = params;
  expected["name"] = "renamed \"tool\"";
  check(renamed.paramsValue() == expected);
  check(plain->paramsObject() == params); // parsed last: the lookups above read the text
}

// An answer that scanResult() reads in one pass is one that parse() (Boost.JSON's DOM) reads to
// the same id, result and isError; and readPlainResult() then keeps that result on one line.
void fuzzScannedResults(std::string_view text) {
  namespace mcp = forge::mcp;
  const auto scanned = mcp::scanResult(text);
  if (!scanned) return;
  auto parsed = mcp::parse(text);
  check(parsed.ok() && !parsed->batch && parsed->messages.size() == 1);
  const auto& message = parsed->messages.front();
  check(message.kind == mcp::Kind::kResult && message.id == scanned->id);
  boost::system::error_code ec;
  const auto result = boost::json::parse(scanned->result, ec);
  check(!ec && result == message.result);
  const auto* flag = result.is_object() ? result.get_object().if_contains("isError") : nullptr;
  check(scanned->is_error == (flag && flag->is_bool() && flag->get_bool()));
  const auto plain = mcp::readPlainResult(text);
  check(plain && plain->raw_result.find_first_of("\r\n") == std::string::npos);
  check(boost::json::parse(plain->raw_result, ec) == result && !ec);
}

// hostName() only cuts and lower-cases: the result is never longer than the input and has no
// upper-case letters.
void fuzzHostName(std::string_view text) {
  const std::string host = forge::transport::hostName(text);
  check(host.size() <= text.size());
  for (const char c : host)
    check(!std::isupper(static_cast<unsigned char>(c)));
}

// A size or duration that parses has the right type, and what display() prints for it (as
// `forge config show` does) parses back to the same value.
template <typename T>
void fuzzScalar(forge::config::Type type, std::string_view text) {
  namespace config = forge::config;
  const config::KeySpec spec{.key = "fuzz.value", .type = type};
  const auto parsed = config::parseScalar(spec, text);
  if (std::holds_alternative<std::string>(parsed)) return; // an error message
  const auto& value = std::get<config::Value>(parsed);
  check(std::holds_alternative<T>(value));
  const auto again = config::parseScalar(spec, config::display(value));
  check(std::holds_alternative<config::Value>(again));
  const auto* round_tripped = std::get_if<T>(&std::get<config::Value>(again));
  check(round_tripped != nullptr && *round_tripped == std::get<T>(value));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  fuzzMessages(text);
  fuzzPlainCalls(text);
  fuzzScannedResults(text);
  fuzzHostName(text);
  fuzzScalar<std::uint64_t>(forge::config::Type::kSize, text);
  fuzzScalar<std::chrono::milliseconds>(forge::config::Type::kDuration, text);
  return 0;
}
