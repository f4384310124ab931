#include "mcp/json_text.h"

namespace forge::mcp::json_text {

// A quote preceded by an odd number of backslashes is escaped.
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

std::size_t skipValue(std::string_view text, std::size_t at) {
  if (at >= text.size()) return text.size();
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

Member findMember(std::string_view text, std::string_view wanted, bool last_is_key) {
  Member member{Member::Lookup::kAbsent, {}};
  const bool walked = walkMembers(
      text,
      [&](std::string_view key, std::string_view value) {
        if (key != wanted) return true;
        member = {Member::Lookup::kFound, value};
        return false;
      },
      last_is_key ? wanted : std::string_view());
  if (!walked && member.lookup != Member::Lookup::kFound) return {};
  return member;
}

std::string replaceMember(std::string_view text, const Member& member, std::string_view value) {
  const auto start = static_cast<std::size_t>(member.value.data() - text.data());
  std::string out;
  out.reserve(text.size() - member.value.size() + value.size());
  out.append(text.substr(0, start));
  out.append(value);
  out.append(text.substr(start + member.value.size()));
  return out;
}

void onOneLine(std::string& text) {
  for (const char line_break : {'\n', '\r'}) {
    for (auto at = text.find(line_break); at != std::string::npos;
         at = text.find(line_break, at + 1))
      text[at] = ' ';
  }
}

} // namespace forge::mcp::json_text
