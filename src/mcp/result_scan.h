// scanResult(): one pass over an upstream's answer that both validates it as JSON and finds its
// result, for the answers the gateway only passes on (readPlainResult). It accepts only what it
// is sure Boost.JSON's parser (strict, with its default limits) accepts too, and reads it as that
// parser would; for anything else it says nothing, and the caller asks Boost.JSON. So it changes
// no answer's fate, only the cost of the usual one: the validation that Boost.JSON's SAX parser
// did, plus a second walk to find the result, in a single pass that checks long strings 16 bytes
// at a time.
#pragma once

#include "mcp/message.h"

#include <optional>
#include <string_view>

namespace forge::mcp {

struct ScannedResult {
  json::value id;                      // an integer or a string
  std::string_view result;             // the text of the result member's value
  bool result_has_line_breaks = false; // between its tokens (never inside a string)
  bool is_error = false;               // the result's "isError": true
};

// `text` when it is one JSON object that scanResult() is sure of, holding "jsonrpc": "2.0", an
// id and a result, each once, and no method, params or error. Not sure, and so nothing, for:
// escapes in the keys of the top level and of the result, \u escapes of surrogates, numbers with
// an exponent or over 300 digits, nesting deeper than 30, a member of the top level or an
// "isError" of the result written twice.
std::optional<ScannedResult> scanResult(std::string_view text);

} // namespace forge::mcp
