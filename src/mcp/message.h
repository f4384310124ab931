// JSON-RPC 2.0 messages as MCP uses them: requests, notifications, results and errors.
// Parsing never throws: malformed input becomes a core::Error (kParseError for bytes that are
// not JSON, kInvalidRequest for JSON that is not a valid message).
#pragma once

#include "core/error.h"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace forge::mcp {

namespace json = boost::json;

enum class Kind { kRequest, kNotification, kResult, kError };

struct Message {
  Kind kind = Kind::kNotification;
  json::value id;     // requests, results, errors (null when an error answers an unknown id)
  std::string method; // requests, notifications
  // Requests, notifications (null when absent). Null as well while raw_params holds them: read
  // them through paramsValue(), paramsObject() or paramString(), which parse them when needed
  // (then kept here: the first reader parses; a Message is not shared between threads).
  mutable json::value params;
  // A tools/call request's params as the client wrote them, kept by parse() so that a gateway
  // can pass them on without building them into a DOM and writing them out again: the JSON text
  // of an object, validated, on one line; its top-level keys are written without escapes, and
  // "name" and "_meta" at most once each. serialize() writes it as it is (clear it when the
  // params change).
  std::string raw_params;
  json::value result; // results
  json::object error; // errors: {code, message, data?}
  // A result passed on as its sender wrote it, never parsed into `result` (which is then null):
  // JSON text, validated, on one line. Set by readPlainResult() for answers the gateway only
  // forwards; serialize() writes it as it is.
  std::string raw_result;
  bool raw_result_is_error = false; // raw_result is a tool result with "isError": true
  // On a request: its answer will only be forwarded, so a channel may hand its result over as
  // raw_result instead of parsing it.
  bool forward_only = false;

  bool isRequest() const { return kind == Kind::kRequest; }
  bool isNotification() const { return kind == Kind::kNotification; }
  bool isResponse() const { return kind == Kind::kResult || kind == Kind::kError; }
  // The params (parsed from raw_params if need be).
  const json::value& paramsValue() const;
  // The params object ({} when params are absent or not an object).
  const json::object& paramsObject() const;
  // Whether the params object has a member `key`, and that member's value when it is a string
  // (both found in raw_params without parsing them, when they are kept).
  bool hasParam(std::string_view key) const;
  std::optional<std::string> paramString(std::string_view key) const;
  // The params, parsed from raw_params if need be, for changing them (raw_params is dropped).
  json::value& mutableParams();
};

// One parsed HTTP body or line: one message, or a batch (a JSON array of messages).
struct Parsed {
  std::vector<Message> messages;
  bool batch = false;
};

// Parses text holding one message or a batch. A batch must not be empty.
core::Result<Parsed> parse(std::string_view text);
// Validates and converts one JSON value.
core::Result<Message> fromJson(const json::value& value);

json::value toJson(const Message& message);
std::string serialize(const Message& message);

// Reads the text of one message that answers a request with a result, without building the
// result: the text is validated as JSON, and when it is a single object with an id and a result
// (and no error or method), the message comes back with `raw_result` set to the result's text
// (line breaks between tokens turned into spaces) and `raw_result_is_error`. Anything else
// returns nothing: the caller parses the text with parse().
std::optional<Message> readPlainResult(std::string_view text);
// Reads the text of one tools/call request without building its params: when the text is a
// single valid request object with an object as params (see Message::raw_params for what else
// they need), the message comes back with `raw_params` set and `params` null. Anything else
// returns nothing. parse() tries it first for a text that may be such a request.
std::optional<Message> readPlainCall(std::string_view text);
// The value of a raw_result or raw_params (null if it is not JSON, which readPlainResult() and
// readPlainCall() never let through).
json::value parseRaw(std::string_view raw);

Message makeRequest(json::value id, std::string method, json::value params = nullptr);
// A request (without an id) with `request`'s method and params, but the params' member `key` set
// to the string `value`. Params kept as text stay text.
Message withStringParam(const Message& request, std::string_view key, std::string_view value);
Message makeNotification(std::string method, json::value params = nullptr);
Message makeResult(json::value id, json::value result);
Message makeError(json::value id, int code, std::string message, json::value data = nullptr);
// The JSON-RPC error for a core::Error (code from core::jsonRpcCode()).
Message makeError(json::value id, const core::Error& error);

// A JSON-RPC error object {code, message[, data]}.
json::object errorObject(int code, std::string_view message, const json::value& data = nullptr);

// The core::Error a JSON-RPC error message represents (for logs and for mapping back).
core::Error toError(const Message& error_message);

// A stable text key for an id (string ids and number ids never collide): "s:abc", "n:42".
std::string idKey(const json::value& id);

} // namespace forge::mcp
