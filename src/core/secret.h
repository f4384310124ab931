// Secret: a string that never reaches a log. Formatting a Secret with fmt prints
// "[REDACTED]"; the value is only available through reveal(), which makes every use greppable.
#pragma once

#include <fmt/format.h>

#include <string>
#include <utility>

namespace forge::core {

class Secret {
public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}

  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }

  static constexpr const char* kRedacted = "[REDACTED]";

private:
  std::string value_;
};

} // namespace forge::core

template <>
struct fmt::formatter<forge::core::Secret> : fmt::formatter<std::string_view> {
  template <class Ctx>
  auto format(const forge::core::Secret&, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(forge::core::Secret::kRedacted, ctx);
  }
};
