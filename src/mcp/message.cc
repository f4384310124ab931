#include "mcp/message.h"

#include "mcp/json_text.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/serializer.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iterator>
#include <type_traits>

namespace forge::mcp {
namespace {

bool isValidId(const json::value& id) { return id.is_string() || id.is_int64() || id.is_uint64(); }

core::Error invalid(std::string message) {
  return core::Error{core::Errc::kInvalidRequest, std::move(message)};
}

} // namespace

const json::value& Message::paramsValue() const {
  if (params.is_null() && !raw_params.empty()) params = parseRaw(raw_params);
  return params;
}

const json::object& Message::paramsObject() const {
  static const json::object kEmpty;
  const auto& value = paramsValue();
  return value.is_object() ? value.get_object() : kEmpty;
}

namespace {

// Whether `text` holds `key` between quotes anywhere.
bool holdsQuoted(std::string_view text, std::string_view key) {
  for (auto at = text.find(key); at != std::string_view::npos; at = text.find(key, at + 1)) {
    const std::size_t end = at + key.size();
    if (at > 0 && text[at - 1] == '"' && end < text.size() && text[end] == '"') return true;
  }
  return false;
}

// A member of params kept as text; kUnknown when the text cannot tell (or params are not kept).
json_text::Member rawParam(const Message& message, std::string_view key) {
  if (!message.params.is_null() || message.raw_params.empty()) return {};
  // Their keys are written without escapes (readPlainCall): a key the text does not hold
  // between quotes is not there, and the walk through the members is spared.
  if (!holdsQuoted(message.raw_params, key)) return {json_text::Member::Lookup::kAbsent, {}};
  return json_text::findMember(message.raw_params, key);
}

} // namespace

bool Message::hasParam(std::string_view key) const {
  using Lookup = json_text::Member::Lookup;
  const auto member = rawParam(*this, key);
  if (member.lookup != Lookup::kUnknown) return member.lookup == Lookup::kFound;
  return paramsObject().contains(key);
}

std::optional<std::string> Message::paramString(std::string_view key) const {
  using Lookup = json_text::Member::Lookup;
  const auto member = rawParam(*this, key);
  if (member.lookup == Lookup::kAbsent) return std::nullopt;
  if (member.lookup == Lookup::kFound) {
    const std::string_view text = member.value;
    if (text.empty() || text.front() != '"') return std::nullopt;
    if (text.find('\\') == std::string_view::npos)
      return std::string(text.substr(1, text.size() - 2));
    const json::value value = parseRaw(text); // escapes: let the parser decode them
    return std::string(value.get_string());
  }
  const auto* value = paramsObject().if_contains(key);
  if (!value || !value->is_string()) return std::nullopt;
  return std::string(value->get_string());
}

json::value& Message::mutableParams() {
  paramsValue();
  raw_params.clear();
  return params;
}

namespace {

// Converts a JSON value into a Message. `Value` is `const json::value` (params and results are
// copied) or `json::value` (a parsed value the caller gives up: they are moved, and a message's
// bulk is never copied).
template <class Value>
core::Result<Message> convert(Value& value) {
  auto own = [](auto& member) -> json::value {
    if constexpr (std::is_const_v<Value>) {
      return member;
    } else {
      return std::move(member);
    }
  };
  if (!value.is_object()) return invalid("a JSON-RPC message must be an object");
  auto& object = value.get_object();
  const auto* version = object.if_contains("jsonrpc");
  if (!version || !version->is_string() || version->get_string() != "2.0") {
    return invalid("\"jsonrpc\" must be \"2.0\"");
  }
  Message message;
  const auto* method = object.if_contains("method");
  const auto* id = object.if_contains("id");
  if (method) {
    if (!method->is_string() || method->get_string().empty()) {
      return invalid("\"method\" must be a non-empty string");
    }
    message.method = std::string(method->get_string());
    if (auto* params = object.if_contains("params")) {
      if (!params->is_object() && !params->is_array()) {
        return invalid("\"params\" must be an object or an array");
      }
      message.params = own(*params);
    }
    if (id) {
      if (!isValidId(*id)) return invalid("\"id\" must be a string or an integer");
      message.kind = Kind::kRequest;
      message.id = *id;
    } else {
      message.kind = Kind::kNotification;
    }
    return message;
  }
  if (!id)
    return invalid("a message needs \"method\" (request, notification) or \"id\" (response)");
  if (!isValidId(*id) && !id->is_null()) return invalid("\"id\" must be a string or an integer");
  message.id = *id;
  if (auto* result = object.if_contains("result")) {
    message.kind = Kind::kResult;
    message.result = own(*result);
    return message;
  }
  const auto* error = object.if_contains("error");
  if (!error || !error->is_object()) return invalid("a response needs \"result\" or \"error\"");
  const auto& error_object = error->get_object();
  const auto* code = error_object.if_contains("code");
  if (!code || !code->is_int64()) return invalid("\"error.code\" must be an integer");
  message.kind = Kind::kError;
  message.error = error_object;
  return message;
}

// Appends what `serializer` writes to `out`, without a string of its own in between.
void appendSerialized(std::string& out, json::serializer& serializer) {
  char buffer[4096];
  while (!serializer.done())
    out.append(serializer.read(buffer));
}

// Whether `text` goes into JSON between quotes as it is: no quote, backslash or control
// character (bytes from 0x80 up, UTF-8, need no escape either).
bool needsNoEscape(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && c != '"' && c != '\\';
  });
}

