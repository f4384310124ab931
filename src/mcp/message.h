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
  json::value params; // requests, notifications (null when absent)
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
  // The params object ({} when params are absent or not an object).
  const json::object& paramsObject() const;
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
// The value of a raw_result (null if it is not JSON, which readPlainResult() never lets through).
json::value parseRawResult(std::string_view raw_result);

Message makeRequest(json::value id, std::string method, json::value params = nullptr);
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
