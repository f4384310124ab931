#include "net/router.h"

#include <fmt/format.h>

namespace forge::net {
namespace {

// The segments of a path, one at a time, without copying them: a leading '/' is skipped, then
// every '/' ends a segment ("/a//b/" is "a", "", "b", "").
class PathSegments {
public:
  explicit PathSegments(std::string_view path)
      : rest_(path.starts_with('/') ? path.substr(1) : path) {}

  bool done() const { return done_; }
  // The segments not read yet, as they stand in the path.
  std::string_view rest() const { return rest_; }

  std::string_view next() {
    const auto slash = rest_.find('/');
    const std::string_view segment = rest_.substr(0, slash);
    if (slash == std::string_view::npos) {
      done_ = true;
      rest_ = {};
    } else {
      rest_.remove_prefix(slash + 1);
    }
    return segment;
  }

private:
  std::string_view rest_;
  bool done_ = false;
};

std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> segments;
  for (PathSegments cursor(path); !cursor.done();)
    segments.emplace_back(cursor.next());
  return segments;
}

bool isPlaceholder(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

bool isRestPlaceholder(std::string_view segment) {
  return isPlaceholder(segment) && segment.ends_with("...}");
}

} // namespace

Router& Router::add(Method method, std::string pattern, Handler handler) {
  auto segments = splitPath(pattern);
  const std::size_t index = routes_.size();
  if (isPlaceholder(segments.front()))
    placeholder_first_.push_back(index);
  else
    by_first_segment_[segments.front()].push_back(index);
  routes_.push_back(Route{method, std::move(pattern), std::move(segments), std::move(handler)});
  return *this;
}

Router& Router::add(std::vector<Method> methods, const std::string& pattern,
                    const Handler& handler) {
  for (Method m : methods)
    add(m, pattern, handler);
  return *this;
}

// Runs once per route and request: reads the path as it goes, allocating nothing unless it
// fills `params`.
bool Router::match(const Route& route, std::string_view path,
                   std::map<std::string, std::string, std::less<>>* params) {
  PathSegments segments(path);
  for (const std::string& expected : route.segments) {
    if (isRestPlaceholder(expected)) {
      if (segments.done()) return false;
      if (params) (*params)[expected.substr(1, expected.size() - 5)] = std::string(segments.rest());
      return true;
    }
    if (segments.done()) return false;
    const std::string_view segment = segments.next();
    if (isPlaceholder(expected)) {
      if (segment.empty()) return false;
      if (params) (*params)[expected.substr(1, expected.size() - 2)] = std::string(segment);
    } else if (expected != segment) {
      return false;
    }
  }
  return segments.done();
}

template <class Visit>
void Router::forEachCandidate(std::string_view path, Visit visit) const {
  static const std::vector<std::size_t> kNone;
  const auto literal = by_first_segment_.find(PathSegments(path).next());
  const auto& named = literal == by_first_segment_.end() ? kNone : literal->second;
  // Both lists are in the order of add(); merged, the first route added still wins.
  auto a = named.begin();
  auto b = placeholder_first_.begin();
  while (a != named.end() || b != placeholder_first_.end()) {
    const bool take_a = b == placeholder_first_.end() || (a != named.end() && *a < *b);
    if (!visit(routes_[take_a ? *a++ : *b++])) return;
  }
}

void Router::dispatch(const RequestPtr& request, const ResponseWriterPtr& writer) const {
  std::string allowed;
  unsigned listed = 0; // bit per Method already in `allowed`
  bool handled = false;
  forEachCandidate(request->path, [&](const Route& route) {
    if (!match(route, request->path, nullptr)) return true;
    const bool head_as_get = request->method == Method::kHead && route.method == Method::kGet;
    if (route.method == request->method || head_as_get) {
      match(route, request->path, &request->params);
      route.handler(request, writer);
      handled = true;
      return false;
    }
    const unsigned bit = 1u << static_cast<unsigned>(route.method);
    if (listed & bit) return true;
    listed |= bit;
    allowed += allowed.empty() ? "" : ", ";
    allowed += methodName(route.method);
    return true;
  });
  if (handled) return;
  if (allowed.empty()) {
    writer->send(
        Response::error(core::Errc::kNotFound, fmt::format("no route for {}", request->path)));
    return;
  }
  auto response = Response::error(core::Errc::kMethodNotAllowed,
                                  fmt::format("{} is not allowed on {}; allowed: {}",
                                              methodName(request->method), request->path, allowed));
  response.headers.set("Allow", allowed);
  writer->send(std::move(response));
}

std::vector<std::pair<Method, std::string>> Router::routes() const {
  std::vector<std::pair<Method, std::string>> out;
  for (const auto& r : routes_)
    out.emplace_back(r.method, r.pattern);
  return out;
}

} // namespace forge::net
