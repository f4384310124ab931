// BodyReader: reads the fields of a JSON request body by their snake_case name or camelCase
// alias, keeping the first problem found so that a 422 answer names the field. Shared by every
// REST handler that takes a body.
#pragma once

#include "core/error.h"

#include <boost/json/object.hpp>
#include <fmt/format.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace forge::api {

namespace json = boost::json;

// A 422 naming the field: "name: field required".
inline core::Error invalid(const std::string& field, const std::string& message) {
  return core::Error{core::Errc::kUnprocessable, fmt::format("{}: {}", field, message)};
}

// Reads fields of a request body by their snake_case name or its camelCase alias, keeping the
// first problem found so that the answer names the field.
class BodyReader {
public:
  explicit BodyReader(const json::object& body) : body_(body) {}

  const json::value* find(const char* snake, const char* camel = nullptr) const {
    if (const auto* v = body_.if_contains(snake)) return v;
    return camel ? body_.if_contains(camel) : nullptr;
  }
  bool has(const char* snake, const char* camel = nullptr) const {
    const auto* v = find(snake, camel);
    return v && !v->is_null();
  }

  void string(const char* snake, const char* camel, std::string& out) {
    const auto* v = find(snake, camel);
    if (!v || v->is_null()) return;
    if (!v->is_string()) return fail(snake, "must be a string");
    out = std::string(v->get_string());
  }
  void boolean(const char* snake, const char* camel, bool& out) {
    const auto* v = find(snake, camel);
    if (!v || v->is_null()) return;
    if (!v->is_bool()) return fail(snake, "must be true or false");
    out = v->get_bool();
  }
  void integer(const char* snake, const char* camel, std::int64_t& out, std::int64_t min,
               std::int64_t max) {
    const auto* v = find(snake, camel);
    if (!v || v->is_null()) return;
    if (!v->is_int64() && !v->is_uint64()) return fail(snake, "must be an integer");
    const auto n = v->is_int64() ? v->get_int64() : static_cast<std::int64_t>(v->get_uint64());
    if (n < min || n > max) return fail(snake, fmt::format("must be between {} and {}", min, max));
    out = n;
  }
  // A list of strings; a comma-separated string is accepted too (ContextForge's forms).
  void list(const char* snake, const char* camel, std::vector<std::string>& out) {
    const auto* v = find(snake, camel);
    if (!v || v->is_null()) return;
    std::vector<std::string> items;
    if (v->is_string()) {
      std::string_view rest = v->get_string();
      while (!rest.empty()) {
        const auto comma = rest.find(',');
        std::string item(rest.substr(0, comma));
        item.erase(0, item.find_first_not_of(" \t"));
        item.erase(item.find_last_not_of(" \t") + 1);
        if (!item.empty()) items.push_back(std::move(item));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      }
    } else if (v->is_array()) {
      for (const auto& item : v->get_array()) {
        if (item.is_string()) {
          items.emplace_back(item.get_string());
        } else if (item.is_object() && item.get_object().if_contains("id") &&
                   item.get_object().at("id").is_string()) {
          items.emplace_back(item.get_object().at("id").get_string()); // {"id": ...} objects
        } else {
          return fail(snake, "must be a list of strings");
        }
      }
    } else {
      return fail(snake, "must be a list of strings");
    }
    out = std::move(items);
  }
  void map(const char* snake, const char* camel, std::map<std::string, std::string>& out) {
    const auto* v = find(snake, camel);
    if (!v || v->is_null()) return;
    if (!v->is_object()) return fail(snake, "must be an object of strings");
    std::map<std::string, std::string> items;
    for (const auto& [key, value] : v->get_object()) {
      if (!value.is_string())
        return fail(fmt::format("{}.{}", snake, std::string(key)), "must be a string");
      items[std::string(key)] = std::string(value.get_string());
    }
    out = std::move(items);
  }

  void fail(const std::string& field, const std::string& message) {
    if (!error_) error_ = invalid(field, message);
  }
  const std::optional<core::Error>& error() const { return error_; }

private:
  const json::object& body_;
  std::optional<core::Error> error_;
};

} // namespace forge::api