// Strings without escapes and integers, which ids and method names are, written directly: the
// serializer costs a thousand instructions even for those.
template <class Json>
void appendJson(std::string& out, const Json& value) {
  json::serializer serializer;
  if constexpr (std::is_same_v<Json, std::string>) {
    if (needsNoEscape(value)) {
      out.append(1, '"').append(value).append(1, '"');
      return;
    }
    serializer.reset(json::string_view(value));
  } else {
    if constexpr (std::is_same_v<Json, json::value>) {
      if (value.is_int64()) {
        out += fmt::format_int(value.get_int64()).c_str();
        return;
      }
      if (const auto* text = value.if_string(); text && needsNoEscape(*text)) {
        out.append(1, '"').append(text->data(), text->size()).append(1, '"');
        return;
      }
    }
    serializer.reset(&value);
  }
  appendSerialized(out, serializer);
}

// A member after the first: ,"name":value
template <class Json>
void appendMember(std::string& out, std::string_view name, const Json& value) {
  out += ",\"";
  out += name;
  out += "\":";
  appendJson(out, value);
}

// Whether `value` holds a number too large for a double anywhere (1e400 is valid JSON, but it
// reads as infinity, which Boost.JSON writes back as `Infinity`: not JSON at all). The parser's
// depth limit bounds the recursion.
bool holdsInfinity(const json::value& value) {
  switch (value.kind()) {
  case json::kind::double_:
    return !std::isfinite(value.get_double());
  case json::kind::array:
    return std::any_of(value.get_array().begin(), value.get_array().end(), holdsInfinity);
  case json::kind::object:
    return std::any_of(
        value.get_object().begin(), value.get_object().end(),
        [](const json::key_value_pair& member) { return holdsInfinity(member.value()); });
  default:
    return false;
  }
}

} // namespace

core::Result<Message> fromJson(const json::value& value) { return convert(value); }

core::Result<Parsed> parse(std::string_view text) {
  if (text.find(R"("tools/call")") != std::string_view::npos) {
    if (auto call = readPlainCall(text)) {
      Parsed parsed;
      parsed.messages.push_back(std::move(*call));
      return parsed;
    }
  }
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec)
    return core::Error{core::Errc::kParseError, fmt::format("invalid JSON: {}", ec.message())};
  if (holdsInfinity(value))
    return core::Error{core::Errc::kParseError, "invalid JSON: a number is out of range"};
  Parsed parsed;
  if (value.is_array()) {
    if (value.get_array().empty()) return invalid("an empty batch is not a valid request");
    parsed.batch = true;
    for (auto& element : value.get_array()) {
      auto message = convert(element);
      if (!message) return message.error();
      parsed.messages.push_back(std::move(message.value()));
    }
    return parsed;
  }
  auto message = convert(value);
  if (!message) return message.error();
  parsed.messages.push_back(std::move(message.value()));
  return parsed;
}

json::value toJson(const Message& message) {
  json::object out;
  out["jsonrpc"] = "2.0";
  switch (message.kind) {
  case Kind::kRequest:
    out["id"] = message.id;
    out["method"] = message.method;
    if (!message.paramsValue().is_null()) out["params"] = message.paramsValue();
    break;
  case Kind::kNotification:
    out["method"] = message.method;
    if (!message.paramsValue().is_null()) out["params"] = message.paramsValue();
    break;
  case Kind::kResult:
    out["id"] = message.id;
    if (message.raw_result.empty()) {
      out["result"] = message.result;
    } else {
      out["result"] = parseRaw(message.raw_result);
    }
    break;
  case Kind::kError:
    out["id"] = message.id;
    out["error"] = message.error;
    break;
  }
  return out;
}

// Written member by member, in toJson()'s order, without building (and copying into) an object.
std::string serialize(const Message& message) {
  std::string out;
  // Room for the text passed through and the members around it: one allocation, not seven.
  out.reserve(96 + message.method.size() + message.raw_params.size() + message.raw_result.size());
  out += R"({"jsonrpc":"2.0")";
  if (message.kind != Kind::kNotification) appendMember(out, "id", message.id);
  switch (message.kind) {
  case Kind::kRequest:
  case Kind::kNotification:
    appendMember(out, "method", message.method);
    if (!message.raw_params.empty()) {
      out += R"(,"params":)";
      out += message.raw_params;
    } else if (!message.params.is_null()) {
      appendMember(out, "params", message.params);
    }
    break;
  case Kind::kResult:
    if (message.raw_result.empty()) {
      appendMember(out, "result", message.result);
    } else {
      out += R"(,"result":)";
      out += message.raw_result;
    }
    break;
  case Kind::kError:
    appendMember(out, "error", message.error);
    break;
  }
  out += '}';
  return out;
}

Message makeRequest(json::value id, std::string method, json::value params) {
  Message m;
  m.kind = Kind::kRequest;
  m.id = std::move(id);
  m.method = std::move(method);
  m.params = std::move(params);
  return m;
}

Message withStringParam(const Message& request, std::string_view key, std::string_view value) {
  Message out;
  out.kind = Kind::kRequest;
  out.method = request.method;
  const json::string_view text(value.data(), value.size());
  const auto member = rawParam(request, key);
  if (member.lookup == json_text::Member::Lookup::kFound) {
    out.raw_params = json_text::replaceMember(request.raw_params, member, json::serialize(text));
    return out;
  }
  json::object params = request.paramsObject();
  params[key] = text;
  out.params = std::move(params);
  return out;
}

Message makeNotification(std::string method, json::value params) {
  Message m;
  m.kind = Kind::kNotification;
  m.method = std::move(method);
  m.params = std::move(params);
  return m;
}

Message makeResult(json::value id, json::value result) {
  Message m;
  m.kind = Kind::kResult;
  m.id = std::move(id);
  m.result = std::move(result);
  return m;
}

json::object errorObject(int code, std::string_view message, const json::value& data) {
  json::object error{{"code", code}, {"message", message}};
  if (!data.is_null()) error["data"] = data;
  return error;
}

Message makeError(json::value id, int code, std::string message, json::value data) {
  Message m;
  m.kind = Kind::kError;
  m.id = std::move(id);
  m.error = errorObject(code, message, data);
  return m;
}

Message makeError(json::value id, const core::Error& error) {
  return makeError(std::move(id), core::jsonRpcCode(error.code), error.message);
}

core::Error toError(const Message& error_message) {
  const auto* message = error_message.error.if_contains("message");
  std::string text =
      message && message->is_string() ? std::string(message->get_string()) : std::string("error");
  const auto* code = error_message.error.if_contains("code");
  const std::int64_t value = code && code->is_int64() ? code->get_int64() : -32603;
  core::Errc errc = core::Errc::kBadGateway;
  if (value == -32700)
    errc = core::Errc::kParseError;
  else if (value == -32600)
    errc = core::Errc::kInvalidRequest;
  else if (value == -32601)
    errc = core::Errc::kMethodNotFound;
  else if (value == -32602)
    errc = core::Errc::kInvalidParams;
  else if (value == -32603)
    errc = core::Errc::kInternal;
  return core::Error{errc, std::move(text)};
}

std::string idKey(const json::value& id) {
  if (id.is_string()) {
    const auto& text = id.get_string();
    std::string key;
    key.reserve(2 + text.size());
    return key.append("s:").append(text.data(), text.size());
  }
  if (id.is_int64() || id.is_uint64()) {
    // Written in place: most keys fit std::string's own buffer, so no allocation at all.
    char digits[2 + 20] = {'n', ':'};
    const auto written = id.is_int64()
                             ? std::to_chars(digits + 2, std::end(digits), id.get_int64())
                             : std::to_chars(digits + 2, std::end(digits), id.get_uint64());
    return std::string(digits, written.ptr);
  }
  return "x:" + json::serialize(id);
}

} // namespace forge::mcp
